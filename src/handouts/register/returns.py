"""What the register records of a form that came back, from screen's result (ids, never answers)."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from handouts.register.record import FormReturned

if TYPE_CHECKING:
    from handouts.intake.screen import ScreenResult


def form_returned(result: ScreenResult, source: str, archive: bytes | None = None) -> FormReturned | None:
    """The register's record of a screened form; None when it was unreadable (nothing to record)."""
    if result.status == "unreadable" or result.form is None:
        return None
    form = result.form
    return FormReturned(
        document=form.document,
        version=form.version,
        fingerprint=form.fingerprint,
        status=result.status,
        packet_id=form.packet_id or None,
        flagged=tuple(f.id for f in result.flagged),
        signed=result.consent_box and result.signature and result.date,
        signature=result.signature_check,  # the clinic's certification: none | valid | invalid
        archive_sha256=hashlib.sha256(archive).hexdigest() if archive is not None else None,
        source=source,
    )
