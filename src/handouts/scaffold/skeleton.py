"""`handouts new document` and `new brand`: a new file with every required part, ready to fill in.

A document skeleton has every section its kind needs and short placeholder text that says it is
a placeholder; it validates, builds and passes `lint --strict` as it is, so a clinic sees the
new document in its catalogue at once and replaces the text section by section. It is a draft
(`approved_by` empty), so `validate --strict` refuses it until a clinician has approved it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handouts.atomic import atomic_write
from handouts.errors import UsageError, choose
from handouts.layers import DOCUMENTS
from handouts.project import Project
from handouts.scaffold.brand import BrandDetails, check_brand, check_id

KINDS = ("info", "aftercare", "consent")
CONSENT_PARTS = ("treatment", "benefits", "risks", "alternatives", "questions", "withdrawal")
DRAFT_VERSION = "0.1"
# A new document's first review date: a year after it takes effect.
REVIEW_AFTER_DAYS = 365

# Placeholder wording per language: plainly placeholders, no clinical statement in any of them.
WORDS: dict[str, dict[str, Any]] = {
    "en": {
        "title": {
            "info": "New information sheet (draft)",
            "aftercare": "New aftercare sheet (draft)",
            "consent": "New consent form (draft)",
        },
        "summary": "Placeholder: one short sentence that says what this is about.",
        "heading": "Placeholder heading {n}",
        "paragraph": "Placeholder text. Write here, in plain words, what your clinic wants to say.",
        "bullets": ["Placeholder: a short point.", "Placeholder: another short point."],
        "exercises": "Your exercises",
        "exercises_text": "Placeholder text. Your therapist writes on the lines below.",
        "urgent": "When to get help (placeholder)",
        "urgent_text": "Placeholder text. List the signs that need care right away, and say who to call.",
        "consent": {
            "treatment": ("The treatment (placeholder)", "Placeholder text. Say what the treatment is."),
            "benefits": ("How it may help (placeholder)", "Placeholder text. Say how it may help."),
            "risks": ("Risks (placeholder)", "Placeholder text. List the risks, the common ones first."),
            "alternatives": ("Other choices (placeholder)", "Placeholder text. Name the other choices."),
            "questions": ("Questions (placeholder)", "Placeholder text. Say who answers questions."),
            "withdrawal": ("Changing your mind (placeholder)", "Placeholder text. Say how to stop."),
        },
        "checklist": (
            "Health questions (placeholder)",
            "Placeholder text. Ask for an answer to each one.",
        ),
        "statement": "Placeholder text. Write what you agree to when you sign.",
        "source": "Placeholder: the title of the page or guidance these facts come from",
        "key_points": ["Placeholder: the main thing you should know."],
        "action": ("Placeholder: what to do", "Placeholder text. Say what you should do, step by step."),
    },
    "fr": {
        "title": {
            "info": "Nouvelle fiche d'information (brouillon)",
            "aftercare": "Nouvelle fiche de suivi (brouillon)",
            "consent": "Nouveau formulaire de consentement (brouillon)",
        },
        "summary": "Texte à remplacer : une phrase courte qui dit de quoi il s'agit.",
        "heading": "Titre à remplacer {n}",
        "paragraph": "Texte à remplacer. Écrivez ici, en mots simples, ce que la clinique veut dire.",
        "bullets": ["Texte à remplacer : un point court.", "Texte à remplacer : un autre point."],
        "exercises": "Vos exercices",
        "exercises_text": "Texte à remplacer. Votre thérapeute écrit sur les lignes ci-dessous.",
        "urgent": "Quand demander de l'aide (à remplacer)",
        "urgent_text": "Texte à remplacer. Dites quels signes demandent de l'aide tout de suite.",
        "consent": {
            "treatment": ("Le traitement (à remplacer)", "Texte à remplacer. Dites ce qu'est le traitement."),
            "benefits": (
                "Ce qu'il peut apporter (à remplacer)",
                "Texte à remplacer. Dites ce qu'il peut apporter.",
            ),
            "risks": (
                "Les risques (à remplacer)",
                "Texte à remplacer. Dites les risques, les plus courants d'abord.",
            ),
            "alternatives": ("Les autres choix (à remplacer)", "Texte à remplacer. Dites les autres choix."),
            "questions": (
                "Vos questions (à remplacer)",
                "Texte à remplacer. Dites qui répond aux questions.",
            ),
            "withdrawal": ("Changer d'avis (à remplacer)", "Texte à remplacer. Dites comment arrêter."),
        },
        "checklist": (
            "Questions de santé (à remplacer)",
            "Texte à remplacer. Demandez une réponse à chaque question.",
        ),
        "statement": "Texte à remplacer. Écrivez ce que vous acceptez en signant.",
        "source": "Texte à remplacer : le titre de la page ou du guide d'où viennent ces faits",
        "key_points": ["Texte à remplacer : la chose principale à savoir."],
        "action": ("Texte à remplacer : quoi faire", "Texte à remplacer. Dites quoi faire, étape par étape."),
    },
}


@dataclass(frozen=True)
class Written:
    """A file a scaffold command wrote, as the project names it (and what to know about it)."""

    path: Path
    rel: str
    note: str | None = None


def document_skeleton(
    doc_id: str, kind: str, lang: str, effective: dt.date, translates: str | None
) -> dict[str, Any]:
    """A document of kind with every required part and placeholder text (English for other languages)."""
    words = WORDS.get(lang, WORDS["en"])
    doc: dict[str, Any] = {
        "id": doc_id,
        "kind": kind,
        "title": words["title"][kind],
        "version": DRAFT_VERSION,
        "effective": effective,
    }
    if translates is not None:
        doc["translates"] = translates
    # A new document is a draft: no clinician has approved it (validate --strict says so).
    doc["review_by"] = effective + dt.timedelta(days=REVIEW_AFTER_DAYS)
    doc["approved_by"] = ""
    doc["sources"] = [{"title": words["source"]}]
    doc["summary"] = words["summary"]
    if kind == "consent":
        doc["sections"] = {
            part: {"heading": heading, "paragraphs": [text]}
            for part, (heading, text) in words["consent"].items()
        }
        heading, intro = words["checklist"]
        doc["checklist"] = {"heading": heading, "intro": intro}
        doc["signatures"] = {"statement": words["statement"], "witness": True}
        return doc
    sections: list[dict[str, Any]] = [
        {"heading": words["heading"].format(n=1), "paragraphs": [words["paragraph"]]},
        {"heading": words["heading"].format(n=2), "bullets": list(words["bullets"])},
    ]
    if kind == "aftercare":
        sections.append(
            {"heading": words["exercises"], "paragraphs": [words["exercises_text"]], "write_in_lines": 4}
        )
        sections.insert(0, {"heading": words["urgent"], "urgent": True, "paragraphs": [words["urgent_text"]]})
        title, text = words["action"]
        sections.append({"heading": words["heading"].format(n=3), "steps": [{"title": title, "text": text}]})
    doc["key_points"] = list(words["key_points"])
    doc["sections"] = sections
    return doc


HEADER = """\
# A new {kind} document: every part it needs, with placeholder text. Replace each placeholder,
# raise `version` when the wording is ready, then run `handouts validate` and `handouts lint`.
# Have a clinician review the wording before patients see it.
"""


def new_document(project: Project, doc_id: str, kind: str, lang: str | None = None) -> Written:
    """Write content/documents/ID/LANG.yaml as a skeleton; refuse an id that is taken."""
    import yaml

    from handouts.content.catalogue import load_catalogue

    check_id(doc_id, "document id")
    choose("kind", kind, KINDS, field="kind")
    cat = load_catalogue(project, strict=False)
    lang = cat.pick("language", lang, field="lang") if lang else cat.default_language
    default = cat.default_language
    existing = cat.layers.find(f"{DOCUMENTS}/{doc_id}/{default}.yaml")
    translates = None
    if existing is not None and not existing.from_project:
        raise UsageError(
            "'{id}' is a document of the package's starter content; a project document of that id would "
            "replace it in every language; choose another id",
            code="taken",
            id=doc_id,
        )
    if lang != default:
        if existing is None or (doc_id, default) not in cat.documents:
            raise UsageError(
                "'{id}' has no {default} text yet: write that first ({command})",
                field="lang",
                code="no-source",
                id=doc_id,
                default=default,
                command=f"handouts new document {doc_id} --kind {kind}",
            )
        source = cat.documents[(doc_id, default)].model
        if source.kind != kind:
            raise UsageError(
                "{field}: '{id}' is a {actual} document, not {kind}",
                field="kind",
                id=doc_id,
                actual=source.kind,
                kind=kind,
            )
        translates = source.version
    rel = f"{DOCUMENTS}/{doc_id}/{lang}.yaml"
    target = project.root / rel
    if target.exists():
        raise UsageError("{rel} already exists; edit it, or choose another id", code="exists", rel=rel)
    data = document_skeleton(doc_id, kind, lang, dt.date.today(), translates)
    text = HEADER.format(kind=kind) + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    atomic_write(target, text.encode("utf-8"))
    others = [d for d in cat.document_ids if d != doc_id and cat.kind(d, default) == kind]
    note = None
    if others and lang == default:
        note = (
            f"there is already {'an' if kind[0] in 'aeiou' else 'a'} {kind} document ({', '.join(others)}): "
            f"packets asking for '{kind}' "
            f"need 'default: true' in the one they should mean"
        )
    return Written(target, rel, note)


def new_brand(project: Project, brand_id: str, details: BrandDetails) -> list[Written]:
    """Write content/brands/ID.yaml (and its logo); refuse an id that is taken."""
    checked = check_brand(details, brand_id, id_field=None)
    brands = project.brands_dir
    target = brands / checked.file_name
    if target.exists():
        raise UsageError(
            "{rel} already exists; edit it, or choose another id", code="exists", rel=project.rel(target)
        )
    written = []
    if checked.logo is not None and checked.logo_name is not None:
        logo = brands / "assets" / checked.logo_name
        if logo.exists():
            raise UsageError("{rel} already exists; move it away first", code="exists", rel=project.rel(logo))
        atomic_write(logo, checked.logo.data)
        written.append(Written(logo, project.rel(logo)))
    atomic_write(target, checked.text.encode("utf-8"))
    return [Written(target, project.rel(target)), *written]
