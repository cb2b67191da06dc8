"""The print test: does every page of an output print well? Measured from the output itself.

From the PDF (PDFium's page objects through pypdfium2: text, image and drawing boxes, and the
marked-content id of each; pikepdf's structure tree for what a piece of text is):

- page size: every page is the brand's size (letter or A4);
- inside the page: no text, image or drawing beyond the page's edges;
- printable margins: nothing within PRINTABLE_MARGIN_MM of an edge (office printers cannot
  print there; 6.35 mm, a quarter inch, is the usual safe figure);
- fill: no page of a multi-page document, except the last, is less than a fifth full
  (tagged text from the page's first line down, against the fullest page's bottom);
- headings: no heading is the lowest text of its page (its section starts on the next page).

From WeasyPrint's layout boxes (the PDF's tags cannot say it: WeasyPrint tags each page's part
of an element as an element of its own, so a split row looks like two rows):

- no table row, no step of a numbered list, and nothing styled `break-inside: avoid` has
  parts on two pages.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pikepdf
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from pikepdf import Array, Dictionary, NumberTree

PRINTABLE_MARGIN_MM = 6.35
MIN_FILL = 0.2
PAGE_SIZES = {"letter": (612.0, 792.0), "a4": (595.276, 841.89)}
HEADING = re.compile(r"^/H[1-6]?$")
PT_PER_MM = 72 / 25.4
KINDS = {
    pdfium_c.FPDF_PAGEOBJ_TEXT: "text",
    pdfium_c.FPDF_PAGEOBJ_IMAGE: "image",
    pdfium_c.FPDF_PAGEOBJ_PATH: "drawing",
    pdfium_c.FPDF_PAGEOBJ_SHADING: "drawing",
    pdfium_c.FPDF_PAGEOBJ_FORM: "drawing",  # a form XObject, measured as a whole
}


@dataclass(frozen=True)
class Problem:
    """One print problem: which check, on which page (1-based), and what."""

    check: str
    page: int
    message: str

    def __str__(self) -> str:
        return f"{self.check}: page {self.page}: {self.message}"


@dataclass(frozen=True)
class Ink:
    """One thing drawn on a page, in points from the page's top-left corner."""

    kind: str  # text, image or drawing
    x0: float
    top: float
    x1: float
    bottom: float
    mcid: int | None  # None: an artifact (or untagged)
    text: str = ""


@dataclass(frozen=True)
class Page:
    width: float
    height: float
    ink: list[Ink]

    def content_text(self) -> list[Ink]:
        """Text that is tagged content (not a header, footer or other artifact)."""
        return [i for i in self.ink if i.kind == "text" and i.mcid is not None]


def read_pages(path: Path | str) -> list[Page]:
    """Every page's size and what is drawn on it (top-level page objects, as PDFium sees them)."""
    pdf = pdfium.PdfDocument(path)
    try:
        pages = []
        for page in pdf:
            width, height = page.get_size()
            textpage = page.get_textpage()
            ink = []
            for obj in page.get_objects(max_depth=0, textpage=textpage):
                kind = KINDS.get(obj.type)
                if kind is None:
                    continue
                text = obj.extract() if isinstance(obj, pdfium.PdfTextObj) else ""
                if kind == "text" and not text.strip():
                    continue
                left, low, right, high = obj.get_bounds()
                mcid = pdfium_c.FPDFPageObj_GetMarkedContentID(obj.raw)  # -1: none
                tagged = mcid if mcid >= 0 else None
                ink.append(Ink(kind, left, height - high, right, height - low, tagged, text))
            pages.append(Page(width, height, ink))
        return pages
    finally:
        pdf.close()


def check_pdf(path: Path | str, page_size: str | None = None) -> list[Problem]:
    """Every PDF-measured check on the file (page_size: the brand's, 'letter' or 'a4')."""
    with pikepdf.open(path) as structure:
        roles = _roles_by_mcid(structure)
    pages = read_pages(path)
    return [*_size_and_margins(pages, page_size), *_fill(pages), *_headings_at_bottom(pages, roles)]


def _size_and_margins(pages: list[Page], page_size: str | None) -> list[Problem]:
    problems = []
    limit = PRINTABLE_MARGIN_MM * PT_PER_MM
    for number, page in enumerate(pages, start=1):
        width, height = page.width, page.height
        if page_size is not None:
            want_w, want_h = PAGE_SIZES[page_size]
            if abs(width - want_w) > 1 or abs(height - want_h) > 1:
                problems.append(
                    Problem(
                        "page-size",
                        number,
                        f"{width:.0f} x {height:.0f} pt, not {page_size} ({want_w:.0f} x {want_h:.0f})",
                    )
                )
        outside: dict[str, int] = defaultdict(int)
        closest: dict[str, tuple[float, str, str]] = {}
        for item in page.ink:
            if item.kind == "drawing" and (item.x1 - item.x0 < 0.01 and item.bottom - item.top < 0.01):
                continue
            if item.x0 < -0.5 or item.top < -0.5 or item.x1 > width + 0.5 or item.bottom > height + 0.5:
                outside[item.kind] += 1
                continue
            for edge, distance in (
                ("left", item.x0),
                ("top", item.top),
                ("right", width - item.x1),
                ("bottom", height - item.bottom),
            ):
                if distance < limit and (edge not in closest or distance < closest[edge][0]):
                    closest[edge] = (distance, item.kind, " ".join(item.text.split()))
        for kind, count in sorted(outside.items()):
            problems.append(Problem("inside-page", number, f"{count} {kind} item(s) beyond the page's edge"))
        for edge, (distance, kind, sample) in sorted(closest.items()):
            what = f"{kind} {sample!r}" if sample else kind
            problems.append(
                Problem(
                    "printable-margin",
                    number,
                    f"{what} at {distance / PT_PER_MM:.1f} mm from the {edge} edge "
                    f"(printable margin {PRINTABLE_MARGIN_MM} mm)",
                )
            )
    return problems


def _fill(pages: list[Page]) -> list[Problem]:
    if len(pages) < 2:
        return []
    extents = []
    for page in pages:
        text = page.content_text()
        extents.append((min(i.top for i in text), max(i.bottom for i in text)) if text else None)
    bottom = max((e[1] for e in extents if e), default=0.0)
    problems = []
    for number, extent in enumerate(extents[:-1], start=1):
        fill = 0.0 if extent is None else (extent[1] - extent[0]) / max(bottom - extent[0], 1.0)
        if fill < MIN_FILL:
            problems.append(
                Problem("fill", number, f"only {fill:.0%} full (a page before the last needs 20%)")
            )
    return problems


def _roles_by_mcid(pdf: pikepdf.Pdf) -> dict[tuple[int, int], list[str]]:
    """(page index, MCID) -> the roles of its element and the element's ancestors."""
    tree = pdf.Root.get("/StructTreeRoot")
    if tree is None or "/ParentTree" not in tree:
        return {}
    parents = {int(k): v for k, v in NumberTree(tree.ParentTree).items()}
    found: dict[tuple[int, int], list[str]] = {}
    for index, page in enumerate(pdf.pages):
        key = page.obj.get("/StructParents")
        marks = parents.get(int(key)) if key is not None else None
        if not isinstance(marks, Array):
            continue
        for mcid, element in enumerate(marks):
            chain = []
            while isinstance(element, Dictionary) and "/S" in element and len(chain) < 50:
                chain.append(str(element.S))
                element = element.get("/P")
            found[(index, mcid)] = chain
    return found


def _headings_at_bottom(pages: list[Page], roles: dict[tuple[int, int], list[str]]) -> list[Problem]:
    problems = []
    for index, page in enumerate(pages):
        text = page.content_text()
        if not text:
            continue
        lowest = max(text, key=lambda i: i.bottom)
        assert lowest.mcid is not None
        chain = roles.get((index, lowest.mcid), [])
        heading = next((role for role in chain if HEADING.match(role)), None)
        if heading is not None:
            on_line = [i for i in text if abs(i.bottom - lowest.bottom) < 1]
            line = " ".join("".join(i.text for i in sorted(on_line, key=lambda i: i.x0)).split())
            problems.append(
                Problem(
                    "heading-at-bottom", index + 1, f"{heading[1:]} {line!r} is the last line of the page"
                )
            )
    return problems


def render_layout(html: Path) -> Any:
    """WeasyPrint's laid-out document for an HTML file (as `handouts render --html` writes it)."""
    import weasyprint

    return weasyprint.HTML(filename=str(html)).render()


def check_layout(document: Any) -> list[Problem]:
    """No table row, numbered step or `break-inside: avoid` element split over two pages."""
    from weasyprint.formatting_structure import boxes

    pages_of: dict[int, list[int]] = defaultdict(list)
    described: dict[int, str] = {}

    def visit(box: Any, parent_tag: str | None, page: int) -> None:
        element = box.element
        repeated = box.element_tag == "tr" and parent_tag in ("thead", "tfoot")  # on every page by design
        if element is not None and box.element_tag == getattr(element, "tag", None) and not repeated:
            kind = None
            if box.element_tag == "tr":
                kind = "table row"
            elif box.element_tag == "li" and parent_tag == "ol":
                kind = "numbered step"
            elif box.style["break_inside"] in ("avoid", "avoid-page"):
                kind = f"<{box.element_tag} class={element.get('class', '')!r}> (break-inside: avoid)"
            if kind is not None:
                if page not in pages_of[id(element)]:
                    pages_of[id(element)].append(page)
                text = " ".join("".join(element.itertext()).split())
                described[id(element)] = f"{kind} {text[:50]!r}"
        tag = box.element_tag if element is not None else parent_tag
        for child in getattr(box, "children", ()):
            if isinstance(child, boxes.Box):
                visit(child, tag, page)

    for number, page in enumerate(document.pages, start=1):
        for child in page._page_box.children:  # noqa: SLF001 (no public API walks the boxes)
            if not isinstance(child, boxes.MarginBox):
                visit(child, None, number)
    problems = []
    for key, pages in pages_of.items():
        if len(pages) > 1:
            problems.append(Problem("split", pages[0], f"{described[key]} runs onto page {pages[-1]}"))
    return problems


def check_catalogue(
    root: Path, out: Path | None = None, docs: tuple[str, ...] = ()
) -> dict[str, list[Problem]]:
    """Both checks on every built document of the project at root: {output path: problems}.

    The layout is WeasyPrint's for the same HTML the build rendered (builds are reproducible,
    so it is the layout of the PDF in out/). The stamp pages are left out: they are not printed
    on their own.
    """
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    from handouts.content.catalogue import load_catalogue
    from handouts.project import Project
    from handouts.render.html import render_html
    from handouts.render.outputs import plan_outputs

    project = Project(root)
    cat = load_catalogue(project)
    out = out or root / cat.config.out
    fonts = FontConfiguration()  # fonts found once, not per document
    images: dict[str, Any] = {}  # and each logo decoded once
    found = {}
    for spec in plan_outputs(cat, docs=docs):
        if spec.is_stamp:
            continue
        page_size = cat.brands[spec.brand].model.page_size
        problems = check_pdf(out / spec.relpath, page_size)
        html = weasyprint.HTML(string=render_html(cat, spec), base_url=project.templates.as_uri() + "/")
        problems += check_layout(html.render(font_config=fonts, cache=images))
        found[spec.relpath] = problems
    return found
