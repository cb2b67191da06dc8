"""Read a scan back: find each page's code, group pages into forms, read marks, judge each form.

Order of work: load the pages (sources), find each page's QR code (qr) and tell a page whose
code is lost by its layout (identify); group the pages by the form copy they name; for each
form, load the geometry recorded when it was built (formmap), fit each page to it (register)
and read its marks (marks); then judge the form with the same statuses as a fillable one, plus
needs-review. Never a wrong all-clear: a page missing, unreadable, of another version or
another copy, told by its layout only, or a mark in doubt keeps a form from being clear, with
one line saying which row or page and why.

Patient data (the answers) goes into the results only; nothing here logs it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from handouts.errors import PdfInputError, shown
from handouts.intake.scan import identify, marks, register, sources
from handouts.intake.screen import CurrentContent, Flag, FormInfo, ScreenResult, current_content
from handouts.render.formmap import FormMap, load
from handouts.render.scanmarks import ScanId

log = logging.getLogger(__name__)


@dataclass
class ScanForm:
    """One form read from a scan: the result, and crops of unclear marks for a person to see."""

    result: ScreenResult
    crops: dict[str, np.ndarray] = field(default_factory=dict)
    scan_id: ScanId | None = None


@dataclass(frozen=True)
class Context:
    """Where recorded form maps and today's content are found (looked up once per form kind)."""

    out_dir: Path | None
    project_root: Path | None
    _content: dict[tuple[str, str], CurrentContent | None] = field(default_factory=dict, compare=False)
    _maps: dict[str, FormMap | None] = field(default_factory=dict, compare=False)

    def current(self, info: FormInfo) -> CurrentContent | None:
        key = (info.document, info.lang)
        if key not in self._content:
            self._content[key] = current_content(self.project_root, info)
        return self._content[key]

    def form_map(self, map_id: str) -> FormMap | None:
        """The recorded layout of that id, if out/formmaps/ has it."""
        if map_id not in self._maps:
            self._maps[map_id] = load(self.out_dir, map_id) if self.out_dir is not None else None
        return self._maps[map_id]


def context(project_root: Path | None) -> Context:
    from handouts.build.snapshot import configured_out
    from handouts.project import Project

    if project_root is None:
        return Context(None, None)
    return Context(configured_out(Project(project_root)), project_root)


def group(found: list[identify.PageFound]) -> list[tuple[list[identify.PageFound], str]]:
    """Pages grouped into form copies, in scan order, each with a problem line ('' if none).

    Pages of one copy share a code except for the page number; a packet's code also holds the
    packet id, so two patients' packets never mix. Copies of a plain printed form look alike:
    they are told apart by scan order only when every copy is complete and in sequence.
    """
    keyed: dict[tuple[str, ...], list[identify.PageFound]] = {}
    for item in found:
        if item.scan_id is not None:
            keyed.setdefault(item.scan_id.form_key, []).append(item)
    groups: list[tuple[list[identify.PageFound], str]] = []
    for items in keyed.values():
        numbers = [_number(i) for i in items]
        if len(set(numbers)) == len(numbers):
            groups.append((items, ""))
            continue
        copies: list[list[identify.PageFound]] = [[]]
        for item in items:
            if any(_number(i) == _number(item) for i in copies[-1]):
                copies.append([])
            copies[-1].append(item)
        sid = items[0].scan_id
        total = sid.pages if sid is not None else 0
        in_sequence = all(
            [_number(i) for i in c] in (list(range(1, total + 1)), list(range(total, 0, -1))) for c in copies
        )
        note = (
            ""
            if in_sequence
            else f"{len(copies)} copies of this form are mixed in the scan and carry no packet id: "
            "which pages belong together cannot be told; check them by hand"
        )
        groups.extend((c, note) for c in copies)
    return groups


def _number(item: identify.PageFound) -> int:
    """The form page number a page carries (or was taken for)."""
    assert item.scan_id is not None
    return item.scan_id.page


def _corners(item: identify.PageFound) -> np.ndarray:
    assert item.code is not None
    return item.code.corners


def _current_entry(ctx: Context, form: FormMap) -> tuple[str | None, str | None, str | None]:
    """The current version, content fingerprint and map id of the output this form was printed from."""
    from handouts.build.manifest import read_manifest

    if ctx.out_dir is None:
        return None, None, None
    for entry in read_manifest(ctx.out_dir).values():
        if (entry.document, entry.brand, entry.lang, entry.variant) == (
            form.document, form.brand, form.lang, form.variant,
        ):  # fmt: skip
            return entry.version, entry.content_fingerprint, entry.form_map or None
    return None, None, None


def read_form(items: list[identify.PageFound], note: str, name: str, ctx: Context) -> ScanForm:
    """Read and judge one form copy (its pages, in scan order)."""
    sid = items[0].scan_id
    assert sid is not None
    numbers = [i.page.number for i in items]
    result = ScreenResult(file=name, status="clear", source="scan", pages=numbers)
    form = ctx.form_map(sid.map_id)
    if form is None or form.document != sid.document or len(form.pages) != sid.pages:
        where = (
            "no project here (use --project)" if ctx.out_dir is None else f"not in {ctx.out_dir}/formmaps/"
        )
        result.status = "unreadable"
        result.problem = PdfInputError(
            f"{name}: page(s) {_pages(numbers)}: {shown(sid.document)} v{shown(sid.version, 12)} "
            f"({shown(sid.fingerprint, 12)}), layout {shown(sid.map_id, 12)}: "
            f"its recorded layout is {where}; build the catalogue that printed it"
        )
        return ScanForm(result, scan_id=sid)
    result.form = FormInfo(
        form.document, form.version, form.effective, form.fingerprint, form.lang, form.brand, sid.packet or ""
    )
    current_version, current_fp, current_map = _current_entry(ctx, form)
    result.current_version = current_version
    if current_fp is not None:
        result.is_current = current_fp == form.fingerprint and current_map == sid.map_id
        if not result.is_current:
            result.problems.append(
                f"printed from {form.document} v{form.version} ({form.fingerprint[:7]}); the current form is "
                f"v{current_version} ({current_fp[:7]}): check the answers against the current checklist"
            )
    review = bool(note) or result.is_current is False
    if note:
        result.problems.append(note)
    crops: dict[str, np.ndarray] = {}
    answers: dict[str, str | None] = {}
    unclear: dict[str, str] = {}
    consent: list[str] = []
    lines: dict[str, list[str]] = {}
    pages_seen: set[int] = set()
    for item in items:
        number = _number(item)
        pages_seen.add(number)
        page_map = form.pages[number - 1]
        if item.code is None:
            review = True
            result.problems.append(
                f"scan page {item.page.number}: its code cannot be read; taken for form page {number} "
                "by its printed boxes and lines: check that it belongs to this form"
            )
        try:
            fitted = item.fitted or register.register(item.page.image, _corners(item), page_map)
            reading = marks.read_page(fitted.canon, page_map)
        except (register.RegistrationError, marks.LayoutMismatch) as exc:
            review = True
            result.problems.append(
                f"scan page {item.page.number} (form page {number}): cannot be read: {exc}"
            )
            for q in page_map.questions:
                unclear[q.id] = f"on form page {number}, which cannot be read"
            if page_map.consent is not None:
                consent.append("faint")
            for line_name, _ in page_map.lines:
                lines.setdefault(line_name, []).append("faint")
            continue
        for row in reading.rows:
            result.confidence[row.id] = row.confidence
            if row.answer in ("yes", "no"):
                answers[row.id] = row.answer
            elif row.answer == "unanswered":
                answers[row.id] = None
            else:
                unclear[row.id] = row.reason
        if reading.consent is not None:
            consent.append(reading.consent)
        for line_name, state in reading.lines.items():
            lines.setdefault(line_name, []).append(state)
        crops.update(reading.crops)
    missing = [n for n in range(1, len(form.pages) + 1) if n not in pages_seen]
    for n in missing:
        ids = [q.id for q in form.pages[n - 1].questions]
        result.problems.append(
            f"form page {n} of {len(form.pages)} is missing from the scan"
            + (f" (questions {', '.join(ids)})" if ids else "")
        )
        for cid in ids:
            answers[cid] = None
        if form.pages[n - 1].consent is not None:
            consent.append("empty")
    for cid in form.checklist:
        if cid in unclear:
            answers[cid] = None
            result.unclear.append({"id": cid, "reason": unclear[cid]})
            result.confidence[cid] = 0.0
    result.answers = {cid: answers.get(cid) for cid in form.checklist}
    result.consent_box = consent == ["marked"]
    if "faint" in consent:
        result.unclear.append({"id": "consent", "reason": "the consent box has a faint or partial mark"})
    for line_name, label in (("patient.signature", "signature"), ("patient.date", "date")):
        states = lines.get(line_name, [])
        if "faint" in states:
            result.unclear.append({"id": line_name, "reason": f"something faint on the {label} line"})
        if line_name == "patient.signature":
            result.signature = states == ["marked"]
        else:
            result.date = states == ["marked"]
    _judge(result, ctx, review)
    return ScanForm(result, crops, sid)


def _judge(result: ScreenResult, ctx: Context, review: bool) -> None:
    assert result.form is not None
    current = ctx.current(result.form)
    known = current.checklist if current else {}
    unclear_ids = {u["id"] for u in result.unclear}
    for cid, given in result.answers.items():
        if given == "yes":
            result.flagged.append(
                known.get(cid)
                or Flag(cid, cid, "unknown", "not in the current content: check this answer by hand")
            )
        elif given is None and cid not in unclear_ids:
            result.unanswered.append(cid)
    if result.flagged:
        result.status = "flagged"
    elif result.unclear or review:
        result.status = "needs-review"
    elif (
        result.unanswered or not (result.consent_box and result.signature and result.date) or result.problems
    ):
        result.status = "incomplete"


def _pages(numbers: list[int]) -> str:
    return ", ".join(str(n) for n in numbers)


def read_pages(pages: list[sources.ScanPage], name: str, ctx: Context) -> list[ScanForm]:
    """Every form in one scan file, then one unreadable result per page set aside.

    Pages of no form at all (a packet's information and aftercare sheets, the back of a
    sheet) are passed over when the scan holds a form: they carry neither code nor corner
    squares. A form page whose code is lost still shows its squares: it is never passed over.
    """
    found = identify.find_codes(pages)
    identify.by_layout(found, ctx.form_map)
    if all(item.scan_id is None for item in found):
        notes = [item.note for item in found if item.note != "blank"]
        if not notes:
            raise PdfInputError(f"{name}: only blank pages; nothing to read")
        raise PdfInputError(
            f"{name}: no page of a handouts consent form in it ({len(found)} page(s); {notes[0]})"
        )
    forms = [read_form(items, note, name, ctx) for items, note in group(found)]
    _cross_notes(forms)
    for item in found:
        if item.scan_id is None and item.note not in ("blank", identify.NOT_A_FORM):
            forms.append(
                ScanForm(
                    ScreenResult(
                        file=name,
                        status="unreadable",
                        source="scan",
                        pages=[item.page.number],
                        problem=PdfInputError(f"{item.page.label}: {item.note}"),
                    )
                )  # fmt: skip
            )
    if not forms:
        raise PdfInputError(f"{name}: only blank pages; nothing to read")
    return forms


def _cross_notes(forms: list[ScanForm]) -> None:
    """Tell each form about pages in the scan of another version of the same form."""
    for form in forms:
        if form.scan_id is None:
            continue
        for other in forms:
            o = other.scan_id
            s = form.scan_id
            if o is None or other is form or (o.document, o.lang, o.brand, o.packet) != (
                s.document, s.lang, s.brand, s.packet,
            ):  # fmt: skip
                continue
            if (o.version, o.fingerprint, o.map_id) != (s.version, s.fingerprint, s.map_id):
                form.result.problems.append(
                    f"scan page(s) {_pages(other.result.pages)} are of another version of this form "
                    f"(v{shown(o.version, 12)}, {shown(o.fingerprint, 12)}): not counted here"
                )
                if form.result.status in ("clear", "incomplete"):
                    form.result.status = "needs-review"


def screen_file(path: Path, project_root: Path | None, password: str | None = None) -> list[ScreenResult]:
    """Screen a fillable form, or else read the file as a scan (a PDF of page images, or an image)."""
    from handouts.intake.screen import NotFillableError, screen_path

    if sources.is_image(path):
        return screen_scan(path, project_root)
    result = screen_path(path, project_root, password)
    if result.status == "unreadable" and isinstance(result.problem, NotFillableError):
        return screen_scan(path, project_root)
    return [result]


def screen_scan(path: Path, project_root: Path | None) -> list[ScreenResult]:
    """Screen one scan file (PDF or image): a result per form found; unreadable as one result."""
    try:
        pages = sources.load(path)
        return [f.result for f in read_pages(pages, str(path), context(project_root))]
    except PdfInputError as exc:
        return [ScreenResult(file=str(path), status="unreadable", source="scan", problem=exc)]


def screen_upload(
    data: bytes, name: str, project_root: Path | None, password: str | None = None
) -> list[ScanForm]:
    """Screen an upload held in memory (never written to disk): a fillable form or a scan, crops included."""
    from handouts.intake.screen import NotFillableError, screen_bytes

    if data.lstrip()[:5] == b"%PDF-":
        result = screen_bytes(data, name, project_root, password)
        if not (result.status == "unreadable" and isinstance(result.problem, NotFillableError)):
            return [ScanForm(result)]
    return screen_scan_bytes(data, name, project_root)


def screen_scan_bytes(data: bytes, name: str, project_root: Path | None) -> list[ScanForm]:
    """Screen a scan held in memory (an upload, never written to disk), crops included."""
    try:
        return read_pages(sources.load_bytes(data, name), name, context(project_root))
    except PdfInputError as exc:
        return [ScanForm(ScreenResult(file=name, status="unreadable", source="scan", problem=exc))]
