"""The same prompts and seeds give the same output: a refactor moves code, not music.

The fixtures in ``tests/fixtures/same_output/`` are recorded by this module (``PROMPTDAW_RECORD=1``).
They were first recorded before the layered redesign, which left every one unchanged (commit
"Layered layout ..." and the ones after it), then again when text2midi 2.0 and its idiomatic
sampler changed the music on purpose. MIDI must be the same bytes; audio the same within float
rounding, compared by per-block RMS so that a CPU with other SIMD paths does not fail the test.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from promptdaw.inference_server.protocol import Audio, Midi

FIXTURES = Path(__file__).parent / "fixtures" / "same_output"
RECORD = os.environ.get("PROMPTDAW_RECORD") == "1"
BLOCK = 512

CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "midi_trap": (
        "generate-midi",
        {"prompt": "dark trap in F minor, 140 bpm, 8 bars, 808 bass and rolling hats", "seed": 1},
    ),
    "midi_lofi": ("generate-midi", {"prompt": "lofi chords Am7 Dm9 G7 Cmaj7", "bars": 4, "seed": 3}),
    "midi_waltz": ("generate-midi", {"prompt": "a gentle waltz melody in D major for piano", "seed": 2}),
    "loop_house": ("generate-loop", {"prompt": "house loop in A minor", "bars": 1, "bpm": 124, "seed": 3}),
    "sample_kick": ("generate-sample", {"prompt": "punchy 808 kick", "seed": 1}),
    "sample_bell": ("generate-sample", {"prompt": "glassy bell", "note": "E5", "seed": 2}),
}  # fmt: skip


def _block_rms(samples: np.ndarray) -> np.ndarray:
    frames = samples.shape[0] - samples.shape[0] % BLOCK
    blocks = samples[:frames].reshape(-1, BLOCK, *samples.shape[1:]).astype(np.float64)
    return np.sqrt(np.mean(blocks**2, axis=1))


def _outputs(reply: Any) -> dict[str, Any]:
    midi = [p.data for p in reply.payloads if isinstance(p, Midi)]
    audio = [np.asarray(p.samples) for p in reply.payloads if isinstance(p, Audio)]
    return {"midi": midi, "audio": audio}


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_output_as_before_the_redesign(client, name: str) -> None:
    request_type, params = CASES[name]
    out = _outputs(client.request(request_type, params, timeout_s=120))
    folder = FIXTURES / name
    if RECORD:
        folder.mkdir(parents=True, exist_ok=True)
        for i, data in enumerate(out["midi"]):
            (folder / f"{i}.mid").write_bytes(data)
        shapes = [list(a.shape) for a in out["audio"]]
        (folder / "audio.json").write_text(json.dumps({"shapes": shapes}))
        if out["audio"]:
            np.savez_compressed(folder / "audio_rms.npz", *[_block_rms(a).astype(np.float32) for a in out["audio"]])
        pytest.skip("recorded")
    expected_midi = sorted(folder.glob("*.mid"), key=lambda p: int(p.stem))
    assert [p.read_bytes() for p in expected_midi] == out["midi"], f"{name}: MIDI bytes differ"
    shapes = json.loads((folder / "audio.json").read_text())["shapes"]
    assert [list(a.shape) for a in out["audio"]] == shapes, f"{name}: audio shapes differ"
    if out["audio"]:
        with np.load(folder / "audio_rms.npz") as recorded:
            for i, audio in enumerate(out["audio"]):
                np.testing.assert_allclose(_block_rms(audio), recorded[f"arr_{i}"], rtol=1e-3, atol=1e-5)
