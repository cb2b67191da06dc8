"""Figure 12: reading generated scans of printed consent forms back.

Generates FORMS filled-in printed consents (tests/scansynth.py: random answers, some rows
left blank, marked twice or between the boxes, missing signatures; ticks, crosses, filled
boxes and circles in varied ink), degraded like a scanner or a phone, each written as a
scan PDF of JPEG pages at 200 dpi, and reads them with intake/scan. Reports answers read
right, wrong all-clears, forms sent to review, and seconds per page side by side with
rasterising the page alone (PDFium, the first step of reading).

Run on its own: `.venv/bin/python bench/scanfigure.py OUT_DIR PROJECT [FORMS]` after a build;
`./dev bench` runs it as figure 12 on its temporary project (`./dev bench --only-scans`: alone).
"""

from __future__ import annotations

import io
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

import scansynth as ss  # noqa: E402

DPI = 200
TARGET_RIGHT = 0.995
TARGET_SECONDS = 0.25


@dataclass
class Tally:
    rows: int = 0
    right: int = 0
    wrong: int = 0  # a definite answer that differs from the truth
    to_review: int = 0  # a clear yes/no row sent to review
    forms: int = 0
    forms_review: int = 0
    wrong_clear: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    # Why clear rows went to review, and what set pages aside (form number: reason).
    reasons: dict[str, int] = field(default_factory=dict)
    cases: list[str] = field(default_factory=list)
    pages: int = 0
    read_seconds: list[float] = field(default_factory=list)
    raster_seconds: list[float] = field(default_factory=list)
    packets: int = 0  # forms scanned as a whole print packet (information and aftercare pages too)
    packet_ids_right: int = 0
    by_layout: int = 0  # pages whose code could not be read, taken for their form page by layout


def consent_outputs(out: Path) -> list[str]:
    """Two printed consents and a large-print one from the built catalogue (manifest order)."""
    import json

    entries = json.loads((out / "manifest.json").read_text("utf-8"))["outputs"]
    printed = [e["path"] for e in entries if e.get("form_map") and e["variant"] == "print"]
    large = [e["path"] for e in entries if e.get("form_map") and e["variant"] == "large-print"]
    if len(printed) < 2 or not large:
        raise SystemExit("bench: the catalogue has too few printed consents for the scan figure")
    return [printed[0], printed[-1], large[0]]


def random_filling(form: Any, rng: np.random.Generator) -> ss.Filling:
    rows: dict[str, ss.RowAction] = {}
    for cid in form.checklist:
        r = rng.random()
        rows[cid] = (
            "yes"
            if r < 0.12
            else "blank"
            if r < 0.15
            else "both"
            if r < 0.17
            else "between"
            if r < 0.19
            else "no"
        )
    return ss.Filling(rows, consent=bool(rng.random() < 0.92), signature=bool(rng.random() < 0.92),
                      date=bool(rng.random() < 0.95))  # fmt: skip


def truly_clear(form: Any, filling: ss.Filling) -> bool:
    return (
        all(filling.rows.get(c, "no") == "no" for c in form.checklist)
        and filling.consent
        and (filling.signature and filling.date)
    )


def score(t: Tally, form: Any, filling: ss.Filling, result: Any) -> None:
    unclear = {u["id"] for u in result.unclear}
    for cid in form.checklist:
        truth = filling.rows.get(cid, "no")
        got = "unclear" if cid in unclear else result.answers.get(cid) or "unanswered"
        t.rows += 1
        want = {"yes": "yes", "no": "no", "blank": "unanswered", "both": "unclear", "between": "unclear"}[
            truth
        ]
        if got == want:
            t.right += 1
        elif got == "unclear":
            t.to_review += 1
            reason = next(u["reason"] for u in result.unclear if u["id"] == cid)
            t.reasons[reason] = t.reasons.get(reason, 0) + 1
        else:
            t.wrong += 1
    t.forms += 1
    t.statuses[result.status] = t.statuses.get(result.status, 0) + 1
    if result.status == "needs-review":
        t.forms_review += 1
    if result.status == "clear" and not truly_clear(form, filling):
        t.wrong_clear += 1


@dataclass(frozen=True)
class Printout:
    """What a patient is handed: a form's pages (rendered at DPI), and around them a packet's other sheets."""

    form: Any
    pages: list[np.ndarray]
    before: tuple[np.ndarray, ...] = ()
    after: tuple[np.ndarray, ...] = ()
    packet: str = ""


def print_packet(out: Path, project: Path, rel: str) -> Printout:
    """A print packet (information, consent, aftercare) made as the front desk makes it."""
    import json

    import pikepdf

    from handouts.packet.make import make_packet
    from handouts.packet.request import PacketRequest, Patient
    from handouts.project import Project

    entry = next(
        e for e in json.loads((out / "manifest.json").read_text("utf-8"))["outputs"] if e["path"] == rel
    )
    request = PacketRequest(
        Patient("Bench Patient"), ("info", "consent", "aftercare"), entry["brand"], entry["lang"]
    )
    made = make_packet(Project(project), request)
    with pikepdf.open(io.BytesIO(made.pdf)) as pdf:
        marked = ["/HandoutsScan" in (p.obj.Resources.get("/XObject") or {}) for p in pdf.pages]
    pages = ss.render(made.pdf, DPI)
    first, last = marked.index(True), len(marked) - marked[::-1].index(True)
    return Printout(ss.form_map_of(out, rel), pages[first:last], tuple(pages[:first]), tuple(pages[last:]),
                    made.packet_id)  # fmt: skip


def run(out: Path, project: Path, forms: int = 200, seed: int = 14) -> Tally:
    import pypdfium2 as pdfium

    from handouts.intake.scan import read, sources

    rng = np.random.default_rng(seed)
    printed = consent_outputs(out)
    prepared = [Printout(ss.form_map_of(out, rel), ss.render(out / rel, DPI)) for rel in printed]
    prepared.append(print_packet(out, project, printed[0]))
    ctx = read.context(project)
    t = Tally()
    for n in range(forms):
        # Mostly printed forms, every tenth a large-print one and every tenth a print packet.
        printout = prepared[3 if n % 10 == 4 else n % 3 if n % 10 == 9 else n % 2]
        form, dpi = printout.form, DPI
        filling = random_filling(form, rng)
        drawn = [*printout.before, *ss.fill(printout.pages, form, filling, dpi, rng), *printout.after]
        level = "phone" if rng.random() < 0.3 else "scanner"
        scan = [ss.degrade(p, ss.random_degrade(rng, level), rng) for p in drawn]
        order = list(rng.permutation(len(scan))) if rng.random() < 0.3 else list(range(len(scan)))
        data = ss.write_pdf([scan[i] for i in order], dpi=dpi, quality=95)
        started = time.perf_counter()
        document = pdfium.PdfDocument(data)
        for i in range(len(document)):
            document[i].render(scale=sources.PDF_DPI / 72).to_numpy()
        document.close()
        raster = time.perf_counter() - started
        started = time.perf_counter()
        results = read.read_pages(sources.load_bytes(data, f"form-{n}.pdf"), f"form-{n}.pdf", ctx)
        seconds = time.perf_counter() - started
        t.pages += len(scan)
        t.read_seconds.append(seconds / len(scan))
        t.raster_seconds.append(raster / len(scan))
        scored = [r.result for r in results if r.result.form is not None]
        if len(scored) != 1 or len(results) != 1:
            # A form split or a page set aside: every row counts as sent to review, never right.
            t.rows += len(form.checklist)
            t.to_review += len(form.checklist)
            t.forms += 1
            t.forms_review += 1
            t.statuses["split"] = t.statuses.get("split", 0) + 1
            t.cases.append(
                f"form {n}: " + "; ".join(r.result.error() or "; ".join(r.result.problems) for r in results)
            )
            continue
        result = scored[0]
        assert result.form is not None
        if printout.packet:
            t.packets += 1
            t.packet_ids_right += result.form.packet_id == printout.packet
        t.by_layout += sum(1 for p in result.problems if "taken for form page" in p)
        score(t, form, filling, result)
    return t


def summary(t: Tally) -> dict[str, Any]:
    per_page = statistics.median(t.read_seconds)
    raster = statistics.median(t.raster_seconds)
    return {
        "forms": t.forms,
        "pages": t.pages,
        "rows": t.rows,
        "right": t.right / t.rows,
        "wrong": t.wrong,
        "rows_to_review": t.to_review,
        "wrong_all_clears": t.wrong_clear,
        "forms_to_review": t.forms_review,
        "statuses": t.statuses,
        "review_reasons": t.reasons,
        "set_aside": t.cases,
        "seconds_per_page": per_page,
        "raster_seconds_per_page": raster,
        "ratio": per_page / raster if raster else None,
        "packets": t.packets,
        "packet_ids_right": t.packet_ids_right,
        "pages_by_layout": t.by_layout,
    }


def figure_scans(out: Path, project: Path, forms: int) -> Any:
    """Figure 12 as a bench Section (figures.py's types, imported here to keep one way round)."""
    from figures import Figure, Section, progress

    progress(f"figure 12: reading {forms} generated scans")
    s = summary(run(out, project, forms))
    ratio = s["ratio"] or 0.0
    lines = [
        f"Figure 12. reading generated scans of printed consents ({s['forms']} forms, {s['pages']} pages, "
        f"{DPI} dpi; {s['packets']} of them whole print packets; ticks, crosses, filled boxes, circles; "
        "scanner and phone degradations)",
        f"  answers read right: {s['right']:.2%} of {s['rows']} (wrong: {s['wrong']}; "
        f"clear rows sent to review: {s['rows_to_review']}: {s['review_reasons']})",
        f"  wrong all-clears: {s['wrong_all_clears']}; forms sent to review: {s['forms_to_review']}; "
        f"statuses: {s['statuses']}",
        f"  pages whose code was lost, told by their layout: {s['pages_by_layout']}; packet ids read right: "
        f"{s['packet_ids_right']} of {s['packets']}; set aside: {s['set_aside']}",
        f"  seconds per page: {s['seconds_per_page']:.3f} s, rasterising the page alone "
        f"{s['raster_seconds_per_page']:.3f} s ({ratio:.1f}x)",
    ]
    figures = [
        Figure(
            "12. scans: answers read right",
            f"{s['right']:.2%} of {s['rows']}",
            ">= 99.5%",
            s["right"] >= TARGET_RIGHT,
            s,
        ),  # fmt: skip
        Figure("12. scans: wrong all-clears", str(s["wrong_all_clears"]), "0", s["wrong_all_clears"] == 0),
        Figure("12. scans: forms sent to review", f"{s['forms_to_review']} of {s['forms']}", "—", None),
        Figure(
            f"12. scans: s/page at {DPI} dpi / rasterising alone",
            f"{s['seconds_per_page']:.3f} s / {s['raster_seconds_per_page']:.3f} s",
            "<= 0.25 s",
            s["seconds_per_page"] <= TARGET_SECONDS,
        ),  # fmt: skip
    ]
    return Section(lines, figures)


if __name__ == "__main__":
    result = summary(
        run(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 200)
    )
    for key, value in result.items():
        print(f"{key}: {value}")
