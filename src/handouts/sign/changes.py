"""Say in words what changed between a signed revision and the file as it is now.

pyHanko's change analysis answers whether every change is permitted; its messages name
object numbers (and can quote field values, which may be patient data). When a change is
not permitted, `describe` compares the two revisions the way a reader would: pages and
their content, form fields, annotations and the document's provenance. It never quotes a
value.
"""

from __future__ import annotations

from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import HistoricalResolver, PdfFileReader

from handouts.sign.policy import PROVENANCE_PREFIX, info_of
from handouts.sign.signer import APPROVAL_FIELD, CERTIFICATION_FIELD

MAX_FIELDS = 2_000
MAX_DEPTH = 16


def describe(reader: PdfFileReader, signed_revision: int) -> list[str]:
    """What changed after signed_revision, one short phrase per kind of change."""
    old = reader.get_historical_resolver(signed_revision)
    new = reader.get_historical_resolver(reader.xrefs.total_revisions - 1)
    changed = set()
    for revision in range(signed_revision + 1, reader.xrefs.total_revisions):
        changed |= {
            (r.idnum, r.generation)
            for r in reader.get_historical_resolver(revision).explicit_refs_in_revision()
        }
    found: list[str] = []
    old_pages, new_pages = _pages(old), _pages(new)
    if len(old_pages) != len(new_pages):
        found.append(f"pages: {len(old_pages)} when signed, {len(new_pages)} now")
    for number, (before, after) in enumerate(zip(old_pages, new_pages, strict=False), 1):
        if _refs(before.get("/Contents")) != _refs(after.get("/Contents")):
            found.append(f"page {number}: its content streams were replaced or added to")
        elif _refs(before.get("/Contents")) & changed:
            found.append(f"page {number}: its content was rewritten")
        if (
            _raw(before, "/Resources") != _raw(after, "/Resources")
            or _refs(before.get("/Resources")) & changed
        ):
            found.append(f"page {number}: its resources (fonts, images) changed")
        added = _refs(after.get("/Annots")) - _refs(before.get("/Annots"))
        removed = _refs(before.get("/Annots")) - _refs(after.get("/Annots"))
        if added:
            found.append(f"page {number}: {len(added)} annotation(s) added")
        if removed:
            found.append(f"page {number}: {len(removed)} annotation(s) removed")
    old_fields, new_fields = _field_names(old), _field_names(new)
    if old_fields - new_fields:
        found.append(f"form fields removed: {', '.join(sorted(old_fields - new_fields))}")
    extra = {name for name in new_fields - old_fields if not _is_signature_field(name)}
    if extra:
        found.append(f"form fields added: {', '.join(sorted(extra))}")
    before_info, after_info = _info(old), _info(new)
    provenance = sorted(
        k for k in before_info.keys() | after_info.keys()
        if k.startswith(PROVENANCE_PREFIX) and before_info.get(k) != after_info.get(k)
    )  # fmt: skip
    if provenance:
        found.append(f"the document's provenance: {', '.join(provenance)}")
    return found or ["objects the form filling rules do not cover"]


def _pages(revision: HistoricalResolver) -> list[Any]:
    pages: list[Any] = []

    def walk(node: Any, depth: int) -> None:
        node = node.get_object()
        if depth > MAX_DEPTH or not isinstance(node, generic.DictionaryObject):
            return
        if node.get("/Type") == "/Pages" or "/Kids" in node:
            for kid in node.get("/Kids", ()):
                walk(kid, depth + 1)
        else:
            pages.append(node)

    root = revision.root
    if "/Pages" in root:
        walk(root.raw_get("/Pages"), 0)
    return pages


def _refs(value: Any) -> set[tuple[int, int]]:
    """The indirect objects value names (itself, or the items of an array)."""
    if value is None:
        return set()
    found = set()
    raw = value
    if isinstance(raw, generic.IndirectObject):
        found.add((raw.idnum, raw.generation))
        raw = raw.get_object()
    if isinstance(raw, generic.ArrayObject):
        for item in raw:
            if isinstance(item, generic.IndirectObject):
                found.add((item.idnum, item.generation))
    return found


def _raw(page: Any, key: str) -> str:
    value = page.raw_get(key) if key in page else None
    return repr(value) if isinstance(value, generic.IndirectObject) else type(value).__name__


def _field_names(revision: HistoricalResolver) -> set[str]:
    form = revision.root.get("/AcroForm")
    form = form.get_object() if form is not None else None
    if not isinstance(form, generic.DictionaryObject):
        return set()
    names: set[str] = set()

    def walk(field: Any, prefix: str, depth: int) -> None:
        field = field.get_object()
        if depth > MAX_DEPTH or len(names) > MAX_FIELDS or not isinstance(field, generic.DictionaryObject):
            return
        name = f"{prefix}.{field['/T']}" if prefix and "/T" in field else str(field.get("/T", prefix))
        kids = [k for k in field.get("/Kids", ()) if "/T" in k.get_object()]
        if kids:
            for kid in kids:
                walk(kid, name, depth + 1)
        elif name:
            names.add(name)

    for field in form.get("/Fields", ()):
        walk(field, "", 0)
    return names


def _is_signature_field(name: str) -> bool:
    # A later signature (the record's approval) adds its own field: not a form change.
    return name in (APPROVAL_FIELD, CERTIFICATION_FIELD)


def _info(revision: HistoricalResolver) -> dict[str, str]:
    info = info_of(revision)
    if not isinstance(info, generic.DictionaryObject):
        return {}
    return {str(k): repr(info.raw_get(k)) for k in info}
