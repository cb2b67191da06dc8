"""Active content in a returned form: what a genuine filled consent form never carries.

A form the tool made holds fields, their widgets, internal links and web links, nothing that
runs or fetches: no JavaScript, no actions other than going to a page of the document (and
opening a web or mail link), no XFA, no embedded files, no annotations of other kinds.
`find_active` names what a form carries beyond that (screen judges it); `strip_active` drops
it from a copy (archive keeps none of it in the record). Both read dictionaries only, never a
stream's data, and stop after MAX_OBJECTS objects.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

# More objects than any consent form holds: past this, the form is reported, not walked on.
MAX_OBJECTS = 100_000
MAX_FIELD_DEPTH = 32
SAFE_SCHEMES = ("http:", "https:", "mailto:", "tel:")
# The ways up (to a field's or page's parent, an annotation's page): what they lead to is
# reached from the catalog downwards anyway.
_SKIPPED = {"/Parent", "/P"}


def _action_problem(action: Any) -> str | None:
    """What is wrong with one action (None: an internal GoTo, or a web or mail link)."""
    action = action.get_object()
    if not isinstance(action, DictionaryObject):
        return None  # a destination array: a page of this document
    kind = str(action.get("/S", ""))
    if kind == "/GoTo":
        return None
    if kind == "/URI":
        uri = str(action.get("/URI", "")).strip().lower()
        return None if uri.startswith(SAFE_SCHEMES) else "a link to a non-web address (URI action)"
    if kind == "/JavaScript":
        return "JavaScript"
    return f"a {kind.lstrip('/') or 'untyped'} action"


def _chain_problems(action: Any) -> list[str]:
    """The problems of an action and of those it runs next (/Next), a bounded chain."""
    problems: list[str] = []
    pending = [action]
    for _ in range(MAX_FIELD_DEPTH):
        if not pending:
            break
        current = pending.pop()
        current = current.get_object() if current is not None else None
        if current is None:
            continue
        problem = _action_problem(current)
        if problem:
            problems.append(problem)
        following = current.get("/Next") if isinstance(current, DictionaryObject) else None
        following = following.get_object() if following is not None else None
        pending.extend(following if isinstance(following, ArrayObject) else [following])
    return problems


def reachable(root: Any, found: list[str] | None = None) -> Iterator[DictionaryObject]:
    """Every dictionary (and stream) reachable from the catalog downwards, once each; past
    MAX_OBJECTS, stop (and say so in found)."""
    return walk([root], skip=_SKIPPED, limit=MAX_OBJECTS, found=found)


def walk(
    roots: list[Any],
    seen: set[int] | None = None,
    *,
    skip: frozenset[str] | set[str] = frozenset(),
    limit: int | None = None,
    found: list[str] | None = None,
) -> Iterator[DictionaryObject]:
    """Every dictionary (and stream) reachable from roots, once each, not through the keys in
    skip. The numbers of the indirect objects met are added to seen; past limit objects, stop
    (and say so in found)."""
    found = [] if found is None else found
    seen = set() if seen is None else seen
    stack: list[Any] = list(roots)
    count = 0
    while stack:
        obj = stack.pop()
        if isinstance(obj, IndirectObject):
            if obj.idnum in seen:
                continue
            seen.add(obj.idnum)
            obj = obj.get_object()
        count += 1
        if limit is not None and count > limit:
            found.append(f"more than {limit} objects (not checked further)")
            return
        if isinstance(obj, DictionaryObject):
            yield obj
            stack.extend(obj.raw_get(k) for k in obj if k not in skip)
        elif isinstance(obj, ArrayObject):
            stack.extend(obj)


def form_widgets(root: Any) -> set[int]:
    """The object numbers of the widgets of the form's fields (/AcroForm /Fields, downwards)."""
    acroform = root.get("/AcroForm")
    acroform = acroform.get_object() if acroform is not None else None
    fields = acroform.get("/Fields") if isinstance(acroform, DictionaryObject) else None
    widgets: set[int] = set()
    stack = [(ref, 0) for ref in (fields.get_object() if fields is not None else [])]
    while stack:
        ref, depth = stack.pop()
        node = ref.get_object() if ref is not None else None
        if not isinstance(node, DictionaryObject) or depth > MAX_FIELD_DEPTH:
            continue
        if node.get("/Subtype") == "/Widget" and isinstance(ref, IndirectObject):
            widgets.add(ref.idnum)
        stack.extend((kid, depth + 1) for kid in node.get("/Kids", []))
    return widgets


def _subtype(ref: Any) -> str:
    annot = ref.get_object()
    return str(annot.get("/Subtype", "")) if isinstance(annot, DictionaryObject) else ""


def _annotation_problem(ref: Any, widgets: set[int]) -> str | None:
    annot = ref.get_object()
    if not isinstance(annot, DictionaryObject):
        return None
    kind = str(annot.get("/Subtype", ""))
    if kind == "/Widget":
        ok = isinstance(ref, IndirectObject) and ref.idnum in widgets
        return None if ok else "a widget that belongs to no field of the form"
    if kind == "/Link":
        return None  # its action, if any, is judged with every other action
    return f"a {kind.lstrip('/') or 'untyped'} annotation"


def find_active(root: Any) -> list[str]:
    """What the document (its catalog) carries beyond a genuine form, each named once, sorted."""
    found: list[str] = []
    names = root.get("/Names")
    names = names.get_object() if names is not None else None
    if isinstance(names, DictionaryObject):
        if "/JavaScript" in names:
            found.append("JavaScript")
        if "/EmbeddedFiles" in names:
            found.append("embedded files")
    acroform = root.get("/AcroForm")
    acroform = acroform.get_object() if acroform is not None else None
    if isinstance(acroform, DictionaryObject) and "/XFA" in acroform:
        found.append("an XFA form")
    widgets = form_widgets(root)
    for obj in reachable(root, found):
        if "/AA" in obj:
            found.append("actions run on opening, closing or other events (/AA)")
        if "/JS" in obj:
            found.append("JavaScript")
        # /A is an action on an annotation or an outline item (elsewhere, as on a structure
        # element, it is something else); /OpenAction on the catalog.
        keys = ("/A", "/OpenAction") if "/Rect" in obj or "/Title" in obj else ("/OpenAction",)
        for key in keys:
            found.extend(_chain_problems(obj.get(key)))
        if obj.get("/Type") == "/EmbeddedFile" or obj.get("/Type") == "/Filespec" and "/EF" in obj:
            found.append("embedded files")
        for ref in obj.get("/Annots", []) if obj.get("/Type") == "/Page" else []:
            problem = _annotation_problem(ref, widgets)
            if problem:
                found.append(problem)
    return sorted(set(found))


def strip_active(root: Any) -> None:
    """Drop from the document every action but an internal GoTo, every annotation but the
    form's widgets, and JavaScript, XFA and embedded files (archive embeds the original itself)."""
    names = root.get("/Names")
    names = names.get_object() if names is not None else None
    if isinstance(names, DictionaryObject):
        for key in ("/JavaScript", "/EmbeddedFiles"):
            names.pop(NameObject(key), None)
    acroform = root.get("/AcroForm")
    acroform = acroform.get_object() if acroform is not None else None
    if isinstance(acroform, DictionaryObject):
        acroform.pop(NameObject("/XFA"), None)
    widgets = form_widgets(root)
    for obj in list(reachable(root)):
        obj.pop(NameObject("/AA"), None)
        keys = ("/A", "/OpenAction") if "/Rect" in obj or "/Title" in obj else ("/OpenAction",)
        for key in keys:
            action = obj.get(key)
            action = action.get_object() if action is not None else None
            if isinstance(action, DictionaryObject) and action.get("/S") != "/GoTo":
                del obj[key]
            elif isinstance(action, DictionaryObject):
                action.pop(NameObject("/Next"), None)
        if obj.get("/Type") == "/Page" and "/Annots" in obj:
            annots: Any = obj["/Annots"].get_object()
            kept = ArrayObject(
                ref
                for ref in (annots if isinstance(annots, ArrayObject) else [])
                if isinstance(ref, IndirectObject) and ref.idnum in widgets and _subtype(ref) == "/Widget"
            )
            obj[NameObject("/Annots")] = kept
