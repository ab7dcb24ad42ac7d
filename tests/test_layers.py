"""The layers hold: import contracts (pyproject.toml) and a runtime that never loads training code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Every installed module imported in a fresh interpreter; which heavy or training modules got loaded.
_IMPORT_ALL = """
import importlib, json, pkgutil, sys
import promptdaw
names = [m.name for m in pkgutil.walk_packages(promptdaw.__path__, "promptdaw.")]
for sub in ("core", "runtime", "plugin_host", "inference_server"):
    package = importlib.import_module(f"promptdaw.{sub}")
    names += [m.name for m in pkgutil.walk_packages(package.__path__, f"promptdaw.{sub}.")]
for name in (n for n in names if not n.endswith("__main__")):
    importlib.import_module(name)
loaded = sorted({m.split(".")[0] for m in sys.modules} & {"torch", "training", "music21", "sklearn", "onnx"})
print(json.dumps({"modules": len(set(names)), "loaded": loaded}))
"""


def test_import_contracts_hold() -> None:
    run = subprocess.run([sys.executable, str(REPO / "scripts" / "check_layers.py")], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]


def test_importing_every_runtime_module_loads_no_training_code() -> None:
    # Run outside the checkout so that training/ is not importable by accident.
    run = subprocess.run([sys.executable, "-c", _IMPORT_ALL], capture_output=True, text=True, cwd="/", check=True)
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["modules"] > 60
    assert report["loaded"] == []
