"""Flatten a filled form with pypdf: paint every visible annotation into its page, drop the form.

What a viewer shows for a field is its appearance stream: the state of a button, the drawn text
of a text field. We paint an appearance into the page content (PDF 32000-1, 12.5.5: the
appearance's box mapped onto the annotation's rectangle), so the page looks as the filled form
did, and no /AcroForm, widget or field is left. The appearances are drawn anew from the
fields' own values, never copied from the file (a returned form's streams are the sender's):
a button's mark as WeasyPrint draws it (a dot for a radio button, a tick for a check box), a
text field's line by pypdf's generator in the form's field font. Other annotations were
removed before (intake.active.strip_active).
In a tagged document each drawn answer becomes marked content of the structure element that
held its widget, so screen readers still find it.
"""

from __future__ import annotations

from typing import Any

from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    IndirectObject,
    NameObject,
    NumberObject,
    StreamObject,
)

HIDDEN = 1 << 1
RADIO = 1 << 15  # the button-field flag of a radio group
KEPT = ("/Link",)
XOBJECT_PREFIX = "/HdFlat"
# The marks WeasyPrint draws for an "on" button, in a box of 1 x 1: a dot (its curves' control
# points at 1/sqrt(pi) of the radius, as WeasyPrint places them) and a tick.
_K = 0.5641895835
DOT = ("1 0.5 m 1 {a} {a} 1 0.5 1 c {b} 1 0 {a} 0 0.5 c 0 {b} {b} 0 0.5 0 c {a} 0 1 {b} 1 0.5 c h f").format(
    a=0.5 + 0.5 * _K, b=0.5 - 0.5 * _K
)
TICK = "0 0.5 m 0.5 0 l 1 1 l 0.428571 0.333333 l h f"


def flatten(writer: PdfWriter) -> int:
    """Paint visible annotations into the pages, remove the others and the form; return how many."""
    root: Any = writer.root_object
    acroform = root.get("/AcroForm")
    if acroform is not None:
        _refresh_text_appearances(writer, acroform.get_object())
    structure = _Structure(root)
    drawn = 0
    for page in writer.pages:
        annots = page.get("/Annots")
        if annots is None:
            continue
        kept = ArrayObject()
        drawing: list[bytes] = []
        for ref in annots.get_object():
            annot = ref.get_object()
            if annot.get("/Subtype") in KEPT:
                kept.append(ref)
                continue
            element = structure.pop_element(annot)
            appearance = _own_appearance(writer, annot)
            ops = _paint(page, appearance, annot) if appearance is not None else None
            if ops is None:
                if element is not None:
                    _replace_kid(element, annot, ref, None)
                continue
            drawing.append(structure.mark(page, element, annot, ref, ops))
            drawn += 1
        if kept:
            page[NameObject("/Annots")] = kept
        else:
            del page["/Annots"]
        if drawing:
            _append_content(writer, page, b"".join(drawing))
    root.pop(NameObject("/AcroForm"), None)
    return drawn


def _refresh_text_appearances(writer: PdfWriter, acroform: Any) -> None:
    """Redraw text fields a viewer left without an appearance (or asked others to redraw)."""
    # Every text field with a value is drawn anew: none of the sender's streams is painted.
    redraw_all = True
    values: dict[str, str] = {}
    for page in writer.pages:
        for ref in page.get("/Annots", []):
            widget = ref.get_object()
            if widget.get("/Subtype") != "/Widget":
                continue
            field = _field_of(widget)
            value = field.get("/V")
            if field.get("/FT") != "/Tx" or not isinstance(value, str) or not value or "/T" not in field:
                continue
            if redraw_all or "/AP" not in widget:
                values[_qualified_name(field)] = value
    if values:
        # auto_regenerate=None leaves /NeedAppearances alone; the form goes away anyway.
        writer.update_page_form_field_values(None, values, auto_regenerate=None)


MAX_FIELD_DEPTH = 32


def _qualified_name(field: Any) -> str:
    """The field's fully qualified name (`patient.name`): its /T and its parents' joined by periods."""
    parts: list[str] = []
    for _ in range(MAX_FIELD_DEPTH):  # a hostile file may loop its /Parent chain
        if field is None:
            break
        if "/T" in field:
            parts.append(str(field["/T"]))
        parent = field.get("/Parent")
        field = parent.get_object() if parent is not None else None
    return ".".join(reversed(parts))


def _field_of(widget: Any) -> Any:
    """The field a widget belongs to: itself, or its parent for a radio button's kids."""
    if "/FT" in widget or "/Parent" not in widget:
        return widget
    return widget["/Parent"].get_object()


def _own_appearance(writer: PdfWriter, annot: Any) -> StreamObject | None:
    """The appearance drawn for a widget from its field's value (None: it shows nothing)."""
    if annot.get("/Subtype") != "/Widget" or int(annot.get("/F", 0)) & HIDDEN:
        return None
    field = _field_of(annot)
    kind = field.get("/FT")
    if kind == "/Tx":
        value = field.get("/V")
        # Redrawn by _refresh_text_appearances (pypdf's generator, from /V).
        return _normal_appearance(annot) if isinstance(value, str) and value else None
    if kind != "/Btn" or "/V" not in field:
        return None
    ap = annot.get("/AP")
    normal = ap.get_object().get("/N") if ap is not None else None
    normal = normal.get_object() if normal is not None else None
    # Only the names of the widget's states are read: which one is its "on" state.
    states = set(normal.keys()) - {"/Off"} if isinstance(normal, DictionaryObject) else set()
    if str(field["/V"]) not in states:
        return None
    x1, y1, x2, y2 = (float(v) for v in annot["/Rect"])
    width, height = abs(x2 - x1), abs(y2 - y1)
    if width <= 0 or height <= 0:
        return None
    mark = DOT if int(field.get("/Ff", 0)) & RADIO else TICK
    stream = DecodedStreamObject()
    stream.set_data(f"q {_colour(annot)} {_num(width)} 0 0 {_num(height)} 0 0 cm {mark} Q".encode())
    stream.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Form"),
            NameObject("/BBox"): ArrayObject(
                [NumberObject(0), NumberObject(0), FloatObject(width), FloatObject(height)]
            ),
            NameObject("/Resources"): DictionaryObject(),
        }
    )
    writer._add_object(stream)
    return stream


def _colour(annot: Any) -> str:
    """The fill colour of a button's mark: its border colour (/MK /BC), as WeasyPrint uses it."""
    mk = annot.get("/MK")
    colour = mk.get_object().get("/BC") if mk is not None else None
    colour = colour.get_object() if colour is not None else None
    try:
        parts = [min(max(float(v), 0.0), 1.0) for v in colour] if isinstance(colour, ArrayObject) else []
    except (TypeError, ValueError):
        parts = []
    op = {1: "g", 3: "rg", 4: "k"}.get(len(parts))
    return f"{' '.join(_num(v) for v in parts)} {op}" if op else "0 g"


def _normal_appearance(annot: Any) -> StreamObject | None:
    """The appearance a viewer draws now, or None when the annotation shows nothing."""
    if int(annot.get("/F", 0)) & HIDDEN or annot.get("/Subtype") == "/Popup":
        return None
    ap = annot.get("/AP")
    normal = ap.get_object().get("/N") if ap is not None else None
    if normal is None:
        return None
    normal = normal.get_object()
    if isinstance(normal, StreamObject):
        return normal
    if not isinstance(normal, DictionaryObject):
        return None
    state = annot.get("/AS")
    field = _field_of(annot)
    if annot.get("/Subtype") == "/Widget" and field.get("/FT") == "/Btn" and "/V" in field:
        # Draw the state the field's value names, as `screen` reads it; a radio kid whose
        # state is not the value is off, whatever a viewer left in /AS.
        state = field["/V"]
    chosen = normal.get(state) if isinstance(state, str) else None
    chosen = chosen.get_object() if chosen is not None else None
    return chosen if isinstance(chosen, StreamObject) else None


def _paint(page: Any, appearance: StreamObject, annot: Any) -> bytes | None:
    """Return content operators drawing appearance over the annotation's rectangle."""
    x1, y1, x2, y2 = (float(v) for v in annot["/Rect"])
    left, right, bottom, top = min(x1, x2), max(x1, x2), min(y1, y2), max(y1, y2)
    bx1, by1, bx2, by2 = (float(v) for v in appearance.get("/BBox", [0, 0, 0, 0]))
    a, b, c, d, e, f = (float(v) for v in appearance.get("/Matrix", [1, 0, 0, 1, 0, 0]))
    corners = [(a * x + c * y + e, b * x + d * y + f) for x in (bx1, bx2) for y in (by1, by2)]
    xs, ys = [p[0] for p in corners], [p[1] for p in corners]
    width, height = max(xs) - min(xs), max(ys) - min(ys)
    if width <= 0 or height <= 0 or right <= left or top <= bottom:
        return None
    sx, sy = (right - left) / width, (top - bottom) / height
    matrix = (sx, 0.0, 0.0, sy, left - min(xs) * sx, bottom - min(ys) * sy)
    appearance[NameObject("/Type")] = NameObject("/XObject")
    appearance[NameObject("/Subtype")] = NameObject("/Form")
    name = _register_xobject(page, appearance)
    numbers = " ".join(_num(v) for v in matrix)
    return f"q {numbers} cm {name} Do Q\n".encode()


def _register_xobject(page: Any, appearance: StreamObject) -> str:
    if "/Resources" not in page:
        page[NameObject("/Resources")] = DictionaryObject()
    resources = page["/Resources"].get_object()
    if "/XObject" not in resources:
        resources[NameObject("/XObject")] = DictionaryObject()
    xobjects = resources["/XObject"].get_object()
    # Pages may share one resources dictionary: a name unused on all of them is unique.
    index = len(xobjects)
    while f"{XOBJECT_PREFIX}{index}" in xobjects:
        index += 1
    name = f"{XOBJECT_PREFIX}{index}"
    ref = appearance.indirect_reference
    xobjects[NameObject(name)] = ref if ref is not None else appearance
    return name


def _num(value: float) -> str:
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _append_content(writer: PdfWriter, page: Any, drawing: bytes) -> None:
    """Add drawing after the page's content, in the page's own untransformed space."""
    # The page content may leave a transformation in force (WeasyPrint starts with a `cm`
    # outside any `q`): wrap it in q ... Q, in new streams so the original is not re-encoded.
    contents = page.get("/Contents")
    existing: list[Any] = []
    if contents is not None:
        resolved = contents.get_object()
        existing = list(resolved) if isinstance(resolved, ArrayObject) else [contents]
    before, after = DecodedStreamObject(), DecodedStreamObject()
    before.set_data(b"q\n")
    after.set_data(b"\nQ\n" + drawing)
    page[NameObject("/Contents")] = ArrayObject(
        [writer._add_object(before), *existing, writer._add_object(after)]
    )


def _same(ref: Any, annot: Any, annot_ref: Any) -> bool:
    if isinstance(ref, IndirectObject) and isinstance(annot_ref, IndirectObject):
        return bool(ref.idnum == annot_ref.idnum)
    return ref is not None and ref.get_object() is annot


def _replace_kid(element: Any, annot: Any, annot_ref: Any, replacement: Any) -> None:
    """Replace (or, with None, remove) the element's object reference to annot."""
    kids = element.get("/K")
    if kids is None:
        return
    resolved = kids.get_object()
    items = list(resolved) if isinstance(resolved, ArrayObject) else [kids]
    out = ArrayObject()
    for kid in items:
        obj = kid.get_object()
        if (
            isinstance(obj, DictionaryObject)
            and obj.get("/Type") == "/OBJR"
            and _same(obj.raw_get("/Obj") if "/Obj" in obj else None, annot, annot_ref)
        ):
            if replacement is not None:
                out.append(replacement)
            continue
        out.append(kid)
    element[NameObject("/K")] = out[0] if len(out) == 1 else out


class _Structure:
    """The parts of the structure tree that point at annotations and marked content."""

    def __init__(self, root: Any) -> None:
        tree = root.get("/StructTreeRoot")
        tree = tree.get_object() if tree is not None else None
        parent_tree = tree.get("/ParentTree") if tree is not None else None
        self.parent_tree = parent_tree.get_object() if parent_tree is not None else None

    def _find(self, key: int, node: Any = None) -> tuple[Any, int] | None:
        """Return (the /Nums array holding key, its index) in the number tree."""
        node = self.parent_tree if node is None else node.get_object()
        if node is None:
            return None
        nums = node.get("/Nums")
        if nums is not None:
            nums = nums.get_object()
            for i in range(0, len(nums) - 1, 2):
                if int(nums[i]) == key:
                    return nums, i
        for kid in node.get("/Kids", []):
            found = self._find(key, kid)
            if found is not None:
                return found
        return None

    def pop_element(self, annot: Any) -> Any:
        """Remove annot's entry from the parent tree; return the element it pointed to."""
        key = annot.get("/StructParent")
        found = self._find(int(key)) if key is not None else None
        if found is None:
            return None
        nums, i = found
        element = nums[i + 1].get_object()
        del nums[i : i + 2]
        return element if isinstance(element, DictionaryObject) else None

    def mark(self, page: Any, element: Any, annot: Any, annot_ref: Any, ops: bytes) -> bytes:
        """Return ops wrapped as marked content of element (or as an artifact)."""
        key = page.get("/StructParents")
        found = self._find(int(key)) if key is not None else None
        if found is None:
            return ops  # an untagged page: nothing to link
        if element is None:
            return b"/Artifact BMC\n" + ops + b"EMC\n"
        nums, i = found
        if not isinstance(nums[i + 1].get_object(), ArrayObject):
            return b"/Artifact BMC\n" + ops + b"EMC\n"
        mcids = nums[i + 1].get_object()
        mcid = len(mcids)
        mcids.append(element.indirect_reference or element)
        reference = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/MCR"),
                NameObject("/Pg"): page.indirect_reference,
                NameObject("/MCID"): NumberObject(mcid),
            }
        )
        _replace_kid(element, annot, annot_ref, reference)
        tag = str(element.get("/S", "/Span"))
        return f"{tag} <</MCID {mcid}>> BDC\n".encode() + ops + b"EMC\n"
