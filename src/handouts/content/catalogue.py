"""Load every content file (settings, brands, documents, contraindications, messages) into typed models."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from handouts.content.models import (
    DOCUMENT_MODELS,
    Brand,
    ContraindicationList,
    Document,
    ProjectConfig,
)
from handouts.content.yamlsrc import YamlFile, YamlProblem, load_yaml, problem_for
from handouts.errors import ContentError, Problem, ProjectError, choose, shown
from handouts.layers import PROJECT, Layer, Layers, Source, UnknownTheme, for_project
from handouts.project import Project

log = logging.getLogger(__name__)

# handouts.yaml belongs to no layer: it is the project's own, and says which layers there are.
_NO_LAYER = Layer(PROJECT, "content", Path("."))

M = TypeVar("M")


@dataclass(frozen=True)
class Loaded(Generic[M]):
    """A model together with the file it came from (and the layer that file belongs to)."""

    model: M
    file: YamlFile
    source: Source


@dataclass
class Catalogue:
    """Everything the content folder holds, validated, plus any warnings."""

    project: Project
    config: ProjectConfig
    layers: Layers
    brands: dict[str, Loaded[Brand]]
    documents: dict[tuple[str, str], Loaded[Document]]
    contraindications: dict[str, Loaded[ContraindicationList]]
    messages: dict[str, Loaded[dict[str, str]]]
    warnings: list[Problem] = field(default_factory=list)
    # Only with strict=False: problems in single documents, whose outputs are skipped.
    errors: list[Problem] = field(default_factory=list)

    @property
    def languages(self) -> list[str]:
        return sorted(self.messages, key=lambda lang: (lang != self.config.default_language, lang))

    @property
    def document_ids(self) -> list[str]:
        """Ids of the documents that exist in the default language (so can be built)."""
        default = self.config.default_language
        return sorted({doc_id for doc_id, lang in self.documents if lang == default})

    @property
    def default_language(self) -> str:
        return self.config.default_language

    def document(self, doc_id: str, lang: str) -> Loaded[Document]:
        """Return the document in lang, or in the default language when not translated."""
        found = self.documents.get((doc_id, lang))
        if found is None:
            found = self.documents[(doc_id, self.config.default_language)]
        return found

    def kind(self, doc_id: str, lang: str) -> str:
        return self.document(doc_id, lang).model.kind

    def title(self, doc_id: str, lang: str) -> str:
        return self.document(doc_id, lang).model.title

    def choices(self, noun: str) -> list[str]:
        """What a brand, language or document may be: the catalogue's ids."""
        return {"brand": sorted(self.brands), "language": self.languages, "document": self.document_ids}[noun]

    def pick(self, noun: str, value: str, field: str | None = None) -> str:
        """Return value if the catalogue has such a brand, language or document, else raise UnknownChoice."""
        return choose(noun, value, self.choices(noun), field)

    def sources(self) -> list[Source]:
        """Every file the catalogue uses, each from the layer that serves it (for list, validate -v)."""
        files = self.layers.listing("templates", "**/*")
        for brand in self.brands.values():
            files.append(brand.source)
            if brand.model.logo:
                files.append(
                    self.layers.project_source((brand.file.path.parent / brand.model.logo).resolve())
                )
        files += [self.messages[lang].source for lang in self.languages]
        files += [
            self.contraindications[lang].source for lang in self.languages if lang in self.contraindications
        ]
        files += [s for s in self.layers.listing("content/jargon", "*.yaml") if s.path.stem in self.messages]
        files += [loaded.source for _, loaded in sorted(self.documents.items())]
        return files


def describe_validation_error(exc: ValidationError, yf: YamlFile) -> list[Problem]:
    """Turn pydantic's errors into file:line problems in the editor's terms."""
    problems = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if isinstance(p, (str, int)))
        line = yf.source.line_of(loc)
        path = _dotted(loc)
        kind = err["type"]
        if kind == "missing":
            message = f"'{path}' is required"
        elif kind == "extra_forbidden":
            message = f"unknown key '{path}' (a typo?)"
        elif path:
            message = f"'{path}': {_plain(err['msg'])}"
        else:
            message = _plain(err["msg"])
        problems.append(Problem(yf.rel, line, message))
    return problems


def _dotted(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{shown(part)}" if out else shown(part))
    return out


def _plain(msg: str) -> str:
    return msg.removeprefix("Value error, ")


class _Loader:
    """Collect problems from every file instead of stopping at the first."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.problems: list[Problem] = []
        # Files whose problems stay with their document (build skips it, builds the rest).
        self.document_files: set[str] = set()

    def yaml(self, path: Path) -> YamlFile | None:
        try:
            return load_yaml(path, self.project.root)
        except YamlProblem as exc:
            self.problems.append(problem_for(path, self.project.root, exc))
            return None

    def model(self, source: Source, model: type[BaseModel]) -> Loaded[Any] | None:
        yf = self.yaml(source.path)
        if yf is None:
            return None
        if not isinstance(yf.data, Mapping):
            self.problems.append(Problem(yf.rel, 1, "expected a mapping of keys to values"))
            return None
        try:
            return Loaded(model.model_validate(yf.data), yf, source)
        except ValidationError as exc:
            self.problems.extend(describe_validation_error(exc, yf))
            return None


def load_config(project: Project) -> ProjectConfig:
    """Only handouts.yaml's settings (for commands that need no content); ContentError if bad."""
    loader = _Loader(project)
    config_path = project.config_file
    source = Source(project.rel(config_path), config_path, _NO_LAYER)
    loaded = loader.model(source, ProjectConfig) if config_path.exists() else None
    if loader.problems and any(not p.warning for p in loader.problems):
        raise ContentError(loader.problems)
    return loaded.model if loaded is not None else ProjectConfig()


def load_catalogue(project: Project, *, strict: bool = True) -> Catalogue:
    """Load and validate all content; raise ContentError listing every problem.

    Every file but the brands comes through the project's layers (layers.py): the project's
    own file where it has one, else the package's. With strict=False, problems confined to
    single document files are returned in `errors` and those documents left out, so a
    build can still make everything else.
    """
    loader = _Loader(project)
    config = ProjectConfig()
    config_file: YamlFile | None = None
    if project.config_file.exists():
        loaded_config = loader.model(Source(project.rel(project.config_file), project.config_file, _NO_LAYER),
                                     ProjectConfig)  # fmt: skip
        if loaded_config is not None:
            config, config_file = loaded_config.model, loaded_config.file
        # Broken settings: the rest is read with the defaults, so every problem shows at once.
    layers = _layers(project, config, config_file)
    brands = _load_brands(loader, layers)
    messages = _load_messages(loader, layers, config)
    languages = set(messages)
    contraindications: dict[str, Loaded[ContraindicationList]] = {}
    for source in layers.listing("content/contraindications", "*.yaml"):
        if source.path.stem in languages:
            loaded = loader.model(source, ContraindicationList)
            if loaded is not None:
                contraindications[source.path.stem] = loaded
    documents = _load_documents(loader, layers, languages)
    catalogue = Catalogue(project, config, layers, brands, documents, contraindications, messages)
    _cross_check(catalogue, loader)
    errors = [p for p in loader.problems if not p.warning]
    local = [p for p in errors if p.file in loader.document_files or p.file.startswith("content/documents/")]
    if errors and (strict or len(local) < len(errors)):
        raise ContentError(loader.problems)
    catalogue.errors = local
    catalogue.warnings = [p for p in loader.problems if p.warning]
    return catalogue


def _layers(project: Project, config: ProjectConfig, config_file: YamlFile | None) -> Layers:
    try:
        return for_project(project, config.theme, config.starter_documents)
    except UnknownTheme as exc:
        line = config_file.source.line_of(("theme",)) if config_file is not None else None
        where = f"{config_file.rel}:{line}" if config_file is not None and line else "handouts.yaml"
        raise ProjectError(f"{where}: {{problem}}", problem=str(exc), code=exc.code) from None


def _load_brands(loader: _Loader, layers: Layers) -> dict[str, Loaded[Brand]]:
    brands: dict[str, Loaded[Brand]] = {}
    for source in layers.listing("content/brands", "*.yaml"):
        path = source.path
        loaded = loader.model(source, Brand)
        if loaded is None:
            continue
        brand: Brand = loaded.model
        if brand.logo:
            logo = (path.parent / brand.logo).resolve()
            if not logo.is_relative_to(loader.project.content.resolve()):
                line = loaded.file.source.line_of(("logo",))
                loader.problems.append(
                    Problem(loaded.file.rel, line, "'logo' must be a file inside content/")
                )
            elif not logo.is_file():
                line = loaded.file.source.line_of(("logo",))
                loader.problems.append(
                    Problem(loaded.file.rel, line, f"logo file not found: {loader.project.rel(logo)}")
                )
        brands[path.stem] = loaded
    if not brands and not loader.problems:
        loader.problems.append(
            Problem(
                "content/brands",
                None,
                "no brand files (*.yaml) found; add one with `handouts new brand ID --clinic NAME`",
            )
        )
    return brands


def _load_messages(
    loader: _Loader, layers: Layers, config: ProjectConfig
) -> dict[str, Loaded[dict[str, str]]]:
    messages: dict[str, Loaded[dict[str, str]]] = {}
    wanted = config.languages
    for source in layers.listing("content/messages", "*.yaml"):
        if wanted is not None and source.path.stem not in wanted:
            if source.from_project:
                loader.problems.append(
                    Problem(
                        loader.project.rel(source.path),
                        None,
                        f"not built: handouts.yaml's 'languages' leaves out '{source.path.stem}'",
                        warning=True,
                    )
                )
            continue
        yf = loader.yaml(source.path)
        if yf is None:
            continue
        data = yf.data
        if not isinstance(data, dict) or not all(isinstance(v, str) and v.strip() for v in data.values()):
            loader.problems.append(
                Problem(yf.rel, 1, "expected a mapping of message names to non-empty text")
            )
            continue
        messages[source.path.stem] = Loaded(data, yf, source)
    for lang in wanted or ():
        if lang not in messages and not any(
            p.file.endswith(f"messages/{lang}.yaml") for p in loader.problems
        ):
            loader.problems.append(
                Problem(
                    "handouts.yaml",
                    None,
                    f"'languages' lists '{lang}', which has no message catalogue: "
                    f"add content/messages/{lang}.yaml (a copy of en.yaml, translated)",
                )
            )
    default = messages.get(config.default_language)
    if default is None:
        loader.problems.append(
            Problem(
                f"content/messages/{config.default_language}.yaml",
                None,
                "the default language has no message catalogue",
            )
        )
        return messages
    for lang, loaded in messages.items():
        missing = sorted(set(default.model) - set(loaded.model))
        extra = sorted(set(loaded.model) - set(default.model))
        for key in missing:
            loader.problems.append(Problem(loaded.file.rel, None, f"message '{key}' is missing"))
        for key in extra:
            line = loaded.file.source.line_of((key,))
            loader.problems.append(
                Problem(loaded.file.rel, line, f"unknown message '{shown(key)}' (not in {lang} source)")
            )
    return messages


def _load_documents(
    loader: _Loader, layers: Layers, languages: set[str]
) -> dict[tuple[str, str], Loaded[Document]]:
    documents: dict[tuple[str, str], Loaded[Document]] = {}
    for source in layers.documents():
        path = source.path
        if path.stem not in languages and not source.from_project:
            continue  # a starter translation into a language this project does not build
        yf = loader.yaml(path)
        loader.document_files.add(loader.project.rel(path))
        if yf is None:
            continue
        if not isinstance(yf.data, dict):
            loader.problems.append(Problem(yf.rel, 1, "expected a mapping of keys to values"))
            continue
        kind = yf.data.get("kind")
        model = DOCUMENT_MODELS.get(kind) if isinstance(kind, str) else None
        if model is None:
            line = yf.source.line_of(("kind",))
            choices = ", ".join(DOCUMENT_MODELS)
            loader.problems.append(Problem(yf.rel, line, f"'kind' must be one of: {choices}"))
            continue
        try:
            doc = model.model_validate(yf.data)
        except ValidationError as exc:
            loader.problems.extend(describe_validation_error(exc, yf))
            continue
        folder = path.parent.name
        if doc.id != folder:
            loader.problems.append(
                Problem(
                    yf.rel,
                    yf.source.line_of(("id",)),
                    f"'id' is '{doc.id}' but the folder is '{folder}'; make them the same",
                )
            )
            continue
        documents[(doc.id, path.stem)] = Loaded(doc, yf, source)  # type: ignore[arg-type]
    return documents


def _cross_check(cat: Catalogue, loader: _Loader) -> None:
    """Checks that span files: languages, translations, the shared contraindication list."""
    default = cat.config.default_language
    langs = set(cat.messages)
    for (doc_id, lang), loaded in list(cat.documents.items()):
        if lang in langs:
            continue
        if cat.config.languages is not None:
            del cat.documents[(doc_id, lang)]
            loader.problems.append(
                Problem(
                    loaded.file.rel,
                    None,
                    f"not built: handouts.yaml's 'languages' leaves out '{lang}'",
                    warning=True,
                )
            )
        else:
            loader.problems.append(
                Problem(
                    loaded.file.rel,
                    None,
                    f"language '{lang}' has no message catalogue content/messages/{lang}.yaml",
                )
            )
    for doc_id in sorted({doc_id for doc_id, _ in cat.documents}):
        source = cat.documents.get((doc_id, default))
        if source is None:
            loader.problems.append(
                Problem(
                    f"content/documents/{doc_id}",
                    None,
                    f"no {default}.yaml: every document needs the default language",
                )
            )
            continue
        for lang in sorted(langs - {default}):
            translation = cat.documents.get((doc_id, lang))
            if translation is None:
                loader.problems.append(
                    Problem(
                        f"content/documents/{doc_id}/{lang}.yaml",
                        None,
                        f"not translated; the {lang} output falls back to {default}",
                        warning=True,
                    )
                )
            elif translation.model.translates != source.model.version:
                line = translation.file.source.line_of(("translates",))
                loader.problems.append(
                    Problem(
                        translation.file.rel,
                        line,
                        f"translation lags: it translates version "
                        f"{translation.model.translates or '?'} but {default} is at "
                        f"{source.model.version}",
                        warning=True,
                    )
                )
    needs_list = any(d.model.kind == "consent" for d in cat.documents.values()) or any(
        s.contraindications
        for d in cat.documents.values()
        if d.model.kind != "consent"
        for s in d.model.sections
    )
    if needs_list:
        for lang in sorted(langs):
            if lang not in cat.contraindications:
                loader.problems.append(
                    Problem(
                        f"content/contraindications/{lang}.yaml",
                        None,
                        "missing: the consent form and information sheet need it",
                    )
                )
    base = cat.contraindications.get(default)
    if base is not None:
        base_ids = [c.id for c in base.model.items]
        for lang, contra in cat.contraindications.items():
            ids = [c.id for c in contra.model.items]
            if lang != default and ids != base_ids:
                loader.problems.append(
                    Problem(
                        contra.file.rel,
                        None,
                        f"contraindication ids differ from {default}: expected {', '.join(base_ids)}",
                    )
                )
