"""Carry each document's structure tree into a packet, so the packet stays a tagged PDF.

Neither pikepdf nor pypdf merges structure trees: copying pages copies their content with its
marked-content ids but not the tree that gives them meaning. WeasyPrint's documents are
tagged (headings, paragraphs, lists, the logo's alt text, form fields), and a packet is what
the patient receives, so `StructureMerger` rebuilds the tree around the copied pages:

- before a document's pages are copied, its page and annotation keys into the parent tree
  (/StructParents, /StructParent) are shifted past the previous documents' keys;
- after copying, its top element becomes a /Part of the packet's /Document (titled with the
  document's title), and its parent-tree entries join the packet's;
- form fields copied with their AcroForm are new objects, so object references (OBJR) are
  pointed at them again through their parent-tree key;
- in a printed packet the flattened field values and the stamp are page content: the values
  are marked as artifacts (the labels around them are tagged), the "Prepared for ..." line as
  a paragraph of its document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pikepdf import Array, Dictionary, Name, NumberTree, Pdf, String


def is_tagged(pdf: Pdf) -> bool:
    """Marked, with a structure tree that has elements and a parent tree to join."""
    root = pdf.Root.get("/StructTreeRoot")
    marked = bool(pdf.Root.get("/MarkInfo", Dictionary()).get("/Marked"))
    return marked and root is not None and "/K" in root and "/ParentTree" in root


def flatten_as_artifacts(pdf: Pdf) -> None:
    """Flatten the form (print mode) and mark what it draws as artifacts; drop dead references.

    qpdf draws each widget's appearance in a stream it appends to the page (after a `Q`
    that closes the `q` it prepends); that drawing is wrapped in /Artifact BMC ... EMC.
    """
    before = {page.objgen: _content_ids(page) for page in pdf.pages}
    pdf.flatten_annotations("print")
    for page in pdf.pages:
        for stream in _contents(page):
            if stream.objgen in before[page.objgen]:
                continue
            data = stream.read_bytes()
            head = b"\nQ\n" if data.startswith(b"\nQ\n") else b""
            # The lone `q` qpdf puts in front stays outside: marks must nest with q/Q.
            if data[len(head) :].strip() not in (b"", b"q"):
                stream.write(head + b"/Artifact BMC\n" + data[len(head) :] + b"\nEMC\n")


def _contents(page: Any) -> list[Any]:
    contents = page.obj.get("/Contents")
    if contents is None:
        return []
    return list(contents) if isinstance(contents, Array) else [contents]


def _content_ids(page: Any) -> set[tuple[int, int]]:
    return {stream.objgen for stream in _contents(page)}


def drop_dead_object_refs(pdf: Pdf) -> None:
    """Remove references to annotations no page holds any more, and their parent-tree keys.

    Found through the parent tree (an annotation's key leads to its element), not by walking
    the whole tree: a packet is made while someone waits.
    """
    if "/StructTreeRoot" not in pdf.Root:
        return
    annots = [annot for page in pdf.pages for annot in page.obj.get("/Annots", [])]
    alive = {annot.objgen for annot in annots}
    keys = {int(page.obj.StructParents) for page in pdf.pages if "/StructParents" in page.obj}
    keys |= {int(annot.StructParent) for annot in annots if "/StructParent" in annot}
    tree = NumberTree(pdf.Root.StructTreeRoot.ParentTree)
    for key, element in list(tree.items()):
        if int(key) in keys:
            continue
        del tree[key]
        if not isinstance(element, Dictionary):
            continue
        kids = element.get("/K")
        items = list(kids) if isinstance(kids, Array) else [kids] if kids is not None else []
        kept = [k for k in items if not (_is_objr(k) and k.Obj.objgen not in alive)]
        element.K = Array(kept)
        # An element left empty goes, and so does a parent it leaves empty (a table cell).
        while not kept and "/P" in element and "/S" in element.P:
            parent = element.P
            siblings = list(parent.K) if isinstance(parent.K, Array) else [parent.K]
            kept = [k for k in siblings if not (isinstance(k, Dictionary) and k.objgen == element.objgen)]
            parent.K = Array(kept)
            element = parent


def _is_objr(kid: Any) -> bool:
    return isinstance(kid, Dictionary) and kid.get("/Type") == Name.OBJR


@dataclass
class StructureMerger:
    """Builds a packet's structure tree from its documents' trees, document by document."""

    packet: Pdf
    parts: list[Any] = field(default_factory=list)
    entries: dict[int, Any] = field(default_factory=dict)
    namespaces: dict[tuple[int, int], Any] = field(default_factory=dict)
    role_map: Any = None
    next_key: int = 0
    complete: bool = True  # False once a document without a tree joins: the packet stays untagged

    def prepare(self, source: Pdf) -> int:
        """Shift source's parent-tree keys past those already taken; return the shift."""
        offset = self.next_key
        if not is_tagged(source):
            self.complete = False
            return offset
        items = [(int(k), v) for k, v in NumberTree(source.Root.StructTreeRoot.ParentTree).items()]
        for page in source.pages:
            if "/StructParents" in page.obj:
                page.obj.StructParents = int(page.obj.StructParents) + offset
            for annot in page.obj.get("/Annots", []):
                if "/StructParent" in annot:
                    annot.StructParent = int(annot.StructParent) + offset
        self.next_key = offset + max((k for k, _ in items), default=-1) + 1
        return offset

    def add(self, source: Pdf, offset: int, title: str) -> Any:
        """After source's pages are copied: take its tree in as a /Part; return the part."""
        if not is_tagged(source):
            return None
        root = source.Root.StructTreeRoot
        # One copy of the whole parent tree (qpdf maps every element it reaches once), then
        # the same for the top elements: they are already among the copies.
        tree = root.ParentTree
        copied = self.packet.copy_foreign(tree) if tree.is_indirect else self._copy(tree)
        for key, value in NumberTree(copied).items():
            self.entries[int(key) + offset] = value
        kids = [self._copy(kid) for kid in (root.K if isinstance(root.K, Array) else [root.K])]
        part = self.packet.make_indirect(Dictionary(Type=Name.StructElem, S=Name.Part, T=String(title)))
        if "/Lang" in source.Root:
            # Each document's language on its part: a packet may mix them (an untranslated one).
            part.Lang = source.Root.Lang
        for kid in kids:
            kid.P = part
        part.K = Array(kids)
        self.parts.append(part)
        for namespace in root.get("/Namespaces", []):
            copied = self.packet.copy_foreign(namespace)
            self.namespaces.setdefault(copied.objgen, copied)
        if self.role_map is None and "/RoleMap" in root:
            self.role_map = self.packet.copy_foreign(root.RoleMap)
        return part

    def _copy(self, value: Any) -> Any:
        """value in the packet: indirect objects through qpdf's copier (each copied once)."""
        if value.is_indirect:
            return self.packet.copy_foreign(value)
        if isinstance(value, Array):
            return Array([self._copy(item) for item in value])
        if isinstance(value, Dictionary):
            return Dictionary({key: self._copy(item) for key, item in value.items()})
        return value

    def stamp(self, page: Any, part: Any, lang: str | None = None) -> tuple[bytes, bytes]:
        """Tag the stamp drawn on page as a paragraph of part: (before, after) its drawing.

        lang is the stamp line's language, set on the paragraph where its part's differs.
        """
        if not self.complete or part is None or "/StructParents" not in page.obj:
            return b"/Artifact BMC\n", b"\nEMC\n"
        key = int(page.obj.StructParents)
        marks = self.entries.get(key)
        if not isinstance(marks, Array):
            return b"/Artifact BMC\n", b"\nEMC\n"
        mcid = len(marks)
        paragraph = self.packet.make_indirect(
            Dictionary(Type=Name.StructElem, S=Name.P, P=part, Pg=page.obj, K=mcid)
        )
        if lang is not None and str(part.get("/Lang", lang)) != lang:
            paragraph.Lang = String(lang)
        part.K = Array([paragraph, *part.K])
        marks.append(paragraph)
        return f"/P <</MCID {mcid}>> BDC\n".encode(), b"\nEMC\n"

    def finish(self) -> None:
        """Install the packet's tree, or none at all if a document had no tree."""
        if not self.complete or not self.parts:
            return
        # Copied form fields are new objects: point each OBJR at the annotation the page holds.
        for page in self.packet.pages:
            for annot in page.obj.get("/Annots", []):
                key = int(annot.get("/StructParent", -1))
                element = self.entries.get(key)
                if isinstance(element, Dictionary):
                    _repoint(element, annot, key)
        document = self.packet.make_indirect(Dictionary(Type=Name.StructElem, S=Name.Document))
        for part in self.parts:
            part.P = document
        document.K = Array(self.parts)
        tree = NumberTree.new(self.packet)
        for key in sorted(self.entries):
            tree[key] = self.entries[key]
        root = Dictionary(Type=Name.StructTreeRoot, K=Array([document]), ParentTree=tree.obj)
        root.ParentTreeNextKey = self.next_key
        document.P = self.packet.make_indirect(root)
        if self.namespaces:
            root.Namespaces = Array(list(self.namespaces.values()))
        if self.role_map is not None:
            root.RoleMap = self.role_map
        self.packet.Root.StructTreeRoot = document.P
        self.packet.Root.MarkInfo = Dictionary(Marked=True)
        self.packet.Root.ViewerPreferences = Dictionary(DisplayDocTitle=True)


def _repoint(element: Any, annot: Any, key: int) -> None:
    """Point element's OBJR for the annotation with parent-tree key `key` at annot."""
    kids = element.get("/K")
    for kid in list(kids) if isinstance(kids, Array) else [kids]:
        if _is_objr(kid) and int(kid.Obj.get("/StructParent", -1)) == key:
            kid.Obj = annot


# The document-info entries that XMP mirrors (the mapping pikepdf and PDF/A use).
_XMP_MIRRORED = ("/Title", "/Author", "/Subject", "/Keywords", "/Creator", "/Producer")
_XMP_DATES = ("/CreationDate", "/ModDate")


def claim_pdfua(pdf: Pdf) -> None:
    """Write XMP metadata that claims PDF/UA-1 (pdfuaid:part 1) and mirrors the document info.

    A packet's documents each claimed PDF/UA; the packet is a new file and needs its own claim.
    pikepdf writes no editor mark or date here, so the same packet gives the same bytes.
    """
    info = {key: pdf.docinfo[key] for key in _XMP_MIRRORED + _XMP_DATES if key in pdf.docinfo}
    with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
        meta.load_from_docinfo(info, delete_missing=True, raise_failure=True)
        meta["pdfuaid:part"] = "1"
        if "/handoutssources" in pdf.docinfo:  # as each document's XMP has them (render/pdfua.py)
            meta["dc:source"] = str(pdf.docinfo["/handoutssources"])
