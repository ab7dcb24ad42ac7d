"""onnxruntime sessions: execution-provider choice and semantic tensor names.

The daemon is the only place models run, and this is the only module that talks to
onnxruntime. Tasks ask for tensors by the semantic keys of the model's manifest ("audio",
"note", "onset") and never see the exporter's raw tensor names.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import onnxruntime as ort

from promptdaw.core.errors import InferenceFailed, ModelUnavailable

if TYPE_CHECKING:
    from promptdaw.runtime.registry import Manifest

__all__ = ["SOURCE_KEY", "OnnxModel", "available_providers", "select_providers"]

T = TypeVar("T")

#: A derived graph's metadata key naming the sha256 of the weights it came from
#: (:mod:`promptdaw.runtime.separation.htdemucs_graph` writes it).
SOURCE_KEY = "promptdaw.source_sha256"

#: Preference order. TensorRT builds an engine on first use (minutes), so it is opt-in
#: through PROMPTDAW_PROVIDERS rather than picked automatically.
PREFERRED_PROVIDERS = ("CUDAExecutionProvider", "CPUExecutionProvider")


def available_providers() -> list[str]:
    return list(ort.get_available_providers())


def select_providers(available: Sequence[str] | None = None, requested: str | None = None) -> list[str]:
    """Pick execution providers: CUDA when onnxruntime-gpu sees a GPU, else CPU.

    Args:
        available: providers onnxruntime offers (default: ask onnxruntime).
        requested: comma-separated override, by default ``$PROMPTDAW_PROVIDERS``
            (e.g. ``TensorrtExecutionProvider,CUDAExecutionProvider,CPUExecutionProvider``).
    """
    available = list(available if available is not None else available_providers())
    requested = requested if requested is not None else os.environ.get("PROMPTDAW_PROVIDERS", "")
    wanted = [p.strip() for p in requested.split(",") if p.strip()] or list(PREFERRED_PROVIDERS)
    chosen = [p for p in wanted if p in available]
    if "CPUExecutionProvider" not in chosen:
        chosen.append("CPUExecutionProvider")  # always a fallback
    return chosen


class OnnxModel:
    """A loaded model: one onnxruntime session plus its manifest."""

    def __init__(self, manifest: Manifest, session: ort.InferenceSession) -> None:
        self.manifest = manifest
        self.session = session
        self._input_names = {key: spec.name for key, spec in manifest.inputs.items()}
        self._output_names = {key: spec.name for key, spec in manifest.outputs.items()}
        self._attachments: dict[str, Any] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(
        cls, manifest: Manifest, *, providers: Sequence[str], intra_op_threads: int = 0, graph: Path | None = None
    ) -> OnnxModel:
        """Create the session for ``manifest``'s model file (checksums are checked by the registry).

        ``graph`` runs another file of the same model instead (a derived graph, being checked);
        by default a manifest's ``runtime.fused_graph`` runs when it exists and was derived from
        the model file's current weights (see :mod:`promptdaw.runtime.separation.htdemucs_graph`).

        Raises:
            ModelUnavailable: onnxruntime cannot load the file, or its tensors do not match
                the manifest.
        """
        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_op_threads
        options.log_severity_level = 3  # warnings about unused initialisers are noise to users
        # Idle worker threads must not spin: the daemon shares the machine with a DAW.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # A big graph's memory arena keeps every run's high-water mark and fragments across runs
        # (HTDemucs: 2.5 GB for one run, 4.9 GB after two); its manifest turns the arena off.
        runtime = manifest.extra.get("runtime", {})
        if runtime.get("cpu_mem_arena") is False:
            options.enable_cpu_mem_arena = False
            options.enable_mem_pattern = False
        # Arithmetic on subnormal floats is ~100x slower on x86; HTDemucs' softmax over 2688 keys makes
        # many, and its attention ran 2x slower for them (its outputs are bit-identical when flushed).
        if runtime.get("denormal_as_zero"):
            options.add_session_config_entry("session.set_denormal_as_zero", "1")
        providers = list(providers)

        def open_session(path: Path) -> ort.InferenceSession:
            return ort.InferenceSession(str(path), sess_options=options, providers=providers)

        session = None
        fused = manifest.directory / runtime["fused_graph"] if runtime.get("fused_graph") else None
        if graph is None and fused is not None and fused.exists():
            try:  # derived from the weights: it runs only if derived from these, and readable
                session = open_session(fused)
                if session.get_modelmeta().custom_metadata_map.get(SOURCE_KEY) != manifest.model_file.sha256:
                    session = None
            except Exception:  # damaged: the weights themselves still run
                session = None
        try:
            if session is None:
                session = open_session(graph or manifest.model_path)
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ModelUnavailable(f"model {manifest.name!r} failed to load: {exc}") from None
        model = cls(manifest, session)
        model._check_tensor_names()
        return model

    def _check_tensor_names(self) -> None:
        have_in = {i.name for i in self.session.get_inputs()}
        have_out = {o.name for o in self.session.get_outputs()}
        missing = [n for n in self._input_names.values() if n not in have_in]
        missing += [n for n in self._output_names.values() if n not in have_out]
        if missing:
            raise ModelUnavailable(
                f"model {self.manifest.name!r} lacks tensors named in its manifest: {', '.join(missing)}"
            )

    def attachment(self, key: str, build: Callable[[OnnxModel], T]) -> T:
        """An object derived from this loaded model (a tokenizer, a sampler), built once.

        It lives exactly as long as the session: unloading the model drops it too.
        """
        with self._lock:
            if key not in self._attachments:
                self._attachments[key] = build(self)
            return self._attachments[key]

    @property
    def providers(self) -> list[str]:
        return list(self.session.get_providers())

    def run(self, inputs: Mapping[str, np.ndarray], outputs: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """Run the model on semantic-keyed inputs; return semantic-keyed outputs.

        Raises:
            InferenceFailed: onnxruntime failed (bad shapes, out of memory, a crashed kernel).
        """
        keys = list(outputs) if outputs is not None else list(self._output_names)
        feed = {self._input_names[k]: v for k, v in inputs.items()}
        try:
            values = self.session.run([self._output_names[k] for k in keys], feed)
        except Exception as exc:
            raise InferenceFailed(f"model {self.manifest.name!r} failed: {exc}") from None
        return dict(zip(keys, values, strict=True))
