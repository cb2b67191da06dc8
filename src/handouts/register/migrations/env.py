"""Alembic's environment: migrate the connection handouts.register.migrate hands over."""

from __future__ import annotations

from alembic import context

from handouts.register.chain import VERSION_TABLE
from handouts.register.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    transactional_ddl=True,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
