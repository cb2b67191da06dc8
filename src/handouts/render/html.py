"""Turn one output's content into the exact HTML WeasyPrint receives: the only Jinja user."""

from __future__ import annotations

import datetime as dt
import hashlib
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
from handouts.project import Project
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


def environment(project: Project) -> SandboxedEnvironment:
    """Return the sandboxed, autoescaping, strict Jinja environment for a project."""
    return _environment(project.templates)


@cache
def _environment(templates: Path) -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(templates),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def template_name(kind: str) -> str:
    return f"{kind}{TEMPLATE_SUFFIX}"


def template_chain(project: Project, name: str) -> list[Path]:
    """Return the template and every template it extends, includes or imports."""
    try:
        return _template_chain(project, name)
    except jinja2.TemplateError as exc:
        raise RenderError(str(_jinja_problem(project, name, exc))) from exc


def _template_chain(project: Project, name: str) -> list[Path]:
    folder = project.templates
    # Keyed on every template's mtime, so a long-running preview sees edits.
    stamp = tuple(
        sorted((p.relative_to(folder).as_posix(), p.stat().st_mtime_ns) for p in folder.rglob("*.j2"))
    )
    return [folder / n for n in _chain(folder, name, stamp)]


def _jinja_problem(project: Project, name: str, exc: jinja2.TemplateError) -> Problem:
    if isinstance(exc, jinja2.TemplateSyntaxError):
        rel = project.rel(Path(exc.filename)) if exc.filename else f"templates/{name}"
        return Problem(rel, exc.lineno, f"template error: {exc.message}")
    if isinstance(exc, jinja2.TemplateNotFound):
        return Problem(f"templates/{exc.name}", None, "template not found")
    return Problem(f"templates/{name}", None, f"template error: {exc}")


@lru_cache(maxsize=64)
def _chain(folder: Path, name: str, stamp: tuple[tuple[str, int], ...]) -> tuple[str, ...]:
    env = _environment(folder)
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


def stylesheets(project: Project, large: bool | None = None) -> list[Path]:
    """The CSS files of an output (large=None: every stylesheet, for fingerprints)."""
    sheets = sorted((project.templates / "styles").glob("*.css"))
    if large is None:
        return sheets
    return [p for p in sheets if large or p.name != LARGE_PRINT_CSS]


def content_inputs(cat: Catalogue, spec: OutputSpec) -> list[Path]:
    """Files whose text decides the wording of an output (for its provenance fingerprint)."""
    files = [cat.messages[spec.lang].file.path]
    if spec.is_stamp:
        return files + template_chain(cat.project, STAMP_TEMPLATE)
    doc = cat.document(spec.doc_id, spec.lang)
    files.insert(0, doc.file.path)
    if spec.lang in cat.contraindications:
        files.append(cat.contraindications[spec.lang].file.path)
    files += template_chain(cat.project, template_name(doc.model.kind))
    return files


def fingerprint(project: Project, files: list[Path]) -> str:
    """Hash of the files' project-relative names and bytes."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(project.rel(path).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def provenance(cat: Catalogue, spec: OutputSpec) -> Provenance:
    fp = fingerprint(cat.project, content_inputs(cat, spec))
    if spec.is_stamp:
        return Provenance(spec.doc_id, "1.0", dt.date(2026, 1, 1), fp)
    doc = cat.document(spec.doc_id, spec.lang).model
    return Provenance(doc.id, doc.version, doc.effective, fp)


def render_html(cat: Catalogue, spec: OutputSpec) -> str:
    """Render the HTML for one output; raise RenderError naming the template line."""
    project = cat.project
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
        "stylesheets": [p.resolve().as_uri() for p in stylesheets(project, spec.large)],
        "logo_url": (brand_loaded.file.path.parent / brand.logo).resolve().as_uri() if brand.logo else None,
    }
    if spec.is_stamp:
        return _render(project, STAMP_TEMPLATE, context)
    doc = cat.document(spec.doc_id, spec.lang).model
    items = cat.contraindications[spec.lang].model.items if spec.lang in cat.contraindications else ()
    context.update(doc=doc, contraindications=items, provenance=provenance(cat, spec))
    if (spec.doc_id, spec.lang) not in cat.documents:
        # Untranslated: the text is the default language's, and the PDF's /Lang says so (a
        # screen reader picks its voice by it); only the fixed strings are in spec.lang.
        context["content_lang"] = cat.config.default_language
    return _render(project, template_name(doc.kind), context)


def _render(project: Project, name: str, context: dict[str, Any]) -> str:
    try:
        return environment(project).get_template(name).render(context)
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(_template_problem(project, exc.filename, exc.lineno, exc.message)) from exc
    except jinja2.TemplateError as exc:
        file, line = _template_frame(project, exc)
        raise RenderError(_template_problem(project, file, line, str(exc))) from exc


def check_templates(project: Project, kinds: set[str]) -> list[Problem]:
    """Compile every template a kind needs, without rendering; return problems."""
    problems = []
    env = environment(project)
    for name in [template_name(kind) for kind in sorted(kinds)] + [STAMP_TEMPLATE]:
        try:
            _template_chain(project, name)
            env.get_template(name)
        except jinja2.TemplateError as exc:
            problems.append(_jinja_problem(project, name, exc))
    return problems


def _template_problem(project: Project, file: str | None, line: int | None, msg: str | None) -> str:
    where = project.rel(Path(file)) if file else "templates"
    return str(Problem(where, line, f"template error: {msg}"))


def _template_frame(project: Project, exc: BaseException) -> tuple[str | None, int | None]:
    """Find the innermost traceback frame that ran a template file."""
    tb = exc.__traceback__
    found: tuple[str | None, int | None] = (None, None)
    templates = str(project.templates.resolve())
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.startswith(templates):
            template = tb.tb_frame.f_globals.get("__jinja_template__")
            line = template.get_corresponding_lineno(tb.tb_lineno) if template else tb.tb_lineno
            found = (filename, line)
        tb = tb.tb_next
    return found
