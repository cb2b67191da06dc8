"""The `handouts` command line: parse, call one library function, print the report."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click

from handouts import __version__
from handouts.errors import HandoutsError

EXIT_HELP = """\b
Exit codes:
  0  success
  1  build --check: out/ is not what a build would produce
  2  bad input: content, settings, command-line values, or a failed output
"""


def _fail(exc: HandoutsError) -> NoReturn:
    for line in exc.lines():
        click.echo(line, err=True)
    sys.exit(exc.exit_code)


def _run(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call func, turning our errors into one-line messages and exit codes."""
    try:
        return func(*args, **kwargs)
    except HandoutsError as exc:
        _fail(exc)


def _project(ctx: click.Context) -> Any:
    from handouts.project import find_project

    return _run(find_project, ctx.obj["project"])


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip()) if value else ()


@click.group(epilog=EXIT_HELP, context_settings={"help_option_names": ["-h", "--help"]})
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
    # WeasyPrint reports every CSS nit at WARNING; keep them for -vv.
    logging.getLogger("weasyprint").setLevel(logging.DEBUG if verbose > 1 else logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.WARNING if verbose > 1 else logging.ERROR)
    ctx.obj = {"project": project, "quiet": quiet}


@main.command(epilog=EXIT_HELP)
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
    from handouts.results import BuildOptions

    project = _project(ctx)
    options = BuildOptions(
        out_dir=out_dir,
        brands=_csv(brand),
        langs=_csv(lang),
        docs=_csv(only),
        force=force,
        check=check,
        prune=prune,
        jobs=jobs,
        shard=_parse_shard(shard),
    )
    from handouts.progress import Progress

    with Progress(enabled=not ctx.obj["quiet"], check=check) as progress:
        # Nothing changed since the last clean build: answer without loading the catalogue.
        from handouts.snapshot import quick_build

        report = quick_build(project, options, progress.update)
        if report is None:
            from handouts.build import build as run_build

            report = _run(run_build, project, options, progress.update, progress.start)
    for warning in report.warnings:
        click.echo(str(warning), err=True)
    for problem in report.problems:
        click.echo(str(problem), err=True)
    for result in report.results:
        if result.status == "failed":
            click.echo(f"{result.path}: failed: {result.message}", err=True)
    if check:
        bad = [r for r in report.results if r.status in ("stale", "missing", "extra")]
        for r in bad:
            click.echo(f"{r.status}: {r.path}")
        click.echo(
            f"{len(bad)} of {len(report.results)} outputs need a build"
            if bad
            else f"out/ is up to date ({len(report.results)} outputs)",
            err=True,
        )
        sys.exit(2 if report.problems else 1 if bad else 0)
    if not ctx.obj["quiet"]:
        click.echo(
            f"built {report.count('built')}, unchanged {report.count('unchanged')}, "
            f"failed {report.count('failed') + len(report.problems)}"
            + (f", pruned {report.count('pruned')}" if report.count("pruned") else "")
            + f" in {report.seconds:.2f} s -> {report.out_dir}",
            err=True,
        )
    sys.exit(0 if report.ok else 2)


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


@main.command("list")
@click.pass_context
def list_cmd(ctx: click.Context) -> None:
    """List documents, brands, languages and the outputs they produce."""
    from handouts.content import load_catalogue
    from handouts.outputs import plan_outputs

    cat = _run(load_catalogue, _project(ctx))
    click.echo("documents:")
    for doc_id in cat.document_ids:
        doc = cat.document(doc_id, cat.config.default_language).model
        click.echo(f"  {doc_id}  ({doc.kind}, v{doc.version}, {doc.effective}) {doc.title}")
    click.echo("brands:")
    for brand_id, brand in sorted(cat.brands.items()):
        click.echo(f"  {brand_id}  {brand.model.name}")
    click.echo("languages: " + ", ".join(cat.languages))
    specs = plan_outputs(cat)
    click.echo(f"outputs ({len(specs)}):")
    for spec in specs:
        click.echo(f"  {spec.relpath}")


@main.command()
@click.option("--strict", is_flag=True, help="Treat warnings (e.g. lagging translations) as errors.")
@click.pass_context
def validate(ctx: click.Context, strict: bool) -> None:
    """Load and check all content and templates, without rendering."""
    from handouts.content import load_catalogue
    from handouts.errors import ContentError
    from handouts.outputs import plan_outputs
    from handouts.render import check_templates

    project = _project(ctx)
    cat = _run(load_catalogue, project)
    problems = check_templates(project, {d.model.kind for d in cat.documents.values()})
    if problems:
        _fail(ContentError(problems))
    for warning in cat.warnings:
        click.echo(str(warning), err=True)
    if strict and cat.warnings:
        click.echo(f"Aborted with {len(cat.warnings)} warning(s) (--strict).", err=True)
        sys.exit(2)
    click.echo(
        f"ok: {len(cat.document_ids)} documents, {len(cat.brands)} brands, "
        f"{len(cat.languages)} languages, {len(plan_outputs(cat))} outputs"
    )


@main.command()
@click.argument("doc_id")
@click.option("--brand", help="Brand id (default: the first).")
@click.option("--lang", help="Language code (default: the project's default language).")
@click.option("--variant", type=click.Choice(["print", "fillable"]), default="print", show_default=True)
@click.option("--html", "as_html", is_flag=True, help="Write the HTML WeasyPrint receives.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Output file ('-' for stdout; default DOC_ID.pdf or .html).",
)
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
    from handouts.single import render_one

    project = _project(ctx)
    data = _run(render_one, project, doc_id, brand, lang, variant, as_html)
    if output is not None and str(output) == "-":
        sys.stdout.buffer.write(data)
        return
    target = output or Path(f"{doc_id}.{'html' if as_html else 'pdf'}")
    from handouts.fsutil import atomic_write

    _run(atomic_write, target, data)
    if not ctx.obj["quiet"]:
        click.echo(f"wrote {target}", err=True)


SCREEN_HELP = """\b
Exit codes:
  0  every contraindication answered no, consent ticked, signed and dated
  1  at least one contraindication answered yes (flagged)
  3  incomplete: something unanswered or unsigned, nothing flagged
  2  unreadable: not a PDF, damaged, encrypted without the right password,
     or not a handouts consent form
For a folder, the exit code is that of the worst file (unreadable, then flagged,
then incomplete).
"""


@main.command(epilog=SCREEN_HELP)
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object (see README).")
@click.option("--password", help="Password of an encrypted form.")
@click.pass_context
def screen(ctx: click.Context, path: Path, as_json: bool, password: str | None) -> None:
    """Read filled consent forms (a file or a folder) and flag contraindications."""
    import json

    from handouts.screen import EXIT_CODES, screen_path, worst

    root = ctx.obj["project"].resolve()
    project_root = root if (root / "content").is_dir() else None
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".pdf" and p.is_file())
        results = [screen_path(f, project_root, password) for f in files]
        summary = {
            s: sum(1 for r in results if r.status == s)
            for s in ("clear", "flagged", "incomplete", "unreadable")
        }
        if as_json:
            click.echo(
                json.dumps(
                    {"format": 1, "files": [r.to_json() for r in results], "summary": summary},
                    indent=2,
                    ensure_ascii=False,
                )
            )
        else:
            for r in results:
                click.echo(_screen_line(r))
            click.echo(", ".join(f"{n} {s}" for s, n in summary.items()))
        sys.exit(EXIT_CODES[worst(results)])
    result = screen_path(path, project_root, password)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
    elif result.status == "unreadable":
        click.echo(result.error, err=True)
    else:
        click.echo(_screen_report(result))
    sys.exit(result.exit_code)


def _screen_line(r: Any) -> str:
    if r.status == "unreadable":
        return f"{r.file}: unreadable: {r.error}"
    detail = (
        ", ".join(f.id for f in r.flagged)
        if r.flagged
        else (", ".join(_missing(r)) if r.status == "incomplete" else "all answered no, signed")
    )
    return f"{r.file}: {r.status}: {detail}"


def _missing(r: Any) -> list[str]:
    out = [f"unanswered {cid}" for cid in r.unanswered]
    for ok, what in (
        (r.consent_box, "consent box not ticked"),
        (r.signature, "no signature"),
        (r.date, "no date"),
    ):
        if not ok:
            out.append(what)
    return out


def _screen_report(r: Any) -> str:
    form = r.form
    lines = [f"{r.file}: {r.status.upper()}"]
    lines.append(
        f"  form: {form.document} v{form.version} ({form.effective}), "
        f"fingerprint {form.fingerprint[:7]}, language {form.lang}"
    )
    if r.is_current is False:
        lines.append(f"  warning: content/ is now at v{r.current_version}; this form is v{form.version}")
    elif r.is_current is None:
        lines.append("  warning: no project here to compare the version with (use --project)")
    if r.patient_name:
        lines.append(f"  patient: {r.patient_name}")
    for f in r.flagged:
        lines.append(f"  YES {f.id} ({f.label}) [{f.severity}]: {f.therapist_note}")
    for item in _missing(r):
        lines.append(f"  {item}")
    if r.status == "clear":
        lines.append("  all contraindications answered no; consent ticked, signed and dated")
    return "\n".join(lines)


@main.command()
@click.option("--patient", required=True, help="Patient's full name.")
@click.option("--dob", help="Date of birth, YYYY-MM-DD (pre-filled on the consent form).")
@click.option("--date", "date_", help="Appointment date, YYYY-MM-DD (default: today).")
@click.option("--therapist", help="Therapist's name.")
@click.option("--area", help="Treatment area, e.g. 'left upper trapezius'.")
@click.option(
    "--docs",
    default="info,consent,aftercare",
    show_default=True,
    help="Documents in order: kinds (info, consent, aftercare) or document ids.",
)
@click.option("--brand", help="Brand id (default: the first).")
@click.option("--lang", help="Language code (default: the project's default language).")
@click.option("--fillable", is_flag=True, help="Keep the consent form fillable for the patient.")
@click.option("--large-print", is_flag=True, help="Use the large-print documents.")
@click.option("--password", help="Encrypt the packet (AES-256) with this password.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Output file (default: a name without the patient's name, in the current folder).",
)
@click.option(
    "--name-pattern",
    default=None,
    help="File name pattern, e.g. '{patient}-{date}.pdf' (fields: patient, date, brand, lang, id).",
)
@click.option("--email", metavar="ADDRESS", help="Email the packet to this address (smtp: in handouts.yaml).")
@click.option(
    "--eml",
    "eml_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="With --email: write the message as an .eml file into this folder instead of sending it.",
)
@click.pass_context
def packet(
    ctx: click.Context,
    patient: str,
    dob: str | None,
    date_: str | None,
    therapist: str | None,
    area: str | None,
    docs: str,
    brand: str | None,
    lang: str | None,
    fillable: bool,
    large_print: bool,
    password: str | None,
    output: Path | None,
    name_pattern: str | None,
    email: str | None,
    eml_dir: Path | None,
) -> None:
    """Make one patient's packet: chosen documents, details printed, consent pre-filled."""
    from handouts.fsutil import atomic_write
    from handouts.packet import (
        DEFAULT_PATTERN,
        Packet,
        PacketRequest,
        check_password,
        make_packet,
        make_patient,
        packet_flags,
        protect,
    )
    from handouts.snapshot import current

    project = _project(ctx)
    _run(check_password, password)
    state = current(project)  # the last clean build's index, if nothing changed since
    index = state.index if state is not None else None
    person = _run(make_patient, project, patient, dob, date_, therapist, area, index=index)
    if name_pattern and not output:  # a bad pattern is refused before anything is made
        _run(Packet(b"", 0, "brand", "lang", (), 0).file_name, person, name_pattern)
    if email or eml_dir:
        from handouts.cli_packets import packet_mail_step

        mail_step = _run(packet_mail_step, project, email, eml_dir)
    request = PacketRequest(person, _csv(docs), brand, lang, fillable, large_print)
    result = _run(make_packet, project, request, state=state)
    data = _run(protect, result.pdf, password) if password else result.pdf
    flags = packet_flags(fillable, large_print, bool(password))
    target = output or Path(_run(result.file_name, person, name_pattern or DEFAULT_PATTERN, flags))
    _run(atomic_write, target, data, 0o600)
    if not ctx.obj["quiet"]:
        click.echo(f"wrote {target} ({result.pages} pages)", err=True)
    if email or eml_dir:
        mail_step(result, person, data, target, fillable)


from handouts.cli_packets import packets  # noqa: E402

main.add_command(packets)

from handouts.cli_lint import lint  # noqa: E402

main.add_command(lint)

from handouts.cli_archive import archive  # noqa: E402

main.add_command(archive)

from handouts.cli_serve import serve  # noqa: E402

main.add_command(serve)


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
