"""`handouts archive`: a filled consent form -> the clinic's flattened PDF/A-3b record."""

from __future__ import annotations

from pathlib import Path

import click

from handouts.cli import _fail, _run, _screen_line

ARCHIVE_HELP = """\b
Exit codes:
  0  archive written (the form's screen status is printed on stderr:
     clear, flagged or incomplete; incomplete forms are archived too)
  2  unreadable: not a PDF, damaged, encrypted without the right password,
     or not a handouts fillable consent form; or the archive cannot be written
"""


@click.command(epilog=ARCHIVE_HELP)
@click.argument("filled", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Archive file (default: FILLED-archive.pdf next to FILLED).",
)
@click.option("--password", help="Password of an encrypted form (the archive itself is not encrypted).")
@click.pass_context
def archive(ctx: click.Context, filled: Path, output: Path | None, password: str | None) -> None:
    """Flatten a filled consent form into a PDF/A-3b record that embeds the original."""
    from handouts.archive import archive_form, default_output
    from handouts.errors import UsageError
    from handouts.fsutil import atomic_write

    target = output or default_output(filled)
    if target.resolve() == filled.resolve():
        _fail(UsageError(f"{target}: the archive would replace the filled form; choose another -o"))
    result = _run(archive_form, filled, password)
    # The record holds patient answers: readable by its owner only, like a packet.
    _run(atomic_write, target, result.pdf, 0o600)
    if not ctx.obj["quiet"]:
        click.echo(_screen_line(result.screen), err=True)
        click.echo(
            f"wrote {target} (PDF/A-3b, {result.pages} pages, {result.drawn} answers drawn, "
            "original embedded)",
            err=True,
        )
