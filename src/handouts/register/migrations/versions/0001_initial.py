"""The first register: entries chained by hash, and the chain's head.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def upgrade() -> None:
    op.create_table(
        "register_entries",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("event", sa.Integer, nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("packet_id", sa.String(64)),
        sa.Column("patient_ref", sa.String(64)),
        sa.Column("patient_hash", sa.String(64)),
        sa.Column("document", sa.String(64)),
        sa.Column("version", sa.String(16)),
        sa.Column("fingerprint", sa.String(64)),
        sa.Column("variant", sa.String(32)),
        sa.Column("brand", sa.String(64)),
        sa.Column("lang", sa.String(16)),
        sa.Column("appointment", sa.String(10)),
        sa.Column("therapist", sa.String(200)),
        sa.Column("status", sa.String(16)),
        sa.Column("flagged", sa.Text),
        sa.Column("signed", sa.Integer),
        sa.Column("signature", sa.String(16)),
        sa.Column("recipient_hash", sa.String(64)),
        sa.Column("channel", sa.String(8)),
        sa.Column("sha256", sa.String(64)),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
    )
    for column in ("patient_ref", "patient_hash", "packet_id", "document", "at"):
        op.create_index(f"ix_register_entries_{column}", "register_entries", [column])
    head = op.create_table(
        "register_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": GENESIS}])


def downgrade() -> None:
    op.drop_table("register_head")
    op.drop_table("register_entries")
