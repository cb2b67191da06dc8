"""Fill a form the way a PDFium viewer does: type into text fields, click buttons, save.

PDFium (pypdfium2, the engine of Chromium's PDF viewer) fills through its form-fill
environment, as a person would: a text field gets the focus, its text is selected and
replaced; a check box or radio button is clicked at the middle of its widget. The document
is then saved by PDFium itself, either as Chromium's viewer saves it (FPDF_SaveAsCopy with
no flags: a whole new file) or as an incremental update (FPDF_INCREMENTAL).
"""

from __future__ import annotations

import ctypes
from collections.abc import Mapping, Set
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c


def _text(getter: object, form: object, annot: object) -> str:
    size = getter(form, annot, None, 0)  # type: ignore[operator]
    buffer = ctypes.create_string_buffer(size)
    getter(form, annot, ctypes.cast(buffer, ctypes.POINTER(pdfium_c.FPDF_WCHAR)), size)  # type: ignore[operator]
    return buffer.raw[: size - 2].decode("utf-16-le")


def pdfium_fill(
    src: Path, dest: Path, texts: Mapping[str, str], clicks: Set[tuple[str, str]], *, incremental: bool
) -> Path:
    """Type texts (field name -> text) and click the buttons (field name, export value) in src."""
    pdf = pdfium.PdfDocument(src)
    pdf.init_forms()
    form = pdf.formenv.raw
    done: set[str] = set()
    for index in range(len(pdf)):
        page = pdf[index]
        for number in range(pdfium_c.FPDFPage_GetAnnotCount(page.raw)):
            annot = pdfium_c.FPDFPage_GetAnnot(page.raw, number)
            if pdfium_c.FPDFAnnot_GetSubtype(annot) == pdfium_c.FPDF_ANNOT_WIDGET:
                name = _text(pdfium_c.FPDFAnnot_GetFormFieldName, form, annot)
                kind = pdfium_c.FPDFAnnot_GetFormFieldType(form, annot)
                value = _text(pdfium_c.FPDFAnnot_GetFormFieldExportValue, form, annot)
                if name in texts and kind == pdfium_c.FPDF_FORMFIELD_TEXTFIELD:
                    assert pdfium_c.FORM_SetFocusedAnnot(form, annot)
                    pdfium_c.FORM_SelectAllText(form, page.raw)
                    typed = ctypes.create_string_buffer((texts[name] + "\0").encode("utf-16-le"))
                    pdfium_c.FORM_ReplaceSelection(
                        form, page.raw, ctypes.cast(typed, pdfium_c.FPDF_WIDESTRING)
                    )
                    pdfium_c.FORM_ForceToKillFocus(form)
                    done.add(name)
                elif (name, value) in clicks:
                    rect = pdfium_c.FS_RECTF()
                    pdfium_c.FPDFAnnot_GetRect(annot, rect)
                    x, y = (rect.left + rect.right) / 2, (rect.top + rect.bottom) / 2
                    pdfium_c.FORM_OnMouseMove(form, page.raw, 0, x, y)
                    pdfium_c.FORM_OnLButtonDown(form, page.raw, 0, x, y)
                    pdfium_c.FORM_OnLButtonUp(form, page.raw, 0, x, y)
                    pdfium_c.FORM_ForceToKillFocus(form)
                    done.add(name)
            pdfium_c.FPDFPage_CloseAnnot(annot)
        page.close()
    missing = (set(texts) | {name for name, _ in clicks}) - done
    assert not missing, f"PDFium found no widget for {sorted(missing)}"
    pdf.save(dest, flags=pdfium_c.FPDF_INCREMENTAL if incremental else 0)
    pdf.close()
    return dest
