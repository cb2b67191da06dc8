"""The clinic's record of a scanned consent form: PDF/A-3b, as `archive` writes for a fillable one.

Its first page sums up the form as read: the provenance its QR code gives (document, version,
fingerprint, language, brand, layout, packet id), each answer with its confidence, the consent
box and the patient's lines, every problem, and the crop of each mark in doubt, for a person
to judge; then the form's scanned pages as they were read; the scan file itself is embedded,
byte for byte, as the record's source. Everything is made in memory from the scan (nothing
else is written, nothing logged), and no date comes from the clock: the same scan gives the
same record.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
from html import escape
from pathlib import Path

import numpy as np

from handouts import __version__
from handouts.errors import PdfInputError
from handouts.intake.archive import ArchiveResult
from handouts.intake.scan import read, sources
from handouts.intake.screen import ScreenResult

SOURCE_DESCRIPTION = "The scan as received, before reading (every page of the file)."
STATUS_WORDS = {
    "clear": "every contraindication answered no; consent ticked, signed and dated",
    "flagged": "at least one contraindication answered yes",
    "needs-review": "a mark, line or page a person must look at (below)",
    "incomplete": "something unanswered or unsigned, nothing flagged",
}


def default_output(scan: Path) -> Path:
    """SCAN.pdf (or .png, .jpg, .tif) -> SCAN-archive.pdf, next to it."""
    return scan.with_name(scan.stem + "-archive.pdf")


def archive_scan(path: Path, project_root: Path | None) -> ArchiveResult:
    """Read one scanned form and make its record; raise PdfInputError unless the scan holds exactly one."""
    data = sources.read_scan(path)
    pages = sources.load_bytes(data, str(path))
    if not pages:
        raise PdfInputError(f"{path}: empty file")
    ctx = read.context(project_root)
    forms = read.read_pages(pages, str(path), ctx)
    readable = [f for f in forms if f.result.form is not None]
    if not readable:
        problem = forms[0].result.problem
        raise problem if problem is not None else PdfInputError(f"{path}: no form could be read")
    if len(readable) > 1:
        raise PdfInputError(
            f"{path}: holds {len(readable)} forms; archive each form's pages in a file of their own"
        )
    form = readable[0]
    info = form.result.form
    assert info is not None
    current = ctx.current(info)
    labels = {cid: flag.label for cid, flag in current.checklist.items()} if current else {}
    layout = ctx.form_map(form.scan_id.map_id) if form.scan_id else None
    page_size = (layout.pages[0].width, layout.pages[0].height) if layout else (612.0, 792.0)
    html = summary_html(form, {p.number: p for p in pages}, path.name, labels, page_size)
    pdf, count = _render(html, data, dt.date.fromisoformat(info.effective))
    return ArchiveResult(pdf, count, sum(1 for a in form.result.answers.values() if a), form.result, None)


def _serve_nothing(path: Path) -> tuple[Path, bytes] | None:
    """The record loads no file: its images are data: URLs and its fonts the system's."""
    return None


def _render(html: str, scan: bytes, day: dt.date) -> tuple[bytes, int]:
    import pypdf
    from pypdf import PdfReader, PdfWriter

    from handouts.intake.pdfa import Attachment, make_pdfa3b
    from handouts.render.pdf import html_to_pdf, reproducible_epoch

    here = Path(__file__).parent
    with reproducible_epoch(day):
        raw, _ = html_to_pdf(
            html,
            base_url=here,
            serve=_serve_nothing,
            identifier=hashlib.sha256(scan).digest()[:16],
            inline_images=True,
        )
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(raw)))
    kind = sources.sniff(scan) or "pdf"  # read, so one of the kinds
    make_pdfa3b(
        writer,
        modified=None,
        attachment=Attachment(
            name=f"scan{sources.SUFFIXES[kind][0]}",
            data=scan,
            description=SOURCE_DESCRIPTION,
            mime=sources.MEDIA_TYPES[kind][0],
        ),
        file_id=(
            hashlib.sha256(scan).digest()[:16],
            hashlib.sha256(b"handouts scan record\0" + scan).digest()[:16],
        ),
        producer_note=f"scan read and archived by handouts {__version__} with pypdf {pypdf.__version__}",
    )
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue(), len(writer.pages)


def _png(image: np.ndarray) -> str:
    import cv2

    ok, data = cv2.imencode(".png", image)
    assert ok
    return "data:image/png;base64," + base64.b64encode(data.tobytes()).decode("ascii")


def _jpeg(image: np.ndarray) -> str:
    import cv2

    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return "data:image/jpeg;base64," + base64.b64encode(data.tobytes()).decode("ascii")


def summary_html(
    form: read.ScanForm,
    pages: dict[int, sources.ScanPage],
    name: str,
    labels: dict[str, str],
    size: tuple[float, float],
) -> str:
    """The record's HTML: the summary page, then one page per scanned page of the form (size: points)."""
    r: ScreenResult = form.result
    info = r.form
    assert info is not None
    e = escape
    unclear = {u["id"]: u["reason"] for u in r.unclear}
    rows = []
    for cid, answer in r.answers.items():
        read_as = "unclear" if cid in unclear else (answer or "unanswered")
        rows.append(
            f"<tr><th scope='row'>{e(labels.get(cid, cid))} <span class='id'>({e(cid)})</span></th>"
            f"<td class='answer {read_as}'>{e(read_as)}</td><td>{r.confidence.get(cid, 0.0):.2f}</td></tr>"
        )
    provenance = [
        ("Document", f"{info.document} v{info.version} (effective {info.effective})"),
        ("Fingerprint", info.fingerprint[:7]),
        ("Language, brand", f"{info.lang}, {info.brand}"),
        ("Packet", info.packet_id or "none (a printed form, not a packet)"),
        ("Layout", form.scan_id.map_id if form.scan_id else "?"),
        (
            "Current content",
            "this version" if r.is_current else f"v{r.current_version or '?'}: check the answers",
        ),
        ("Scan", f"{name}, page(s) {', '.join(map(str, r.pages))} of the file"),
    ]
    marks = [
        ("Consent box", "ticked" if r.consent_box else "not ticked"),
        ("Signature line", "signed" if r.signature else "no signature"),
        ("Date line", "dated" if r.date else "no date"),
    ]
    crops = "".join(
        f"<figure><img src='{_png(image)}' alt='The marks for {e(labels.get(cid, cid))} as scanned'>"
        f"<figcaption>{e(labels.get(cid, cid))}: {e(unclear.get(cid, 'look at this mark'))}</figcaption>"
        "</figure>"
        for cid, image in form.crops.items()
        if image.size
    )
    problems = "".join(f"<li>{e(p)}</li>" for p in r.problems + [f"{k}: {v}" for k, v in unclear.items()])
    scanned = "".join(
        f"<section class='scan'><img src='{_jpeg(pages[n].image)}' "
        f"alt='Scanned page {n} of {e(name)}, as it was read'></section>"
        for n in r.pages
        if n in pages
    )
    meta = {
        "handouts-doc": info.document, "handouts-version": info.version, "handouts-effective": info.effective,
        "handouts-fingerprint": info.fingerprint, "handouts-lang": info.lang, "handouts-brand": info.brand,
        "handouts-source": "scan", "handouts-formmap": form.scan_id.map_id if form.scan_id else "",
        **({"handouts-packetid": info.packet_id} if info.packet_id else {}),
    }  # fmt: skip
    dl = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in provenance)
    marks_html = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in marks)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Record of a scanned consent form: {e(info.document)} v{e(info.version)}</title>
<meta name="author" content="handouts {e(__version__)}">
{"".join(f'<meta name="{k}" content="{e(v)}">' for k, v in meta.items())}
<style>
  @page {{ size: {size[0]:.2f}pt {size[1]:.2f}pt; margin: 16mm 18mm; }}
  @page scan {{ margin: 0; }}
  html {{ font-family: "DejaVu Sans", sans-serif; font-size: 9.5pt; line-height: 1.35; color: #111; }}
  h1 {{ font-size: 15pt; margin: 0 0 2mm; }}
  h2 {{ font-size: 11pt; margin: 4mm 0 1mm; }}
  dl {{ display: grid; grid-template-columns: 32mm 1fr; margin: 0; }}
  dt {{ font-weight: bold; }} dd {{ margin: 0; }}
  table {{ border-collapse: collapse; width: 100%; }}
  th, td {{ border-bottom: 0.5pt solid #999; padding: 1mm; text-align: left; }}
  .id {{ font-weight: normal; color: #444; }}
  .yes, .unclear {{ font-weight: bold; }}
  figure {{ display: inline-block; margin: 1mm 3mm 2mm 0; vertical-align: top; }}
  figure img {{ height: 22mm; border: 0.5pt solid #999; }}
  figcaption {{ font-size: 8pt; }}
  .scan {{ page: scan; break-before: page; width: 100%; height: {size[1]:.2f}pt; }}
  .scan img {{ width: 100%; height: 100%; object-fit: contain; display: block; }}
</style>
</head>
<body>
<main>
<h1>Consent form read from a scan</h1>
<p><strong>Status: {e(r.status)}</strong>: {e(STATUS_WORDS.get(r.status, r.status))}.</p>
<h2>Provenance (from the form's QR code)</h2>
<dl>{dl}</dl>
<h2>Answers as read</h2>
<table><thead><tr><th scope="col">Question</th><th scope="col">Answer</th><th scope="col">Confidence</th>
</tr></thead><tbody>{"".join(rows)}</tbody></table>
<dl>{marks_html}</dl>
{f"<h2>To look at</h2><ul>{problems}</ul>" if problems else ""}
{f"<h2>Marks in doubt, as scanned</h2>{crops}" if crops else ""}
<p>Read by handouts {e(__version__)}. The scanned pages of this form follow; the scan file
itself is embedded in this record as its source.</p>
</main>
{scanned}
</body>
</html>
"""
