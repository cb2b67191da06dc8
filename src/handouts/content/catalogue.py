"""Load every content file (settings, brands, documents, contraindications, messages) into typed models.

Every file but the settings comes through the project's layers (handouts.layers): the
project's own file where it has one, else its theme's or the package's starter content.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from handouts.content.brandcheck import check_brand
from handouts.content.checks import cross_check
from handouts.content.explain import describe_validation_error
from handouts.content.models import (
    DOCUMENT_MODELS,
    Brand,
    ContraindicationList,
    Document,
    ProjectConfig,
)
from handouts.content.yamlsrc import YamlFile, YamlProblem, load_yaml, problem_for
from handouts.errors import ContentError, Problem, ProjectError, choose, choose_brand, shown
from handouts.layers import DOCUMENTS, Layers, Source, UnknownTheme, for_project, settings_layer
from handouts.project import Project

log = logging.getLogger(__name__)

# Messages the code itself prints (packets' "Prepared for ..." line): templates are checked
# by Jinja's strict undefined, these here.
CODE_MESSAGES = ("prepared_for", "therapist", "area_label")

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
    # (document id, language) of document files that failed to load: their outputs are
    # neither built (no fallback to another language) nor pruned.
    broken: frozenset[tuple[str, str]] = frozenset()

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

    @property
    def default_brand(self) -> str | None:
        """The brand used when none is chosen: handouts.yaml's, or the only one (errors.choose_brand)."""
        return self.config.default_brand or (next(iter(self.brands)) if len(self.brands) == 1 else None)

    @property
    def defaults(self) -> dict[str, str]:
        """Kind -> the document it means in packets: the only one of its kind, or the `default: true` one."""
        by_kind: dict[str, list[str]] = {}
        for doc_id in self.document_ids:
            by_kind.setdefault(self.kind(doc_id, self.default_language), []).append(doc_id)
        chosen = {}
        for kind, ids in by_kind.items():
            marked = [d for d in ids if self.document(d, self.default_language).model.default]
            if len(ids) == 1 or len(marked) == 1:
                chosen[kind] = ids[0] if len(ids) == 1 else marked[0]
        return chosen

    def is_translated(self, doc_id: str, lang: str) -> bool:
        """Whether the document has its own file in lang (else it is built from the default language)."""
        return (doc_id, lang) in self.documents

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

    def pick_brand(self, value: str | None, field: str = "brand") -> str:
        """The brand asked for, else the default one (errors.choose_brand)."""
        return choose_brand(value, self.default_brand, self.choices("brand"), field)

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


class _Loader:
    """Collect problems from every file instead of stopping at the first."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.problems: list[Problem] = []
        # Files that failed to load: checks across files stay quiet about them (no follow-ons).
        self.failed: set[Path] = set()
        # Document files (the project's or the starter's): their problems stay with their document.
        self.document_files: set[Path] = set()

    def yaml(self, source: Source) -> YamlFile | None:
        path = source.path
        try:
            return load_yaml(path, self.project.root, source.layer.fence)
        except YamlProblem as exc:
            self.problems.append(problem_for(path, self.project.root, exc))
            self.failed.add(path)
            return None

    def fail(self, path: Path, problems: list[Problem]) -> None:
        self.problems.extend(problems)
        self.failed.add(path)

    def model(self, source: Source, model: type[BaseModel], data: Any = None) -> Loaded[Any] | None:
        path = source.path
        yf = self.yaml(source)
        if yf is None:
            return None
        if not isinstance(yf.data, Mapping):
            self.fail(path, [Problem(yf.rel, 1, "expected keys with values ('key: value' lines)")])
            return None
        try:
            return Loaded(model.model_validate(yf.data if data is None else data), yf, source)
        except ValidationError as exc:
            self.fail(path, describe_validation_error(exc, yf, model))
            return None


def load_config(project: Project) -> ProjectConfig:
    """Only handouts.yaml's settings (for commands that need no content); ContentError if bad."""
    loader = _Loader(project)
    config_path = project.config_file
    source = Source(project.rel(config_path), config_path, settings_layer(project))
    loaded = loader.model(source, ProjectConfig) if os.path.lexists(config_path) else None
    if loader.problems and any(not p.warning for p in loader.problems):
        raise ContentError(loader.problems)
    return loaded.model if loaded is not None else ProjectConfig()


def load_catalogue(project: Project, *, strict: bool = True) -> Catalogue:
    """Load and validate all content; raise ContentError listing every problem.

    With strict=False, problems confined to single document files are returned in
    `errors` and those documents left out, so a build can still make everything else.
    """
    loader = _Loader(project)
    config = ProjectConfig()
    config_path = project.config_file
    settings = None
    if os.path.lexists(config_path):  # a dangling link too: it is refused, not ignored
        settings_source = Source(project.rel(config_path), config_path, settings_layer(project))
        loaded_config = loader.model(settings_source, ProjectConfig)
        if loaded_config is not None:
            config, settings = loaded_config.model, loaded_config.file
        # Broken settings: the rest is read with the defaults, so every problem shows at once.
    layers = _layers(project, config, settings)
    brands = _load_brands(loader, layers)
    messages = _load_messages(loader, layers, config)
    contraindications: dict[str, Loaded[ContraindicationList]] = {}
    for source in layers.listing("content/contraindications", "*.yaml"):
        if source.path.stem in messages or (config.languages is None and source.from_project):
            loaded = loader.model(source, ContraindicationList)
            if loaded is not None:
                contraindications[source.path.stem] = loaded
    documents = _load_documents(loader, layers, config, set(messages))
    broken = frozenset((path.parent.name, path.stem) for path in loader.failed & loader.document_files)
    catalogue = Catalogue(
        project, config, layers, brands, documents, contraindications, messages, broken=broken
    )
    if project.config_file not in loader.failed:  # without the settings, nothing across files is sure
        loader.problems.extend(cross_check(catalogue, {project.rel(p) for p in loader.failed}, settings))
    errors = [p for p in loader.problems if not p.warning]
    documents_at = {project.rel(path) for path in loader.document_files}
    local = [p for p in errors if p.file in documents_at or p.file.startswith(f"{DOCUMENTS}/")]
    if errors and (strict or len(local) < len(errors)):
        raise ContentError(loader.problems)
    catalogue.errors = local
    catalogue.warnings = [p for p in loader.problems if p.warning]
    return catalogue


def _layers(project: Project, config: ProjectConfig, settings: YamlFile | None) -> Layers:
    try:
        return for_project(project, config.theme, config.starter_documents)
    except UnknownTheme as exc:
        line = settings.source.line_of(("theme",)) if settings is not None else None
        where = f"{settings.rel}:{line}" if settings is not None and line else "handouts.yaml"
        raise ProjectError(f"{where}: {{problem}}", problem=str(exc), code=exc.code) from None


def _load_brands(loader: _Loader, layers: Layers) -> dict[str, Loaded[Brand]]:
    brands: dict[str, Loaded[Brand]] = {}
    for source in layers.listing("content/brands", "*.yaml"):
        path = source.path
        loaded = loader.model(source, Brand)
        if loaded is None:
            continue
        problems = check_brand(loader.project, path.stem, loaded.model, loaded.file)
        loader.problems.extend(problems)
        if any(not p.warning for p in problems):
            loader.failed.add(path)
        brands[path.stem] = loaded
    if not brands and not loader.problems:
        loader.problems.append(
            Problem(
                "content/brands",
                None,
                "no brand files: add one with `handouts new brand ID --clinic NAME` "
                "(it writes content/brands/ID.yaml)",
            )
        )
    return brands


def _load_messages(
    loader: _Loader, layers: Layers, config: ProjectConfig
) -> dict[str, Loaded[dict[str, str]]]:
    messages: dict[str, Loaded[dict[str, str]]] = {}
    wanted = config.languages
    for source in layers.listing("content/messages", "*.yaml"):
        path = source.path
        if wanted is not None and path.stem not in wanted:
            if source.from_project:
                message = f"not built: handouts.yaml's 'languages' leaves out '{path.stem}'"
                loader.problems.append(Problem(loader.project.rel(path), None, message, warning=True))
            continue
        yf = loader.yaml(source)
        if yf is None:
            continue
        data = yf.data
        if not isinstance(data, dict) or not all(isinstance(v, str) and v.strip() for v in data.values()):
            bad = (
                next((k for k, v in data.items() if not (isinstance(v, str) and v.strip())), None)
                if isinstance(data, dict)
                else None
            )
            line = yf.source.value_line((bad,)) if bad is not None else 1
            key = f"{shown(str(bad))}: " if bad is not None else ""
            loader.fail(
                path, [Problem(yf.rel, line, f"{key}write each message as 'name: text', the text not empty")]
            )
            continue
        messages[path.stem] = Loaded(data, yf, source)
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
    if default is not None:
        for key in CODE_MESSAGES:
            if key not in default.model:
                loader.problems.append(
                    Problem(
                        default.file.rel,
                        None,
                        f"message '{key}' is missing: add it (packets print it; the package's "
                        f"content/messages/en.yaml has every message: `handouts validate -v` shows where)",
                        field=key,
                    )
                )
    if default is None:
        if any(path.name == f"{config.default_language}.yaml" and path.parent.name == "messages"
               for path in loader.failed):  # fmt: skip
            return messages
        loader.problems.append(
            Problem(
                f"content/messages/{config.default_language}.yaml",
                None,
                "the default language has no message catalogue: copy content/messages/en.yaml here and "
                "translate it",
            )
        )
        return messages
    for loaded in messages.values():
        missing = sorted(set(default.model) - set(loaded.model))
        extra = sorted(set(loaded.model) - set(default.model))
        for key in missing:
            loader.problems.append(
                Problem(loaded.file.rel, None, f"message '{key}' is missing: add it, translated", field=key)
            )
        for key in extra:
            line = loaded.file.source.line_of((key,))
            loader.problems.append(
                Problem(
                    loaded.file.rel,
                    line,
                    f"unknown message '{shown(key)}': it is not in content/messages/"
                    f"{config.default_language}.yaml; remove it or fix its name",
                    field=key,
                )
            )
    return messages


def _load_documents(
    loader: _Loader, layers: Layers, config: ProjectConfig, languages: set[str]
) -> dict[tuple[str, str], Loaded[Document]]:
    documents: dict[tuple[str, str], Loaded[Document]] = {}
    for source in layers.documents():
        path = source.path
        if path.stem not in languages and (config.languages is not None or not source.from_project):
            if source.from_project:  # a translation into a language this project does not build
                message = f"not built: handouts.yaml's 'languages' leaves out '{path.stem}'"
                loader.problems.append(Problem(loader.project.rel(path), None, message, warning=True))
            continue  # a starter translation into a language this project does not build
        loader.document_files.add(path)
        yf = loader.yaml(source)
        if yf is None:
            continue
        if not isinstance(yf.data, dict):
            loader.fail(path, [Problem(yf.rel, 1, "expected keys with values ('key: value' lines)")])
            continue
        kind = yf.data.get("kind")
        model = DOCUMENT_MODELS.get(kind) if isinstance(kind, str) else None
        if model is None:
            line = yf.source.value_line(("kind",))
            choices = ", ".join(DOCUMENT_MODELS)
            said = "is missing" if "kind" not in yf.data else f"'{shown(str(kind))}' is not a kind"
            message = f"kind: {said}; write one of: {choices}"
            loader.fail(path, [Problem(yf.rel, line, message, field="kind")])
            continue
        try:
            doc = model.model_validate(yf.data)
        except ValidationError as exc:
            loader.fail(path, describe_validation_error(exc, yf, model))
            continue
        folder = path.parent.name
        if doc.id != folder:
            message = f"id: '{doc.id}' but the folder is '{shown(folder)}'; make them the same"
            loader.fail(path, [Problem(yf.rel, yf.source.value_line(("id",)), message, field="id")])
            continue
        documents[(doc.id, path.stem)] = Loaded(doc, yf, source)  # type: ignore[arg-type]
    return documents
