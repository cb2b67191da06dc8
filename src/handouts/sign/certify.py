"""Certify a fillable packet: the clinic's certification signature, form filling allowed (DocMDP 2).

Filling the fields in any viewer keeps the certification valid; a change to the pages, the
printed details, the questions or the set of fields breaks it (see policy.py for exactly what
a fill may change). The packet is otherwise exactly what `packet` assembled: certification is
its last step, one incremental update appended to the bytes.
"""

from __future__ import annotations

from handouts.sign.identity import Identity
from handouts.sign.signer import CERTIFICATION_FIELD, SignRequest, sign


def certify(pdf: bytes, identity: Identity, password: str | None = None) -> bytes:
    """Return the packet with a certification signature that allows form filling only.

    password: the packet's, when it is encrypted (the signature goes inside the encryption).
    """
    return sign(pdf, identity, SignRequest(field=CERTIFICATION_FIELD, certify=True), password)
