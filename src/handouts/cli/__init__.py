"""The `handouts` command line: parse, call one library function, print the report.

Each command group lives in its own module, imported only when that command runs (see
COMMANDS); errors reach the user through the one gate in common.HandoutsGroup.
"""

from __future__ import annotations

import logging
from pathlib import Path

import click

from handouts import __version__
from handouts.cli.common import EXIT_HELP, HandoutsGroup
from handouts.errors import TerminalSafe

# Command name -> where it lives; one module per command group.
COMMANDS = {
    "build": "handouts.cli.build:build",
    "list": "handouts.cli.build:list_cmd",
    "validate": "handouts.cli.build:validate",
    "render": "handouts.cli.build:render",
    "screen": "handouts.cli.intake:screen",
    "archive": "handouts.cli.intake:archive",
    "packet": "handouts.cli.packet:packet",
    "packets": "handouts.cli.packet:packets",
    "lint": "handouts.cli.lint:lint",
    "serve": "handouts.cli.serve:serve",
    "init": "handouts.cli.scaffold:init",
    "new": "handouts.cli.scaffold:new",
    "printers": "handouts.cli.printers:printers",
    "users": "handouts.cli.users:users",
    "register": "handouts.cli.register:register",
    "keys": "handouts.cli.sign:keys",
    "verify": "handouts.cli.sign:verify",
}


@click.group(
    cls=HandoutsGroup,
    lazy=COMMANDS,
    epilog=EXIT_HELP,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="handouts")
@click.option(
    "--project",
    "project",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Project folder.",
)
@click.option("-v", "--verbose", count=True, help="More log output (repeatable).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors.")
@click.pass_context
def main(ctx: click.Context, project: Path, verbose: int, quiet: bool) -> None:
    """Build branded patient handouts (PDF) from YAML content and Jinja templates."""
    level = (
        logging.ERROR
        if quiet
        else (logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING)
    )
    logging.basicConfig(level=level, format="%(levelname)s: %(message)s")
    # What a library logs may quote a file or a PDF: every line on stderr is escaped.
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, TerminalSafe) for f in handler.filters):
            handler.addFilter(TerminalSafe())
    # WeasyPrint reports every CSS nit at WARNING; keep them for -vv.
    logging.getLogger("weasyprint").setLevel(logging.DEBUG if verbose > 1 else logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.WARNING if verbose > 1 else logging.ERROR)
    ctx.obj = {"project": project, "quiet": quiet}


def run() -> None:
    """The console script: the CLI, then an exit that skips the garbage collector's last sweep.

    At exit CPython walks every object the process made (pikepdf's alone take about 35 ms)
    only to free memory the operating system reclaims anyway. Files are closed and flushed
    explicitly before this point, and atexit handlers (logging's flush) still run.
    """
    import gc

    try:
        main()
    finally:
        gc.freeze()
