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
LEADING = 1.2  # line height of multiline fields, in font sizes
MULTILINE = 1 << 12  # the text-field flag for several lines
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


class TextTooLong(OutputError):
    """The text would have to shrink below the generator's smallest size to fit its field."""


class FieldTextAppearance(AppearanceStreamGenerator):
    """pikepdf appearance generator for single-line text fields in an embedded Type0 font."""

    # The smallest fraction of the form's font size text may shrink to (0: no limit).
    min_scale = 0.0
    # Points between the field's edge and its text.
    padding = PADDING

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
        text = field.value_as_string
        font_name, font = self._choose_font(field, text, Name("/" + found.group(1).decode("latin-1")))
        metrics = self._font(font)
        missing = [c for c in text if c not in metrics.glyphs]
        if missing:
            raise OutputError(f"the form font cannot print '{missing[0]}' (U+{ord(missing[0]):04X})")
        align = int(field.obj.get("/Q", 0))
        multiline = bool(int(field.obj.get("/Ff", 0)) & MULTILINE)
        for annot in self.form.get_annotations_for_field(field):
            llx, lly, urx, ury = (float(v) for v in annot.obj.Rect)
            width, height = abs(urx - llx), abs(ury - lly)
            wanted = float(found.group(2)) or min(12.0, height * 0.7)
            size, lines = self._layout(metrics, text, wanted, width, height, multiline, self.padding)
            if size < wanted * self.min_scale:
                raise TextTooLong(f"'{field.fully_qualified_name}' is too long to print legibly")
            em = size / 1000
            line_height = size * LEADING if len(lines) > 1 else height
            top = (height + line_height * len(lines)) / 2  # the block of lines, centred
            state = _DA_FONT.sub(str(font_name).encode() + f" {size:.2f} Tf".encode(), da, count=1)
            # The baseline within each line's box: the glyphs' box centred, then down to the base.
            baseline = (line_height - (metrics.ascent - metrics.descent) * em) / 2 - metrics.descent * em
            shown = []
            for number, line in enumerate(lines):
                glyphs = [metrics.glyphs[c] for c in line]
                line_width = metrics.width(glyphs, size)
                pad = self.padding
                x = {1: (width - line_width) / 2, 2: width - pad - line_width}.get(align, pad)
                y = top - (number + 1) * line_height + baseline
                hexed = "".join(f"{g:04x}" for g in glyphs)
                shown.append(f"1 0 0 1 {x:.2f} {y:.2f} Tm <{hexed}> Tj".encode())
            content = b"/Tx BMC q BT " + state + b" " + b" ".join(shown) + b" ET Q EMC"
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

    def _choose_font(self, field: Any, text: str, name: Any) -> tuple[Any, Any]:
        """The font to draw text in, and its name in the resources: the one /DA names."""
        return name, field.default_resources.Font[name]

    def generate_choice(self, field: Any) -> None:
        raise OutputError(f"form field {field.fully_qualified_name}: choice fields are not supported")

    @staticmethod
    def _layout(
        metrics: FieldFont,
        text: str,
        size: float,
        width: float,
        height: float,
        multiline: bool,
        padding: float,
    ) -> tuple[float, list[str]]:
        """The largest size up to `size` at which text fits the field, and its lines.

        One line: shrink to the field's width. Several (a multiline field): wrap at spaces,
        shrinking until the lines fit both the width and the height.
        """
        room = max(width - 2 * padding, 1.0)
        if not multiline:
            text_width = metrics.width([metrics.glyphs[c] for c in text], size)
            return (size * room / text_width if text_width > room else size), [text]
        while True:
            lines = _wrap(metrics, text, size, room)
            widest = max(metrics.width([metrics.glyphs[c] for c in line], size) for line in lines)
            fits_height = len(lines) * size * LEADING <= height or len(lines) == 1
            if widest <= room and fits_height:
                return size, lines
            if size < 2:  # nothing legible fits: let the caller's minimum refuse it
                return size, lines
            size *= 0.95


def _wrap(metrics: FieldFont, text: str, size: float, room: float) -> list[str]:
    """Greedy word wrap at spaces; a word wider than the room stays whole on its line."""
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        candidate = f"{line} {word}" if line else word
        if line and metrics.width([metrics.glyphs[c] for c in candidate], size) > room:
            lines.append(line)
            line = word
        else:
            line = candidate
    return [*lines, line]


class StampTextAppearance(FieldTextAppearance):
    """The packet's "Prepared for ..." line: shrinks a little, never to an unreadable size.

    It is flattened onto the page (no viewer redraws it), so its text starts at the field's
    edge: the slot's edge, the text column's (templates/styles/handout.css .prepared-field).
    """

    min_scale = 0.6
    padding = 0.0

    def _choose_font(self, field: Any, text: str, name: Any) -> tuple[Any, Any]:
        """The brand's font (see render/stampfont.py) if it has every character, else the field's."""
        from handouts.render.stampfont import BRAND_FONT

        brand = field.default_resources.Font.get(BRAND_FONT)
        if brand is not None and all(c in self._font(brand).glyphs for c in text):
            return Name(BRAND_FONT), brand
        return super()._choose_font(field, text, name)


def subset_font(pdf: Any, font: Any, glyphs: set[int]) -> None:
    """Cut an embedded Type0 TrueType font of pdf (CIDs = glyph ids) to glyphs, in place."""
    from handouts.render.stampfont import cut, tag, to_unicode, w_array

    metrics = FieldFont.of(font)
    cid_font = font.DescendantFonts[0]
    descriptor = cid_font.FontDescriptor
    keep = frozenset(glyphs | {0})
    texts = {g: c for c, g in sorted(metrics.glyphs.items(), reverse=True) if g in keep}
    program = cut(descriptor.FontFile2.read_bytes(), keep, frozenset(texts.values()))
    base = Name(f"/{tag(program, sorted(keep))}+{str(descriptor.FontName)[1:].split('+', 1)[-1]}")
    descriptor.FontFile2 = pdf.make_stream(program, Length1=len(program))
    descriptor.FontName = base
    cid_font.BaseFont = font.BaseFont = base
    cid_font.W = w_array({g: metrics.widths.get(g, metrics.default_width) for g in keep})
    font.ToUnicode = pdf.make_stream(to_unicode(texts))
    if "/CIDSet" in descriptor:
        del descriptor.CIDSet  # it would list the glyphs cut away
