"""Make a day's packets from an appointments CSV, and optionally email or print each one.

Every row goes through the same checks and code as `handouts packet`. A row's file name
depends only on its inputs, so a re-run skips rows whose packet is already there, and the
sent log and the print log keep a re-run from mailing or printing anything twice. Rows are
made in the day's order: the CSV's, or by date and `time` when the CSV has times (so the
printer gets them in appointment order). Messages about a row name its line in the CSV,
never the patient. The consent register comes in through BatchOptions' hooks (the CLI sets
them), so this stage imports no database code.
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
from typing import TYPE_CHECKING, Literal

from handouts.atomic import atomic_write, locked, remove_partials
from handouts.build.index import CatalogueIndex
from handouts.confine import read_file
from handouts.content.catalogue import Catalogue, load_catalogue
from handouts.dates import parse_date, parse_time
from handouts.errors import Exit, HandoutsError, InputErrors, Problem, UsageError
from handouts.mail.compose import Letter, check_address
from handouts.mail.send import MailStep, Outcome, Sent
from handouts.mail.sentlog import SentLog
from handouts.packet.appointments import Row, day_order, read_appointments, report_csv
from handouts.packet.make import Packet, make_packet, resolve_request
from handouts.packet.naming import packet_flags, patient_id
from handouts.packet.protect import check_password, protect
from handouts.packet.request import DEFAULT_DOCS, PacketRequest, Patient, check_patient_ref, make_patient
from handouts.project import Project

if TYPE_CHECKING:
    # Imported when a run prints: a run without --print loads no printing code.
    from handouts.printing.printlog import PrintLog
    from handouts.printing.step import PrintOutcome, PrintStep

log = logging.getLogger(__name__)

REPORT = "report.csv"
MAX_PACKET_BYTES = 100_000_000  # a packet already made, read again to send or print it
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
    print: bool = False  # queue each packet on the printer, in the day's order
    printer: str | None = None  # default: printing.printer, else the system's default
    copies: int | None = None
    reprint: bool = False  # print again what the print log says was printed
    # The consent register's hooks: a packet is about to be written (raise to fail the row);
    # a message went out, was written or was not sent; which patient references must consent
    # again (current consent versions, the CSV's references -> a warning per reference).
    on_made: Callable[[Packet, PacketRequest], None] | None = None
    on_mailed: Callable[[Sent], None] | None = None
    consent_check: Callable[[dict[str, str], list[str]], dict[str, str]] | None = None


@dataclass
class RowResult:
    line: int
    status: RowStatus
    file: str | None = None
    message: str | None = None  # why the row failed: names columns, never the patient
    mail: Outcome | None = None
    warning: str | None = None  # e.g. the patient must sign the consent form again
    printed: PrintOutcome | None = None


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

    def printed(self, status: str) -> int:
        return sum(1 for r in self.results if r.printed is not None and r.printed.status == status)

    @property
    def exit_code(self) -> Exit:
        """Bad input when a row needs fixing, not sent / not printed when only that failed (try again)."""
        if any(r.status == "failed" for r in self.results):
            return Exit.BAD_INPUT
        unsent = [r.mail for r in self.results if r.mail is not None and not r.mail.ok]
        if unsent:
            return Exit.BAD_INPUT if any(m.fixable for m in unsent) else Exit.NOT_SENT
        if any(r.printed is not None and not r.printed.ok for r in self.results):
            return Exit.NOT_PRINTED
        return Exit.OK


def run_batch(
    project: Project,
    csv_path: Path,
    options: BatchOptions,
    on_start: Callable[[int, list[Problem]], None] | None = None,
    on_row: Callable[[RowResult], None] | None = None,
    csv_label: str | None = None,
) -> BatchReport:
    """Make (and mail, and print) every row's packet; bad rows are reported and skipped, the others made."""
    started = time.perf_counter()
    check_password(options.password)
    label = csv_label or str(csv_path)
    appointments = read_appointments(csv_path, label)
    cat = load_catalogue(project)
    build_out = (project.root / cat.config.out).resolve()
    index = CatalogueIndex.from_catalogue(cat)
    out_dir = options.out_dir
    if out_dir.resolve().is_relative_to(build_out):
        raise UsageError(
            "{field}: {folder} is inside the build folder, whose {prune} would delete packets",
            field="out",
            folder=out_dir,
        )
    report = BatchReport(label, warnings=list(appointments.warnings))
    report.results = [RowResult(p.line or 0, "failed", message=p.message) for p in appointments.problems]
    sending = options.email or options.eml_dir is not None
    recorder = _Recorder(options.on_mailed) if options.on_mailed is not None else None
    mail = MailStep(cat, options.eml_dir, recorder) if sending else None
    warnings = _consent_warnings(cat, appointments.rows, options)
    printer: PrintStep | None = None
    if options.print:  # the printer is resolved before anything is made
        from handouts.printing.step import PrintStep

        printer = PrintStep(cat.config.printing, options.printer, options.copies, options.reprint)
    if on_start:
        on_start(len(appointments.rows), report.warnings)
    for result in report.results:
        if on_row:
            on_row(result)
    with ExitStack() as stack:
        stack.enter_context(locked(out_dir))
        remove_partials(out_dir)  # temporary files of a run that was killed
        if mail is not None:
            stack.enter_context(mail)
        sent_log = SentLog(out_dir) if mail is not None and mail.mailer is not None else None
        print_log: PrintLog | None = None
        if printer is not None:
            from handouts.printing.printlog import PrintLog

            print_log = PrintLog(out_dir)
        for row in _in_day_order(appointments.rows, options.today):
            result, pdf = _one_row(project, index, row, options, mail, sent_log, recorder)
            if result.status != "failed":
                result.warning = warnings.get(_chart_number(row) or "")
            if printer is not None and result.file is not None:
                # The title is the file name, never the patient's; the packet stays in --out either way.
                result.printed = printer.print_packet(result.file, pdf, options.large_print, print_log)
                log.info("row %d: print %s", row.line, result.printed.status)
            report.results.append(result)
            if on_row:
                on_row(result)
        report.results.sort(key=lambda r: r.line)
        rows = [
            (
                r.line,
                r.file or "",
                r.status,
                r.message or "",
                str(r.mail) if r.mail else "",
                r.warning or "",
                str(r.printed) if r.printed else "",
            )
            for r in report.results
        ]
        header = ("row", "file", "status", "message", "mail", "warning", "print")
        atomic_write(out_dir / REPORT, report_csv(header, rows))
    report.seconds = time.perf_counter() - started
    return report


def _one_row(
    project: Project,
    index: CatalogueIndex,
    row: Row,
    options: BatchOptions,
    mail: MailStep | None,
    sent_log: SentLog | None,
    recorder: _Recorder | None = None,
) -> tuple[RowResult, bytes]:
    """The row's result, and its packet's bytes when mailing or printing needs them."""
    try:
        person, request, recipient = read_row(project, index, row, options, mail is not None)
        plan = resolve_request(index, request)
        flags = packet_flags(request.fillable, request.large_print, bool(options.password))
        name = plan.file_name(person, flags=flags)
        target = options.out_dir / name
        if target.exists():
            result = RowResult(row.line, "skipped", name)
            needed = (mail is not None and recipient) or options.print
            pdf = read_file(target, None, str(target), MAX_PACKET_BYTES) if needed else b""
        else:
            packet = make_packet(project, request)
            pdf = protect(packet.pdf, options.password) if options.password else packet.pdf
            if packet.signing and request.fillable:  # certified last: nothing rewrites it afterwards
                from handouts.sign.packets import finish

                pdf = finish(project.root, packet, pdf, request.fillable, options.password)
            if options.on_made is not None:
                # Recorded before the file is written: a packet on disk is always in the register.
                options.on_made(packet, request)
            atomic_write(target, pdf, 0o600)
            result = RowResult(row.line, "made", name)
        log.info("row %d: %s %s", row.line, result.status, name)
    except HandoutsError as exc:
        log.info("row %d: failed", row.line)
        return RowResult(row.line, "failed", message=row_message(exc)), b""
    if mail is not None:
        letter = Letter(name, pdf, plan.brand, plan.lang, plan.documents, person.date, options.fillable,
                        patient_id(person, plan.documents, flags), person.ref)  # fmt: skip
        result.mail = _mail_row(mail, sent_log, letter, recipient)
        if recorder is not None and recorder.failed is not None:
            result.message = f"not recorded in the register: {row_message(recorder.failed)}"
            recorder.failed = None
        log.info("row %d: mail %s", row.line, result.mail.status)
    return result, pdf


class _Recorder:
    """The on_mailed hook as the mail step's on_sent: its error is the row's message, not a mail failure."""

    def __init__(self, hook: Callable[[Sent], None]) -> None:
        self.hook = hook
        self.failed: HandoutsError | None = None

    def __call__(self, sent: Sent) -> None:
        try:
            self.hook(sent)
        except HandoutsError as exc:
            self.failed = exc


def _consent_warnings(cat: Catalogue, rows: list[Row], options: BatchOptions) -> dict[str, str]:
    """Per patient reference in the CSV, why that patient must sign the consent form again."""
    if options.consent_check is None:
        return {}
    lang = cat.config.default_language
    current = {
        doc_id: cat.document(doc_id, lang).model.version
        for doc_id in cat.document_ids
        if cat.document(doc_id, lang).model.kind == "consent"
    }
    refs = sorted({ref for row in rows if (ref := _chart_number(row))})
    return options.consent_check(current, refs) if current and refs else {}


def _chart_number(row: Row) -> str | None:
    """The row's chart number, when it is one (a bad one fails its row, in read_row)."""
    try:
        return check_patient_ref(row.get("patient_ref"))
    except UsageError:
        return None


def _mail_row(mail: MailStep, sent_log: SentLog | None, letter: Letter, recipient: str | None) -> Outcome:
    if recipient is None:
        return Outcome("no email")  # a paper-only patient: reported, not an error
    try:
        return mail.send(letter, recipient, sent_log)
    except HandoutsError as exc:
        return Outcome("not sent", row_message(exc), fixable=True)


def _in_day_order(rows: list[Row], today: dt.date | None) -> list[Row]:
    """The CSV's order, or appointment order when the CSV has times (bad cells fail later)."""
    if not any(row.get("time") for row in rows):
        return rows

    def when(row: Row) -> tuple[dt.date | None, dt.time | None]:
        try:
            return parse_date("date", row.get("date")) or today or dt.date.today(), parse_time(
                "time", row.get("time")
            )
        except UsageError:
            return None, None

    return day_order(rows, when)


def read_row(
    project: Project, index: CatalogueIndex, row: Row, options: BatchOptions, sending: bool
) -> tuple[Patient, PacketRequest, str | None]:
    """Check a row's cells as `handouts packet` checks its options; problems name the column."""
    problems: list[HandoutsError] = []
    try:
        person = make_patient(
            project,
            row.get("patient"),
            row.get("dob"),
            row.get("date"),
            row.get("therapist"),
            row.get("area"),
            today=options.today,
            index=index,
            patient_ref=row.get("patient_ref"),
        )
    except InputErrors as exc:
        problems += exc.errors
    try:
        parse_time("time", row.get("time"))
    except UsageError as exc:
        problems.append(exc)
    if problems:
        raise InputErrors(problems)
    docs_cell = row.get("docs")
    docs = tuple(d for d in DOC_SEPARATORS.split(docs_cell) if d) if docs_cell else DEFAULT_DOCS
    lang = row.get("lang")  # spreadsheets capitalise: "EN" is en
    request = PacketRequest(
        person,
        docs,
        row.get("brand"),
        lang.lower() if lang else None,
        options.fillable,
        options.large_print,
        bool(options.password),
    )
    email = row.get("email") if sending else None
    recipient = check_address(email) if email else None
    return person, request, recipient


def row_message(exc: HandoutsError) -> str:
    """The error as the CSV report words it: the columns by their names ('dob is ...')."""
    return "; ".join(exc.lines())
