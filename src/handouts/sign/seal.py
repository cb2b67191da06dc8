"""Seal a record: the clinic's approval signature over the whole PDF/A-3b file (PAdES B-B or B-T).

The record stays PDF/A: the signature is an incremental update (PDF/A-3 allows them), its
field is invisible and printable, and the metadata stays as `archive` wrote it (pyHanko
would make the XMP and information dictionary's producers disagree; see signer.py).
With `signing.timestamp_url` the signature carries an RFC 3161 time-stamp (PAdES B-T), so
its time does not rest on the clinic's clock.
Sealing is the last write of a record: anything appended after it shows in `verify`.
"""

from __future__ import annotations

from handouts.sign.identity import Identity
from handouts.sign.signer import APPROVAL_FIELD, SignRequest, sign


def seal(pdf: bytes, identity: Identity, timestamp_url: str | None = None) -> bytes:
    """Return the record with the clinic's approval signature over all of it."""
    return sign(
        pdf,
        identity,
        SignRequest(APPROVAL_FIELD, certify=False, timestamp_url=timestamp_url, keep_metadata=True),
    )
