"""The front desk's day page through Flask's test client, printing to the test CUPS."""

from __future__ import annotations

import datetime as dt
import io
import re
import time
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from handouts.project import Project
from handouts.web.app import create_app

from cups_server import CupsServer
from helpers import copy_project, tiny_settings

CSV = (
    b"patient,patient_ref,date,time,docs\n"
    b"Ada Goodrow,C-1001,2026-12-01,11:30,info\n"
    b"Bea Badday,,2026-12-01,09:00,xray\n"
    b"Jo Fine,,2026-12-01,08:15,info\n"
)


@pytest.fixture(scope="module")
def project(tiny_built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_project(tiny_built, tmp_path_factory.mktemp("daypage") / "proj")
    (root / "handouts.yaml").write_text(
        tiny_settings("printing:", "  printer: pdf", "  media: Letter"), "utf-8"
    )
    return root


def token(client: FlaskClient, path: str = "/day/") -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))
    assert found
    return found.group(1)


def statuses(html: str) -> dict[str, str]:
    rows = re.findall(r'<tr id="row-\d+" data-status="(\w[\w ]*)">\s*<td>[^<]*</td>\s*<td>([^<]*)</td>', html)
    return {patient: status for status, patient in rows}


def wait_idle(client: FlaskClient) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        html = client.get("/day/").get_data(as_text=True)
        if 'http-equiv="refresh"' not in html:
            return html
        time.sleep(0.2)
    raise AssertionError("the run did not finish")


def test_upload_print_all_fix_and_print_a_row(cups: CupsServer, project: Path) -> None:
    app = create_app(Project(project), today=lambda: dt.date(2026, 12, 1))
    client = app.test_client()
    response = client.post(
        "/day/upload", data={"csrf_token": token(client), "csv": (io.BytesIO(CSV), "today.csv")}
    )
    assert response.status_code == 302
    html = client.get("/day/").get_data(as_text=True)
    assert html.index("Jo Fine") < html.index("Bea Badday") < html.index("Ada Goodrow")  # by time
    assert set(statuses(html).values()) == {"to make"}
    assert client.post("/day/all/print", data={"csrf_token": token(client)}).status_code == 302
    html = wait_idle(client)
    assert statuses(html) == {"Jo Fine": "made", "Bea Badday": "failed", "Ada Goodrow": "made"}
    assert "docs: unknown document &#39;xray&#39;" in html
    assert html.count("printed: pdf-") == 2
    assert "2 printed, 1 not printed" in html
    # Fix the bad row in place, then print just it.
    row_id = re.search(r'<tr id="row-(\d+)" data-status="failed">', html).group(1)  # type: ignore[union-attr]
    form = {
        "csrf_token": token(client),
        "patient": "Bea Badday",
        "date": "2026-12-01",
        "time": "09:00",
        "docs": "info",
    }
    assert client.post(f"/day/row/{row_id}", data=form).status_code == 302
    assert client.post(f"/day/row/{row_id}/print", data={"csrf_token": token(client)}).status_code == 302
    html = client.get("/day/").get_data(as_text=True)
    assert statuses(html)["Bea Badday"] == "made" and html.count("printed: pdf-") == 3
    jobs = re.findall(r"printed: (pdf-\d+)", html)
    for job in jobs:
        cups.arrived(job)
        assert "Badday" not in cups.page_log()[job]["title"]
    download = client.post(f"/day/row/{row_id}/download", data={"csrf_token": token(client)})
    assert download.mimetype == "application/pdf" and download.data.startswith(b"%PDF-")
    assert "Badday" not in download.headers["Content-Disposition"]
    # Nothing of the day was written into the project, but the register has what the desk made.
    assert not [p for p in project.rglob("*") if p.suffix in (".csv", ".json") and "out" not in p.parts]
    from handouts.register.query import list_entries
    from handouts.register.record import open_register

    register = open_register(project)
    assert register is not None
    made = [e for e in list_entries(register) if e.kind == "packet"]
    assert {e.source for e in made} == {"web"} and all(e.actor.startswith("web:") for e in made)
    # The two made by Print all (in its background run, under the desk's session) and the fixed row.
    assert all(e.packet_id for e in made) and len({e.packet_id for e in made}) == 3
    assert [e.patient_ref for e in list_entries(register, patient_ref="C-1001") if e.kind == "packet"]


def test_the_single_patient_print_button_uses_the_clinic_printer(cups: CupsServer, project: Path) -> None:
    client = create_app(Project(project)).test_client()
    page = client.get("/").get_data(as_text=True)
    assert "Print sends the packet to the clinic printer." in page
    form = {
        "csrf_token": token(client, "/"), "name": "Zoë Quintana", "date": "2026-12-01", "brand": "tiny",
        "lang": "en", "docs": ["tiny-info"], "action": "print",
    }  # fmt: skip
    response = client.post("/packet", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html[:2000]
    job = re.search(r"Sent to the printer pdf \(job (pdf-\d+)\)", html)
    assert job, html[:2000]
    cups.arrived(job.group(1))
    assert cups.page_log()[job.group(1)]["title"].startswith("packet-tiny-en-2026-12-01-")
