"""Generated scans of printed consent forms, for the tests and bench/.

Render a printed consent with PDFium, draw pen marks with OpenCV where the form map says the
boxes are (ticks, crosses, filled boxes, circles; varied stroke, place and ink), then degrade
the page like a scanner or a phone would (rotation, scale, slant, blur, noise, JPEG, grey
background, upside down, a photocopy of a copy), and write pages as a PDF or images.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from handouts.render.formmap import Box, FormMap, PageMap, loads
from handouts.render.scanmarks import MM

Mark = Literal["tick", "cross", "fill", "circle"]
MARKS: tuple[Mark, ...] = ("tick", "cross", "fill", "circle")
# What the patient did on a row: answered yes/no, left it, marked both, marked between.
RowAction = Literal["yes", "no", "blank", "both", "between"]
INKS = {"black": (25, 25, 25), "blue": (150, 60, 20), "navy": (90, 30, 15), "red": (40, 40, 190)}


def form_map_of(out: Path, relpath: str) -> FormMap:
    """The recorded form map of a built output (its manifest entry names it)."""
    manifest = json.loads((out / "manifest.json").read_text())
    entry = next(e for e in manifest["outputs"] if e["path"] == relpath)
    return loads((out / "formmaps" / f"{entry['form_map']}.json").read_bytes())


def render(pdf: Path | bytes, dpi: int) -> list[np.ndarray]:
    """The pages of a PDF as BGR images at dpi."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf if isinstance(pdf, bytes) else str(pdf))
    try:
        return [document[i].render(scale=dpi / 72).to_numpy()[:, :, :3].copy() for i in range(len(document))]
    finally:
        document.close()


@dataclass
class Filling:
    """What a patient wrote on the form."""

    rows: dict[str, RowAction] = field(default_factory=dict)
    consent: bool = True
    signature: bool = True
    date: bool = True


def _px(value: float, dpi: int) -> float:
    return value * dpi / 72


def _draw_mark(img: np.ndarray, box: Box, dpi: int, rng: np.random.Generator, style: Mark,
               ink: tuple[int, ...],
               stroke_mm: float) -> None:  # fmt: skip
    x, y, w, h = (_px(v, dpi) for v in (box.x, box.y, box.w, box.h))
    jx, jy = rng.uniform(-0.12, 0.12) * w, rng.uniform(-0.12, 0.12) * h
    x, y = x + jx, y + jy
    t = max(1, int(round(stroke_mm * dpi / 25.4)))

    def pts(*coords: tuple[float, float]) -> np.ndarray:
        return np.array([[x + a * w, y + b * h] for a, b in coords], np.int32).reshape(-1, 1, 2)

    if style == "tick":
        reach = rng.uniform(0.9, 1.3)
        cv2.polylines(
            img, [pts((0.15, 0.5), (0.42, 0.88), (reach, -0.25 * reach))], False, ink, t, cv2.LINE_AA
        )
    elif style == "cross":
        o = rng.uniform(-0.05, 0.2)
        cv2.line(img, *[tuple(p[0]) for p in pts((-o, -o), (1 + o, 1 + o))], ink, t, cv2.LINE_AA)
        cv2.line(img, *[tuple(p[0]) for p in pts((1 + o, -o), (-o, 1 + o))], ink, t, cv2.LINE_AA)
    elif style == "fill":
        cv2.fillPoly(img, [pts((0.05, 0.1), (0.95, 0.02), (1.0, 0.92), (0.08, 0.97))], ink, cv2.LINE_AA)
    else:
        centre = (int(x + w / 2), int(y + h / 2))
        axes = (int(w * rng.uniform(0.85, 1.1)), int(h * rng.uniform(0.75, 1.0)))
        cv2.ellipse(img, centre, axes, rng.uniform(-20, 20), 0, 340, ink, t, cv2.LINE_AA)


def _scribble(img: np.ndarray, box: Box, dpi: int, rng: np.random.Generator, ink: tuple[int, ...],
              share: float,
              stroke_mm: float) -> None:  # fmt: skip
    """Handwriting-like strokes over part of a line (a signature, a date)."""
    x, y, w, h = (_px(v, dpi) for v in (box.x, box.y, box.w, box.h))
    n = 60
    xs = np.linspace(x + 0.05 * w, x + (0.05 + share) * w, n)
    ys = y + h * (0.55 + 0.25 * np.sin(np.linspace(0, rng.uniform(12, 20), n)) + rng.uniform(-0.05, 0.05, n))
    t = max(1, int(round(stroke_mm * dpi / 25.4)))
    cv2.polylines(
        img, [np.column_stack([xs, ys]).astype(np.int32).reshape(-1, 1, 2)], False, ink, t, cv2.LINE_AA
    )


def fill(pages: list[np.ndarray], form: FormMap, filling: Filling, dpi: int, rng: np.random.Generator,
         style: Mark | None = None) -> list[np.ndarray]:  # fmt: skip
    """Draw a patient's marks onto rendered pages (copies)."""
    out = [p.copy() for p in pages]
    ink = list(INKS.values())[int(rng.integers(len(INKS)))]
    stroke = float(rng.uniform(0.3, 0.8))

    def pick() -> Mark:
        return style or MARKS[int(rng.integers(len(MARKS)))]

    for img, page in zip(out, form.pages, strict=True):
        for q in page.questions:
            action = filling.rows.get(q.id, "no")
            if action in ("yes", "both"):
                _draw_mark(img, q.yes, dpi, rng, pick(), ink, stroke)
            if action in ("no", "both"):
                _draw_mark(img, q.no, dpi, rng, pick(), ink, stroke)
            if action == "between":
                mid = Box((q.yes.x + q.no.x) / 2, q.yes.y, q.yes.w, q.yes.h)
                _draw_mark(img, mid, dpi, rng, "cross", ink, stroke)
        if page.consent is not None and filling.consent:
            _draw_mark(
                img,
                page.consent,
                dpi,
                rng,
                style if style in ("tick", "cross", "fill") else "tick",
                ink,
                stroke,
            )
        line = page.line("patient.signature")
        if line is not None and filling.signature:
            _scribble(img, line, dpi, rng, ink, float(rng.uniform(0.3, 0.7)), stroke)
        line = page.line("patient.date")
        if line is not None and filling.date:
            _scribble(img, line, dpi, rng, ink, float(rng.uniform(0.2, 0.35)), stroke)
    return out


@dataclass(frozen=True)
class Degrade:
    """How a page got from paper to pixels."""

    angle: float = 0.0  # degrees
    upside_down: bool = False
    scale: float = 1.0
    slant: float = 0.0  # perspective: corner displacement as a share of the width
    blur: float = 0.0  # Gaussian sigma, pixels
    noise: float = 0.0  # Gaussian noise sigma, grey levels
    jpeg: int | None = None  # quality
    background: int | None = None  # grey level of what lies around the page
    photocopies: int = 0
    grey: bool = False


def degrade(img: np.ndarray, d: Degrade, rng: np.random.Generator) -> np.ndarray:
    """The page as a scanner or phone would give it."""
    h, w = img.shape[:2]
    out = img
    for _ in range(d.photocopies):
        g = cv2.cvtColor(out, cv2.COLOR_BGR2GRAY) if out.ndim == 3 else out
        g = cv2.GaussianBlur(g, (0, 0), 0.8)
        g = np.clip((g.astype(np.float32) - 40) * 1.35, 0, 255).astype(np.uint8)
        g = np.clip(g.astype(np.float32) + rng.normal(0, 6, g.shape), 0, 255).astype(np.uint8)
        out = cv2.cvtColor(g, cv2.COLOR_GRAY2BGR)
    # What lies around the page: a scanner's white lid, or a desk under a phone.
    pad = int(0.06 * max(w, h))
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = src.copy()
    if d.slant:
        dst += rng.uniform(-d.slant, d.slant, (4, 2)).astype(np.float32) * w
    centre = np.float32([w / 2, h / 2])
    angle = np.deg2rad(d.angle + (180 if d.upside_down else 0))
    rot = np.float32([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]) * d.scale
    dst = (dst - centre) @ rot.T + centre * d.scale + pad
    size = (int(w * d.scale) + 2 * pad, int(h * d.scale) + 2 * pad)
    matrix = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    fill_value = d.background if d.background is not None else 255
    out = cv2.warpPerspective(out, matrix, size, flags=cv2.INTER_LINEAR, borderValue=(fill_value,) * 3)
    if d.blur:
        out = cv2.GaussianBlur(out, (0, 0), d.blur)
    if d.noise:
        out = np.clip(out.astype(np.float32) + rng.normal(0, d.noise, out.shape), 0, 255).astype(np.uint8)
    if d.grey:
        out = cv2.cvtColor(out, cv2.COLOR_BGR2GRAY)
    if d.jpeg is not None:
        ok, data = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, d.jpeg])
        assert ok
        out = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    return out


def random_degrade(rng: np.random.Generator, level: str = "scanner") -> Degrade:
    """A plausible scanner (or phone) degradation."""
    phone = level == "phone"
    return Degrade(
        angle=float(rng.uniform(-4, 4)),
        upside_down=bool(rng.random() < 0.25),
        scale=float(rng.uniform(0.9, 1.05)),
        slant=float(rng.uniform(0.01, 0.05)) if phone else 0.0,
        blur=float(rng.uniform(0.3, 1.0)),
        noise=float(rng.uniform(0, 6)),
        jpeg=int(rng.integers(40, 85)) if rng.random() < 0.7 else None,
        background=int(rng.integers(60, 200)) if phone or rng.random() < 0.3 else None,
        photocopies=int(rng.integers(0, 3)) if rng.random() < 0.2 else 0,
        grey=bool(rng.random() < 0.3),
    )


def write_pdf(
    images: Sequence[np.ndarray], path: Path | None = None, dpi: int = 200, quality: int = 75
) -> bytes:
    """A scan PDF as office scanners and phone apps write it: one JPEG image per page."""
    from PIL import Image

    pil = [Image.fromarray(cv2.cvtColor(i, cv2.COLOR_BGR2RGB) if i.ndim == 3 else i) for i in images]
    buffer = io.BytesIO()
    pil[0].save(buffer, "PDF", resolution=float(dpi), save_all=True, append_images=pil[1:], quality=quality)
    data = buffer.getvalue()
    if path is not None:
        path.write_bytes(data)
    return data


def write_image(image: np.ndarray, path: Path) -> None:
    ok, data = cv2.imencode(path.suffix, image)
    assert ok
    path.write_bytes(data.tobytes())


def expected(form: FormMap, filling: Filling) -> dict[str, str | None]:
    """The answers a correct reader gives (None: unanswered or unclear)."""
    return {cid: filling.rows.get(cid, "no") if filling.rows.get(cid, "no") in ("yes", "no") else None
            for cid in form.checklist}  # fmt: skip


def page_maps(form: FormMap) -> tuple[PageMap, ...]:
    return form.pages


__all__ = [
    "MM",
    "Degrade",
    "Filling",
    "degrade",
    "expected",
    "fill",
    "form_map_of",
    "random_degrade",
    "render",
]
