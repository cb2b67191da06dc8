"""`handouts packets`: a day's appointments from CSV, bad rows by line, re-runs, reports, privacy."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from helpers import REPO, run_cli

DAY = "2026-12-01"
HEADER = "patient,dob,date,therapist,area,docs,lang,brand,email"


@pytest.fixture(scope="module")
def project(module_built: Path) -> Path:
    """The tiny project, built (the outputs a default packet needs among them)."""
    warm = module_built.parent / "warm.pdf"
    code, _, err = run_cli(module_built, "packet", "--patient", "W", "-o", str(warm))
    assert code == 0, err
    return module_built


def write_csv(path: Path, *lines: str, bom: bool = False) -> Path:
    path.write_text(("\ufeff" if bom else "") + "\n".join(lines) + "\n", "utf-8")
    return path


def packets(project: Path, csv_file: Path, out: Path, *args: str) -> tuple[int, str, str]:
    return run_cli(project, "packets", "--csv", str(csv_file), "--out", str(out), *args)


GOOD_1 = f"Ada Goodrow,1980-02-03,{DAY},Sam Lee,neck,,,,"
GOOD_2 = f"Jo Fine,1990-05-06,{DAY},,,consent,EN,tiny,"
BAD_ROWS = {
    3: (f",1980-02-03,{DAY},,,,,,", "patient is required"),
    4: (f"Bea Badday,1980-02-30,{DAY},,,,,,", "dob is not a real date; use YYYY-MM-DD"),
    5: (f"Cy Future,2030-01-01,{DAY},,,,,,", "dob is after the appointment date"),
    6: (f'Di Docs,,{DAY},,,"info,xray",,,', "docs: unknown document 'xray'; choose from:"),
    7: (f"Ed Brand,,{DAY},,,,,nowhere,", "brand: unknown brand 'nowhere'; choose from: tiny"),
    8: (f"Flo Lang,,{DAY},,,,de,,", "lang: unknown language 'de'; choose from: en"),
    9: (f"Gil\x07Bell,,{DAY},,,,,,", "patient contains an invisible control character (U+0007)"),
    10: (f'Ivy Wrap,,{DAY},,"left\nshoulder",,,,', "area contains an invisible control character (U+000A)"),
}


def test_bad_rows_are_reported_by_line_and_a_rerun_makes_only_what_is_missing(
    project: Path, tmp_path: Path
) -> None:
    day = write_csv(
        tmp_path / "day.csv",
        HEADER + ",notes",
        GOOD_1 + ",first visit",
        *(line + "," for line, _ in BAD_ROWS.values()),
        GOOD_2 + ",",  # line 12: the quoted cell of line 10 spans two lines
        bom=True,
    )
    out = tmp_path / "out"
    code, stdout, err = packets(project, day, out)
    assert code == 2
    lines = err.splitlines()
    assert f"{day}:1: warning: unknown column 'notes' is ignored" in lines
    for row, (_, message) in BAD_ROWS.items():
        assert any(line.startswith(f"{day}:{row}: {message}") for line in lines), (row, err)
    for secret in ("Bea", "Badday", "1980-02-30", "2030-01-01", "Cy Future", "Ivy"):
        assert secret not in err + stdout
    made = sorted(p.name for p in out.glob("*.pdf"))
    assert len(made) == 2 and all(name.startswith("packet-tiny-en-2026-12-01-") for name in made)
    assert f"made {made[0]} (row " in stdout or f"made {made[1]} (row " in stdout
    assert "(row 12)" in stdout
    assert "made 2, skipped 0 (already there), failed 8" in stdout
    texts = {name: PdfReader(out / name).pages[0].extract_text() for name in made}
    assert any("Prepared for Ada Goodrow" in t for t in texts.values())

    write_csv(tmp_path / "day.csv", HEADER, GOOD_1, f"Cy Future,2000-01-01,{DAY},,,,,,", GOOD_2)
    code, stdout, err = packets(project, day, out)
    assert code == 0, err
    assert "made 1, skipped 2 (already there), failed 0" in stdout
    assert len(list(out.glob("*.pdf"))) == 3
    report = list(csv.reader(io.StringIO((out / "report.csv").read_text("utf-8-sig"))))
    assert report[0] == ["row", "file", "status", "message", "mail", "warning", "print"]
    assert [(r[0], r[2]) for r in report[1:]] == [("2", "skipped"), ("3", "made"), ("4", "skipped")]


def test_report_cells_cannot_be_formulas(project: Path, tmp_path: Path) -> None:
    from handouts.packet.appointments import report_csv, safe_cell

    for start in "=+-@\t\r":
        assert safe_cell(f"{start}1+1") == f"'{start}1+1"
    assert safe_cell("plain") == "plain" and safe_cell(3) == "3"
    data = report_csv(["=head"], [['=HYPERLINK("http://x")', "+1", "-1", "@SUM(A1)", "ok"]])
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [["'=head"], ['\'=HYPERLINK("http://x")', "'+1", "'-1", "'@SUM(A1)", "ok"]]

    day = write_csv(
        tmp_path / "day.csv",
        HEADER,
        f"+Plus Minus,,{DAY},-2+3,@area,,,,",
        f"Eve Evil,,{DAY},,,\"=cmd|' /C calc'!A0\",,,",
        f"Fay Formula,,{DAY},,,,,=HYPERLINK(1),",
    )
    code, _, err = packets(project, day, tmp_path / "out")
    assert code == 2, err
    text = (tmp_path / "out/report.csv").read_text("utf-8-sig")
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert len(cells) == 4 * 7
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert "Plus" not in text and "Eve" not in text


def test_file_that_is_not_utf8_is_refused_in_one_line(project: Path, tmp_path: Path) -> None:
    day = tmp_path / "day.csv"
    day.write_bytes(f"{HEADER}\nZoë Latin,,{DAY},,,,,,\n".encode("cp1252"))
    code, stdout, err = packets(project, day, tmp_path / "out")
    assert code == 2
    assert err.splitlines() == [
        f"{day}:2: not UTF-8 text (byte 0xEB); save it as UTF-8 CSV (in Excel: Save As, 'CSV UTF-8') "
        "and try again"
    ]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,dob\nAl,1980-01-01\n", "1: no 'patient' column; the header needs it"),
        ("", ": no header row"),
        ('patient,date\n"Al,2026-12-01\n', "not readable as CSV"),
    ],
)
def test_unusable_file_is_one_line_and_exit_2(project: Path, tmp_path: Path, text: str, message: str) -> None:
    day = tmp_path / "day.csv"
    day.write_text(text, "utf-8")
    code, _, err = packets(project, day, tmp_path / "out")
    assert code == 2
    assert len(err.splitlines()) == 1 and message in err and "Traceback" not in err


def test_semicolons_and_only_the_patient_column(project: Path, tmp_path: Path) -> None:
    day = write_csv(tmp_path / "day.csv", "Patient;Date", f"Al Semi;{DAY}")
    code, stdout, err = packets(project, day, tmp_path / "out")
    assert code == 0, err
    assert "made 1, skipped 0 (already there), failed 0" in stdout


def test_password_from_environment(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    day = write_csv(tmp_path / "day.csv", "patient,date", f"Al Secret,{DAY}")
    monkeypatch.delenv("HANDOUTS_TEST_PACKET_PW", raising=False)
    code, _, err = packets(project, day, tmp_path / "out", "--password-env", "HANDOUTS_TEST_PACKET_PW")
    assert code == 2 and "HANDOUTS_TEST_PACKET_PW is not set" in err
    assert not (tmp_path / "out").exists()
    monkeypatch.setenv("HANDOUTS_TEST_PACKET_PW", "s3cret")
    code, _, err = packets(project, day, tmp_path / "out", "--password-env", "HANDOUTS_TEST_PACKET_PW")
    assert code == 0, err
    (made,) = list((tmp_path / "out").glob("*.pdf"))
    reader = PdfReader(made)
    assert reader.is_encrypted and reader.decrypt("s3cret")
    assert "Al Secret" in reader.pages[0].extract_text()


def test_out_inside_the_build_folder_is_refused(project: Path, tmp_path: Path) -> None:
    day = write_csv(tmp_path / "day.csv", "patient", "Al")
    code, _, err = packets(project, day, project / "out" / "packets")
    assert code == 2 and "--prune would delete packets" in err


def test_no_patient_data_in_logs_or_summary(project: Path, tmp_path: Path) -> None:
    """Run as a person would, with -vv (debug): stderr and stdout name rows and files, never patients."""
    people = [
        ("Quentin Privacy", "1971-03-04", "quentin@example.org"),
        ("Rosalind Hidden", "1985-07-08", "rosalind@example.org"),
    ]
    day = write_csv(
        tmp_path / "day.csv",
        HEADER,
        *(f"{name},{dob},{DAY},Sam Lee,neck,,,,{addr}" for name, dob, addr in people),
        f"Sven Broken,1999-99-99,{DAY},,,,,,sven@example.org",
        f"Tara Nomail,1990-01-02,{DAY},,,,,,",
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    run = subprocess.run(
        [sys.executable, "-m", "handouts", "--project", str(project), "-vv",
         "packets", "--csv", str(day), "--out", str(tmp_path / "out"), "--eml", str(tmp_path / "eml")],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert run.returncode == 2, run.stderr
    assert "INFO: row 2: made packet-tiny-en-" in run.stderr  # -v does log, per row
    assert "row 5: not sent: no email" in run.stdout  # a paper-only patient: said, not an error
    written = [p.name for p in (tmp_path / "out").iterdir()] + [p.name for p in (tmp_path / "eml").iterdir()]
    report = (tmp_path / "out/report.csv").read_text("utf-8-sig")
    everyone = [*people, ("Sven Broken", "1999-99-99", "sven"), ("Tara Nomail", "1990-01-02", "")]
    for name, dob, addr in everyone:
        secrets = [*name.split(), dob, "March 4, 1971", "July 8, 1985"] + ([addr] if addr else [])
        for secret in secrets:
            assert secret not in run.stderr, secret
            assert secret not in run.stdout, secret
            assert secret not in report and not any(secret in w for w in written), secret
    assert len(list((tmp_path / "eml").glob("*.eml"))) == 2
