"""Prune entries: a detail column for the rows a prune removed (their seq and hashes).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("register_entries", sa.Column("detail", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("register_entries") as batch:
        batch.drop_column("detail")
