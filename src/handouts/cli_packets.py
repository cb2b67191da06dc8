"""`handouts packets` (a day's appointments from CSV) and the email step of `handouts packet`."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from handouts.cli import _fail, _project, _run
from handouts.errors import MailError, Problem, UsageError
from handouts.progress import TerminalBar

if TYPE_CHECKING:
    from handouts.batch import RowResult
    from handouts.content import Project

PACKETS_HELP = """\b
CSV columns (a header row is required; only 'patient' must be there):
  patient, dob, date, therapist, area, docs, lang, brand, email
Exit codes:
  0  every row made (and sent, with --email)
  2  a row or a setting needs fixing (see the messages), the other rows were made
  4  some messages were not sent (server, login or recipient); run again to send just those
"""


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
    help="Folder for the packets, report.csv and sent-log.json.",
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
) -> None:
    """Make a packet for every appointment in a CSV file; optionally email each one."""
    from handouts.batch import BatchOptions, run_batch

    project = _project(ctx)
    password = _run(_password, password_env) if password_env else None
    options = BatchOptions(out_dir, fillable, large_print, password, email, eml_dir)
    quiet = ctx.obj["quiet"]
    label = str(csv_path)
    with RowProgress(label, quiet) as progress:
        report = _run(run_batch, project, csv_path, options, progress.start, progress.row, label)
    if not quiet:
        made = report.count("made")
        rate = f" ({made / report.seconds:.1f} packets/s)" if made and report.seconds else ""
        click.echo(
            f"made {made}, skipped {report.count('skipped')} (already there), "
            f"failed {report.count('failed')} in {report.seconds:.2f} s{rate}"
        )
        if eml_dir is not None:
            click.echo(f"wrote {report.mailed('written')} .eml file(s) to {eml_dir}")
        elif email:
            click.echo(
                f"sent {report.mailed('sent')}, already sent {report.mailed('already sent')}, "
                f"not sent {report.mailed('not sent')}"
            )
        click.echo(f"report: {out_dir / 'report.csv'}")
    sys.exit(report.exit_code)


def _password(variable: str) -> str:
    value = os.environ.get(variable)
    if not value:
        raise UsageError(f"--password-env: the environment variable {variable} is not set or empty")
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
            click.echo(str(warning), err=True)
        if self.tty:
            self.start_bar("packets", total)

    def row(self, result: RowResult) -> None:
        if result.status == "failed":
            self.problem(f"{self.label}:{result.line}: {result.message}")
        else:
            self._done(f"{result.status} {result.file} (row {result.line})")
        if result.mail is not None:
            if result.mail.status == "written":
                self._done(f"wrote {result.mail.detail} (row {result.line})")
            elif result.mail.ok:
                self._done(f"{result.mail.status} {result.file} (row {result.line})")
            else:
                self.problem(f"row {result.line}: {result.mail}")
        self.advance(f"row {result.line}")

    def _done(self, line: str) -> None:
        if not (self.quiet or self.tty):
            click.echo(line)


def packet_mail_step(
    project: Project, email: str | None, eml_dir: Path | None
) -> Callable[[Any, Any, bytes, Path, bool], None]:
    """Check the email settings before `handouts packet` makes anything; return the step to run after."""
    from handouts.content import load_catalogue
    from handouts.mail import check_address, check_templates
    from handouts.mailer import Mailer

    if email is None:
        raise UsageError("--eml needs --email ADDRESS: who the message is for")
    recipient = check_address(email)
    cat = load_catalogue(project)
    check_templates(cat)
    mailer = None if eml_dir is not None else Mailer.from_config(cat)

    def step(packet: Any, patient: Any, data: bytes, target: Path, fillable: bool) -> None:
        from handouts.mail import Letter
        from handouts.mailer import SentLog, deliver

        letter = Letter(
            target.name, data, packet.brand, packet.lang, packet.documents, patient.date, fillable
        )
        if mailer is None:
            outcome = _run(deliver, cat, letter, recipient, eml_dir=eml_dir)
        else:
            with mailer:
                log = _run(SentLog, target.parent.resolve())
                outcome = _run(deliver, cat, letter, recipient, mailer=mailer, sent_log=log)
        if not outcome.ok:
            _fail(MailError(f"{target}: {outcome}"))
        click.echo(f"{outcome.status} {outcome.detail or target}", err=True)

    return step
