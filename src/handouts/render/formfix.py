"""Repair WeasyPrint's form fields so every viewer and library reads them alike.

WeasyPrint 70 lists each radio button as a field of its own (pypdf then sees phantom
fields and pikepdf cannot set the group), names radio states /0, /1, calls the check-box
on-state /on, starts /DA with an operator poppler rejects, writes widget rectangles top
edge first, and gives the form the page's own resources as /DR. We restructure radio
groups (children without /T, /TU, /FT; states named after the HTML values), use the usual
/Yes for check boxes, keep the appearance streams WeasyPrint drew (so ticks show without a
viewer redrawing them) and give the form its own /DR with ZapfDingbats for viewers that
redraw anyway.

WeasyPrint also writes each HTML name as one partial name (`/T (contraindication.pregnancy)`),
which PDF 32000 §12.7.3.2 forbids (a period separates the parts of a fully qualified name) and
which makes pyHanko's change analysis refuse a certified form. Each dotted name becomes a field
hierarchy instead: a parent `contraindication` with kids `pregnancy`, ..., so the fully qualified
names (what screen, pypdf, pdf.js and pikepdf fill and read by) stay the same.

This runs as WeasyPrint's `finisher`, on its objects before they are written: the same
repair with pypdf after writing meant parsing the whole PDF again (about 0.3 s a form).
"""

from __future__ import annotations

import re
from typing import Any

CHECKBOX_ON = "Yes"
RADIO_FLAG = 1 << 15
_GS_OPERATOR = re.compile(rb"/\S+ gs\s*")


def fix_form(document: Any, pdf: Any) -> None:
    """WeasyPrint finisher: restructure the AcroForm of pdf (a pydyf.PDF) in place."""
    import pydyf

    acroform = pdf.catalog.get("AcroForm")
    if acroform is None:
        return

    def deref(value: Any) -> Any:
        if isinstance(value, bytes) and value.endswith(b" R"):
            return pdf.objects[int(value.split()[0])]
        return value

    fields = list(acroform["Fields"])
    kids: set[bytes] = set()
    for ref in fields:
        field = deref(ref)
        if "Kids" in field and int(field.get("Ff", 0)) & RADIO_FLAG:
            kids.update(field["Kids"])
            _fix_radio_group(field, deref)
        elif field.get("FT") == "/Btn":
            _rename_state(field, "on", CHECKBOX_ON, deref)
    acroform["Fields"] = pydyf.Array([ref for ref in fields if ref not in kids])
    acroform["NeedAppearances"] = "false"
    # The page's resources served as /DR; the form gets its own copy with ZapfDingbats, so
    # that unembedded standard font never appears among the page's fonts.
    page_fonts = deref(deref(acroform["DR"]).get("Font", pydyf.Dictionary()))
    zadb = pydyf.Dictionary({"Type": "/Font", "Subtype": "/Type1", "BaseFont": "/ZapfDingbats"})
    pdf.add_object(zadb)
    fonts = pydyf.Dictionary({**page_fonts, "ZaDb": zadb.reference})
    pdf.add_object(fonts)
    resources = pydyf.Dictionary({"Font": fonts.reference})
    pdf.add_object(resources)
    acroform["DR"] = resources.reference
    # pydyf keeps the page tree's kids as flat [number, 0, "R"] triples.
    for page_number in pdf.pages["Kids"][::3]:
        for widget_ref in pdf.objects[page_number].get("Annots", []):
            widget = deref(widget_ref)
            if widget.get("Subtype") == "/Widget":
                _prepare_widget(widget, deref)
    _nest_dotted_names(pdf, acroform, deref)


def _nest_dotted_names(pdf: Any, acroform: Any, deref: Any) -> None:
    """Turn `/T (a.b)` fields into kid `b` of a new parent field `a` (only parents in /Fields)."""
    import pydyf

    parents: dict[tuple[str, ...], Any] = {}
    top: list[bytes] = []

    def parent_of(path: tuple[str, ...]) -> Any:
        if path not in parents:
            parent = pydyf.Dictionary({"T": pydyf.String(path[-1]), "Kids": pydyf.Array()})
            pdf.add_object(parent)
            parents[path] = parent
            if len(path) == 1:
                top.append(parent.reference)
            else:
                grand = parent_of(path[:-1])
                parent["Parent"] = grand.reference
                grand["Kids"].append(parent.reference)
        return parents[path]

    for ref in acroform["Fields"]:
        field = deref(ref)
        name = field["T"].string if isinstance(field.get("T"), pydyf.String) else None
        parts = tuple(str(name).split(".")) if name is not None else ()
        if len(parts) < 2 or not all(parts):
            top.append(ref)
            continue
        parent = parent_of(parts[:-1])
        field["T"] = pydyf.String(parts[-1])
        field["Parent"] = parent.reference
        parent["Kids"].append(ref)
    acroform["Fields"] = pydyf.Array(top)


def _fix_radio_group(group: Any, deref: Any) -> None:
    options = [option.string for option in group.get("Opt", [])]
    for index, kid_ref in enumerate(group["Kids"]):
        kid = deref(kid_ref)
        for key in ("T", "TU", "FT"):
            kid.pop(key, None)
        if index < len(options):
            _rename_state(kid, index, options[index], deref)
    value = str(group.get("V", "/Off")).lstrip("/")
    if value.isdigit() and int(value) < len(options):
        group["V"] = f"/{options[int(value)]}"
    group.pop("Opt", None)


def _rename_state(widget: Any, old: int | str, new: str, deref: Any) -> None:
    appearances = deref(widget.get("AP", {}))
    for mode in ("N", "D"):
        states = deref(appearances.get(mode)) if mode in appearances else None
        if states is not None and old in states:
            states[new] = states.pop(old)
    for key in ("AS", "V"):
        if widget.get(key) == f"/{old}":
            widget[key] = f"/{new}"


def _prepare_widget(widget: Any, deref: Any) -> None:
    """Valid /DA, a normalised /Rect, and a ZapfDingbats tick for viewers that redraw."""
    import pydyf

    if "DA" in widget:
        raw = widget["DA"].string
        raw = raw if isinstance(raw, bytes) else str(raw).encode("latin-1")
        widget["DA"] = pydyf.String(_GS_OPERATOR.sub(b"", raw))
    x1, y1, x2, y2 = (float(v) for v in widget["Rect"])
    widget["Rect"] = pydyf.Array([min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)])
    parent = deref(widget["Parent"]) if "Parent" in widget else None
    kind = widget.get("FT") or (parent.get("FT") if parent is not None else None)
    if kind == "/Btn":
        radio = "FT" not in widget and parent is not None and int(parent.get("Ff", 0)) & RADIO_FLAG
        mk = deref(widget.get("MK", pydyf.Dictionary()))
        # ZapfDingbats '4' is a tick, 'l' a filled circle.
        mk["CA"] = pydyf.String("l" if radio else "4")
        widget["MK"] = mk
        widget["DA"] = pydyf.String("/ZaDb 0 Tf 0 g")
