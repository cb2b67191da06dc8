"""Every patient can read it: tagged PDFs, large print, French documents and dates."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from helpers import INFO, LOGO_BRAND, SVG, french_files, page_texts, run_cli

Make = Callable[..., Path]


@pytest.fixture(scope="module")
def project(french_built: Path) -> Path:
    """The tiny project with French and a brand with a logo, built once per run (never changed)."""
    return french_built


def walk(node: Any) -> list[Any]:
    """Every element of a structure tree, depth first."""
    found = []
    stack = [node]
    while stack:
        item = stack.pop()
        item = item.get_object() if hasattr(item, "get_object") else item
        if isinstance(item, list):
            stack.extend(item)
        elif hasattr(item, "get") and "/S" in item:
            found.append(item)
            kids = item.get("/K")
            if kids is not None:
                stack.append(kids)
    return found


@pytest.mark.parametrize("variant", ["", "-large-print"])
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_tagged_pdf_with_language_title_and_structure(project: Path, lang: str, variant: str) -> None:
    reader = PdfReader(project / f"out/tiny/{lang}/tiny-info{variant}.pdf")
    root = reader.trailer["/Root"]
    assert root["/Lang"] == lang
    assert bool(root["/MarkInfo"]["/Marked"])
    assert bool(root["/ViewerPreferences"]["/DisplayDocTitle"])
    assert reader.metadata.title
    roles = Counter(str(e["/S"]) for e in walk(root["/StructTreeRoot"]["/K"]))
    assert roles["/H1"] == 1
    assert roles["/H2"] >= 2
    assert roles["/P"] >= 2
    assert roles["/L"] >= 1 and roles["/LI"] >= 2


def test_logo_has_alt_text_in_the_structure_tree(project: Path) -> None:
    root = PdfReader(project / "out/logo/en/tiny-info.pdf").trailer["/Root"]
    figures = [e for e in walk(root["/StructTreeRoot"]["/K"]) if e["/S"] == "/Figure"]
    assert [str(f.get("/Alt")) for f in figures] == ["Logo Clinic, a blue square"]


def test_logo_without_alt_text_fails_validation(make_project: Make) -> None:
    root = make_project(
        {
            "content/brands/tiny.yaml": LOGO_BRAND.replace("logo_alt: Logo Clinic, a blue square\n", ""),
            "content/brands/logo.svg": SVG,
        }
    )
    code, _, err = run_cli(root, "validate")
    assert code == 2
    assert (
        "content/brands/tiny.yaml:1: 'logo_alt' is required with 'logo': add what a screen reader says" in err
    )


def text_sizes(path: Path) -> Counter[float]:
    """Characters per effective font size (points), from the PDF's text operators."""
    sizes: Counter[float] = Counter()

    def visit(text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        if text.strip():
            sizes[round(size * abs(tm[3]) * abs(cm[3]), 1)] += len(text.strip())

    for page in PdfReader(path).pages:
        page.extract_text(visitor_text=visit)
    return sizes


@pytest.mark.parametrize("doc", ["tiny-info", "tiny-aftercare", "tiny-consent", "tiny-consent-fillable"])
def test_large_print_sizes(project: Path, doc: str) -> None:
    name = f"{doc}-large-print" if not doc.endswith("fillable") else "tiny-consent-fillable-large-print"
    large = text_sizes(project / f"out/tiny/en/{name}.pdf")
    assert min(large) >= 16, large  # every line, footer and labels included
    assert max(large) >= 18  # headings
    regular = text_sizes(project / f"out/tiny/en/{doc}.pdf")
    assert regular.most_common(1)[0][0] < 16  # the print variant really is smaller


def test_large_print_boxes_and_fields_scale(project: Path) -> None:
    def widths(path: Path) -> list[float]:
        reader = PdfReader(path)
        return [
            abs(float(a.get_object()["/Rect"][2]) - float(a.get_object()["/Rect"][0]))
            for p in reader.pages
            for a in p.get("/Annots", [])
            # Radio buttons: widgets without a field type of their own.
            if a.get_object().get("/Parent") is not None and "/FT" not in a.get_object()
        ]

    small = widths(project / "out/tiny/en/tiny-consent-fillable.pdf")
    large = widths(project / "out/tiny/en/tiny-consent-fillable-large-print.pdf")
    assert small and large and min(large) > max(small) * 1.3


def test_french_documents_and_untranslated_fallback(project: Path) -> None:
    text = " ".join(page_texts(project / "out/tiny/fr/tiny-info.pdf"))
    assert "Petite fiche" in text and "De fines aiguilles" in text
    assert "Page 1 de" in text
    consent = " ".join(" ".join(page_texts(project / "out/tiny/fr/tiny-consent.pdf")).split())
    assert "Êtes-vous enceinte" in consent and "Oui" in consent and "Non" in consent
    # The aftercare sheet has no French yet: built from English, with a warning.
    fallback = " ".join(page_texts(project / "out/tiny/fr/tiny-aftercare.pdf"))
    assert "Tiny aftercare sheet" in fallback and "Page 1 de" in fallback
    code, _, err = run_cli(project, "validate")
    assert code == 0
    assert (
        "content/documents/tiny-aftercare/fr.yaml: warning: not translated; the fr output falls back to en"
        in err
    )


def test_lagging_translation_warns_and_strict_fails(make_project: Make) -> None:
    files = french_files()
    root = make_project({**files, "content/documents/tiny-info/en.yaml": INFO.replace('"1.0"', '"1.1"')})
    code, _, err = run_cli(root, "validate")
    assert code == 0
    assert (
        "content/documents/tiny-info/fr.yaml:5: warning: translation lags: it translates version 1.0 "
        "but en is at 1.1"
    ) in err
    code, _, err = run_cli(root, "validate", "--strict")
    assert code == 2


def test_french_packet_has_french_text_and_dates(project: Path, tmp_path: Path) -> None:
    target = tmp_path / "p.pdf"
    code, _, err = run_cli(
        project,
        "packet",
        "--patient",
        "Léa Tremblay",
        "--dob",
        "1980-02-03",
        "--date",
        "2026-12-01",
        "--therapist",
        "Sam Lee",
        "--lang",
        "fr",
        "--brand",
        "tiny",
        "--docs",
        "info,consent",
        "-o",
        str(target),
    )
    assert code == 0, err
    text = " ".join(" ".join(page_texts(target)).split())
    assert "Préparé pour Léa Tremblay, 1 décembre 2026, thérapeute Sam Lee" in text
    assert "1980-02-03" in text  # on the consent form
    assert "Petite fiche" in text
    assert PdfReader(target).trailer["/Root"]["/Lang"] == "fr"
