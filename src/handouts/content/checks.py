"""Checks that span content files: languages, translations, kinds, the default brand, the
shared contraindication list.

A file that failed to load has been reported once already; these checks say nothing more
about it (no "every document needs the default language" for an en.yaml with a typo).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from handouts.content.models import REVIEW_WARN_DAYS
from handouts.content.yamlsrc import YamlFile
from handouts.errors import Problem, shown

if TYPE_CHECKING:
    from handouts.content.catalogue import Catalogue

LANG_CODE = re.compile(r"[a-z]{2,3}(-[A-Z]{2})?")


def cross_check(
    cat: Catalogue, failed: Iterable[str], settings: YamlFile | None = None, today: dt.date | None = None
) -> list[Problem]:
    """Problems (and warnings) across files; failed: project-relative paths already reported."""
    failed = set(failed)
    problems: list[Problem] = []
    problems += _language_codes(cat)
    problems += _languages(cat, failed)
    problems += _translations(cat, failed)
    problems += _kinds(cat)
    problems += _default_brand(cat, settings)
    problems += _contraindications(cat, failed)
    problems += records(cat, today or dt.date.today())
    return problems


def records(cat: Catalogue, today: dt.date) -> list[Problem]:
    """Warnings from each document's record: a draft, a review date near or past.

    Warnings, so a draft still builds (the starter documents are drafts until a clinic's
    clinician approves them); `validate --strict` fails on them.
    """
    problems = []
    for _, loaded in sorted(cat.documents.items()):
        doc, source = loaded.model, loaded.file.source
        if doc.draft:
            problems.append(
                Problem(
                    loaded.file.rel,
                    source.line_of(("approved_by",)),
                    "approved_by: empty, so the document is a draft (its footer says so on every page): "
                    "when a clinician has read it, write their role, e.g. approved_by: Clinical lead",
                    warning=True,
                    field="approved_by",
                )
            )
        left = (doc.review_by - today).days
        if left <= REVIEW_WARN_DAYS:
            when = f"was due on {doc.review_by.isoformat()}" if left < 0 else f"is due in {left} days"
            problems.append(
                Problem(
                    loaded.file.rel,
                    source.value_line(("review_by",)),
                    f"review_by: the review {when}: have a clinician review the wording, "
                    "then set the next review date",
                    warning=True,
                    field="review_by",
                )
            )
    return problems


def _language_codes(cat: Catalogue) -> list[Problem]:
    """A language's code names files and out/ folders: it must be a plain code like en or fr-CA."""
    stems = {source.path for source in cat.layers.listing("content/messages", "*.yaml")}
    stems |= {source.path for source in cat.layers.documents()}
    from babel.localedata import exists as babel_knows  # dates are written by babel's locale data

    problems = []
    for path in sorted(stems):
        if LANG_CODE.fullmatch(path.stem) and not babel_knows(path.stem.replace("-", "_")):
            problems.append(
                Problem(
                    cat.project.rel(path),
                    None,
                    f"'{path.stem}' is not a language code babel knows, so dates could not be written "
                    "in it: rename the file to a code such as fr or fr-CA",
                )
            )
        elif not LANG_CODE.fullmatch(path.stem):
            fixed = path.stem.lower().replace("_", "-")
            fixed = fixed[:3] + fixed[3:].upper() if "-" in fixed else fixed
            problems.append(
                Problem(
                    cat.project.rel(path),
                    None,
                    f"the file name '{shown(path.stem)}' must be a language code such as en or fr-CA "
                    f"(it names folders in out/): rename the file, e.g. to {shown(fixed)}.yaml",
                )
            )
    return problems


def _languages(cat: Catalogue, failed: set[str]) -> list[Problem]:
    problems = []
    langs = set(cat.messages)
    for (_, lang), loaded in cat.documents.items():
        catalogue_file = f"content/messages/{lang}.yaml"
        if lang not in langs and catalogue_file not in failed:
            problems.append(
                Problem(
                    loaded.file.rel,
                    None,
                    f"language '{lang}' has no message catalogue: add {catalogue_file} "
                    "(a translated copy of the default language's)",
                )
            )
    return problems


def _translations(cat: Catalogue, failed: set[str]) -> list[Problem]:
    problems = []
    default = cat.config.default_language
    langs = set(cat.messages)
    ids = {doc_id for doc_id, _ in cat.documents} | {doc_id for doc_id, _ in cat.broken}
    for doc_id in sorted(ids):
        folder = f"content/documents/{doc_id}"
        source = cat.documents.get((doc_id, default))
        if source is None:
            if f"{folder}/{default}.yaml" not in failed:
                problems.append(
                    Problem(folder, None, f"no {default}.yaml: every document needs the default language")
                )
            continue
        for lang in sorted(langs - {default}):
            translation = cat.documents.get((doc_id, lang))
            if translation is None:
                if (doc_id, lang) not in cat.broken:
                    problems.append(
                        Problem(
                            f"{folder}/{lang}.yaml",
                            None,
                            f"not translated; the {lang} output falls back to {default}",
                            warning=True,
                        )
                    )
                continue
            # A translation without `translates:` translates the version it carries itself.
            translates = translation.model.translates or translation.model.version
            if translates != source.model.version:
                key = "translates" if translation.model.translates else "version"
                problems.append(
                    Problem(
                        translation.file.rel,
                        translation.file.source.value_line((key,)),
                        f"translation lags: it translates version {translates} but {default} is at "
                        f'{source.model.version}; update it and set translates: "{source.model.version}"',
                        warning=True,
                        field=key,
                    )
                )
            if translation.model.default != source.model.default:
                problems.append(
                    Problem(
                        translation.file.rel,
                        translation.file.source.value_line(("default",)),
                        f"default: only {default}.yaml's counts (it marks the document in every language); "
                        "remove it here",
                        warning=True,
                        field="default",
                    )
                )
    return problems


def _kinds(cat: Catalogue) -> list[Problem]:
    """Several documents of a kind: at most one `default: true`; without one, `info` is ambiguous."""
    default = cat.config.default_language
    by_kind: dict[str, list[str]] = {}
    for doc_id in cat.document_ids:
        by_kind.setdefault(cat.kind(doc_id, default), []).append(doc_id)
    problems = []
    for kind, ids in sorted(by_kind.items()):
        if len(ids) < 2:
            continue
        marked = [d for d in ids if cat.document(d, default).model.default]
        if len(marked) > 1:
            for doc_id in marked[1:]:
                loaded = cat.document(doc_id, default)
                problems.append(
                    Problem(
                        loaded.file.rel,
                        loaded.file.source.value_line(("default",)),
                        f"default: {marked[0]} is already the default {kind}; mark only one document of a "
                        "kind as default",
                        field="default",
                    )
                )
        elif not marked:
            first = cat.document(ids[0], default)
            problems.append(
                Problem(
                    first.file.rel,
                    None,
                    f"{len(ids)} documents are of kind '{kind}' ({', '.join(ids)}): packets asking for "
                    f"'{kind}' will be refused; add 'default: true' to the one '{kind}' should mean",
                    warning=True,
                )
            )
    return problems


def _default_brand(cat: Catalogue, settings: YamlFile | None) -> list[Problem]:
    chosen = cat.config.default_brand
    if chosen is None or chosen in cat.brands:
        return []
    line = settings.source.value_line(("default_brand",)) if settings else None
    return [
        Problem(
            cat.project.rel(cat.project.config_file),
            line,
            f"default_brand: '{chosen}' is not a brand; choose from: {', '.join(sorted(cat.brands))}",
            field="default_brand",
        )
    ]


def _contraindications(cat: Catalogue, failed: set[str]) -> list[Problem]:
    problems = []
    default = cat.config.default_language
    langs = set(cat.messages)
    needs_list = any(d.model.kind == "consent" for d in cat.documents.values()) or any(
        s.contraindications
        for d in cat.documents.values()
        if d.model.kind != "consent"
        for s in d.model.sections
    )
    if needs_list:
        for lang in sorted(langs):
            path = f"content/contraindications/{lang}.yaml"
            if lang not in cat.contraindications and path not in failed:
                problems.append(
                    Problem(
                        path,
                        None,
                        f"missing: the consent form and information sheet need it (copy content/"
                        f"contraindications/{default}.yaml and translate it)",
                    )
                )
    base = cat.contraindications.get(default)
    if base is not None:
        base_ids = [c.id for c in base.model.items]
        for lang, contra in cat.contraindications.items():
            ids = [c.id for c in contra.model.items]
            if lang != default and ids != base_ids:
                problems.append(
                    Problem(
                        contra.file.rel,
                        None,
                        f"contraindication ids differ from {default}: expected {', '.join(base_ids)}, "
                        "in that order",
                    )
                )
    return problems
