"""`handouts screen` and `handouts archive`: filled consent forms that come back."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from handouts.cli.common import flag, json_text, output_option, quiet, say
from handouts.errors import SCREEN_EXIT, UsageError

if TYPE_CHECKING:
    from handouts.intake.archive import ArchiveResult
    from handouts.intake.screen import ScreenResult
    from handouts.register.record import Register

SCREEN_HELP = """\b
Exit codes:
  0  every contraindication answered no, consent ticked, signed and dated
  1  at least one contraindication answered yes (flagged)
  6  needs-review (scans): a mark, line or page a person must look at, nothing flagged
  3  incomplete: something unanswered or unsigned, nothing flagged
  2  unreadable: not a PDF or image, damaged, encrypted without the right
     password, or not a handouts consent form
  5  tampered: the form was changed after the clinic certified it (beyond filling it in),
     or it carries active content (JavaScript, actions, XFA, embedded files)
Scans (PDF, PNG, JPEG, TIFF) of printed forms are read too; a scan may hold
several forms. For a folder, the exit code is that of the worst form (tampered,
then unreadable, flagged, needs-review, incomplete).
"""

ARCHIVE_HELP = """\b
A scan of a printed form (PDF, PNG, JPEG, TIFF: one form per file) is archived
too: a first page of the answers as read, then the scanned pages.
Exit codes:
  0  archive written (the form's screen status is printed on stderr:
     clear, flagged, needs-review or incomplete; all of them are archived)
  2  unreadable: not a PDF or image, damaged, encrypted without the right
     password, not a handouts consent form, a scan of several forms;
     or the archive cannot be written
  5  tampered: the form was changed after the clinic certified it, or it carries
     active content; nothing written
"""


@click.command(epilog=SCREEN_HELP)
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object (see README).")
@click.option("--password", help="Password of an encrypted form.")
@click.option("--patient-ref", help="Chart number, for a form that came in no packet (one file).")
@click.pass_context
def screen(
    ctx: click.Context, path: Path, as_json: bool, password: str | None, patient_ref: str | None
) -> None:
    """Read filled consent forms or scans of printed ones (a file or a folder); flag contraindications."""
    from handouts.intake.scan.read import screen_file
    from handouts.intake.scan.sources import IMAGE_SUFFIXES
    from handouts.intake.screen import worst
    from handouts.packet.request import check_patient_ref
    from handouts.register.hooks import record_return

    project_root = _project_root(ctx)
    ref = check_patient_ref(patient_ref)
    single = [] if path.is_dir() else screen_file(path, project_root, password)
    if path.is_dir() or len(single) > 1:
        if ref is not None:
            raise UsageError(
                "{field} names one patient: screen one file with it, not a folder",
                field="patient_ref",
                code="one-file",
            )
        suffixes = (".pdf", *IMAGE_SUFFIXES)
        listed = sorted(path.iterdir()) if path.is_dir() else []
        files = [p for p in listed if p.suffix.lower() in suffixes and p.is_file()]
        results = [r for f in files for r in screen_file(f, project_root, password)] or single
        register = _register(project_root)
        for r in results:
            record_return(register, r, "screen")
        summary = {
            s: sum(1 for r in results if r.status == s)
            for s in ("clear", "flagged", "needs-review", "incomplete", "unreadable")
        }
        tampered = sum(1 for r in results if r.status == "tampered")
        if tampered:
            summary["tampered"] = tampered
        if as_json:
            data = {"format": 1, "files": [r.to_json(flag) for r in results], "summary": summary}
            click.echo(json_text(data))
        else:
            say(screen_line(r) for r in results)
            say(", ".join(f"{n} {s}" for s, n in summary.items()))
        ctx.exit(SCREEN_EXIT[worst(results)])
    result = single[0]
    record_return(_register(project_root), result, "screen", ref)
    if as_json:
        click.echo(json_text(result.to_json(flag)))
    elif result.status == "unreadable":
        say(result.error(flag) or "", err=True)
    else:
        say(_screen_report(result))
        if result.certification_warning:
            say(f"{result.file}: warning: {result.certification}", err=True)
    ctx.exit(result.exit_code)


def screen_line(r: ScreenResult) -> str:
    """One line for one form: its file, status and what makes it so."""
    if r.status == "unreadable":
        return f"{r.file}: unreadable: {r.error(flag)}"
    if r.status == "tampered":
        return f"{r.file}: tampered: {r.error(flag) if r.active_content else r.certification}"
    packet = f"; packet {r.form.packet_id}" if r.form and r.form.packet_id else ""
    where = f" (scan pages {', '.join(map(str, r.pages))}{packet})" if r.source == "scan" else ""
    if r.status == "needs-review":
        reasons = [f"{u['id']}: {u['reason']}" for u in r.unclear] + r.problems
        return f"{r.file}{where}: needs-review: {'; '.join(reasons)}"
    detail = (
        ", ".join(f.id for f in r.flagged)
        if r.flagged
        else (", ".join(_missing(r)) if r.status == "incomplete" else "all answered no, signed")
    )
    return f"{r.file}{where}: {r.status}: {detail}"


def _missing(r: ScreenResult) -> list[str]:
    out = [f"unanswered {cid}" for cid in r.unanswered]
    for ok, what in (
        (r.consent_box, "consent box not ticked"),
        (r.signature, "no signature"),
        (r.date, "no date"),
    ):
        if not ok:
            out.append(what)
    return out


def _screen_report(r: ScreenResult) -> list[str]:
    """The report on one form, a line per item (each printed escaped: see common.say)."""
    form = r.form
    lines = [f"{r.file}: {r.status.upper()}"]
    if form is None:  # tampered beyond reading: only the certification speaks
        return [*lines, f"  certification: {r.certification}"]
    lines.append(
        f"  form: {form.document} v{form.version} ({form.effective}), "
        f"fingerprint {form.fingerprint[:7]}, language {form.lang}"
        + (f", packet {form.packet_id}" if form.packet_id else "")
    )
    if r.is_current is False:
        if r.current_version == form.version:  # the same number, other content (a fingerprint apart)
            changed = f"has changed since this form was made, though both are v{form.version}"
            lines.append(f"  warning: content/ {changed}")
        else:
            lines.append(f"  warning: content/ is now at v{r.current_version}; this form is v{form.version}")
    elif r.is_current is None:
        lines.append("  warning: no project here to compare the version with (use --project)")
    if r.certification:
        lines.append(f"  certification: {'warning: ' if r.certification_warning else ''}{r.certification}")
    if r.active_content:
        lines.append(f"  carries what a filled consent form never does: {', '.join(r.active_content)}")
    if r.status == "tampered":
        lines.append("  the answers below may not be the patient's: compare with the clinic's copy")
    if r.patient_name:
        lines.append(f"  patient: {r.patient_name}")
    for f in r.flagged:
        lines.append(f"  YES {f.id} ({f.label}) [{f.severity}]: {f.therapist_note}")
    for item in _missing(r):
        lines.append(f"  {item}")
    for u in r.unclear:
        lines.append(f"  UNCLEAR {u['id']}: {u['reason']}")
    for problem in r.problems:
        lines.append(f"  {problem}")
    if r.source == "scan":
        lowest = min(r.confidence.values(), default=1.0)
        pages = ", ".join(map(str, r.pages))
        lines.append(f"  read from a scan (pages {pages}); lowest confidence {lowest:.2f}")
    if r.status == "clear":
        lines.append("  all contraindications answered no; consent ticked, signed and dated")
    return lines


@click.command(epilog=ARCHIVE_HELP)
@click.argument("filled", type=click.Path(dir_okay=False, path_type=Path))
@output_option("Archive file (default: FILLED-archive.pdf next to FILLED).")
@click.option("--password", help="Password of an encrypted form (the archive itself is not encrypted).")
@click.option("--patient-ref", help="Chart number, for a form that came in no packet.")
@click.pass_context
def archive(
    ctx: click.Context, filled: Path, output: Path | None, password: str | None, patient_ref: str | None
) -> None:
    """Flatten a filled consent form into a PDF/A-3b record that embeds the original."""
    from handouts.atomic import atomic_write
    from handouts.intake.archive import archive_form, default_output
    from handouts.intake.scan.sources import is_image
    from handouts.intake.screen import NotFillableError
    from handouts.packet.request import check_patient_ref
    from handouts.register.hooks import record_return

    target = output or default_output(filled)
    if target.resolve() == filled.resolve():
        raise UsageError(
            "{path}: the archive would replace the filled form; choose another -o",
            field="output",
            path=target,
        )
    ref = check_patient_ref(patient_ref)
    project_root = _project_root(ctx)
    try:
        scan = is_image(filled)
        result = _archive_scan(filled, project_root) if scan else archive_form(filled, password)
    except NotFillableError:  # a PDF of scanned pages
        scan, result = True, _archive_scan(filled, project_root)
    register = _register(project_root)
    screened, pdf, sealed = result.screen, result.pdf, ""
    if project_root is not None:
        from handouts.intake.screen import check_signature, current_content, read_pdf

        current = current_content(project_root, result.screen.form) if result.screen.form else None
        if not scan:  # paper carries no signature to check
            screened = check_signature(result.screen, read_pdf(filled), project_root, current, password)
    if screened.status == "tampered":  # never seal changed answers (or a form with scripts) as the record
        from handouts.errors import TamperedError

        record_return(register, screened, "archive", ref)  # it came back, though not archived
        raise TamperedError(f"{screened.error()}; not archived")
    if project_root is not None:
        from handouts.content.catalogue import load_config
        from handouts.project import Project

        settings = load_config(Project(project_root)).signing
        if settings is not None:
            # The seal is the record's last write: nothing rewrites the file after it.
            from handouts.sign.identity import load_identity
            from handouts.sign.seal import seal

            pdf = seal(pdf, load_identity(project_root, settings), settings.timestamp_url)
            sealed = ", sealed (PAdES B-T)" if settings.timestamp_url else ", sealed (PAdES B-B)"
    # The record holds patient answers: readable by its owner only, like a packet.
    atomic_write(target, pdf, 0o600)
    record_return(register, screened, "archive", ref, pdf)
    if not quiet(ctx):
        say(screen_line(screened), err=True)
        say(
            f"wrote {target} (PDF/A-3b, {result.pages} pages, {result.drawn} answers "
            f"{'read from the scan' if scan else 'drawn'}, original embedded{sealed})",
            err=True,
        )


def _archive_scan(path: Path, project_root: Path | None) -> ArchiveResult:
    from handouts.intake.scan.record import archive_scan

    return archive_scan(path, project_root)


def _project_root(ctx: click.Context) -> Path | None:
    """The project to compare forms with and record them in (None: not in a project)."""
    root = Path(ctx.obj["project"]).resolve()
    return root if (root / "content").is_dir() else None


def _register(project_root: Path | None) -> Register | None:
    """The project's register (None outside a project, or when handouts.yaml turns it off)."""
    if project_root is None:
        return None
    from handouts.register.record import open_register

    return open_register(project_root)
