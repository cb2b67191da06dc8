"""The editors' preview: the catalogue, any document as HTML or PDF, reloaded on every edit.

A watcher thread (watch.py) counts changes to the project's files and its layers'; each preview page
polls /preview/version and reloads when the count moves. Problems are shown with file and line
instead of a blank page. WeasyPrint is imported only when a PDF is asked for.
"""

from __future__ import annotations

import io

from flask import Blueprint, Response, abort, jsonify, render_template, request, send_file
from flask.typing import ResponseReturnValue

from handouts.content.catalogue import Catalogue, load_catalogue
from handouts.errors import HandoutsError, Problem
from handouts.layers import peeked, read
from handouts.render.outputs import VARIANTS, OutputSpec
from handouts.web.state import state

bp = Blueprint("preview", __name__, url_prefix="/preview")

# Files a rendered document may load from the project (stylesheets, fonts, logos).
ASSET_SUFFIXES = (".css", ".svg", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".ttf", ".otf", ".woff", ".woff2")
DOC_CSP = (
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
    "form-action 'none'; frame-ancestors 'self'; base-uri 'none'"
)


def _load() -> tuple[Catalogue | None, list[Problem], list[Problem]]:
    """The catalogue (documents with problems left out), its problems and its warnings."""
    from handouts.render.html import check_templates

    project = state().project
    try:
        cat = load_catalogue(project, strict=False)
    except HandoutsError as exc:
        problems = getattr(exc, "problems", None) or [Problem("content", None, str(exc))]
        return None, list(problems), []
    problems = list(cat.errors) + check_templates(cat.layers, {d.model.kind for d in cat.documents.values()})
    return cat, problems, list(cat.warnings)


def _version() -> str:
    watcher = state().watcher
    return watcher.version if watcher else "static"


@bp.get("/")
def catalogue() -> ResponseReturnValue:
    cat, problems, warnings = _load()
    brand = lang = ""
    rows: list[dict[str, object]] = []
    if cat is not None:
        brands = sorted(cat.brands)
        brand = request.args.get("brand", "")
        brand = brand if brand in cat.brands else (cat.default_brand or (brands[0] if brands else ""))
        lang = request.args.get("lang", "")
        lang = lang if lang in cat.languages else cat.config.default_language
        for doc_id in cat.document_ids:
            doc = cat.document(doc_id, lang).model
            rows.append({"id": doc_id, "doc": doc, "variants": VARIANTS[doc.kind]})
    return render_template(
        "preview_list.html",
        cat=cat,
        brand=brand,
        lang=lang,
        rows=rows,
        problems=problems,
        warnings=warnings,
        version=_version(),
    )


def _spec(
    cat: Catalogue | None, problems: list[Problem], brand: str, lang: str, doc_id: str, variant: str
) -> OutputSpec | None:
    """The output asked for, or None when it does not exist or cannot render."""
    # A broken template breaks every document using it: show its file and line, render nothing.
    if any(p.file.startswith("templates/") for p in problems):
        return None
    if cat is None or brand not in cat.brands or lang not in cat.languages or doc_id not in cat.document_ids:
        return None
    if variant not in VARIANTS[cat.document(doc_id, lang).model.kind]:
        return None
    return OutputSpec(brand, lang, doc_id, variant)


def _render_html(cat: Catalogue, spec: OutputSpec) -> str:
    """The document's HTML, its file:// links turned into links to this server."""
    from handouts.render.html import render_html

    html = render_html(cat, spec)  # template errors arrive as RenderError with file and line
    # Each layer's folder becomes its area: /preview/file/templates/... is then served by
    # whichever layer serves that project path, as WeasyPrint's fetcher does.
    for layer in sorted(cat.layers.stack, key=lambda layer: -len(str(layer.root.resolve()))):
        root_uri = layer.root.resolve().as_uri() + "/"
        html = html.replace(root_uri, f"{request.script_root}/preview/file/{layer.area}/")
    return html


@bp.get("/doc/<brand>/<lang>/<doc_id>/<variant>")
def document(brand: str, lang: str, doc_id: str, variant: str) -> ResponseReturnValue:
    """A page around one document: the HTML or the PDF, or the problems that stop it."""
    view = "pdf" if request.args.get("view") == "pdf" else "html"
    cat, problems, warnings = _load()
    spec = _spec(cat, problems, brand, lang, doc_id, variant)
    render_errors: list[str] = []
    if cat is not None and spec is not None:
        try:
            _render_html(cat, spec)
        except HandoutsError as exc:
            render_errors = exc.lines()
    # Problems elsewhere in the catalogue are listed, but do not stop this document showing.
    blocking = spec is None or bool(render_errors)
    errors = render_errors + [str(p) for p in problems]
    if spec is None and not errors:
        errors = [f"There is no document '{doc_id}' in {variant} for brand '{brand}' and language '{lang}'."]
    title = cat.document(doc_id, lang).model.title if cat is not None and spec is not None else doc_id
    return render_template(
        "preview_doc.html",
        brand=brand,
        lang=lang,
        doc_id=doc_id,
        variant=variant,
        view=view,
        title=title,
        errors=errors,
        blocking=blocking,
        warnings=[str(w) for w in warnings],
        version=_version(),
    ), (200 if not blocking else 422)


def _problem_page(lines: list[str], status: int) -> ResponseReturnValue:
    response = Response(render_template("preview_problem.html", errors=lines), status=status)
    response.headers["Content-Security-Policy"] = DOC_CSP
    return response


@bp.get("/html/<brand>/<lang>/<doc_id>/<variant>")
def html(brand: str, lang: str, doc_id: str, variant: str) -> ResponseReturnValue:
    """The document's HTML as WeasyPrint receives it (links rewritten to this server)."""
    cat, problems, _ = _load()
    spec = _spec(cat, problems, brand, lang, doc_id, variant)
    if cat is None or spec is None:
        return _problem_page([str(p) for p in problems] or ["No such document."], 404)
    try:
        text = _render_html(cat, spec)
    except HandoutsError as exc:
        return _problem_page(exc.lines(), 422)
    response = Response(text, mimetype="text/html")
    response.headers["Content-Security-Policy"] = DOC_CSP
    return response


@bp.get("/pdf/<brand>/<lang>/<doc_id>/<variant>")
def pdf(brand: str, lang: str, doc_id: str, variant: str) -> ResponseReturnValue:
    """The document as the build renders it (nothing is written to out/)."""
    from handouts.render.output import forget_catalogue, render_output

    cat, problems, _ = _load()
    spec = _spec(cat, problems, brand, lang, doc_id, variant)
    if cat is None or spec is None:
        return _problem_page([str(p) for p in problems] or ["No such document."], 404)
    web = state()
    with web.lock:
        forget_catalogue(web.project.root)
        outcome = render_output(web.project.root, spec)
    if isinstance(outcome, HandoutsError):
        return _problem_page(outcome.lines(), 422)
    response = Response(outcome.pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{doc_id}-{variant}.pdf"'
    return response


@bp.get("/file/<path:rel>")
def file(rel: str) -> ResponseReturnValue:
    """A stylesheet, font or image: the file that serves its project path (project, theme, package)."""
    if not rel.lower().endswith(ASSET_SUFFIXES) or "\0" in rel:
        abort(404)
    try:
        source = peeked(state().project).find(rel)
    except (ValueError, HandoutsError):  # not a project path (.., another folder), or no theme
        abort(404)
    if source is None:
        abort(404)
    try:  # the layers' one bounded, confined read, as the build's renderer gets it
        data = read(source)
    except HandoutsError:
        abort(404)
    return send_file(io.BytesIO(data), download_name=source.path.name)


@bp.get("/version")
def version() -> ResponseReturnValue:
    return jsonify(version=_version())
