"""Post-process WeasyPrint's PDF with pypdf: repair the form of fillable variants and stamps."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from pypdf import PdfWriter

from handouts.forms import fix_form

if TYPE_CHECKING:
    from handouts.outputs import OutputSpec


def finish_pdf(raw: bytes, spec: OutputSpec) -> bytes:
    """Return the final PDF bytes for one output (forms are repaired; others pass through)."""
    if not spec.has_form:
        return raw
    # Incremental: WeasyPrint's compressed objects stay as they are, only our changes are
    # appended (a full rewrite grew a 77 KB form to 110 KB).
    writer = PdfWriter(io.BytesIO(raw), incremental=True)
    fix_form(writer)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()
