"""Render one output to PDF bytes, in this process or a build worker; and `handouts render`'s one document."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from handouts.content.catalogue import Catalogue, load_catalogue
from handouts.errors import HandoutsError, UsageError
from handouts.project import Project
from handouts.render.html import Provenance
from handouts.render.outputs import VARIANTS, OutputSpec

if TYPE_CHECKING:
    from handouts.render.formmap import FormMap

# Printed consent variants carry scan marks; the fillable ones only have their map recorded
# (a print packet uses the printed variant and stamps its own marks: see packet/assemble).
SCAN_STAMPED = ("print", "large-print")


@dataclass(frozen=True)
class Rendered:
    pdf: bytes
    pages: int
    provenance: Provenance
    # A consent output's recorded geometry (see render/formmap.py); None for other outputs.
    form_map: FormMap | None = None


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
        consent = not spec.is_stamp and cat.document(spec.doc_id, spec.lang).model.kind == "consent"
        laid_out: list[list[Any]] = []
        with reproducible_epoch(prov.effective):
            raw, pages = html_to_pdf(
                html,
                base_url=cat.project.templates,
                serve=cat.layers.serve,
                identifier=prov.fingerprint[:32].encode(),
                forms=spec.has_form,
                tags=True,  # the stamp too: every file in out/ is PDF/UA (it costs nothing)
                on_layout=laid_out.append if consent else None,
            )
        if spec.is_stamp:
            from handouts.render.fonts import field_font_ranges
            from handouts.render.stampfont import add_brand_font

            # The brand's face beside the field font: packets set the line in it when they can.
            raw = add_brand_font(raw, cat.brands[spec.brand].model.font, field_font_ranges(cat.layers))
        if not consent:
            return Rendered(raw, pages, prov)
        form_map = _form_map(cat, spec, prov, laid_out[0])
        if spec.variant in SCAN_STAMPED:
            from handouts.render.formmap import stamped

            raw = stamped(raw, form_map)
        return Rendered(raw, pages, prov, form_map)
    except HandoutsError as exc:
        return exc


def _form_map(cat: Catalogue, spec: OutputSpec, prov: Provenance, pages: list[Any]) -> FormMap:
    """Record where a consent output's boxes and lines sit (see render/formmap.py)."""
    from handouts.render.formmap import FormMap, record

    items = cat.contraindications[spec.lang].model.items if spec.lang in cat.contraindications else ()
    checklist = tuple(c.id for c in items)
    return FormMap(spec.doc_id, prov.version, prov.effective.isoformat(), prov.fingerprint, spec.lang,
                   spec.brand, spec.variant, checklist, tuple(record(pages, checklist)))  # fmt: skip


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
