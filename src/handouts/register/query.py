"""Read the register: list, export, who must consent again, what is past retention, and verify.

Every query goes through SQLAlchemy Core, so the same code reads SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.exc import SQLAlchemyError

from handouts.errors import RegisterError
from handouts.packet.request import check_patient_ref
from handouts.register import chain, keys
from handouts.register.record import Register
from handouts.register.schema import entries, head
from handouts.register.store import database_error, ensure_schema

# A returned form counts as consent when it says so: ticked, signed, dated, nothing tampered.
CONSENTING = ("clear", "flagged")


@dataclass(frozen=True)
class Entry:
    """One row of the register (a packet has one per document)."""

    seq: int
    event: int
    at: str
    actor: str
    kind: str
    source: str
    packet_id: str | None
    patient_ref: str | None
    patient_hash: str | None
    document: str | None
    version: str | None
    fingerprint: str | None
    variant: str | None
    brand: str | None
    lang: str | None
    appointment: str | None
    therapist: str | None
    status: str | None
    flagged: str | None
    signed: int | None
    signature: str | None
    recipient_hash: str | None
    channel: str | None
    sha256: str | None
    detail: str | None
    prev_hash: str
    hash: str

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


assert tuple(f.name for f in fields(Entry)) == chain.COLUMNS


@dataclass(frozen=True)
class Reconsent:
    """A patient whose latest returned consent is older than the current version, or missing."""

    patient_ref: str
    document: str
    current_version: str
    latest_version: str | None  # None: no signed consent came back
    latest_at: str | None

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Expired:
    """Entries past the retention period: a patient reference (or a packet without one)."""

    patient_ref: str | None
    packet_id: str | None
    last_at: str
    rows: int
    keep_until: dt.date


@dataclass(frozen=True)
class Verdict:
    ok: bool
    rows: int
    head_seq: int
    head_hash: str
    bad_seq: int | None = None
    problem: str | None = None


def _ready(register: Register) -> bool:
    """Whether there is a register to read (a missing SQLite file is an empty register, not created)."""
    if register.settings.is_sqlite and not register.settings.sqlite_path(register.root).exists():
        return False
    ensure_schema(register)  # upgrades an older one; refuses a newer one
    return True


def _rows(register: Register, statement: Any) -> list[Entry]:
    if not _ready(register):
        return []
    try:
        with register.reader().connect() as connection:
            return [Entry(**row._mapping) for row in connection.execute(statement)]
    except SQLAlchemyError as exc:
        raise database_error(register, exc) from None


def list_entries(
    register: Register,
    *,
    patient_ref: str | None = None,
    patient: tuple[str, dt.date] | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    document: str | None = None,
    kinds: Sequence[str] = (),
) -> list[Entry]:
    """Entries matching every filter given, oldest first (an unknown reference: none)."""
    statement = select(entries).order_by(entries.c.seq)
    ref = check_patient_ref(patient_ref)
    if ref is not None:
        statement = statement.where(entries.c.patient_ref == ref)
    if patient is not None:
        if register.key is None:
            env = register.settings.key_env
            raise RegisterError(
                "register.key_env: set {variable} to find patients by name and date of birth",
                code="no-key",
                variable=env,
            )
        statement = statement.where(entries.c.patient_hash == keys.patient_hash(register.key, *patient))
    if since is not None:
        statement = statement.where(entries.c.at >= since.isoformat())
    if until is not None:
        statement = statement.where(entries.c.at < (until + dt.timedelta(days=1)).isoformat())
    if document is not None:
        statement = statement.where(entries.c.document == document)
    if kinds:
        statement = statement.where(entries.c.kind.in_(kinds))
    return _rows(register, statement)


def history(register: Register, patient_ref: str, limit: int = 20) -> list[Entry]:
    """A patient's latest packets and returned forms, newest first (the front desk's view)."""
    ref = check_patient_ref(patient_ref)
    if ref is None:
        return []
    statement = (
        select(entries)
        .where(entries.c.patient_ref == ref, entries.c.kind.in_(("packet", "return")))
        .order_by(entries.c.seq.desc())
        .limit(limit)
    )
    return _rows(register, statement)


def export_csv(found: Iterable[Entry]) -> bytes:
    """The entries as CSV, every cell neutralised as in packets' report.csv."""
    from handouts.packet.appointments import report_csv

    return report_csv(chain.COLUMNS, ([getattr(e, c) for c in chain.COLUMNS] for e in found))


def version_key(version: str) -> tuple[int, ...] | None:
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        return None


def is_older(version: str, current: str) -> bool:
    """Whether version comes before current ('1.0' < '1.1' < '1.10')."""
    mine, theirs = version_key(version), version_key(current)
    if mine is None or theirs is None:
        return version != current
    return mine < theirs


def reconsent(
    register: Register, current: Mapping[str, str], refs: Iterable[str] | None = None
) -> list[Reconsent]:
    """Patients whose latest signed consent (per consent document) is older than current, or none.

    current: consent document id -> its version in content/ today. refs: only these patient
    references (e.g. today's appointments), known to the register or not; default every
    reference in the register.
    """
    found = _rows(
        register,
        select(entries).where(entries.c.patient_ref.is_not(None)).order_by(entries.c.seq),
    )
    population = (
        sorted({r for r in (check_patient_ref(ref) for ref in refs) if r})
        if refs is not None
        else sorted({e.patient_ref for e in found if e.patient_ref})
    )
    latest: dict[tuple[str, str], Entry] = {}
    for entry in found:
        if (
            entry.kind == "return"
            and entry.document is not None
            and entry.document in current
            and entry.signed
            and entry.status in CONSENTING
            and entry.patient_ref
            and entry.version
        ):
            latest[(entry.patient_ref, entry.document)] = entry  # later rows replace earlier ones
    result = []
    for ref in population:
        for document, version in sorted(current.items()):
            last = latest.get((ref, document))
            if last is None or is_older(last.version or "", version):
                result.append(
                    Reconsent(
                        ref, document, version, last.version if last else None, last.at if last else None
                    )
                )
    return result


def add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def expired(register: Register, today: dt.date | None = None) -> list[Expired]:
    """What is past the retention period: references whose last entry is older than it."""
    found = _rows(register, select(entries).order_by(entries.c.seq))
    return [group for group, _ in _expired(found, register.settings.retention_years, today)]


def _expired(found: list[Entry], years: int, today: dt.date | None) -> list[tuple[Expired, list[Entry]]]:
    """Groups of entries past retention: by patient reference, else by packet; prunes stay."""
    today = today or dt.datetime.now(dt.UTC).date()
    groups: dict[tuple[str | None, str | None], list[Entry]] = {}
    for entry in found:
        if entry.kind == "prune":
            continue  # the record of what was deleted holds no patient data, and verify needs it
        key = (entry.patient_ref, None) if entry.patient_ref else (None, entry.packet_id)
        groups.setdefault(key, []).append(entry)
    result = []
    for (ref, packet), rows in groups.items():
        last = rows[-1].at
        keep_until = add_years(dt.date.fromisoformat(last[:10]), years)
        if keep_until < today:
            result.append((Expired(ref, packet, last, len(rows), keep_until), rows))
    return sorted(result, key=lambda g: (g[0].last_at, g[0].patient_ref or "", g[0].packet_id or ""))


@dataclass(frozen=True)
class Pruned:
    groups: list[Expired]
    rows: int
    seq: int | None  # the prune entry that records what was removed


def prune(register: Register, today: dt.date | None = None, actor: str | None = None) -> Pruned:
    """Delete what is past retention, and record in the chain which rows went (seq and hashes only).

    One transaction holding the chain's head: the rows go and the prune entry comes, or neither.
    verify accepts exactly the gaps a prune entry accounts for.
    """
    if not _ready(register):
        return Pruned([], 0, None)
    try:
        with register.engine().begin() as connection:
            if connection.dialect.name == "postgresql":
                wait_ms = max(1, int(register.settings.wait * 1000))
                connection.execute(text(f"SET LOCAL lock_timeout = {wait_ms}"))
            head_seq, head_hash = connection.execute(
                select(head.c.seq, head.c.hash).where(head.c.id == 1).with_for_update()
            ).one()
            found = [
                Entry(**row._mapping) for row in connection.execute(select(entries).order_by(entries.c.seq))
            ]
            groups = _expired(found, register.settings.retention_years, today)
            gone = sorted((e for _, rows in groups for e in rows), key=lambda e: e.seq)
            if not gone:
                return Pruned([], 0, None)
            seqs = [e.seq for e in gone]
            for start in range(0, len(seqs), 500):
                connection.execute(delete(entries).where(entries.c.seq.in_(seqs[start : start + 500])))
            detail = json.dumps(
                {
                    "removed": [[e.seq, e.prev_hash, e.hash] for e in gone],
                    "retention_years": register.settings.retention_years,
                },
                separators=(",", ":"),
            )
            row = register.prune_row(detail, actor)
            chain.seal([row], head_seq, head_hash)
            connection.execute(insert(entries), [row])
            connection.execute(update(head).where(head.c.id == 1).values(seq=row["seq"], hash=row["hash"]))
    except SQLAlchemyError as exc:
        raise database_error(register, exc) from None
    return Pruned([g for g, _ in groups], len(gone), int(row["seq"]))


def verify(register: Register) -> Verdict:
    """Check the whole chain; name the first row that was changed, removed or inserted."""
    if not _ready(register):
        return Verdict(True, 0, 0, chain.GENESIS)
    try:
        with register.reader().connect() as connection:
            rows = [dict(row._mapping) for row in connection.execute(select(entries).order_by(entries.c.seq))]
            found = connection.execute(select(head.c.seq, head.c.hash).where(head.c.id == 1)).first()
    except SQLAlchemyError as exc:
        raise database_error(register, exc) from None
    return verify_rows(rows, (int(found[0]), str(found[1])) if found else None)


def _pruned(rows: list[dict[str, Any]]) -> dict[int, tuple[str, str]]:
    """seq -> (prev_hash, hash) of every row a prune entry says it removed (before itself)."""
    found: dict[int, tuple[str, str]] = {}
    for row in rows:
        if row["kind"] != "prune" or not row.get("detail"):
            continue
        try:
            removed = json.loads(row["detail"])["removed"]
            for seq, prev, sealed in removed:
                if int(seq) < int(row["seq"]):
                    found[int(seq)] = (str(prev), str(sealed))
        except (ValueError, KeyError, TypeError):
            continue  # a damaged detail fails the row's own hash check
    return found


def verify_rows(rows: list[dict[str, Any]], head_row: tuple[int, str] | None) -> Verdict:
    """The chain check itself, on rows in seq order and the stored head (seq, hash)."""
    expected_prev, expected_seq = chain.GENESIS, 1
    before_prev = None  # the hash the accepted row before the last one had
    pruned = _pruned(rows)

    def bad(seq: int, what: str) -> Verdict:
        last = rows[-1] if rows else None
        return Verdict(False, len(rows), last["seq"] if last else 0, last["hash"] if last else "", seq, what)

    for i, row in enumerate(rows):
        seq = int(row["seq"])
        # Rows a prune entry accounts for: their links are known, the chain goes on past them.
        while expected_seq < seq and expected_seq in pruned and pruned[expected_seq][0] == expected_prev:
            expected_prev = pruned[expected_seq][1]
            expected_seq += 1
        sealed = chain.row_hash(row) == row["hash"]
        linked = row["prev_hash"] == expected_prev
        if sealed and linked and seq == expected_seq:
            before_prev, expected_prev, expected_seq = expected_prev, row["hash"], seq + 1
            continue
        following = rows[i + 1] if i + 1 < len(rows) else None
        if following is not None and following["prev_hash"] == expected_prev:
            return bad(seq, f"row {seq} was inserted: the row after it is chained to the row before it")
        if linked:
            if not sealed:
                return bad(seq, f"row {seq} was changed: its content no longer matches its hash")
            return bad(expected_seq, f"row {expected_seq} was removed (the chain goes on at row {seq})")
        if before_prev is not None and row["prev_hash"] == before_prev:
            return bad(expected_seq - 1, f"row {expected_seq - 1} was inserted: row {seq} is chained past it")
        if seq > expected_seq:
            removed = (
                f"rows {expected_seq} to {seq - 1} were"
                if seq - 1 > expected_seq
                else f"row {expected_seq} was"
            )
            return bad(expected_seq, f"{removed} removed (row {seq} is chained to a row that is gone)")
        if expected_seq == 1:
            return bad(seq, f"row {seq} was changed: it does not start the chain")
        return bad(
            expected_seq - 1,
            f"row {expected_seq - 1} was changed (its hash was rewritten; row {seq} recorded another)",
        )
    last_seq = expected_seq - 1
    if head_row is None:
        return bad(last_seq + 1, "the register's head row is missing")
    head_seq, head_hash = head_row
    if head_seq > last_seq:
        removed = (
            f"rows {last_seq + 1} to {head_seq} were" if head_seq > last_seq + 1 else f"row {head_seq} was"
        )
        return bad(last_seq + 1, f"{removed} removed from the end of the register")
    if head_seq < last_seq:
        return bad(head_seq + 1, f"row {head_seq + 1} was inserted after the register's last recorded entry")
    if head_hash != expected_prev:
        return bad(last_seq, f"row {last_seq} was changed: it is not the row the register last wrote")
    return Verdict(True, len(rows), head_seq, head_hash)
