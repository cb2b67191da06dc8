"""The one rule for every file read from a project: inside its folders, a regular file, bounded.

A file is resolved (every symlink followed) and must stay inside the folders it is allowed to
come from (a project's templates/ and content/, a theme's or the package's own folder); it
must be a regular file (no device, pipe, socket, folder); it is opened without blocking,
checked again on the open descriptor, its size taken from stat() before anything is read, and
at most the limit plus one byte is read. Hashing reads in chunks. Links between a project's
own folders are fine; a link out of them is refused, whatever it points to (`/proc/self/environ`,
a CI's secrets, `/dev/zero`).

Kept free of imports beyond the standard library and errors: the snapshot and project.py use it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from handouts.errors import ProjectError, shown

# The limits, one table for every loader (a loader picks the one for its kind of file).
MAX_FILE_BYTES = 20_000_000  # templates, stylesheets, fonts, anything served to WeasyPrint
MAX_YAML_BYTES = 2_000_000  # settings, brands, documents, contraindications, messages, jargon
MAX_LOGO_BYTES = 5_000_000  # a brand's logo
CHUNK = 1 << 16


class RefusedFile(ProjectError):
    """A file that leaves the folders it may come from, is not a regular file, or is too large."""

    def __init__(self, label: str, reason: str, *, code: str, **values: Any) -> None:
        self.label = label
        self.reason = reason.format(**values)
        super().__init__("{file}: {reason}", code=code, file=label, reason=self.reason)


class FileTooLarge(RefusedFile):
    """A file larger than its loader's limit (refused before it is read)."""

    def __init__(self, label: str, limit: int) -> None:
        self.limit = limit
        super().__init__(
            label,
            "larger than {limit}; is it the right file?",
            code="too-large",
            limit=megabytes(limit),
        )


def megabytes(limit: int) -> str:
    return f"{limit / 1_000_000:g} MB" if limit >= 1_000_000 else f"{limit} bytes"


def inside(target: Path, fence: Sequence[Path]) -> bool:
    """Whether a resolved path is one of the fence's (resolved) folders or below one."""
    return any(target == folder or target.is_relative_to(folder) for folder in fence)


def confined(path: Path, fence: Sequence[Path], label: str) -> Path:
    """The file path stands for, resolved; RefusedFile when that leaves the fence (resolved folders)."""
    try:
        target = path.resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise RefusedFile(
            label, "cannot be resolved ({why}); fix the link", code="bad-link", why=exc
        ) from None
    if not inside(target, fence):
        raise RefusedFile(
            label,
            "links to {target}, outside {where}; copy the file in instead of linking to it",
            code="outside",
            target=shown(str(target), 160),
            where=_named(fence),
        )
    return target


def _named(fence: Sequence[Path]) -> str:
    """A fence as a message names it: "templates/ and content/" ("handouts.yaml, templates/ and content/")."""
    names = [folder.name if folder.suffix else f"{folder.name}/" for folder in fence]
    return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else "".join(names)


def limit_for(path: Path) -> int:
    """The limit of a file by its kind: YAML's for YAML files, else the one for every other file."""
    return MAX_YAML_BYTES if path.suffix.lower() in (".yaml", ".yml") else MAX_FILE_BYTES


def check(path: Path, fence: Sequence[Path], label: str) -> Path | None:
    """A present file's resolved path, None when nothing (or a folder) is there; RefusedFile otherwise.

    Refused: a link out of the fence, and anything that is not a regular file or a folder.
    """
    if not os.path.lexists(path):
        return None
    target = confined(path, fence, label)
    try:
        mode = target.stat().st_mode
    except OSError:
        return None  # a dangling link inside the fence: nothing is there
    if stat.S_ISDIR(mode):
        return None
    if not stat.S_ISREG(mode):
        raise _special(label)
    return target


def _special(label: str) -> RefusedFile:
    return RefusedFile(
        label,
        "not a regular file (a folder, device, pipe or socket); put a regular file there",
        code="special",
    )


def _open(path: Path, fence: Sequence[Path] | None, label: str) -> tuple[int, int]:
    """Open a regular file without following links out or blocking on a pipe: (descriptor, size)."""
    target = confined(path, fence, label) if fence is not None else path
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    if fence is not None:
        flags |= getattr(os, "O_NOFOLLOW", 0)  # resolved already: a link now means it was swapped
    try:
        fd = os.open(target, flags)
    except OSError as exc:
        raise RefusedFile(label, "cannot read: {why}", code="unreadable", why=exc.strerror or exc) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _special(label)
    except BaseException:
        os.close(fd)
        raise
    return fd, info.st_size


def read_file(path: Path, fence: Sequence[Path] | None, label: str, limit: int = MAX_FILE_BYTES) -> bytes:
    """A regular file's bytes, refused before reading when stat() says it is over limit.

    fence: the resolved folders it must stay in (None: a file named by the user, not a project's).
    At most limit + 1 bytes are read, so a file that grows, or lies about its size, is caught too.
    """
    fd, size = _open(path, fence, label)
    with os.fdopen(fd, "rb") as handle:
        if size > limit:
            raise FileTooLarge(label, limit)
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise FileTooLarge(label, limit)
    return data


def hash_file(digest: Any, path: Path, fence: Sequence[Path] | None, label: str, limit: int = 0) -> int:
    """Feed a regular file's bytes to digest in chunks; return how many there were.

    Bounded like a read (stat() first, then never past limit): hashing a huge file would
    cost no memory, but seconds on every build that only wants to say "unchanged".
    limit: 0 for the limit of the file's kind (limit_for).
    """
    limit = limit or limit_for(path)
    fd, size = _open(path, fence, label)
    total = 0
    with os.fdopen(fd, "rb") as handle:
        if size > limit:
            raise FileTooLarge(label, limit)
        while chunk := handle.read(CHUNK):
            total += len(chunk)
            if total > limit:
                raise FileTooLarge(label, limit)
            digest.update(chunk)
    return total
