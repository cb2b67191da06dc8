"""Turn a filled fillable consent form into the clinic's record: flattened PDF/A-3b, original inside.

The pages show the answers as the patient left them, with no form fields left to change; the
filled form itself is embedded byte for byte as the archive's source. The date of archiving
comes from the form's own date field, never from the clock, so the same form always gives
the same archive. Patient data goes into the returned bytes only: nothing is logged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handouts import __version__
from handouts.errors import PdfInputError
from handouts.intake.screen import (
    MAX_DECODED_BYTES,
    FormInfo,
    ScreenResult,
    bounded_decoding,
    evaluate,
    pdf_errors,
    read_form,
    read_pdf,
)

ARCHIVE_SUFFIX = "-archive.pdf"
# The most a stream the record copies from the form (a page's content, a font, an image) may
# hold once decoded (decoding stops there: bounded_decoding), so checking costs little even
# for a decompression bomb.
MAX_STREAM_BYTES = MAX_DECODED_BYTES
ORIGINAL_DESCRIPTION = "The filled form as received, before archiving (form fields intact)."
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class ArchiveResult:
    """The archive's bytes and what `screen` says about the form it came from."""

    pdf: bytes
    pages: int
    drawn: int
    screen: ScreenResult
    archived: dt.date | None


def default_output(filled: Path) -> Path:
    """FILLED.pdf -> FILLED-archive.pdf, next to it."""
    return filled.with_name(filled.stem + ARCHIVE_SUFFIX)


def archived_date(value: Any) -> dt.date | None:
    """The form's date field as a date, if the patient typed it as YYYY-MM-DD."""
    text = str(value or "").strip()
    if not _ISO_DATE.fullmatch(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def archive_form(path: Path, password: str | None = None) -> ArchiveResult:
    """Read, screen and archive one filled form; raise PdfInputError if it is not one."""

    form = read_form(path, password)
    screened = evaluate(path, form, None)
    archived = archived_date(form[1]["values"].get("patient.date"))
    data = read_pdf(path)
    try:
        with bounded_decoding():
            pdf, pages, drawn = build_record(data, password, form[0], archived)
    except StreamTooLarge as exc:
        raise PdfInputError(
            f"{path}: a stream holds more than {MAX_STREAM_BYTES // 1_000_000} MB once decoded "
            f"({exc}); not a consent form"
        ) from exc
    except pdf_errors() as exc:
        raise PdfInputError(f"{path}: cannot archive this PDF ({type(exc).__name__})") from exc
    return ArchiveResult(pdf, pages, drawn, screened, archived)


class StreamTooLarge(ValueError):
    """A stream the record would copy holds more than MAX_STREAM_BYTES once decoded."""


def check_streams(root: Any, limit: int = MAX_STREAM_BYTES) -> None:
    """Raise StreamTooLarge if a stream reachable from root decodes to more than limit bytes."""
    from pypdf.errors import LimitReachedError
    from pypdf.generic import StreamObject

    from handouts.intake.active import reachable

    for obj in reachable(root):
        if isinstance(obj, StreamObject):
            try:
                size = len(obj.get_data())
            except LimitReachedError as exc:
                raise StreamTooLarge(str(obj.get("/Subtype") or obj.get("/Type") or "content")) from exc
            if size > limit:
                raise StreamTooLarge(str(obj.get("/Subtype") or obj.get("/Type") or "content"))


def build_record(
    data: bytes, password: str | None, info: FormInfo, archived: dt.date | None
) -> tuple[bytes, int, int]:
    """The record's bytes, its page count and how many answers it drew (raises pypdf's errors)."""
    import pypdf
    from pypdf import PdfReader, PdfWriter

    from handouts.intake.active import strip_active
    from handouts.intake.flatten import flatten
    from handouts.intake.pdfa import Attachment, make_pdfa3b

    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted:
        reader.decrypt(password or "")
    writer = PdfWriter(clone_from=reader)
    # Nothing that runs, fetches or opens reaches the record; the embedded original keeps it.
    strip_active(writer.root_object)
    drawn = flatten(writer)  # drawn anew: none of the form's own appearance streams is painted
    check_streams(writer.root_object)
    if archived is not None:
        writer.add_metadata({"/handoutsarchived": archived.isoformat()})
    # The first identifier stays the form's own (same document); the second names this file.
    first = bytes(writer._ID[0]) if writer._ID else hashlib.sha256(data).digest()[:16]
    second = hashlib.sha256(b"handouts archive\0" + data).digest()[:16]
    make_pdfa3b(
        writer,
        modified=(
            dt.datetime(archived.year, archived.month, archived.day, tzinfo=dt.UTC) if archived else None
        ),
        attachment=Attachment(
            name=f"{info.document or 'form'}-filled.pdf", data=data, description=ORIGINAL_DESCRIPTION
        ),
        file_id=(first, second),
        producer_note=f"archived by handouts {__version__} with pypdf {pypdf.__version__}",
    )
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue(), len(writer.pages), drawn
