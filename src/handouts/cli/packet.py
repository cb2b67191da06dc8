"""`handouts packet` (one patient) and `handouts packets` (a day's appointments from CSV)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from handouts.cli.common import output_option, project_of, quiet, say, split_list
from handouts.cli.progress import TerminalBar
from handouts.errors import MailError, PrintError, Problem, UsageError

if TYPE_CHECKING:
    from handouts.packet.batch import RowResult
    from handouts.printing.step import PrintStep

PACKETS_HELP = """\b
CSV columns (a header row is required; only 'patient' must be there):
  patient, patient_ref, dob, date, time, therapist, area, docs, lang, brand, email
Exit codes:
  0  every row made (and sent, with --email; printed, with --print)
  2  a row or a setting needs fixing (see the messages), the other rows were made
  4  some messages were not sent (server, login or recipient); run again to send just those
  7  some packets were not printed (printer stopped, job refused), or CUPS is not running;
     run again to print just those
"""


@click.command()
@click.option("--patient", required=True, help="Patient's full name.")
@click.option("--patient-ref", help="The clinic's chart number, for the consent register.")
@click.option("--dob", help="Date of birth, YYYY-MM-DD (pre-filled on the consent form).")
@click.option("--date", "date_", help="Appointment date, YYYY-MM-DD (default: today).")
@click.option("--therapist", help="Therapist's name.")
@click.option("--area", help="Treatment area, e.g. 'left upper trapezius'.")
@click.option(
    "--docs",
    default="info,consent,aftercare",
    show_default=True,
    help="Documents in order: kinds (info, consent, aftercare) or document ids.",
)
@click.option("--brand", help="Brand id (default: default_brand in handouts.yaml, or the only brand).")
@click.option("--lang", help="Language code (default: the project's default language).")
@click.option("--fillable", is_flag=True, help="Keep the consent form fillable for the patient.")
@click.option("--large-print", is_flag=True, help="Use the large-print documents.")
@click.option("--password", help="Encrypt the packet (AES-256) with this password.")
@output_option("Output file (default: a name without the patient's name, in the current folder).")
@click.option(
    "--name-pattern",
    default=None,
    help="File name pattern, e.g. '{patient}-{date}.pdf' (fields: patient, date, brand, lang, id).",
)
@click.option("--email", metavar="ADDRESS", help="Email the packet to this address (smtp: in handouts.yaml).")
@click.option(
    "--eml",
    "eml_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="With --email: write the message as an .eml file into this folder instead of sending it.",
)
@click.option("--print", "print_", is_flag=True, help="Print the packet (see printing: in handouts.yaml).")
@click.option("--printer", metavar="NAME", help="With --print: this printer (see 'handouts printers').")
@click.option("--copies", type=int, help="With --print: this many copies.")
@click.pass_context
def packet(
    ctx: click.Context,
    patient: str,
    patient_ref: str | None,
    dob: str | None,
    date_: str | None,
    therapist: str | None,
    area: str | None,
    docs: str,
    brand: str | None,
    lang: str | None,
    fillable: bool,
    large_print: bool,
    password: str | None,
    output: Path | None,
    name_pattern: str | None,
    email: str | None,
    eml_dir: Path | None,
    print_: bool,
    printer: str | None,
    copies: int | None,
) -> None:
    """Make one patient's packet: chosen documents, details printed, consent pre-filled."""
    from handouts.atomic import atomic_write
    from handouts.build.snapshot import current
    from handouts.packet.make import make_packet
    from handouts.packet.naming import DEFAULT_PATTERN, check_pattern, packet_flags
    from handouts.packet.protect import check_password, protect
    from handouts.packet.request import PacketRequest, make_patient
    from handouts.register.hooks import mail_recorder, record_packet
    from handouts.register.record import open_register

    project = project_of(ctx)
    check_password(password)
    state = current(project)  # the last clean build's index, if nothing changed since
    index = state.index if state else None
    person = make_patient(project, patient, dob, date_, therapist, area, index=index, patient_ref=patient_ref)
    if name_pattern and not output:  # a bad pattern is refused before anything is made
        check_pattern(name_pattern)
    if email or eml_dir:
        from handouts.content.catalogue import load_catalogue
        from handouts.mail.compose import check_address
        from handouts.mail.send import MailStep

        if email is None:
            raise UsageError("{field} needs {email} ADDRESS: who the message is for", field="eml")
        recipient = check_address(email)
        mail = MailStep(load_catalogue(project), eml_dir)
    check_print_options(
        print_, {"printer": bool(printer), "copies": copies is not None}, password, "password"
    )
    step: PrintStep | None = None
    if print_:  # the printer is resolved before anything is made
        from handouts.content.catalogue import load_config
        from handouts.printing.step import PrintStep

        step = PrintStep(load_config(project).printing, printer, copies)
    request = PacketRequest(person, split_list(docs), brand, lang, fillable, large_print, bool(password))
    made = make_packet(project, request, state=state)
    data = protect(made.pdf, password) if password else made.pdf
    if made.signing and fillable:  # certified last: nothing may rewrite it afterwards
        from handouts.sign.packets import finish

        data = finish(project.root, made, data, fillable, password)
    flags = packet_flags(fillable, large_print, bool(password))
    target = output or Path(made.file_name(person, name_pattern or DEFAULT_PATTERN, flags))
    register = open_register(project.root)
    # Recorded before the file is written: a packet on disk is always in the register.
    record_packet(register, made, request, "cli")
    atomic_write(target, data, 0o600)
    if not quiet(ctx):
        say(f"wrote {target} ({made.pages} pages)", err=True)
    if email or eml_dir:
        from handouts.mail.compose import Letter
        from handouts.mail.sentlog import SentLog

        letter = Letter(target.name, data, made.brand, made.lang, made.documents, person.date, fillable,
                        made.packet_id, person.ref)  # fmt: skip
        mail.on_sent = mail_recorder(register, "cli")
        with mail:
            log = SentLog(target.parent.resolve()) if mail.mailer is not None else None
            outcome = mail.send(letter, recipient, log)
        if not outcome.ok:
            raise MailError("{path}: {outcome}", path=target, outcome=outcome)
        say(f"{outcome.status} {outcome.detail or target}", err=True)
    if step is not None:
        printed = step.print_packet(target.name, data, large_print)
        if not printed.ok:
            raise PrintError("{path}: {outcome}", path=target, outcome=printed)
        say(f"printed {target} on {step.printer}: job {printed.detail}", err=True)


def check_print_options(print_: bool, given: dict[str, bool], password: str | None, secret: str) -> None:
    """Refuse a print option without --print, and printing an encrypted packet (secret: its field)."""
    extra = [name for name, on in given.items() if on]
    if extra and not print_:
        raise UsageError("{field} goes with {print}", field=extra[0], code="needs-print")
    if print_ and password is not None:
        raise UsageError(
            "{print}: a printer cannot open a password-protected packet; leave out {field} or {print}",
            field=secret,
            code="encrypted",
        )


@click.command("packets", epilog=PACKETS_HELP)
@click.option(
    "--csv",
    "csv_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Appointments, one row per patient (UTF-8 CSV).",
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the packets, report.csv, sent-log.json and print-log.json.",
)
@click.option("--fillable", is_flag=True, help="Keep the consent forms fillable for the patients.")
@click.option("--large-print", is_flag=True, help="Use the large-print documents.")
@click.option("--password-env", metavar="VAR", help="Encrypt the packets with the password in $VAR.")
@click.option("--email", is_flag=True, help="Email each packet to its row's address (see smtp: settings).")
@click.option(
    "--eml",
    "eml_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the emails as .eml files into this folder instead of sending them.",
)
@click.option(
    "--print",
    "print_",
    is_flag=True,
    help="Print each packet, in the CSV's order (by its 'time' column when there is one).",
)
@click.option("--printer", metavar="NAME", help="With --print: this printer (see 'handouts printers').")
@click.option("--copies", type=int, help="With --print: this many copies of each packet.")
@click.option("--reprint", is_flag=True, help="With --print: print again what print-log.json lists.")
@click.pass_context
def packets(
    ctx: click.Context,
    csv_path: Path,
    out_dir: Path,
    fillable: bool,
    large_print: bool,
    password_env: str | None,
    email: bool,
    eml_dir: Path | None,
    print_: bool,
    printer: str | None,
    copies: int | None,
    reprint: bool,
) -> None:
    """Make a packet for every appointment in a CSV file; optionally email or print each one."""
    from handouts.packet.batch import BatchOptions, run_batch
    from handouts.register.hooks import batch_hooks
    from handouts.register.record import open_register

    project = project_of(ctx)
    password = _password(password_env) if password_env else None
    given = {"printer": bool(printer), "copies": copies is not None, "reprint": reprint}
    check_print_options(print_, given, password, "password_env")
    options = BatchOptions(
        out_dir,
        fillable,
        large_print,
        password,
        email,
        eml_dir,
        print=print_,
        printer=printer,
        copies=copies,
        reprint=reprint,
    )
    options = batch_hooks(open_register(project.root), options)
    label = str(csv_path)
    with RowProgress(label, quiet(ctx)) as progress:
        report = run_batch(project, csv_path, options, progress.start, progress.row, label)
    if not quiet(ctx):
        made = report.count("made")
        rate = f" ({made / report.seconds:.1f} packets/s)" if made and report.seconds else ""
        click.echo(
            f"made {made}, skipped {report.count('skipped')} (already there), "
            f"failed {report.count('failed')} in {report.seconds:.2f} s{rate}"
        )
        paper = report.mailed("no email")
        paper_only = f", {paper} without an email address (paper only)" if paper else ""
        if eml_dir is not None:
            click.echo(f"wrote {report.mailed('written')} .eml file(s) to {eml_dir}{paper_only}")
        elif email:
            click.echo(
                f"sent {report.mailed('sent')}, already sent {report.mailed('already sent')}, "
                f"not sent {report.mailed('not sent')}{paper_only}"
            )
        if print_:
            click.echo(
                f"printed {report.printed('printed')}, already printed {report.printed('already printed')}, "
                f"not printed {report.printed('not printed')}"
            )
        click.echo(f"report: {out_dir / 'report.csv'}")
    ctx.exit(report.exit_code)


def _password(variable: str) -> str:
    value = os.environ.get(variable)
    if not value:
        raise UsageError(
            "{field}: the environment variable {variable} is not set or empty",
            field="password_env",
            variable=variable,
        )
    return value


class RowProgress(TerminalBar):
    """A bar on a terminal; otherwise one line per packet. Problems always go to stderr."""

    def __init__(self, csv_label: str, quiet: bool) -> None:
        super().__init__()
        self.label = csv_label
        self.quiet = quiet
        self.tty = self.tty and not quiet

    def start(self, total: int, warnings: list[Problem]) -> None:
        for warning in warnings:
            say(str(warning), err=True)
        if self.tty:
            self.start_bar("packets", total)

    def row(self, result: RowResult) -> None:
        if result.status == "failed":
            self.problem(f"{self.label}:{result.line}: {result.message}")
        else:
            self._done(f"{result.status} {result.file} (row {result.line})")
            if result.warning:
                self.problem(f"{self.label}:{result.line}: warning: {result.warning}")
        if result.mail is not None:
            if result.mail.status == "written":
                self._done(f"wrote {result.mail.detail} (row {result.line})")
            elif result.mail.status == "no email":
                self._done(f"row {result.line}: {result.mail}")
            elif result.mail.ok:
                self._done(f"{result.mail.status} {result.file} (row {result.line})")
            else:
                self.problem(f"row {result.line}: {result.mail}")
        if result.printed is not None:
            if result.printed.ok:
                job = f", job {result.printed.detail}" if result.printed.detail else ""
                self._done(f"{result.printed.status} {result.file} (row {result.line}{job})")
            else:
                self.problem(f"row {result.line}: {result.printed}")
        self.advance(f"row {result.line}")

    def _done(self, line: str) -> None:
        if not (self.quiet or self.tty):
            say(line)
