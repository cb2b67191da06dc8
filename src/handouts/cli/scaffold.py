"""`handouts init` (a new project for a clinic) and `handouts new document|brand` (a file to fill in)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from handouts.cli.common import project_of, split_list
from handouts.scaffold.brand import DEFAULT_ACCENT, DEFAULT_PRIMARY

FC = TypeVar("FC", bound=Callable[..., Any])

# What init asks on a terminal when not given, in order (option -> question).
QUESTIONS = {
    "clinic": "Clinic name",
    "city": "City (Enter to leave out)",
    "phone": "Phone (Enter to leave out)",
    "email": "Email (Enter to leave out)",
    "website": "Website (Enter to leave out)",
}


def interactive() -> bool:
    """Whether to ask for missing values: only when a person is at the keyboard (stdin a TTY)."""
    return sys.stdin.isatty()


def brand_options(command: FC) -> FC:
    """The options that describe a clinic, shared by init and new brand."""
    options = [
        click.option("--clinic", help="The clinic's name, as documents print it."),
        click.option("--city", help="City."),
        click.option("--address", help="Street address."),
        click.option("--phone", help="Phone number."),
        click.option("--email", help="Email address patients may write to."),
        click.option("--website", help="Website."),
        click.option("--logo", type=click.Path(path_type=Path), help="Logo: SVG, PNG or JPEG."),
        click.option("--primary", default=DEFAULT_PRIMARY, show_default=True, help="Main colour, #rrggbb."),
        click.option("--accent", default=DEFAULT_ACCENT, show_default=True, help="Second colour, #rrggbb."),
        click.option(
            "--page-size",
            type=click.Choice(["letter", "a4"]),
            default="letter",
            show_default=True,
            help="Paper.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _details(values: dict[str, Any]) -> Any:
    from handouts.scaffold.brand import BrandDetails

    return BrandDetails(
        clinic=values["clinic"] or "",
        city=values["city"],
        address=values["address"],
        phone=values["phone"],
        email=values["email"],
        website=values["website"],
        logo=values["logo"],
        primary=values["primary"],
        accent=values["accent"],
        page_size=values["page_size"],
    )


@click.command("init")
@click.argument("folder", type=click.Path(path_type=Path))
@brand_options
@click.option("--id", "brand_id", help="The brand's id (default: made from --clinic).")
@click.option(
    "--lang", help="Languages to build, comma-separated; the first is the default (default: en,fr)."
)
@click.option("--copy-content", is_flag=True, help="Copy the starter documents into content/ to edit them.")
@click.option("--force", is_flag=True, help="Add the project's files to a folder that is not empty.")
def init(
    folder: Path, brand_id: str | None, lang: str | None, copy_content: bool, force: bool, **brand: Any
) -> None:
    """Start a project for a clinic in FOLDER: settings, its brand, a README; the rest is the package's."""
    from handouts.scaffold.init import InitOptions, check_target, init_project

    check_target(folder, force)  # before asking anything
    if interactive():
        for option, question in QUESTIONS.items():
            if brand[option] is None:
                answer = click.prompt(question, default="", show_default=False).strip()
                brand[option] = answer or None
    options = InitOptions(_details(brand), brand_id, split_list(lang), copy_content, force)
    result = init_project(folder, options)
    click.echo(
        f"made a handouts project in {folder} for {options.brand.clinic.strip()} "
        f"(brand {result.brand_id}; languages {', '.join(result.languages)}):"
    )
    for rel in result.written:
        click.echo(f"  {rel}")
    for rel in result.kept:
        click.echo(f"  {rel} (already there: left as it was)")
    click.echo(f"next: handouts --project {folder} build")


@click.group("new")
def new() -> None:
    """Add a document or a brand to the project, as a file to fill in."""


@new.command("document")
@click.argument("doc_id", metavar="ID")
@click.option("--kind", type=click.Choice(["info", "aftercare", "consent"]), required=True, help="What kind.")
@click.option("--lang", help="Language (default: the project's default language).")
@click.pass_context
def new_document_cmd(ctx: click.Context, doc_id: str, kind: str, lang: str | None) -> None:
    """Write content/documents/ID/LANG.yaml: every part the kind needs, with placeholder text."""
    from handouts.scaffold.skeleton import new_document

    written = new_document(project_of(ctx), doc_id, kind, lang)
    click.echo(f"wrote {written.rel}")
    if written.note:
        click.echo(f"note: {written.note}", err=True)
    click.echo(
        f"next: replace each placeholder, then handouts validate and handouts build --only {doc_id}", err=True
    )


@new.command("brand")
@click.argument("brand_id", metavar="ID")
@brand_options
@click.pass_context
def new_brand_cmd(ctx: click.Context, /, brand_id: str, **brand: Any) -> None:
    """Write content/brands/ID.yaml for another clinic (its logo copied in, if given)."""
    from handouts.scaffold.skeleton import new_brand

    for written in new_brand(project_of(ctx), brand_id, _details(brand)):
        click.echo(f"wrote {written.rel}")
