"""`handouts register list|export|reconsent|verify|prune`: read the consent register."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from handouts.cli.common import json_text, project_of, say
from handouts.errors import Exit, UsageError

if TYPE_CHECKING:
    from handouts.packet.appointments import Row
    from handouts.register.record import Register

REGISTER_HELP = """\b
Exit codes:
  0  done (an unknown patient reference is an empty list)
  1  verify: a row was changed, removed or inserted
  2  bad input, or the register cannot be read (locked, newer schema, server)
"""


def _open(ctx: click.Context) -> Register:
    from handouts.register.record import open_register

    register = open_register(project_of(ctx).root)
    if register is None:
        raise UsageError("the register is off in handouts.yaml (register: off)", code="off")
    return register


def _filters(patient_ref: str | None, patient: str | None, dob: str | None, since: str | None,
             until: str | None, document: str | None) -> dict[str, Any]:  # fmt: skip
    from handouts.dates import parse_date
    from handouts.packet.request import check_patient_ref

    if bool(patient) != bool(dob):
        raise UsageError(
            "{field} and {dob} go together (the register keeps a keyed hash of both)",
            field="patient",
            code="pair",
        )
    born = parse_date("dob", dob)
    return {
        "patient_ref": check_patient_ref(patient_ref),
        "patient": (patient, born) if patient and born else None,
        "since": parse_date("since", since),
        "until": parse_date("until", until),
        "document": document,
    }


def _filter_options(func: Any) -> Any:
    for option in reversed(
        [
            click.option("--patient-ref", help="Only this chart number."),
            click.option("--patient", help="Only this patient (with --dob): found by keyed hash."),
            click.option("--dob", help="Date of birth, YYYY-MM-DD, with --patient."),
            click.option("--since", help="From this day (YYYY-MM-DD, UTC)."),
            click.option("--until", help="Up to and including this day (YYYY-MM-DD, UTC)."),
            click.option("--document", help="Only rows about this document id."),
        ]
    ):
        func = option(func)
    return func


@click.group("register", epilog=REGISTER_HELP)
def register() -> None:
    """The consent register: what was issued to whom, what came back, who must consent again."""


@register.command("list", epilog=REGISTER_HELP)
@_filter_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def list_cmd(ctx: click.Context, /, as_json: bool, **filters: Any) -> None:
    """List the register's entries (oldest first), filtered."""
    from handouts.register.query import list_entries

    reg = _open(ctx)
    found = list_entries(reg, **_filters(**filters))
    if as_json:
        click.echo(json_text({"format": 1, "entries": [e.to_json() for e in found]}))
        return
    for e in found:
        what = f"{e.document} v{e.version}" if e.document else ""
        detail = (e.variant if e.kind == "packet" else e.status) or ""
        if e.kind == "prune" and e.detail:
            detail = f"removed {len(json.loads(e.detail)['removed'])} rows past retention"
        if e.kind == "return" and e.flagged:
            detail += f" ({e.flagged})"
        say(
            f"{e.seq:>6}  {e.at[:19]}Z  {e.kind:<7}  {e.packet_id or '-':<10}  "
            f"{e.patient_ref or '-':<12}  {what:<28}  {detail}  {e.actor}"
        )
    click.echo(f"{len(found)} entr{'y' if len(found) == 1 else 'ies'}", err=True)


@register.command("export", epilog=REGISTER_HELP)
@click.option(
    "--csv", "csv_path", required=True, type=click.Path(dir_okay=False, path_type=Path), help="File to write."
)
@_filter_options
@click.pass_context
def export_cmd(ctx: click.Context, /, csv_path: Path, **filters: Any) -> None:
    """Write the (filtered) entries as CSV; cells a spreadsheet would run as formulas are quoted."""
    from handouts.atomic import atomic_write
    from handouts.register.query import export_csv, list_entries

    reg = _open(ctx)
    found = list_entries(reg, **_filters(**filters))
    atomic_write(csv_path, export_csv(found), 0o600)
    click.echo(f"wrote {csv_path} ({len(found)} rows)", err=True)


@register.command("reconsent", epilog=REGISTER_HELP)
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Only the patients of these appointments (the CSV's patient_ref column).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def reconsent_cmd(ctx: click.Context, csv_path: Path | None, as_json: bool) -> None:
    """Patients whose latest signed consent is of an older version than today's, or who have none."""
    from handouts.content.catalogue import load_catalogue
    from handouts.packet.appointments import read_appointments
    from handouts.register.query import reconsent

    reg = _open(ctx)
    cat = load_catalogue(project_of(ctx))
    lang = cat.config.default_language
    current = {
        d: cat.document(d, lang).model.version
        for d in cat.document_ids
        if cat.document(d, lang).model.kind == "consent"
    }
    refs = None
    if csv_path is not None:
        appointments = read_appointments(csv_path)
        refs = [ref for row in appointments.rows if (ref := _chart_number(csv_path, row))]
    found = reconsent(reg, current, refs)
    if as_json:
        click.echo(json_text({"format": 1, "current": current, "patients": [r.to_json() for r in found]}))
        return
    for r in found:
        last = (
            f"last signed v{r.latest_version} ({r.latest_at[:10]})"
            if r.latest_version and r.latest_at
            else "none signed"
        )
        say(f"{r.patient_ref}  {r.document}  {last}, current v{r.current_version}")
    click.echo(f"{len(found)} to consent again", err=True)


def _chart_number(csv_path: Path, row: Row) -> str | None:
    """A row's chart number; a bad one is refused naming the file, the line and the column."""
    from handouts.packet.request import check_patient_ref

    try:
        return check_patient_ref(row.get("patient_ref"))
    except UsageError as exc:
        raise UsageError(
            "{path}:{line}: {problem}", code=exc.code, path=csv_path, line=row.line, problem=exc.worded()
        ) from None


@register.command("verify", epilog=REGISTER_HELP)
@click.pass_context
def verify_cmd(ctx: click.Context) -> None:
    """Check the hash chain: exit 1 naming the first row changed, removed or inserted."""
    from handouts.register.query import verify

    reg = _open(ctx)
    verdict = verify(reg)
    if not verdict.ok:
        say(f"{reg.label}: {verdict.problem}", err=True)
        ctx.exit(Exit.FINDINGS)
    click.echo(
        f"{reg.label}: the chain holds ({verdict.rows} rows; head {verdict.head_seq} {verdict.head_hash})"
    )


@register.command("prune", epilog=REGISTER_HELP)
@click.option("--dry-run", is_flag=True, help="List what is past the retention period; delete nothing.")
@click.option("--yes", is_flag=True, help="Delete it (after checking the list with --dry-run).")
@click.pass_context
def prune_cmd(ctx: click.Context, dry_run: bool, yes: bool) -> None:
    """What is past the retention period (register.retention_years after a patient's last entry)."""
    from handouts.register.query import expired, prune

    reg = _open(ctx)
    if not dry_run and not yes:
        raise UsageError(
            "register prune deletes entries: list them first with {field}, then add {yes}",
            field="dry_run",
            code="confirm",
        )
    if dry_run:
        found = expired(reg)
    else:
        result = prune(reg)
        found = result.groups
    for e in found:
        who = e.patient_ref or f"packet {e.packet_id}"
        say(f"{who}  last entry {e.last_at[:10]}, kept until {e.keep_until}, {e.rows} rows")
    if dry_run:
        click.echo(f"{len(found)} past retention ({reg.settings.retention_years} years)", err=True)
    elif result.seq is None:
        click.echo(f"nothing past retention ({reg.settings.retention_years} years)", err=True)
    else:
        click.echo(f"deleted {result.rows} rows of {len(found)}; recorded as row {result.seq}", err=True)
