"""Serve the app with werkzeug's threaded WSGI server, on loopback (beyond it: web.production)."""

from __future__ import annotations

import ipaddress
import logging
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from handouts.errors import UsageError

if TYPE_CHECKING:
    from flask import Flask
    from werkzeug.serving import BaseWSGIServer


@dataclass(frozen=True)
class Tls:
    """The certificate and private key (PEM files) the production server serves TLS with."""

    cert: Path
    key: Path


def is_loopback(host: str) -> bool:
    """Whether host names this machine only (127.0.0.0/8, ::1, localhost)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_host(host: str, allow_remote: bool) -> None:
    """Refuse plain HTTP on an address other machines can reach unless the user said so."""
    if not is_loopback(host) and not allow_remote:
        raise UsageError(
            "{field} {address}: other machines could reach the page and patient data; use TLS "
            "({tls_cert} and {tls_key}) or {behind_proxy}, or add {allow_remote} for plain HTTP "
            "on a network you trust",
            field="host",
            address=host,
        )


def url(host: str, port: int, path: str = "/", scheme: str = "http") -> str:
    shown = f"[{host.strip('[]')}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}{path}"


class _QuietPolling(logging.Filter):
    """Keep the preview's once-a-second version polls out of the access log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "/preview/version" not in record.getMessage()


def listen_socket(host: str, port: int) -> socket.socket:
    """A socket bound to host:port and listening (port 0: any free port); UsageError when taken.

    Bound here rather than by the servers, which print their own message and exit on failure.
    """
    bare = host.strip("[]")
    sock = socket.socket(socket.AF_INET6 if ":" in bare else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((bare, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise UsageError(
            "cannot listen on {address}:{number}: {reason}; choose another {field}",
            field="port",
            address=host,
            number=port,
            reason=exc.strerror or str(exc),
        ) from None
    return sock


def make_server(app: Flask, host: str, port: int) -> BaseWSGIServer:
    """Bind werkzeug's server (port 0: any free port); raise UsageError when the port is taken."""
    from werkzeug.serving import make_server as werkzeug_server

    logging.getLogger("werkzeug").addFilter(_QuietPolling())
    with listen_socket(host, port) as sock:  # werkzeug holds its own duplicate of the socket
        return werkzeug_server(host.strip("[]"), port, app, threaded=True, fd=sock.fileno())
