"""CSRF tokens: a random secret per browser session, handed to forms signed and timed."""

from __future__ import annotations

import hmac
import secrets

from flask import current_app, request, session
from itsdangerous import BadData, URLSafeTimedSerializer

FIELD = "csrf_token"
SESSION_KEY = "csrf"
MAX_AGE = 12 * 3600  # a front-desk page left open all day still works


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key or "", salt="handouts-csrf")


def csrf_token() -> str:
    """The token to put in a form (creates the session's secret on first use)."""
    if SESSION_KEY not in session:
        session[SESSION_KEY] = secrets.token_urlsafe(32)
    return str(_serializer().dumps(session[SESSION_KEY]))


def csrf_ok() -> bool:
    """Whether the posted form carries a valid token for this session."""
    expected = session.get(SESSION_KEY)
    token = request.form.get(FIELD, "")
    if not expected or not token:
        return False
    try:
        value = _serializer().loads(token, max_age=MAX_AGE)
    except BadData:
        return False
    return isinstance(value, str) and hmac.compare_digest(value, expected)
