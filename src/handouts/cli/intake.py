"""`handouts screen` and `handouts archive`: filled consent forms that come back."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from handouts.cli.common import flag, json_text, output_option, quiet, say
from handouts.errors import SCREEN_EXIT, UsageError

if TYPE_CHECKING:
    from handouts.intake.screen import ScreenResult
    from handouts.register.record import Register

SCREEN_HELP = """\b
Exit codes:
  0  every contraindication answered no, consent ticked, signed and dated
  1  at least one contraindication answered yes (flagged)
  3  incomplete: something unanswered or unsigned, nothing flagged
  2  unreadable: not a PDF, damaged, encrypted without the right password,
     or not a handouts consent form
  5  tampered: the form was changed after the clinic certified it (beyond filling it in),
     or it carries active content (JavaScript, actions, XFA, embedded files)
For a folder, the exit code is that of the worst file (tampered, then unreadable,
then flagged, then incomplete).
"""

ARCHIVE_HELP = """\b
Exit codes:
  0  archive written (the form's screen status is printed on stderr:
     clear, flagged or incomplete; incomplete forms are archived too)
  2  unreadable: not a PDF, damaged, encrypted without the right password,
     or not a handouts fillable consent form; or the archive cannot be written
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
    """Read filled consent forms (a file or a folder) and flag contraindications."""
    from handouts.intake.screen import screen_path, worst
    from handouts.packet.request import check_patient_ref
    from handouts.register.hooks import record_return

    project_root = _project_root(ctx)
    ref = check_patient_ref(patient_ref)
    if path.is_dir():
        if ref is not None:
            raise UsageError(
                "{field} names one patient: screen one file with it, not a folder",
                field="patient_ref",
                code="one-file",
            )
        files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".pdf" and p.is_file())
        results = [screen_path(f, project_root, password) for f in files]
        register = _register(project_root)
        for r in results:
            record_return(register, r, "screen")
        summary = {
            s: sum(1 for r in results if r.status == s)
            for s in ("clear", "flagged", "incomplete", "unreadable")
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
    result = screen_path(path, project_root, password)
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
    detail = (
        ", ".join(f.id for f in r.flagged)
        if r.flagged
        else (", ".join(_missing(r)) if r.status == "incomplete" else "all answered no, signed")
    )
    return f"{r.file}: {r.status}: {detail}"


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
    )
    if r.is_current is False:
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
    result = archive_form(filled, password)
    project_root = _project_root(ctx)
    register = _register(project_root)
    screened, pdf, sealed = result.screen, result.pdf, ""
    if project_root is not None:
        from handouts.intake.screen import check_signature, current_content, read_pdf

        current = current_content(project_root, result.screen.form) if result.screen.form else None
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
            f"wrote {target} (PDF/A-3b, {result.pages} pages, {result.drawn} answers drawn, "
            f"original embedded{sealed})",
            err=True,
        )


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
