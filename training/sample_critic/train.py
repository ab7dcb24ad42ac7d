"""Train the sample critic on FluidR3_GM one-shots and export it to ONNX (training only).

The critic hears what the daemon's generator hears (:func:`listening_features` of the first
``LISTEN_SECONDS``) and names the family. Its examples are the listening set of
:func:`~training.text2sample.sounds.family_shots` rendered with FluidR3_GM, the
generator's own training soundfont, each whole and cut short twice (one-shots come in every
length). The classifier is a standardising step and an RBF support-vector machine whose
probabilities come from libsvm's Platt scaling; skl2onnx turns both into one ONNX graph, which
is checked against scikit-learn before it is written.

Needs the ``train`` extra (scikit-learn, skl2onnx) and FluidSynth with ``fluid-soundfont-gm``.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from promptdaw.core.files import atomic_write_bytes
from promptdaw.runtime.catalog import SAMPLE_CRITIC as KIND
from promptdaw.runtime.registry import sha256_file
from promptdaw.runtime.synthesis.listening import FEATURE_SIZE, LISTEN_RATE, LISTEN_SECONDS, listening_features
from training.text2sample.sounds import fade_out, family_shots, render_family_shots

__all__ = ["CriticConfig", "export_critic", "listening_examples", "train_critic"]

MODEL_FILE = "critic.onnx"
CONFIG_FILE = "config.json"
#: Seconds of each soundfont render (longer than the critic hears: cuts come from it).
RENDER_SECONDS = 2.5


@dataclass(frozen=True)
class CriticConfig:
    soundfont: str = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
    out: str = "models/sample_critic"
    #: Shorter cuts of every render, 0.25-2 s long, added to the examples.
    crops: int = 2
    #: The support-vector machine's regularisation (larger: fewer training errors, less margin).
    c: float = 3.0
    folds: int = 5
    seed: int = 0
    #: Three programs and one kit, for CI's smoke run.
    smoke: bool = False


def listening_examples(
    audio: np.ndarray, families: list[str], *, crops: int, seed: int
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """(features ``[N, FEATURE_SIZE]``, family labels, index of the render each came from)."""
    rng = np.random.default_rng(seed)
    rows, labels, groups = [], [], []
    for index, (sound, family) in enumerate(zip(audio, families, strict=True)):
        for length_s in (RENDER_SECONDS, *rng.uniform(0.25, 2.0, crops)):
            cut = fade_out(sound, round(length_s * LISTEN_RATE), LISTEN_RATE)
            if np.abs(cut).max() <= 1e-6:
                continue
            rows.append(listening_features(cut, LISTEN_RATE))
            labels.append(family)
            groups.append(index)
    return np.stack(rows), labels, np.array(groups)


def new_critic(config: CriticConfig) -> Any:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    return make_pipeline(StandardScaler(), SVC(C=config.c, gamma="scale", probability=True, random_state=config.seed))


def cross_validated_accuracy(config: CriticConfig, x: np.ndarray, y: list[str], groups: np.ndarray) -> float:
    """Accuracy on renders held out by fold (a render's cuts never straddle folds)."""
    from sklearn.model_selection import GroupKFold

    labels = np.array(y)
    hits = 0
    for train, test in GroupKFold(n_splits=config.folds).split(x, labels, groups):
        hits += int((new_critic(config).fit(x[train], labels[train]).predict(x[test]) == labels[test]).sum())
    return hits / len(labels)


def export_critic(critic: Any, out_dir: Path, probe: np.ndarray, *, metrics: dict[str, Any],
                  config: CriticConfig) -> Path:  # fmt: skip
    """Write ``critic.onnx``, ``config.json`` and ``manifest.json``; returns the ONNX path.

    Raises:
        RuntimeError: the ONNX graph's probabilities differ from scikit-learn's on ``probe``.
    """
    import onnxruntime as ort
    from skl2onnx import to_onnx

    out_dir.mkdir(parents=True, exist_ok=True)
    # Probabilities as a plain [batch, families] tensor rather than a list of dicts (zipmap).
    onnx_model = to_onnx(critic, probe[:1].astype(np.float32), options={type(critic[-1]): {"zipmap": False}},
                         target_opset={"": 17, "ai.onnx.ml": 3})  # fmt: skip
    names = [o.name for o in onnx_model.graph.output]
    tmp = out_dir / f".{MODEL_FILE}.part"
    tmp.write_bytes(onnx_model.SerializeToString())
    session = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
    got = session.run([names[1]], {session.get_inputs()[0].name: probe.astype(np.float32)})[0]
    error = float(np.abs(got - critic.predict_proba(probe)).max())
    if error > 1e-3:
        raise RuntimeError(f"ONNX critic differs from scikit-learn by {error:g}")
    model_path = out_dir / MODEL_FILE
    tmp.replace(model_path)
    families = [str(c) for c in critic.classes_]
    runtime_config = {"families": families, "listen_rate": LISTEN_RATE, "listen_seconds": LISTEN_SECONDS,
                      "feature_size": FEATURE_SIZE, "onnx_max_abs_error": error,
                      "training": asdict(config)}  # fmt: skip
    atomic_write_bytes(out_dir / CONFIG_FILE, json.dumps(runtime_config, indent=1, sort_keys=True).encode())
    manifest = {
        "name": "sample-critic",
        "kind": KIND,
        "version": "1.0",
        "license": "MIT",
        "description": "listening features of a one-shot -> probabilities of its family (kick, hihat, keys, ...); "
        "the generator plays the candidate patch it hears likeliest as the prompt's family",
        "provenance": {
            "weights": "trained by promptdaw with scripts/train_sample_critic.py (see MODEL_CARD.md)",
            "training_data": "FluidR3_GM one-shots (MIT) rendered with FluidSynth",
        },
        "files": [_file_entry(out_dir, MODEL_FILE, "model"), _file_entry(out_dir, CONFIG_FILE, "config")],
        "inputs": {"features": {"name": session.get_inputs()[0].name, "shape": ["batch", FEATURE_SIZE]}},
        "outputs": {
            "label": {"name": names[0], "shape": ["batch"], "dtype": "string"},
            "probabilities": {"name": names[1], "shape": ["batch", len(families)], "dtype": "float32"},
        },
        "sample_rate": LISTEN_RATE,
        "channels": 1,
        "metrics": metrics,
        "card": "MODEL_CARD.md",
    }
    atomic_write_bytes(out_dir / "manifest.json", json.dumps(manifest, indent=2).encode())
    return model_path


def _file_entry(directory: Path, name: str, role: str) -> dict[str, Any]:
    path = directory / name
    return {"path": name, "sha256": sha256_file(path), "bytes": path.stat().st_size, "role": role}


def train_critic(config: CriticConfig, *, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Render, listen, cross-validate, fit on everything, export. Returns the metrics."""
    with warnings.catch_warnings():  # scikit-learn 1.9 deprecates SVC's Platt probabilities (pinned < 1.11)
        warnings.simplefilter("ignore", FutureWarning)
        return _train_critic(config, log)


def _train_critic(config: CriticConfig, log: Callable[[str], None]) -> dict[str, Any]:
    shots, families = family_shots(smoke=config.smoke)
    audio, heard = render_family_shots(Path(config.soundfont), shots, families, duration_s=RENDER_SECONDS,
                                       sample_rate=LISTEN_RATE, log=log)  # fmt: skip
    log(f"listening to {len(heard)} renders and {config.crops} cuts of each")
    x, y, groups = listening_examples(audio, heard, crops=config.crops, seed=config.seed)
    metrics: dict[str, Any] = {"renders": len(heard), "examples": len(y), "families": len(set(y))}
    if not config.smoke:
        metrics["cross_validated_accuracy"] = round(cross_validated_accuracy(config, x, y, groups), 4)
        log(f"cross-validated accuracy (by render, {config.folds} folds): {metrics['cross_validated_accuracy']}")
    critic = new_critic(config).fit(x, y)
    metrics["training_accuracy"] = round(float(critic.score(x, y)), 4)
    metrics["support_vectors"] = int(critic[-1].support_vectors_.shape[0])
    path = export_critic(critic, Path(config.out), x[:64], metrics=metrics, config=config)
    log(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return metrics
