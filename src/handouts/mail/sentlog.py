"""The sent log: what went out from one folder, so that a re-run sends nothing twice.

The log (sent-log.json in the packets folder) holds one sha256 of recipient + packet sha256
per message sent, and the time: nothing a reader could turn back into a patient.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

from handouts.atomic import atomic_write
from handouts.errors import UsageError

SENT_LOG = "sent-log.json"


class SentLog:
    """What went out from one folder, as sha256(recipient + packet sha256) -> time sent."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / SENT_LOG
        self.sent: dict[str, str] = {}
        if self.path.exists():
            try:
                data = json.loads(self.path.read_text("utf-8"))
                sent = data["sent"]
                assert isinstance(sent, dict)
                self.sent = {str(k): str(v) for k, v in sent.items()}
            except (OSError, ValueError, KeyError, TypeError, AssertionError):
                raise UsageError(
                    f"{self.path}: not a sent log handouts can read; without it, packets in this "
                    "folder could be sent twice: restore it, or move it away to send everything again"
                ) from None

    @staticmethod
    def key(recipient: str, pdf: bytes) -> str:
        packet = hashlib.sha256(pdf).hexdigest()
        return hashlib.sha256(f"{recipient.strip().lower()}\0{packet}".encode()).hexdigest()

    def __contains__(self, key: str) -> bool:
        return key in self.sent

    def add(self, key: str) -> None:
        self.sent[key] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        data = {"format": 1, "sent": self.sent}
        atomic_write(self.path, (json.dumps(data, indent=1, sort_keys=True) + "\n").encode(), 0o600)
