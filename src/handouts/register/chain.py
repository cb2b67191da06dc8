"""The register's columns, the SQL text of the hot insert, and the hash chain over its rows.

Kept free of SQLAlchemy: a packet records through the sqlite3 module with these statements
(importing SQLAlchemy alone costs about 180 ms, the whole budget 36 times over); schema.py
declares the same table for SQLAlchemy, and a test checks that both say the same thing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

ENTRIES = "register_entries"
HEAD = "register_head"
VERSION_TABLE = "register_alembic_version"
# Schema revisions this code knows, oldest first; a register at another one is newer.
REVISIONS = ("0001", "0002")
HEAD_REVISION = REVISIONS[-1]

COLUMNS = (
    "seq",  # position in the chain, 1, 2, ...
    "event",  # seq of the first row written in the same transaction (a packet is a row per document)
    "at",  # UTC, 2026-12-01T09:30:12.123456Z
    "actor",  # user:<OS user> or web:<front-desk session>
    "kind",  # packet | message | return
    "source",  # cli | batch | web | screen | archive
    "packet_id",
    "patient_ref",  # the clinic's chart number
    "patient_hash",  # HMAC-SHA256 of normalised name + date of birth
    "document",
    "version",
    "fingerprint",
    "variant",  # print | fillable | large-print | fillable-large-print
    "brand",
    "lang",
    "appointment",  # YYYY-MM-DD
    "therapist",
    "status",  # returns: clear | flagged | incomplete | needs-review | tampered; messages: the outcome
    "flagged",  # returns: the ids of the items answered yes, comma-separated
    "signed",  # returns: 1 when consent ticked, signed and dated
    "signature",  # returns: the digital signature check (none | valid | invalid), when known
    "recipient_hash",  # messages: HMAC-SHA256 of the address
    "channel",  # messages: smtp | eml
    "sha256",  # returns through archive: the archive's SHA-256
    "detail",  # prune: JSON of the rows it removed (seq, prev_hash, hash); added by revision 0002
    "prev_hash",
    "hash",
)
HASHED = COLUMNS[:-1]
# Columns added after the first revision join a row's hash only when set, so rows written
# before them keep the hash they were sealed with.
LATER = ("detail",)
GENESIS = "0" * 64
CHAIN_FORMAT = "handouts-register-1"

INSERT_ENTRY = f"INSERT INTO {ENTRIES} ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})"
SELECT_HEAD = f"SELECT seq, hash FROM {HEAD} WHERE id = 1"
UPDATE_HEAD = f"UPDATE {HEAD} SET seq = ?, hash = ? WHERE id = 1"
SELECT_REVISION = f"SELECT version_num FROM {VERSION_TABLE}"
SELECT_PACKET_PATIENT = (
    f"SELECT patient_ref, patient_hash FROM {ENTRIES} "
    "WHERE packet_id = ? AND kind = 'packet' ORDER BY seq DESC LIMIT 1"
)


def row_hash(row: Mapping[str, Any]) -> str:
    """SHA-256 of a row's values (prev_hash included, so each row seals the ones before it)."""
    values = [row[c] for c in HASHED if c not in LATER]
    values += [[c, row[c]] for c in LATER if row.get(c) is not None]
    payload = json.dumps([CHAIN_FORMAT, *values], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def seal(rows: list[dict[str, Any]], head_seq: int, head_hash: str) -> list[dict[str, Any]]:
    """Number the rows after the chain's head and chain their hashes to it."""
    prev = head_hash
    event = head_seq + 1
    for offset, row in enumerate(rows, start=1):
        row["seq"] = head_seq + offset
        row["event"] = event
        row["prev_hash"] = prev
        row["hash"] = prev = row_hash(row)
    return rows
