"""The machine-checkable items of PEMAT-P (the Patient Education Materials Assessment Tool for
printable materials, AHRQ), per document and language.

PEMAT-P's items are judged by people; a few leave traces a program can find, and those are
checked here: 11 (a summary: `summary` or `key_points`), 9 (informative headings: none of
"Other", "Miscellaneous", ...), 20 (aftercare names at least one action: numbered steps, or a
sentence that starts with a verb telling the reader what to do), 21 (the reader is addressed
directly: no "patients should", "the patient"). Item 4 (medical terms explained) is the jargon
rule (lint/jargon.py); gate.py reports its findings under item 4 as well. A document that passes
these is not thereby "understandable": the other items still need a reader.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from handouts.content.models import AftercareDocument, ConsentDocument, Document, Section
from handouts.content.yamlsrc import Loc, SourceMap

# Item number -> what it asks, as the report names it.
ITEMS: dict[int, str] = {
    4: "medical terms are explained",
    9: "headings are informative",
    11: "a summary or key points",
    20: "an action is named",
    21: "the reader is addressed as 'you'",
}

# Headings that say nothing of what follows (compared lower-case, without punctuation or a number).
VAGUE_HEADINGS: dict[str, frozenset[str]] = {
    "en": frozenset(
        {
            "other", "others", "other information", "other things", "miscellaneous", "misc", "general",
            "general information", "notes", "note", "more", "more information", "additional information",
            "information", "info", "details", "extra", "various", "section", "untitled", "heading",
        }
    ),
    "fr": frozenset(
        {
            "autre", "autres", "autres informations", "divers", "diverses", "généralités", "général",
            "remarques", "remarque", "notes", "informations", "information", "plus d'informations",
            "informations supplémentaires", "détails", "section", "titre",
        }
    ),
}  # fmt: skip

# Speaking of the reader in the third person (PEMAT-P 21: "addresses the user directly").
THIRD_PERSON: dict[str, re.Pattern[str]] = {
    "en": re.compile(
        r"\b(?:patients?|clients?)\s+(?:should|must|will|may|can|need|needs|are|is|have|has)\b"
        r"|\bthe\s+(?:patient|client)(?:'s|s')?\b",
        re.IGNORECASE,
    ),
    "fr": re.compile(
        r"\b(?:le|la|les|du|des|au|aux)\s+(?:patient|patiente|patients|patientes)\b"
        r"|\bl[ea]\s+client(?:e)?\b",
        re.IGNORECASE,
    ),
}

# Verbs a sentence telling the reader what to do starts with (PEMAT-P 20).
ACTION_VERBS: dict[str, frozenset[str]] = {
    "en": frozenset(
        {
            "call", "go", "do", "use", "tell", "contact", "take", "put", "rest", "avoid", "keep",
            "ask", "drink", "apply", "watch", "stop", "see", "book", "come", "bring", "wear", "write",
            "read", "check", "follow", "get", "phone", "let", "try", "move", "stretch", "walk",
        }
    ),
    "fr": frozenset(
        {
            "appelez", "allez", "faites", "utilisez", "dites", "contactez", "communiquez", "prenez",
            "mettez", "reposez-vous", "évitez", "gardez", "demandez", "buvez", "appliquez",
            "surveillez", "arrêtez", "consultez", "venez", "apportez", "portez", "écrivez", "lisez",
            "vérifiez", "suivez", "obtenez", "téléphonez", "essayez", "bougez", "marchez", "avisez",
        }
    ),
}  # fmt: skip

_SENTENCE_START = re.compile(r"(?:^|[.!?:]\s+)([A-Za-zÀ-ÿ'’-]+)")


@dataclass(frozen=True)
class PematFinding:
    """One PEMAT-P item a document does not meet (as far as a program can tell)."""

    document: str
    lang: str
    item: int
    file: str
    line: int | None
    message: str

    @property
    def title(self) -> str:
        return ITEMS[self.item]

    def to_json(self) -> dict[str, object]:
        return {
            "document": self.document,
            "lang": self.lang,
            "item": self.item,
            "title": self.title,
            "file": self.file,
            "line": self.line,
            "message": self.message,
        }


def items_for(doc: Document) -> tuple[int, ...]:
    """The PEMAT-P items checked on a document of doc's kind (20 on aftercare only)."""
    return tuple(item for item in ITEMS if item != 20 or isinstance(doc, AftercareDocument))


def check_document(
    doc: Document, document: str, lang: str, file: str, source: SourceMap
) -> list[PematFinding]:
    """The PEMAT-P items 9, 11, 20 and 21 a document misses."""
    found: list[PematFinding] = []

    def flag(item: int, loc: Loc, message: str) -> None:
        found.append(PematFinding(document, lang, item, file, source.line_of(loc), message))

    if not doc.summary and not getattr(doc, "key_points", ()):
        flag(
            11,
            ("title",),
            "no summary or key points: add 'summary:' (or 'key_points:') saying what it is for",
        )
    vague = VAGUE_HEADINGS.get(lang, VAGUE_HEADINGS["en"])
    for loc, heading in _headings(doc):
        if _bare(heading) in vague:
            flag(9, loc, f"the heading '{heading}' does not say what the section is about: name its subject")
    pattern = THIRD_PERSON.get(lang, THIRD_PERSON["en"])
    for loc, text in _texts(doc):
        hit = pattern.search(text)
        if hit:
            flag(21, loc, f"'{hit.group(0)}': speak to the reader as 'you'")
    if isinstance(doc, AftercareDocument) and not _names_an_action(doc, lang):
        flag(
            20,
            ("sections",),
            "no action named: add numbered 'steps:', or sentences that start with what to do "
            "(e.g. 'Call ...', 'Rest ...')",
        )
    return found


def _bare(heading: str) -> str:
    text = re.sub(r"[^\w\s'’-]", " ", heading.lower())
    text = re.sub(r"\b\d+\b", " ", text)
    return " ".join(text.replace("’", "'").split())


def _sections(doc: Document) -> Iterable[tuple[Loc, Section]]:
    if isinstance(doc, ConsentDocument):
        for key in type(doc.sections).model_fields:
            yield ("sections", key), getattr(doc.sections, key)
    else:
        for i, section in enumerate(doc.sections):
            yield ("sections", i), section


def _headings(doc: Document) -> Iterable[tuple[Loc, str]]:
    for at, section in _sections(doc):
        yield (*at, "heading"), section.heading
    if isinstance(doc, ConsentDocument):
        yield ("checklist", "heading"), doc.checklist.heading


def _texts(doc: Document) -> Iterable[tuple[Loc, str]]:
    yield ("title",), doc.title
    if doc.summary:
        yield ("summary",), doc.summary
    for i, point in enumerate(getattr(doc, "key_points", ())):
        yield ("key_points", i), point
    for at, section in _sections(doc):
        yield (*at, "heading"), section.heading
        for key in ("paragraphs", "bullets"):
            for i, text in enumerate(getattr(section, key)):
                yield (*at, key, i), text
        for i, step in enumerate(section.steps):
            yield (*at, "steps", i, "title"), step.title
            yield (*at, "steps", i, "text"), step.text
    if isinstance(doc, ConsentDocument):
        yield ("checklist", "heading"), doc.checklist.heading
        yield ("checklist", "intro"), doc.checklist.intro
        yield ("signatures", "statement"), doc.signatures.statement


def _names_an_action(doc: AftercareDocument, lang: str) -> bool:
    if any(section.steps for section in doc.sections):
        return True
    verbs = ACTION_VERBS.get(lang, ACTION_VERBS["en"])
    texts = [text for loc, text in _texts(doc) if loc[0] in ("sections", "key_points")]
    return any(word.lower() in verbs for text in texts for word in _SENTENCE_START.findall(text))
