"""Make one patient's packet from built documents: choose them, build what is stale, assemble.

The fast path never renders: documents come from out/ (built and current), the "Prepared
for ..." line is a one-field stamp page filled and laid onto each first page, and the
consent form's own fields are pre-filled. When the manifest's snapshot is current (see
build/snapshot.py) not even the catalogue is loaded. WeasyPrint is imported only when
something the packet needs is stale or missing, and then only to build that.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from handouts.build import snapshot
from handouts.build.index import CatalogueIndex
from handouts.errors import HandoutsError, InputErrors, OutputError, UsageError, choose, choose_brand
from handouts.packet.assemble import assemble
from handouts.packet.naming import DEFAULT_PATTERN, file_name, packet_flags, patient_id
from handouts.packet.request import PacketRequest, Patient
from handouts.project import Project
from handouts.render.outputs import STAMP_ID, OutputSpec, Variant

if TYPE_CHECKING:
    from handouts.content.catalogue import Catalogue

log = logging.getLogger(__name__)


class Choices(Protocol):
    """What choosing a packet's documents needs: a Catalogue or the snapshot's CatalogueIndex."""

    @property
    def default_language(self) -> str: ...

    @property
    def document_ids(self) -> list[str]: ...

    @property
    def default_brand(self) -> str | None: ...

    @property
    def defaults(self) -> dict[str, str]: ...

    def kind(self, doc_id: str, lang: str) -> str: ...

    def is_translated(self, doc_id: str, lang: str) -> bool: ...

    def choices(self, noun: str) -> list[str]: ...

    def pick(self, noun: str, value: str, field: str | None = None) -> str: ...


@dataclass(frozen=True)
class Plan:
    """What a request comes to: the brand, language and document ids (defaults filled in)."""

    brand: str
    lang: str
    documents: tuple[str, ...]

    def file_name(self, patient: Patient, pattern: str = DEFAULT_PATTERN, flags: str = "") -> str:
        """The packet's file name (see naming.file_name)."""
        return file_name(patient, self.brand, self.lang, self.documents, pattern, flags)


@dataclass(frozen=True)
class Packet:
    pdf: bytes
    pages: int
    brand: str
    lang: str
    documents: tuple[str, ...]
    built: int  # outputs that had to be built first
    # handouts.yaml's `signing:` when the project signs: fillable packets are then certified
    # as their last step (handouts.sign.packets.finish), after any encryption.
    signing: dict[str, Any] | None = None
    # (document id, version, content fingerprint) of each document, as built: for the register.
    issued: tuple[tuple[str, str, str], ...] = ()
    packet_id: str = ""  # the id in its default file name, also in its metadata (/handoutspacketid)

    @property
    def plan(self) -> Plan:
        return Plan(self.brand, self.lang, self.documents)

    def file_name(self, patient: Patient, pattern: str = DEFAULT_PATTERN, flags: str = "") -> str:
        """The packet's file name (see naming.file_name)."""
        return self.plan.file_name(patient, pattern, flags)


def resolve_docs(cat: Choices, names: Sequence[str], lang: str) -> list[str]:
    """Map kinds (info, consent, aftercare) or document ids to document ids, in order.

    A kind means its only document, or the one marked `default: true` when there are several.
    Every document must have its own version in lang: a French patient is never handed an
    English sheet under a French "Prepared for" line.
    """
    by_kind: dict[str, list[str]] = {}
    for doc_id in cat.document_ids:
        by_kind.setdefault(cat.kind(doc_id, cat.default_language), []).append(doc_id)
    defaults = cat.defaults
    result = []
    for name in names:
        if name in cat.document_ids:
            result.append(name)
        elif name in defaults:
            result.append(defaults[name])
        elif name in by_kind:
            raise UsageError(
                "{field}: '{name}' could mean {choices}: name one of them, or mark the one '{name}' "
                "means with 'default: true' in its {default}.yaml",
                field="docs",
                code="ambiguous",
                name=name,
                choices=", ".join(by_kind[name]),
                default=cat.default_language,
            )
        else:
            choose("document", name, sorted(set(by_kind) | set(cat.document_ids)), field="docs")
    if len(set(result)) != len(result):
        raise UsageError("{field}: a document is listed twice", field="docs", code="twice")
    if not result:
        raise UsageError("{field}: name at least one document", field="docs", code="empty")
    missing = [doc_id for doc_id in result if not cat.is_translated(doc_id, lang)]
    if missing:
        raise UsageError(
            "{field}: {missing} {has} no '{lang}' version (content/documents/<id>/{lang}.yaml): "
            "translate it, choose another language, or leave it out of the packet",
            field="lang",
            code="untranslated",
            missing=", ".join(missing),
            has="has" if len(missing) == 1 else "have",
            lang=lang,
        )
    return result


def resolve(cat: Choices, docs: Sequence[str], brand: str | None, lang: str | None) -> Plan:
    """The brand, language and documents asked for (None: the defaults); raise InputErrors, by field."""
    problems: list[HandoutsError] = []
    chosen: dict[str, str] = {}
    try:
        chosen["brand"] = choose_brand(brand, cat.default_brand, cat.choices("brand"), "brand")
    except HandoutsError as exc:
        problems.append(exc)
    try:
        chosen["lang"] = cat.pick("language", lang or cat.default_language, field="lang")
    except HandoutsError as exc:
        problems.append(exc)
    try:
        documents = tuple(resolve_docs(cat, docs, chosen.get("lang", cat.default_language)))
    except HandoutsError as exc:
        problems.append(exc)
    if problems:
        raise InputErrors(problems)
    return Plan(chosen["brand"], chosen["lang"], documents)


def resolve_request(cat: Choices, request: PacketRequest) -> Plan:
    """The brand, language and documents a request asks for (defaults filled in)."""
    return resolve(cat, request.docs, request.brand, request.lang)


def packet_specs(cat: CatalogueIndex, plan: Plan, large: bool) -> list[OutputSpec]:
    """The built outputs a packet is made from: each document, then the stamp page."""
    specs = []
    for doc_id in plan.documents:
        consent = cat.kind(doc_id, plan.lang) == "consent"
        if large:
            variant: Variant = "fillable-large-print" if consent else "large-print"
        else:
            variant = "fillable" if consent else "print"
        specs.append(OutputSpec(plan.brand, plan.lang, doc_id, variant))
    specs.append(OutputSpec(plan.brand, plan.lang, STAMP_ID, "stamp-large-print" if large else "stamp"))
    return specs


def ensure_built(cat: Catalogue, specs: list[OutputSpec], out_dir: Path) -> int:
    """Build whatever of specs is stale or missing; return how many were built."""
    from handouts.build.builder import build
    from handouts.build.fingerprint import build_fingerprint
    from handouts.build.manifest import is_current, read_manifest
    from handouts.build.report import BuildOptions

    manifest = read_manifest(out_dir)
    stale = [s.key for s in specs if not is_current(out_dir, manifest.get(s.key), build_fingerprint(cat, s))]
    if not stale:
        return 0
    log.info("building %d output(s) the packet needs", len(stale))
    report = build(cat.project, BuildOptions(out_dir=out_dir, keys=tuple(stale), jobs=1))
    failed = [r for r in report.results if r.status == "failed"]
    if failed or report.problems:
        reason = failed[0].message if failed else str(report.problems[0])
        raise UsageError(f"cannot build what the packet needs: {reason}")
    return report.count("built")


def make_packet(
    project: Project,
    request: PacketRequest,
    out_dir: Path | None = None,
    state: snapshot.Current | None = None,
) -> Packet:
    """Return the packet PDF for one patient (state: snapshot.current(), if already known)."""
    state = state or snapshot.current(project, out_dir)
    cat = None
    if state is not None:
        # Nothing changed since the last clean build: the snapshot's index stands for the catalogue.
        index, out = state.index, state.out
    else:
        from handouts.content.catalogue import load_catalogue

        cat = load_catalogue(project)
        index, out = CatalogueIndex.from_catalogue(cat), out_dir or project.root / cat.config.out
    plan = resolve_request(index, request)
    specs = packet_specs(index, plan, request.large_print)
    built = 0
    if state is None or not state.all_current(s.key for s in specs):
        if cat is None:
            from handouts.content.catalogue import load_catalogue

            cat = load_catalogue(project)
        built = ensure_built(cat, specs, out)
    from pikepdf import PdfError

    flags = packet_flags(request.fillable, request.large_print, request.encrypted)
    packet_id = patient_id(request.patient, plan.documents, flags)
    try:
        pdf, pages = assemble(index, request, specs, out, packet_id)
    except (OSError, PdfError) as exc:
        # A built file changed or vanished under us: a user-fixable state, not a bug.
        raise OutputError(
            f"{out}: a built document could not be read ({type(exc).__name__}); "
            "run `handouts build --force` and try again"
        ) from exc
    entries = state.entries if state is not None and not built else None
    if entries is None:
        from handouts.build.manifest import read_manifest

        entries = read_manifest(out)
    issued = tuple(
        (s.doc_id, e.version, e.content_fingerprint)
        for s in specs[:-1]
        if (e := entries.get(s.key)) is not None
    )
    return Packet(pdf, pages, plan.brand, plan.lang, plan.documents, built, index.signing, issued, packet_id)
