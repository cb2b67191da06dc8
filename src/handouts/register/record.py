"""Record what was issued, sent and returned: one transaction per event, chained by hash.

This module is on the path of every packet, so it stays light: the stdlib only, and sqlite3
imported on the first write. A SQLite register at the current schema is written straight
through the sqlite3 module with chain.py's SQL (the same statement SQLAlchemy compiles, as a
test checks); creating or upgrading the schema, and every PostgreSQL register, go through
SQLAlchemy and Alembic in store.py.

What is stored of a patient: the clinic's chart number and a keyed hash of name and date of
birth; never the name, the date of birth or any answer (only the ids of flagged items).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handouts.errors import RegisterError, UsageError
from handouts.packet.request import check_patient_ref
from handouts.register import chain, keys
from handouts.register.settings import RegisterSettings, load_settings

log = logging.getLogger(__name__)

VARIANTS = ("print", "fillable", "large-print", "fillable-large-print")
RETURN_STATUSES = ("clear", "flagged", "incomplete", "needs-review", "tampered")
OUTCOMES = ("sent", "already sent", "written", "not sent")
CHANNELS = ("smtp", "eml")
SOURCES = ("cli", "batch", "web", "screen", "archive")


@dataclass(frozen=True)
class PatientKey:
    """Who an entry is about: the chart number, and name + date of birth to hash (never stored)."""

    ref: str | None = None
    name: str | None = None
    dob: dt.date | None = None


@dataclass(frozen=True)
class Issued:
    """One document of a packet: id, version and fingerprint, as built."""

    document: str
    version: str
    fingerprint: str


@dataclass(frozen=True)
class PacketMade:
    packet_id: str
    brand: str
    lang: str
    variant: str  # see VARIANTS
    documents: tuple[Issued, ...]
    appointment: dt.date | None = None
    therapist: str | None = None
    source: str = "cli"


@dataclass(frozen=True)
class MessageSent:
    packet_id: str
    recipient: str  # the address: only its keyed hash is stored
    outcome: str  # see OUTCOMES
    channel: str  # smtp | eml
    source: str = "cli"


@dataclass(frozen=True)
class FormReturned:
    """A form read back by screen or archive (fillable or scan); values from the form itself."""

    document: str
    version: str
    fingerprint: str
    status: str  # see RETURN_STATUSES
    packet_id: str | None = None
    flagged: tuple[str, ...] = ()  # ids only, never labels or answers
    signed: bool = False  # consent ticked, signed and dated
    signature: str | None = None  # the digital signature check: none | valid | invalid
    archive_sha256: str | None = None
    source: str = "screen"


Event = PacketMade | MessageSent | FormReturned


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def default_actor() -> str:
    """The OS user running handouts."""
    import pwd

    try:
        return f"user:{pwd.getpwuid(os.getuid()).pw_name}"
    except KeyError:
        return f"user:{os.environ.get('USER') or os.getuid()}"


class Register:
    """A register to record into; opened lazily (nothing is imported or connected until a write)."""

    def __init__(
        self,
        settings: RegisterSettings,
        root: Path,
        *,
        actor: str | None = None,
        clock: Callable[[], str] = utc_now,
    ) -> None:
        if not settings.enabled:
            raise RegisterError("register: it is off in handouts.yaml", code="off")
        self.settings = settings
        self.root = root
        self.actor = actor or default_actor()
        self.clock = clock
        self.key = settings.key()
        self._engine: Any = None
        self._reader: Any = None
        self._con: Any = None  # the sqlite3 connection of the hot path, once opened
        self._schema_seen = False
        self._lock = threading.Lock()

    @property
    def label(self) -> str:
        """How messages name the register: its file, or its URL (which holds no password)."""
        if self.settings.is_sqlite:
            path = self.settings.sqlite_path(self.root)
            return path.relative_to(self.root).as_posix() if path.is_relative_to(self.root) else str(path)
        assert self.settings.database is not None
        return self.settings.database

    def engine(self) -> Any:
        """The SQLAlchemy engine for writes (imports SQLAlchemy): PostgreSQL and migrations."""
        if self._engine is None:
            from handouts.register.store import make_engine

            self._engine = make_engine(self)
        return self._engine

    def reader(self) -> Any:
        """The engine for queries: on SQLite its transactions take no write lock."""
        if not self.settings.is_sqlite:
            return self.engine()
        if self._reader is None:
            from handouts.register.store import make_engine

            self._reader = make_engine(self, write=False)
        return self._reader

    def close(self) -> None:
        """Close the connections (the process's exit does as well: every write is committed)."""
        self._drop_sqlite()
        for engine in (self._engine, self._reader):
            if engine is not None:
                engine.dispose()
        self._engine = self._reader = None

    def patient_hash(self, patient: PatientKey | None) -> str | None:
        if patient is None or not patient.name or patient.dob is None:
            return None
        if self.key is None:
            if not patient.ref:
                log.info(
                    "register: recorded without a patient reference, and %s is not set for the "
                    "keyed hash: this entry cannot be found by patient",
                    self.settings.key_env,
                )
            return None
        return keys.patient_hash(self.key, patient.name, patient.dob)

    def rows(self, event: Event, patient: PatientKey | None, actor: str | None) -> list[dict[str, Any]]:
        """The rows an event becomes (not yet numbered or chained)."""
        ref = check_patient_ref(patient.ref) if patient is not None else None
        base: dict[str, Any] = dict.fromkeys(chain.COLUMNS)
        base.update(
            at=self.clock(),
            actor=actor or self.actor,
            source=_one_of("source", event.source, SOURCES),
            packet_id=event.packet_id,
            patient_ref=ref,
            patient_hash=self.patient_hash(patient),
        )
        if isinstance(event, PacketMade):
            if not event.documents:
                raise UsageError(
                    "{field}: a packet has at least one document", field="documents", code="empty"
                )
            shared = dict(
                base,
                kind="packet",
                variant=_one_of("variant", event.variant, VARIANTS),
                brand=event.brand,
                lang=event.lang,
                appointment=event.appointment.isoformat() if event.appointment else None,
                therapist=event.therapist,
            )
            return [
                dict(shared, document=d.document, version=d.version, fingerprint=d.fingerprint)
                for d in event.documents
            ]
        if isinstance(event, MessageSent):
            recipient = keys.recipient_hash(self.key, event.recipient) if self.key else None
            return [
                dict(
                    base,
                    kind="message",
                    status=_one_of("outcome", event.outcome, OUTCOMES),
                    channel=_one_of("channel", event.channel, CHANNELS),
                    recipient_hash=recipient,
                )
            ]
        return [
            dict(
                base,
                kind="return",
                document=event.document,
                version=event.version,
                fingerprint=event.fingerprint,
                status=_one_of("status", event.status, RETURN_STATUSES),
                flagged=",".join(event.flagged) or None,
                signed=1 if event.signed else 0,
                signature=event.signature,
                sha256=event.archive_sha256,
            )
        ]

    def prune_row(self, detail: str, actor: str | None = None) -> dict[str, Any]:
        """The row that records a prune (not yet numbered or chained): no patient in it."""
        row: dict[str, Any] = dict.fromkeys(chain.COLUMNS)
        row.update(at=self.clock(), actor=actor or self.actor, kind="prune", source="cli", detail=detail)
        return row

    def record(self, event: Event, patient: PatientKey | None = None, actor: str | None = None) -> int:
        """Append the event in one transaction; return the seq of its first row."""
        rows = self.rows(event, patient, actor)
        # A message or a returned form names its packet: it is about the packet's patient.
        inherit = not isinstance(event, PacketMade) and rows[0]["patient_ref"] is None
        if self.settings.is_sqlite:
            return self._append_sqlite(rows, inherit)
        from handouts.register.store import append

        return append(self, rows, inherit)

    def _append_sqlite(self, rows: list[dict[str, Any]], inherit: bool) -> int:
        import sqlite3

        with self._lock:
            for attempt in (1, 2):
                con = self._sqlite()
                try:
                    con.execute("BEGIN IMMEDIATE")  # the chain's head is ours until COMMIT
                    revision = self._revision(con)
                    if revision != chain.HEAD_REVISION:
                        con.execute("ROLLBACK")
                        check_revision(self.label, revision)
                        if attempt == 1:
                            self._migrate()  # an older or empty register: upgrade, then write
                            continue
                        raise RegisterError(
                            "{label}: the register's schema could not be upgraded", label=self.label
                        )
                    if inherit and rows[0]["packet_id"]:
                        found = con.execute(chain.SELECT_PACKET_PATIENT, (rows[0]["packet_id"],)).fetchone()
                        if found is not None:
                            inherit_patient(rows, found[0], found[1])
                    head_seq, head_hash = con.execute(chain.SELECT_HEAD).fetchone()
                    chain.seal(rows, head_seq, head_hash)
                    con.executemany(chain.INSERT_ENTRY, [tuple(r[c] for c in chain.COLUMNS) for r in rows])
                    con.execute(chain.UPDATE_HEAD, (rows[-1]["seq"], rows[-1]["hash"]))
                    con.execute("COMMIT")
                    return int(rows[0]["seq"])
                except sqlite3.OperationalError as exc:
                    self._drop_sqlite()  # closing rolls back an open transaction: no partial row
                    raise sqlite_error(self.label, exc, self.settings.wait) from None
                except sqlite3.DatabaseError as exc:
                    self._drop_sqlite()
                    raise unusable(self.label, exc) from None
                except BaseException:
                    self._drop_sqlite()
                    raise
        raise AssertionError("unreachable")

    def _sqlite(self) -> Any:
        """The connection this Register writes through, kept open: a day's CSV writes hundreds."""
        import sqlite3

        if self._con is None:
            path = self.settings.sqlite_path(self.root)
            if not path.exists():
                self._migrate()
            try:
                # A lock serialises this object's threads (the front desk's server has several).
                self._con = sqlite3.connect(
                    path, timeout=self.settings.wait, isolation_level=None, check_same_thread=False
                )
            except sqlite3.Error as exc:
                raise RegisterError(
                    "{label}: cannot open the register ({detail})", label=self.label, detail=str(exc)
                ) from None
        return self._con

    def _revision(self, con: Any) -> str | None:
        if not self._schema_seen and not _has_schema(con):
            return None
        found = con.execute(chain.SELECT_REVISION).fetchall()
        self._schema_seen = True
        return str(found[0][0]) if len(found) == 1 else None

    def _drop_sqlite(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
            self._schema_seen = False

    def _migrate(self) -> None:
        from handouts.register.store import ensure_schema

        ensure_schema(self)


def inherit_patient(rows: list[dict[str, Any]], ref: str | None, patient_hash: str | None) -> None:
    """Give a message's or a return's rows the patient of the packet they name."""
    for row in rows:
        row["patient_ref"] = ref
        row["patient_hash"] = row["patient_hash"] or patient_hash


def _has_schema(con: Any) -> bool:
    found = con.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", (chain.VERSION_TABLE,)
    ).fetchone()
    return bool(found[0])


def check_revision(label: str, revision: str | None) -> None:
    """Refuse a register whose schema this code does not know (a newer handouts made it)."""
    if revision is None or revision in chain.REVISIONS:
        return
    raise RegisterError(
        "{label}: the register's schema ({revision}) is newer than this handouts knows "
        "({known}); upgrade handouts to use it",
        label=label,
        revision=revision,
        known=chain.HEAD_REVISION,
    )


def sqlite_error(label: str, exc: Exception, wait: float) -> RegisterError:
    """A one-line error for sqlite3's OperationalError (a lock held too long, above all)."""
    text = str(exc)
    if "locked" in text or "busy" in text:
        return RegisterError(
            "{label}: the register is locked by another program (waited {wait} s); "
            "try again, or close what keeps it open",
            code="locked",
            label=label,
            wait=f"{wait:g}",
        )
    return RegisterError("{label}: cannot write the register ({detail})", label=label, detail=text)


def unusable(label: str, exc: object) -> RegisterError:
    """The file (or database) is not a register this code can use."""
    return RegisterError("{label}: not a usable register ({detail})", label=label, detail=str(exc))


def _one_of(field: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise UsageError(
            "{field}: '{value}' is not one of {allowed}",
            field=field,
            code="unknown",
            value=value,
            allowed=", ".join(allowed),
        )
    return value


def open_register(root: Path, actor: str | None = None) -> Register | None:
    """The project's register, or None when handouts.yaml turns it off."""
    settings = load_settings(root)
    return Register(settings, root, actor=actor) if settings.enabled else None
