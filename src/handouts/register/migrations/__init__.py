"""Alembic migrations of the register, run by handouts.register.migrate (never by hand)."""
