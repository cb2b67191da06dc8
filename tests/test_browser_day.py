"""The day page in Debian's Chromium (Playwright): upload a CSV, Print all, see each row's status."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cups_server import CupsServer
from helpers import copy_project, tiny_settings
from test_browser import browser, page, serve  # noqa: F401  (fixtures)

CSV = (
    "patient,date,time,docs\n"
    "Ada Goodrow,2026-12-01,11:30,info\n"
    "Bea Badday,2026-12-01,09:00,xray\n"
    "Jo Fine,2026-12-01,08:15,info\n"
)


@pytest.fixture(scope="module")
def desk(tiny_built: Path, tmp_path_factory: pytest.TempPathFactory, cups: CupsServer) -> Iterator[str]:
    root = copy_project(tiny_built, tmp_path_factory.mktemp("browser-day") / "proj")
    (root / "handouts.yaml").write_text(
        tiny_settings("printing:", "  printer: pdf", "  media: Letter"), "utf-8"
    )
    yield from serve(root)


def test_upload_print_all_and_see_each_rows_status(
    desk: str,
    page: Any,  # noqa: F811 (the fixture of test_browser)
    cups: CupsServer,
    tmp_path: Path,
) -> None:
    csv = tmp_path / "today.csv"
    csv.write_text(CSV, "utf-8")
    page.goto(desk + "/")
    page.get_by_role("link", name="Today's list").click()
    page.get_by_label("Appointments file (CSV)").set_input_files(str(csv))
    page.get_by_role("button", name="Upload").click()
    rows = page.locator("table.day tbody tr")
    assert rows.count() == 3
    assert [rows.nth(i).locator("td").nth(1).inner_text() for i in range(3)] == [
        "Jo Fine",
        "Bea Badday",
        "Ada Goodrow",
    ]
    page.get_by_role("button", name="Print all").click()
    # The page reloads itself while the run goes on; wait for its summary.
    page.get_by_text(re.compile(r"2 printed, 1 not printed")).wait_for(timeout=60_000)
    statuses = [rows.nth(i).locator("td.status").inner_text() for i in range(3)]
    assert re.match(r"made\s+printed: pdf-\d+", statuses[0]), statuses
    assert statuses[1].startswith("failed: docs: unknown document 'xray'")
    assert re.match(r"made\s+printed: pdf-\d+", statuses[2])
    for job in re.findall(r"pdf-\d+", " ".join(statuses)):
        cups.arrived(job)
