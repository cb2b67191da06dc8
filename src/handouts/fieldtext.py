"""Text-field appearances in the embedded field font, for pikepdf's form filler.

Our text fields use an embedded Type0 font (Identity-H: two bytes per glyph, glyph ids in
the font's own order; see scripts/make_field_font.py). pikepdf's own generators write
single-byte text (qpdf's algorithm: ASCII, WinAnsi and MacRoman only), so a name such as
Łukasz or Ольга came out as garbage. `FieldTextAppearance` plugs into `pikepdf.form.Form`
(its documented extension point): it maps each character to its glyph through the font's
/ToUnicode map, measures the line with the font's /W widths, shrinks the size when the
text is wider than the field, and draws one line, vertically centred, aligned per /Q.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from pikepdf import Array, Dictionary, Name, Stream
from pikepdf.form import AppearanceStreamGenerator

from handouts.errors import OutputError

PADDING = 2.0  # points between the field's edge and its text, as viewers draw it
_DA_FONT = re.compile(rb"/([^\s/\[\]()<>{}%]+)\s+(\d+(?:\.\d+)?)\s+Tf")
_BFCHAR = re.compile(rb"beginbfchar(.*?)endbfchar", re.S)
_BFRANGE = re.compile(rb"beginbfrange(.*?)endbfrange", re.S)
_PAIR = re.compile(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>")
_RANGE = re.compile(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>")


@dataclass(frozen=True)
class FieldFont:
    """What drawing text in one embedded Type0 font needs: glyphs, widths, vertical metrics."""

    glyphs: dict[str, int]  # character -> glyph id (CID)
    widths: dict[int, float]  # glyph id -> advance in 1/1000 em
    default_width: float
    ascent: float
    descent: float

    @classmethod
    def of(cls, font: Any) -> FieldFont:
        """The metrics of a font dictionary; parsed once per process for equal fonts."""
        if font.get("/Subtype") != "/Type0" or "/ToUnicode" not in font:
            raise OutputError("the form's field font is not an embedded Type0 font; rebuild the catalogue")
        cid_font = font.DescendantFonts[0]
        descriptor = cid_font.FontDescriptor
        to_unicode = font.ToUnicode.read_bytes()
        widths = cid_font.get("/W", Array())
        key = (
            hashlib.sha256(to_unicode).hexdigest(),
            hashlib.sha256(widths.unparse()).hexdigest(),
            float(cid_font.get("/DW", 1000)),
            float(descriptor.Ascent),
            float(descriptor.Descent),
        )
        if key not in _parsed:  # a packet meets the same font in the stamp and the consent form
            _parsed[key] = cls(_glyphs_from_to_unicode(to_unicode), _widths(widths), *key[2:])
        return _parsed[key]

    def width(self, glyphs: list[int], size: float) -> float:
        return sum(self.widths.get(g, self.default_width) for g in glyphs) * size / 1000


_parsed: dict[tuple[str, str, float, float, float], FieldFont] = {}


def _glyphs_from_to_unicode(cmap: bytes) -> dict[str, int]:
    """Invert a ToUnicode CMap: each single character to the first glyph that shows it."""
    glyphs: dict[str, int] = {}
    for block in _BFCHAR.findall(cmap):
        for glyph, text in _PAIR.findall(block):
            if len(text) == 4:  # one UTF-16 unit; longer: a ligature or a surrogate pair, not typed
                glyphs.setdefault(chr(int(text, 16)), int(glyph, 16))
    for block in _BFRANGE.findall(cmap):
        for low, high, first in _RANGE.findall(block):
            start, base = int(low, 16), int(first, 16)
            for glyph in range(start, int(high, 16) + 1):
                glyphs.setdefault(chr(base + glyph - start), glyph)
    return glyphs


def _widths(w: Any) -> dict[int, float]:
    """A CIDFont's /W array: `c [w1 w2 ...]` and `c_first c_last w` entries."""
    items = list(w)
    widths: dict[int, float] = {}
    i = 0
    while i + 1 < len(items):
        first = int(items[i])
        if isinstance(items[i + 1], Array):
            for offset, value in enumerate(items[i + 1]):
                widths[first + offset] = float(value)
            i += 2
        else:
            for glyph in range(first, int(items[i + 1]) + 1):
                widths[glyph] = float(items[i + 2])
            i += 3
    return widths


class FieldTextAppearance(AppearanceStreamGenerator):
    """pikepdf appearance generator for single-line text fields in an embedded Type0 font."""

    def __init__(self, pdf: Any, form: Any) -> None:
        super().__init__(pdf, form)
        self._fonts: dict[tuple[int, int], FieldFont] = {}

    def _font(self, font: Any) -> FieldFont:
        key = font.objgen
        if key not in self._fonts:
            self._fonts[key] = FieldFont.of(font)
        return self._fonts[key]

    def generate_text(self, field: Any) -> None:
        da = bytes(field.default_appearance)
        found = _DA_FONT.search(da)
        if found is None:
            raise OutputError(f"form field {field.fully_qualified_name} names no font; rebuild the catalogue")
        font_name = Name("/" + found.group(1).decode("latin-1"))
        font = field.default_resources.Font[font_name]
        metrics = self._font(font)
        text = field.value_as_string
        missing = [c for c in text if c not in metrics.glyphs]
        if missing:
            raise OutputError(f"the form font cannot print '{missing[0]}' (U+{ord(missing[0]):04X})")
        glyphs = [metrics.glyphs[c] for c in text]
        align = int(field.obj.get("/Q", 0))
        for annot in self.form.get_annotations_for_field(field):
            llx, lly, urx, ury = (float(v) for v in annot.obj.Rect)
            width, height = urx - llx, ury - lly
            size = float(found.group(2)) or min(12.0, height * 0.7)
            room = max(width - 2 * PADDING, 1.0)
            text_width = metrics.width(glyphs, size)
            if text_width > room:  # shrink to fit rather than run past the field's edge
                size *= room / text_width
                text_width = room
            x = (
                PADDING
                if align == 0
                else (width - text_width) / 2
                if align == 1
                else width - PADDING - text_width
            )
            y = (
                height - (metrics.ascent - metrics.descent) * size / 1000
            ) / 2 - metrics.descent * size / 1000
            state = _DA_FONT.sub(b"/" + found.group(1) + f" {size:.2f} Tf".encode(), da, count=1)
            shown = "".join(f"{g:04x}" for g in glyphs)
            content = b"/Tx BMC q BT " + state + f" {x:.2f} {y:.2f} Td <{shown}> Tj ET Q EMC".encode()
            if not text:
                content = b"/Tx BMC EMC"
            appearance = Stream(
                self.pdf,
                content,
                Type=Name.XObject,
                Subtype=Name.Form,
                BBox=[0, 0, width, height],
                Resources=Dictionary(Font=Dictionary({str(font_name): font})),
            )
            annot.obj.AP = Dictionary(N=self.pdf.make_indirect(appearance))

    def generate_choice(self, field: Any) -> None:
        raise OutputError(f"form field {field.fully_qualified_name}: choice fields are not supported")
