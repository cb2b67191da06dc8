"""`handouts lint`: the plain-language gate (readability and jargon of every section)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from handouts.cli.common import json_text, project_of, quiet, say, split_list
from handouts.errors import Exit

if TYPE_CHECKING:
    from handouts.lint.gate import LintReport

LINT_HELP = """\b
English sections are scored with the Flesch-Kincaid grade (8 or below passes),
French ones with the Kandel-Moles reading ease (60 or above passes); sections
under 10 words are scored but not judged. Jargon
comes from content/jargon/<lang>.yaml; a term is allowed in a section that
also holds one of its explained_by phrases. Each document is checked for the
PEMAT-P items a program can check: 4 medical terms explained (the jargon
rule), 9 informative headings, 11 a summary or key points, 20 an action named
(aftercare), 21 the reader addressed as "you".

\b
Exit codes:
  0  no problem, or warnings without --strict
  1  --strict: a section is too hard to read or uses jargon, or a PEMAT-P item is missed
  2  bad input: content, a jargon list, or command-line values
"""


@click.command("lint", epilog=LINT_HELP)
@click.option(
    "--strict",
    is_flag=True,
    help="Exit 1 if any section is too hard or uses jargon, or a PEMAT-P item is missed.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (see README).")
@click.option("--lang", help="Only these languages (comma-separated codes).")
@click.option("--only", "only", help="Only these documents (comma-separated ids; 'contraindications' too).")
@click.pass_context
def lint(ctx: click.Context, strict: bool, as_json: bool, lang: str | None, only: str | None) -> None:
    """Check that every section reads at grade 8 or below and uses no jargon."""
    from handouts.lint.gate import lint as run_lint

    report = run_lint(project_of(ctx), split_list(lang), split_list(only))
    for note in report.notes:
        say(f"note: {note}", err=True)
    if as_json:
        click.echo(json_text(report.to_json(strict)))
    else:
        say(_text_report(report, quiet=quiet(ctx)))
    ctx.exit(Exit.FINDINGS if strict and not report.ok else Exit.OK)


def _text_report(report: LintReport, quiet: bool) -> list[str]:
    from handouts.lint.gate import MIN_WORDS

    lines: list[str] = []
    for document, lang in report.documents:
        sections = [s for s in report.sections if (s.document, s.lang) == (document, lang)]
        formula = sections[0].formula
        if quiet and all(s.ok for s in sections) and not report.pemat_of(document, lang):
            continue
        title = f"{formula.name}, {formula.rule}" if formula else "no readability formula"
        lines.append(f"{document} ({lang}) {sections[0].file}: {title}")
        lines.append(
            f"    {'ease' if formula and formula.higher_is_easier else 'grade':>5}   avg  longest  section"
        )
        for s in sections:
            if quiet and s.ok:
                continue
            score = "-" if s.score is None else f"{s.score:.1f}"
            mark = "!" if not s.ok else " "
            avg = s.stats.words_per_sentence
            short = "" if s.judged or s.score is None else f"  (under {MIN_WORDS} words: not judged)"
            lines.append(
                f"  {mark} {score:>5}  {avg:4.1f}  {s.stats.longest_sentence:7d}  {s.section}{short}"
            )
            if s.too_hard and formula is not None:
                lines.append(
                    f"      {s.file}:{s.line}: too hard to read ({formula.name} {s.score:.1f}; "
                    f'{formula.rule}); longest sentence: "{_clip(s.stats.longest_text)}"'
                )
            for j in s.jargon:
                lines.append(f"      {s.file}:{j.line}: jargon '{j.found}': say '{j.plain}' instead")
        if (document, lang) in report.pemat_checked:
            lines += _pemat_lines(report, document, lang)
    pemat = len(report.pemat)
    documents = len({d for d, _ in report.documents})
    langs = ", ".join(sorted({lg for _, lg in report.documents}))
    lines.append(
        f"{len(report.sections)} sections in {documents} document{'s' if documents != 1 else ''} ({langs}): "
        f"{len(report.too_hard)} too hard to read, {report.jargon_count} jargon "
        f"term{'s' if report.jargon_count != 1 else ''}, {pemat} PEMAT-P finding{'s' if pemat != 1 else ''}"
    )
    return lines


def _pemat_lines(report: LintReport, document: str, lang: str) -> list[str]:
    """One line naming each PEMAT-P item checked (ok or '!'), then each finding."""
    from handouts.lint.pemat import ITEMS

    found = report.pemat_of(document, lang)
    missed = {f.item for f in found}
    checked = report.pemat_checked.get((document, lang), ())
    marks = " · ".join(f"{'!' if item in missed else 'ok'} {item} {ITEMS[item]}" for item in checked)
    lines = [f"    PEMAT-P: {marks}"]
    for f in found:
        where = f"{f.file}:{f.line}" if f.line else f.file
        lines.append(f"      {where}: PEMAT-P {f.item} ({f.title}): {f.message}")
    return lines


def _clip(text: str, width: int = 90) -> str:
    return text if len(text) <= width else text[: width - 3].rstrip() + "..."
