"""The production server for the clinic's network: gunicorn, one worker process with threads, TLS.

Why one worker with threads: the front desk keeps the day's list, the login sessions and the
throttles of wrong passwords in the serving process's memory. With several worker processes
each would have its own, and a desk's list or login would vanish whenever its next request
reached another process. So gunicorn runs exactly one worker, of the gthread kind (a pool of
threads in that one process, sharing its memory), and never recycles it (max_requests 0).
A worker that dies and is started again by gunicorn's master, like a restart of the server,
drops the day's list and the sessions: they live nowhere else, by design.

gunicorn is embedded through its custom-application API (gunicorn.app.base.BaseApplication):
it serves the app object that `serve` built. Its master (the arbiter) runs in the process that
calls serve_forever() and forks the worker. Where this differs from a plain `gunicorn` run:

- The socket is bound here first and handed over as `bind = fd://N`, so a taken port is a
  one-line error and port 0 (any free port) can be printed before serving.
- Ctrl+C (SIGINT) stops gracefully, as SIGTERM does: the worker stops accepting and finishes
  the requests in flight (a packet being made) within graceful_timeout; gunicorn's own SIGINT
  is a quick shutdown. A second Ctrl+C while stopping is gunicorn's quick shutdown.
- TTIN/TTOU cannot change the number of workers, HUP does not reload (that replaces the worker)
  and USR2 does not re-exec (a second `serve` could not bind the port): each logs a warning.
  The worker ignores SIGHUP and SIGINT, which a terminal sends to the whole process group.
  The control socket (gunicornc, which can change the workers too) is off.
- TLS: gunicorn's certfile/keyfile, and its ssl_context hook to ask for TLS 1.2 at least; the
  hook also makes the context once (gunicorn's default factory reads the key file for every
  connection), checked here before serving so a bad certificate is a one-line error.
- Forwarded headers are trusted from nobody, unless behind_proxy: then werkzeug's ProxyFix
  takes the client's address, scheme and host from one proxy (the server listens on loopback
  only, `serve` sees to that), and gunicorn trusts the same X-Forwarded-Proto from loopback.
- gunicorn's messages go to handouts' logging (stderr; -v shows the INFO ones), without query
  strings, and the access log is the method, the path and the status only: never a query
  string, a referrer or a body (patient data comes only in POST bodies).
"""

from __future__ import annotations

import logging
import os
import re
import signal
import ssl
import sys
import time
import traceback
from typing import TYPE_CHECKING, Any

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.glogging import Logger

from handouts.errors import OutputError, UsageError, shown
from handouts.web.server import Tls, listen_socket

if TYPE_CHECKING:
    import socket

    from flask import Flask

log = logging.getLogger(__name__)
access_log = logging.getLogger("handouts.access")

THREADS = 8  # a clinic's handful of desks; packets are made one at a time anyway
GRACEFUL_SECONDS = 30  # for the requests in flight when the server is told to stop


def trust_proxy(app: Flask) -> None:
    """Take the client's address, scheme and host from one reverse proxy's X-Forwarded-* headers."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]


_QUERY = re.compile(r"\?[^\s'\"]*")


class _NoQuery(logging.Filter):
    """gunicorn's messages without query strings, and exceptions as their type and frames only.

    gunicorn quotes request lines in some messages ("Invalid request from ip=...: ...", "Error
    handling request ..."), and an exception's message may quote what a client sent.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = _QUERY.sub("?…", record.getMessage())
        if record.exc_info:
            kind, _, frames = record.exc_info
            name = kind.__name__ if kind else "error"
            message = f"{message} ({name}):\n{''.join(traceback.format_tb(frames)).rstrip()}"
            record.exc_info = None
            record.exc_text = None
        record.msg, record.args = message, None
        return True


_NO_QUERY = _NoQuery()


class _Log(Logger):  # type: ignore[misc]  # gunicorn is untyped
    """gunicorn's logger (the logger_class setting), writing through handouts' logging."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)  # errorlog and accesslog are None: no handlers of its own
        self.error_log.propagate = True  # to the root logger's handler the CLI set up (stderr)
        self.error_log.setLevel(logging.NOTSET)  # and at their level (-v, -q)
        self.error_log.addFilter(_NO_QUERY)

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        path = environ.get("PATH_INFO", "")
        if path == "/preview/version":
            return  # the preview's once-a-second poll
        status = str(resp.status).split(None, 1)[0]
        access_log.info(
            "%s %s %s -> %s (%d ms)",
            environ.get("REMOTE_ADDR", "-"),
            shown(environ.get("REQUEST_METHOD", "-"), 10),
            shown(path, 200),
            status,
            request_time.total_seconds() * 1000,
        )


class _Arbiter(Arbiter):  # type: ignore[misc]
    """gunicorn's master, stopping gracefully on Ctrl+C and keeping its one worker."""

    def handle_int(self) -> None:
        self.handle_term()  # StopIteration: halt() stops the worker with SIGTERM, gracefully

    def handle_hup(self) -> None:
        # gunicorn's reload starts a new worker and stops the old one: the day's list would go.
        self.log.warning(
            "handouts keeps its one worker (the day's list lives in it): HUP ignored; restart to reload"
        )

    def handle_usr2(self) -> None:
        # gunicorn's re-exec would start a second `handouts serve`, which cannot bind the port.
        self.log.warning("handouts serves from one process: USR2 ignored; restart to upgrade")

    def handle_ttin(self) -> None:
        self.log.warning("handouts serves with one worker (the day's list lives in it): TTIN ignored")

    def handle_ttou(self) -> None:
        self.log.warning("handouts serves with one worker: TTOU ignored")


class _Application(BaseApplication):  # type: ignore[misc]
    """The custom application: the settings below, and the app object `serve` made."""

    def __init__(self, app: Flask, options: dict[str, Any]) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.application

    def run(self) -> None:
        _Arbiter(self).run()


class _OnceContext:
    """gunicorn's ssl_context hook: its default context, at least TLS 1.2, made once."""

    def __init__(self) -> None:
        self.context: ssl.SSLContext | None = None

    def __call__(self, conf: Any, default_ssl_context_factory: Any) -> ssl.SSLContext:
        if self.context is None:
            context = default_ssl_context_factory()
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            self.context = context
        return self.context


def _check_tls(tls: Tls, options: dict[str, Any]) -> None:
    """Make the TLS context now, as gunicorn will: a bad certificate or key is a one-line error."""
    from gunicorn.config import Config
    from gunicorn.sock import ssl_context

    for path, what in ((tls.cert, "tls_cert"), (tls.key, "tls_key")):
        if not path.is_file():
            raise UsageError(
                "{field}: {path} is not a file; give the PEM files of the certificate and key",
                field=what,
                code="missing",
                path=path,
            )
    conf = Config()
    for key in ("certfile", "keyfile", "ssl_context"):
        conf.set(key, options[key])
    try:
        ssl_context(conf)
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


class ProductionServer:
    """gunicorn serving app on host:port (port 0: any free port), with TLS when given.

    serve_forever() runs gunicorn's master in this process (the CLI); start() runs it in a
    child process, for tests, and server_close() stops that child.
    """

    def __init__(
        self,
        app: Flask,
        host: str,
        port: int,
        tls: Tls | None = None,
        behind_proxy: bool = False,
        threads: int = THREADS,
    ):
        self.app = app
        self.tls = tls
        if behind_proxy:
            trust_proxy(app)
        options: dict[str, Any] = {
            "workers": 1,
            "worker_class": "gthread",
            "threads": threads,
            "max_requests": 0,
            "max_requests_jitter": 0,
            "graceful_timeout": GRACEFUL_SECONDS,
            "timeout": 30,  # gthread's heartbeat comes from its main loop, not from the requests
            "forwarded_allow_ips": "127.0.0.1,::1" if behind_proxy else "",
            "secure_scheme_headers": {"X-FORWARDED-PROTO": "https"} if behind_proxy else {},
            "forwarder_headers": "",  # no SCRIPT_NAME or PATH_INFO from any header
            "control_socket_disable": True,
            "logger_class": _Log,
            "errorlog": None,
            "accesslog": None,
            "proc_name": "handouts",
            "post_worker_init": self._in_the_worker,
        }
        if tls is not None:
            options |= {"certfile": str(tls.cert), "keyfile": str(tls.key), "ssl_context": _OnceContext()}
            _check_tls(tls, options)
        self._socket: socket.socket = listen_socket(host, port)
        self.port: int = self._socket.getsockname()[1]
        self._options = options | {"bind": [f"fd://{self._socket.fileno()}"]}
        self._child = 0
        self.exit_status: int | None = None  # of the child of start(), once server_close() stopped it

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    def serve_forever(self) -> None:
        """Serve until SIGINT or SIGTERM (in this process: it becomes gunicorn's master)."""
        from handouts.web.state import EXTENSION

        master = os.getpid()
        web = self.app.extensions.get(EXTENSION)
        if web is not None and web.watcher is not None:
            web.watcher.stop()  # no thread across the fork: the worker starts its own
        application = _Application(self.app, self._options)
        self._socket.detach()  # gunicorn owns the descriptor now
        try:
            application.run()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
            if os.getpid() != master:
                # The worker, leaving through the master's frames it was forked in: end here,
                # not in the caller's clean-up code (which belongs to the master).
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
            if code:
                raise OutputError(
                    "the server stopped: gunicorn's master exited with status {status} "
                    "(its messages above say why)",
                    status=code,
                ) from None

    def _in_the_worker(self, worker: Any) -> None:
        """gunicorn's post_worker_init hook: runs in the worker before it serves."""
        from handouts.web.state import EXTENSION
        from handouts.web.watch import Watcher

        # A terminal's Ctrl+C (or its hang-up) reaches the whole process group; the master
        # decides how to stop, and tells the worker with SIGTERM (or SIGQUIT: at once).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        web = self.app.extensions.get(EXTENSION)
        if web is not None and web.watcher is not None:
            web.watcher = Watcher(web.watcher.folders)
            web.watcher.start()

    def start(self) -> None:
        """Serve from a child process (tests, or a caller with its own main loop)."""
        pid = os.fork()
        if pid == 0:  # the child: gunicorn's master, until server_close() stops it
            code = 1
            try:
                self.serve_forever()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        self._child = pid

    def server_close(self) -> None:
        """Stop the child of start() as SIGTERM does (gracefully), and close this process's socket.

        exit_status is then the child's exit status (0: it stopped cleanly).
        """
        self._socket.close()
        if not self._child:
            return
        pid, self._child = self._child, 0
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + GRACEFUL_SECONDS + 5
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                self.exit_status = os.waitstatus_to_exitcode(status)
                return
            time.sleep(0.05)
        log.warning("the server (pid %d) did not stop in time: killed", pid)
        os.kill(pid, signal.SIGKILL)
        self.exit_status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
