"""The register's tables for SQLAlchemy Core (the current revision; migrations/ gets there)."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, MetaData, String, Table, Text

from handouts.register.chain import ENTRIES, HEAD

metadata = MetaData()

entries = Table(
    ENTRIES,
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("event", Integer, nullable=False),
    Column("at", String(32), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("source", String(16), nullable=False),
    Column("packet_id", String(64)),
    Column("patient_ref", String(64)),
    Column("patient_hash", String(64)),
    Column("document", String(64)),
    Column("version", String(16)),
    Column("fingerprint", String(64)),
    Column("variant", String(32)),
    Column("brand", String(64)),
    Column("lang", String(16)),
    Column("appointment", String(10)),
    Column("therapist", String(200)),
    Column("status", String(16)),
    Column("flagged", Text),
    Column("signed", Integer),
    Column("signature", String(16)),
    Column("recipient_hash", String(64)),
    Column("channel", String(8)),
    Column("sha256", String(64)),
    Column("detail", Text),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
    Index("ix_register_entries_patient_ref", "patient_ref"),
    Index("ix_register_entries_patient_hash", "patient_hash"),
    Index("ix_register_entries_packet_id", "packet_id"),
    Index("ix_register_entries_document", "document"),
    Index("ix_register_entries_at", "at"),
)

# One row (id 1): the chain's last seq and hash. Writers lock it (SQLite: the whole database,
# BEGIN IMMEDIATE; PostgreSQL: SELECT ... FOR UPDATE), so two writers never chain to the same row;
# verify compares it with the last row, so rows cut off the end are noticed too.
head = Table(
    HEAD,
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
)
