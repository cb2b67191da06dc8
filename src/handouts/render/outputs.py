"""The list of outputs a catalogue produces: document x brand x language x variant."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from handouts.content.catalogue import Catalogue

Variant = Literal["print", "fillable", "large-print", "fillable-large-print", "stamp", "stamp-large-print"]

# Which variants each document kind is built in. Order is the order outputs are listed.
VARIANTS: dict[str, tuple[Variant, ...]] = {
    "info": ("print", "large-print"),
    "aftercare": ("print", "large-print"),
    "consent": ("print", "fillable", "large-print", "fillable-large-print"),
}

# Per brand and language: a one-field page that packets stamp "Prepared for ..." with.
STAMP_ID = "_packet-stamp"
STAMP_VARIANTS: tuple[Variant, ...] = ("stamp", "stamp-large-print")


@dataclass(frozen=True, order=True)
class OutputSpec:
    """One PDF the build produces."""

    brand: str
    lang: str
    doc_id: str
    variant: Variant = "print"

    @property
    def relpath(self) -> str:
        """Path of the PDF below the output folder."""
        if self.is_stamp:
            return f"{self.brand}/{self.lang}/{self.doc_id}{'-large-print' if self.large else ''}.pdf"
        suffix = "" if self.variant == "print" else f"-{self.variant}"
        return f"{self.brand}/{self.lang}/{self.doc_id}{suffix}.pdf"

    @property
    def key(self) -> str:
        return self.relpath

    @property
    def fillable(self) -> bool:
        return self.variant.startswith("fillable")

    @property
    def large(self) -> bool:
        return self.variant.endswith("large-print")

    @property
    def is_stamp(self) -> bool:
        return self.variant.startswith("stamp")

    @property
    def has_form(self) -> bool:
        return self.fillable or self.is_stamp


def plan_outputs(
    cat: Catalogue,
    brands: tuple[str, ...] = (),
    langs: tuple[str, ...] = (),
    docs: tuple[str, ...] = (),
) -> list[OutputSpec]:
    """Return every output of the catalogue, optionally filtered, in a stable order."""
    specs = []
    for brand in sorted(cat.brands):
        if brands and brand not in brands:
            continue
        for lang in cat.languages:
            if langs and lang not in langs:
                continue
            for doc_id in cat.document_ids:
                if (docs and doc_id not in docs) or (doc_id, lang) in cat.broken:
                    # A translation whose file failed is not built from another language: its
                    # last good PDF stays until the file is fixed.
                    continue
                kind = cat.document(doc_id, lang).model.kind
                for variant in VARIANTS[kind]:
                    specs.append(OutputSpec(brand, lang, doc_id, variant))
            if not docs:
                specs.extend(OutputSpec(brand, lang, STAMP_ID, v) for v in STAMP_VARIANTS)
    return specs
