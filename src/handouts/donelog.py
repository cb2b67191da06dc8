"""A folder's record of work done once (sent, printed), so that a re-run does it only once.

Each entry is keyed by a sha256 the caller makes from what identifies the work (a recipient
and the packet's bytes, or the packet's bytes alone) and holds when it was done, plus
whatever the caller adds that is no patient data (a printer's name, a job id). The file is
rewritten whole and atomically (mode 0600) after every entry, so a killed run loses at most
the entry it was writing. The email sent log and the print log are both DoneLogs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any, ClassVar

from handouts.atomic import atomic_write
from handouts.confine import MAX_FILE_BYTES, read_file
from handouts.errors import ProjectError, UsageError


class DoneLog:
    """JSON file FILE in a folder: {"format": 1, SECTION: {key: when, or {"at": when, ...}}}."""

    FILE: ClassVar[str]
    SECTION: ClassVar[str]
    # For the message about an unreadable log: what it is, what losing it risks, how to start over.
    WHAT: ClassVar[str]
    RISK: ClassVar[str]
    AGAIN: ClassVar[str]

    def __init__(self, folder: Path) -> None:
        self.path = folder / self.FILE
        self.entries: dict[str, Any] = {}
        if self.path.exists():
            try:
                data = json.loads(read_file(self.path, None, str(self.path), MAX_FILE_BYTES).decode("utf-8"))
                entries = data[self.SECTION]
                assert isinstance(entries, dict)
                self.entries = {str(k): v for k, v in entries.items()}
            except (ProjectError, ValueError, KeyError, TypeError, AssertionError):
                raise UsageError(
                    "{path}: not a {what} handouts can read; without it, {risk}: "
                    "restore it, or move it away to {again}",
                    path=self.path,
                    what=self.WHAT,
                    risk=self.RISK,
                    again=self.AGAIN,
                ) from None

    @staticmethod
    def digest(*parts: str | bytes) -> str:
        """A sha256 over parts, NUL-separated: the key of one entry."""
        h = hashlib.sha256()
        for i, part in enumerate(parts):
            if i:
                h.update(b"\0")
            h.update(part.encode() if isinstance(part, str) else part)
        return h.hexdigest()

    def __contains__(self, key: str) -> bool:
        return key in self.entries

    def get(self, key: str) -> Any:
        return self.entries.get(key)

    def add(self, key: str, **extra: str) -> None:
        """Record key as done now (with extra fields, none of them patient data) and save."""
        when = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        self.entries[key] = {"at": when, **extra} if extra else when
        data = {"format": 1, self.SECTION: self.entries}
        atomic_write(self.path, (json.dumps(data, indent=1, sort_keys=True) + "\n").encode(), 0o600)
