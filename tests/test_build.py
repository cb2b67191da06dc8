"""Building the catalogue: outputs, their contents, the manifest, incremental and safe writes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from pypdf import PdfReader

from helpers import INFO, THEME, override, page_texts, pdftotext, run_cli, unembedded_fonts

Make = Callable[..., Path]


@pytest.fixture(scope="module")
def built(module_built: Path) -> Path:
    """The tiny project as built once per run (with two workers), for this module's tests."""
    return module_built


DOCUMENTS = [
    "tiny/en/tiny-aftercare-large-print.pdf",
    "tiny/en/tiny-aftercare.pdf",
    "tiny/en/tiny-consent-fillable-large-print.pdf",
    "tiny/en/tiny-consent-fillable.pdf",
    "tiny/en/tiny-consent-large-print.pdf",
    "tiny/en/tiny-consent.pdf",
    "tiny/en/tiny-info-large-print.pdf",
    "tiny/en/tiny-info.pdf",
]
STAMPS = ["tiny/en/_packet-stamp-large-print.pdf", "tiny/en/_packet-stamp.pdf"]
EXPECTED = sorted(DOCUMENTS + STAMPS)


def test_outputs_and_manifest(built: Path) -> None:
    out = built / "out"
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.pdf")) == EXPECTED
    manifest = json.loads((out / "manifest.json").read_text())
    entries = {e["path"]: e for e in manifest["outputs"]}
    assert sorted(entries) == EXPECTED
    consent = entries["tiny/en/tiny-consent.pdf"]
    assert consent["document"] == "tiny-consent"
    assert consent["brand"] == "tiny" and consent["lang"] == "en"
    assert consent["version"] == "1.0"
    assert consent["pages"] == len(PdfReader(out / consent["path"]).pages)
    import hashlib

    assert consent["sha256"] == hashlib.sha256((out / consent["path"]).read_bytes()).hexdigest()
    assert not list(out.rglob("*.partial"))


def test_consent_has_every_section_and_contraindication(built: Path) -> None:
    text = pdftotext(built / "out/tiny/en/tiny-consent.pdf")
    for heading in ("Treatment", "Benefits", "Risks", "Alternatives", "Questions", "Withdrawal"):
        assert f"{heading} heading" in text
    for label, question in (
        ("Pregnancy", "Are you pregnant, or could you be?"),
        ("Metal allergy", "Are you allergic to metal?"),
    ):
        assert label in text and question in text
    for line in (
        "Patient name (please print)",
        "Date of birth",
        "Therapist name (please print)",
        "Witness or guardian (if needed)",
        "I agree to treatment.",
    ):
        assert line in text


def test_info_sheet_lists_contraindications_and_contact(built: Path) -> None:
    text = pdftotext(built / "out/tiny/en/tiny-info.pdf")
    assert "Pregnancy" in text and "Metal allergy" in text
    assert "How to reach us" in text and "Testville" in text


def test_brand_name_and_page_numbers_on_every_page(built: Path) -> None:
    for rel in DOCUMENTS:
        pages = page_texts(built / "out" / rel)
        for number, text in enumerate(pages, 1):
            assert "Tiny Clinic" in text, (rel, number)
            assert f"Page {number} of {len(pages)}" in text, (rel, number)


def test_footer_shows_provenance(built: Path) -> None:
    manifest = json.loads((built / "out/manifest.json").read_text())
    for entry in manifest["outputs"]:
        if entry["path"] in STAMPS:
            continue
        text = page_texts(built / "out" / entry["path"])[0]
        assert f"Version {entry['version']}" in text
        assert entry["content_fingerprint"][:7] in text


def test_page_size_fonts_and_metadata(built: Path) -> None:
    for rel in DOCUMENTS:
        path = built / "out" / rel
        reader = PdfReader(path)
        for page in reader.pages:
            assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (612, 792)
        assert unembedded_fonts(path) == []
        meta = reader.metadata
        assert meta is not None
        assert meta.author == "Tiny Clinic"
        assert meta.title.startswith("Tiny ")
        assert meta.subject
        assert "tiny" in meta["/Keywords"]
        assert meta["/CreationDate"].startswith("D:20261101")
        name = rel.split("/")[-1].removesuffix(".pdf").removesuffix("-large-print")
        assert meta["/handoutsdoc"] == name.removesuffix("-fillable")
        assert reader.trailer["/Root"]["/Lang"] == "en"


def test_second_build_renders_nothing_and_second_out_is_byte_identical(built: Path) -> None:
    code, _, err = run_cli(built, "build")
    assert code == 0
    assert "built 0, unchanged 10" in err
    code, _, err = run_cli(built, "build", "--out", str(built / "other"), "-j", "1")
    assert code == 0, err
    for rel in EXPECTED + ["manifest.json"]:
        assert (built / "out" / rel).read_bytes() == (built / "other" / rel).read_bytes(), rel


def test_checklist_rows_are_never_split_across_pages(make_project: Make, tmp_path: Path) -> None:
    from handouts.render.output import render_output
    from handouts.render.outputs import OutputSpec

    items = "".join(
        f"  - id: item-{i}\n    label: Label {i}\n    question: Is question number {i} true"
        " for you today, as far as you know, and would you like to tell us more?\n"
        "    severity: check-with-therapist\n    therapist_note: Ask.\n"
        for i in range(40)
    )
    root = make_project({"content/contraindications/en.yaml": f"version: '1.0'\nitems:\n{items}"})
    rendered = render_output(root, OutputSpec("tiny", "en", "tiny-consent"))  # the render stage alone
    assert not isinstance(rendered, Exception), rendered
    (tmp_path / "consent.pdf").write_bytes(rendered.pdf)
    pages = page_texts(tmp_path / "consent.pdf")
    assert len(pages) >= 3
    for i in range(40):
        holding = [n for n, text in enumerate(pages) if f"Label {i}\n" in text + "\n"]
        assert len(holding) == 1, i
        flat = " ".join(pages[holding[0]].split())
        assert f"Is question number {i} true for you today" in flat
        assert "would you like to tell us more?" in flat


def test_failing_document_leaves_others_built_and_old_pdf_intact(built_project: Path) -> None:
    root = built_project
    assert run_cli(root, "build")[0] == 0
    old = (root / "out/tiny/en/tiny-info.pdf").read_bytes()
    (root / "content/documents/tiny-info/en.yaml").write_text(INFO.replace("title:", "titel:"))
    (root / "content/documents/tiny-aftercare/en.yaml").write_text(
        (root / "content/documents/tiny-aftercare/en.yaml").read_text().replace("Soreness", "Aches")
    )
    code, _, err = run_cli(root, "build")
    assert code == 2
    assert "content/documents/tiny-info/en.yaml:3: unknown key 'titel'" in err
    assert "built 2, unchanged 6" in err
    assert (root / "out/tiny/en/tiny-info.pdf").read_bytes() == old
    assert "Aches" in pdftotext(root / "out/tiny/en/tiny-aftercare.pdf")
    manifest = json.loads((root / "out/manifest.json").read_text())
    assert "tiny/en/tiny-info.pdf" in {e["path"] for e in manifest["outputs"]}


def test_invalid_content_writes_nothing(make_project: Make) -> None:
    root = make_project({"content/brands/tiny.yaml": "name: X\n"})
    code, out, err = run_cli(root, "build")
    assert code == 2
    assert (
        "content/brands/tiny.yaml:1: colors is missing: add 'colors:' with its keys (primary, accent)" in err
    )
    assert not (root / "out").exists() or not list((root / "out").rglob("*.pdf"))


def test_unknown_brand_is_a_usage_error(tiny: Path) -> None:
    code, _, err = run_cli(tiny, "build", "--brand", "nope")
    assert code == 2
    assert err.strip() == "unknown brand 'nope'; choose from: tiny"


def test_render_html_has_absolute_asset_urls(tiny: Path, tmp_path: Path) -> None:
    target = tmp_path / "page.html"
    code, _, err = run_cli(tiny, "render", "tiny-info", "--html", "-o", str(target))
    assert code == 0, err
    html = target.read_text()
    # The theme's stylesheet, from the package: the project has no templates of its own.
    assert f'href="{(THEME / "styles/handout.css").resolve().as_uri()}"' in html
    override(tiny, "templates/styles/handout.css")
    code, _, err = run_cli(tiny, "render", "tiny-info", "--html", "-o", str(target))
    assert f'href="{(tiny / "templates/styles/handout.css").as_uri()}"' in target.read_text()
    code, _, err = run_cli(tiny, "render", "tiny-consent", "-o", str(tmp_path / "c.pdf"))
    assert code == 0, err
    assert "Pregnancy" in pdftotext(tmp_path / "c.pdf")


def test_list_shows_outputs(tiny: Path) -> None:
    code, out, _ = run_cli(tiny, "list")
    assert code == 0
    for rel in EXPECTED:
        assert rel in out
