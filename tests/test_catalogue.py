"""The shipped catalogue: content validates, and every built PDF says what the issue asks."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pikepdf
import pytest
import yaml

from helpers import REPO, page_texts, pdftotext, run_cli, starter_text

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


# The title of the clinic's public page the starter documents' facts come from (../shared/seeds/).
SEED_TITLE = "Dry Needling and IMS Therapy in Edmonton"
WARNING_SIGNS = {
    "en": ("Warning signs that need urgent care", "Shortness of breath", "Chest pain", "Trouble breathing"),
    "fr": (
        "Signes qui demandent des soins urgents",
        "Essoufflement",
        "Douleur à la poitrine",
        "Difficulté à respirer",
    ),
}
DRAFT = {
    "en": "Draft: not yet approved by a clinician",
    "fr": "Brouillon : pas encore approuvé par un clinicien",
}


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("brand", BRANDS)
@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("variant", ["", "-large-print"])
def test_aftercare_warning_signs_are_on_page_one(out: Path, brand: str, lang: str, variant: str) -> None:
    first = _flat(page_texts(out / brand / lang / f"dry-needling-aftercare{variant}.pdf")[0])
    for phrase in WARNING_SIGNS[lang]:
        assert _flat(phrase) in first, phrase


@pytest.mark.parametrize("brand", BRANDS)
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_key_points_come_first_on_info_and_aftercare(out: Path, brand: str, lang: str) -> None:
    heading = {"en": "The main points", "fr": "L'essentiel"}[lang]
    for doc in ("dry-needling-info", "dry-needling-aftercare"):
        first = _flat(page_texts(out / brand / lang / f"{doc}.pdf")[0])
        model = yaml.safe_load(starter_text(f"documents/{doc}/{lang}.yaml"))
        assert 1 <= len(model["key_points"]) <= 3
        start = first.index(heading)
        assert (
            first.index(_flat(model["title"])) < start < first.index(_flat(model["sections"][0]["heading"]))
        )
        for point in model["key_points"]:
            assert _flat(point) in first


def test_starter_documents_are_drafts_with_their_record_at_the_end(out: Path) -> None:
    """Every page of every shipped output says Draft; the record ends the last page, and the
    PDF's metadata carries it (document info and XMP)."""
    checked = 0
    for path in sorted(out.glob("*/*/dry-needling-*.pdf")):
        lang = path.parent.name
        pages = [_flat(text) for text in page_texts(path)]
        for number, text in enumerate(pages, 1):
            assert DRAFT[lang] in text, (path, number)
        review = {"en": "Review by 2027-11-01", "fr": "À revoir avant le 2027-11-01"}[lang]
        assert review in pages[-1] and SEED_TITLE in pages[-1], path
        assert not any(review in text for text in pages[:-1]), path
        with pikepdf.open(path) as pdf:
            info = pdf.docinfo
            assert str(info["/handoutsreviewby"]) == "2027-11-01"
            assert str(info["/handoutsapprovedby"]) == ""
            assert SEED_TITLE in str(info["/handoutssources"])
            with pdf.open_metadata() as xmp:
                assert xmp["dc:source"] == str(info["/handoutssources"])
        checked += 1
    assert checked == 32  # 2 brands x 2 languages x (2 sheets x 2 variants + consent x 4)


def test_feedback_line_only_where_the_brand_gives_one(out: Path) -> None:
    demo = _flat(page_texts(out / "demo/en/dry-needling-info.pdf")[-1])
    assert "Tell us what you think of this leaflet: feedback@example.org" in demo
    for lang in ("en", "fr"):
        text = _flat(" ".join(page_texts(out / "turning-point" / lang / "dry-needling-info.pdf")))
        assert "Tell us" not in text and "Dites-nous" not in text and "@" not in text
