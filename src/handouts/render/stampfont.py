"""The brand's font for the packet stamp: prepared once per build, cut down to its glyphs per packet.

The "Prepared for ..." line is typed into a form field at packet time, so WeasyPrint never
sees its text. Its field font (HandoutsFields.ttf, a DejaVu Sans subset) covers every letter a
patient's name may hold, but it is not the brand's font the text around it is set in. So:

- at build time (`add_brand_font`), the stamp page gets the brand's regular face as a second
  font of its form, named /HandoutsBrand: the face fontconfig gives for the family (as Pango
  does for the body text), cut with fontTools to the characters the field font covers, without
  hinting or layout tables (the stamp draws glyph by glyph, with the /W widths);
- at packet time the stamp is drawn in that font when it has every character of the line, else
  in the field font. The brand's font is then cut down (`subset_font`) to the glyphs the
  line uses, glyph ids kept, so the page's content stays valid and the packet carries a few
  kilobytes of font, not the whole face. The field font stays whole: it is the very font the
  consent form's fields use, and a copy cut differently under the same PostScript name would
  be mistaken for it when a print queue turns the packet into PostScript (see `_rename`).

Both cuts are deterministic (no timestamps, a subset tag hashed from the glyphs) and cached
per font (and glyph set): preparing Lato (3000 glyphs, large layout tables) with fontTools
takes about 0.5 s, once per build; cutting the prepared font with HarfBuzz about 1 ms.
"""

from __future__ import annotations

import hashlib
import io
from functools import cache
from pathlib import Path
from typing import Any

from handouts.errors import OutputError

BRAND_FONT = "/HandoutsBrand"  # the brand font's name in the stamp form's /DR
_BFCHAR_BLOCK = 100  # a CMap's bfchar block holds at most 100 entries


def face_file(family: str) -> Path | None:
    """The brand's regular TrueType face, or None (validate warns: content.brandcheck)."""
    from handouts.content.brandcheck import stamp_face, stamp_face_problem

    path = stamp_face(family)
    if path is None or stamp_face_problem(family, path) is not None:
        return None
    return path


def add_brand_font(pdf_bytes: bytes, family: str, ranges: tuple[tuple[int, int], ...]) -> bytes:
    """The stamp PDF with the brand's face (cut to ranges) in its form's /DR, or as it was."""
    import pikepdf

    path = face_file(family)
    if path is None:
        return pdf_bytes
    stat = path.stat()
    prepared = _prepared(path, (stat.st_size, stat.st_mtime_ns), ranges)
    if prepared is None:
        return pdf_bytes
    with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
        if "/AcroForm" not in pdf.Root or "/DR" not in pdf.Root.AcroForm:
            return pdf_bytes
        resources = pdf.Root.AcroForm.DR
        if "/Font" not in resources:
            resources.Font = pikepdf.Dictionary()
        resources.Font[BRAND_FONT] = _type0(pdf, prepared)
        buffer = io.BytesIO()
        pdf.save(buffer, deterministic_id=True)
    return buffer.getvalue()


@cache
def _prepared(path: Path, version: tuple[int, int], ranges: tuple[tuple[int, int], ...]) -> bytes | None:
    """The face cut to the ranges it covers (version: a font upgraded in place is a new key)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    with TTFont(path, recalcTimestamp=False, fontNumber=0) as font:
        if "glyf" not in font:
            return None  # a CFF face would need FontFile3; the field font stays
        points = [p for p in font.getBestCmap() if any(low <= p <= high for low, high in ranges)]
        options = _options(retain_gids=False)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=points)
        subsetter.subset(font)
        _rename(font)
        buffer = io.BytesIO()
        font.save(buffer, reorderTables=True)
    return buffer.getvalue()


def _rename(font: Any) -> None:
    """Give the prepared face a PostScript name of its own: "LatoStamp-Regular".

    Printed through CUPS, a PDF goes to PostScript and back, and fonts are matched by that
    name on the way: the body's "Lato-Regular" subset then stood in for the stamp's, whose
    glyph ids differ, and the line came out as garbage (tests/test_printing.py).
    """
    names = font["name"]
    postscript = str(names.getDebugName(6) or "Brand").replace(" ", "")
    family, dash, style = postscript.partition("-")
    own = f"{family}Stamp{dash}{style}"
    for record in names.names:
        if record.nameID == 6:
            record.string = own


def _options(retain_gids: bool) -> Any:
    from fontTools import subset

    options = subset.Options()
    options.hinting = False
    options.layout_features = []
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "kern", "DSIG", "FFTM"]  # FFTM: FontForge's dates
    options.name_IDs = [1, 2, 4, 6]
    options.notdef_outline = True
    options.glyph_names = False
    options.retain_gids = retain_gids
    options.recalc_timestamp = False
    return options


def _type0(pdf: Any, program: bytes) -> Any:
    """A Type0 font (Identity-H, CIDs = glyph ids) for a TrueType program, every glyph mapped."""
    from fontTools.ttLib import TTFont
    from pikepdf import Array, Dictionary, Name, String

    with TTFont(io.BytesIO(program), recalcTimestamp=False) as font:
        scale = 1000 / font["head"].unitsPerEm
        order = font.getGlyphOrder()
        gid = {name: number for number, name in enumerate(order)}
        texts: dict[int, str] = {}
        for point, name in sorted(font.getBestCmap().items()):
            texts.setdefault(gid[name], chr(point))
        metrics = font["hmtx"].metrics
        widths = {number: round(metrics[name][0] * scale, 3) for number, name in enumerate(order)}
        head, hhea = font["head"], font["hhea"]
        box = [round(v * scale) for v in (head.xMin, head.yMin, head.xMax, head.yMax)]
        ascent, descent = round(hhea.ascent * scale), round(hhea.descent * scale)
        cap = getattr(font["OS/2"], "sCapHeight", 0) if "OS/2" in font else 0
        postscript = str(font["name"].getDebugName(6) or "Brand").replace(" ", "-")
        family = str(font["name"].getDebugName(1) or postscript)
    base = Name(f"/{tag(program, sorted(texts))}+{postscript}")
    descriptor = Dictionary(
        Type=Name.FontDescriptor,
        FontName=base,
        FontFamily=String(family),
        Flags=32,
        FontBBox=Array(box),
        ItalicAngle=0,
        Ascent=ascent,
        Descent=descent,
        CapHeight=round(cap * scale) or ascent,
        StemV=80,
        FontFile2=pdf.make_stream(program, Length1=len(program)),
    )
    cid_font = Dictionary(
        Type=Name.Font,
        Subtype=Name.CIDFontType2,
        BaseFont=base,
        CIDSystemInfo=Dictionary(Registry=String("Adobe"), Ordering=String("Identity"), Supplement=0),
        FontDescriptor=pdf.make_indirect(descriptor),
        CIDToGIDMap=Name.Identity,
        DW=1000,
        W=w_array(widths),
    )
    return pdf.make_indirect(
        Dictionary(
            Type=Name.Font,
            Subtype=Name.Type0,
            BaseFont=base,
            Encoding=Name("/Identity-H"),
            DescendantFonts=Array([pdf.make_indirect(cid_font)]),
            ToUnicode=pdf.make_stream(to_unicode(texts)),
        )
    )


@cache
def cut(program: bytes, glyphs: frozenset[int], chars: frozenset[str]) -> bytes:
    """program keeping only glyphs (ids unchanged) and its cmap for chars; once per set.

    HarfBuzz's subsetter (uharfbuzz), not fontTools': a packet waits for this, and fontTools'
    subset module alone takes about 0.2 s to import; HarfBuzz imports in 25 ms, cuts in 1 ms.
    """
    import uharfbuzz as hb

    wanted = hb.SubsetInput()
    wanted.glyph_set.update(glyphs)
    wanted.unicode_set.update(ord(c) for c in chars)
    wanted.flags = (
        hb.SubsetFlags.RETAIN_GIDS
        | hb.SubsetFlags.NO_HINTING
        | hb.SubsetFlags.NOTDEF_OUTLINE
        | hb.SubsetFlags.NO_LAYOUT_CLOSURE
    )
    for table in ("GSUB", "GPOS", "GDEF", "kern", "DSIG"):
        wanted.drop_table_tag_set.add(hb_tag(table))
    result = hb.subset(hb.Face(program), wanted)
    if result is None:
        raise OutputError("the stamp's font could not be subset; rebuild the catalogue")
    return bytes(result.blob.data)


def hb_tag(table: str) -> int:
    """A table tag as HarfBuzz's sets hold it: four bytes, big-endian."""
    return int.from_bytes(table.encode("ascii"), "big")


def tag(program: bytes, glyphs: list[int]) -> str:
    """The six capital letters a subset's name starts with, from what it holds (not random)."""
    digest = hashlib.sha256(program + ",".join(map(str, glyphs)).encode()).digest()
    return "".join(chr(ord("A") + b % 26) for b in digest[:6])


def w_array(widths: dict[int, float]) -> Any:
    """A CIDFont's /W: runs of consecutive glyph ids, `first [w1 w2 ...]`."""
    from pikepdf import Array

    items: list[Any] = []
    run: list[float] = []
    start = previous = -2
    for glyph in sorted(widths):
        if glyph != previous + 1 and run:
            items += [start, Array(run)]
            run = []
        if not run:
            start = glyph
        run.append(widths[glyph])
        previous = glyph
    if run:
        items += [start, Array(run)]
    return Array(items)


def to_unicode(texts: dict[int, str]) -> bytes:
    """A ToUnicode CMap mapping each glyph id (two bytes) to its character."""
    lines = [
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap",
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
        b"/CMapName /Adobe-Identity-UCS def /CMapType 2 def",
        b"1 begincodespacerange <0000> <ffff> endcodespacerange",
    ]
    pairs = sorted(texts.items())
    for first in range(0, len(pairs), _BFCHAR_BLOCK):
        block = pairs[first : first + _BFCHAR_BLOCK]
        lines.append(f"{len(block)} beginbfchar".encode())
        lines += [f"<{g:04x}> <{c.encode('utf-16-be').hex()}>".encode() for g, c in block]
        lines.append(b"endbfchar")
    lines.append(b"endcmap CMapName currentdict /CMap defineresource pop end end")
    return b"\n".join(lines) + b"\n"
