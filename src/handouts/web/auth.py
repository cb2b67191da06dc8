"""Login for the front desk: staff accounts, throttled attempts, server-side sessions that expire.

The app factory puts one guard in front of every route, first of all before_request functions
(ahead of the CSRF check). When the server can be reached from other machines (or with
`serve --login`) it requires a login: without a live session a page request
is sent to /login and anything else gets 401. Only the login page and the package's own
static files (style sheet, script; no data) are public. Sessions live in this process's
memory, keyed by a random id in the signed cookie, so logging out or restarting ends them.

Who did what goes to the 'handouts.audit' log: the account, the method and path, the
status and, for a packet, its file name. Never a form's contents, so never patient data.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from flask import Blueprint, Flask, Response, g, redirect, render_template, request, session
from flask.typing import ResponseReturnValue

from handouts.web.state import state

if TYPE_CHECKING:
    from handouts.web.users import Users

log = logging.getLogger(__name__)
audit = logging.getLogger("handouts.audit")

bp = Blueprint("auth", __name__)

PUBLIC_ENDPOINTS = frozenset({"auth.login", "static"})
SESSION_KEY = "sid"


@dataclass
class Throttle:
    """Failed attempts per key (an account, a client address), slowed down exponentially.

    The first `free` failures cost nothing; after that each failure doubles the wait before
    the next attempt (from `base` seconds up to `cap`). Failures are forgotten `forget`
    seconds after the last one.
    """

    free: int
    base: float = 1.0
    cap: float = 900.0
    forget: float = 900.0
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, tuple[int, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wait(self, key: str) -> float:
        """Seconds before key may try again (0: now)."""
        with self._lock:
            count, last = self._failures.get(key, (0, 0.0))
            now = self.clock()
            if count and now - last > self.forget:
                del self._failures[key]
                return 0.0
            if count < self.free:
                return 0.0
            delay = min(self.cap, self.base * 2.0 ** (count - self.free))
            return max(0.0, last + delay - now)

    def failed(self, key: str) -> None:
        with self._lock:
            count, _ = self._failures.get(key, (0, 0.0))
            self._failures[key] = (count + 1, self.clock())
            if len(self._failures) > 10_000:  # bounded memory against a flood of names
                oldest = min(self._failures, key=lambda k: self._failures[k][1])
                del self._failures[oldest]

    def reset(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


@dataclass
class StaffSession:
    user: str
    started: float
    seen: float


@dataclass
class Auth:
    """The login policy of one app, its sessions and its throttles."""

    users: Users
    required: bool
    idle: float = 2 * 3600  # seconds without a request before a session ends
    lifetime: float = 12 * 3600  # seconds after login that a session ends anyway
    clock: Callable[[], float] = time.monotonic
    per_account: Throttle = field(default_factory=lambda: Throttle(free=5))
    per_client: Throttle = field(default_factory=lambda: Throttle(free=20))
    _sessions: dict[str, StaffSession] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, user: str) -> str:
        sid = secrets.token_urlsafe(32)
        now = self.clock()
        with self._lock:
            self._sessions[sid] = StaffSession(user, now, now)
        return sid

    def user_of(self, sid: str | None) -> str | None:
        """The account of a live session (and mark it seen), or None."""
        if not sid:
            return None
        now = self.clock()
        with self._lock:
            live = self._sessions.get(sid)
            if live is None:
                return None
            if now - live.seen > self.idle or now - live.started > self.lifetime:
                del self._sessions[sid]
                return None
            live.seen = now
        if live.user not in self.users.names():  # the account was removed meanwhile
            self.end(sid)
            return None
        return live.user

    def end(self, sid: str | None) -> None:
        with self._lock:
            self._sessions.pop(sid or "", None)


def auth() -> Auth:
    """The login policy of the app serving the current request."""
    policy = state().auth
    assert policy is not None, "the app factory sets up the login guard"
    return policy


def current_user() -> str | None:
    """The account logged in for this request (None when login is off or nobody is)."""
    user = g.get("user")
    return user if isinstance(user, str) else None


def init_auth(app: Flask, users: Users, *, required: bool, secure_cookie: bool = False) -> Auth:
    """Put the login guard in front of every route of app; return the policy object.

    The app factory calls this before it registers any other before_request function, so
    the guard runs first: an unauthenticated POST gets 401, not a CSRF page.
    """
    policy = Auth(users, required)
    app.config["SESSION_COOKIE_SECURE"] = secure_cookie
    app.register_blueprint(bp)
    app.before_request(_guard)
    app.after_request(_audit)

    @app.context_processor
    def _user() -> dict[str, object]:
        return {"current_user": current_user(), "login_required": policy.required}

    return policy


def _guard() -> ResponseReturnValue | None:
    policy = auth()
    g.user = policy.user_of(session.get(SESSION_KEY))
    if not policy.required or g.user is not None or request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if request.method == "GET" and request.endpoint is not None:
        return redirect(f"/login?next={_safe_next(request.full_path)}")
    message = "Log in first: this page is for the clinic's staff."
    return render_template("error.html", title="Log in first", message=message), 401


def _safe_next(target: str | None) -> str:
    """Only a path on this server (no scheme, host or '//') may be the place to go after login."""
    from urllib.parse import quote

    target = (target or "/").rstrip("?")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return quote(target, safe="/?=&")


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    policy = auth()
    target = request.args.get("next", "/")
    target = target if _safe_next(target) == target else "/"
    if request.method == "GET":
        return render_template("login.html", error=None, name="", next=target)
    name = request.form.get("name", "").strip()[:64]
    password = request.form.get("password", "")
    client = f"client:{request.remote_addr}"
    account = f"account:{name.lower()}"
    wait = max(policy.per_client.wait(client), policy.per_account.wait(account))
    if wait > 0:
        audit.warning("login throttled (client %s, %d s left)", request.remote_addr, wait)
        seconds = int(wait) + 1
        error = f"Too many wrong attempts. Wait {seconds} seconds, then try again."
        page = render_template("login.html", error=error, name=name, next=target)
        return page, 429, {"Retry-After": str(seconds)}
    user = policy.users.verify(name, password) if name and password else None
    if user is None:
        policy.per_client.failed(client)
        policy.per_account.failed(account)
        known = name.lower() in policy.users.names()
        who = name.lower() if known else "an unknown name"  # a mistyped name could be anyone's
        audit.warning("login failed for %s from %s", who, request.remote_addr)
        error = "The name or the password is wrong."
        return render_template("login.html", error=error, name=name, next=target), 401
    policy.per_account.reset(account)
    session.clear()  # a new session: no fixation, a fresh CSRF secret
    session[SESSION_KEY] = policy.start(user)
    audit.info("%s logged in from %s", user, request.remote_addr)
    return redirect(target)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    user = current_user()
    auth().end(session.get(SESSION_KEY))
    session.clear()
    if user:
        audit.info("%s logged out", user)
    return redirect("/login")


def _audit(response: Response) -> Response:
    """Log what a logged-in account did: POSTs by path and status, and a packet's file name."""
    user = current_user()
    if user and request.method == "POST" and request.endpoint not in ("auth.login", "auth.logout"):
        file_name = response.headers.get("Content-Disposition", "").partition("filename=")[2].strip('"')
        audit.info(
            "%s: %s %s -> %d%s",
            user,
            request.method,
            request.path,
            response.status_code,
            f" ({file_name})" if file_name else "",
        )
    return response
