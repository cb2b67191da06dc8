"""The sent log: what went out from one folder, so that a re-run sends nothing twice.

The log (sent-log.json in the packets folder) holds one sha256 of recipient + packet sha256
per message sent, and the time: nothing a reader could turn back into a patient. The file
format and its handling are the DoneLog's, which the print log shares.
"""

from __future__ import annotations

import hashlib

from handouts.donelog import DoneLog

SENT_LOG = "sent-log.json"


class SentLog(DoneLog):
    """What went out from one folder, as sha256(recipient + packet sha256) -> time sent."""

    FILE = SENT_LOG
    SECTION = "sent"
    WHAT = "sent log"
    RISK = "packets in this folder could be sent twice"
    AGAIN = "send everything again"

    @staticmethod
    def key(recipient: str, pdf: bytes) -> str:
        return DoneLog.digest(recipient.strip().lower(), hashlib.sha256(pdf).hexdigest())
