"""Atomic file writes: a crash or a full disk never leaves a half-written result or a mixed set.

A command that writes several files (a loop's mix, MIDI and stems; four stems; a sample and its
patch) writes them as one :class:`OutputSet`: every member goes to a temporary file beside it,
``.<name>.<random>.part``, and only when every member is complete and on disk (``fsync``) are the
temporaries renamed over the old files. If any write fails, every temporary is removed and the
old files are left exactly as they were, so a folder holds the old set or the new set, never a mix.
Renames within a folder allocate no data blocks, so a full disk fails a write, never a rename.

Members of the old set that the new set lacks (``stale``, e.g. ``OUT.bass.wav`` from a loop that
had a bass when the new one has none) are removed in the same commit, after the renames.

A ``kill -9`` can still leave temporaries behind. They are swept when a set next writes into that
folder: temporaries older than :data:`STALE_PART_AGE_S` (a day; a write in progress touches its
file far more often) are removed. The sweep runs in the writing client, not the daemon, because
only the client knows the output folders (the daemon never writes a user's files).
"""

from __future__ import annotations

import errno
import os
import re
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

__all__ = ["STALE_PART_AGE_S", "OutputSet", "atomic_write_bytes", "is_part_name", "naming", "sweep_stale_parts"]

#: Temporaries untouched this long are abandoned (a killed writer) and swept.
STALE_PART_AGE_S = 24 * 3600.0

# ``.<name>.<random>.part`` (this module), and the names earlier versions used:
# ``.<stem>.part<.suffix>`` (``write_audio``) and ``.<stem>.part.wav`` (stem files).
_PART_NAME = re.compile(r"^\..+\.part(\.[A-Za-z0-9]{1,5})?$")


def is_part_name(name: str) -> bool:
    """Whether ``name`` is one of promptdaw's hidden temporaries."""
    return _PART_NAME.match(name) is not None


def sweep_stale_parts(folder: Path, *, max_age_s: float = STALE_PART_AGE_S, now: float | None = None) -> list[Path]:
    """Remove promptdaw temporaries in ``folder`` whose last write is older than ``max_age_s``.

    Returns the paths removed. Errors (a folder that vanished, a file another process just
    removed, no permission) are ignored: sweeping is housekeeping, never a reason to fail.
    """
    now = time.time() if now is None else now
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        try:
            stale = is_part_name(entry.name) and entry.is_file(follow_symlinks=False)
            if stale and now - entry.stat(follow_symlinks=False).st_mtime > max_age_s:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


@contextmanager
def naming(path: Path) -> Iterator[None]:
    """Re-raise an ``OSError`` met while writing ``path``'s temporary as one that names ``path``.

    A write error says only "File too large" (no file name), and one on the temporary names a
    hidden ``.part`` file the user never asked for; the user needs the path they gave.
    """
    try:
        yield
    except OSError as exc:
        if exc.filename is not None and not is_part_name(Path(exc.filename).name):
            raise  # already names a path of the user's (the file, or a folder above it)
        code = exc.errno or errno.EIO
        raise OSError(code, exc.strerror or os.strerror(code), str(path)) from None


class OutputSet:
    """Files written to temporaries and replaced together by :meth:`commit` (see the module doc).

    As a context manager it commits on a clean exit and discards on an exception::

        with OutputSet(stale=[old_stem]) as files:
            files.write_bytes(mix_path, mix)
            with files.open(midi_path) as f:
                f.write(midi)

    ``OSError`` from writing a member names the member's path, not its temporary.
    """

    def __init__(self, *, stale: Iterable[Path] = ()) -> None:
        self._stale = [Path(p) for p in stale]
        self._temporaries: dict[Path, Path] = {}  # final path -> its temporary
        self._swept: set[Path] = set()

    @property
    def paths(self) -> list[Path]:
        """The members, in the order they were started."""
        return list(self._temporaries)

    @contextmanager
    def open(self, path: Path) -> Iterator[BinaryIO]:
        """A binary file for ``path``'s new content, flushed to disk when the block ends."""
        path = Path(path)
        if path in self._temporaries:
            raise ValueError(f"{path} is already in this output set")
        with naming(path):
            if path.is_dir():  # found now, not by a rename at commit time, when other members are in place
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.parent not in self._swept:
                self._swept.add(path.parent)
                sweep_stale_parts(path.parent)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
            self._temporaries[path] = Path(tmp)
            with os.fdopen(fd, "wb") as f:
                os.fchmod(fd, 0o666 & ~_umask())  # mkstemp's 0600 would make shared outputs private
                yield f
                f.flush()
                os.fsync(f.fileno())  # on disk before any rename: a crash after it keeps whole files

    def write_bytes(self, path: Path, data: bytes) -> Path:
        """Write ``data`` as ``path``'s new content (to its temporary, now)."""
        with self.open(path) as f:
            f.write(data)
        return Path(path)

    def commit(self) -> list[Path]:
        """Rename every temporary over its path, then remove the stale members; returns the members."""
        written = []
        try:
            for path, tmp in list(self._temporaries.items()):
                with naming(path):
                    os.replace(tmp, path)
                del self._temporaries[path]
                written.append(path)
        finally:
            self.discard()  # only after a failed rename is anything left
        for path in self._stale:
            if path not in written:
                path.unlink(missing_ok=True)
        for folder in {p.parent for p in written}:
            _fsync_folder(folder)
        return written

    def discard(self) -> None:
        """Remove every temporary; the old files stay as they were."""
        for tmp in self._temporaries.values():
            tmp.unlink(missing_ok=True)
        self._temporaries.clear()

    def __enter__(self) -> OutputSet:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder and a rename (a set of one)."""
    with OutputSet() as files:
        return files.write_bytes(Path(path), data)


def _fsync_folder(folder: Path) -> None:
    """Make the renames durable; some file systems cannot fsync a folder, which is no error."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
