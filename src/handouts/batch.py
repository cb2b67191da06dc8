"""Make a day's packets from an appointments CSV, and optionally email each one.

Every row goes through the same checks and code as `handouts packet`. A row's file name
depends only on its inputs, so a re-run skips rows whose packet is already there, and the
sent log keeps a re-run from mailing anything twice. Messages about a row name its line in
the CSV, never the patient.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from handouts.appointments import Row, read_appointments, report_csv
from handouts.content import Catalogue, Project, load_catalogue
from handouts.errors import HandoutsError, MailError, Problem, UsageError
from handouts.mail import Letter, check_address, check_templates
from handouts.mailer import Mailer, Outcome, SentLog, deliver
from handouts.packet import (
    Packet,
    PacketRequest,
    Patient,
    check_password,
    make_packet,
    make_patient,
    packet_flags,
    protect,
    resolve_request,
)
from handouts.snapshot import CatalogueIndex

log = logging.getLogger(__name__)

REPORT = "report.csv"
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DOC_SEPARATORS = re.compile(r"[\s,;|+]+")
RowStatus = Literal["made", "skipped", "failed"]


@dataclass(frozen=True)
class BatchOptions:
    out_dir: Path
    fillable: bool = False
    large_print: bool = False
    password: str | None = None
    email: bool = False  # send each packet to the row's email address
    eml_dir: Path | None = None  # write .eml files there instead of sending
    today: dt.date | None = None


@dataclass
class RowResult:
    line: int
    status: RowStatus
    file: str | None = None
    message: str | None = None  # why the row failed: names columns, never the patient
    mail: Outcome | None = None


@dataclass
class BatchReport:
    csv: str
    results: list[RowResult] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: RowStatus) -> int:
        return sum(1 for r in self.results if r.status == status)

    def mailed(self, status: str) -> int:
        return sum(1 for r in self.results if r.mail is not None and r.mail.status == status)

    @property
    def exit_code(self) -> int:
        """2 when a row needs fixing, 4 when only sending failed (try again later), else 0."""
        if any(r.status == "failed" for r in self.results):
            return UsageError.exit_code
        unsent = [r.mail for r in self.results if r.mail is not None and not r.mail.ok]
        if unsent:
            return UsageError.exit_code if any(m.fixable for m in unsent) else MailError.exit_code
        return 0


def run_batch(
    project: Project,
    csv_path: Path,
    options: BatchOptions,
    on_start: Callable[[int, list[Problem]], None] | None = None,
    on_row: Callable[[RowResult], None] | None = None,
    csv_label: str | None = None,
) -> BatchReport:
    """Make (and mail) every row's packet; bad rows are reported and skipped, the others made."""
    started = time.perf_counter()
    check_password(options.password)
    label = csv_label or str(csv_path)
    appointments = read_appointments(csv_path, label)
    cat = load_catalogue(project)
    build_out = (project.root / cat.config.out).resolve()
    index = CatalogueIndex.from_catalogue(cat)
    out_dir = options.out_dir
    if out_dir.resolve().is_relative_to(build_out):
        raise UsageError(f"--out: {out_dir} is inside the build folder, whose --prune would delete packets")
    report = BatchReport(label, warnings=list(appointments.warnings))
    report.results = [RowResult(p.line or 0, "failed", message=p.message) for p in appointments.problems]
    sending = options.email or options.eml_dir is not None
    mailer: Mailer | None = None
    if sending:
        check_templates(cat)
        if options.eml_dir is None:
            mailer = Mailer.from_config(cat)
    from handouts.fsutil import atomic_write, locked, remove_partials

    if on_start:
        on_start(len(appointments.rows), report.warnings)
    for result in report.results:
        if on_row:
            on_row(result)
    with ExitStack() as stack:
        stack.enter_context(locked(out_dir))
        remove_partials(out_dir)  # temporary files of a run that was killed
        if mailer is not None:
            stack.enter_context(mailer)
        sent_log = SentLog(out_dir) if mailer is not None else None
        for row in appointments.rows:
            result = _one_row(project, cat, index, row, options, mailer, sent_log)
            report.results.append(result)
            if on_row:
                on_row(result)
        report.results.sort(key=lambda r: r.line)
        rows = [
            (r.line, r.file or "", r.status, r.message or "", str(r.mail) if r.mail else "")
            for r in report.results
        ]
        atomic_write(out_dir / REPORT, report_csv(("row", "file", "status", "message", "mail"), rows))
    report.seconds = time.perf_counter() - started
    return report


def _one_row(
    project: Project,
    cat: Catalogue,
    index: CatalogueIndex,
    row: Row,
    options: BatchOptions,
    mailer: Mailer | None,
    sent_log: SentLog | None,
) -> RowResult:
    from handouts.fsutil import atomic_write

    sending = options.email or options.eml_dir is not None
    try:
        person, request, recipient = _read_row(project, row, options, sending)
        brand, lang, doc_ids = resolve_request(index, request)
        flags = packet_flags(request.fillable, request.large_print, bool(options.password))
        name = Packet(b"", 0, brand, lang, tuple(doc_ids), 0).file_name(person, flags=flags)
        target = options.out_dir / name
        if target.exists():
            result = RowResult(row.line, "skipped", name)
            pdf = target.read_bytes() if sending and recipient else b""
        else:
            packet = make_packet(project, request)
            pdf = protect(packet.pdf, options.password) if options.password else packet.pdf
            atomic_write(target, pdf, 0o600)
            result = RowResult(row.line, "made", name)
        log.info("row %d: %s %s", row.line, result.status, name)
    except HandoutsError as exc:
        log.info("row %d: failed", row.line)
        return RowResult(row.line, "failed", message=_row_message(exc))
    if sending:
        if recipient is None:
            result.mail = Outcome("not sent", "no address in the 'email' column", fixable=True)
        else:
            letter = Letter(name, pdf, brand, lang, tuple(doc_ids), person.date, options.fillable)
            try:
                result.mail = deliver(
                    cat, letter, recipient, mailer=mailer, sent_log=sent_log, eml_dir=options.eml_dir
                )
            except HandoutsError as exc:
                result.mail = Outcome("not sent", _row_message(exc), fixable=True)
        log.info("row %d: mail %s", row.line, result.mail.status)
    return result


def _read_row(
    project: Project, row: Row, options: BatchOptions, sending: bool
) -> tuple[Patient, PacketRequest, str | None]:
    """Check a row's cells; messages name the column, not the value (it is patient data)."""
    dob = _date(row, "dob")
    day = _date(row, "date")
    when = day or options.today or dt.date.today()
    if dob is not None and dob > when:
        raise UsageError("dob is after the appointment date; check both")
    if dob is not None and dob.year < 1900:
        raise UsageError("dob is before 1900; check the year")
    person = make_patient(
        project,
        row.get("patient"),
        dob.isoformat() if dob else None,
        when.isoformat(),
        row.get("therapist"),
        row.get("area"),
    )
    docs_cell = row.get("docs")
    docs = tuple(d for d in DOC_SEPARATORS.split(docs_cell) if d) if docs_cell else PacketRequest.docs
    lang = row.get("lang")
    request = PacketRequest(
        person,
        docs,
        row.get("brand"),
        lang.lower() if lang else None,
        options.fillable,
        options.large_print,
    )
    email = row.get("email") if sending else None
    recipient = check_address(email, "email") if email else None
    return person, request, recipient


def _date(row: Row, column: str) -> dt.date | None:
    value = row.get(column)
    if value is None:
        return None
    try:
        if ISO_DATE.match(value):
            return dt.date.fromisoformat(value)
    except ValueError:
        pass
    raise UsageError(f"{column} is not a real date written YYYY-MM-DD (e.g. 1980-02-03)")


def _row_message(exc: HandoutsError) -> str:
    """The error in the CSV's terms: 'patient is required', not '--patient is required'."""
    return "; ".join(line.removeprefix("--") for line in exc.lines())
