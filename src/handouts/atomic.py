"""Write files so that readers only ever see a whole file or none, and lock a folder for one writer."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from handouts.errors import OutputError

TMP_SUFFIX = ".partial"


def atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write data to path via a temporary file in the same folder and a rename."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TMP_SUFFIX)
    except OSError as exc:
        raise OutputError(f"{path.parent}: cannot write here: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp makes files 0600; outputs are meant to be shared.
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        reason = "disk full" if exc.errno == errno.ENOSPC else exc.strerror
        raise OutputError(f"{path}: cannot write: {reason}; the previous file is unchanged") from exc


def remove_partials(folder: Path) -> int:
    """Delete temporary files a killed run left behind; return how many."""
    count = 0
    if folder.is_dir():
        for tmp in folder.rglob(f".*{TMP_SUFFIX}"):
            with contextlib.suppress(OSError):
                tmp.unlink()
                count += 1
    return count


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on folder so two builds never interleave their writes."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / ".handouts.lock", "a+b")  # noqa: SIM115
    except OSError as exc:
        raise OutputError(f"{folder}: cannot write here: {exc.strerror}") from exc
    with handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
