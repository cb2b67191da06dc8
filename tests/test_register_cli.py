"""The register wired into the commands: packet, packets --csv, screen, archive, `handouts register`."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import copy_project, fill_form, run_cli, tiny_settings

NAME = "Zoë Quibbleworth"
DOB = "1980-02-03"
SIGNED = {
    "consent.agree": "/Yes",
    "patient.signature": "Zoe Q",
    "patient.date": "2026-12-01",
    "contraindication.pregnancy": "/no",
    "contraindication.metal-allergy": "/no",
}


@pytest.fixture
def project(tiny_built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the session's built tiny project, with the register's key set."""
    monkeypatch.setenv("HANDOUTS_REGISTER_KEY", "test-key-" + "x" * 32)
    return copy_project(tiny_built, tmp_path / "proj")


def entries(project: Path, *args: str) -> list[dict[str, object]]:
    code, out, err = run_cli(project, "register", "list", "--json", *args)
    assert code == 0, err
    return list(json.loads(out)["entries"])


def test_packet_screen_and_reconsent(project: Path, tmp_path: Path) -> None:
    packet = tmp_path / "p.pdf"
    details = ["--patient", NAME, "--dob", DOB, "--date", "2026-12-01", "--therapist", "Sam Lee"]
    code, _, err = run_cli(
        project, "packet", *details, "--patient-ref", "C-1", "--fillable", "-o", str(packet)
    )
    assert code == 0, err
    made = entries(project, "--patient-ref", "C-1")
    assert [(e["kind"], e["document"], e["version"]) for e in made] == [
        ("packet", "tiny-info", "1.0"),
        ("packet", "tiny-consent", "1.0"),
        ("packet", "tiny-aftercare", "1.0"),
    ]
    assert {e["variant"] for e in made} == {"fillable"} and {e["therapist"] for e in made} == {"Sam Lee"}
    assert made[0]["packet_id"] and packet.name != made[0]["packet_id"]
    assert len(str(made[1]["fingerprint"])) >= 7
    assert entries(project, "--patient", "zoe quibbleworth", "--dob", DOB) == made  # keyed hash

    code, out, _ = run_cli(project, "register", "reconsent")
    assert (code, out) == (0, "C-1  tiny-consent  none signed, current v1.0\n")
    filled = fill_form(packet, tmp_path / "filled.pdf", SIGNED)
    code, _, err = run_cli(project, "screen", str(filled))
    assert code == 0, err
    back = entries(project, "--patient-ref", "C-1")[-1]
    assert (back["kind"], back["status"], back["signed"], back["packet_id"]) == (
        "return",
        "clear",
        1,
        made[0]["packet_id"],
    )
    code, out, err = run_cli(project, "register", "reconsent")
    assert (code, out) == (0, ""), err

    code, _, err = run_cli(project, "archive", str(filled), "-o", str(tmp_path / "rec.pdf"))
    assert code == 0, err
    archived = entries(project, "--patient-ref", "C-1")[-1]

    assert archived["source"] == "archive"
    assert archived["sha256"] == hashlib.sha256((tmp_path / "rec.pdf").read_bytes()).hexdigest()

    consent = project / "content/documents/tiny-consent/en.yaml"
    consent.write_text(consent.read_text().replace('version: "1.0"', 'version: "1.1"'))
    code, out, err = run_cli(project, "register", "reconsent")
    assert code == 0, err
    assert out.split("\n")[0].startswith("C-1  tiny-consent  last signed v1.0 (")
    assert out.rstrip().endswith("current v1.1")

    day = tmp_path / "day.csv"
    day.write_text("patient,patient_ref,date\nAnn Example,C-1,2026-12-02\nBob Example,C-2,2026-12-02\n"
                   "Cy Example,,2026-12-02\n")  # fmt: skip
    code, out, err = run_cli(project, "register", "reconsent", "--csv", str(day), "--json")
    assert code == 0, err
    assert [(p["patient_ref"], p["latest_version"]) for p in json.loads(out)["patients"]] == [
        ("C-1", "1.0"), ("C-2", None)]  # fmt: skip
    code, out, err = run_cli(project, "packets", "--csv", str(day), "--out", str(tmp_path / "today"))
    assert code == 0, err
    assert f"{day}:2: warning: must sign the consent form again: tiny-consent (last signed v1.0" in err
    assert f"{day}:3: warning: must sign the consent form again: tiny-consent (none signed yet" in err
    assert f"{day}:4: warning" not in err
    report = list(csv.DictReader(io.StringIO((tmp_path / "today/report.csv").read_text("utf-8-sig"))))
    assert [bool(r["warning"]) for r in report] == [True, True, False]
    assert {e["source"] for e in entries(project, "--patient-ref", "C-2")} == {"batch"}

    files = sorted(project.glob("register.sqlite*"))
    stored = b"".join(f.read_bytes() for f in files)
    for secret in (NAME, "Quibbleworth", DOB, "Ann Example", "Bob"):
        assert secret.encode() not in stored, secret

    code, out, err = run_cli(project, "register", "verify")
    assert code == 0 and "the chain holds" in out, err
    with sqlite3.connect(project / "register.sqlite") as con:
        con.execute("UPDATE register_entries SET version = '1.1' WHERE seq = 2")
    code, out, err = run_cli(project, "register", "verify")
    assert code == 1
    assert err.strip() == "register.sqlite: row 2 was changed: its content no longer matches its hash"

    export = tmp_path / "register.csv"
    code, _, err = run_cli(project, "register", "export", "--csv", str(export), "--patient-ref", "C-1")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(export.read_text("utf-8-sig"))))
    assert (
        len(rows) == 3 + 1 + 1 + 3 and rows[0]["patient_ref"] == "C-1" and export.stat().st_mode & 0o077 == 0
    )


def test_unknown_reference_is_empty_and_bad_options_are_one_line(project: Path) -> None:
    code, out, err = run_cli(project, "register", "list", "--patient-ref", "C-404")
    assert (code, out, err.strip()) == (0, "", "0 entries")
    code, _, err = run_cli(project, "register", "list", "--patient", NAME)
    assert code == 2 and err.strip().startswith("--patient and --dob go together")
    code, _, err = run_cli(project, "packet", "--patient", NAME, "--patient-ref", "Jane Doe")
    assert code == 2 and err.strip().startswith("--patient-ref must be the clinic's chart number")
    code, _, err = run_cli(project, "register", "prune")
    assert code == 2 and "--dry-run" in err
    code, _, err = run_cli(project, "register", "prune", "--dry-run")
    assert code == 0 and "0 past retention (10 years)" in err
    code, _, err = run_cli(project, "register", "prune", "--yes")
    assert code == 0 and "nothing past retention (10 years)" in err


def test_register_off_writes_nothing(project: Path, tmp_path: Path) -> None:
    (project / "handouts.yaml").write_text(tiny_settings("register: off"))
    code, _, err = run_cli(
        project, "packet", "--patient", NAME, "--patient-ref", "C-1", "-o", str(tmp_path / "p.pdf")
    )
    assert code == 0, err
    assert not list(project.glob("register.sqlite*"))
    code, _, err = run_cli(project, "register", "list")
    assert code == 2 and "off" in err


def test_password_in_the_url_is_refused(project: Path, tmp_path: Path) -> None:
    (project / "handouts.yaml").write_text(
        tiny_settings("register: postgresql://clinic:pw@db.example.org/handouts")
    )
    code, _, err = run_cli(project, "packet", "--patient", NAME, "-o", str(tmp_path / "p.pdf"))
    assert code == 2
    assert err.startswith("handouts.yaml:3: register: remove the password from the URL")
    assert not (tmp_path / "p.pdf").exists()


def _token(client: object, path: str = "/") -> str:
    import re

    html = client.get(path).get_data(as_text=True)  # type: ignore[attr-defined]
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def test_front_desk_records_and_shows_a_patients_history(project: Path, tmp_path: Path) -> None:
    from handouts.project import Project
    from handouts.web.app import create_app

    client = create_app(Project(project)).test_client()
    form = {"csrf_token": _token(client), "name": NAME, "patient_ref": "C-77", "dob": DOB,
            "date": "2026-12-01", "brand": "tiny", "lang": "en", "docs": ["tiny-info", "tiny-consent"],
            "fillable": "on"}  # fmt: skip
    response = client.post("/packet", data=form)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    made = entries(project, "--patient-ref", "C-77")
    assert [(e["kind"], e["source"], e["document"]) for e in made] == [
        ("packet", "web", "tiny-info"),
        ("packet", "web", "tiny-consent"),
    ]
    assert str(made[0]["actor"]).startswith("web:") and len(str(made[0]["actor"])) == 16

    packet = tmp_path / "web.pdf"
    packet.write_bytes(response.data)
    filled = fill_form(packet, tmp_path / "filled.pdf", {**SIGNED, "contraindication.pregnancy": "/yes"})
    upload = {
        "csrf_token": _token(client),
        "consent_pdf": (io.BytesIO(filled.read_bytes()), "f.pdf", "application/pdf"),
    }
    assert client.post("/screen", data=upload, content_type="multipart/form-data").status_code == 200
    back = entries(project, "--patient-ref", "C-77")[-1]
    assert (back["kind"], back["status"], back["flagged"], back["actor"]) == (
        "return",
        "flagged",
        "pregnancy",
        made[0]["actor"],
    )

    html = client.post("/history", data={"csrf_token": _token(client), "patient_ref": "C-77"}).get_data(
        as_text=True
    )
    table = html[html.index('id="history-result"') :]
    assert table.count("<tr>") == 1 + 3  # header, the return, the two documents of the packet
    assert table.index("Form returned") < table.index("Packet made")  # newest first
    assert "flagged (pregnancy)" in table and NAME not in table
    html = client.post("/history", data={"csrf_token": _token(client), "patient_ref": "C-404"}).get_data(
        as_text=True
    )
    assert "Nothing in the register for chart number C-404." in html
    response = client.post("/history", data={"csrf_token": _token(client), "patient_ref": "Jane Doe"})
    assert response.status_code == 422 and "Chart number must be the clinic" in response.get_data(
        as_text=True
    )
    bad = dict(form, csrf_token=_token(client), patient_ref="Jane Doe")
    response = client.post("/packet", data=bad)
    assert response.status_code == 422 and len(entries(project, "--patient-ref", "C-77")) == 3


def test_an_eml_message_is_recorded_by_keyed_hash(project: Path, tmp_path: Path) -> None:
    address = "zoe.q@example.org"
    mail = ["--email", address, "--eml", str(tmp_path / "eml")]
    code, _, err = run_cli(
        project, "packet", "--patient", NAME, "--patient-ref", "C-5", "-o", str(tmp_path / "p.pdf"), *mail
    )
    assert code == 0, err
    message = entries(project, "--patient-ref", "C-5")[-1]
    assert (message["kind"], message["status"], message["channel"]) == ("message", "written", "eml")
    assert message["packet_id"] == entries(project, "--patient-ref", "C-5")[0]["packet_id"]
    assert message["recipient_hash"] and len(str(message["recipient_hash"])) == 64
    stored = b"".join(f.read_bytes() for f in project.glob("register.sqlite*"))
    assert address.encode() not in stored and b"zoe.q" not in stored


def test_a_days_messages_are_recorded_per_row(project: Path, tmp_path: Path) -> None:
    day = tmp_path / "day.csv"
    day.write_text("patient,patient_ref,date,email\nAnn Example,C-1,2026-12-02,ann@example.org\n"
                   "Bob Example,C-2,2026-12-02,\n")  # fmt: skip
    out, eml = tmp_path / "today", tmp_path / "eml"
    code, _, err = run_cli(project, "packets", "--csv", str(day), "--out", str(out), "--eml", str(eml))
    assert code == 0, err  # Bob's row has no address: a paper-only patient, no message
    messages = entries(project, "--since", "2000-01-01")
    sent = [e for e in messages if e["kind"] == "message"]
    assert [(e["patient_ref"], e["status"], e["channel"], e["source"]) for e in sent] == [
        ("C-1", "written", "eml", "batch")]  # fmt: skip
    made = [e for e in messages if e["kind"] == "packet" and e["patient_ref"] == "C-1"]
    assert sent[0]["packet_id"] == made[0]["packet_id"]
    assert any(str(made[0]["packet_id"]) in pdf.name for pdf in out.glob("*.pdf"))  # the id in its name
    stored = b"".join(f.read_bytes() for f in project.glob("register.sqlite*"))
    assert b"ann@example.org" not in stored and b"Ann Example" not in stored


def _imported(project: Path, *args: str) -> set[str]:
    """The top-level modules a `handouts` process imports (python -X importtime)."""
    command = [sys.executable, "-X", "importtime", "-m", "handouts", "--project", str(project), "-q", *args]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    lines = [line for line in done.stderr.splitlines() if line.startswith("import time:") and "|" in line]
    return {line.rsplit("|", 1)[1].strip().split(".")[0] for line in lines}


def test_a_packet_records_through_sqlite3_alone(project: Path, tmp_path: Path) -> None:
    details = ["packet", "--patient", NAME, "-o", str(tmp_path / "p.pdf"), "--patient-ref"]
    first = _imported(project, *details, "C-1")
    assert {"sqlite3", "sqlalchemy", "alembic"} <= first  # the first write creates the schema
    later = _imported(project, *details, "C-2")
    assert "sqlite3" in later and not later & {"sqlalchemy", "alembic", "psycopg", "pydantic"}
    assert [e["patient_ref"] for e in entries(project)][::3] == ["C-1", "C-2"]  # three documents each


def test_a_bad_chart_number_fails_its_row_only(project: Path, tmp_path: Path) -> None:
    day = tmp_path / "day.csv"
    day.write_text("patient,patient_ref\nAnn Example,C-1\nBob Example,Bob Example\n")
    code, _, err = run_cli(project, "packets", "--csv", str(day), "--out", str(tmp_path / "today"))
    assert code == 2
    assert f"{day}:3: patient_ref must be the clinic's chart number" in err  # the column, not the option
    assert f"{day}:2: warning: must sign the consent form again" in err  # the good row: made, and warned
    assert {e["patient_ref"] for e in entries(project)} == {"C-1"}
    code, _, err = run_cli(project, "register", "reconsent", "--csv", str(day))
    assert code == 2 and err.strip().startswith(f"{day}:3: patient_ref must be the clinic's chart number")
