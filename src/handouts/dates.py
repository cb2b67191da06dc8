"""Dates in one place: reading what a person typed, and writing long dates in a language.

Typed times of day (an appointment's) are 09:30, 9:30, 14.05, 9h30 or 2:30 pm. Typed dates are
YYYY-MM-DD only (unambiguous in every language, and what the forms hold);
long dates ("December 1, 2026", "1 décembre 2026") are babel's, or babel's format kept in the
build snapshot so that a packet need not load babel and its locale data.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from handouts.errors import UsageError

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
TIME_OF_DAY = re.compile(r"^(\d{1,2})[:.h](\d{2})(?::(\d{2}))?\s*([ap]\.?m\.?)?$", re.IGNORECASE)


def parse_date(field: str, value: str | None) -> dt.date | None:
    """Parse YYYY-MM-DD (None when empty); refuse anything else, naming the field."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if ISO_DATE.fullmatch(text):
            return dt.date.fromisoformat(text)
    except ValueError:
        pass
    # The value itself stays out of the message: it may be a date of birth.
    raise UsageError(
        "{field} is not a real date; use YYYY-MM-DD, e.g. 1980-02-03", field=field, code="not-a-date"
    )


def parse_time(field: str, value: str | None) -> dt.time | None:
    """Parse a time of day (None when empty); refuse anything else, naming the field."""
    if value is None or not value.strip():
        return None
    found = TIME_OF_DAY.match(value.strip())
    if found:
        hour, minute, second = int(found[1]), int(found[2]), int(found[3] or 0)
        half = (found[4] or "").lower().replace(".", "")
        if half and 1 <= hour <= 12:
            hour = hour % 12 + (12 if half == "pm" else 0)
        elif half:
            hour = 99  # "13:00 pm"
        if hour < 24 and minute < 60 and second < 60:
            return dt.time(hour, minute, second)
    raise UsageError(
        "{field} is not a time of day written HH:MM (e.g. 09:30)", field=field, code="not-a-time"
    )


def long_dates(languages: Iterable[str]) -> dict[str, dict[str, Any]]:
    """babel's long date format of each language, for packets to fill in without loading babel.

    Loading babel and a locale's data costs a packet about 30 ms, for one date. The format is
    babel's own parse of the CLDR pattern; it is kept only if filling it in gives exactly
    babel's output for a spread of dates, so any pattern it cannot express falls back to babel.
    """
    from babel.dates import format_date as babel_format
    from babel.dates import get_date_format, get_month_names, parse_pattern

    samples = [dt.date(2026, m, d) for m in range(1, 13) for d in (1, 9, 28)]
    samples += [dt.date(1999, 12, 31), dt.date(2031, 2, 3)]
    found = {}
    for lang in languages:
        locale = lang.replace("-", "_")
        months = get_month_names("wide", context="format", locale=locale)
        entry = {
            "format": parse_pattern(get_date_format("long", locale=locale).pattern).format,
            "months": [months[m] for m in range(1, 13)],
        }
        if all(fill_long_date(entry, day) == babel_format(day, "long", locale=locale) for day in samples):
            found[lang] = entry
    return found


def fill_long_date(entry: dict[str, Any], day: dt.date) -> str | None:
    """A date in a long_dates entry's format; None if the format needs more than these fields."""
    values = {
        "d": str(day.day),
        "dd": f"{day.day:02d}",
        "MMMM": entry["months"][day.month - 1],
        "y": str(day.year),
        "yyyy": f"{day.year:04d}",
    }
    try:
        return str(entry["format"] % values)
    except (KeyError, TypeError, ValueError, IndexError):
        return None


def format_date(day: dt.date, lang: str, entry: dict[str, Any] | None = None) -> str:
    """The long date in lang ("December 1, 2026", "1 décembre 2026"), as babel writes it.

    entry: lang's long_dates entry, when known (kept by the snapshot); else babel itself.
    """
    filled = fill_long_date(entry, day) if entry else None
    if filled is not None:
        return filled
    from babel.dates import format_date as babel_format

    return babel_format(day, format="long", locale=lang.replace("-", "_"))


def full_date(day: dt.date, lang: str) -> str:
    """The full date with the weekday ("Tuesday, December 1, 2026"), as babel writes it."""
    from babel.dates import format_date as babel_format

    return babel_format(day, format="full", locale=lang.replace("-", "_"))
