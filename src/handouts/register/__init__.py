"""The consent register: what was issued to whom, what came back, and who must consent again.

Nothing is imported here: `settings`, `keys` and `record` are light (the stdlib only, sqlite3
on first write), `schema`, `migrate` and `query` bring in SQLAlchemy and Alembic.
"""
