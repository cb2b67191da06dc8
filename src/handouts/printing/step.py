"""The one print step of packets: the printer resolved before anything is made, one job per packet.

`handouts packet --print`, every row of `handouts packets --print` and the front desk's
Print buttons all go through PrintStep, as email goes through mail.send.MailStep: making one
resolves the printer (an unknown name or a dead CUPS fails before anything is made), then
each packet is one job. A job that CUPS refuses, or a printer that has stopped, is that
packet's outcome, not the run's: the packet stays where it was written and the next one is
tried. The print log (when given) keeps a re-run from printing a packet twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from handouts.content.models import MAX_COPIES, JobOptions, PrintSettings
from handouts.errors import PrintError, UsageError
from handouts.printing.cups import PrintFailed, resolve_printer, submit
from handouts.printing.printlog import PrintLog

log = logging.getLogger(__name__)

PrintStatus = Literal["printed", "already printed", "not printed"]


@dataclass(frozen=True)
class PrintOutcome:
    status: PrintStatus
    detail: str = ""  # CUPS's job id when printed, the reason when not

    @property
    def ok(self) -> bool:
        return self.status != "not printed"

    def __str__(self) -> str:
        return f"{self.status}: {self.detail}" if self.detail else self.status


class PrintStep:
    """Queue packets on one printer with the run's job options, each at most once."""

    def __init__(
        self,
        settings: PrintSettings | None,
        printer: str | None = None,
        copies: int | None = None,
        reprint: bool = False,
    ) -> None:
        """Resolve the printer now (printer, else the settings', else CUPS's default)."""
        if copies is not None and not 1 <= copies <= MAX_COPIES:
            raise UsageError(
                "{field}: {copies} is not between 1 and {most}",
                field="copies",
                code="out-of-range",
                copies=copies,
                most=MAX_COPIES,
            )
        self.settings = settings or PrintSettings()
        self.copies = copies
        self.reprint = reprint  # print again what the print log lists
        # The settings' key is named as handouts.yaml writes it.
        field = "printer" if printer else "printing.printer"
        self.queue = resolve_printer(printer or self.settings.printer, field)

    @property
    def printer(self) -> str:
        return self.queue.name

    def options(self, large_print: bool) -> JobOptions:
        return self.settings.options(large_print, self.copies)

    def print_packet(
        self, title: str, pdf: bytes, large_print: bool = False, print_log: PrintLog | None = None
    ) -> PrintOutcome:
        """Queue one packet (title: its file name, never a patient's name) unless printed before."""
        key = PrintLog.key(pdf)
        if print_log is not None and key in print_log and not self.reprint:
            entry = print_log.get(key)
            return PrintOutcome(
                "already printed", str(entry.get("job", "")) if isinstance(entry, dict) else ""
            )
        try:
            job = submit(pdf, self.printer, title, self.options(large_print))
        except (PrintFailed, PrintError) as exc:
            # A CUPS that stops answering mid-run is this packet's outcome too: the run goes on.
            log.info("not printed: %s", title)
            return PrintOutcome("not printed", exc.reason if isinstance(exc, PrintFailed) else str(exc))
        if print_log is not None:
            print_log.add(key, printer=self.printer, job=job)
        return PrintOutcome("printed", job)
