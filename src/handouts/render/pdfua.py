"""Finish WeasyPrint's tagged PDF for PDF/UA-1: what its tagging leaves out, before it is written.

WeasyPrint 70 writes the structure tree, the /Lang, DisplayDocTitle, /Tabs /S and (with
`pdf_variant="pdf/ua-1"`) the XMP claim `pdfuaid:part 1`. Two things it leaves are fixed here,
as a `finisher` on its objects (no second parse of the file):

- Page headers and footers (CSS margin boxes, our running header and footer) are drawn as
  marked content with MCIDs whose structure elements hang in the parent tree but not in the
  tree (WeasyPrint's comment: an artifact in the tree is PDF 2.0 only). That content is
  neither real content nor an artifact (Matterhorn 01-005). It becomes a pagination artifact
  (`/Artifact <</Type /Pagination>> BDC`), and its parent-tree entries and elements go.
- The leaflet's sources (the `handouts-sources` meta, /handoutssources in the document info)
  go into the XMP packet as Dublin Core's `dc:source` too, where metadata tools look.
- Table header cells get ids and data cells /Headers, but no /Scope (WeasyPrint issue 2508).
  Each /TH gets /Scope: /Row when a data cell of its own row names it in /Headers (WeasyPrint
  makes a `<th scope="row">` a row header exactly so), /Column otherwise.
"""

from __future__ import annotations

from typing import Any

NULL = b"null"


def finish_tags(document: Any, pdf: Any) -> None:
    """WeasyPrint finisher: turn orphaned margin-box content into artifacts, scope table headers."""
    _xmp_sources(pdf)
    root_ref = pdf.catalog.get("StructTreeRoot")
    if root_ref is None:
        return

    def deref(value: Any) -> Any:
        if isinstance(value, bytes) and value.endswith(b" R"):
            return pdf.objects[int(value.split()[0])]
        return value

    root = deref(root_ref)
    reachable = _reachable(root, deref)
    _artifact_orphans(pdf, deref(root["ParentTree"]), reachable, deref)
    for number in reachable:
        element = pdf.objects[number]
        if element.get("S") == "/TH":
            _scope(element, deref)


def _reachable(root: Any, deref: Any) -> set[int]:
    """Object numbers of the structure elements reachable from the root."""
    seen: set[int] = set()
    stack = list(root["K"])
    while stack:
        ref = stack.pop()
        if not (isinstance(ref, bytes) and ref.endswith(b" R")):
            continue  # an MCID
        number = int(ref.split()[0])
        if number in seen:
            continue
        element = deref(ref)
        if element.get("Type") != "/StructElem":
            continue  # an object reference (OBJR) to an annotation
        seen.add(number)
        stack.extend(element.get("K", ()))
    return seen


def _artifact_orphans(pdf: Any, parent_tree: Any, reachable: set[int], deref: Any) -> None:
    nums = parent_tree["Nums"]
    # pydyf keeps the page tree's kids as flat [number, 0, "R"] triples.
    pages = [pdf.objects[n] for n in pdf.pages["Kids"][::3]]
    for index in range(0, len(nums), 2):
        key, marks = nums[index], nums[index + 1]
        if not isinstance(marks, list) or not isinstance(key, int) or key >= len(pages):
            continue
        orphans = {
            mcid
            for mcid, ref in enumerate(marks)
            if isinstance(ref, bytes) and ref != NULL and int(ref.split()[0]) not in reachable
        }
        if not orphans:
            continue
        _rewrite_marks(deref(pages[key]["Contents"]), orphans)
        for mcid in orphans:
            pdf.objects[int(marks[mcid].split()[0])].free = "f"
            marks[mcid] = NULL
        while marks and marks[-1] == NULL:
            marks.pop()


def _rewrite_marks(stream: Any, mcids: set[int]) -> None:
    """Make the marked-content sequences with these MCIDs pagination artifacts."""
    import pydyf

    items = stream.stream
    for i, item in enumerate(items):
        if isinstance(item, pydyf.Dictionary) and item.get("MCID") in mcids and items[i + 1] == b"BDC":
            items[i - 1] = "/Artifact"
            items[i] = pydyf.Dictionary({"Type": "/Pagination"})


def _scope(header: Any, deref: Any) -> None:
    import pydyf

    attributes = header.get("A")
    if not isinstance(attributes, dict):
        attributes = pydyf.Dictionary({"O": "/Table"})
        header["A"] = attributes
    if "Scope" in attributes:
        return
    row = deref(header["P"])
    key = header.get("ID")
    names_it = False
    for ref in row.get("K", ()):
        cell = deref(ref)
        if isinstance(cell, dict) and cell.get("S") == "/TD":
            headers = cell.get("A", {}).get("Headers", ())
            names_it = names_it or any(h is key for h in headers)
    attributes["Scope"] = "/Row" if names_it else "/Column"


def _xmp_sources(pdf: Any) -> None:
    """Add the document info's /handoutssources to the XMP packet as dc:source."""
    from xml.sax.saxutils import escape

    sources = pdf.info.get("handoutssources")
    ref = pdf.catalog.get("Metadata")
    text = getattr(sources, "string", "")
    if not text or not (isinstance(ref, bytes) and ref.endswith(b" R")):
        return
    stream = pdf.objects[int(ref.split()[0])]
    packet = b"".join(part if isinstance(part, bytes) else str(part).encode() for part in stream.stream)
    closing = b"</rdf:RDF>"
    if closing not in packet:
        return
    prop = (
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<dc:source>{escape(text)}</dc:source></rdf:Description>"
    ).encode()
    stream.stream = [packet.replace(closing, prop + closing, 1)]
