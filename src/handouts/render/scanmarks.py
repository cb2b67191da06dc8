"""The marks a scanner reads back from a printed consent page: a QR code and four corner squares.

Each page carries, in one Form XObject named /HandoutsScan, a QR code saying which form and
page it is (document, version, fingerprint, language, brand, page, page count, the id of the
recorded geometry, and in a packet the packet id) and four solid corner squares that fix the
page's geometry in a scan. A packet replaces the XObject to put its id in; the page's own
content stream only calls it, so that costs one small stream per page.

Positions are fixed distances from the page edges, in the margins every brand leaves empty
(19 mm at the sides): they do not depend on the layout, and large print has them too.
This module stays below the reader: intake/scan decodes payloads with `decode`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, unquote

MM = 72 / 25.4  # PDF points per millimetre

# Corner squares: solid, MARK_SIZE wide, centred MARK_INSET from both edges of their corner.
MARK_SIZE = 4 * MM
MARK_INSET = 9 * MM
# QR code: QR_SIZE square in the right margin, QR_RIGHT from the right edge, its bottom
# QR_BOTTOM above the bottom edge (clear of the footer and of the corner square below it).
# Nothing is drawn within 6.35 mm of an edge (what office printers print: tests/printcheck.py),
# and the text column begins at 19 mm: 12 mm is as large as the margin allows.
QR_SIZE = 12 * MM
QR_RIGHT = 6.5 * MM
QR_BOTTOM = 24 * MM
XOBJECT = "/HandoutsScan"
PAYLOAD_TAG = "HO1"  # upper-cased payload (QR alphanumeric mode: smaller code)
PAYLOAD_TAG_VERBATIM = "ho1"  # percent-encoded fields, byte mode

_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_LANG = re.compile(r"^([a-z]{2,3})(-[A-Z]{2})?$")
_HEX = re.compile(r"^[0-9a-f]+$")


@dataclass(frozen=True)
class ScanId:
    """What a page's QR code says."""

    document: str
    version: str
    fingerprint: str  # the short content fingerprint printed in the footer (7 hex)
    lang: str
    brand: str
    page: int  # 1-based
    pages: int
    map_id: str  # id of the recorded geometry (see formmap.py)
    packet: str | None = None

    def for_page(self, page: int) -> ScanId:
        return replace(self, page=page)

    @property
    def form_key(self) -> tuple[str, ...]:
        """Pages with the same key belong to copies of one printed form."""
        return (self.document, self.version, self.fingerprint, self.lang, self.brand, self.map_id,
                self.packet or "")  # fmt: skip


def encode(scan_id: ScanId) -> str:
    """The QR text of a page: upper case where that loses nothing (a smaller code)."""
    fields = [scan_id.document, scan_id.version, scan_id.fingerprint, scan_id.lang, scan_id.brand,
              str(scan_id.page), str(scan_id.pages), scan_id.map_id]  # fmt: skip
    if scan_id.packet:
        fields.append(scan_id.packet)
    plain = (
        all(_SLUG.match(f) for f in (scan_id.document, scan_id.brand, scan_id.packet or "x"))
        and _LANG.match(scan_id.lang)
        and _HEX.match(scan_id.fingerprint + scan_id.map_id)
        and re.match(r"^[0-9.]+$", scan_id.version)
    )
    if plain:
        return " ".join([PAYLOAD_TAG, *fields]).upper()
    return " ".join([PAYLOAD_TAG_VERBATIM, *(quote(f, safe="") for f in fields)])


def decode(text: str) -> ScanId:
    """Parse a page's QR text; raise ValueError when it is not one of ours."""
    parts = text.strip().split(" ")
    if not parts or parts[0] not in (PAYLOAD_TAG, PAYLOAD_TAG_VERBATIM) or len(parts) not in (9, 10):
        raise ValueError("not a handouts page code")
    fields = parts[1:]
    if parts[0] == PAYLOAD_TAG:
        lang_parts = fields[3].split("-", 1)
        lang = lang_parts[0].lower() + (f"-{lang_parts[1].upper()}" if len(lang_parts) > 1 else "")
        fields = [f.lower() for f in fields]
        fields[3] = lang
    else:
        fields = [unquote(f) for f in fields]
    document, version, fingerprint, lang, brand, page, pages, map_id = fields[:8]
    if not (page.isdigit() and pages.isdigit() and 1 <= int(page) <= int(pages) <= 99):
        raise ValueError("page number out of range")
    return ScanId(document, version, fingerprint, lang, brand, int(page), int(pages), map_id,
                  fields[8] if len(fields) == 9 else None)  # fmt: skip


@dataclass(frozen=True)
class Geometry:
    """Where the marks sit on a page of the given size (points, origin top left, y down)."""

    width: float
    height: float

    def marks(self) -> tuple[tuple[float, float], ...]:
        """Centres of the corner squares: top left, top right, bottom right, bottom left."""
        w, h, i = self.width, self.height, MARK_INSET
        return ((i, i), (w - i, i), (w - i, h - i), (i, h - i))

    def qr(self) -> tuple[float, float, float, float]:
        """The QR code's square: x, y (top left), width, height."""
        return (self.width - QR_RIGHT - QR_SIZE, self.height - QR_BOTTOM - QR_SIZE, QR_SIZE, QR_SIZE)


def qr_matrix(text: str) -> tuple[bytes, ...]:
    """The QR modules of text (1 = dark), without the quiet zone.

    The smallest symbol at error correction L, raised to the highest level that still fits it
    (segno's boost_error): at 12 mm, fewer and larger modules are what a photocopied page at
    150-200 dpi keeps readable (measured: bench/scanfigure.py); a page whose code is lost
    anyway is still identified by its layout (intake/scan/identify.py).
    """
    import segno

    code = segno.make_qr(text, error="l", boost_error=True)
    return tuple(bytes(row) for row in code.matrix)


def drawing(scan_id: ScanId, geometry: Geometry) -> bytes:
    """PDF content (default user space, origin bottom left) drawing the marks of one page."""
    h = geometry.height
    ops = ["0 g"]
    half = MARK_SIZE / 2
    for cx, cy in geometry.marks():
        ops.append(f"{cx - half:.3f} {h - cy - half:.3f} {MARK_SIZE:.3f} {MARK_SIZE:.3f} re")
    matrix = qr_matrix(encode(scan_id))
    x0, y0, size, _ = geometry.qr()
    module = size / len(matrix)
    for row, cells in enumerate(matrix):
        col = 0
        while col < len(cells):
            if not cells[col]:
                col += 1
                continue
            start = col
            while col < len(cells) and cells[col]:
                col += 1
            # A hair wider than the module, so adjacent runs leave no white seams.
            ops.append(
                f"{x0 + start * module:.3f} {h - y0 - (row + 1) * module:.3f} "
                f"{(col - start) * module + 0.02:.3f} {module + 0.02:.3f} re"
            )
    ops.append("f")
    return ("\n".join(ops) + "\n").encode("ascii")


def stamp(pdf: Any, page_index: int, scan_id: ScanId) -> None:
    """Draw (or redraw) one page's marks into pdf (a pikepdf.Pdf): replace /HandoutsScan if present."""
    from pikepdf import Array, Dictionary, Name, Stream

    page = pdf.pages[page_index]
    box = [float(v) for v in page.mediabox]
    geometry = Geometry(box[2] - box[0], box[3] - box[1])
    form = Stream(pdf, drawing(scan_id, geometry))
    form.Type = Name.XObject
    form.Subtype = Name.Form
    form.BBox = Array([0, 0, geometry.width, geometry.height])
    form.Resources = Dictionary()
    resources = page.obj.get("/Resources")
    # Pages may share one resources dictionary: each page gets its own, with its own code.
    own = Dictionary({str(k): v for k, v in resources.items()}) if resources is not None else Dictionary()
    xobjects = own.get("/XObject")
    had = xobjects is not None and XOBJECT in xobjects
    own_x = Dictionary({str(k): v for k, v in xobjects.items()}) if xobjects is not None else Dictionary()
    own_x[XOBJECT] = pdf.make_indirect(form)
    own.XObject = own_x
    page.obj.Resources = own
    if not had:
        # A scanner's mark, not content: an artifact for screen readers. Wrapped in q/Q so the
        # page's own graphics state cannot move it. Each added stream starts and ends with a
        # newline: some tools join a page's streams with nothing between them (CUPS's pdftopdf
        # did, making "QQ" of the page's last Q and ours, and the marks moved on the paper).
        page.contents_add(b"q\n", prepend=True)
        page.contents_add(f"\nQ\n/Artifact BMC q {XOBJECT} Do Q EMC\n".encode("ascii"))


def stamp_all(pdf: Any, scan_id: ScanId) -> None:
    """Stamp every page of pdf with scan_id's form, numbering the pages."""
    for index in range(len(pdf.pages)):
        stamp(pdf, index, scan_id.for_page(index + 1))


def stamped_ids(pdf: Any) -> list[bool]:
    """Which pages of pdf carry the scan marks (for tests and the packet step)."""
    out = []
    for page in pdf.pages:
        resources = page.obj.get("/Resources")
        xobjects = resources.get("/XObject") if resources is not None else None
        out.append(xobjects is not None and XOBJECT in xobjects)
    return out
