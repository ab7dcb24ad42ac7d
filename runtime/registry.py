"""The model registry: discovers ``models/<name>/manifest.json``, verifies, loads lazily.

A manifest describes one model (kind, version, files with sha256, tensors, sample rate,
licence, provenance). A model whose file is missing, corrupt or not a valid ONNX graph is
listed with its error and refused at load; every other model keeps serving.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promptdaw.core.errors import ModelNotFound, ModelUnavailable
from promptdaw.runtime.onnx import OnnxModel

__all__ = ["Manifest", "ModelFile", "ModelRegistry", "TensorSpec", "sha256_file"]

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
_KNOWN_KEYS = {
    "name",
    "kind",
    "version",
    "description",
    "license",
    "provenance",
    "files",
    "inputs",
    "outputs",
    "sample_rate",
    "channels",
    "window",
    "fetch",
    "metrics",
    "card",
    "runtime",
}


@dataclass(frozen=True)
class ModelFile:
    path: str
    sha256: str
    bytes: int | None = None
    role: str = "model"


@dataclass(frozen=True)
class TensorSpec:
    name: str
    shape: tuple[int | str, ...] = ()
    dtype: str = "float32"


@dataclass(frozen=True)
class Manifest:
    """One model's manifest; ``directory`` is where its files live."""

    name: str
    kind: str
    version: str
    license: str
    directory: Path
    files: tuple[ModelFile, ...]
    inputs: dict[str, TensorSpec]
    outputs: dict[str, TensorSpec]
    sample_rate: int | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    fetch: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any], directory: Path) -> Manifest:
        """Build a manifest, raising ``ModelUnavailable`` naming the first bad field."""
        where = directory / MANIFEST_NAME
        try:
            unknown = set(data) - _KNOWN_KEYS
            if unknown:
                log.warning("%s: ignoring unknown fields %s", where, ", ".join(sorted(unknown)))
            files = tuple(ModelFile(**f) for f in data["files"])
            if not any(f.role == "model" for f in files):
                raise ValueError("no file with role 'model'")
            return cls(
                name=str(data["name"]),
                kind=str(data["kind"]),
                version=str(data["version"]),
                license=str(data["license"]),
                directory=directory,
                files=files,
                inputs={k: _tensor(v) for k, v in data["inputs"].items()},
                outputs={k: _tensor(v) for k, v in data["outputs"].items()},
                sample_rate=data.get("sample_rate"),
                provenance=dict(data.get("provenance", {})),
                fetch=data.get("fetch"),
                extra={k: data[k] for k in ("channels", "window", "metrics", "card", "runtime") if k in data},
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ModelUnavailable(f"{where}: invalid manifest ({type(exc).__name__}: {exc})") from None

    @classmethod
    def read(cls, path: Path) -> Manifest:
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ModelUnavailable(f"{path}: unreadable manifest ({exc})") from None
        return cls.from_dict(data, path.parent)

    @property
    def opt_in(self) -> bool:
        """Fetched only by name with its licence accepted, and never a default (HTDemucs)."""
        return bool((self.fetch or {}).get("opt_in"))

    @property
    def model_file(self) -> ModelFile:
        return next(f for f in self.files if f.role == "model")

    @property
    def model_path(self) -> Path:
        return self.directory / self.model_file.path

    def path_of(self, role: str) -> Path:
        """The file with ``role`` (e.g. "tokenizer", "config"); raises ModelUnavailable if none."""
        for entry in self.files:
            if entry.role == role:
                return self.directory / entry.path
        raise ModelUnavailable(f"model {self.name!r} has no file with role {role!r}")


def _tensor(value: dict[str, Any]) -> TensorSpec:
    return TensorSpec(value["name"], tuple(value.get("shape", ())), value.get("dtype", "float32"))


def sha256_file(path: Path, chunk_bytes: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


class ModelRegistry:
    """Lists, verifies, loads and unloads the models under ``models_dir``.

    Thread-safe: workers call :meth:`get` while the socket loop calls :meth:`unload` and
    :meth:`describe`. A job that already holds a model keeps it alive after an unload.
    """

    def __init__(self, models_dir: Path, *, providers: list[str], intra_op_threads: int = 0) -> None:
        self.models_dir = Path(models_dir)
        self.providers = providers
        self.intra_op_threads = intra_op_threads
        self._lock = threading.RLock()
        self._manifests: dict[str, Manifest] = {}
        self._invalid: dict[str, str] = {}  # directory name -> error
        self._loaded: dict[str, OnnxModel] = {}
        self._verified: dict[Path, tuple[int, int]] = {}  # path -> (mtime_ns, size) that matched
        self._problems: dict[str, str] = {}  # name -> why it failed to load or to serve (for ``models``)
        self.discover()

    def discover(self) -> None:
        """(Re)read every manifest; a broken one is recorded, never fatal."""
        manifests, invalid = {}, {}
        for path in sorted(self.models_dir.glob(f"*/{MANIFEST_NAME}")):
            try:
                manifest = Manifest.read(path)
                manifests[manifest.name] = manifest
            except ModelUnavailable as exc:
                invalid[path.parent.name] = exc.message
        with self._lock:
            self._manifests, self._invalid = manifests, invalid

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._manifests)

    def manifest(self, name: str) -> Manifest:
        with self._lock:
            if name not in self._manifests:
                self.discover()
            try:
                return self._manifests[name]
            except KeyError:
                known = ", ".join(sorted(self._manifests)) or "none"
                raise ModelNotFound(f"no model named {name!r}; known models: {known}") from None

    def default_for(self, kind: str) -> str:
        """The first model (by name) of ``kind``."""
        with self._lock:
            for name in sorted(self._manifests):
                if self._manifests[name].kind == kind:
                    return name
        raise ModelNotFound(f"no model of kind {kind!r} is installed")

    def _file_problem(self, manifest: Manifest) -> tuple[str, str] | None:
        """``(state, message)`` for the first missing or corrupt file, else None.

        Hashes are cached per (mtime, size) so ``models`` and repeated loads stay cheap.
        """
        for entry in manifest.files:
            path = manifest.directory / entry.path
            try:
                stat = path.stat()
            except FileNotFoundError:
                fetch = (  # an opt-in model is fetched only by name, its licence accepted
                    f"`promptdaw fetch-models {manifest.name} --accept-license`"
                    if manifest.opt_in
                    else "`make setup` or `promptdaw fetch-models`"
                )
                return "missing", f"model {manifest.name!r}: file {path} is missing (run {fetch})"
            stamp = (stat.st_mtime_ns, stat.st_size)
            if self._verified.get(path) == stamp:
                continue
            actual = sha256_file(path)
            if actual != entry.sha256:
                return "corrupt", (
                    f"model {manifest.name!r}: file {path} is corrupt (sha256 {actual[:12]}..., "
                    f"expected {entry.sha256[:12]}...; run `promptdaw fetch-models --force`)"
                )
            self._verified[path] = stamp
        return None

    def verify(self, manifest: Manifest) -> None:
        """Check every file of ``manifest`` exists and matches its sha256.

        Raises:
            ModelUnavailable: naming the missing or corrupt file and how to restore it.
        """
        problem = self._file_problem(manifest)
        if problem is not None:
            raise ModelUnavailable(problem[1])

    def get(self, name: str) -> OnnxModel:
        """The loaded model, loading (and verifying) it on first use."""
        with self._lock:
            if name in self._loaded:
                return self._loaded[name]
            manifest = self.manifest(name)
            try:
                self.verify(manifest)
                model = OnnxModel.load(manifest, providers=self.providers, intra_op_threads=self.intra_op_threads)
            except ModelUnavailable as exc:
                self._problems[name] = exc.message
                raise
            self._problems.pop(name, None)
            self._loaded[name] = model
            log.info("loaded model %s (%s) on %s", name, manifest.version, model.providers)
            return model

    def unload(self, name: str) -> bool:
        """Drop the session; returns whether it was loaded."""
        self.manifest(name)  # unknown names are an error, not a silent no-op
        with self._lock:
            self._problems.pop(name, None)
            return self._loaded.pop(name, None) is not None

    def record_problem(self, name: str, message: str) -> None:
        """Remember why ``name`` cannot serve (e.g. what was built on it failed), for ``models``;
        forgotten when it next loads, or is unloaded."""
        with self._lock:
            self._problems[name] = message

    def loaded(self) -> list[str]:
        """The loaded models' names, without waiting on a model being loaded (the daemon's
        ``status`` must answer at once): ``dict.copy`` is atomic under the GIL, and
        ``_loaded`` only changes under the lock."""
        return sorted(self._loaded.copy())

    def describe(self) -> list[dict[str, Any]]:
        """One entry per model for the ``models`` request, including broken ones."""
        with self._lock:
            manifests = dict(self._manifests)
            invalid = dict(self._invalid)
            loaded = set(self._loaded)
            problems = dict(self._problems)
        entries = []
        for name, m in sorted(manifests.items()):
            state, error = "loaded" if name in loaded else "available", None
            if name not in loaded:
                state, error = self._file_problem(m) or (state, error)
            if error is None and name in problems:  # its files are sound, yet it failed to load or to serve
                state, error = "broken", problems[name]
            entries.append(
                {
                    "name": name,
                    "kind": m.kind,
                    "version": m.version,
                    "license": m.license,
                    "sample_rate": m.sample_rate,
                    "bytes": sum(f.bytes or 0 for f in m.files),
                    "state": state,
                    "error": error,
                    "provenance": m.provenance,
                }
            )
        for directory, error in sorted(invalid.items()):
            entries.append({"name": directory, "state": "invalid", "error": error})
        return entries
