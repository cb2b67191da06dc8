"""`handouts keys init` and `handouts verify`: the clinic's signing identity, and checking signatures."""

from __future__ import annotations

from pathlib import Path

import click

from handouts.cli.common import json_text, project_of, say

VERIFY_HELP = """\b
Exit codes:
  0  valid: every signature intact, by the project's certificate (or one in
     signing.trusted), and nothing changed since but what it permits
  1  invalid: a signature is broken, by an unknown signer, or the file changed
     beyond what was permitted
  2  unreadable: not a PDF, damaged, or encrypted without the right password
  3  unsigned
For a folder, the exit code is that of the worst file (invalid, then unreadable,
then unsigned).
"""


@click.group()
def keys() -> None:
    """The clinic's signing identity (handouts.yaml `signing:`)."""


@keys.command("init")
@click.option("--brand", help="Brand whose name (and city) the certificate carries (default: the first).")
@click.pass_context
def keys_init(ctx: click.Context, brand: str | None) -> None:
    """Make a self-signed clinic certificate at signing.certificate (never over an existing file)."""
    from handouts.content.catalogue import load_catalogue
    from handouts.errors import ProjectError, choose
    from handouts.sign.identity import init_keys, public_path, spaced

    project = project_of(ctx)
    cat = load_catalogue(project)
    if cat.config.signing is None:
        raise ProjectError("handouts.yaml: no `signing:` settings; add certificate and password_env first")
    brand_id = choose("brand", brand, sorted(cat.brands), field="brand") if brand else sorted(cat.brands)[0]
    clinic = cat.brands[brand_id].model
    made = init_keys(project.root, cat.config.signing, clinic.name, clinic.city)
    click.echo(f"wrote {made.path} (key and certificate, readable by you only) and {public_path(made.path)}")
    click.echo(f"subject: {made.subject}; valid until {made.not_after.date()}")
    click.echo(f"SHA-256 fingerprint: {spaced(made.fingerprint)}")


@click.command(epilog=VERIFY_HELP)
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object (see README).")
@click.option("--password", help="Password of an encrypted PDF.")
@click.pass_context
def verify(ctx: click.Context, path: Path, as_json: bool, password: str | None) -> None:
    """Check the signatures of a PDF, or of every PDF in a folder."""
    import os

    from handouts.content.catalogue import load_config
    from handouts.errors import VERIFY_EXIT, HandoutsError
    from handouts.project import Project
    from handouts.sign.identity import load_identity, trust
    from handouts.sign.verify import known_from_manifest, report_lines, verify_path, worst

    root = ctx.obj["project"].resolve()
    config = load_config(Project(root)) if (root / "content").is_dir() else None
    settings = config.signing if config is not None else None
    own = None
    if settings is not None and os.environ.get(settings.password_env):
        try:
            own = load_identity(root, settings)
        except HandoutsError:
            own = None  # the public certificate beside it still names the signer
    trusted = trust(root, settings, own)
    known = known_from_manifest(root / config.out) if config is not None else None
    files = (
        sorted(p for p in path.iterdir() if p.suffix.lower() == ".pdf" and p.is_file())
        if path.is_dir()
        else [path]
    )
    results = [verify_path(f, trusted, known, password) for f in files]
    if as_json:
        body = (
            {"format": 1, "files": [r.to_json() for r in results]} if path.is_dir() else results[0].to_json()
        )
        click.echo(json_text(body))
    else:
        for result in results:
            say(report_lines(result))
        if path.is_dir():
            counts = {s: sum(1 for r in results if r.status == s) for s in VERIFY_EXIT}
            click.echo(", ".join(f"{n} {s}" for s, n in counts.items()))
    ctx.exit(VERIFY_EXIT[worst(results)])
