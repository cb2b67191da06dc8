"""Read a day's appointments from CSV, put them in the day's order, and write CSV reports that a
spreadsheet cannot execute."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from handouts.confine import FileTooLarge, RefusedFile, read_file
from handouts.errors import Problem, UsageError

T = TypeVar("T")

REQUIRED = ("patient",)
COLUMNS = (
    "patient", "patient_ref", "dob", "date", "time", "therapist", "area", "docs", "lang", "brand", "email",
)  # fmt: skip
MAX_BYTES = 10_000_000
MAX_ROWS = 10_000
# A spreadsheet treats a cell starting with one of these as a formula (or, for tab and
# carriage return, may shift it so that the next character starts one).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Row:
    """One appointment: its line in the file and its cells by column name (absent ones empty)."""

    line: int
    cells: dict[str, str]

    def get(self, column: str) -> str | None:
        value = self.cells.get(column, "").strip()
        return value or None


@dataclass
class Appointments:
    rows: list[Row]
    warnings: list[Problem] = field(default_factory=list)
    # Rows that cannot be read as cells at all (wrong number of cells).
    problems: list[Problem] = field(default_factory=list)


def read_appointments(path: Path, label: str | None = None) -> Appointments:
    """Read the CSV at path; raise UsageError when the file as a whole is unusable."""
    name = label or str(path)
    try:  # a regular file, its size told by stat() before it is read (confine.py's rule)
        data = read_file(path, None, name, MAX_BYTES)
    except FileTooLarge:
        raise UsageError(f"{name}: more than {MAX_BYTES // 1_000_000} MB is more than a day's "
                         "appointments; split the file") from None  # fmt: skip
    except RefusedFile as exc:
        raise UsageError(f"{name}: {exc.reason}") from None
    return parse_appointments(data, name)


def parse_appointments(data: bytes, name: str) -> Appointments:
    """Read a CSV given as bytes (an upload, kept in memory); name is what messages call it."""
    if len(data) > MAX_BYTES:
        raise UsageError(f"{name}: {len(data)} bytes is more than a day's appointments; split the file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UsageError(
            f"{name}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02X}); "
            "save it as UTF-8 CSV (in Excel: Save As, 'CSV UTF-8') and try again"
        ) from None
    first_line = text.split("\n", 1)[0]
    # Spreadsheets set to French and other languages save with ';' between cells.
    delimiter = max((",", ";", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[tuple[int, list[str]]] = []
    start = 1  # a quoted cell may span lines: remember where each record starts
    try:
        for cells in reader:
            records.append((start, cells))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise UsageError(f"{name}:{reader.line_num}: not readable as CSV ({exc}); check the quotes") from None
    if not records or not any(cell.strip() for cell in records[0][1]):
        raise UsageError(f"{name}: no header row; the first line must name the columns, e.g. patient,date")
    header_line, header_cells = records[0]
    header = [cell.strip().lower() for cell in header_cells]
    result = Appointments(rows=[])
    seen: set[str] = set()
    for column in header:
        if column in seen and column:
            raise UsageError(f"{name}:{header_line}: column '{column}' appears twice")
        seen.add(column)
        if column and column not in COLUMNS:
            result.warnings.append(
                Problem(name, header_line, f"unknown column '{column}' is ignored", warning=True)
            )
    missing = [c for c in REQUIRED if c not in seen]
    if missing:
        raise UsageError(
            f"{name}:{header_line}: no '{missing[0]}' column; the header needs it "
            f"(columns: {', '.join(COLUMNS)})"
        )
    if len(records) - 1 > MAX_ROWS:
        raise UsageError(f"{name}: more than {MAX_ROWS} appointments; split the file")
    for line, cells in records[1:]:
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(header) and any(cell.strip() for cell in cells[len(header) :]):
            result.problems.append(
                Problem(name, line, f"{len(cells)} cells but the header names {len(header)} columns")
            )
            continue
        known = {col: cell for col, cell in zip(header, cells, strict=False) if col in COLUMNS}
        result.rows.append(Row(line, known))
    return result


def day_order(items: Sequence[T], when: Callable[[T], tuple[dt.date | None, dt.time | None]]) -> list[T]:
    """Items in appointment order: by date, then time; untimed ones after the timed ones of their day.

    The sort is stable, so rows at the same time (or without one) keep the CSV's order: a
    walk-in added at the end of the list comes last.
    """

    def key(item: T) -> tuple[dt.date, bool, dt.time]:
        day, time = when(item)
        return (day or dt.date.min, time is None, time or dt.time.min)

    return sorted(items, key=key)


def safe_cell(value: object) -> str:
    """A cell a spreadsheet shows as text: one that could start a formula gets a leading quote."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def report_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """A CSV report (UTF-8 with BOM, so Excel reads it as such) with every cell neutralised."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
