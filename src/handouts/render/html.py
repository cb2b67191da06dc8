"""Turn one output's content into the exact HTML WeasyPrint receives: the only Jinja user."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta
from jinja2.sandbox import SandboxedEnvironment

from handouts import __version__
from handouts.content.catalogue import Catalogue
from handouts.errors import Problem, RenderError
from handouts.layers import Layers, Source, hash_source
from handouts.project import Project
from handouts.render.loader import LayeredLoader
from handouts.render.outputs import OutputSpec

TEMPLATE_SUFFIX = ".html.j2"
STAMP_TEMPLATE = "stamp.html.j2"
LARGE_PRINT_CSS = "large-print.css"


@dataclass(frozen=True)
class Provenance:
    """What a printed or signed copy proves: which wording it was built from."""

    doc_id: str
    version: str
    effective: dt.date
    fingerprint: str

    @property
    def short(self) -> str:
        return self.fingerprint[:7]


def environment(layers: Layers) -> SandboxedEnvironment:
    """Return the sandboxed, autoescaping, strict Jinja environment for a project's layers."""
    return _environment(layers)


@cache
def _environment(layers: Layers) -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=LayeredLoader(layers),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def template_name(kind: str) -> str:
    return f"{kind}{TEMPLATE_SUFFIX}"


def template_chain(layers: Layers, name: str) -> list[Source]:
    """Return the template and every template it extends, includes or imports (the files serving them)."""
    try:
        return _template_chain(layers, name)
    except jinja2.TemplateError as exc:
        raise RenderError(str(_jinja_problem(layers.project, name, exc))) from exc


def _template_chain(layers: Layers, name: str) -> list[Source]:
    # Keyed on which file serves each template and its mtime, so a long-running preview sees
    # edits and new overrides.
    stamp = tuple(
        (s.rel, str(s.path), s.path.stat().st_mtime_ns) for s in layers.listing("templates", "**/*.j2")
    )
    found = []
    for ref in _chain(layers, name, stamp):
        source = layers.find(f"templates/{ref}")
        if source is None:  # removed since the chain was read
            raise jinja2.TemplateNotFound(ref)
        found.append(source)
    return found


def _jinja_problem(project: Project, name: str, exc: jinja2.TemplateError) -> Problem:
    if isinstance(exc, jinja2.TemplateSyntaxError):
        rel = project.rel(Path(exc.filename)) if exc.filename else f"templates/{name}"
        return Problem(rel, exc.lineno, f"template error: {exc.message}")
    if isinstance(exc, jinja2.TemplateNotFound):
        return Problem(f"templates/{exc.name}", None, "template not found")
    return Problem(f"templates/{name}", None, f"template error: {exc}")


@lru_cache(maxsize=64)
def _chain(layers: Layers, name: str, stamp: tuple[tuple[str, str, int], ...]) -> tuple[str, ...]:
    env = _environment(layers)
    seen: list[str] = []
    todo = [name]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.append(current)
        source, filename, _ = env.loader.get_source(env, current)  # type: ignore[union-attr]
        ast = env.parse(source, current, filename)
        todo.extend(ref for ref in meta.find_referenced_templates(ast) if ref)
    return tuple(sorted(seen))


def stylesheets(layers: Layers, large: bool | None = None) -> list[Source]:
    """The CSS files of an output (large=None: every stylesheet)."""
    sheets = layers.listing("templates/styles", "*.css")
    if large is None:
        return sheets
    return [s for s in sheets if large or s.path.name != LARGE_PRINT_CSS]


def content_inputs(cat: Catalogue, spec: OutputSpec) -> list[Source]:
    """Files whose text decides the wording of an output (for its provenance fingerprint)."""
    files = [cat.messages[spec.lang].source]
    if spec.is_stamp:
        return files + template_chain(cat.layers, STAMP_TEMPLATE)
    doc = cat.document(spec.doc_id, spec.lang)
    files.insert(0, doc.source)
    if spec.lang in cat.contraindications:
        files.append(cat.contraindications[spec.lang].source)
    files += template_chain(cat.layers, template_name(doc.model.kind))
    return files


def fingerprint(files: list[Source]) -> str:
    """Hash of the files' project paths and bytes.

    The project path, not the layer: a file that moves between layers with the same bytes
    (an override identical to the package's file) changes no output, so it changes no
    fingerprint either; any difference in bytes does.
    """
    digest = hashlib.sha256()
    for source in files:
        digest.update(source.rel.encode() + b"\0")
        hash_source(digest, source)  # in chunks, through the same fence as every read
        digest.update(b"\0")
    return digest.hexdigest()


def provenance(cat: Catalogue, spec: OutputSpec) -> Provenance:
    fp = fingerprint(content_inputs(cat, spec))
    if spec.is_stamp:
        return Provenance(spec.doc_id, "1.0", dt.date(2026, 1, 1), fp)
    doc = cat.document(spec.doc_id, spec.lang).model
    return Provenance(doc.id, doc.version, doc.effective, fp)


def render_html(cat: Catalogue, spec: OutputSpec) -> str:
    """Render the HTML for one output; raise RenderError naming the template line."""
    brand_loaded = cat.brands[spec.brand]
    brand = brand_loaded.model
    context: dict[str, Any] = {
        "brand": brand,
        "brand_id": spec.brand,
        "lang": spec.lang,
        "content_lang": spec.lang,
        "t": cat.messages[spec.lang].model,
        "variant": spec.variant,
        "fillable": spec.fillable,
        "large_print": spec.large,
        "generator": f"handouts {__version__}",
        # Where each stylesheet is in its layer, links inside the project not followed: its
        # relative url(../fonts/F.ttf) then names the project path templates/fonts/F.ttf.
        "stylesheets": [Path(os.path.abspath(s.path)).as_uri() for s in stylesheets(cat.layers, spec.large)],
        "logo_url": (brand_loaded.file.path.parent / brand.logo).resolve().as_uri() if brand.logo else None,
    }
    if spec.is_stamp:
        return _render(cat.layers, STAMP_TEMPLATE, context)
    doc = cat.document(spec.doc_id, spec.lang).model
    items = cat.contraindications[spec.lang].model.items if spec.lang in cat.contraindications else ()
    context.update(doc=doc, contraindications=items, provenance=provenance(cat, spec))
    if (spec.doc_id, spec.lang) not in cat.documents:
        # Untranslated: the text is the default language's, and the PDF's /Lang says so (a
        # screen reader picks its voice by it); only the fixed strings are in spec.lang.
        context["content_lang"] = cat.config.default_language
    return _render(cat.layers, template_name(doc.kind), context)


def _render(layers: Layers, name: str, context: dict[str, Any]) -> str:
    project = layers.project
    try:
        return environment(layers).get_template(name).render(context)
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(_template_problem(project, exc.filename, exc.lineno, exc.message)) from exc
    except jinja2.TemplateError as exc:
        file, line = _template_frame(exc)
        raise RenderError(_template_problem(project, file, line, str(exc))) from exc


def check_templates(layers: Layers, kinds: set[str]) -> list[Problem]:
    """Compile every template a kind needs, without rendering; return problems."""
    problems = []
    env = environment(layers)
    for name in [template_name(kind) for kind in sorted(kinds)] + [STAMP_TEMPLATE]:
        try:
            _template_chain(layers, name)
            env.get_template(name)
        except jinja2.TemplateError as exc:
            problems.append(_jinja_problem(layers.project, name, exc))
    return problems


def _template_problem(project: Project, file: str | None, line: int | None, msg: str | None) -> str:
    where = project.rel(Path(file)) if file else "templates"
    return str(Problem(where, line, f"template error: {msg}"))


def _template_frame(exc: BaseException) -> tuple[str | None, int | None]:
    """Find the innermost traceback frame that ran a template (whichever layer its file is in)."""
    tb = exc.__traceback__
    found: tuple[str | None, int | None] = (None, None)
    while tb is not None:
        template = tb.tb_frame.f_globals.get("__jinja_template__")
        if template is not None:
            found = (tb.tb_frame.f_code.co_filename, template.get_corresponding_lineno(tb.tb_lineno))
        tb = tb.tb_next
    return found
