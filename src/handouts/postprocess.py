"""Post-process WeasyPrint's PDF with pypdf: count pages, and (fillable variant) fix the form."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from pypdf import PdfReader

if TYPE_CHECKING:
    from handouts.content import Catalogue
    from handouts.outputs import OutputSpec


def finish_pdf(raw: bytes, spec: OutputSpec, cat: Catalogue) -> tuple[bytes, int]:
    """Return the final PDF bytes and page count for one output."""
    pages = len(PdfReader(io.BytesIO(raw)).pages)
    return raw, pages
