"""Render one output to PDF bytes, in this process or a build worker; and `handouts render`'s one document."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from handouts.content.catalogue import Catalogue, load_catalogue
from handouts.errors import HandoutsError, UsageError
from handouts.project import Project
from handouts.render.html import Provenance
from handouts.render.outputs import VARIANTS, OutputSpec


@dataclass(frozen=True)
class Rendered:
    pdf: bytes
    pages: int
    provenance: Provenance


# A build worker renders many outputs of one project: it loads the catalogue once.
_worker_catalogues: dict[Path, Catalogue] = {}


def _worker_catalogue(root: Path) -> Catalogue:
    cat = _worker_catalogues.get(root)
    if cat is None:
        cat = _worker_catalogues[root] = load_catalogue(Project(root), strict=False)
    return cat


def forget_catalogue(root: Path) -> None:
    """Drop this process's cached catalogue of root: a long-lived process (serve) must see edits."""
    _worker_catalogues.pop(root, None)


def render_output(root: Path, spec: OutputSpec) -> Rendered | HandoutsError:
    """Render one output to PDF bytes; errors are returned, not raised, to keep others going."""
    from handouts.render.html import provenance, render_html
    from handouts.render.pdf import html_to_pdf, reproducible_epoch

    try:
        cat = _worker_catalogue(root)
        prov = provenance(cat, spec)
        html = render_html(cat, spec)
        with reproducible_epoch(prov.effective):
            raw, pages = html_to_pdf(
                html,
                base_url=cat.project.templates,
                serve=cat.layers.serve,
                identifier=prov.fingerprint[:32].encode(),
                forms=spec.has_form,
                tags=True,  # the stamp too: every file in out/ is PDF/UA (it costs nothing)
            )
        if spec.is_stamp:
            from handouts.render.fonts import field_font_ranges
            from handouts.render.stampfont import add_brand_font

            # The brand's face beside the field font: packets set the line in it when they can.
            raw = add_brand_font(raw, cat.brands[spec.brand].model.font, field_font_ranges(cat.layers))
        return Rendered(raw, pages, prov)
    except HandoutsError as exc:
        return exc


def render_one(
    project: Project,
    doc_id: str,
    brand: str | None,
    lang: str | None,
    variant: str,
    as_html: bool,
) -> bytes:
    """Return the PDF (or the HTML WeasyPrint would receive) of one output, outside the build."""
    from handouts.render.html import render_html

    cat = load_catalogue(project)
    brand = cat.pick_brand(brand)
    lang = cat.pick("language", lang or cat.default_language)
    doc_id = cat.pick("document", doc_id)
    if variant not in VARIANTS[cat.kind(doc_id, lang)]:
        raise UsageError(f"'{doc_id}' has no {variant} variant")
    spec = OutputSpec(brand, lang, doc_id, variant)
    if as_html:
        return render_html(cat, spec).encode("utf-8")
    outcome = render_output(project.root, spec)
    if isinstance(outcome, Exception):
        raise outcome
    return outcome.pdf
