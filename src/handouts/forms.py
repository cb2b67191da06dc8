"""Repair WeasyPrint's form fields with pypdf so every viewer and library reads them alike.

WeasyPrint 70 lists each radio button as a field of its own (pypdf then sees phantom
fields and pikepdf cannot set the group), names radio states /0, /1, and calls the
check-box on-state /on. We restructure radio groups (children without /T, /TU, /FT;
states named after the HTML values), use the usual /Yes for check boxes, and keep the
appearance streams WeasyPrint drew, so ticks show without a viewer redrawing them.
"""

from __future__ import annotations

import re
from typing import Any

from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    BooleanObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    TextStringObject,
)

CHECKBOX_ON = "/Yes"
RADIO_FLAG = 1 << 15
_GS_OPERATOR = re.compile(r"/\S+ gs\s*")


def fix_form(writer: PdfWriter) -> int:
    """Restructure the AcroForm of writer in place; return the number of fields."""
    root = writer._root_object
    if "/AcroForm" not in root:
        return 0
    acroform: Any = root["/AcroForm"].get_object()
    kids_of_groups: set[int] = set()
    fields = [ref for ref in acroform["/Fields"]]
    for ref in fields:
        field = ref.get_object()
        if "/Kids" in field and int(field.get("/Ff", 0)) & RADIO_FLAG:
            _fix_radio_group(field)
            kids_of_groups.update(kid.idnum for kid in field["/Kids"])
    for ref in fields:
        field = ref.get_object()
        if field.get("/FT") == "/Btn" and "/Kids" not in field and "/Parent" not in field:
            _rename_state(field, "/on", CHECKBOX_ON)
    acroform[NameObject("/Fields")] = ArrayObject(ref for ref in fields if ref.idnum not in kids_of_groups)
    # Every button carries its own appearance; asking viewers to redraw them would make
    # some (poppler without a ZapfDingbats font) draw the ticks invisibly.
    acroform[NameObject("/NeedAppearances")] = BooleanObject(False)
    _prepare_for_redraw(writer, acroform)
    return len(acroform["/Fields"])


def _prepare_for_redraw(writer: PdfWriter, acroform: Any) -> None:
    """Help viewers that redraw fields anyway: valid /DA strings and a ZapfDingbats tick."""
    # WeasyPrint's /DR is the page's own resources; give the form a copy, so that the
    # (standard, unembedded) ZapfDingbats never appears among the page's fonts.
    page_fonts = acroform["/DR"].get_object().get("/Font", DictionaryObject()).get_object()
    fonts = DictionaryObject(page_fonts)
    fonts[NameObject("/ZaDb")] = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/ZapfDingbats"),
            }
        )
    )
    acroform[NameObject("/DR")] = writer._add_object(
        DictionaryObject({NameObject("/Font"): writer._add_object(fonts)})
    )
    for page in writer.pages:
        for ref in page.get("/Annots", []):
            widget = ref.get_object()
            if widget.get("/Subtype") != "/Widget":
                continue
            # WeasyPrint writes the top edge first; pypdf places flattened fields by the
            # first y, so normalise to [left bottom right top] as the PDF spec intends.
            x1, y1, x2, y2 = (float(v) for v in widget["/Rect"])
            widget[NameObject("/Rect")] = ArrayObject(
                FloatObject(v) for v in (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))
            )
            if "/DA" in widget:
                # WeasyPrint starts /DA with a graphics-state operator that poppler rejects.
                widget[NameObject("/DA")] = TextStringObject(_GS_OPERATOR.sub("", str(widget["/DA"])))
            parent = widget.get("/Parent")
            kind = widget.get("/FT") or (parent.get_object().get("/FT") if parent else None)
            if kind == "/Btn":
                mk = widget.get("/MK", DictionaryObject())
                # ZapfDingbats '4' is a tick, 'l' a filled circle.
                mk[NameObject("/CA")] = TextStringObject("l" if parent else "4")
                widget[NameObject("/MK")] = mk
                widget[NameObject("/DA")] = TextStringObject("/ZaDb 0 Tf 0 g")


def _fix_radio_group(group: Any) -> None:
    options = [str(o) for o in group.get("/Opt", [])]
    for index, kid_ref in enumerate(group["/Kids"]):
        kid = kid_ref.get_object()
        for key in ("/T", "/TU", "/FT"):
            kid.pop(NameObject(key), None)
        if index < len(options):
            _rename_state(kid, f"/{index}", f"/{options[index]}")
    value = str(group.get("/V", "/Off"))
    if value != "/Off" and value.lstrip("/").isdigit() and int(value[1:]) < len(options):
        group[NameObject("/V")] = NameObject(f"/{options[int(value[1:])]}")
    group.pop(NameObject("/Opt"), None)


def _rename_state(widget: Any, old: str, new: str) -> None:
    for mode in ("/N", "/D"):
        appearances = widget.get("/AP", {}).get(mode)
        if appearances is None:
            continue
        appearances = appearances.get_object()
        if old in appearances:
            appearances[NameObject(new)] = appearances.pop(old)
    if widget.get("/AS") == old:
        widget[NameObject("/AS")] = NameObject(new)
    if widget.get("/V") == old:
        widget[NameObject("/V")] = NameObject(new)
