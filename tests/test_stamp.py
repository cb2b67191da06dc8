"""The packet's "Prepared for ..." stamp: set in the brand's font, cut to its glyphs, else the field font.

The tiny brand is switched to Open Sans (Debian's fonts-open-sans), whose regular face lacks
some letters the field font (a DejaVu Sans subset) has, such as the Azerbaijani schwa Ə
(U+018F; checked below with fontTools, not assumed).
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path
from typing import Any

import pikepdf
import pytest

import uacheck
from helpers import BRAND, copy_project, run_cli, write_tree

LATIN = "Zoë Łukasz-Ștefănescu"  # Latin letters Open Sans has, ș and ț included
SCHWA = "Əli Əliyev"  # Ə (U+018F): in the field font, not in Open Sans (its ə is in neither)
DETAILS = [
    "--dob",
    "1980-02-03",
    "--date",
    "2026-12-01",
    "--therapist",
    "Sam Lee",
    "--docs",
    "info,aftercare",
]


@pytest.fixture(scope="module")
def open_sans(tiny_built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built tiny project, its brand set in Open Sans (packets build what they need)."""
    root = copy_project(tiny_built, tmp_path_factory.mktemp("stamp") / "proj")
    write_tree(root, {"content/brands/tiny.yaml": BRAND.replace("font: DejaVu Sans", "font: Open Sans")})
    return root


def packet(root: Path, target: Path, name: str, *flags: str) -> Path:
    code, _, err = run_cli(root, "packet", "--patient", name, *DETAILS, *flags, "-o", str(target))
    assert code == 0, err
    return target


def stamp_fonts(path: Path) -> list[Any]:
    """The fonts the stamp (the /HandoutsStamp form on each document's first page) draws with."""
    found = []
    with pikepdf.open(path) as pdf:
        for page in pdf.pages:
            stamp = page.Resources.get("/XObject", {}).get("/HandoutsStamp")
            # A document's pages may share one /Resources (WeasyPrint's): only a page that draws
            # the stamp counts, not every page its resources reach.
            contents = page.Contents if isinstance(page.Contents, pikepdf.Array) else [page.Contents]
            if stamp is None or not any(b"/HandoutsStamp Do" in c.read_bytes() for c in contents):
                continue
            for inner in stamp.Resources.XObject.values():
                for font in inner.Resources.Font.values():
                    descriptor = font.DescendantFonts[0].FontDescriptor
                    program = descriptor.FontFile2.read_bytes()
                    found.append((str(font.BaseFont), program, font.objgen))
    return found


def first_page_text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-l", "1", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def pdffonts(path: Path) -> list[list[str]]:
    rows = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, text=True).stdout
    return [line.split() for line in rows.splitlines()[2:]]


def drawn_glyphs(program: bytes) -> int:
    """How many glyphs of a TrueType program have an outline (the rest are cut away)."""
    from fontTools.ttLib import TTFont

    with TTFont(io.BytesIO(program)) as font:
        glyf = font["glyf"]
        return sum(1 for name in font.getGlyphOrder() if glyf[name].numberOfContours != 0)


def test_open_sans_really_lacks_the_schwa_the_field_font_has() -> None:
    from fontTools.ttLib import TTFont

    from handouts.render.stampfont import face_file

    face = face_file("Open Sans")
    assert face is not None and face.name == "OpenSans-Regular.ttf"
    field_font = Path(__file__).parents[1] / "src/handouts/theme/fonts/HandoutsFields.ttf"
    with TTFont(face) as brand, TTFont(field_font) as fields:
        assert all(ord(c) in brand.getBestCmap() for c in LATIN)
        assert ord("Ə") not in brand.getBestCmap() and ord("Ə") in fields.getBestCmap()
    assert face_file("No Such Family Anywhere") is None  # fontconfig's stand-in is not taken for it


@pytest.mark.parametrize("large", [False, True])
def test_a_latin_name_is_stamped_in_a_subset_of_the_brand_font(
    open_sans: Path, tmp_path: Path, large: bool
) -> None:
    flags = ["--large-print"] if large else []
    target = packet(open_sans, tmp_path / "p.pdf", LATIN, *flags)
    fonts = stamp_fonts(target)
    assert len(fonts) == 2  # the info sheet's and the aftercare sheet's first pages
    assert len({objgen for *_, objgen in fonts}) == 1  # one font object, shared
    name, program, _ = fonts[0]
    tag, _, face = name.lstrip("/").partition("+")
    # Open Sans' own PostScript name, made its own (render/stampfont._rename: print queues).
    assert face == "OpenSansStamp" and len(tag) == 6 and tag.isupper(), name
    # Cut to the line's glyphs: its distinct characters (and .notdef), not Open Sans' 900.
    line = " ".join(first_page_text(target).split())
    assert f"Prepared for {LATIN}, December 1, 2026, therapist Sam Lee" in line
    assert drawn_glyphs(program) <= len(set(line)) + 1
    assert len(program) < 12_000
    rows = pdffonts(target)
    assert rows and all(row[-5] == "yes" for row in rows), rows  # every font embedded
    assert not any("Handouts-Fields" in row[0] for row in rows)  # no field font rides along


def test_a_letter_the_brand_font_lacks_falls_back_to_the_field_font(open_sans: Path, tmp_path: Path) -> None:
    target = packet(open_sans, tmp_path / "p.pdf", SCHWA)
    fonts = stamp_fonts(target)
    # The field font whole: the very font the consent form's fields use (render/stampfont.py).
    assert fonts and all(name.endswith("+Handouts-Fields") for name, *_ in fonts), fonts
    text = " ".join(first_page_text(target).split())
    assert f"Prepared for {SCHWA}, December 1, 2026" in text  # readable back, letter for letter
    assert all(row[-5] == "yes" for row in pdffonts(target))


def test_the_same_packet_twice_is_the_same_bytes(open_sans: Path, tmp_path: Path) -> None:
    for name in (LATIN, SCHWA):
        first = packet(open_sans, tmp_path / "a.pdf", name).read_bytes()
        second = packet(open_sans, tmp_path / "b.pdf", name, "--large-print")
        assert packet(open_sans, tmp_path / "c.pdf", name).read_bytes() == first
        assert (
            second.read_bytes() == packet(open_sans, tmp_path / "d.pdf", name, "--large-print").read_bytes()
        )


def test_stamped_packets_in_either_font_pass_pdfua(open_sans: Path, tmp_path: Path) -> None:
    files = [
        packet(open_sans, tmp_path / "latin.pdf", LATIN),
        packet(open_sans, tmp_path / "schwa.pdf", SCHWA, "--large-print"),
        open_sans / "out/tiny/en/_packet-stamp.pdf",
    ]
    reports = uacheck.run_pdfua(files)
    assert {str(f): uacheck.pdfua_problems(r) for f, r in reports.items()} == {str(f): [] for f in files}
    assert all(not uacheck.check(f) for f in files)


def test_the_stamp_page_carries_the_brand_face_beside_the_field_font(open_sans: Path, tmp_path: Path) -> None:
    packet(open_sans, tmp_path / "p.pdf", LATIN)  # builds the stamp for the Open Sans brand
    with pikepdf.open(open_sans / "out/tiny/en/_packet-stamp.pdf") as pdf:
        fonts = pdf.Root.AcroForm.DR.Font
        brand = fonts["/HandoutsBrand"]
        assert "+OpenSans" in str(brand.BaseFont)
        program = brand.DescendantFonts[0].FontDescriptor.FontFile2.read_bytes()
        # Prepared: Open Sans cut to what the field font covers, no hinting or layout tables.
        from fontTools.ttLib import TTFont

        with TTFont(io.BytesIO(program)) as face:
            assert "GPOS" not in face and "fpgm" not in face
            assert ord("ș") in face.getBestCmap() and ord("Ə") not in face.getBestCmap()
