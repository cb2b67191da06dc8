"""Layout fixes of issue 19, measured in the PDFs: field widgets (pypdf), drawn lines
(pdfplumber), word boxes (poppler's pdftotext -bbox)."""

from __future__ import annotations

import re
import subprocess
from html import unescape
from pathlib import Path

import pytest

from helpers import CONSENT, copy_project, page_texts, repository_project, run_cli, write_tree
from helpers import french as french_files_of_tiny

MM = 72 / 25.4
MARGIN_X = 19 * MM  # templates/styles/handout.css @page
MARGIN_X_LARGE = 22 * MM  # templates/styles/large-print.css @page


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped consent form (demo, English) built in its four variants."""
    root = repository_project(tmp_path_factory.mktemp("real") / "proj")  # the starter documents
    code, _, err = run_cli(root, "build", "--only", "dry-needling-consent", "--brand", "demo", "--lang", "en")
    assert code == 0, err
    return root / "out/demo/en"


def words(pdf: Path, page: int) -> list[tuple[float, float, float, float, str]]:
    """(x0, top, x1, bottom, text) of each word on a page (1-based), by poppler."""
    xml = subprocess.run(
        ["pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(pdf), "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    found = re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', xml
    )
    return [(float(a), float(b), float(c), float(d), unescape(t)) for a, b, c, d, t in found]


def lines_of(found: list[tuple[float, float, float, float, str]]) -> list[str]:
    rows: dict[int, list[tuple[float, str]]] = {}
    for x0, top, _, _, text in found:
        rows.setdefault(round(top), []).append((x0, text))
    return [" ".join(t for _, t in sorted(row)) for _, row in sorted(rows.items())]


# --- the fillable consent's fields --------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["dry-needling-consent-fillable.pdf", "dry-needling-consent-fillable-large-print.pdf"]
)
def test_fillable_fields_stay_inside_the_margins_and_level_with_their_neighbours(
    real: Path, name: str
) -> None:
    import pdfplumber
    from pypdf import PdfReader

    pdf = real / name
    margin = MARGIN_X_LARGE if "large" in name else MARGIN_X
    reader = PdfReader(pdf)
    text_fields = 0
    for page in reader.pages:
        right = float(page.mediabox.width) - margin
        for ref in page.get("/Annots", []) or []:
            widget = ref.get_object()
            if widget.get("/FT", widget.get("/Parent", {}).get("/FT")) != "/Tx":
                continue
            x0, _, x1, _ = (float(v) for v in widget["/Rect"])
            assert x0 >= margin - 0.1 and x1 <= right + 0.1, (name, x0, x1, margin, right)
            text_fields += 1
    assert text_fields == 5
    # The lines under fields and blanks: each row's lines end level (the therapist's name
    # field beside the blank signature line, in the two-column print layout).
    with pdfplumber.open(pdf) as doc:
        for page in doc.pages:
            right = float(page.width) - margin
            underlines = [r for r in page.rects if r["x1"] - r["x0"] > 100 and r["bottom"] > 300]
            for rect in underlines:
                assert rect["x0"] >= margin - 0.1 and rect["x1"] <= right + 0.1, rect
            rows: dict[int, set[float]] = {}
            for rect in underlines:
                rows.setdefault(round(rect["top"] / 4), set()).add(round(rect["bottom"], 1))
            for bottoms in rows.values():
                assert max(bottoms) - min(bottoms) <= 1.0, bottoms  # 0.75 pt: the line's own width


# --- the printed consent: what is agreed and the patient's signature together -------------------


@pytest.mark.parametrize("name", ["dry-needling-consent.pdf", "dry-needling-consent-large-print.pdf"])
def test_the_statement_and_the_patients_signature_share_a_page(real: Path, name: str) -> None:
    texts = [" ".join(t.split()) for t in page_texts(real / name)]
    statement = [i for i, t in enumerate(texts) if "I have read and understood this form" in t]
    signature = [i for i, t in enumerate(texts) if "Patient name" in t]
    assert statement and signature and statement == signature, (statement, signature)


# --- the large-print footer -------------------------------------------------------------------


def test_a_wrapping_large_print_footer_keeps_the_fingerprint_with_its_date(real: Path) -> None:
    from pypdf import PdfReader

    pdf = real / "dry-needling-consent-large-print.pdf"
    fingerprint = str(PdfReader(pdf).metadata["/handoutsfingerprint"])[:7]
    footer = [line for line in lines_of(words(pdf, 1)) if fingerprint in line or "effective" in line]
    (line,) = [line for line in footer if fingerprint in line]
    assert line.strip() != fingerprint  # never alone on its line
    assert re.search(rf"effective 2026-11-01 · {fingerprint}", line), footer


# --- the "Prepared for" stamp ---------------------------------------------------------------


@pytest.fixture(scope="module")
def french(module_built: Path) -> Path:
    """The built tiny project with a French consent form."""
    root = copy_project(module_built, module_built.parent / "french")
    write_tree(
        root,
        {
            **french_files_of_tiny(),
            "content/documents/tiny-consent/fr.yaml": CONSENT + 'translates: "1.0"\n',
        },
    )
    return root


LONG_AREA = "left upper trapezius and the muscles around the shoulder blade"


@pytest.mark.parametrize("large", [False, True])
def test_the_stamp_lines_up_with_the_text_and_leaves_room_above_the_title(
    module_built: Path, tmp_path: Path, large: bool
) -> None:
    out = tmp_path / "p.pdf"
    flags = ["--large-print"] if large else []
    code, _, err = run_cli(
        module_built, "packet", "--patient", "Jane Doe", "--docs", "info", "--date", "2026-12-01",
        "--therapist", "Sam Lee", "--area", LONG_AREA, *flags, "-o", str(out),
    )  # fmt: skip
    assert code == 0, err
    found = words(out, 1)
    prepared = next(w for w in found if w[4] == "Prepared")
    stamp_rows = sorted({round(w[1]) for w in found if w[1] >= prepared[1] - 1 and w[3] < prepared[3] + 60})
    title = next(w for w in found if w[4] == "Tiny" and w[1] > prepared[1])  # "Tiny information sheet"
    stamp_bottom = max(w[3] for w in found if prepared[1] - 1 <= w[1] < title[1])
    margin = MARGIN_X_LARGE if large else MARGIN_X
    assert prepared[0] == pytest.approx(margin, abs=0.3)  # the text column's edge, not 4-5 pt in
    assert title[0] == pytest.approx(prepared[0], abs=0.3)
    assert len(stamp_rows) >= 2  # the long line wrapped
    assert title[1] - stamp_bottom >= (4 * MM if large else 1.5 * MM), (title, stamp_bottom)


def test_a_french_stamp_writes_the_colon_as_french_does(french: Path, tmp_path: Path) -> None:
    out = tmp_path / "fr.pdf"
    code, _, err = run_cli(
        french, "packet", "--patient", "Léa T", "--lang", "fr", "--docs", "consent", "--area", "épaule",
        "-o", str(out),
    )  # fmt: skip
    assert code == 0, err
    text = " ".join(" ".join(page_texts(out)).split())
    assert "région : épaule" in text
    english = tmp_path / "en.pdf"
    code, _, err = run_cli(
        french, "packet", "--patient", "Jo T", "--docs", "consent", "--area", "neck", "-o", str(english)
    )
    assert code == 0, err
    assert "area: neck" in " ".join(" ".join(page_texts(english)).split())
