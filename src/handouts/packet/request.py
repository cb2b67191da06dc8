"""What a packet is asked for, and the one check of what a person typed for it.

`make_patient` is the validator of a patient's details for every face: `handouts packet`,
each row of `handouts packets` and the front-desk page. It reports every problem at once,
each naming its field (`patient`, `patient_ref`, `dob`, `date`, `therapist`, `area`); the
face words it. `check_patient_ref` is the one check of a chart number, wherever one is typed
(also `screen`, `archive`, `handouts register` and the front desk's history).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from handouts.dates import parse_date
from handouts.errors import HandoutsError, InputErrors, UsageError
from handouts.layers import peeked
from handouts.project import Project
from handouts.render.fonts import Ranges, covers, field_font_ranges

if TYPE_CHECKING:
    from handouts.build.index import CatalogueIndex

T = TypeVar("T")

MAX_TEXT = 100
DEFAULT_DOCS = ("info", "consent", "aftercare")
PATIENT_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")


@dataclass(frozen=True)
class Patient:
    """The details printed on a packet; held in memory only, never logged."""

    name: str
    dob: dt.date | None = None
    date: dt.date | None = None
    therapist: str | None = None
    area: str | None = None
    # The clinic's chart number, for the consent register: never printed, not in the file name.
    ref: str | None = None


@dataclass(frozen=True)
class PacketRequest:
    patient: Patient
    docs: tuple[str, ...] = DEFAULT_DOCS
    brand: str | None = None
    lang: str | None = None
    fillable: bool = False
    large_print: bool = False
    encrypted: bool = False  # the caller will protect() it: part of the packet's id


def check_patient_ref(value: str | None) -> str | None:
    """The clinic's chart number, stripped (None when empty); refused when it cannot be one."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if not PATIENT_REF.match(text):
        raise UsageError(
            "{field} must be the clinic's chart number: up to 64 letters, digits and . _ / - "
            "(no spaces, no names)",
            field="patient_ref",
            code="not-a-chart-number",
        )
    return text


def check_text(field: str, value: str | None, printable: Ranges, required: bool = False) -> str | None:
    """Return value stripped, or raise UsageError saying plainly what cannot be printed.

    printable: the code points the form font can draw (render.fonts.field_font_ranges).
    """
    if value is None or not value.strip():
        if required:
            raise UsageError("{field} is required", field=field, code="required")
        return None
    text = unicodedata.normalize("NFC", value.strip())
    if len(text) > MAX_TEXT:
        raise UsageError(
            "{field} is {length} characters long; at most {limit} fit on the form",
            field=field,
            code="too-long",
            length=len(text),
            limit=MAX_TEXT,
        )
    for char in text:
        category = unicodedata.category(char)
        if category[0] == "C" or category in ("Zl", "Zp"):
            raise UsageError(
                "{field} contains an invisible control character (U+{point}); type the text again without it",
                field=field,
                code="control-character",
                point=f"{ord(char):04X}",
            )
        if not covers(printable, char):
            raise UsageError(
                "{field} contains '{char}' (U+{point}), which the form font cannot print; "
                "use Latin, Greek or Cyrillic letters",
                field=field,
                code="unprintable",
                char=char,
                point=f"{ord(char):04X}",
            )
    return text


def make_patient(
    project: Project,
    name: str | None,
    dob: str | None = None,
    date: str | None = None,
    therapist: str | None = None,
    area: str | None = None,
    today: dt.date | None = None,
    index: CatalogueIndex | None = None,
    patient_ref: str | None = None,
) -> Patient:
    """Check every value a person typed; raise InputErrors listing each bad one.

    date: the appointment, YYYY-MM-DD (empty: today). index: the snapshot's, when current
    (it knows the field font's characters without reading the font).
    """
    printable = index.printable if index is not None else field_font_ranges(peeked(project))
    problems: list[HandoutsError] = []

    def checked(run: Callable[[], T]) -> T | None:
        try:
            return run()
        except HandoutsError as exc:
            problems.append(exc)
            return None

    patient_name = checked(lambda: check_text("patient", name, printable, required=True))
    ref = checked(lambda: check_patient_ref(patient_ref))
    born = checked(lambda: parse_date("dob", dob))
    before = len(problems)
    day = checked(lambda: parse_date("date", date))
    when = day or today or dt.date.today()
    if born is not None and len(problems) == before:  # compared only with a real appointment date
        if born > when:
            problems.append(
                UsageError(
                    "{field} is after the appointment date; check both dates", field="dob", code="after"
                )
            )
        if born.year < 1900:
            problems.append(
                UsageError("{field} is before 1900; check the year", field="dob", code="too-early")
            )
    therapist_text = checked(lambda: check_text("therapist", therapist, printable))
    area_text = checked(lambda: check_text("area", area, printable))
    if problems:
        raise InputErrors(problems)
    assert patient_name is not None
    return Patient(name=patient_name, dob=born, date=when, therapist=therapist_text, area=area_text, ref=ref)
