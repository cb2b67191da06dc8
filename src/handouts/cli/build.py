"""`handouts build`, `list`, `validate` and `render`: the catalogue and its outputs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from handouts.cli.common import EXIT_HELP, output_option, project_of, quiet, say, split_list
from handouts.errors import Exit

if TYPE_CHECKING:
    from handouts.content.catalogue import Catalogue


@click.command(epilog=EXIT_HELP)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (default: 'out' in the project, or handouts.yaml's out).",
)
@click.option("--brand", help="Only these brands (comma-separated ids).")
@click.option("--lang", help="Only these languages (comma-separated codes).")
@click.option("--only", "only", help="Only these document ids (comma-separated).")
@click.option("--force", is_flag=True, help="Rebuild everything, even outputs that are current.")
@click.option(
    "--check", is_flag=True, help="Write nothing; list stale, missing or extra outputs; exit 1 if any."
)
@click.option("--prune", is_flag=True, help="Remove outputs that no content produces any more.")
@click.option(
    "-j", "--jobs", type=click.IntRange(min=0), default=0, help="Worker processes (default: number of CPUs)."
)
@click.option("--shard", help="Build only shard I of N (e.g. 2/4), for CI matrices.")
@click.pass_context
def build(
    ctx: click.Context,
    out_dir: Path | None,
    brand: str | None,
    lang: str | None,
    only: str | None,
    force: bool,
    check: bool,
    prune: bool,
    jobs: int,
    shard: str | None,
) -> None:
    """Build the catalogue: every document, brand, language and variant, into out/."""
    from handouts.build.report import BuildOptions
    from handouts.build.snapshot import quick_build
    from handouts.cli.progress import Progress

    project = project_of(ctx)
    options = BuildOptions(
        out_dir=out_dir,
        brands=split_list(brand),
        langs=split_list(lang),
        docs=split_list(only),
        force=force,
        check=check,
        prune=prune,
        jobs=jobs,
        shard=_parse_shard(shard),
    )
    with Progress(enabled=not quiet(ctx), check=check) as progress:
        # Nothing changed since the last clean build: answer without loading the catalogue.
        report = quick_build(project, options, progress.update)
        if report is None:
            from handouts.build.builder import build as run_build

            report = run_build(project, options, progress.update, progress.start)
    for warning in report.warnings:
        say(str(warning), err=True)
    for problem in report.problems:
        say(str(problem), err=True)
    for result in report.results:
        if result.status == "failed":
            say(f"{result.path}: failed: {result.message}", err=True)
    if check:
        bad = report.outdated
        for r in bad:
            click.echo(f"{r.status}: {r.path}")
        click.echo(
            f"{len(bad)} of {len(report.results)} outputs need a build"
            if bad
            else f"out/ is up to date ({len(report.results)} outputs)",
            err=True,
        )
    elif not quiet(ctx):
        click.echo(
            f"built {report.count('built')}, unchanged {report.count('unchanged')}, "
            f"failed {report.count('failed') + len(report.problems)}"
            + (f", pruned {report.count('pruned')}" if report.count("pruned") else "")
            + f" in {report.seconds:.2f} s -> {report.out_dir}",
            err=True,
        )
    ctx.exit(report.exit_code(check))


def _parse_shard(value: str | None) -> tuple[int, int]:
    if not value:
        return (1, 1)
    try:
        index, total = (int(v) for v in value.split("/"))
    except ValueError:
        raise click.BadParameter("use I/N, e.g. 1/4", param_hint="--shard") from None
    if not 1 <= index <= total:
        raise click.BadParameter("I must be between 1 and N", param_hint="--shard")
    return index, total


@click.command("list")
@click.pass_context
def list_cmd(ctx: click.Context) -> None:
    """List documents, brands, languages and the outputs they produce."""
    from handouts.content.catalogue import load_catalogue
    from handouts.render.outputs import plan_outputs

    cat = load_catalogue(project_of(ctx))
    click.echo("documents:")
    for doc_id in cat.document_ids:
        doc = cat.document(doc_id, cat.default_language).model
        say(f"  {doc_id}  ({doc.kind}, v{doc.version}, {doc.effective}) {doc.title}")
    click.echo("brands:")
    for brand_id, brand in sorted(cat.brands.items()):
        say(f"  {brand_id}  {brand.model.name}")
    click.echo("languages: " + ", ".join(cat.languages))
    click.echo(f"theme: {cat.layers.theme}")
    specs = plan_outputs(cat)
    click.echo(f"outputs ({len(specs)}):")
    for spec in specs:
        click.echo(f"  {spec.relpath}")
    _echo_files(cat, full=False)


def _echo_files(cat: Catalogue, full: bool) -> None:
    """Which files come from the project and which from the package (its theme, the starter content)."""
    sources = cat.sources()
    own = sum(1 for s in sources if s.from_project)
    click.echo(f"files ({own} from the project, {len(sources) - own} from the package):")
    width = max((len(s.origin) for s in sources), default=0)
    for source in sources:
        where = f"  {cat.layers.label(source)}" if full and not source.from_project else ""
        click.echo(f"  {source.origin:<{width}}  {source.rel}{where}")


@click.command()
@click.option("--strict", is_flag=True, help="Treat warnings (e.g. lagging translations) as errors.")
@click.option(
    "-v", "--verbose", "verbose", is_flag=True, help="List every file used and where it comes from."
)
@click.pass_context
def validate(ctx: click.Context, strict: bool, verbose: bool) -> None:
    """Load and check all content and templates, without rendering."""
    from handouts.content.catalogue import load_catalogue
    from handouts.errors import ContentError
    from handouts.render.html import check_templates
    from handouts.render.outputs import plan_outputs

    project = project_of(ctx)
    cat = load_catalogue(project)
    problems = check_templates(cat.layers, {d.model.kind for d in cat.documents.values()})
    warnings = list(cat.warnings)
    if cat.config.signing is not None:
        from handouts.sign.identity import check_signing

        signing = check_signing(project.root, cat.config.signing)
        problems += [p for p in signing if not p.warning]
        warnings += [p for p in signing if p.warning]
    if problems:
        raise ContentError(problems)
    for warning in warnings:
        say(str(warning), err=True)
    if strict and warnings:
        click.echo(f"Aborted with {len(warnings)} warning(s) (--strict).", err=True)
        ctx.exit(Exit.BAD_INPUT)
    click.echo(
        f"ok: {len(cat.document_ids)} documents, {len(cat.brands)} brands, "
        f"{len(cat.languages)} languages, {len(plan_outputs(cat))} outputs"
    )
    if verbose:
        click.echo(f"theme: {cat.layers.theme}")
        _echo_files(cat, full=True)


@click.command()
@click.argument("doc_id")
@click.option("--brand", help="Brand id (default: default_brand in handouts.yaml, or the only brand).")
@click.option("--lang", help="Language code (default: the project's default language).")
@click.option("--variant", type=click.Choice(["print", "fillable"]), default="print", show_default=True)
@click.option("--html", "as_html", is_flag=True, help="Write the HTML WeasyPrint receives.")
@output_option("Output file ('-' for stdout; default DOC_ID.pdf or .html).")
@click.pass_context
def render(
    ctx: click.Context,
    doc_id: str,
    brand: str | None,
    lang: str | None,
    variant: str,
    as_html: bool,
    output: Path | None,
) -> None:
    """Render one document to PDF, or to the exact HTML WeasyPrint receives."""
    from handouts.atomic import atomic_write
    from handouts.render.output import render_one

    data = render_one(project_of(ctx), doc_id, brand, lang, variant, as_html)
    if output is not None and str(output) == "-":
        sys.stdout.buffer.write(data)
        return
    target = output or Path(f"{doc_id}.{'html' if as_html else 'pdf'}")
    atomic_write(target, data)
    if not quiet(ctx):
        click.echo(f"wrote {target}", err=True)
