"""The shipped catalogue: content validates, and every built PDF says what the issue asks."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import REPO, pdftotext, run_cli, starter_text

BRANDS = ["demo", "turning-point"]
DOCS = ["dry-needling-aftercare", "dry-needling-consent", "dry-needling-info"]


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("catalogue") / "out"
    code, _, err = run_cli(REPO, "build", "--out", str(target))
    assert code == 0, err
    return target


def flat(path: Path) -> str:
    return " ".join(pdftotext(path).split())


def test_shipped_content_validates() -> None:
    code, out, err = run_cli(REPO, "validate")
    assert code == 0, err
    assert out.startswith("ok: 3 documents, 2 brands")


def test_every_document_for_every_brand(out: Path) -> None:
    for brand in BRANDS:
        for doc in DOCS:
            assert (out / brand / "en" / f"{doc}.pdf").is_file()
    assert (out / "manifest.json").is_file()


@pytest.mark.parametrize("brand", BRANDS)
def test_information_sheet_sections(out: Path, brand: str) -> None:
    text = flat(out / brand / "en/dry-needling-info.pdf")
    for phrase in (
        "intramuscular stimulation",
        "trigger point",
        "twitch",
        "A-delta",
        "C fibres",
        "endorphins",
        "enkephalins",
        "inflammation",
        "blood",
        "central sensitization",
        "stress",
        "sterile",
        "prick",
        "Sports injuries",
        "not right for everyone",
        "consent form",
        "How to reach us",
    ):
        assert phrase.lower() in text.lower(), phrase
    for label in ("Fear of needles", "Pregnancy", "Allergy to metal", "Recent surgery"):
        assert label in text


@pytest.mark.parametrize("brand", BRANDS)
def test_aftercare_sheet_sections(out: Path, brand: str) -> None:
    text = flat(out / brand / "en/dry-needling-aftercare.pdf").lower()
    for phrase in (
        "soreness",
        "ice or heat",
        "exercises",
        "shortness of breath",
        "chest pain",
        "collapsed lung",
        "emergency",
    ):
        assert phrase in text, phrase


@pytest.mark.parametrize("brand", BRANDS)
def test_consent_form_sections_and_checklist(out: Path, brand: str) -> None:
    text = flat(out / brand / "en/dry-needling-consent.pdf")
    lower = text.lower()
    for phrase in (
        "not acupuncture",
        "pneumothorax",
        "blood",
        "bruising",
        "chest wall",
        "hours later",
        "other physiotherapy",
        "ask questions",
        "change your mind",
        "patient name",
        "date of birth",
        "therapist name",
        "witness",
    ):
        assert phrase in lower, phrase
    import yaml

    items = yaml.safe_load(starter_text("contraindications/en.yaml"))["items"]
    assert len(items) == 8
    for item in items:
        assert " ".join(item["question"].split()) in text, item["id"]


def test_turning_point_prints_no_blanks_or_placeholders(out: Path) -> None:
    for doc in DOCS:
        text = flat(out / "turning-point/en" / f"{doc}.pdf")
        assert "Turning Point Physical Therapy" in text and "Edmonton" in text
        for absent in ("Phone", "Email", "Website", "Address", "None", "TODO", "555-"):
            assert absent not in text, (doc, absent)


def test_demo_brand_shows_every_field(out: Path) -> None:
    text = flat(out / "demo/en/dry-needling-info.pdf")
    for value in ("100 Example Street", "555-0142", "hello@example.org", "www.example.org"):
        assert value in text


def test_sizes(out: Path) -> None:
    for brand in BRANDS:
        folder = out / brand / "en"
        assert (folder / "dry-needling-info.pdf").stat().st_size < 60_000
        assert (folder / "dry-needling-aftercare.pdf").stat().st_size < 60_000
        assert (folder / "dry-needling-consent.pdf").stat().st_size < 80_000
        assert (folder / "dry-needling-consent-fillable.pdf").stat().st_size < 150_000


def test_pdffonts_shows_every_font_embedded(out: Path) -> None:
    for pdf in sorted(out.rglob("*.pdf")):
        lines = subprocess.run(
            ["pdffonts", str(pdf)], check=True, capture_output=True, text=True
        ).stdout.splitlines()[2:]
        assert lines, pdf
        for line in lines:
            columns = line.split()
            assert columns[-5] == "yes", (pdf, line)  # the 'emb' column


def _green_pixels_in_header(pdf: Path, tmp_path: Path) -> int:
    from PIL import Image

    subprocess.run(
        ["pdftoppm", "-r", "40", "-f", "1", "-l", "1", "-png", "-singlefile", str(pdf), str(tmp_path / "p")],
        check=True,
    )
    with Image.open(tmp_path / "p.png") as image:
        header = image.convert("RGB").crop((0, 0, image.width // 3, image.height // 8))
        raw = header.tobytes()
        pixels = zip(raw[0::3], raw[1::3], raw[2::3], strict=True)
        return sum(1 for r, g, b in pixels if g > r + 40 and g > b + 20)


def test_logo_is_drawn_for_the_demo_brand_only(out: Path, tmp_path: Path) -> None:
    # The demo logo's river is green (#2e8b57); nothing else in a header is.
    assert _green_pixels_in_header(out / "demo/en/dry-needling-info.pdf", tmp_path) > 10
    assert _green_pixels_in_header(out / "turning-point/en/dry-needling-info.pdf", tmp_path) == 0


def test_second_build_into_other_folder_is_byte_identical(out: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    code, _, err = run_cli(REPO, "build", "--out", str(other))
    assert code == 0, err
    for pdf in out.rglob("*.pdf"):
        rel = pdf.relative_to(out)
        assert pdf.read_bytes() == (other / rel).read_bytes(), rel
    assert (out / "manifest.json").read_bytes() == (other / "manifest.json").read_bytes()
    shutil.rmtree(other)


def test_shipped_catalogue_prints_well(out: Path) -> None:
    """The print test (tests/printcheck.py) on every document of the shipped catalogue."""
    import printcheck

    found = printcheck.check_catalogue(REPO, out=out)
    assert len(found) == 32  # 2 brands x 2 languages x 8 documents and variants
    assert {name: [str(p) for p in problems] for name, problems in found.items() if problems} == {}


def test_shipped_catalogue_is_pdfua(out: Path) -> None:
    """pdfua and our own PDF/UA checks (tests/uacheck.py) on every built output."""
    import uacheck

    files = sorted(out.rglob("*.pdf"))
    assert len(files) == 40
    reports = uacheck.run_pdfua(files)
    assert {name: found for name, r in reports.items() if (found := uacheck.pdfua_problems(r))} == {}
    assert {f.name: found for f in files if (found := [str(p) for p in uacheck.check(f)])} == {}
