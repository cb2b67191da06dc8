"""A packet's file name: stable for the same inputs, and without the patient's name by default.

File names end up in mail logs and shared folders, so the default pattern holds a short hash
of the packet's inputs instead of the name; `--name-pattern` can put the name in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import string
import unicodedata
from collections.abc import Sequence

from handouts.errors import UsageError
from handouts.packet.request import Patient

DEFAULT_PATTERN = "packet-{brand}-{lang}-{date}-{id}.pdf"
PATTERN_KEYS = ("patient", "date", "brand", "lang", "id")
ALLOWED = ", ".join("{" + k + "}" for k in PATTERN_KEYS)


def packet_flags(fillable: bool, large_print: bool, encrypted: bool) -> str:
    """The options that change a packet's bytes, for its file name's id."""
    return f"fillable={fillable};large={large_print};encrypted={encrypted}"


def patient_id(patient: Patient, documents: Sequence[str], flags: str = "") -> str:
    """A short stable id of a packet's inputs: same inputs, same file name."""
    text = "\0".join(
        [patient.name, str(patient.dob), str(patient.date), patient.therapist or "", patient.area or ""]
        + list(documents)
        + [flags]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def file_name(
    patient: Patient,
    brand: str,
    lang: str,
    documents: Sequence[str],
    pattern: str = DEFAULT_PATTERN,
    flags: str = "",
) -> str:
    """The packet's file name; the default holds no patient name (names leak into mail logs).

    flags (see packet_flags) go into the id, so a packet made with other options
    (fillable, large print, encrypted) never passes for this one.
    """
    values = {
        "patient": _safe_file_part(patient.name),
        "date": (patient.date or dt.date.today()).isoformat(),
        "brand": brand,
        "lang": lang,
        "id": patient_id(patient, documents, flags),
    }
    try:
        # Plain {field} names only: no attributes, indexes or format specs.
        parsed = list(string.Formatter().parse(pattern))
        fields = [f for _, f, _, _ in parsed if f is not None]
        bad = [f for f in fields if f not in values]
        if bad or any(spec or conv for _, f, spec, conv in parsed if f):
            raise UsageError(
                "{field}: unknown field '{name}'; use {allowed}",
                field="name_pattern",
                code="unknown-field",
                name=(bad or fields)[0],
                allowed=ALLOWED,
            )
        name = pattern.format(**values)
    except ValueError:
        raise UsageError(
            "{field}: not a pattern; use fields like {allowed}", field="name_pattern", allowed=ALLOWED
        ) from None
    if "/" in name or "\0" in name or name.startswith("."):
        raise UsageError("{field} must give a plain file name", field="name_pattern", code="not-plain")
    return name if name.lower().endswith(".pdf") else f"{name}.pdf"


def check_pattern(pattern: str) -> None:
    """Refuse a bad name pattern before anything is made."""
    file_name(Patient("patient", date=dt.date(2000, 1, 1)), "brand", "lang", (), pattern)


def _safe_file_part(text: str) -> str:
    kept = "".join(c if c.isalnum() else "-" for c in unicodedata.normalize("NFKC", text))
    return "-".join(part for part in kept.split("-") if part)[:60] or "patient"
