"""The register through SQLAlchemy: engines, Alembic migrations on first use, the PostgreSQL writer.

SQLite writers take the whole database with BEGIN IMMEDIATE (the engine emits it for every
write transaction); PostgreSQL writers lock the chain's head row (SELECT ... FOR UPDATE) and
migrations take an advisory lock, so two processes never chain to the same row or migrate twice.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event, insert, select, text, update
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from handouts.errors import RegisterError
from handouts.register import chain
from handouts.register.record import check_revision, inherit_patient, sqlite_error, unusable
from handouts.register.schema import entries, head

if TYPE_CHECKING:
    from handouts.register.record import Register

MIGRATIONS = Path(__file__).with_name("migrations")
# pg_advisory_xact_lock key for migrations: any constant, the same in every process.
MIGRATION_LOCK = 0x68616E64  # "hand"


def make_engine(register: Register, write: bool = True) -> Engine:
    """An engine for the register; on SQLite, write transactions begin IMMEDIATE."""
    settings = register.settings
    url = make_url(settings.url(register.root))
    if settings.is_sqlite:
        path = settings.sqlite_path(register.root)
        _create_sqlite_file(register.label, path)
        engine = create_engine(url, poolclass=NullPool, connect_args={"timeout": settings.wait})

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            # Let us issue BEGIN ourselves (pysqlite would begin late, and deferred).
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(connection: Connection) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    password = settings.password()
    if password is not None:
        url = url.set(password=password)
    return create_engine(
        url, poolclass=NullPool, connect_args={"connect_timeout": max(1, int(settings.wait))}
    )


def _create_sqlite_file(label: str, path: Path) -> None:
    """Create the SQLite file readable by its owner only (WAL files get the same mode)."""
    if path.exists():
        return
    if not path.parent.is_dir():
        raise RegisterError(
            "{label}: the folder {folder} does not exist; create it or change register:",
            label=label,
            folder=path.parent,
        )
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except OSError as exc:
        raise RegisterError(
            "{label}: cannot create the register: {detail}", label=label, detail=exc.strerror
        ) from None


def current_revision(connection: Connection) -> str | None:
    from alembic.migration import MigrationContext

    context = MigrationContext.configure(connection, opts={"version_table": chain.VERSION_TABLE})
    return context.get_current_revision()


def ensure_schema(register: Register) -> None:
    """Create or upgrade the register's schema (Alembic, inside one locked transaction)."""
    try:
        # Most calls find the schema current: ask without the write lock, and without Alembic
        # (importing it costs more than the query: a day's consent check and every listing).
        with register.reader().connect() as connection:
            revision = _revision(connection)
        if revision == chain.HEAD_REVISION:
            return
        check_revision(register.label, revision)
        from alembic import command
        from alembic.config import Config

        engine = register.engine()
        if register.settings.is_sqlite:
            raw = engine.raw_connection()
            try:
                # Readers never wait for the writer; set once, kept in the file.
                raw.cursor().execute("PRAGMA journal_mode=WAL")
            finally:
                raw.close()
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            revision = current_revision(connection)
            if revision == chain.HEAD_REVISION:
                return
            check_revision(register.label, revision)
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except SQLAlchemyError as exc:
        raise database_error(register, exc) from None


def append(register: Register, rows: list[dict[str, Any]], inherit: bool) -> int:
    """Append rows in one transaction through SQLAlchemy (PostgreSQL, or SQLite in tests)."""
    engine = register.engine()
    for attempt in (1, 2):
        try:
            with engine.begin() as connection:
                if connection.dialect.name == "postgresql":
                    wait_ms = max(1, int(register.settings.wait * 1000))
                    connection.execute(text(f"SET LOCAL lock_timeout = {wait_ms}"))
                revision = _revision(connection)
                if revision != chain.HEAD_REVISION:
                    check_revision(register.label, revision)
                    if attempt == 2:
                        raise RegisterError(
                            "{label}: the register's schema could not be upgraded", label=register.label
                        )
                    connection.rollback()
                else:
                    found = (
                        connection.execute(
                            select(entries.c.patient_ref, entries.c.patient_hash)
                            .where(entries.c.packet_id == rows[0]["packet_id"], entries.c.kind == "packet")
                            .order_by(entries.c.seq.desc())
                            .limit(1)
                        ).first()
                        if inherit and rows[0]["packet_id"]
                        else None
                    )
                    if found is not None:
                        inherit_patient(rows, found[0], found[1])
                    head_seq, head_hash = connection.execute(
                        select(head.c.seq, head.c.hash).where(head.c.id == 1).with_for_update()
                    ).one()
                    chain.seal(rows, head_seq, head_hash)
                    connection.execute(insert(entries), rows)
                    connection.execute(
                        update(head).where(head.c.id == 1).values(seq=rows[-1]["seq"], hash=rows[-1]["hash"])
                    )
                    return int(rows[0]["seq"])
        except SQLAlchemyError as exc:
            raise database_error(register, exc) from None
        ensure_schema(register)
    raise AssertionError("unreachable")


def _revision(connection: Connection) -> str | None:
    from sqlalchemy import inspect

    if not inspect(connection).has_table(chain.VERSION_TABLE):
        return None
    found = connection.exec_driver_sql(chain.SELECT_REVISION).fetchall()
    return str(found[0][0]) if len(found) == 1 else None


def database_error(register: Register, exc: SQLAlchemyError) -> RegisterError:
    """One line for what the database said: locked, unreachable, refused, or broken."""
    original = exc.orig if isinstance(exc, DBAPIError) else None
    if register.settings.is_sqlite:
        import sqlite3

        if isinstance(original, sqlite3.OperationalError):
            return sqlite_error(register.label, original, register.settings.wait)
        return unusable(register.label, original or exc)
    sqlstate = getattr(original, "sqlstate", None)
    if sqlstate in ("55P03", "40P01"):  # lock_not_available, deadlock_detected
        return RegisterError(
            "{label}: the register is locked by another writer (waited {wait} s); try again",
            code="locked",
            label=register.label,
            wait=f"{register.settings.wait:g}",
        )
    first = (
        str(original or exc).strip().splitlines()[0] if str(original or exc).strip() else type(exc).__name__
    )
    if sqlstate is None:
        return RegisterError(
            "{label}: cannot reach the register's database ({detail})", label=register.label, detail=first
        )
    return RegisterError(
        "{label}: the database refused ({sqlstate}: {detail})",
        label=register.label,
        sqlstate=sqlstate,
        detail=first,
    )
