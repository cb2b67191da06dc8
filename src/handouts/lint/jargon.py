"""The jargon lists (content/jargon/<lang>.yaml): medical words to replace with plain ones.

A term is allowed in a section that explains it: when the section also contains one of
the entry's `explained_by` phrases ("pneumothorax" next to "collapsed lung").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from pydantic import Field, TypeAdapter, ValidationError, field_validator

from handouts.content.explain import describe_validation_error
from handouts.content.models import Model, Short
from handouts.content.yamlsrc import Loc, YamlProblem, load_yaml, problem_for
from handouts.errors import ContentError, Problem
from handouts.layers import Layers

JARGON_DIR = "jargon"


class JargonEntry(Model):
    """One term, the plain words to use instead, and phrases that count as explaining it."""

    term: Short
    plain: Short
    explained_by: tuple[Short, ...] = Field(default=())

    @field_validator("term")
    @classmethod
    def _has_letters(cls, value: str) -> str:
        if not any(c.isalpha() for c in value):
            raise ValueError("write a term with at least one letter")
        return value


_ENTRIES = TypeAdapter(tuple[JargonEntry, ...])


@dataclass(frozen=True)
class JargonList:
    """The entries of one language's list, and the file they came from."""

    file: str
    entries: tuple[JargonEntry, ...]


@dataclass(frozen=True)
class JargonHit:
    """A term found in a text unit of a section."""

    term: str
    plain: str
    found: str
    loc: Loc


def jargon_path(lang: str) -> str:
    """The project path of a language's list (the project's file, else the package's, serves it)."""
    return f"content/{JARGON_DIR}/{lang}.yaml"


def load_jargon(layers: Layers, langs: Sequence[str]) -> dict[str, JargonList]:
    """Load the lists of the languages that have one; raise ContentError listing every problem."""
    lists: dict[str, JargonList] = {}
    problems: list[Problem] = []
    project = layers.project
    for lang in langs:
        source = layers.find(jargon_path(lang))
        if source is None:
            continue
        path = source.path
        try:
            yf = load_yaml(path, project.root, source.layer.fence)
        except YamlProblem as exc:
            problems.append(problem_for(path, project.root, exc))
            continue
        if not isinstance(yf.data, list):
            problems.append(
                Problem(yf.rel, 1, "expected a list of entries like '- term: ...' with 'plain: ...'")
            )
            continue
        try:
            entries = _ENTRIES.validate_python(yf.data)
        except ValidationError as exc:
            problems.extend(describe_validation_error(exc, yf, tuple[JargonEntry, ...]))
            continue
        seen: dict[str, int] = {}
        for i, entry in enumerate(entries):
            key = " ".join(entry.term.lower().split())
            if key in seen:
                problems.append(
                    Problem(
                        yf.rel,
                        yf.source.line_of((i, "term")),
                        f"term '{entry.term}' is listed twice (also entry {seen[key] + 1}); keep one",
                    )
                )
            seen.setdefault(key, i)
        lists[lang] = JargonList(yf.rel, entries)
    if problems:
        raise ContentError(problems)
    return lists


def find_jargon(
    units: Sequence[tuple[Loc, str]], entries: Sequence[JargonEntry]
) -> tuple[list[JargonHit], list[str]]:
    """Return the unexplained terms in units (first place each occurs) and the explained ones.

    Terms match whole words, any case, also with a plural s or es.
    """
    whole = _normalise(" ".join(text for _, text in units))
    hits: list[JargonHit] = []
    explained: list[str] = []
    for entry in entries:
        pattern = _pattern(entry.term)
        for loc, text in units:
            match = pattern.search(text)
            if match is None:
                continue
            if any(_normalise(phrase) in whole for phrase in entry.explained_by):
                explained.append(entry.term)
            else:
                hits.append(JargonHit(entry.term, entry.plain, match.group(0), loc))
            break
    return hits, explained


def _normalise(text: str) -> str:
    return " ".join(text.lower().replace("’", "'").split())


@lru_cache(maxsize=1024)
def _pattern(term: str) -> re.Pattern[str]:
    body = r"\s+".join(re.escape(part) for part in term.replace("’", "'").split())
    body = body.replace("'", "['’]")
    return re.compile(rf"(?<![\w-]){body}(?:s|es)?(?![\w-])", re.IGNORECASE)
