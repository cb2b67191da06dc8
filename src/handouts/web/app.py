"""Create the Flask app: the login guard, security headers, CSRF checks, uploads kept in memory,
nothing logged.

Requests are refused early when they are not for this server (the Host check, which trusts
`[::1]:PORT` as well as `localhost:PORT`) or their path holds a control character (404);
every log line of the web face is made safe for a terminal (errors.shown).

Patient data lives only in one request: forms are POSTed (an access log shows the path, never
a body), responses carry `Cache-Control: no-store`, uploads stay in memory, and an unexpected
error is logged by type and frames only, since an exception's message may quote a value.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
import secrets
import traceback
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

from flask import Flask, Request, Response, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, NotFound, RequestEntityTooLarge, SecurityError

from handouts.errors import TerminalSafe, shown
from handouts.intake.screen import MAX_PDF_BYTES
from handouts.project import Project
from handouts.web import daypage, frontdesk
from handouts.web.auth import init_auth
from handouts.web.csrf import csrf_ok, csrf_token
from handouts.web.state import EXTENSION, WebState

if TYPE_CHECKING:
    from handouts.web.users import Users

log = logging.getLogger(__name__)

# One consent form, plus room for the other fields of the upload form.
MAX_REQUEST_BYTES = MAX_PDF_BYTES + 64_000

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "frame-src 'self' blob:; object-src 'self' blob:; form-action 'self'; "
    "frame-ancestors 'self'; base-uri 'none'"
)


class MemoryRequest(Request):
    """Keep uploaded files in memory (werkzeug spools large ones to a temporary file)."""

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        return io.BytesIO()


LOOPBACK_NAMES = ["127.0.0.1", "localhost", "::1", "[::1]"]
# The loggers of the web face and its servers: what they log passes through TerminalSafe.
WEB_LOGGERS = (
    "werkzeug", "gunicorn.access", "gunicorn.error", "handouts.access", "handouts.audit",
    "handouts.web.app", "handouts.web.auth", "handouts.web.daypage", "handouts.web.users",
    "handouts.web.production", "handouts.web.server",
)  # fmt: skip
_TERMINAL_SAFE = TerminalSafe()
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def host_name(host: str) -> str:
    """The name in a Host header without its port: `[::1]:8000` -> `[::1]`, `localhost:80` -> `localhost`."""
    host = host.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        return host[: end + 1] if end > 0 else ""
    return host.partition(":")[0]


def trusted(host: str, names: list[str]) -> bool:
    """Whether a Host header names one of these hosts (an IPv6 address with or without brackets)."""
    name = host_name(host)
    allowed = {n.lower() for n in names} | {f"[{n.lower()}]" for n in names if ":" in n and "[" not in n}
    return bool(name) and name in allowed


def create_app(
    project: Project,
    *,
    preview: bool = False,
    watch: bool | None = None,
    today: Callable[[], dt.date] = dt.date.today,
    max_request_bytes: int = MAX_REQUEST_BYTES,
    trusted_hosts: list[str] | None = LOOPBACK_NAMES,
    login: bool | None = None,
    users: Users | None = None,
    secure_cookie: bool = False,
) -> Flask:
    """Return the app; with preview, also the preview pages (and a file watcher unless watch=False).

    login: whether every route needs a staff login; by default it does when the app answers
    any host name (trusted_hosts=None: served beyond loopback). users: the accounts (default:
    the project's users.json). secure_cookie: the session cookie only over HTTPS.
    """
    app = Flask(__name__)
    app.request_class = MemoryRequest
    app.config.update(
        # A new key per run: a restarted server invalidates old pages' tokens, nothing else.
        SECRET_KEY=secrets.token_bytes(32),
        MAX_CONTENT_LENGTH=max_request_bytes,
        SESSION_COOKIE_NAME="handouts_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SEND_FILE_MAX_AGE_DEFAULT=0,
        # Memory per request stays bounded: one form's bytes, few and small other fields.
        MAX_FORM_MEMORY_SIZE=500_000,
        MAX_FORM_PARTS=200,
    )
    for name in WEB_LOGGERS:
        if _TERMINAL_SAFE not in logging.getLogger(name).filters:
            logging.getLogger(name).addFilter(_TERMINAL_SAFE)

    @app.before_request
    def _check_host_and_path() -> None:
        # Only requests addressed to this machine by name: a DNS-rebinding page that made
        # itself "same origin" with the server gets 400, CSRF token or not. (werkzeug's own
        # TRUSTED_HOSTS cannot match a bracketed IPv6 address: `serve --host ::1` prints one.)
        if trusted_hosts is not None and not trusted(request.headers.get("Host", ""), trusted_hosts):
            raise SecurityError()
        if _CONTROL.search(request.path):  # a NUL or another control names no page or file
            raise NotFound()

    app.jinja_env.autoescape = True
    web_state = WebState(project, preview, today)
    app.extensions[EXTENSION] = web_state
    if users is None:
        from handouts.web.users import Users

        users = Users.of_project(project.root)
    # The guard is the first before_request function: registered before the CSRF check below.
    required = login if login is not None else trusted_hosts is None
    web_state.auth = init_auth(app, users, required=required, secure_cookie=secure_cookie)
    app.register_blueprint(frontdesk.bp)
    app.register_blueprint(daypage.bp)
    if preview:
        from handouts.web import preview as preview_pages
        from handouts.web.watch import Watcher, watched_folders

        app.register_blueprint(preview_pages.bp)
        if watch if watch is not None else True:
            web_state.watcher = Watcher(watched_folders(project), project_root=project.root)
            web_state.watcher.start()

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {"csrf_token": csrf_token, "preview_enabled": preview}

    @app.before_request
    def _check_csrf() -> ResponseReturnValue | None:
        if request.method == "POST" and not csrf_ok():
            message = "This form has expired or did not come from this page. Reload the page and try again."
            return render_template("error.html", title="Form expired", message=message), 400
        return None

    @app.after_request
    def _headers(response: Response) -> Response:
        if not request.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
        return response

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(exc: RequestEntityTooLarge) -> ResponseReturnValue:
        limit = f"{MAX_PDF_BYTES // 1_000_000} MB"
        message = f"The file is too large: a filled consent form is well under {limit}; choose the right file"
        return frontdesk.render_page(screen_errors={"consent_pdf": message}, status=413)

    @app.errorhandler(SecurityError)
    def _untrusted_host(exc: SecurityError) -> ResponseReturnValue:
        # No page: links in it would need the untrusted host name.
        return Response(
            "Bad Request: this server answers only to its own address.\n", 400, mimetype="text/plain"
        )

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> ResponseReturnValue:
        code = exc.code or 500
        return render_template("error.html", title=f"{code} {exc.name}", message=exc.description), code

    @app.errorhandler(Exception)
    def _bug(exc: Exception) -> ResponseReturnValue:
        # Frames and type only: the message of an exception may quote what the patient typed.
        frames = "".join(traceback.format_tb(exc.__traceback__))
        path = shown(request.path, 200)  # one line, whatever the path held
        log.error("bug (%s) on %s %s:\n%s", type(exc).__name__, request.method, path, frames)
        message = "Something went wrong inside handouts. Nothing was saved. Please report it."
        return render_template("error.html", title="Error", message=message), 500

    return app
