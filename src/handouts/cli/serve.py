"""`handouts serve`: the front-desk page (and, with --preview, the editors' live preview)."""

from __future__ import annotations

import click

from handouts.cli.common import project_of


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port.")
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Allow an address other machines can reach (e.g. 0.0.0.0). Patient data crosses the network.",
)
@click.option("--preview", is_flag=True, help="Add the live preview of every document for content editors.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, allow_remote: bool, preview: bool) -> None:
    """Serve the front-desk page: packets to download, print or email, and consent screening."""
    from handouts.web.server import check_host, is_loopback, make_server, url

    project = project_of(ctx)
    check_host(host, allow_remote)
    from handouts.web.app import LOOPBACK_NAMES, create_app

    # On a remote address any host name may reach it (that is what --allow-remote accepts).
    app = create_app(project, preview=preview, trusted_hosts=None if allow_remote else LOOPBACK_NAMES)
    server = make_server(app, host, port)
    bound = server.port
    if not is_loopback(host):
        click.echo(
            f"warning: listening on {host}: anyone who can reach this machine can open the page and "
            "see patient data; there is no login and no encryption (use it only on a trusted network)",
            err=True,
        )
    click.echo(f"handouts: serving {project.root}", err=True)
    click.echo(f"  front desk: {url(host, bound)}", err=True)
    if preview:
        click.echo(f"  preview:    {url(host, bound, '/preview/')}", err=True)
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
