"""Render one document for one brand and language, outside the catalogue build."""

from __future__ import annotations

from handouts.content import Project, load_catalogue
from handouts.errors import UsageError
from handouts.outputs import VARIANTS, OutputSpec


def render_one(
    project: Project,
    doc_id: str,
    brand: str | None,
    lang: str | None,
    variant: str,
    as_html: bool,
) -> bytes:
    """Return the PDF (or the HTML WeasyPrint would receive) of one output."""
    from handouts.build import render_output
    from handouts.render import render_html

    cat = load_catalogue(project)
    brand = brand or sorted(cat.brands)[0]
    lang = lang or cat.config.default_language
    if brand not in cat.brands:
        raise UsageError(f"unknown brand '{brand}'; choose from: {', '.join(sorted(cat.brands))}")
    if lang not in cat.languages:
        raise UsageError(f"unknown language '{lang}'; choose from: {', '.join(cat.languages)}")
    if doc_id not in cat.document_ids:
        raise UsageError(f"unknown document '{doc_id}'; choose from: {', '.join(cat.document_ids)}")
    kind = cat.document(doc_id, lang).model.kind
    if variant not in VARIANTS[kind]:
        raise UsageError(f"'{doc_id}' has no {variant} variant")
    spec = OutputSpec(brand, lang, doc_id, variant)
    if as_html:
        return render_html(cat, spec).encode("utf-8")
    outcome = render_output(project.root, spec)
    if isinstance(outcome, Exception):
        raise outcome
    return outcome.pdf
