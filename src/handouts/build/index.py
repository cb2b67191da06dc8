"""A small index of a catalogue, kept in the build snapshot: what packets need, without loading it.

Kept light on purpose: no pydantic, Jinja, pypdf or WeasyPrint imports at module level.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from handouts.errors import choose

if TYPE_CHECKING:
    from handouts.content.catalogue import Catalogue


@dataclass(frozen=True)
class CatalogueIndex:
    """What packets need to know about a catalogue, without loading it."""

    default_language: str
    languages: tuple[str, ...]
    brands: dict[str, str]  # id -> name
    documents: dict[str, dict[str, tuple[str, str]]]  # id -> lang -> (kind, title)
    messages: dict[str, dict[str, str]]  # lang -> key -> text
    outputs: tuple[str, ...]  # every output path, in build order
    printable: tuple[tuple[int, int], ...]  # code point ranges the field font can draw
    # lang -> babel's long date format, as babel parses it, and month names (see dates.long_dates)
    long_dates: dict[str, dict[str, Any]]
    default_brand: str | None = None  # handouts.yaml's, or the only brand (Catalogue.default_brand)
    defaults: dict[str, str] = field(default_factory=dict)  # kind -> document (Catalogue.defaults)
    translated: dict[str, tuple[str, ...]] = field(default_factory=dict)  # id -> languages it has
    # handouts.yaml's `signing:` (by alias), so packets know without loading the settings model.
    signing: dict[str, Any] | None = None

    @property
    def document_ids(self) -> list[str]:
        return list(self.documents)

    def kind(self, doc_id: str, lang: str) -> str:
        return self.documents[doc_id][lang][0]

    def is_translated(self, doc_id: str, lang: str) -> bool:
        """Whether the document has its own file in lang (as Catalogue.translated)."""
        return lang in self.translated.get(doc_id, ())

    def title(self, doc_id: str, lang: str) -> str:
        return self.documents[doc_id][lang][1]

    def choices(self, noun: str) -> list[str]:
        """What a brand, language or document may be: the catalogue's ids (as Catalogue.choices)."""
        return {
            "brand": sorted(self.brands),
            "language": list(self.languages),
            "document": self.document_ids,
        }[noun]

    def pick(self, noun: str, value: str, field: str | None = None) -> str:
        """Return value if the catalogue has such a brand, language or document (as Catalogue.pick)."""
        return choose(noun, value, self.choices(noun), field)

    @classmethod
    def from_catalogue(cls, cat: Catalogue) -> CatalogueIndex:
        from handouts.dates import long_dates
        from handouts.render.fonts import field_font_ranges
        from handouts.render.outputs import plan_outputs

        documents: dict[str, dict[str, tuple[str, str]]] = {
            doc_id: {lang: (cat.kind(doc_id, lang), cat.title(doc_id, lang)) for lang in cat.languages}
            for doc_id in cat.document_ids
        }
        return cls(
            default_language=cat.config.default_language,
            languages=tuple(cat.languages),
            brands={brand_id: brand.model.name for brand_id, brand in sorted(cat.brands.items())},
            documents=documents,
            messages={lang: dict(cat.messages[lang].model) for lang in cat.languages},
            outputs=tuple(s.key for s in plan_outputs(cat)),
            printable=field_font_ranges(cat.layers),
            long_dates=long_dates(cat.languages),
            default_brand=cat.default_brand,
            defaults=cat.defaults,
            translated={
                doc_id: tuple(lang for lang in cat.languages if cat.is_translated(doc_id, lang))
                for doc_id in cat.document_ids
            },
            signing=cat.config.signing.model_dump(mode="json") if cat.config.signing else None,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "default_language": self.default_language,
            "languages": list(self.languages),
            "brands": self.brands,
            "documents": {d: {lang: list(v) for lang, v in by.items()} for d, by in self.documents.items()},
            "messages": self.messages,
            "outputs": list(self.outputs),
            "printable": [list(r) for r in self.printable],
            "long_dates": self.long_dates,
            "default_brand": self.default_brand,
            "defaults": self.defaults,
            "translated": {d: list(langs) for d, langs in self.translated.items()},
            "signing": self.signing,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CatalogueIndex:
        return cls(
            default_language=data["default_language"],
            languages=tuple(data["languages"]),
            brands=dict(data["brands"]),
            documents={
                d: {lang: (v[0], v[1]) for lang, v in by.items()} for d, by in data["documents"].items()
            },
            messages={lang: dict(m) for lang, m in data["messages"].items()},
            outputs=tuple(data["outputs"]),
            printable=tuple((int(a), int(b)) for a, b in data["printable"]),
            long_dates={lang: dict(v) for lang, v in data["long_dates"].items()},
            default_brand=data["default_brand"],
            defaults=dict(data["defaults"]),
            translated={d: tuple(langs) for d, langs in data["translated"].items()},
            signing=dict(data["signing"]) if data.get("signing") else None,
        )
