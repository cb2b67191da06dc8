"""The morning run from the command line: `packet --print`, `packets --print`, `printers`, `users`."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cups_server import CupsServer
from helpers import copy_project, run_cli, tiny_settings, write_tiny

DAY = "2026-12-01"
# Out of time order on purpose: the printer gets them by time, the walk-in last.
ROWS = [
    ("Ada Goodrow", "11:30"),
    ("Jo Fine", "08:15"),
    ("Walk In", ""),
    ("Lu Marsh", "9:45"),
]


@pytest.fixture(scope="module")
def project(tiny_built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_project(tiny_built, tmp_path_factory.mktemp("morning") / "proj")
    (root / "handouts.yaml").write_text(
        tiny_settings("printing:", "  media: Letter", "  sides: one-sided"), "utf-8"
    )
    return root


def day_csv(folder: Path) -> Path:
    path = folder / "day.csv"
    lines = ["patient,date,time,docs"] + [f"{name},{DAY},{time},info" for name, time in ROWS]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def morning(project: Path, folder: Path, out: Path, *args: str) -> tuple[int, str, str]:
    """`handouts packets --csv DAY --out OUT ARGS` for the ROWS day."""
    return run_cli(project, "packets", "--csv", str(day_csv(folder)), "--out", str(out), *args)


def report(out: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((out / "report.csv").read_text("utf-8-sig"))))


def test_printers_lists_the_queues(cups: CupsServer, project: Path) -> None:
    code, stdout, err = run_cli(project, "printers")
    assert code == 0, err
    assert "pdf  (default): ready" in stdout.splitlines()
    assert "paused: is stopped (out of paper)" in stdout.splitlines()


def test_packet_print_queues_the_packet_and_says_the_job(
    cups: CupsServer, project: Path, tmp_path: Path
) -> None:
    target = tmp_path / "one.pdf"
    code, _, err = run_cli(
        project, "packet", "--patient", "Ada Goodrow", "-o", str(target), "--print", "--copies", "2"
    )
    assert code == 0, err
    job = re.search(r"^printed .*one\.pdf on pdf: job (pdf-\d+)$", err, re.M)
    assert job, err
    cups.arrived(job.group(1))
    logged = cups.page_log()[job.group(1)]
    assert logged["title"] == "one.pdf" and logged["copies"] == "2" and logged["media"] == "Letter"


def test_the_days_packets_print_in_time_order_once(cups: CupsServer, project: Path, tmp_path: Path) -> None:
    out = tmp_path / "today"
    code, stdout, err = run_cli(
        project, "packets", "--csv", str(day_csv(tmp_path)), "--out", str(out), "--print"
    )
    assert code == 0, err + stdout
    assert "printed 4, already printed 0, not printed 0" in stdout
    rows = report(out)
    jobs = {int(r["row"]): r["print"].removeprefix("printed: ") for r in rows}
    assert all(re.fullmatch(r"pdf-\d+", job) for job in jobs.values()), rows
    # CSV lines 2..5 are ROWS; the printer got them by time: 08:15, 9:45, 11:30, then the walk-in.
    by_job = sorted(jobs, key=lambda line: int(jobs[line].split("-")[1]))
    assert by_job == [3, 5, 2, 4]
    titles = {
        cups.page_log()[cups_job]["title"] for cups_job in (cups.arrived(j) and j for j in jobs.values())
    }
    assert titles == {r["file"] for r in rows}
    names = " ".join(titles) + (out / "print-log.json").read_text("utf-8")
    assert not any(part in names for name, _ in ROWS for part in name.split())
    # A re-run prints nothing again; --reprint does.
    code, stdout, _ = run_cli(
        project, "packets", "--csv", str(day_csv(tmp_path)), "--out", str(out), "--print"
    )
    assert code == 0 and "printed 0, already printed 4, not printed 0" in stdout
    assert {r["print"].split(":")[0] for r in report(out)} == {"already printed"}
    code, stdout, _ = morning(project, tmp_path, out, "--print", "--reprint")
    assert code == 0 and "printed 4, already printed 0" in stdout


def test_a_stopped_printer_fails_each_row_keeps_the_packets_and_a_rerun_prints_them(
    cups: CupsServer, project: Path, tmp_path: Path
) -> None:
    out = tmp_path / "today"
    args = ("packets", "--csv", str(day_csv(tmp_path)), "--out", str(out), "--print", "--printer", "paused")
    code, stdout, err = run_cli(project, *args)
    assert code == 7, err
    assert "made 4" in stdout and "printed 0, already printed 0, not printed 4" in stdout
    for line in (2, 3, 4, 5):
        assert f"row {line}: not printed: printer paused is stopped (out of paper)" in err
    assert len(list(out.glob("packet-*.pdf"))) == 4
    assert all(r["print"].startswith("not printed: printer paused is stopped") for r in report(out))
    cups.enable("paused")
    try:
        code, stdout, err = run_cli(project, *args)
        assert code == 0, err
        assert "skipped 4 (already there)" in stdout and "printed 4, already printed 0" in stdout
    finally:
        cups.run("cancel", "-a", "paused", check=False)  # their PDFs are not needed: no waiting for them
        cups.disable("paused", "out of paper")


def test_an_unknown_printer_makes_nothing(cups: CupsServer, project: Path, tmp_path: Path) -> None:
    out = tmp_path / "today"
    code, _, err = run_cli(
        project,
        "packets",
        "--csv",
        str(day_csv(tmp_path)),
        "--out",
        str(out),
        "--print",
        "--printer",
        "nosuch",
    )
    assert code == 2
    assert err.strip() == "--printer: no printer 'nosuch' here; printers: paused, pdf"
    assert not out.exists() or not list(out.glob("*.pdf"))
    code, _, err = run_cli(project, "packet", "--patient", "A B", "--print", "--printer", "nosuch")
    assert code == 2 and err.startswith("--printer: no printer 'nosuch'")


def test_print_options_go_with_print_and_not_with_a_password(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = run_cli(
        project, "packet", "--patient", "A B", "--copies", "2", "-o", str(tmp_path / "a.pdf")
    )
    assert code == 2 and err.strip() == "--copies goes with --print"
    code, _, err = morning(project, tmp_path, tmp_path / "o", "--reprint")
    assert code == 2 and err.strip() == "--reprint goes with --print"
    monkeypatch.setenv("DAY_PW", "a secret")
    code, _, err = morning(project, tmp_path, tmp_path / "o", "--print", "--password-env", "DAY_PW")
    assert code == 2
    assert err.strip() == (
        "--print: a printer cannot open a password-protected packet; leave out --password-env or --print"
    )
    assert not (tmp_path / "a.pdf").exists() and not (tmp_path / "o").exists()


def test_cups_not_running_makes_nothing(
    cups: CupsServer, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUPS_SERVER", str(tmp_path / "no-cups-here.sock"))
    out = tmp_path / "today"
    code, _, err = morning(project, tmp_path, out, "--print")
    assert code == 7
    assert err.strip().startswith("cannot print: the CUPS print service is not running")
    assert len(err.strip().splitlines()) == 1
    assert not out.exists() or not list(out.glob("*.pdf"))
    code, _, err = run_cli(project, "printers")
    assert code == 7 and "not running" in err


def test_a_bad_time_fails_its_row_only(project: Path, tmp_path: Path) -> None:
    day = tmp_path / "day.csv"
    day.write_text(f"patient,date,time\nAda Goodrow,{DAY},25:00\nJo Fine,{DAY},08:00\n", "utf-8")
    code, stdout, err = run_cli(project, "packets", "--csv", str(day), "--out", str(tmp_path / "o"))
    assert code == 2
    assert f"{day}:2: time is not a time of day written HH:MM (e.g. 09:30)" in err
    assert "made 1" in stdout


def test_runs_without_print_do_no_printing_work(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "today"
    script = (
        "import sys\nfrom click.testing import CliRunner\nfrom handouts.cli import main\n"
        f"r = CliRunner().invoke(main, ['--project', {str(project)!r}, 'packets', '--csv', "
        f"{str(day_csv(tmp_path))!r}, '--out', {str(out)!r}])\n"
        "assert r.exit_code == 0, r.output\n"
        "print(sorted(m for m in sys.modules if m.startswith('handouts.printing.')))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    # No CUPS client, no print log, no print step (the CSV's times are read by handouts.dates).
    assert done.stdout.strip() == "[]"
    assert not (out / "print-log.json").exists()
    assert {r["print"] for r in report(out)} == {""}


def test_users_add_list_remove(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_tiny(tmp_path / "proj")
    monkeypatch.setenv("DESK_PW", "a long enough password")
    code, _, err = run_cli(root, "users", "add", "Reception", "--password-env", "DESK_PW")
    assert code == 0 and "added reception in users.json" in err
    code, stdout, _ = run_cli(root, "users", "list")
    assert stdout.split() == ["reception"]
    data = json.loads((root / "users.json").read_text("utf-8"))
    assert "a long enough password" not in json.dumps(data)
    code, _, err = run_cli(root, "users", "add", "desk", "--password-env", "UNSET_VARIABLE_X")
    assert code == 2 and err.startswith("--password-env: the environment variable UNSET_VARIABLE_X")
    code, _, err = run_cli(root, "users", "add", "desk")  # the test runner has no terminal
    assert code == 2 and err.startswith("--password-env: no terminal to ask for the password")
    monkeypatch.setenv("SHORT_PW", "short")
    code, _, err = run_cli(root, "users", "add", "desk", "--password-env", "SHORT_PW")
    assert code == 2 and err.startswith("password: use at least 10 characters")
    code, _, err = run_cli(root, "users", "add", "Jane Doe", "--password-env", "DESK_PW")
    assert code == 2 and err.startswith("NAME: use 1-32 letters")  # the argument, as the usage line names it
    code, _, err = run_cli(root, "users", "remove", "reception")
    assert code == 0 and "removed reception" in err
    code, _, err = run_cli(root, "users", "remove", "reception")
    assert code == 2 and err.startswith("NAME: no account 'reception'")
