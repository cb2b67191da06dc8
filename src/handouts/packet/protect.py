"""Encrypt a packet (AES-256) with a password that every reader can then open."""

from __future__ import annotations

import io

from handouts.errors import OutputError, UsageError

# The AES-256 security handler (R=6) reads at most 127 bytes of a UTF-8 password; qpdf would
# encrypt with a longer one that no reader can then open.
MAX_PASSWORD_BYTES = 127


def check_password(password: str | None) -> None:
    """Refuse a password that would make an encrypted packet nobody can open."""
    if password is None:
        return
    if not password:
        raise UsageError("{field} is empty", field="password", code="empty")
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise UsageError(
            "{field} is too long: at most {limit} bytes (127 plain letters)",
            field="password",
            code="too-long",
            limit=MAX_PASSWORD_BYTES,
        )


def protect(pdf: bytes, password: str) -> bytes:
    """Encrypt a packet with AES-256 (PDF 2.0 security handler, R=6), and check it opens."""
    import pikepdf

    check_password(password)
    with pikepdf.open(io.BytesIO(pdf)) as opened:
        buffer = io.BytesIO()
        opened.save(buffer, encryption=pikepdf.Encryption(user=password, owner=password, R=6, aes=True))
    try:
        pikepdf.open(io.BytesIO(buffer.getvalue()), password=password).close()
    except pikepdf.PasswordError:
        raise OutputError("the encrypted packet would not open with its password; nothing written") from None
    return buffer.getvalue()
