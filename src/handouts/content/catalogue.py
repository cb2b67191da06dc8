"""Load every content file (settings, brands, documents, contraindications, messages) into typed models."""

from __future__ import annotations

import logging
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
from handouts.errors import ContentError, Problem, choose, choose_brand, shown
from handouts.project import Project

log = logging.getLogger(__name__)

# Messages the code itself prints (packets' "Prepared for ..." line): templates are checked
# by Jinja's strict undefined, these here.
CODE_MESSAGES = ("prepared_for", "therapist", "area_label")

M = TypeVar("M")


@dataclass(frozen=True)
class Loaded(Generic[M]):
    """A model together with the file it came from."""

    model: M
    file: YamlFile


@dataclass
class Catalogue:
    """Everything the content folder holds, validated, plus any warnings."""

    project: Project
    config: ProjectConfig
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


class _Loader:
    """Collect problems from every file instead of stopping at the first."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.problems: list[Problem] = []
        # Files that failed to load: checks across files stay quiet about them (no follow-ons).
        self.failed: set[Path] = set()

    def yaml(self, path: Path) -> YamlFile | None:
        try:
            return load_yaml(path, self.project.root)
        except YamlProblem as exc:
            self.problems.append(problem_for(path, self.project.root, exc))
            self.failed.add(path)
            return None

    def fail(self, path: Path, problems: list[Problem]) -> None:
        self.problems.extend(problems)
        self.failed.add(path)

    def model(self, path: Path, model: type[BaseModel], data: Any = None) -> Loaded[Any] | None:
        yf = self.yaml(path)
        if yf is None:
            return None
        if not isinstance(yf.data, Mapping):
            self.fail(path, [Problem(yf.rel, 1, "expected keys with values ('key: value' lines)")])
            return None
        try:
            return Loaded(model.model_validate(yf.data if data is None else data), yf)
        except ValidationError as exc:
            self.fail(path, describe_validation_error(exc, yf, model))
            return None


def load_config(project: Project) -> ProjectConfig:
    """Only handouts.yaml's settings (for commands that need no content); ContentError if bad."""
    loader = _Loader(project)
    config_path = project.config_file
    loaded = loader.model(config_path, ProjectConfig) if config_path.exists() else None
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
    if config_path.exists():
        loaded_config = loader.model(config_path, ProjectConfig)
        if loaded_config is not None:
            config, settings = loaded_config.model, loaded_config.file
    brands = _load_brands(loader)
    messages = _load_messages(loader, config)
    contraindications: dict[str, Loaded[ContraindicationList]] = {}
    for path in sorted((project.content / "contraindications").glob("*.yaml")):
        loaded = loader.model(path, ContraindicationList)
        if loaded is not None:
            contraindications[path.stem] = loaded
    documents = _load_documents(loader)
    broken = frozenset(
        (path.parent.name, path.stem)
        for path in loader.failed
        if path.parent.parent == project.content / "documents"
    )
    catalogue = Catalogue(project, config, brands, documents, contraindications, messages, broken=broken)
    if project.config_file not in loader.failed:  # without the settings, nothing across files is sure
        loader.problems.extend(cross_check(catalogue, {project.rel(p) for p in loader.failed}, settings))
    errors = [p for p in loader.problems if not p.warning]
    local = [p for p in errors if p.file.startswith("content/documents/")]
    if errors and (strict or len(local) < len(errors)):
        raise ContentError(loader.problems)
    catalogue.errors = local
    catalogue.warnings = [p for p in loader.problems if p.warning]
    return catalogue


def _load_brands(loader: _Loader) -> dict[str, Loaded[Brand]]:
    brands: dict[str, Loaded[Brand]] = {}
    for path in sorted(loader.project.brands_dir.glob("*.yaml")):
        loaded = loader.model(path, Brand)
        if loaded is None:
            continue
        problems = check_brand(loader.project, path.stem, loaded.model, loaded.file)
        loader.problems.extend(problems)
        if any(not p.warning for p in problems):
            loader.failed.add(path)
        brands[path.stem] = loaded
    if not brands and not loader.problems:
        loader.problems.append(
            Problem("content/brands", None, "no brand files: add one, e.g. content/brands/my-clinic.yaml")
        )
    return brands


def _load_messages(loader: _Loader, config: ProjectConfig) -> dict[str, Loaded[dict[str, str]]]:
    messages: dict[str, Loaded[dict[str, str]]] = {}
    for path in sorted((loader.project.content / "messages").glob("*.yaml")):
        yf = loader.yaml(path)
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
        messages[path.stem] = Loaded(data, yf)
    default = messages.get(config.default_language)
    if default is not None:
        for key in CODE_MESSAGES:
            if key not in default.model:
                loader.problems.append(
                    Problem(
                        default.file.rel,
                        None,
                        f"message '{key}' is missing: add it (packets print it; handouts' own "
                        f"content/messages/en.yaml has every message)",
                        field=key,
                    )
                )
    if default is None:
        if loader.project.content / "messages" / f"{config.default_language}.yaml" in loader.failed:
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


def _load_documents(loader: _Loader) -> dict[tuple[str, str], Loaded[Document]]:
    documents: dict[tuple[str, str], Loaded[Document]] = {}
    for path in sorted((loader.project.content / "documents").glob("*/*.yaml")):
        yf = loader.yaml(path)
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
        documents[(doc.id, path.stem)] = Loaded(doc, yf)  # type: ignore[arg-type]
    return documents
