"""Text-field appearances in the embedded field font (pikepdf's form filler plug-in)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pikepdf
import pytest
from pikepdf.form import Form, TextField
from pypdf import PdfReader

from helpers import page_texts

CONSENT = "out/tiny/en/tiny-consent-fillable.pdf"


@pytest.fixture(scope="module")
def project(tiny_built: Path) -> Path:
    return tiny_built  # read only


def fill(path: Path, values: dict[str, str]) -> pikepdf.Pdf:
    from handouts.packet.fieldtext import FieldTextAppearance

    pdf = pikepdf.open(path)
    form = Form(pdf, FieldTextAppearance)
    for name, value in values.items():
        field = form[name]
        assert isinstance(field, TextField)
        field.value = value
    return pdf


def appearance(pdf: pikepdf.Pdf, name: str) -> tuple[bytes, list[float]]:
    for field in Form(pdf):
        if field.fully_qualified_name == name:
            stream = field.obj.AP.N
            return stream.read_bytes(), [float(v) for v in stream.BBox]
    raise AssertionError(f"no field {name}")


def test_non_latin_names_are_drawn_in_the_field_font_and_read_back(project: Path, tmp_path: Path) -> None:
    name = "Łukasz Żółć-Ольга Σοφία"
    pdf = fill(project / CONSENT, {"patient.name": name})
    content, _ = appearance(pdf, "patient.name")
    assert re.search(rb"<[0-9a-f]+> Tj", content)  # two-byte glyph ids, not single-byte text
    from handouts.packet.assemble import drop_form

    pdf.flatten_annotations("print")
    drop_form(pdf)  # the widgets never filled (signature) go, as in a printed packet
    target = tmp_path / "flat.pdf"
    pdf.save(target)
    assert any(name in text for text in page_texts(target))
    # Not flattened, the value itself stays readable by other libraries.
    buffer = io.BytesIO()
    fill(project / CONSENT, {"patient.name": name}).save(buffer)
    fields = PdfReader(buffer).get_fields() or {}
    assert fields["patient.name"].get("/V") == name


def test_long_text_shrinks_to_fit_the_field(project: Path) -> None:
    from handouts.packet.fieldtext import PADDING, FieldFont

    short = fill(project / CONSENT, {"patient.name": "Jo"})
    long = fill(project / CONSENT, {"patient.name": "Wolfeschlegelsteinhausenbergerdorff " * 3})
    short_size = float(re.search(rb"([\d.]+) Tf", appearance(short, "patient.name")[0]).group(1))  # type: ignore[union-attr]
    content, bbox = appearance(long, "patient.name")
    size = float(re.search(rb"([\d.]+) Tf", content).group(1))  # type: ignore[union-attr]
    assert size < short_size
    font = next(f for f in long.Root.AcroForm.DR.Font.values() if f.get("/Subtype") == "/Type0"
                and "Fields" in str(f.BaseFont))  # fmt: skip
    metrics = FieldFont.of(font)
    glyphs = [metrics.glyphs[c] for c in "Wolfeschlegelsteinhausenbergerdorff " * 3]
    assert metrics.width(glyphs, size) <= bbox[2] - 2 * PADDING + 0.01


def test_a_character_the_font_lacks_is_refused_not_garbled(project: Path) -> None:
    from handouts.errors import OutputError

    with pytest.raises(OutputError, match="U\\+738B"):
        fill(project / CONSENT, {"patient.name": "王"})


def test_a_long_stamp_line_wraps_inside_the_band(project: Path) -> None:
    from handouts.packet.fieldtext import PADDING, FieldFont, StampTextAppearance

    line = "Prepared for " + "Maximiliana Bartholomew-Featherstonehaugh, therapist Sam Lee, " * 2
    pdf = pikepdf.open(project / "out/tiny/en/_packet-stamp.pdf")
    form = Form(pdf, StampTextAppearance)
    field = form["prepared.for"]
    assert isinstance(field, TextField)
    field.value = line.strip()
    content, bbox = appearance(pdf, "prepared.for")
    rows = re.findall(rb"1 0 0 1 ([\d.]+) ([\d.]+) Tm <([0-9a-f]+)> Tj", content)
    assert len(rows) == 2  # two lines, not one line shrunk to a whisper
    size = float(re.search(rb"([\d.]+) Tf", content).group(1))  # type: ignore[union-attr]
    (font,) = list(field.obj.AP.N.Resources.Font.values())  # the font the appearance draws with
    metrics = FieldFont.of(font)
    for x, y, hexed in rows:
        glyphs = [int(hexed[i : i + 4], 16) for i in range(0, len(hexed), 4)]
        assert float(x) + metrics.width(glyphs, size) <= bbox[2] - PADDING + 0.01
        assert 0 <= float(y) <= bbox[3]
    assert float(rows[0][1]) > float(rows[1][1])  # first line on top


def test_the_stamp_field_uses_the_small_field_font(project: Path) -> None:
    stamp = project / "out/tiny/en/_packet-stamp.pdf"
    pdf = pikepdf.open(stamp)
    (field,) = [f.obj for f in Form(pdf)]
    name = re.search(rb"/(\S+) [\d.]+ Tf", bytes(field.DA)).group(1)  # type: ignore[union-attr]
    font = pdf.Root.AcroForm.DR.Font[pikepdf.Name("/" + name.decode())]
    assert str(font.BaseFont).endswith("+Handouts-Fields")  # not a whole monospace font (~300 KB)
    # Two fonts of about 1000 glyphs each: the field font and the brand's face cut to the same
    # characters (render/stampfont.py). A packet takes only the glyphs drawn (test_stamp.py).
    assert stamp.stat().st_size < 160_000
