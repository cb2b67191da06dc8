"""Assemble one patient's packet from built documents with pikepdf: merge, fill, stamp.

The fast path never renders: documents come from out/ (built and current), the "Prepared
for ..." line is a one-field stamp page filled and laid onto each first page, and the
consent form's own fields are pre-filled. When the manifest's snapshot is current (see
snapshot.py) not even the catalogue is loaded. WeasyPrint is imported only when something
the packet needs is stale or missing, and then only to build that.

pikepdf (qpdf) rather than pypdf: pypdf parses every object of a tagged PDF in Python and
generates field appearances by parsing the embedded font each time, which made a packet
take about 1 s; with qpdf the assembly takes about 30 ms.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import logging
import string
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from handouts import snapshot
from handouts.errors import OutputError, UsageError
from handouts.outputs import STAMP_ID, OutputSpec, Variant
from handouts.project import Project
from handouts.snapshot import CatalogueIndex

if TYPE_CHECKING:
    from handouts.content import Catalogue

log = logging.getLogger(__name__)

MAX_TEXT = 100
DEFAULT_PATTERN = "packet-{brand}-{lang}-{date}-{id}.pdf"
PATTERN_KEYS = ("patient", "date", "brand", "lang", "id")


@dataclass(frozen=True)
class Patient:
    """The details printed on a packet; held in memory only, never logged."""

    name: str
    dob: dt.date | None = None
    date: dt.date | None = None
    therapist: str | None = None
    area: str | None = None


@dataclass(frozen=True)
class PacketRequest:
    patient: Patient
    docs: tuple[str, ...] = ("info", "consent", "aftercare")
    brand: str | None = None
    lang: str | None = None
    fillable: bool = False
    large_print: bool = False


@dataclass(frozen=True)
class Packet:
    pdf: bytes
    pages: int
    brand: str
    lang: str
    documents: tuple[str, ...]
    built: int  # outputs that had to be built first

    def file_name(self, patient: Patient, pattern: str = DEFAULT_PATTERN, flags: str = "") -> str:
        """A file name; the default holds no patient name (names leak into mail logs).

        flags (see packet_flags) go into the id, so a packet made with other options
        (fillable, large print, encrypted) never passes for this one.
        """
        values = {
            "patient": _safe_file_part(patient.name),
            "date": (patient.date or dt.date.today()).isoformat(),
            "brand": self.brand,
            "lang": self.lang,
            "id": patient_id(patient, self.documents, flags),
        }
        allowed = ", ".join("{" + k + "}" for k in PATTERN_KEYS)
        try:
            # Plain {field} names only: no attributes, indexes or format specs.
            fields = [f for _, f, spec, conv in string.Formatter().parse(pattern) if f is not None]
            bad = [f for f in fields if f not in values]
            if bad or any(spec or conv for _, f, spec, conv in string.Formatter().parse(pattern) if f):
                raise UsageError(f"--name-pattern: unknown field '{(bad or fields)[0]}'; use {allowed}")
            name = pattern.format(**values)
        except ValueError:
            raise UsageError(f"--name-pattern: not a pattern; use fields like {allowed}") from None
        if "/" in name or "\0" in name or name.startswith("."):
            raise UsageError("--name-pattern must give a plain file name")
        return name if name.lower().endswith(".pdf") else f"{name}.pdf"


def packet_flags(fillable: bool, large_print: bool, encrypted: bool) -> str:
    """The options that change a packet's bytes, for its file name's id."""
    return f"fillable={fillable};large={large_print};encrypted={encrypted}"


def patient_id(patient: Patient, documents: Sequence[str], flags: str = "") -> str:
    """A short stable id of a packet's inputs: same inputs, same file name."""
    text = "\0".join(
        [patient.name, str(patient.dob), str(patient.date), patient.therapist or "", patient.area or ""]
        + list(documents)
        + [flags]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def _safe_file_part(text: str) -> str:
    kept = "".join(c if c.isalnum() else "-" for c in unicodedata.normalize("NFKC", text))
    return "-".join(part for part in kept.split("-") if part)[:60] or "patient"


# --- checking what a person typed ------------------------------------------------------


def check_text(
    project: Project,
    option: str,
    value: str | None,
    required: bool = False,
    index: CatalogueIndex | None = None,
) -> str | None:
    """Return value stripped, or raise UsageError saying plainly what cannot be printed.

    index: the snapshot's, when current (it knows the field font's characters).
    """
    if value is None or not value.strip():
        if required:
            raise UsageError(f"{option} is required")
        return None
    text = unicodedata.normalize("NFC", value.strip())
    if len(text) > MAX_TEXT:
        raise UsageError(f"{option} is {len(text)} characters long; at most {MAX_TEXT} fit on the form")
    printable = index.printable if index is not None else snapshot.field_font_ranges(project)
    for char in text:
        category = unicodedata.category(char)
        if category[0] == "C" or category in ("Zl", "Zp"):
            raise UsageError(
                f"{option} contains an invisible control character (U+{ord(char):04X}); "
                "type the text again without it"
            )
        if not snapshot.covers(printable, char):
            raise UsageError(
                f"{option} contains '{char}' (U+{ord(char):04X}), which the form font cannot print; "
                "use Latin, Greek or Cyrillic letters"
            )
    return text


def parse_date(option: str, value: str | None) -> dt.date | None:
    """Parse YYYY-MM-DD, refusing impossible dates with a clear message."""
    if value is None or not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        # The value itself stays out of the message: it may be a date of birth.
        raise UsageError(f"{option} is not a real date; use YYYY-MM-DD, e.g. 1980-02-03") from None


def make_patient(
    project: Project,
    name: str | None,
    dob: str | None = None,
    date: str | None = None,
    therapist: str | None = None,
    area: str | None = None,
    today: dt.date | None = None,
    index: CatalogueIndex | None = None,
) -> Patient:
    """Check every value a person typed; raise UsageError on the first bad one."""
    patient_name = check_text(project, "--patient", name, required=True, index=index)
    assert patient_name is not None
    born = parse_date("--dob", dob)
    when = parse_date("--date", date) or today or dt.date.today()
    if born is not None and born > when:
        raise UsageError("--dob is after the appointment date; check both dates")
    if born is not None and born.year < 1900:
        raise UsageError("--dob is before 1900; check the year")
    return Patient(
        name=patient_name,
        dob=born,
        date=when,
        therapist=check_text(project, "--therapist", therapist, index=index),
        area=check_text(project, "--area", area, index=index),
    )


# --- choosing and building the documents ---------------------------------------------


def resolve_docs(cat: CatalogueIndex, names: Sequence[str], lang: str) -> list[str]:
    """Map kinds (info, consent, aftercare) or document ids to document ids, in order."""
    by_kind: dict[str, list[str]] = {}
    for doc_id in cat.document_ids:
        by_kind.setdefault(cat.kind(doc_id, lang), []).append(doc_id)
    result = []
    for name in names:
        if name in cat.document_ids:
            result.append(name)
        elif len(by_kind.get(name, [])) == 1:
            result.append(by_kind[name][0])
        elif name in by_kind:
            raise UsageError(f"--docs: '{name}' is ambiguous; use one of: {', '.join(by_kind[name])}")
        else:
            choices = sorted(set(by_kind) | set(cat.document_ids))
            raise UsageError(f"--docs: unknown document '{name}'; choose from: {', '.join(choices)}")
    if len(set(result)) != len(result):
        raise UsageError("--docs: a document is listed twice")
    if not result:
        raise UsageError("--docs: name at least one document")
    return result


def packet_specs(
    cat: CatalogueIndex, doc_ids: Sequence[str], brand: str, lang: str, large: bool
) -> list[OutputSpec]:
    """The built outputs a packet is made from: each document, then the stamp page."""
    specs = []
    for doc_id in doc_ids:
        consent = cat.kind(doc_id, lang) == "consent"
        if large:
            variant: Variant = "fillable-large-print" if consent else "large-print"
        else:
            variant = "fillable" if consent else "print"
        specs.append(OutputSpec(brand, lang, doc_id, variant))
    specs.append(OutputSpec(brand, lang, STAMP_ID, "stamp-large-print" if large else "stamp"))
    return specs


def ensure_built(cat: Catalogue, specs: list[OutputSpec], out_dir: Path) -> int:
    """Build whatever of specs is stale or missing; return how many were built."""
    from handouts.build import build, build_fingerprint
    from handouts.manifest import is_current, read_manifest
    from handouts.results import BuildOptions

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


# --- assembling ------------------------------------------------------------------------


def resolve_request(cat: CatalogueIndex, request: PacketRequest) -> tuple[str, str, list[str]]:
    """The brand, language and document ids a request asks for (defaults filled in)."""
    brand = request.brand or sorted(cat.brands)[0]
    lang = request.lang or cat.default_language
    if brand not in cat.brands:
        raise UsageError(f"--brand: unknown brand '{brand}'; choose from: {', '.join(sorted(cat.brands))}")
    if lang not in cat.languages:
        raise UsageError(f"--lang: unknown language '{lang}'; choose from: {', '.join(cat.languages)}")
    return brand, lang, resolve_docs(cat, request.docs, lang)


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
        from handouts.content import load_catalogue

        cat = load_catalogue(project)
        index, out = CatalogueIndex.from_catalogue(cat), out_dir or project.root / cat.config.out
    brand, lang, doc_ids = resolve_request(index, request)
    specs = packet_specs(index, doc_ids, brand, lang, request.large_print)
    built = 0
    if state is None or not state.all_current(s.key for s in specs):
        if cat is None:
            from handouts.content import load_catalogue

            cat = load_catalogue(project)
        built = ensure_built(cat, specs, out)
    from pikepdf import PdfError

    try:
        pdf, pages = assemble(index, request, specs, out)
    except (OSError, PdfError) as exc:
        # A built file changed or vanished under us: a user-fixable state, not a bug.
        raise OutputError(
            f"{out}: a built document could not be read ({type(exc).__name__}); "
            "run `handouts build --force` and try again"
        ) from exc
    return Packet(pdf, pages, brand, lang, tuple(doc_ids), built)


def prepared_line(cat: CatalogueIndex, lang: str, patient: Patient) -> str:
    """'Prepared for Jane Doe, December 1, 2026, therapist Sam Lee, area: left upper trapezius'."""
    t = cat.messages[lang]
    parts = [f"{t['prepared_for']} {patient.name}"]
    if patient.date:
        parts.append(format_date(patient.date, lang, cat))
    if patient.therapist:
        parts.append(f"{t['therapist']} {patient.therapist}")
    if patient.area:
        parts.append(f"{t['area']}: {patient.area}")
    return ", ".join(parts)


def format_date(day: dt.date, lang: str, cat: CatalogueIndex | None = None) -> str:
    """The long date in lang ("December 1, 2026", "1 décembre 2026"), as babel writes it.

    With an index, from babel's format stored at build time (checked against babel there).
    """
    entry = cat.long_dates.get(lang) if cat is not None else None
    filled = snapshot.fill_long_date(entry, day) if entry else None
    if filled is not None:
        return filled
    from babel.dates import format_date as babel_format

    return babel_format(day, format="long", locale=lang.replace("-", "_"))


def assemble(
    cat: CatalogueIndex,
    request: PacketRequest,
    specs: list[OutputSpec],
    out: Path,
) -> tuple[bytes, int]:
    """Merge the documents, stamp each first page, fill (and maybe flatten) the consent form.

    pikepdf (qpdf) does the merging: pypdf parses every object of a tagged PDF in Python,
    which made a packet take about 1 s; qpdf takes a few milliseconds.
    """
    import pikepdf
    from pikepdf import Dictionary, Name, OutlineItem, Rectangle, String

    from handouts.tagging import StructureMerger, drop_dead_object_refs, flatten_as_artifacts

    patient = request.patient
    *doc_specs, stamp_spec = specs
    line = prepared_line(cat, stamp_spec.lang, patient)
    # Every PDF stays open until the packet is written (qpdf copies stream data then), and
    # is closed right after: `serve` and `packets` make many packets in one process.
    with contextlib.ExitStack() as opened:
        stamp = opened.enter_context(_filled_stamp(out / stamp_spec.relpath, line))
        packet = opened.enter_context(pikepdf.new())
        tags = StructureMerger(packet)
        consent_meta: dict[str, str] = {}
        starts = []
        for spec in doc_specs:
            source = opened.enter_context(pikepdf.open(out / spec.relpath))
            if spec.fillable:
                _fill(source, consent_values(spec.lang, patient))
                if request.fillable:
                    info = source.docinfo.items()
                    consent_meta = {str(k): str(v) for k, v in info if str(k).startswith("/handouts")}
                else:
                    flatten_as_artifacts(source)
                    _drop_form(source)
                    drop_dead_object_refs(source)
            title = cat.title(spec.doc_id, spec.lang)
            offset = tags.prepare(source)
            start = len(packet.pages)
            forms: Literal["preserve", "strip"] = "preserve" if request.fillable else "strip"
            packet.add_pages_from(source, outlines="ignore", forms=forms)
            starts.append((start, title, tags.add(source, offset, title)))
        stamp_form = stamp.pages[0].as_form_xobject()
        for start, _, part in starts:
            # Page.add_overlay names the stamp at random: the same request must give the same bytes.
            page = packet.pages[start]
            name = page.add_resource(stamp_form, Name.XObject, Name("/HandoutsStamp"))
            placement = page.calc_form_xobject_placement(stamp_form, name, Rectangle(page.trimbox))
            before, after = tags.stamp(page, part)
            page.contents_add(b"q\n", prepend=True)
            page.contents_add(b"Q\n" + before + placement + after)
        tags.finish()
        with packet.open_outline() as outline:
            outline.root.extend(OutlineItem(title, start) for start, title, _ in starts)
        total = len(packet.pages)
        packet.Root.PageLabels = Dictionary(Nums=[0, Dictionary(S=Name.D, St=1)])
        if request.fillable and "/AcroForm" in packet.Root:
            packet.Root.AcroForm.NeedAppearances = False
        brand_name = cat.brands[stamp_spec.brand]
        metadata = {
            "/Title": f"{cat.messages[stamp_spec.lang]['prepared_for']} – {brand_name}",
            "/Author": brand_name,
            "/Producer": "handouts (pikepdf)",
            "/handoutspacket": ",".join(s.doc_id for s in doc_specs),
            **consent_meta,
        }
        for key, value in metadata.items():
            packet.docinfo[Name(key)] = String(value)
        packet.Root.Lang = String(stamp_spec.lang)
        buffer = io.BytesIO()
        # Object streams: about 15% smaller, and no slower to write. The same request gives the
        # same bytes (the file id is a hash of the content), so a re-run is recognised as such.
        packet.save(buffer, object_stream_mode=pikepdf.ObjectStreamMode.generate, deterministic_id=True)
    return buffer.getvalue(), total


def _fill(pdf: Any, values: dict[str, str], appearance: Any = None) -> None:
    """Fill text fields, drawing their appearances in the embedded field font."""
    from pikepdf.form import Form, TextField

    from handouts.fieldtext import FieldTextAppearance

    form = Form(pdf, appearance or FieldTextAppearance)
    for name, value in values.items():
        field = form[name]
        if not isinstance(field, TextField):
            raise OutputError(f"form field {name} is not a text field; rebuild the catalogue")
        field.value = value


def _drop_form(pdf: Any) -> None:
    """Remove the form once flattened: widgets left (fields never filled) and the AcroForm."""
    from pikepdf import Array, Name

    for page in pdf.pages:
        if "/Annots" in page.obj:
            kept = [a for a in page.obj.Annots if a.get("/Subtype") != Name.Widget]
            if kept:
                page.obj.Annots = Array(kept)
            else:
                del page.obj.Annots
    if "/AcroForm" in pdf.Root:
        del pdf.Root.AcroForm


def consent_values(lang: str, patient: Patient) -> dict[str, str]:
    """The consent form's fields that a packet pre-fills (never the answers or signature).

    Dates as YYYY-MM-DD: unambiguous in every language, and what `archive` reads back.
    """
    values = {"patient.name": patient.name}
    if patient.dob:
        values["patient.dob"] = patient.dob.isoformat()
    if patient.date:
        values["patient.date"] = patient.date.isoformat()
    if patient.therapist:
        values["therapist.name"] = patient.therapist
    return values


def _filled_stamp(path: Path, line: str) -> Any:
    """The stamp page (an open pikepdf.Pdf) with its one field filled and flattened."""
    import pikepdf

    from handouts.fieldtext import StampTextAppearance, TextTooLong

    stamp = pikepdf.open(path)
    # The stamp page draws nothing but its field (WeasyPrint's page content would paint
    # over the document it is laid on).
    stamp.pages[0].obj.Contents = stamp.make_stream(b"")
    try:
        _fill(stamp, {"prepared.for": line}, StampTextAppearance)
    except TextTooLong:
        stamp.close()
        raise UsageError(
            f"the 'Prepared for' line would be {len(line)} characters, too long to print legibly; "
            "shorten --area or --therapist"
        ) from None
    stamp.flatten_annotations("all")
    _drop_form(stamp)
    return stamp


# The AES-256 security handler (R=6) reads at most 127 bytes of a UTF-8 password; qpdf would
# encrypt with a longer one that no reader can then open.
MAX_PASSWORD_BYTES = 127


def check_password(password: str | None) -> None:
    """Refuse a password that would make an encrypted packet nobody can open."""
    if password is None:
        return
    if not password:
        raise UsageError("--password is empty")
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise UsageError(f"--password is too long: at most {MAX_PASSWORD_BYTES} bytes (127 plain letters)")


def protect(pdf: bytes, password: str) -> bytes:
    """Encrypt a packet with AES-256 (PDF 2.0 security handler, R=6), and check it opens."""
    import pikepdf

    check_password(password)
    with pikepdf.open(io.BytesIO(pdf)) as opened:
        buffer = io.BytesIO()
        opened.save(buffer, encryption=pikepdf.Encryption(user=password, owner=password, R=6, aes=True))
    try:
        pikepdf.open(io.BytesIO(buffer.getvalue()), password=password).close()
    except pikepdf.PasswordError:
        raise OutputError("the encrypted packet would not open with its password; nothing written") from None
    return buffer.getvalue()
