"""Post-process WeasyPrint's PDF with pypdf: count pages, and for fillable forms, fix the form."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from pypdf import PdfReader, PdfWriter

from handouts.forms import fix_form

if TYPE_CHECKING:
    from handouts.outputs import OutputSpec


def finish_pdf(raw: bytes, spec: OutputSpec) -> tuple[bytes, int]:
    """Return the final PDF bytes and page count for one output."""
    reader = PdfReader(io.BytesIO(raw))
    pages = len(reader.pages)
    if not spec.has_form:
        return raw, pages
    # Incremental: WeasyPrint's compressed objects stay as they are, only our changes are
    # appended (a full rewrite grew a 77 KB form to 110 KB).
    writer = PdfWriter(io.BytesIO(raw), incremental=True)
    fix_form(writer)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue(), pages
