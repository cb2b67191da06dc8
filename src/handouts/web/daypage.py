"""The front desk's day page: upload today's CSV, see every row's status, fix rows, print or email them.

The list and its packets live in memory (web.day, held by web.state). "Print all" and
"Email all" run in one background thread, row by row in appointment order; the page reloads
itself every two seconds while they run (a meta refresh: no script needed), so each row's
status shows as it is made, printed or sent. Each packet made and each message is recorded
in the consent register as the single-patient form records them (web.records), under the
session of the desk that asked.
"""

from __future__ import annotations

import logging
import threading
from contextlib import ExitStack
from typing import TYPE_CHECKING

from flask import Blueprint, Flask, Response, current_app, redirect, render_template, request
from flask.typing import ResponseReturnValue

from handouts.errors import HandoutsError, ProjectError
from handouts.packet.appointments import COLUMNS, MAX_BYTES
from handouts.web import records
from handouts.web.auth import current_user
from handouts.web.day import Day, DayRow, OnMade, day_index, email_row, make_row, print_row
from handouts.web.state import state

if TYPE_CHECKING:
    from collections.abc import Callable

    from handouts.build.index import CatalogueIndex
    from handouts.mail.send import MailStep, Outcome, Sent
    from handouts.packet.make import Packet
    from handouts.packet.request import PacketRequest
    from handouts.printing.step import PrintOutcome, PrintStep

log = logging.getLogger(__name__)
audit = logging.getLogger("handouts.audit")

bp = Blueprint("day", __name__, url_prefix="/day")
ROW_ACTIONS = ("download", "print", "email")
ALL_ACTIONS = ("print", "email")
EDITABLE = COLUMNS
EXPIRED = "Today's list has expired: upload it again."


def _page(errors: list[str] | None = None, status: int = 200) -> ResponseReturnValue:
    web = state()
    day = web.desk.current()
    html = render_template(
        "day.html",
        active="day",
        day=day,
        rows=day.ordered(web.today()) if day else [],
        columns=EDITABLE,
        busy=web.desk.busy,
        printer_configured=_printing_configured(),
        notice=web.desk.notice,
        errors=errors or [],
    )
    return html, status


@bp.get("/")
def page() -> ResponseReturnValue:
    return _page()


@bp.post("/upload")
def upload() -> ResponseReturnValue:
    desk = state().desk
    upload = request.files.get("csv")
    if upload is None or not upload.filename:
        return _page(["Choose today's appointments file (CSV) to upload."], 422)
    if desk.busy:
        return _page(["Wait until the current run has finished."], 409)
    name = (upload.filename.replace("\\", "/").rsplit("/", 1)[-1] or "upload.csv")[:100]
    try:
        desk.load(upload.stream.read(MAX_BYTES + 1), name)  # one byte over: parse says too large
    except HandoutsError as exc:
        return _page(exc.lines(), 422)
    return redirect("/day/")


@bp.post("/row/<int:row_id>")
def fix(row_id: int) -> ResponseReturnValue:
    web = state()
    day = web.desk.current()
    if day is None:
        return _page([EXPIRED], 404)
    try:
        row = day.fix(row_id, {c: request.form.get(c, "") for c in EDITABLE})
        with web.lock, day.changing():
            make_row(web.project, day_index(web.project), row, web.today(), _recorders()[0])
    except HandoutsError as exc:
        return _page(exc.lines(), 422)
    return redirect(f"/day/#row-{row_id}")


@bp.post("/row/<int:row_id>/<action>")
def row_action(row_id: int, action: str) -> ResponseReturnValue:
    web = state()
    day = web.desk.current()
    if day is None or action not in ROW_ACTIONS:
        return _page([EXPIRED], 404)
    try:
        row = day.row(row_id)
        with web.lock, day.changing():
            make_row(web.project, day_index(web.project), row, web.today(), _recorders()[0])
        if row.status != "made" or row.pdf is None:
            return _page([f"Row {row.line}: {row.message}"], 422)
        step = _print_step() if action == "print" else None
        if action == "download" or (action == "print" and step is None):
            disposition = "attachment" if action == "download" else "inline"
            response = Response(row.pdf, mimetype="application/pdf")
            response.headers["Content-Disposition"] = f'{disposition}; filename="{row.file_name}"'
            return response
        outcome: PrintOutcome | Outcome
        if step is not None:
            with day.changing():
                outcome = print_row(step, row)
        else:
            with _mail_step(_recorders()[1]) as mail, day.changing():
                outcome = email_row(mail, row)
        if not outcome.ok:
            return _page([f"Row {row.line}: {outcome}"], 502)
    except HandoutsError as exc:
        return _page(exc.lines(), 422)
    return redirect(f"/day/#row-{row_id}")


@bp.post("/all/<action>")
def all_rows(action: str) -> ResponseReturnValue:
    web = state()
    day = web.desk.current()
    if day is None or action not in ALL_ACTIONS:
        return _page([EXPIRED], 404)
    if web.desk.busy:
        return redirect("/day/")
    try:
        # Check the printer or the mail settings now, so a problem shows at once, in one line.
        on_made, on_sent = _recorders()
        step = _print_step_or_fail() if action == "print" else None
        mail = _mail_step(on_sent) if action == "email" else None
        index = day_index(web.project)
    except HandoutsError as exc:
        return _page(exc.lines(), 422)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    rows = day.ordered(web.today())
    web.desk.notice = None
    web.desk.worker = threading.Thread(
        target=_run_all,
        args=(app, day, rows, index, on_made, step, mail, current_user() or "(no login)"),
        name="handouts-day",
        daemon=True,
    )
    web.desk.worker.start()
    return redirect("/day/")


def _run_all(
    app: Flask,
    day: Day,
    rows: list[DayRow],
    index: CatalogueIndex,
    on_made: OnMade | None,
    step: PrintStep | None,
    mail: MailStep | None,
    user: str,
) -> None:
    """Make each row, then print it (step) or send it (mail), in appointment order; then a summary."""
    with app.app_context(), ExitStack() as stack:
        if mail is not None:
            stack.enter_context(mail)  # one connection for the run, closed at its end
        web = state()
        done = failed = 0
        for row in rows:
            with web.lock, day.changing():
                make_row(web.project, index, row, web.today(), on_made)
            if row.status != "made":
                failed += 1
                continue
            outcome: PrintOutcome | Outcome
            with day.changing():
                if step is not None:
                    outcome = print_row(step, row)
                else:
                    assert mail is not None
                    outcome = email_row(mail, row)
            done, failed = done + outcome.ok, failed + (not outcome.ok)
            audit.info("%s: %s %s -> %s", user, "print" if step else "email", row.file_name, outcome.status)
        verb = "printed" if step is not None else "sent"
        web.desk.notice = f"{done} {verb}, {failed} not {verb}" + (": see the rows marked" if failed else ".")


def _printing_configured() -> bool:
    from handouts.content.catalogue import load_config

    try:
        return load_config(state().project).printing is not None
    except HandoutsError:
        return False


def _print_step() -> PrintStep | None:
    """The clinic printer when `printing:` is set, else None (the browser prints)."""
    from handouts.content.catalogue import load_config

    settings = load_config(state().project).printing
    if settings is None:
        return None
    from handouts.printing.step import PrintStep

    return PrintStep(settings)


def _print_step_or_fail() -> PrintStep:
    step = _print_step()
    if step is None:
        raise ProjectError("Printing is not set up: add 'printing:' to handouts.yaml (see README)")
    return step


def _mail_step(on_sent: Callable[[Sent], None] | None) -> MailStep:
    from handouts.content.catalogue import load_catalogue
    from handouts.mail.send import MailStep

    return MailStep(load_catalogue(state().project), on_sent=on_sent)


def _recorders() -> tuple[OnMade | None, Callable[[Sent], None] | None]:
    """The register's hooks for packets made and messages sent, for this desk's session.

    The session is read now, in the request: the background run of "Print all" has none.
    """
    from handouts.register.hooks import mail_recorder, record_packet

    register, actor = records.register(), records.actor()
    if register is None:
        return None, None

    def made(packet: Packet, request_: PacketRequest) -> None:
        record_packet(register, packet, request_, "web", actor)

    return made, mail_recorder(register, "web", lambda: actor)
