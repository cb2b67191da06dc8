"""The front desk's day list (web/day.py): in memory, in appointment order, fixable, printed and mailed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from handouts.content.catalogue import load_catalogue
from handouts.content.models import PrintSettings
from handouts.errors import UsageError
from handouts.mail.send import MailStep
from handouts.printing.step import PrintStep
from handouts.project import Project
from handouts.web.day import DayDesk, day_index, email_row, make_row, print_row

from cups_server import CupsServer
from helpers import tiny_settings
from test_mail import Inbox, smtp_settings, start_server

TODAY = dt.date(2026, 12, 1)
CSV = (
    b"patient,date,time,docs,email\n"
    b"Ada Goodrow,2026-12-01,11:30,info,ada@example.org\n"
    b"Bea Badday,2026-12-31,09:00,xray,\n"
    b"Jo Fine,2026-12-01,08:15,info,\n"
    b"Walk In,2026-12-01,,info,walk@example.org\n"
)


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def project(module_built: Path) -> Path:
    return module_built


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


def test_the_day_is_in_memory_in_order_and_fixable(project: Path, tmp_path: Path) -> None:
    clock = Clock()
    desk = DayDesk(clock=clock)
    day = desk.load(CSV, "today.csv")
    index = day_index(Project(project))
    assert [r.get("patient") for r in day.ordered(TODAY)] == [
        "Jo Fine",
        "Ada Goodrow",
        "Walk In",
        "Bea Badday",
    ]
    before = files_under(project)
    for row in day.ordered(TODAY):
        make_row(Project(project), index, row, TODAY)
    assert files_under(project) == before  # packets stay in memory
    bad = next(r for r in day.rows if r.get("patient") == "Bea Badday")
    assert bad.status == "failed" and bad.message is not None
    assert bad.message.startswith("docs: unknown document 'xray'")
    assert "Bea" not in bad.message
    made = [r for r in day.rows if r.status == "made"]
    assert len(made) == 3 and all(r.pdf and r.pdf.startswith(b"%PDF-") for r in made)
    assert all(r.file_name and r.file_name.startswith("packet-tiny-en-2026-12-01-") for r in made)
    # Fix the row in place: it is made on its next action.
    cells = dict(bad.cells, docs="info", date="2026-12-01")
    fixed = day.fix(bad.id, cells)
    assert fixed.status == "to make" and fixed.message is None
    make_row(Project(project), index, fixed, TODAY)
    assert fixed.status == "made"
    with pytest.raises(UsageError, match="^row: no row 999"):
        day.row(999)
    # The list goes after 12 hours, and with another upload.
    clock.now += 12 * 3600 - 1
    assert desk.current() is day
    clock.now += 2
    assert desk.current() is None
    assert desk.load(CSV, "again.csv") is not day


def test_a_broken_upload_is_one_line(project: Path) -> None:
    desk = DayDesk()
    with pytest.raises(UsageError, match="^today.csv:1: no 'patient' column"):
        desk.load(b"name,date\nAda,2026-12-01\n", "today.csv")
    with pytest.raises(UsageError, match="^today.csv:2: not UTF-8 text"):
        desk.load("patient\nZoë\n".encode("cp1252"), "today.csv")
    assert desk.current() is None


def test_print_all_and_email_all(cups: CupsServer, project: Path, tmp_path: Path) -> None:
    desk = DayDesk()
    day = desk.load(CSV, "today.csv")
    index = day_index(Project(project))
    for row in day.ordered(TODAY):
        make_row(Project(project), index, row, TODAY)
    step = PrintStep(PrintSettings(media="Letter"))
    outcomes = {row.get("patient"): print_row(step, row).status for row in day.ordered(TODAY)}
    assert outcomes == {
        "Jo Fine": "printed", "Ada Goodrow": "printed", "Walk In": "printed", "Bea Badday": "not printed",
    }  # fmt: skip
    jobs = [
        row.printed.detail for row in day.ordered(TODAY) if row.printed and row.printed.status == "printed"
    ]
    assert jobs == sorted(jobs, key=lambda j: int(j.split("-")[1]))  # queued in appointment order
    for job in jobs:
        cups.arrived(job)
        assert cups.page_log()[job]["title"].startswith("packet-tiny-en-2026-12-01-")
    again = [print_row(step, row).status for row in day.ordered(TODAY) if row.status == "made"]
    assert again == ["already printed"] * 3

    inbox = Inbox()
    controller, port = start_server(inbox)
    try:
        smtp_settings(project, port)
        with MailStep(load_catalogue(Project(project))) as mail:
            sent = {row.get("patient"): str(email_row(mail, row)) for row in day.ordered(TODAY)}
    finally:
        controller.stop()
        (project / "handouts.yaml").write_text(tiny_settings(), "utf-8")  # no smtp: as it was
    assert sent["Ada Goodrow"] == "sent" and sent["Walk In"] == "sent"
    assert sent["Jo Fine"] == "not sent: no address in the 'email' column"
    assert sent["Bea Badday"].startswith("not sent: the packet is not made")
    assert sorted(r[1][0] for r in inbox.received) == ["ada@example.org", "walk@example.org"]
