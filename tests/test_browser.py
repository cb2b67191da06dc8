"""`handouts serve` in a real browser: Debian's Chromium driven by Playwright (no browser download).

Screenshots of each page go to the test's tmp_path / "screenshots"; with HANDOUTS_SCREENSHOTS=1
the front-desk page is also written to docs/screenshots/front-desk.png for the README.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright import sync_api as playwright_api
from pypdf import PdfReader, PdfWriter

from handouts.project import Project
from handouts.web.app import create_app
from handouts.web.server import make_server

from helpers import REPO, copy_project, run_cli

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PATIENT = {"name": "Jane Doe", "dob": "1980-02-03", "date": "2026-12-01", "therapist": "Sam Lee"}
TIMEOUT = 45_000  # ms, for anything the page waits on (generous: CI machines are shared)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: run ./dev test, which installs Debian's chromium package")
    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.set_default_timeout(TIMEOUT)
    yield context.new_page()
    context.close()


@pytest.fixture
def shots(tmp_path: Path) -> Callable[..., Path]:
    folder = tmp_path / "screenshots"
    folder.mkdir()

    def shoot(page: Any, name: str, publish: bool = False) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        if publish and os.environ.get("HANDOUTS_SCREENSHOTS") == "1":
            target = REPO / "docs" / "screenshots" / f"{name}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        return path

    return shoot


def serve(root: Path, preview: bool = False) -> Iterator[str]:
    app = create_app(Project(root), preview=preview)
    server = make_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        server.server_close()
        watcher = app.extensions["handouts"].watcher
        if watcher is not None:
            watcher.stop()


@pytest.fixture(scope="module")
def built(tiny_built: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny project with the packet's outputs built, and the CLI's packet for PATIENT."""
    root = copy_project(tiny_built, tmp_path_factory.mktemp("browser") / "proj")
    reference = root.parent / "cli-packet.pdf"
    code, _, err = run_cli(
        root, "packet", "--patient", PATIENT["name"], "--dob", PATIENT["dob"], "--date", PATIENT["date"],
        "--therapist", PATIENT["therapist"], "--docs", "info,consent,aftercare", "-o", str(reference),
    )  # fmt: skip
    assert code == 0, err
    return root, reference


@pytest.fixture(scope="module")
def front_desk(built: tuple[Path, Path]) -> Iterator[str]:
    yield from serve(built[0])


def contrast(page: Any, selector: str) -> float:
    """WCAG contrast ratio of an element's text colour against its (first opaque) background."""
    return float(
        page.eval_on_selector(
            selector,
            """el => {
              const rgb = s => s.match(/[\\d.]+/g).slice(0, 4).map(Number);
              const lum = ([r, g, b]) => {
                const f = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
                return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
              };
              let bg = null;
              for (let n = el; n && !bg; n = n.parentElement) {
                const c = rgb(getComputedStyle(n).backgroundColor);
                if (c.length < 4 || c[3] > 0) bg = c;
              }
              bg = bg || [255, 255, 255];
              const a = lum(rgb(getComputedStyle(el).color)), b = lum(bg);
              return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
            }""",
        )
    )


def test_fill_the_form_and_download_the_packet(
    page: Any, front_desk: str, built: tuple[Path, Path], shots: Callable[..., Path], tmp_path: Path
) -> None:
    page.goto(front_desk)
    shots(page, "front-desk", publish=True)
    # Every control has a label a screen reader (and Playwright) finds it by.
    page.get_by_label("Patient name").fill(PATIENT["name"])
    page.get_by_label("Date of birth").fill(PATIENT["dob"])
    page.get_by_label("Appointment date").fill(PATIENT["date"])
    page.get_by_label("Therapist").fill(PATIENT["therapist"])
    page.get_by_label("Clinic").select_option("tiny")
    page.get_by_label("Language").select_option("en")
    for title in ("Tiny information sheet", "Tiny consent form", "Tiny aftercare sheet"):
        assert page.get_by_label(title).is_checked()
    assert not page.get_by_label("Large print").is_checked()
    for selector in ("h1", "label[for=name]", ".hint", "button[value=download]", "button[value=print]"):
        assert contrast(page, selector) >= 4.5, selector
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download").click()
    download = download_info.value
    assert download.suggested_filename.startswith("packet-tiny-en-2026-12-01-")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert saved.read_bytes() == built[1].read_bytes()  # byte for byte the CLI's packet
    reader = PdfReader(saved)
    assert "Prepared for Jane Doe" in reader.pages[0].extract_text()
    assert [o.title for o in reader.outline] == [
        "Tiny information sheet",
        "Tiny consent form",
        "Tiny aftercare sheet",
    ]
    # Print fetches the same packet and opens the print dialog on it, staying on the page.
    page.get_by_role("button", name="Print").click()
    playwright_api.expect(page.locator("#print-status")).to_have_text("The print dialog is open.")
    assert (page.locator("#print-frame").get_attribute("src") or "").startswith("blob:")
    assert len(page.context.pages) == 1
    # A tablet held upright: nothing overflows sideways.
    page.set_viewport_size({"width": 768, "height": 1024})
    assert page.evaluate("document.documentElement.scrollWidth") <= 768
    shots(page, "front-desk-768")


def test_a_bad_date_is_shown_beside_the_field(page: Any, front_desk: str, shots: Callable[..., Path]) -> None:
    page.goto(front_desk)
    page.get_by_label("Patient name").fill("Jane Doe")
    page.get_by_label("Therapist").fill("Sam Lee")
    dob = page.get_by_label("Date of birth")
    dob.fill("1980-02-30")
    dob.press("Enter")  # the keyboard alone submits the form
    message = page.locator("#dob-error")
    playwright_api.expect(message).to_contain_text("is not a real date; use YYYY-MM-DD")
    field = page.get_by_label("Date of birth")
    assert field.input_value() == "1980-02-30"
    assert field.get_attribute("aria-invalid") == "true"
    assert "dob-error" in (field.get_attribute("aria-describedby") or "")
    assert page.get_by_label("Patient name").input_value() == "Jane Doe"
    assert page.get_by_label("Therapist").input_value() == "Sam Lee"
    # Focus lands on the list of problems, whose link leads back to the field.
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert contrast(page, "#dob-error") >= 4.5
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "dob"
    shots(page, "bad-date")


def test_upload_a_filled_consent_form_and_see_the_flags(
    page: Any, front_desk: str, built: tuple[Path, Path], shots: Callable[..., Path], tmp_path: Path
) -> None:
    writer = PdfWriter(clone_from=PdfReader(built[0] / "out/tiny/en/tiny-consent-fillable.pdf"))
    values = {
        "contraindication.pregnancy": "/no",
        "contraindication.metal-allergy": "/yes",
        "consent.agree": "/Yes",
        "patient.name": "Jane Doe",
        "patient.signature": "Jane Doe",
        "patient.date": "2026-12-01",
    }
    writer.update_page_form_field_values(None, values, auto_regenerate=False)
    filled = tmp_path / "filled.pdf"
    with filled.open("wb") as handle:
        writer.write(handle)
    page.goto(front_desk)
    page.get_by_label("Filled consent form", exact=True).set_input_files(str(filled))
    page.get_by_role("button", name="Screen").click()
    result = page.locator("#screen-result")
    playwright_api.expect(result).to_contain_text("FLAGGED: 1 health question answered yes")
    flag = result.locator(".flag")
    playwright_api.expect(flag).to_have_count(1)
    playwright_api.expect(flag).to_contain_text("YES: Metal allergy")
    playwright_api.expect(flag).to_contain_text("(do not treat)")
    playwright_api.expect(flag).to_contain_text("Do not needle.")
    assert contrast(page, "#screen-result h3") >= 4.5
    assert contrast(page, "#screen-result .flag") >= 4.5
    shots(page, "screen-flagged")


def test_preview_reloads_when_content_changes(
    page: Any, make_project: Callable[..., Path], shots: Callable[..., Path]
) -> None:
    root = make_project()
    for base in serve(root, preview=True):
        page.goto(f"{base}/preview/")
        playwright_api.expect(page.locator("table.catalogue")).to_contain_text("Tiny information sheet")
        shots(page, "preview-catalogue")
        page.get_by_role("link", name="Tiny information sheet, print, as HTML").click()
        frame = page.frame_locator("#document-frame")
        playwright_api.expect(frame.locator("body")).to_contain_text("Thin needles go into tight muscles.")
        shots(page, "preview-document")
        doc = root / "content/documents/tiny-info/en.yaml"
        text = doc.read_text("utf-8")
        doc.write_text(text.replace("tight muscles", "stiff muscles"), "utf-8")
        frame = page.frame_locator("#document-frame")
        playwright_api.expect(frame.locator("body")).to_contain_text("Thin needles go into stiff muscles.")
        shots(page, "preview-edited")
        doc.write_text(text.replace("title: Tiny", "titel: Tiny"), "utf-8")
        problems = page.locator("#problems")
        playwright_api.expect(problems).to_contain_text(
            "content/documents/tiny-info/en.yaml:3: unknown key 'titel': did you mean 'title'?"
        )
        shots(page, "preview-problem")
