"""Printing through a real CUPS scheduler with cups-pdf queues (see tests/cups_server.py)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageChops
from pypdf import PdfReader

from handouts.content.models import JobOptions, PrintSettings
from handouts.errors import PrintError, UsageError
from handouts.printing.cups import list_printers, resolve_printer, submit
from handouts.printing.printlog import PrintLog
from handouts.printing.step import PrintStep

from cups_server import CupsServer
from helpers import run_cli, tiny_settings

DAY = "2026-12-01"
PATIENTS = ("Ada Goodrow", "Jo Fine", "Lu Marsh")
TITLES = ("Tiny information sheet", "Tiny consent form", "Tiny aftercare sheet")


@pytest.fixture(scope="module")
def day(module_built: Path) -> tuple[Path, Path]:
    """The built tiny project and a day's packets made by `handouts packets` (today's code)."""
    root = module_built
    base = root.parent
    csv = base / "day.csv"
    csv.write_text(
        "patient,date,docs\n"
        f"{PATIENTS[0]},{DAY},\n"
        f"{PATIENTS[1]},{DAY},consent\n"
        f"{PATIENTS[2]},{DAY},info;aftercare\n",
        "utf-8",
    )
    out = base / "out"
    code, _, err = run_cli(root, "packets", "--csv", str(csv), "--out", str(out))
    assert code == 0, err
    return root, out


def pdf_text(path: Path) -> str:
    cmd = ["pdftotext", "-q", str(path), "-"]
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def gray_pages(path: Path, folder: Path) -> list[Image.Image]:
    """Every page at 30 dpi in grey, by poppler."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", "-q", "-r", "30", "-gray", str(path), str(folder / "p")], check=True)
    return [Image.open(png) for png in sorted(folder.glob("p-*.pgm"))]


def mismatch(a: Image.Image, b: Image.Image) -> float:
    """Pixels that differ clearly, against the ink on page a (0: same page; above 1: another page)."""
    assert a.size == b.size
    diff = ImageChops.difference(a, b).histogram()
    ink = sum(a.histogram()[:128])
    assert ink > 0.003 * a.size[0] * a.size[1]  # not a blank page
    return sum(diff[64:]) / ink


def assert_same_pages(sent: Path, arrived: Path, work: Path) -> None:
    """The PDF that cups-pdf wrote shows the packet's pages, page by page.

    The driver's PostScript round trip keeps the look of every page but garbles much of
    the text layer (fonts come back re-encoded), so pages are compared as pictures, and
    text only where it survives: the header lines of each document.
    """
    ours, theirs = gray_pages(sent, work / "sent"), gray_pages(arrived, work / "arrived")
    assert len(theirs) == len(ours) == len(PdfReader(sent).pages)
    for page, (a, b) in enumerate(zip(ours, theirs, strict=True), 1):
        assert mismatch(a, b) < 0.6, page
    if len(ours) > 1:  # the measure tells pages apart
        assert mismatch(ours[0], theirs[1]) > 1.0
    text = pdf_text(arrived)
    assert "Prepared for" in text
    assert any(title in text for title in TITLES)


def test_lists_the_queues_and_the_default(cups: CupsServer) -> None:
    printers = list_printers()
    assert set(printers.names()) >= {"pdf", "paused"}
    assert printers.default == "pdf"
    paused = printers.get("paused")
    assert paused is not None and not paused.enabled and paused.accepting
    assert paused.reason == "out of paper"
    ready = printers.get("pdf")
    assert ready is not None and ready.ready


def test_a_days_packets_arrive_as_pdfs_with_their_pages(
    cups: CupsServer, day: tuple[Path, Path], tmp_path: Path
) -> None:
    _, out = day
    # The tiny brand's pages are Letter: the same paper keeps the pages comparable.
    step = PrintStep(PrintSettings(media="Letter", sides="one-sided"))
    assert step.printer == "pdf"  # the system's default destination
    print_log = PrintLog(out)
    packets = sorted(out.glob("packet-*.pdf"))
    assert len(packets) == 3
    jobs = {}
    for packet in packets:
        outcome = step.print_packet(packet.name, packet.read_bytes(), print_log=print_log)
        assert outcome.status == "printed", outcome
        assert re.fullmatch(r"pdf-\d+", outcome.detail)
        jobs[packet] = outcome.detail
    for packet, job in jobs.items():
        arrived = cups.arrived(job)
        assert_same_pages(packet, arrived, tmp_path / job)
        # The job title is the packet's file name, here and in CUPS's own log.
        assert packet.name in str(PdfReader(arrived).metadata.title)  # cups-pdf adds parentheses
    names = [job["title"] for job in cups.page_log().values()]
    for packet in packets:
        assert packet.name in names
    for patient in PATIENTS:
        for part in patient.split():
            assert all(part not in name for name in names)
    # The print log holds no names either, and a re-run prints nothing again.
    log_text = (out / "print-log.json").read_text("utf-8")
    assert all(part not in log_text for p in PATIENTS for part in p.split())
    again, reread = PrintStep(PrintSettings()), PrintLog(out)
    outcomes = [again.print_packet(p.name, p.read_bytes(), print_log=reread) for p in packets]
    assert [o.status for o in outcomes] == ["already printed"] * 3
    assert [o.detail for o in outcomes] == [jobs[p] for p in packets]  # the job that printed it
    reprint = PrintStep(PrintSettings(), reprint=True)
    assert (
        reprint.print_packet(packets[0].name, packets[0].read_bytes(), print_log=reread).status == "printed"
    )


def test_a_file_is_printed_from_its_path_with_the_options(cups: CupsServer, day: tuple[Path, Path]) -> None:
    _, out = day
    packet = sorted(out.glob("packet-*.pdf"))[0]
    job = submit(packet, "pdf", packet.name, JobOptions(copies=2, media="A4", sides="two-sided-long-edge"))
    arrived = cups.arrived(job)
    assert cups.page_log()[job] == {
        "copies": "2", "sides": "two-sided-long-edge", "media": "A4", "title": packet.name,
    }  # fmt: skip
    box = PdfReader(arrived).pages[0].mediabox
    assert (round(box.width), round(box.height)) == (595, 842)  # A4, though the packet is Letter


def test_a_stopped_queue_fails_the_row_and_the_next_goes_on(cups: CupsServer, day: tuple[Path, Path]) -> None:
    _, out = day
    packets = sorted(out.glob("packet-*.pdf"))
    stopped = PrintStep(PrintSettings(printer="paused"))
    outcome = stopped.print_packet(packets[0].name, packets[0].read_bytes())
    assert outcome.status == "not printed"
    assert outcome.detail == (
        "printer paused is stopped (out of paper); fix it, then run again to print the rest"
    )
    assert packets[0].exists()
    # A printer that stops in the middle of a run: the rows after it fail, each on its own.
    cups.add_pdf_queue("flaky")
    try:
        step = PrintStep(PrintSettings(printer="flaky"))
        first = step.print_packet(packets[0].name, packets[0].read_bytes())
        assert first.status == "printed"
        cups.arrived(first.detail)
        cups.disable("flaky", "paper jam")
        late = step.print_packet(packets[1].name, packets[1].read_bytes())
        assert late.status == "not printed" and "paper jam" in late.detail
        cups.enable("flaky")
        cups.reject("flaky", "closed for the day")
        refused = step.print_packet(packets[2].name, packets[2].read_bytes())
        assert refused.status == "not printed"
        assert refused.detail.startswith("printer flaky does not accept jobs (closed for the day)")
    finally:
        cups.run("lpadmin", "-x", "flaky")


def test_an_unknown_printer_names_the_queues_there_are(cups: CupsServer) -> None:
    with pytest.raises(UsageError) as caught:
        PrintStep(PrintSettings(), printer="nosuch")
    message = str(caught.value)
    assert message.startswith("printer: no printer 'nosuch' here; printers: ")
    assert "pdf" in message and "paused" in message and "\n" not in message
    assert caught.value.field == "printer" and caught.value.code == "unknown"
    with pytest.raises(UsageError, match=r"^printing.printer: no printer 'gone'"):
        PrintStep(PrintSettings(printer="gone"))
    with pytest.raises(UsageError, match=r"^printing.printer: no printer 'gone'"):
        resolve_printer("gone", "printing.printer")


def test_cups_not_running_is_one_line(
    cups: CupsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUPS_SERVER", str(tmp_path / "nothing-listens-here.sock"))
    with pytest.raises(PrintError) as caught:
        PrintStep(PrintSettings())
    assert str(caught.value).startswith("cannot print: the CUPS print service is not running")
    assert caught.value.exit_code == 7


def test_cups_going_away_mid_run_fails_that_packet_only(
    cups: CupsServer, day: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, out = day
    packet = sorted(out.glob("packet-*.pdf"))[0]
    step = PrintStep(PrintSettings())
    monkeypatch.setenv("CUPS_SERVER", str(tmp_path / "gone.sock"))
    outcome = step.print_packet(packet.name, packet.read_bytes())
    assert (outcome.status, outcome.detail) == ("not printed", "the CUPS print service stopped running")
    monkeypatch.setenv("PATH", str(tmp_path))  # CUPS's clients gone too
    outcome = step.print_packet(packet.name, packet.read_bytes())
    assert outcome.status == "not printed"
    assert outcome.detail.startswith("cannot print: CUPS's 'lpstat' command is not installed")


def test_a_cups_without_printers_says_so(cups: CupsServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from cups_server import start_cups

    empty = start_cups()
    try:
        monkeypatch.setenv("CUPS_SERVER", str(empty.socket))
        with pytest.raises(PrintError, match="^cannot print: CUPS has no printer set up"):
            PrintStep(None)
    finally:
        empty.close()


def test_job_options_for_large_print_and_copies() -> None:
    settings = PrintSettings(
        media="Letter", sides="two-sided-long-edge", large_print=JobOptions(sides="one-sided", media="Legal")
    )
    assert settings.options().lp_args() == ["-o", "sides=two-sided-long-edge", "-o", "media=Letter"]
    assert settings.options(large_print=True, copies=3).lp_args() == [
        "-n", "3", "-o", "sides=one-sided", "-o", "media=Legal",
    ]  # fmt: skip
    with pytest.raises(UsageError, match="^copies: 0 is not between 1 and 100"):
        PrintStep(None, copies=0)


def test_times_of_day_and_the_days_order() -> None:
    import datetime as dt

    from handouts.dates import parse_time
    from handouts.packet.appointments import day_order

    assert parse_time("time", "09:30") == dt.time(9, 30)
    assert parse_time("time", "9.05") == dt.time(9, 5)
    assert parse_time("time", "14h15") == dt.time(14, 15)
    assert parse_time("time", "2:30 pm") == dt.time(14, 30)
    assert parse_time("time", "12:10 a.m.") == dt.time(0, 10)
    assert parse_time("time", "") is None
    for bad in ("25:00", "9", "noon", "13:00 pm", "9:60"):
        with pytest.raises(UsageError, match="^time is not a time of day written HH:MM"):
            parse_time("time", bad)
    day, other = dt.date(2026, 12, 1), dt.date(2026, 12, 2)
    rows = [
        ("walk-in", day, None),
        ("late", day, dt.time(15)),
        ("tomorrow", other, dt.time(8)),
        ("early", day, dt.time(8, 30)),
        ("also late", day, dt.time(15)),
    ]
    ordered = day_order(rows, lambda r: (r[1], r[2]))
    assert [r[0] for r in ordered] == ["early", "late", "also late", "walk-in", "tomorrow"]


def test_printing_settings_in_handouts_yaml(make_project: Callable[..., Path]) -> None:
    from handouts.content.catalogue import load_catalogue, load_config
    from handouts.errors import ContentError
    from handouts.project import Project

    yaml = "printing:\n  printer: Front_Desk\n  sides: two-sided-long-edge\n  large_print:\n    media: A4\n"
    root = make_project({"handouts.yaml": tiny_settings() + yaml})
    settings = load_catalogue(Project(root)).config.printing
    assert settings is not None and settings.printer == "Front_Desk"
    assert load_config(Project(root)).printing == settings
    large = settings.options(large_print=True)
    assert large.lp_args() == ["-o", "sides=two-sided-long-edge", "-o", "media=A4"]
    settings = tiny_settings("printing:", "  printer: Front Desk", "  sides: both")
    bad = make_project({"handouts.yaml": settings}, name="bad")
    for load in (load_catalogue, load_config):
        with pytest.raises(ContentError) as caught:
            load(Project(bad))  # type: ignore[operator]
    lines = "\n".join(caught.value.lines())
    assert "handouts.yaml:4:" in lines and "printing.printer" in lines
    assert "handouts.yaml:5:" in lines and "printing.sides" in lines
