"""`handouts printers`: the printers (CUPS queues) this machine offers, and which is the default."""

from __future__ import annotations

import click


@click.command("printers")
def printers() -> None:
    """List the printers (CUPS queues) this machine offers, and which one is the default."""
    from handouts.printing.cups import list_printers

    found = list_printers()
    if not found.queues:
        click.echo("no printers: CUPS has none set up (add one in the system settings, or with lpadmin)")
        return
    for queue in found.queues:
        default = "  (default)" if queue.name == found.default else ""
        click.echo(f"{queue.name}{default}: {queue.state()}")
