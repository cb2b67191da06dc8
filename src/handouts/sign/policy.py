"""What may change in a certified form after signing: filling its fields, and nothing else.

pyHanko's standard policy judges changes revision by revision: every object an update
rewrites must be explained, along every path through which the signed revision reached it.
Two things a legitimate fill of our forms does are not on its list:

- The forms are tagged: each widget is also reached from the structure tree
  (`/StructTreeRoot ... /K [n] /Obj`). pyHanko accepts a widget referenced as `/K /Obj`, but
  not from inside a /K array, which is how WeasyPrint writes it. `TaggedFieldModificationRule`
  clears that path for a field whose own changes pyHanko's field rule has already vetted.
- Radio buttons are a field with kid widgets that have no name of their own; ticking one
  rewrites the kid's /AS. `RadioStateRule` accepts a kid whose only change is /AS, set to
  one of the states it has an appearance for (or /Off), and the /V pypdf writes onto each
  kid as long as it is the group's value or /Off.
- pypdf rewrites a shared font object while filling, with an indirect entry made direct:
  the same font, not the same bytes (and its reals rounded to six digits).
  `EquivalentRewriteRule` accepts an object that resolves to the same values, streams and
  all, as it did when signed, reals equal to 1 in 100,000 (pyHanko itself accepts only
  byte-identical rewrites).

pyHanko also accepts any change to the document information dictionary. Ours carries the
form's provenance (`/handoutsdoc`, `/handoutsversion`, `/handoutsfingerprint`, ...), which
`screen` and `verify` report: `ProvenanceInfoRule` accepts an information update only when
every `/handouts...` entry keeps its signed value.

Anything else (a page's content, a new content stream, an annotation, removed or added
fields, changed labels or metadata outside the document info) stays unexplained: the
change analysis then reports it and the signature no longer counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import HistoricalResolver, RawPdfPath
from pyhanko.sign.diff_analysis import (
    CatalogModificationRule,
    DocInfoRule,
    DSSCompareRule,
    FieldComparisonContext,
    FieldComparisonSpec,
    FieldMDPRule,
    FormUpdate,
    FormUpdatingRule,
    GenericFieldModificationRule,
    MetadataUpdateRule,
    ModificationLevel,
    ObjectStreamRule,
    QualifiedWhitelistRule,
    ReferenceUpdate,
    SigFieldCreationRule,
    SigFieldModificationRule,
    StandardDiffPolicy,
    SuspiciousModification,
    WhitelistRule,
    XrefStreamRule,
)
from pyhanko.sign.diff_analysis.commons import compare_dicts
from pyhanko.sign.diff_analysis.rules_api import Context

RADIO_FLAG = 1 << 15
# How many objects one equivalence check may visit before it gives up (and the rewrite
# stays unexplained): a font is a few dozen; a hostile file must not make this unbounded.
MAX_VISITS = 20_000
# Relative difference below which two reals count as the same number (far below anything
# a page can show: a thousandth of a point on a 100-point width).
FLOAT_TOLERANCE = 1e-5


def _struct_tree_paths(old: HistoricalResolver, ref: generic.Reference) -> Iterator[RawPdfPath]:
    """Paths by which the structure tree reaches ref as an object reference (OBJR)."""
    for path in old._get_usages_of_ref(ref):
        nodes = path.path
        if len(nodes) < 5 or tuple(nodes[:3]) != ("/Root", "/StructTreeRoot", "/K") or nodes[-1] != "/Obj":
            continue
        if nodes[-2] == "/K" or (isinstance(nodes[-2], int) and nodes[-3] == "/K"):
            yield path


PROVENANCE_PREFIX = "/handouts"


class ProvenanceInfoRule(WhitelistRule):
    """pyHanko's DocInfoRule, refusing an update that changes a `/handouts...` entry."""

    def apply(self, old: HistoricalResolver, new: HistoricalResolver) -> Iterable[ReferenceUpdate]:
        before, after = _provenance(old), _provenance(new)
        if before != after:
            changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
            raise SuspiciousModification(
                f"the document's provenance changed after signing ({', '.join(changed)})"
            )
        yield from DocInfoRule().apply(old, new)


def info_of(revision: HistoricalResolver) -> Any:
    """The document information dictionary as it was in this revision (or None)."""
    trailer = revision.trailer_view
    raw = trailer.raw_get("/Info") if "/Info" in trailer else None
    # The trailer's references resolve against the newest revision: resolve through this one.
    return revision(raw.reference) if isinstance(raw, generic.IndirectObject) else raw


def _provenance(revision: HistoricalResolver) -> dict[str, bytes]:
    info = info_of(revision)
    if not isinstance(info, generic.DictionaryObject):
        return {}
    found = {}
    for key in info:
        if str(key).startswith(PROVENANCE_PREFIX):
            value = info.raw_get(key)
            value = value.get_object() if isinstance(value, generic.IndirectObject) else value
            strings = (generic.TextStringObject, generic.ByteStringObject)
            found[str(key)] = value.original_bytes if isinstance(value, strings) else repr(value).encode()
    return found


class TaggedFieldModificationRule(GenericFieldModificationRule):
    """pyHanko's rule for filling a field, also clearing the structure tree's reference to it."""

    def check_form_field(
        self, fq_name: str, spec: FieldComparisonSpec, context: FieldComparisonContext
    ) -> Iterable[tuple[ModificationLevel, FormUpdate]]:
        yield from super().check_form_field(fq_name, spec, context)
        if spec.field_type == "/Sig" or spec.old_field_ref is None or spec.new_field_ref is None:
            return
        # super() has compared the field's dictionaries (raising on anything but value keys);
        # this only adds the one path it does not know.
        unlocked = self.compare_fields(spec)
        for path in _struct_tree_paths(context.old, spec.old_field_ref):
            yield (
                ModificationLevel.FORM_FILLING,
                FormUpdate(
                    updated_ref=spec.new_field_ref,
                    field_name=fq_name,
                    valid_when_locked=unlocked,
                    context_checked=Context.from_absolute(context.old, path),
                ),
            )


class RadioStateRule(FieldMDPRule):
    """A radio button's kid widget may change its /AS to a state it can show (and echo /V)."""

    def apply(self, context: FieldComparisonContext) -> Iterable[tuple[ModificationLevel, FormUpdate]]:
        changed = set(context.new.explicit_refs_in_revision())
        for fq_name, spec in context.field_specs.items():
            if spec.field_type != "/Btn" or spec.old_field is None or spec.new_field is None:
                continue
            if not int(spec.old_field.get("/Ff", 0)) & RADIO_FLAG:
                continue
            old_kids = _refs(spec.old_field.get("/Kids"))
            if old_kids != _refs(spec.new_field.get("/Kids")):
                raise SuspiciousModification(f"the buttons of {fq_name} changed")
            for kid_ref in old_kids:
                if kid_ref not in changed:
                    continue
                old_kid, new_kid = context.old(kid_ref), context.new(kid_ref)
                if not isinstance(old_kid, generic.DictionaryObject) or "/T" in old_kid:
                    continue  # a named kid is a field of its own, judged as such
                # pypdf also writes each kid's state as its /V (the group's value, or /Off):
                # meaningless on a widget, harmless while it agrees with the group.
                compare_dicts(old_kid, new_kid, frozenset({"/AS", "/V"}))
                if "/V" in new_kid and new_kid.get("/V") not in (spec.new_field.get("/V"), "/Off"):
                    raise SuspiciousModification(f"a button of {fq_name} holds a value of its own")
                state = new_kid.get("/AS")
                appearances = new_kid.get("/AP")
                shown = appearances.get("/N") if isinstance(appearances, generic.DictionaryObject) else None
                allowed = {"/Off"} | (
                    set(shown.keys()) if isinstance(shown, generic.DictionaryObject) else set()
                )
                if state is not None and state not in allowed:
                    raise SuspiciousModification(
                        f"a button of {fq_name} shows a state it has no appearance for"
                    )
                yield (
                    ModificationLevel.FORM_FILLING,
                    FormUpdate(updated_ref=kid_ref, field_name=fq_name, context_checked=None),
                )


def _refs(value: Any) -> list[generic.Reference]:
    items = value.get_object() if value is not None else generic.ArrayObject()
    if not isinstance(items, generic.ArrayObject):
        raise SuspiciousModification("a field's /Kids is not an array")
    refs = []
    for item in items:
        if not isinstance(item, generic.IndirectObject):
            raise SuspiciousModification("a field's kids must be indirect objects")
        refs.append(item.reference)
    return refs


class EquivalentRewriteRule(QualifiedWhitelistRule):
    """An object rewritten with the same values it had when signed (direct or indirect alike)."""

    def apply_qualified(
        self, old: HistoricalResolver, new: HistoricalResolver
    ) -> Iterable[tuple[ModificationLevel, ReferenceUpdate]]:
        history = old.reader.xrefs
        for ref in new.explicit_refs_in_revision():
            if old.is_ref_unassignable(ref) or history.get_historical_ref(ref, old.revision) is None:
                continue
            before, after = old(ref), new(ref)
            if not _equivalent(before, after, _Budget()):
                continue
            yield ModificationLevel.LTA_UPDATES, ReferenceUpdate(ref)
            # Objects the rewrite introduced in its place were part of the comparison.
            for added in new.collect_dependencies(after, since_revision=old.revision + 1):
                yield ModificationLevel.LTA_UPDATES, ReferenceUpdate(added)


class _Budget:
    def __init__(self) -> None:
        self.left = MAX_VISITS
        self.assumed: set[tuple[int, int, int, int]] = set()

    def spend(self) -> bool:
        self.left -= 1
        return self.left >= 0


def _equivalent(a: Any, b: Any, budget: _Budget) -> bool:
    """Whether a (in the signed revision) and b (in the new one) hold the same values."""
    if not budget.spend():
        return False
    if isinstance(a, generic.IndirectObject) or isinstance(b, generic.IndirectObject):
        if isinstance(a, generic.IndirectObject) and isinstance(b, generic.IndirectObject):
            pair = (a.idnum, a.generation, b.idnum, b.generation)
            if pair in budget.assumed:  # a cycle: equal unless something else differs
                return True
            budget.assumed.add(pair)
        a = a.get_object() if isinstance(a, generic.IndirectObject) else a
        b = b.get_object() if isinstance(b, generic.IndirectObject) else b
    if isinstance(a, generic.StreamObject) or isinstance(b, generic.StreamObject):
        if not (isinstance(a, generic.StreamObject) and isinstance(b, generic.StreamObject)):
            return False
        if a.encoded_data != b.encoded_data:
            return False
    if isinstance(a, generic.DictionaryObject):
        if not isinstance(b, generic.DictionaryObject) or set(a.keys()) != set(b.keys()):
            return False
        return all(_equivalent(a.raw_get(k), b.raw_get(k), budget) for k in a)
    if isinstance(a, generic.ArrayObject):
        return (
            isinstance(b, generic.ArrayObject)
            and len(a) == len(b)
            and all(_equivalent(x, y, budget) for x, y in zip(a, b, strict=True))
        )
    strings = (generic.TextStringObject, generic.ByteStringObject)
    if isinstance(a, strings):
        return isinstance(b, strings) and a.original_bytes == b.original_bytes
    numbers = (generic.NumberObject, generic.FloatObject)
    if isinstance(a, numbers):
        # pypdf writes reals with six significant digits (1069.824219 -> 1069.82422).
        return isinstance(b, numbers) and abs(float(a) - float(b)) <= FLOAT_TOLERANCE * max(
            1.0, abs(float(a))
        )
    return type(a) is type(b) and bool(a == b)


def form_filling_policy() -> StandardDiffPolicy:
    """pyHanko's standard rules, with the ones above for our tagged forms and their provenance."""
    return StandardDiffPolicy(
        global_rules=[
            CatalogModificationRule(),
            ProvenanceInfoRule().as_qualified(ModificationLevel.LTA_UPDATES),
            XrefStreamRule().as_qualified(ModificationLevel.LTA_UPDATES),
            ObjectStreamRule().as_qualified(ModificationLevel.LTA_UPDATES),
            DSSCompareRule().as_qualified(ModificationLevel.LTA_UPDATES),
            MetadataUpdateRule().as_qualified(ModificationLevel.LTA_UPDATES),
            EquivalentRewriteRule(),
        ],
        form_rule=FormUpdatingRule(
            field_rules=[
                SigFieldCreationRule(),
                SigFieldModificationRule(),
                TaggedFieldModificationRule(),
                RadioStateRule(),
            ],
        ),
    )
