"""Read a filled fillable consent form back and flag the contraindications answered yes.

Patient answers and names are returned to the caller only: never logged, never written.
A form this reader cannot fully understand is an error, never an all-clear.
"""

from __future__ import annotations

import io
import logging
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from handouts.confine import FileTooLarge, RefusedFile, read_file
from handouts.errors import SCREEN_EXIT, PdfInputError, Spelling, TamperedError, as_is

MAX_PDF_BYTES = 20_000_000
# The most one stream of a returned form may decode to (pypdf's own limit is 75 MB): a consent
# form's largest, a logo's pixels, is a few MB. A decompression bomb stops here.
MAX_DECODED_BYTES = 50_000_000
UNSIGNED = "unsigned"  # how a certification line starts for a form that carries no signature
# What pypdf raises, besides its own PyPdfError, on damaged or hostile files.
PDF_ERRORS: tuple[type[BaseException], ...] = (
    ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError,
    OverflowError, AssertionError, UnicodeError, OSError,
)  # fmt: skip

Status = Literal["clear", "flagged", "needs-review", "incomplete", "unreadable", "tampered"]
# For a folder, the exit code is that of the worst file, in this order (worst last), as in
# errors.SCREEN_EXIT: a form changed after the clinic certified it outweighs everything.
# needs-review: a scanned form with a mark, page or line a person must look at (intake/scan).
SEVERITY_ORDER: tuple[Status, ...] = (
    "clear", "incomplete", "needs-review", "flagged", "unreadable", "tampered",
)  # fmt: skip
# The verdict on a form carrying active content (JavaScript, actions, XFA, embedded files,
# foreign annotations: intake.active), unless something worse is wrong; the one place it is
# decided (never clear: a genuine filled form carries none of it).
ACTIVE_VERDICT: Status = "tampered"


class NotFillableError(PdfInputError):
    """A PDF without our form fields or metadata: a scan of a printed form, perhaps."""


@dataclass(frozen=True)
class Flag:
    id: str
    label: str
    severity: str
    therapist_note: str


@dataclass(frozen=True)
class FormInfo:
    document: str
    version: str
    effective: str
    fingerprint: str
    lang: str
    brand: str
    packet_id: str = ""  # the packet it came in (/handoutspacketid), when it came in one


@dataclass
class ScreenResult:
    """What a filled form says; serialised as the stable `--json` object (format 1)."""

    file: str
    status: Status
    form: FormInfo | None = None
    current_version: str | None = None
    is_current: bool | None = None
    answers: dict[str, str | None] = field(default_factory=dict)
    flagged: list[Flag] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)
    consent_box: bool = False
    signature: bool = False
    date: bool = False
    patient_name: str = ""
    # Why the form is unreadable or tampered (the face words it: see `error`).
    problem: PdfInputError | None = None
    # The clinic's certification: "signature valid ...", "unsigned", or what changed (tampered).
    certification: str | None = None
    certification_warning: bool = False
    # "fillable" (form fields) or "scan" (a scanned paper form: see intake/scan).
    source: str = "fillable"
    # Scans only: how sure the reading of each answer is (0-1), the rows and boxes a person
    # must look at ({"id", "reason"}), one line per other problem, and the scan pages read.
    confidence: dict[str, float] = field(default_factory=dict)
    unclear: list[dict[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    pages: list[int] = field(default_factory=list)
    # What the form carries that a genuine one never does (intake.active), when anything.
    active_content: list[str] = field(default_factory=list)

    @property
    def signature_check(self) -> Literal["none", "valid", "invalid"]:
        """The certification in a word (the consent register keeps it): none, valid or invalid.

        invalid: changed after certifying (tampered), or signed by no signer this project trusts.
        """
        if self.status == "tampered":
            return "invalid"
        if self.certification is None or self.certification.startswith(UNSIGNED):
            return "none"
        return "invalid" if self.certification_warning else "valid"

    @property
    def exit_code(self) -> int:
        return SCREEN_EXIT[self.status]

    def error(self, spell: Spelling = as_is) -> str | None:
        """Why the form is unreadable, with fields named as the face names them."""
        return self.problem.worded(spell) if self.problem is not None else None

    def to_json(self, spell: Spelling = as_is) -> dict[str, Any]:
        data = asdict(replace(self, problem=None))
        data.pop("problem")
        data["error"] = self.error(spell)
        data["exit_code"] = self.exit_code
        return data


@dataclass(frozen=True)
class CurrentContent:
    """What content/ says today about a form's document and checklist."""

    version: str | None
    checklist: dict[str, Flag]
    signing: Any = None  # the project's SigningSettings, when it signs


def pdf_errors() -> tuple[type[BaseException], ...]:
    """Everything pypdf raises on a damaged or hostile file."""
    from pypdf.errors import PyPdfError

    return (PyPdfError, *PDF_ERRORS)


def read_pdf(path: Path, limit: int = MAX_PDF_BYTES) -> bytes:
    """A PDF the user names: a regular file (not /dev/zero, not a pipe), its size told by stat() first."""
    try:
        data = read_file(path, None, str(path), limit)
    except FileTooLarge:
        raise PdfInputError(f"{path}: larger than {limit // 1_000_000} MB, not a consent form") from None
    except RefusedFile as exc:
        raise PdfInputError(f"{path}: {exc.reason}") from None
    if not data:
        raise PdfInputError(f"{path}: empty file, not a PDF")
    return data


def bounded_decoding() -> Any:
    """A context in which pypdf decodes no stream (nor, in all, work) beyond MAX_DECODED_BYTES."""
    from pypdf import apply_configuration

    limit = MAX_DECODED_BYTES
    return apply_configuration(
        zlib_maximum_output_length=limit,
        lzw_maximum_output_length=limit,
        run_length_maximum_output_length=limit,
        brotli_maximum_output_length=limit,
        jbig2_maximum_output_length=limit,
        array_based_stream_maximum_output_length=limit,
        image_maximum_buffer_size=limit,
        stream_decoding_work_maximum_length=4 * limit,
    )


def read_form(path: Path, password: str | None = None) -> tuple[FormInfo, dict[str, Any], list[str]]:
    """Return the form's provenance, its field values, and the checklist ids it was built with."""
    return read_form_data(read_pdf(path), str(path), password)


def read_form_data(
    data: bytes, path: str, password: str | None = None
) -> tuple[FormInfo, dict[str, Any], list[str]]:
    """Like read_form, for a form held in memory (an upload); path only names it in messages."""
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError

    if not data:
        raise PdfInputError(f"{path}: empty file, not a PDF")
    if len(data) > MAX_PDF_BYTES:
        raise PdfInputError(f"{path}: larger than {MAX_PDF_BYTES // 1_000_000} MB, not a consent form")
    if not data.lstrip()[:5] == b"%PDF-":
        raise PdfInputError(f"{path}: not a PDF file")
    # pypdf warns about every oddity of a damaged file; the one-line error is enough.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        with bounded_decoding():
            return _read(PdfReader(io.BytesIO(data), strict=False), path, password)
    except PdfInputError:
        raise
    except FileNotDecryptedError as exc:
        raise _needs_password(path) from exc
    except pdf_errors() as exc:
        raise PdfInputError(f"{path}: unreadable PDF ({type(exc).__name__})") from exc


def _read(reader: Any, path: str, password: str | None) -> tuple[FormInfo, dict[str, Any], list[str]]:
    from pypdf.errors import FileNotDecryptedError, PyPdfError

    from handouts.intake.active import find_active

    try:
        if reader.is_encrypted:
            if not password:
                raise _needs_password(path)
            if not reader.decrypt(password):
                raise PdfInputError(f"{path}: wrong password")
        meta: Any = reader.metadata or {}
        info = FormInfo(
            document=str(meta.get("/handoutsdoc", "")),
            version=str(meta.get("/handoutsversion", "")),
            effective=str(meta.get("/handoutseffective", "")),
            fingerprint=str(meta.get("/handoutsfingerprint", "")),
            lang=str(meta.get("/handoutslang", "")),
            brand=str(meta.get("/handoutsbrand", "")),
            packet_id=str(meta.get("/handoutspacketid", "")),
        )
        checklist = str(meta.get("/handoutschecklist", ""))
        if not (info.document and info.version and checklist):
            raise NotFillableError(f"{path}: not a handouts consent form (no provenance in its metadata)")
        fields = reader.get_fields() or {}
        active = find_active(reader.trailer["/Root"])
    except PdfInputError:
        raise
    except FileNotDecryptedError as exc:
        raise _needs_password(path) from exc
    except pdf_errors() as exc:
        raise PdfInputError(f"{path}: unreadable PDF ({type(exc).__name__})") from exc
    if not fields:
        raise NotFillableError(
            f"{path}: not a fillable consent form (no form fields; screen the -fillable.pdf)"
        )
    values = {name: f.get("/V") for name, f in fields.items()}
    kinds = {name: f.get("/FT") for name, f in fields.items()}
    try:
        shown = {name: _shown_states(f) for name, f in fields.items()}
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise PdfInputError(f"{path}: unreadable PDF ({type(exc).__name__})") from exc
    found = {"values": values, "kinds": kinds, "shown": shown, "active": active}
    return info, found, [c for c in checklist.split(",") if c]


def _needs_password(path: str) -> PdfInputError:
    return PdfInputError(
        "{name}: encrypted; give the password with {field}", field="password", code="encrypted", name=path
    )


def _shown_states(field: Any) -> set[str]:
    """The states a button's widgets show (what the patient sees), without /Off."""
    widgets = [k.get_object() for k in field.get("/Kids", [])] or [field]
    return {str(w.get("/AS")) for w in widgets if w.get("/AS") not in (None, "/Off")}


def evaluate(
    path: Path, form: tuple[FormInfo, dict[str, Any], list[str]], current: CurrentContent | None
) -> ScreenResult:
    """Judge one read form; raise PdfInputError when it cannot be fully understood."""
    info, fields, checklist = form
    values, kinds = fields["values"], fields["kinds"]
    result = ScreenResult(file=str(path), status="clear", form=info)
    prefix = "contraindication."
    present = {name[len(prefix) :] for name in values if name.startswith(prefix)}
    if present != set(checklist):
        missing = sorted(set(checklist) - present)
        extra = sorted(present - set(checklist))
        detail = (f"missing {', '.join(missing)}" if missing else "") + (
            f"{'; ' if missing else ''}unexpected {', '.join(extra)}" if extra else ""
        )
        raise PdfInputError(f"{path}: checklist fields do not match the form's own list ({detail})")
    for cid in checklist:
        name = prefix + cid
        value = values[name]
        answer = _name_value(value)
        if kinds[name] != "/Btn" or answer not in ("yes", "no", "Off", ""):
            raise PdfInputError(f"{path}: field {name} holds an answer this reader does not know")
        # The stored value and the ticks the patient saw must say the same thing.
        shown = fields["shown"][name]
        expected = {f"/{answer}"} if answer in ("yes", "no") else set()
        if shown != expected:
            raise PdfInputError(
                f"{path}: field {name}: its stored answer and the tick shown disagree; check the form by hand"
            )
        result.answers[cid] = answer if answer in ("yes", "no") else None
    for name, kind in (
        ("consent.agree", "/Btn"),
        ("patient.signature", "/Tx"),
        ("patient.date", "/Tx"),
        ("patient.name", "/Tx"),
    ):
        if name not in values or kinds[name] != kind:
            raise PdfInputError(f"{path}: field {name} is missing or of the wrong type")
    result.consent_box = _name_value(values["consent.agree"]) in ("Yes", "on")
    result.signature = bool(str(values["patient.signature"] or "").strip())
    result.date = bool(str(values["patient.date"] or "").strip())
    result.patient_name = str(values["patient.name"] or "").strip()  # stdout only
    known = current.checklist if current else {}
    for cid, given in result.answers.items():
        if given == "yes":
            result.flagged.append(
                known.get(cid)
                or Flag(cid, cid, "unknown", "not in the current content: check this answer by hand")
            )
        elif given is None:
            result.unanswered.append(cid)
    if current is not None:
        result.current_version = current.version
        result.is_current = current.version == info.version
    if result.flagged:
        result.status = "flagged"
    elif result.unanswered or not (result.consent_box and result.signature and result.date):
        result.status = "incomplete"
    return judge_active(result, fields.get("active", []))


def judge_active(result: ScreenResult, found: list[str]) -> ScreenResult:
    """A form carrying active content gets ACTIVE_VERDICT (unless worse), naming what it carries."""
    if not found:
        return result
    result.active_content = list(found)
    if SEVERITY_ORDER.index(ACTIVE_VERDICT) > SEVERITY_ORDER.index(result.status):
        result.status = ACTIVE_VERDICT
        result.problem = TamperedError(
            "{name}: carries what a filled consent form never does: {what}; check it by hand",
            code="active-content",
            name=result.file,
            what=", ".join(found),
        )
    return result


def _name_value(value: Any) -> str:
    return str(value or "").lstrip("/")


def current_content(project_root: Path | None, info: FormInfo) -> CurrentContent | None:
    """Look up the form's document and checklist in today's content, if a project is at hand."""
    from handouts.content.catalogue import load_catalogue
    from handouts.errors import HandoutsError
    from handouts.project import Project

    if project_root is None:
        return None
    try:
        cat = load_catalogue(Project(project_root), strict=False)
    except HandoutsError:
        return None
    lang = info.lang if info.lang in cat.contraindications else cat.config.default_language
    version = None
    if info.document in cat.document_ids:
        version = cat.document(info.document, lang).model.version
    items = cat.contraindications[lang].model.items if lang in cat.contraindications else ()
    flags = {c.id: Flag(c.id, c.label, c.severity, c.therapist_note) for c in items}
    return CurrentContent(version, flags, cat.config.signing)


def screen_path(path: Path, project_root: Path | None, password: str | None = None) -> ScreenResult:
    """Screen one file; an unreadable one becomes a result with status 'unreadable'."""
    try:
        form = read_form(path, password)
        current = current_content(project_root, form[0])
        result = evaluate(path, form, current)
        return check_signature(result, read_pdf(path), project_root, current, password)
    except PdfInputError as exc:
        return _unreadable_or_tampered(str(path), exc, _read_quietly(path), project_root, password)
    except OSError as exc:
        problem = PdfInputError(f"{path}: cannot read: {exc.strerror}")
        return ScreenResult(file=str(path), status="unreadable", problem=problem)


def screen_bytes(
    data: bytes, name: str, project_root: Path | None, password: str | None = None
) -> ScreenResult:
    """Screen a form held in memory (never written to disk); name labels it in the result."""
    try:
        form = read_form_data(data, name, password)
        current = current_content(project_root, form[0])
        result = evaluate(Path(name), form, current)
        return check_signature(result, data, project_root, current, password)
    except PdfInputError as exc:
        return _unreadable_or_tampered(name, exc, data, project_root, password)


def _read_quietly(path: Path) -> bytes:
    try:
        return read_pdf(path)
    except PdfInputError:
        return b""


def _unreadable_or_tampered(
    name: str, exc: PdfInputError, data: bytes, project_root: Path | None, password: str | None
) -> ScreenResult:
    """A form this reader cannot understand is unreadable, unless it was certified and then
    changed: a rewrite can drop what screen reads (pikepdf drops the document information a
    pypdf fill left only in an earlier trailer), and the signature then says why."""
    unreadable = ScreenResult(file=name, status="unreadable", problem=exc)
    if b"/ByteRange" not in data:
        return unreadable
    signs = None
    if project_root is not None:
        from handouts.content.catalogue import load_config
        from handouts.errors import HandoutsError
        from handouts.project import Project

        try:
            signs = load_config(Project(project_root)).signing
        except HandoutsError:
            signs = None
    checked = check_signature(unreadable, data, project_root, CurrentContent(None, {}, signs), password)
    return checked if checked.status == "tampered" else unreadable


def check_signature(
    result: ScreenResult,
    data: bytes,
    project_root: Path | None,
    current: CurrentContent | None,
    password: str | None = None,
) -> ScreenResult:
    """Add the certification's verdict; a form changed after certifying becomes 'tampered'.

    pyHanko is loaded only for a file that holds a signature (a /ByteRange).
    """
    signs = current is not None and current.signing is not None
    if b"/ByteRange" not in data:
        if signs:
            result.certification = (
                f"{UNSIGNED}: this project certifies its fillable packets; ask where this form came from"
            )
            result.certification_warning = True
        return result
    from handouts.errors import HandoutsError, TamperedError
    from handouts.sign.identity import Trust, trust
    from handouts.sign.verify import summary, verify_bytes

    try:
        trusted = trust(project_root, current.signing if current else None) if project_root else None
    except HandoutsError as exc:
        result.certification, result.certification_warning = f"signer not checked: {exc}", True
        trusted = None
    verdict = verify_bytes(data, result.file, trusted or Trust(frozenset(), (), None), password=password)
    changed = [s for s in verdict.signatures if not s.intact or (s.changes != "none" and not _allowed(s))]
    if changed or verdict.status == "unreadable":
        result.status = "tampered"
        result.certification = summary(verdict)
        why = "; ".join(verdict.problems or [verdict.error or ""])
        result.problem = TamperedError(f"{result.file}: changed after it was certified: {why}")
    elif verdict.status == "invalid":  # intact and only filled in, but not by a signer we know
        result.certification = summary(verdict)
        result.certification_warning = True
    else:
        result.certification = summary(verdict)
    return result


def _allowed(check: Any) -> bool:
    return bool(
        check.changes == "none" or (check.changes == "form filling" and check.permitted == "form filling")
    )


def worst(results: list[ScreenResult]) -> Status:
    if not results:
        return "clear"
    return max((r.status for r in results), key=SEVERITY_ORDER.index)
