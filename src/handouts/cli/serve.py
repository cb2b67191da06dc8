"""`handouts serve`: the front-desk page (and, with --preview, the editors' live preview).

On loopback it is werkzeug's development server without a login (unless --login). Beyond
loopback, or behind a reverse proxy, every route needs a staff login and the server is
gunicorn (web.production: one worker process with threads), with TLS from --tls-cert/--tls-key
or the proxy's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from handouts.cli.common import project_of
from handouts.errors import UsageError

if TYPE_CHECKING:
    from handouts.project import Project
    from handouts.web.server import Tls

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


@dataclass(frozen=True)
class Listen:
    """How to serve, from the command line over handouts.yaml's `serve:`."""

    host: str
    port: int
    tls: Tls | None
    behind_proxy: bool
    login: bool  # a login required on every route
    production: bool  # gunicorn rather than werkzeug's development server


def decide(
    project: Project,
    host: str | None,
    port: int | None,
    allow_remote: bool,
    login: bool,
    tls_cert: Path | None,
    tls_key: Path | None,
    behind_proxy: bool,
) -> Listen:
    """Check the options together; raise UsageError naming the option that must change."""
    from handouts.content.catalogue import load_config
    from handouts.web.server import Tls, check_host, is_loopback

    settings = load_config(project).serve
    host = host or (settings.host if settings and settings.host else DEFAULT_HOST)
    if port is None:
        port = settings.port if settings and settings.port is not None else DEFAULT_PORT
    if settings and tls_cert is None and tls_key is None and settings.tls_cert and settings.tls_key:
        tls_cert, tls_key = project.root / settings.tls_cert, project.root / settings.tls_key
    behind_proxy = behind_proxy or bool(settings and settings.behind_proxy)
    login = login or bool(settings and settings.login)
    if bool(tls_cert) != bool(tls_key):
        raise UsageError(
            "{field} and {tls_key} go together: the certificate and its private key", field="tls_cert"
        )
    tls = Tls(tls_cert, tls_key) if tls_cert and tls_key else None
    remote = not is_loopback(host)
    if behind_proxy and remote:
        raise UsageError(
            "{field} {address}: behind a reverse proxy, listen on 127.0.0.1 and let the proxy "
            "on this machine take the network's requests",
            field="host",
            address=host,
        )
    if behind_proxy and tls:
        raise UsageError(
            "{field}: the proxy does TLS; leave out {tls_cert} and {tls_key}", field="behind_proxy"
        )
    if tls is None:
        check_host(host, allow_remote)
    production = remote or tls is not None or behind_proxy
    if production and not hasattr(os, "fork"):
        raise UsageError(
            "{field} {address}: beyond loopback handouts serves with gunicorn, which runs on Linux "
            "and macOS only; on Windows serve on 127.0.0.1 without TLS, or run handouts in WSL",
            field="host",
            address=host,
        )
    return Listen(
        host,
        port,
        tls,
        behind_proxy,
        login=login or remote or behind_proxy,
        production=production,
    )


@click.command("serve")
@click.option("--host", help=f"Address to listen on (default {DEFAULT_HOST}, or serve.host).")
@click.option("--port", type=click.IntRange(0, 65535), help=f"Port (default {DEFAULT_PORT}, or serve.port).")
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Allow plain HTTP on an address other machines can reach (login still required).",
)
@click.option("--login", is_flag=True, help="Ask for a staff login on loopback too (always on beyond it).")
@click.option("--tls-cert", type=click.Path(dir_okay=False, path_type=Path), help="TLS certificate (PEM).")
@click.option("--tls-key", type=click.Path(dir_okay=False, path_type=Path), help="TLS private key (PEM).")
@click.option(
    "--behind-proxy",
    is_flag=True,
    help="Behind Caddy or nginx on this machine: trust its X-Forwarded-* headers (see README).",
)
@click.option("--preview", is_flag=True, help="Add the live preview of every document for content editors.")
@click.pass_context
def serve(
    ctx: click.Context,
    host: str | None,
    port: int | None,
    allow_remote: bool,
    login: bool,
    tls_cert: Path | None,
    tls_key: Path | None,
    behind_proxy: bool,
    preview: bool,
) -> None:
    """Serve the front-desk page: packets to download, print or email, and consent screening."""
    from handouts.web.server import is_loopback, make_server, url
    from handouts.web.users import Users

    project = project_of(ctx)
    listen = decide(project, host, port, allow_remote, login, tls_cert, tls_key, behind_proxy)
    users = Users.of_project(project.root)
    if listen.login and not users.names():
        raise UsageError(
            "no staff accounts yet: add one with 'handouts users add NAME', then serve again",
            code="no-accounts",
        )
    from handouts.web.app import LOOPBACK_NAMES, create_app

    loopback = is_loopback(listen.host) and not listen.behind_proxy
    # Beyond loopback any host name may reach it (that is what those options accept).
    app = create_app(
        project,
        preview=preview,
        trusted_hosts=LOOPBACK_NAMES if loopback else None,
        login=listen.login,
        users=users,
        secure_cookie=listen.tls is not None or listen.behind_proxy,
    )
    server: Any
    if listen.production:
        from handouts.web.production import ProductionServer

        server = ProductionServer(app, listen.host, listen.port, listen.tls, behind_proxy=listen.behind_proxy)
    else:
        server = make_server(app, listen.host, listen.port)
    bound = server.port
    if not is_loopback(listen.host) and listen.tls is None:
        click.echo(
            f"warning: listening on {listen.host} without TLS: names, passwords and patient data "
            "cross the network unencrypted (use --tls-cert/--tls-key or --behind-proxy)",
            err=True,
        )
    scheme = "https" if listen.tls else "http"
    click.echo(f"handouts: serving {project.root}", err=True)
    click.echo(f"  front desk: {url(listen.host, bound, scheme=scheme)}", err=True)
    if listen.login:
        click.echo(f"  login required ({len(users.names())} staff accounts)", err=True)
    if preview:
        click.echo(f"  preview:    {url(listen.host, bound, '/preview/', scheme)}", err=True)
    click.echo("Press Ctrl+C to stop.", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        watcher = app.extensions["handouts"].watcher
        if watcher is not None:
            watcher.stop()
