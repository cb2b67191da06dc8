"""The plain-language gate: readability and jargon of every section, per document and language.

What is scored: a section's paragraphs, bullets and step texts (each one ends a sentence);
headings and step titles are only searched for jargon. Consent documents are reported by
section key (treatment, benefits, ..., checklist, signatures); info and aftercare documents
by heading; the shared contraindication list as the document "contraindications", section
"questions" (its labels are searched for jargon; the therapist notes are for the clinician
and are left out). Each document is also checked for the machine-checkable PEMAT-P items
(lint/pemat.py); a jargon finding is PEMAT-P item 4 as well.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from handouts.content.catalogue import Catalogue, Loaded, load_catalogue
from handouts.content.models import ConsentDocument, ContraindicationList, Document, Section
from handouts.content.yamlsrc import Loc
from handouts.errors import choose
from handouts.lint.jargon import JargonList, find_jargon, jargon_path, load_jargon
from handouts.lint.pemat import PematFinding, check_document, items_for
from handouts.lint.readability import Formula, TextStats, analyse, formula_for
from handouts.project import Project

CONTRAINDICATIONS = "contraindications"
# Below this many words a single long word swings the score by several grades
# ("Alternatives text." scores 14.7): such sections are scored but not judged.
MIN_WORDS = 10


@dataclass(frozen=True)
class Unit:
    """One piece of text of a section; `scored` ones count for readability."""

    loc: Loc
    text: str
    scored: bool


@dataclass(frozen=True)
class JargonFinding:
    term: str
    plain: str
    found: str
    line: int | None


@dataclass(frozen=True)
class SectionReport:
    """Readability and jargon of one section of one document in one language."""

    document: str
    lang: str
    section: str
    file: str
    line: int | None
    formula: Formula | None
    stats: TextStats
    jargon: tuple[JargonFinding, ...]
    explained: tuple[str, ...]

    @property
    def score(self) -> float | None:
        return self.formula.score(self.stats) if self.formula and self.stats.words else None

    @property
    def judged(self) -> bool:
        return self.formula is not None and self.stats.words >= MIN_WORDS

    @property
    def too_hard(self) -> bool:
        score = self.score
        return (
            self.judged and score is not None and self.formula is not None and not self.formula.passes(score)
        )

    @property
    def ok(self) -> bool:
        return not self.too_hard and not self.jargon

    def to_json(self) -> dict[str, Any]:
        return {
            "document": self.document,
            "lang": self.lang,
            "section": self.section,
            "file": self.file,
            "line": self.line,
            "formula": self.formula.key if self.formula else None,
            "score": self.score,
            "judged": self.judged,
            "passes": not self.too_hard,
            "sentences": len(self.stats.sentences),
            "words": self.stats.words,
            "syllables": self.stats.syllables,
            "average_sentence_words": round(self.stats.words_per_sentence, 1),
            "longest_sentence_words": self.stats.longest_sentence,
            "longest_sentence": self.stats.longest_text,
            "jargon": [
                {"term": j.term, "plain": j.plain, "found": j.found, "line": j.line} for j in self.jargon
            ],
            "explained": list(self.explained),
        }


@dataclass
class LintReport:
    """Every section checked, and notes about what could not be checked."""

    sections: list[SectionReport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # PEMAT-P items 9, 11, 20, 21 (item 4 comes from the sections' jargon: see `pemat`).
    pemat_items: list[PematFinding] = field(default_factory=list)
    # (document, language) -> the PEMAT-P items checked on it.
    pemat_checked: dict[tuple[str, str], tuple[int, ...]] = field(default_factory=dict)

    @property
    def pemat(self) -> list[PematFinding]:
        """Every PEMAT-P finding, item 4 (a medical term not explained) from the jargon found."""
        jargon = [
            PematFinding(
                s.document, s.lang, 4, s.file, j.line, f"'{j.found}' is not explained: say '{j.plain}'"
            )
            for s in self.sections
            if s.document != CONTRAINDICATIONS
            for j in s.jargon
        ]
        return sorted([*self.pemat_items, *jargon], key=lambda f: (f.document, f.lang, f.line or 0, f.item))

    def pemat_of(self, document: str, lang: str) -> list[PematFinding]:
        return [f for f in self.pemat if (f.document, f.lang) == (document, lang)]

    @property
    def too_hard(self) -> list[SectionReport]:
        return [s for s in self.sections if s.too_hard]

    @property
    def jargon_count(self) -> int:
        return sum(len(s.jargon) for s in self.sections)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.sections) and not self.pemat_items

    @property
    def documents(self) -> list[tuple[str, str]]:
        """(document, language) pairs in report order."""
        return list(dict.fromkeys((s.document, s.lang) for s in self.sections))

    def to_json(self, strict: bool) -> dict[str, Any]:
        langs = sorted({s.lang for s in self.sections})
        formulas = {lang: formula_for(lang) for lang in langs}
        return {
            "format": 1,
            "strict": strict,
            "ok": self.ok,
            "formulas": {
                lang: (
                    {"key": f.key, "name": f.name, "limit": f.limit, "higher_is_easier": f.higher_is_easier}
                    if f
                    else None
                )
                for lang, f in formulas.items()
            },
            "sections": [s.to_json() for s in self.sections],
            "pemat": [f.to_json() for f in self.pemat],
            "summary": {
                "documents": len(self.documents),
                "sections": len(self.sections),
                "too_hard": len(self.too_hard),
                "jargon": self.jargon_count,
                "pemat": len(self.pemat),
            },
            "notes": self.notes,
        }


def lint(project: Project, langs: Sequence[str] = (), docs: Sequence[str] = ()) -> LintReport:
    """Score every section of every document (or the chosen ones) in each language."""
    cat = load_catalogue(project)
    for lang in langs:
        cat.pick("language", lang)
    for doc in docs:
        choose("document", doc, [*cat.document_ids, CONTRAINDICATIONS])
    languages = [lang for lang in cat.languages if not langs or lang in langs]
    lists = load_jargon(cat.layers, languages)
    report = LintReport()
    for lang in languages:
        _note_gaps(report, cat, lang, lists, docs)
        for doc_id in cat.document_ids:
            if docs and doc_id not in docs:
                continue
            loaded = cat.documents.get((doc_id, lang))
            if loaded is not None:
                report.sections.extend(_check(loaded, doc_id, lang, _document_sections(loaded.model), lists))
                report.pemat_items.extend(
                    check_document(loaded.model, doc_id, lang, loaded.file.rel, loaded.file.source)
                )
                report.pemat_checked[(doc_id, lang)] = items_for(loaded.model)
        contra = cat.contraindications.get(lang)
        if contra is not None and (not docs or CONTRAINDICATIONS in docs):
            report.sections.extend(
                _check(contra, CONTRAINDICATIONS, lang, _contraindication_sections(contra.model), lists)
            )
    return report


def _note_gaps(
    report: LintReport,
    cat: Catalogue,
    lang: str,
    lists: dict[str, JargonList],
    docs: Sequence[str],
) -> None:
    if formula_for(lang) is None:
        report.notes.append(
            f"{lang}: no readability formula for this language; sentence lengths and jargon only"
        )
    if lang not in lists:
        report.notes.append(f"{jargon_path(lang)}: no jargon list; {lang} jargon not checked")
    for doc_id in cat.document_ids:
        if (not docs or doc_id in docs) and (doc_id, lang) not in cat.documents:
            report.notes.append(f"{doc_id}: no {lang} text (the {lang} output uses the default language)")


SectionParts = tuple[str, Loc, list[Unit]]


def _check(
    loaded: Loaded[Any],
    document: str,
    lang: str,
    sections: Iterator[SectionParts],
    lists: dict[str, JargonList],
) -> list[SectionReport]:
    source = loaded.file.source
    raw_lines = loaded.file.raw.decode("utf-8-sig", errors="replace").splitlines()
    entries = lists[lang].entries if lang in lists else ()
    reports = []
    for name, loc, units in sections:
        stats = analyse([u.text for u in units if u.scored], lang)
        hits, explained = find_jargon([(u.loc, u.text) for u in units], entries)
        findings = tuple(
            JargonFinding(h.term, h.plain, h.found, _line_with(raw_lines, source.line_of(h.loc), h.found))
            for h in hits
        )
        reports.append(
            SectionReport(
                document=document,
                lang=lang,
                section=name,
                file=loaded.file.rel,
                line=source.line_of(loc),
                formula=formula_for(lang),
                stats=stats,
                jargon=findings,
                explained=tuple(explained),
            )
        )
    return reports


def _line_with(raw_lines: list[str], start: int | None, found: str) -> int | None:
    """Return the first line from start on that holds found's first word (a wrapped paragraph)."""
    if start is None:
        return None
    word = found.split()[0].lower()
    for number in range(start, min(len(raw_lines), start + 200) + 1):
        if word in raw_lines[number - 1].lower():
            return number
    return start


def _document_sections(doc: Document) -> Iterator[SectionParts]:
    units = [Unit(("title",), doc.title, False)]
    if doc.summary:
        units.append(Unit(("summary",), doc.summary, True))
    for i, point in enumerate(getattr(doc, "key_points", ())):
        units.append(Unit(("key_points", i), point, True))
    yield "title and summary", ("title",), units
    if isinstance(doc, ConsentDocument):
        for key in type(doc.sections).model_fields:
            section: Section = getattr(doc.sections, key)
            yield key, ("sections", key), _section_units(section, ("sections", key))
        yield (
            "checklist",
            ("checklist",),
            [
                Unit(("checklist", "heading"), doc.checklist.heading, False),
                Unit(("checklist", "intro"), doc.checklist.intro, True),
            ],
        )
        yield (
            "signatures",
            ("signatures",),
            [Unit(("signatures", "statement"), doc.signatures.statement, True)],
        )
        return
    for i, section in enumerate(doc.sections):
        yield section.heading, ("sections", i), _section_units(section, ("sections", i))


def _section_units(section: Section, at: Loc) -> list[Unit]:
    units = [Unit((*at, "heading"), section.heading, False)]
    units += [Unit((*at, "paragraphs", i), text, True) for i, text in enumerate(section.paragraphs)]
    units += [Unit((*at, "bullets", i), text, True) for i, text in enumerate(section.bullets)]
    for i, step in enumerate(section.steps):
        units.append(Unit((*at, "steps", i, "title"), step.title, False))
        units.append(Unit((*at, "steps", i, "text"), step.text, True))
    return units


def _contraindication_sections(contra: ContraindicationList) -> Iterator[SectionParts]:
    units: list[Unit] = []
    for i, item in enumerate(contra.items):
        units.append(Unit(("items", i, "label"), item.label, False))
        units.append(Unit(("items", i, "question"), item.question, True))
    yield "questions", ("items",), units
