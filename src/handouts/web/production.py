"""The production server for the clinic's network: cheroot (CherryPy's WSGI server), with TLS.

Why cheroot: the front desk keeps the day's list in this process's memory, so the server
must be one process with threads (cheroot's thread pool), and it must speak TLS itself when
there is no reverse proxy. Waitress has no TLS; gunicorn does, but is a pre-forking master
and worker that wants the main thread and its own signal handling, and a restarted worker
would drop the day. cheroot serves TLS through Python's ssl module, starts and stops in
a thread, and has served CherryPy sites for years.

Behind a reverse proxy (Caddy, nginx) that terminates TLS, the server listens on loopback
and trusts one proxy's X-Forwarded-For/-Proto/-Host (werkzeug's ProxyFix), and only there.
"""

from __future__ import annotations

import logging
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from handouts.errors import UsageError

if TYPE_CHECKING:
    from cheroot.wsgi import Server
    from flask import Flask

log = logging.getLogger(__name__)

THREADS = 8  # a clinic's handful of desks; packets are made one at a time anyway


@dataclass(frozen=True)
class Tls:
    cert: Path
    key: Path


def trust_proxy(app: Flask) -> None:
    """Take the client's address, scheme and host from one reverse proxy's X-Forwarded-* headers."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]


def _adapter(tls: Tls) -> Any:
    from cheroot.ssl.builtin import BuiltinSSLAdapter

    for path, what in ((tls.cert, "tls_cert"), (tls.key, "tls_key")):
        if not path.is_file():
            raise UsageError(
                "{field}: {path} is not a file; give the PEM files of the certificate and key",
                field=what,
                code="missing",
                path=path,
            )
    try:
        adapter = BuiltinSSLAdapter(str(tls.cert), str(tls.key))
    except (ssl.SSLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc.__class__.__name__
        raise UsageError(
            "{field}: cannot use {cert} with {key} ({reason}); "
            "give a PEM certificate and the private key that belongs to it",
            field="tls_cert",
            code="unusable",
            cert=tls.cert,
            key=tls.key,
            reason=reason,
        ) from None
    adapter.context.minimum_version = ssl.TLSVersion.TLSv1_2
    return adapter


def _error_log(msg: str = "", level: int = logging.INFO, traceback: bool = False) -> None:
    """cheroot's own messages (a client speaking plain HTTP to the TLS port, ...) into our log.

    With a traceback: the exception's type and frames only, as the app logs its bugs, since an
    exception's message may quote what a client sent.
    """
    if traceback:
        import sys
        import traceback as tb

        kind, _, frames = sys.exc_info()
        msg = f"{msg} ({kind.__name__ if kind else 'error'}):\n{''.join(tb.format_tb(frames))}"
    log.log(level, "%s", msg)


class ProductionServer:
    """cheroot serving app on host:port (port 0: any free port), with TLS when given."""

    def __init__(self, app: Flask, host: str, port: int, tls: Tls | None = None, threads: int = THREADS):
        from cheroot.wsgi import Server

        bare = host.strip("[]")
        self.tls = tls
        self.server: Server = Server((bare, port), app, numthreads=threads, server_name="handouts")
        self.server.error_log = _error_log  # type: ignore[method-assign]
        if tls is not None:
            self.server.ssl_adapter = _adapter(tls)
        try:
            self.server.prepare()  # binds now, so a taken port is a one-line error
        except OSError as exc:
            raise UsageError(
                "cannot listen on {address}:{number}: {reason}; choose another {field}",
                field="port",
                address=host,
                number=port,
                reason=exc.strerror or str(exc),
            ) from None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.server.bind_addr[1])

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    def serve_forever(self) -> None:
        self.server.serve()

    def start(self) -> None:
        """Serve in a background thread (tests, or a caller with its own main loop)."""
        self._thread = threading.Thread(target=self.server.serve, name="handouts-server", daemon=True)
        self._thread.start()

    def server_close(self) -> None:
        self.server.stop()
        if self._thread is not None:
            self._thread.join(10)
