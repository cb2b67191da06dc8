"""Keyed hashes (HMAC-SHA256) that let the register find a patient or recipient without storing them.

The key comes from the environment (see settings.key_env): without it, a hash reveals
nothing and cannot be recomputed by guessing names and birthdays. Each purpose has its own
prefix, so the same key never gives the same hash for a name and for an address.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import unicodedata


def normalise_name(name: str) -> str:
    """'  Léa  TREMBLAY-Roy ' and 'lea tremblay roy' are the same person at the front desk."""
    decomposed = unicodedata.normalize("NFKD", name)
    letters = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[^\w]+|_", " ", letters).split())


def patient_hash(key: bytes, name: str, dob: dt.date) -> str:
    """HMAC-SHA256 of the normalised name and the date of birth."""
    message = f"patient\0{normalise_name(name)}\0{dob.isoformat()}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def recipient_hash(key: bytes, address: str) -> str:
    """HMAC-SHA256 of an email address (case and surrounding spaces ignored)."""
    message = f"recipient\0{address.strip().lower()}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()
