"""The front desk: one page to make a patient's packet and to screen a filled consent form.

Packets come from handouts.packet, with the same checks and the same bytes as `handouts
packet`; screening is handouts.screen on the upload's bytes, which never reach the disk.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from flask import Blueprint, Response, make_response, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from handouts.content.catalogue import Catalogue, load_catalogue
from handouts.errors import HandoutsError, InputErrors, UsageError
from handouts.intake.screen import MAX_PDF_BYTES, ScreenResult, screen_bytes
from handouts.packet.make import Packet, Plan, make_packet, resolve
from handouts.packet.naming import packet_flags
from handouts.packet.request import PacketRequest, Patient, check_patient_ref, make_patient
from handouts.project import Project
from handouts.web import records
from handouts.web.state import state

bp = Blueprint("frontdesk", __name__)

ACTIONS = ("download", "print", "email")
TEXT_FIELDS = ("name", "patient_ref", "dob", "date", "therapist", "area", "email")
LABELS = {
    "brand": "Clinic",
    "lang": "Language",
    "docs": "Documents",
    "name": "Patient name",
    "patient_ref": "Chart number",
    "dob": "Date of birth",
    "date": "Appointment date",
    "therapist": "Therapist",
    "area": "Treatment area",
    "email": "Patient's email",
    "consent_pdf": "Filled consent form",
}
# The page's name for an error's field, where it differs (the form's inputs are named so).
FORM_FIELDS = {"patient": "name"}
# Kinds of problem the page words in sentences of its own (field, code) -> sentence.
SENTENCES = {
    ("brand", "unknown"): "Unknown clinic '{value}': choose one from the list",
    ("brand", "no-default"): "Choose the clinic",
    ("lang", "unknown"): "Unknown language '{value}': choose one from the list",
    ("docs", "unknown"): "Unknown document '{value}': reload the page and choose from the list",
    ("docs", "empty"): "Choose at least one document",
    ("password", "encrypted"): "{name}: encrypted; give the password in the Password field",
}
KIND_ORDER = ("info", "consent", "aftercare")
PDF_TYPES = ("application/pdf", "application/x-pdf", "application/octet-stream", "binary/octet-stream")
SEVERITY_WORDS = {
    "do-not-treat": "do not treat",
    "check-with-therapist": "check with the therapist",
    "unknown": "not in the current content: check by hand",
}


@dataclass(frozen=True)
class Choices:
    """What the page offers to choose from, read from the catalogue."""

    brands: list[tuple[str, str]]
    languages: list[tuple[str, str]]
    documents: list[tuple[str, str, str]]  # id, title, kind
    default_lang: str
    email_configured: bool
    default_brand: str | None = None  # None: several brands and no default_brand: the desk must choose
    printer_configured: bool = False  # printing: in handouts.yaml: Print goes to the clinic printer


def _choices(cat: Catalogue) -> Choices:
    lang = cat.config.default_language
    docs: list[tuple[str, str, str]] = []
    for doc_id in cat.document_ids:
        doc = cat.document(doc_id, lang).model
        docs.append((doc_id, doc.title, doc.kind))
    docs.sort(key=lambda d: (KIND_ORDER.index(d[2]) if d[2] in KIND_ORDER else len(KIND_ORDER), d[0]))
    return Choices(
        brands=[(b, loaded.model.name) for b, loaded in sorted(cat.brands.items())],
        languages=[(code, _language_name(code)) for code in cat.languages],
        documents=docs,
        default_lang=lang,
        email_configured=cat.config.smtp is not None,
        default_brand=cat.default_brand,
        printer_configured=cat.config.printing is not None,
    )


def _language_name(code: str) -> str:
    from babel import Locale, UnknownLocaleError

    try:
        name = Locale.parse(code.replace("-", "_")).get_display_name(code.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return code
    return f"{name[:1].upper()}{name[1:]} ({code})" if name else code


def _load() -> tuple[Catalogue | None, list[str]]:
    try:
        return load_catalogue(state().project), []
    except HandoutsError as exc:
        return None, exc.lines()


def _defaults(choices: Choices | None, today: dt.date) -> dict[str, Any]:
    values: dict[str, Any] = dict.fromkeys(TEXT_FIELDS, "")
    values.update(
        date=today.isoformat(),
        brand=(choices.default_brand or "") if choices else "",
        lang=choices.default_lang if choices else "",
        docs=[d[0] for d in choices.documents] if choices else [],
        large_print=False,
        fillable=False,
    )
    return values


def _posted(form: MultiDict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {name: form.get(name, "") for name in TEXT_FIELDS}
    values.update(
        brand=form.get("brand", ""),
        lang=form.get("lang", ""),
        docs=form.getlist("docs"),
        large_print=form.get("large_print") == "on",
        fillable=form.get("fillable") == "on",
    )
    return values


def render_page(
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    screen_result: ScreenResult | None = None,
    screen_errors: dict[str, str] | None = None,
    page_errors: list[str] | None = None,
    notice: str | None = None,
    status: int = 200,
    history: dict[str, Any] | None = None,
) -> ResponseReturnValue:
    """The front-desk page, with what the user typed kept and each error beside its field."""
    cat, problems = _load()
    choices = _choices(cat) if cat else None
    errors = dict(errors or {})
    summary = [(f"#{field}" if field in LABELS else "#packet", message) for field, message in errors.items()]
    summary += [("#consent_pdf", m) for m in (screen_errors or {}).values()]
    summary += [("", m) for m in (page_errors or [])]
    html = render_template(
        "frontdesk.html",
        choices=choices,
        content_problems=problems,
        values=values or _defaults(choices, state().today()),
        errors=errors,
        summary=summary,
        labels=LABELS,
        screen_result=screen_result,
        screen_errors=screen_errors or {},
        severity_words=SEVERITY_WORDS,
        notice=notice,
        max_mb=MAX_PDF_BYTES // 1_000_000,
        history=history,
    )
    return html, status


@bp.get("/")
def index() -> ResponseReturnValue:
    return render_page()


@bp.post("/packet")
def packet() -> ResponseReturnValue:
    """Make the packet and return it to download or print, or send it by email."""
    values = _posted(request.form)
    action = request.form.get("action", "download")
    if action not in ACTIONS:
        return render_page(values=values, page_errors=[f"Unknown action '{action}'."], status=400)
    cat, problems = _load()
    if cat is None:
        return render_page(values=values, page_errors=problems, status=422)
    web = state()
    errors, patient, request_ = check_packet(web.project, cat, values, action, web.today())
    if errors or patient is None or request_ is None:
        return render_page(values=values, errors=errors, status=422)
    try:
        with web.lock:
            made = make_packet(web.project, request_)
            if made.signing and request_.fillable:  # certified last, as `handouts packet` does
                from dataclasses import replace

                from handouts.sign.packets import finish

                made = replace(made, pdf=finish(web.project.root, made, made.pdf, request_.fillable))
            # Recorded before the packet leaves: what the desk hands out is in the register.
            records.record_packet(made, request_)
        file_name = made.file_name(
            patient, flags=packet_flags(request_.fillable, request_.large_print, False)
        )
    except HandoutsError as exc:
        # A field's problem (the 'Prepared for' line too long: the area) shows beside it.
        errors = {k: v for k, v in field_errors(exc).items() if k != "packet"}
        return render_page(
            values=values, errors=errors, page_errors=[] if errors else exc.lines(label), status=422
        )
    if action == "email":
        return _email(cat, values, patient, made, file_name)
    if action == "print" and cat.config.printing is not None:
        return _print(cat, values, made, file_name, request_.large_print)
    disposition = "inline" if action == "print" else "attachment"
    response = Response(made.pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'{disposition}; filename="{file_name}"'
    return response


def form_field(field: str | None) -> str:
    """The form input an error's field belongs to ("packet": the form as a whole)."""
    name = FORM_FIELDS.get(field or "", field or "packet")
    return name if name in LABELS else "packet"


def label(field: str) -> str:
    """A field as the page names it: its label."""
    return LABELS.get(FORM_FIELDS.get(field, field), field)


def word(exc: HandoutsError) -> str:
    """The error in the page's words: its own sentence for some kinds, else the field's label."""
    sentence = SENTENCES.get((exc.field or "", exc.code))
    return sentence.format_map(exc.values) if sentence else " ".join(exc.lines(label))


def field_errors(exc: HandoutsError) -> dict[str, str]:
    """Each problem of exc, worded, by the form input it is about (the first one per input)."""
    errors: dict[str, str] = {}
    for problem in exc.errors if isinstance(exc, InputErrors) else [exc]:
        errors.setdefault(form_field(problem.field), word(problem))
    return errors


def check_packet(
    project: Project, cat: Catalogue, values: dict[str, Any], action: str, today: dt.date
) -> tuple[dict[str, str], Patient | None, PacketRequest | None]:
    """Check every field with the checks `handouts packet` makes; return errors by field name."""
    errors: dict[str, str] = {}
    patient: Patient | None = None
    plan: Plan | None = None
    try:
        patient = make_patient(
            project,
            values["name"],
            values["dob"],
            values["date"],
            values["therapist"],
            values["area"],
            today,
            patient_ref=values["patient_ref"],
        )
    except HandoutsError as exc:
        errors.update(field_errors(exc))
    try:
        plan = resolve(cat, values["docs"], values["brand"], values["lang"])
    except HandoutsError as exc:
        errors.update(field_errors(exc))
    if action == "email":
        problem = check_email(cat, values["email"])
        if problem:
            errors["email"] = problem
    if errors or patient is None or plan is None:
        return errors, None, None
    request_ = PacketRequest(
        patient,
        plan.documents,
        plan.brand,
        plan.lang,
        fillable=values["fillable"],
        large_print=values["large_print"],
    )
    return {}, patient, request_


def check_email(cat: Catalogue, address: str) -> str | None:
    """Why the packet cannot be emailed (address, settings, templates), or None."""
    if cat.config.smtp is None:
        return "Email is not configured: add smtp settings to handouts.yaml, or download the packet"
    from handouts.mail.compose import check_address
    from handouts.mail.send import MailStep

    try:
        check_address(address)
        MailStep(cat)  # compiles the templates; the password's environment variable must be set
    except HandoutsError as exc:
        return word(exc)
    return None


def _email(
    cat: Catalogue, values: dict[str, Any], patient: Patient, made: Packet, file_name: str
) -> ResponseReturnValue:
    """Send the packet with the mail step `handouts packet --email` uses."""
    from handouts.mail.compose import Letter
    from handouts.mail.send import MailStep
    from handouts.mail.sentlog import SentLog

    recipient = values["email"].strip()
    web = state()
    # Remembered in memory only (a hash): a double click must not send the packet twice.
    key = SentLog.key(recipient, made.pdf)
    if key in web.sent:
        return render_page(values=values, notice="This packet was already sent to this address.")
    fillable = bool(values["fillable"])
    letter = Letter(file_name, made.pdf, made.brand, made.lang, made.documents, patient.date, fillable,
                    made.packet_id, patient.ref)  # fmt: skip
    try:
        with web.lock, MailStep(cat, on_sent=records.mail_recorder()) as mail:
            outcome = mail.send(letter, recipient)
    except HandoutsError as exc:
        return render_page(values=values, errors={"email": word(exc)}, status=422)
    if not outcome.ok:
        return render_page(values=values, errors={"email": f"Not sent: {outcome.detail}"}, status=502)
    web.sent.add(key)
    return render_page(values=values, notice="The packet was sent to the patient's email address.")


def _print(
    cat: Catalogue, values: dict[str, Any], made: Packet, file_name: str, large_print: bool
) -> ResponseReturnValue:
    """Queue the packet on the clinic printer (printing: in handouts.yaml), from memory."""
    from handouts.printing.step import PrintStep

    try:
        step = PrintStep(cat.config.printing)
    except HandoutsError as exc:
        return render_page(values=values, page_errors=exc.lines(label), status=503)
    outcome = step.print_packet(file_name, made.pdf, large_print)
    if not outcome.ok:
        return render_page(values=values, page_errors=[f"Not printed: {outcome.detail}"], status=502)
    return render_page(values=values, notice=f"Sent to the printer {step.printer} (job {outcome.detail}).")


@bp.post("/screen")
def screen() -> ResponseReturnValue:
    """Screen an uploaded filled consent form, in memory, and show the result."""
    upload = request.files.get("consent_pdf")
    password = request.form.get("password") or None
    if upload is None or not upload.filename:
        return _screen_error("Choose the filled consent form (a PDF file) to screen")
    name = PurePath(upload.filename.replace("\\", "/")).name[:100] or "upload.pdf"
    if not name.lower().endswith(".pdf") or (upload.mimetype and upload.mimetype not in PDF_TYPES):
        return _screen_error(f"'{name}' is not a PDF file: choose the filled consent form (.pdf)")
    data = upload.stream.read(MAX_PDF_BYTES + 1)
    if len(data) > MAX_PDF_BYTES:
        return _screen_error(f"'{name}' is larger than {MAX_PDF_BYTES // 1_000_000} MB: not a consent form")
    if data.lstrip()[:5] != b"%PDF-":
        return _screen_error(f"'{name}' is not a PDF file: choose the filled consent form (.pdf)")
    desk = state()
    if not desk.screening.acquire(timeout=desk.screening_wait):
        busy = "Too many forms are being screened at once: try again in a minute"
        response = make_response(render_page(screen_errors={"consent_pdf": busy}, status=503))
        response.headers["Retry-After"] = "30"
        return response
    try:
        result = screen_bytes(data, name, desk.project.root, password)
    finally:
        desk.screening.release()
    if result.problem is not None and result.status == "unreadable":  # tampered: shown as a result
        return _screen_error(word(result.problem))
    try:
        records.record_return(result)
    except HandoutsError as exc:
        return render_page(screen_result=result, page_errors=["Not recorded in the register: " + word(exc)])
    return render_page(screen_result=result)


@bp.post("/history")
def patient_history() -> ResponseReturnValue:
    """A patient's last packets and returned forms, by chart number (POSTed: kept out of logs)."""
    ref = request.form.get("patient_ref", "").strip()
    try:
        checked = check_patient_ref(ref)
        if checked is None:
            raise UsageError("{field} is required", field="patient_ref", code="required")
        found = records.history(checked)
    except UsageError as exc:
        return render_page(history={"ref": ref, "error": word(exc)}, status=422)
    except HandoutsError as exc:
        return render_page(history={"ref": ref, "error": word(exc)}, status=503)
    if found is None:
        return render_page(history={"ref": ref, "error": "The register is off in handouts.yaml."})
    return render_page(history={"ref": checked, "entries": found})


def _screen_error(message: str) -> ResponseReturnValue:
    return render_page(screen_errors={"consent_pdf": message}, status=422)
