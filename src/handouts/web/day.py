"""The front desk's day: an uploaded appointments CSV as a list of rows, in this server's memory only.

The list is never written anywhere: the upload is parsed from memory, packets stay in
memory (printing pipes them to CUPS, email attaches them), and the list is dropped 12 hours
after it was loaded, when another is loaded, or when the server stops. Every desk sees the
same list (one process). Each row is checked and made with the code of `handouts packets`
(packet.batch.read_row, make_packet), printed with the print step and sent with the mail
step, so a row's problems read the same as in report.csv: they name the column, never the
patient.

Thread safety: one lock per day guards the rows; callers make packets under the app's
own render lock, as the single-patient form does.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from handouts.dates import parse_date, parse_time
from handouts.errors import HandoutsError, Problem, UsageError
from handouts.packet.appointments import COLUMNS, Row, day_order, parse_appointments

if TYPE_CHECKING:
    from handouts.build.index import CatalogueIndex
    from handouts.mail.send import MailStep, Outcome
    from handouts.packet.make import Packet
    from handouts.packet.request import PacketRequest
    from handouts.printing.step import PrintOutcome, PrintStep
    from handouts.project import Project

# Told of each packet made, before it leaves memory (the consent register); raising fails the row.
OnMade = Callable[["Packet", "PacketRequest"], None]

LIFETIME = 12 * 3600  # seconds: a morning's list is gone by the evening
MAX_UPLOAD_BYTES = 1_000_000  # a day's CSV is a few kilobytes
RowStatus = Literal["to make", "made", "failed"]


@dataclass
class DayRow:
    id: int
    line: int  # in the uploaded CSV
    cells: dict[str, str]
    status: RowStatus = "to make"
    message: str | None = None  # why it failed, naming the column
    file_name: str | None = None
    pdf: bytes | None = field(default=None, repr=False)
    brand: str | None = None
    lang: str | None = None
    documents: tuple[str, ...] = ()
    day: dt.date | None = None
    packet_id: str = ""  # for the consent register (in the packet's metadata too)
    ref: str | None = None  # the chart number, from the patient_ref column
    printed: PrintOutcome | None = None
    mailed: Outcome | None = None

    def get(self, column: str) -> str:
        return self.cells.get(column, "").strip()

    def as_row(self) -> Row:
        return Row(self.line, dict(self.cells))


@dataclass
class Day:
    """One uploaded list; rows in appointment order (by date and time, else the CSV's order)."""

    name: str
    rows: list[DayRow]
    loaded: float
    warnings: list[Problem] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    version: int = 0  # bumped on every change, for pages that poll

    @contextmanager
    def changing(self) -> Iterator[None]:
        with self.lock:
            yield
            self.version += 1

    def row(self, row_id: int) -> DayRow:
        with self.lock:
            for row in self.rows:
                if row.id == row_id:
                    return row
        raise UsageError(
            "{field}: no row {number} in today's list; reload the page", field="row", number=row_id
        )

    def ordered(self, today: dt.date) -> list[DayRow]:
        def when(row: DayRow) -> tuple[dt.date | None, dt.time | None]:
            try:
                return parse_date("date", row.get("date")) or today, parse_time("time", row.get("time"))
            except UsageError:
                return today, None

        with self.lock:
            return day_order(list(self.rows), when)

    def fix(self, row_id: int, cells: dict[str, str]) -> DayRow:
        """Replace a row's cells (known columns only); it is made again on its next action."""
        with self.changing():
            row = self.row(row_id)
            row.cells = {column: cells.get(column, "") for column in COLUMNS if column in cells}
            row.status, row.message, row.file_name, row.pdf = "to make", None, None, None
            row.printed = row.mailed = None
            return row


@dataclass
class DayDesk:
    """The server's one day list (or none), dropped after its lifetime, and its background run."""

    lifetime: float = LIFETIME
    clock: Callable[[], float] = time.monotonic
    worker: threading.Thread | None = None  # "Print all" / "Email all", one at a time
    notice: str | None = None  # how the last run went
    _day: Day | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def busy(self) -> bool:
        return self.worker is not None and self.worker.is_alive()

    def load(self, data: bytes, name: str) -> Day:
        """Parse an uploaded CSV into today's list (replacing any); raise UsageError when unusable."""
        if len(data) > MAX_UPLOAD_BYTES:
            raise UsageError("{name}: larger than a day's appointments; choose the right file", name=name)
        appointments = parse_appointments(data, name)
        rows = [DayRow(next(self._ids), row.line, dict(row.cells)) for row in appointments.rows]
        for problem in appointments.problems:
            rows.append(DayRow(next(self._ids), problem.line or 0, {}, "failed", problem.message))
        rows.sort(key=lambda r: r.line)
        day = Day(name, rows, self.clock(), list(appointments.warnings))
        with self._lock:
            self._day = day
            self.notice = None
        return day

    def current(self) -> Day | None:
        with self._lock:
            if self._day is not None and self.clock() - self._day.loaded > self.lifetime:
                self._day = None  # the packets in it go with it
            return self._day

    def clear(self) -> None:
        with self._lock:
            self._day = None


def day_index(project: Project) -> CatalogueIndex:
    """What checking rows needs of the catalogue: the snapshot's index when current, else loaded."""
    from handouts.build.index import CatalogueIndex
    from handouts.build.snapshot import current
    from handouts.content.catalogue import load_catalogue

    state = current(project)
    return state.index if state is not None else CatalogueIndex.from_catalogue(load_catalogue(project))


def make_row(
    project: Project, index: CatalogueIndex, row: DayRow, today: dt.date, on_made: OnMade | None = None
) -> DayRow:
    """Make the row's packet in memory unless it is made; a problem fails the row, not the day."""
    from handouts.packet.batch import BatchOptions, read_row, row_message
    from handouts.packet.make import make_packet
    from handouts.packet.naming import packet_flags

    if row.status == "made" or (row.status == "failed" and not row.cells):
        return row
    try:
        # BatchOptions' folder is never written: nothing of the day goes to disk.
        options = BatchOptions(out_dir=project.root, today=today)
        person, request, _ = read_row(project, index, row.as_row(), options, sending=False)
        packet = make_packet(project, request)
        if on_made is not None:
            on_made(packet, request)
    except HandoutsError as exc:
        row.status, row.message = "failed", row_message(exc)
        return row
    flags = packet_flags(request.fillable, request.large_print, False)
    row.status, row.message = "made", None
    row.file_name = packet.file_name(person, flags=flags)
    row.pdf, row.brand, row.lang, row.documents = packet.pdf, packet.brand, packet.lang, packet.documents
    row.day, row.packet_id, row.ref = person.date, packet.packet_id, person.ref
    return row


def print_row(step: PrintStep, row: DayRow) -> PrintOutcome:
    """Queue a made row's packet (from memory) unless printed in this list already."""
    from handouts.printing.step import PrintOutcome

    if row.pdf is None or row.file_name is None:
        return PrintOutcome("not printed", "the packet is not made; fix the row first")
    if row.printed is not None and row.printed.status == "printed":
        return PrintOutcome("already printed", row.printed.detail)
    row.printed = step.print_packet(row.file_name, row.pdf)
    return row.printed


def email_row(mail: MailStep, row: DayRow) -> Outcome:
    """Send a made row's packet to its email address unless sent in this list already."""
    from handouts.mail.compose import Letter, check_address
    from handouts.mail.send import Outcome
    from handouts.packet.batch import row_message

    if row.pdf is None or row.file_name is None or row.brand is None or row.lang is None:
        return Outcome("not sent", "the packet is not made; fix the row first", fixable=True)
    if row.mailed is not None and row.mailed.status == "sent":
        return Outcome("already sent")
    if not row.get("email"):
        row.mailed = Outcome("not sent", "no address in the 'email' column", fixable=True)
        return row.mailed
    try:
        recipient = check_address(row.get("email"))
    except HandoutsError as exc:
        row.mailed = Outcome("not sent", row_message(exc), fixable=True)
        return row.mailed
    day = row.day or dt.date.today()
    letter = Letter(
        row.file_name, row.pdf, row.brand, row.lang, row.documents, day, False, row.packet_id, row.ref
    )
    row.mailed = mail.send(letter, recipient)
    return row.mailed
