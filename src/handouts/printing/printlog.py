"""What a packets folder has printed, so a re-run prints only what is not printed yet.

print-log.json keeps, per packet printed, a sha256 of the packet's bytes, the time, the
printer's name and CUPS's job id: nothing a reader could turn back into a patient.
"""

from __future__ import annotations

import hashlib

from handouts.donelog import DoneLog

PRINT_LOG = "print-log.json"


class PrintLog(DoneLog):
    """What was printed from one folder, as sha256("print" + packet sha256) -> time, printer, job."""

    FILE = PRINT_LOG
    SECTION = "printed"
    WHAT = "print log"
    RISK = "packets in this folder could be printed twice"
    AGAIN = "print everything again"

    @staticmethod
    def key(pdf: bytes) -> str:
        return DoneLog.digest("print", hashlib.sha256(pdf).hexdigest())
