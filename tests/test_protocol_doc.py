"""docs/protocol.md's table of request types says what the daemon's one table declares."""

from __future__ import annotations

import re
from pathlib import Path

from promptdaw.inference_server.daemon import Daemon
from promptdaw.inference_server.requests import REQUESTS

DOC = Path(__file__).resolve().parents[1] / "docs" / "protocol.md"
ROW = re.compile(r"^\| `([a-z-]+)` \| (quick|job \((\d+) s\)) \|", re.MULTILINE)


def test_protocol_doc_table_matches_the_declared_request_types() -> None:
    documented = {m[1]: (m[2] == "quick", float(m[3]) if m[3] else None) for m in ROW.finditer(DOC.read_text())}
    declared = {name: (r.quick, r.timeout_s) for name, r in REQUESTS.items()}
    assert documented == declared


def test_every_quick_request_has_a_daemon_method() -> None:
    missing = [
        r.handler_name for r in REQUESTS.values() if r.quick and not callable(getattr(Daemon, r.handler_name, None))
    ]
    assert not missing
