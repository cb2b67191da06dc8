"""Read the pen marks of one registered page: each row yes / no / unanswered / unclear.

Measured on the canonical raster (register.CANON pixels per point): the share of ink pixels
inside each box (its printed frame left out), in a ring around it (a tick that overshoots,
a circle drawn around the box) and in the gap between a row's two boxes. A box is marked,
empty, or neither (faint); a row is answered only when one box is clearly marked, the other
clearly empty and the gap clean. Everything else is unclear: never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from handouts.intake.scan.register import CANON
from handouts.render.formmap import Box, PageMap

Answer = Literal["yes", "no", "unanswered", "unclear"]
BoxState = Literal["marked", "empty", "faint"]

INK = 0.35  # a pixel this much darker than the paper around it is ink
INSIDE_MARKED, INSIDE_EMPTY = 0.06, 0.012
RING_MARKED, RING_EMPTY = 0.06, 0.015
GAP_EMPTY = 0.012
LINE_SIGNED, LINE_EMPTY = 0.008, 0.0025
RING = 0.75  # ring width, as a share of the box side (a circle drawn around the box)
MIDDLE = 2.0 * 72 / 25.4  # the strip between a row's rings that must stay clean, points
SHIFT = 2.0 * 72 / 25.4  # largest local correction of a box's place, points


@dataclass(frozen=True)
class BoxReading:
    state: BoxState
    inside: float
    ring: float

    @property
    def strength(self) -> float:
        """1 or more: marked; below 1/... : nearly empty (in units of the thresholds)."""
        return max(self.inside / INSIDE_MARKED, self.ring / RING_MARKED)

    @property
    def emptiness(self) -> float:
        """Below 1: empty, in units of the empty thresholds."""
        return max(self.inside / INSIDE_EMPTY, self.ring / RING_EMPTY)


@dataclass(frozen=True)
class RowReading:
    id: str
    answer: Answer
    confidence: float
    reason: str = ""  # why unclear, in a few words


@dataclass
class PageReading:
    rows: list[RowReading] = field(default_factory=list)
    consent: BoxState | None = None
    lines: dict[str, BoxState] = field(default_factory=dict)
    crops: dict[str, np.ndarray] = field(default_factory=dict)  # of unclear marks, for a person


def ink_map(canon: np.ndarray) -> np.ndarray:
    """Boolean ink pixels: darker than INK below the local paper brightness."""
    import cv2

    grey = cv2.medianBlur(canon, 3)
    h, w = grey.shape
    small = cv2.resize(grey, (max(w // 8, 1), max(h // 8, 1)), interpolation=cv2.INTER_AREA)
    paper = cv2.dilate(small, np.ones((7, 7), np.uint8))
    paper = cv2.GaussianBlur(paper, (5, 5), 0)
    paper = cv2.resize(paper, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    return grey.astype(np.float32) < np.maximum(paper, 40) * (1 - INK)


def _px(box: Box, dx: float = 0, dy: float = 0) -> tuple[int, int, int, int]:
    return (int(round((box.x + dx) * CANON)), int(round((box.y + dy) * CANON)),
            int(round(box.w * CANON)), int(round(box.h * CANON)))  # fmt: skip


def _fraction(ink: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> float:
    h, w = ink.shape
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 <= x0 or y1 <= y0:
        return 0.0
    return float(ink[y0:y1, x0:x1].mean())


def _frame_shift(ink: np.ndarray, box: Box) -> tuple[float, float] | None:
    """Where the printed frame of box best lines up, as a shift in points (None: not found)."""
    import cv2

    x, y, w, h = _px(box)
    r = int(SHIFT * CANON)
    roi = ink[max(y - r, 0) : y + h + r, max(x - r, 0) : x + w + r].astype(np.float32)
    if roi.shape[0] < h + 2 or roi.shape[1] < w + 2 or min(w, h) < 6:
        return None
    t = max(2, int(round(w * 0.08)))
    template = np.zeros((h, w), np.float32)
    template[:t, :] = template[-t:, :] = template[:, :t] = template[:, -t:] = 1
    template[t:-t, t:-t] = -0.5  # ink inside the frame speaks against a place
    scores = cv2.matchTemplate(roi, template, cv2.TM_CCORR)
    _, best, _, (bx, by) = cv2.minMaxLoc(scores)
    if best < 0.5 * template[template > 0].sum():
        return None
    return ((bx - min(r, x)) / CANON, (by - min(r, y)) / CANON)


def _ring_px(left: Box, right: Box) -> int:
    """Ring width of a row's boxes: as wide as leaves a clean middle strip between them."""
    space = (right.x - left.x - left.w - MIDDLE) / 2
    return int(round(max(min(space, 0.95 * left.w), 0.4 * left.w) * CANON))


def _box_reading(
    ink: np.ndarray, box: Box, dx: float, dy: float, ring_right: bool = True, ring: int | None = None
) -> BoxReading:
    x, y, w, h = _px(box, dx, dy)
    border = max(2, int(round(w * 0.12)))
    inside = _fraction(ink, x + border, y + border, x + w - border, y + h - border)
    # Above and below, the ring stays clear of the row's rules; sideways it may reach further.
    tall = int(round(w * RING))
    ring = tall if ring is None else ring
    gap = max(2, int(round(w * 0.1)))  # the frame's own edge, blurred, is not a mark
    outer = (x - ring, y - tall, x + w + (ring if ring_right else gap), y + h + tall)
    inner = (x - gap, y - gap, x + w + gap, y + h + gap)
    total = (outer[2] - outer[0]) * (outer[3] - outer[1]) - (inner[2] - inner[0]) * (inner[3] - inner[1])
    ink_outer = _fraction(ink, *outer) * (outer[2] - outer[0]) * (outer[3] - outer[1])
    ink_inner = _fraction(ink, *inner) * (inner[2] - inner[0]) * (inner[3] - inner[1])
    ring_share = max(ink_outer - ink_inner, 0.0) / max(total, 1)
    if inside >= INSIDE_MARKED or (ring_share >= RING_MARKED and inside < INSIDE_MARKED):
        state: BoxState = "marked"
    elif inside < INSIDE_EMPTY and ring_share < RING_EMPTY:
        state = "empty"
    else:
        state = "faint"
    return BoxReading(state, inside, ring_share)


def _confidence(*parts: float) -> float:
    return round(0.5 + 0.5 * float(np.clip(min(parts), 0.0, 1.0)), 3)


def _row(
    ink: np.ndarray, cid: str, yes: Box, no: Box, dx: float, dy: float
) -> tuple[RowReading, tuple[int, ...]]:
    left, right = (yes, no) if yes.x <= no.x else (no, yes)
    ring = _ring_px(left, right)
    ry, rn = _box_reading(ink, yes, dx, dy, ring=ring), _box_reading(ink, no, dx, dy, ring=ring)
    lx, ly, lw, lh = _px(left, dx, dy)
    rx, _, _, _ = _px(right, dx, dy)
    tall = int(round(lw * RING))
    gap = _fraction(ink, lx + lw + ring, ly - tall, rx - ring, ly + lh + tall)
    crop = (lx - 2 * tall, ly - 2 * tall, rx + lw + 2 * tall, ly + lh + 2 * tall)
    states = (ry.state, rn.state)
    if states == ("marked", "marked"):
        return RowReading(cid, "unclear", 0.0, "both boxes marked"), crop
    if gap >= GAP_EMPTY:
        return RowReading(cid, "unclear", 0.0, "a mark between the boxes"), crop
    if "faint" in states:
        return RowReading(cid, "unclear", 0.0, "a faint or partial mark"), crop
    gap_clean = 1 - gap / GAP_EMPTY
    if states == ("marked", "empty"):
        return RowReading(cid, "yes", _confidence(ry.strength - 1, 1 - rn.emptiness, gap_clean)), crop
    if states == ("empty", "marked"):
        return RowReading(cid, "no", _confidence(rn.strength - 1, 1 - ry.emptiness, gap_clean)), crop
    return RowReading(cid, "unanswered", _confidence(1 - ry.emptiness, 1 - rn.emptiness, gap_clean)), crop


def _line(ink: np.ndarray, box: Box, dx: float, dy: float) -> BoxState:
    x, y, w, h = _px(box, dx, dy)
    inset, rule = int(1 * 72 / 25.4 * CANON), int(0.8 * 72 / 25.4 * CANON)
    share = _fraction(ink, x + inset, y + inset // 2, x + w - inset, y + h - rule)
    if share >= LINE_SIGNED:
        return "marked"
    return "empty" if share < LINE_EMPTY else "faint"


def rules_found(canon: np.ndarray, page: PageMap) -> tuple[int, int]:
    """How many of the page's writing lines show their printed rule where the map has it (of how many).

    A rule is a dark row along most of the line's width within 1.5 mm of its recorded bottom
    edge; a signature may cross it, a page fitted to the wrong layout has none there.
    """
    import cv2

    found = 0
    reach = int(round(1.5 * 72 / 25.4 * CANON))
    for _, box in page.lines:
        x, y, w, h = _px(box)
        band = canon[max(y + h - reach, 0) : y + h + reach, max(x, 0) : x + w]
        if not band.size:
            continue
        # Not ink_map: its median filter takes a hairline rule for noise. A row of the band
        # (or its neighbour: the rule may tilt by a pixel) darker than the paper along most
        # of the width is the rule.
        dark = (band < 0.85 * float(np.percentile(band, 90))).astype(np.uint8)
        tilted = np.asarray(cv2.dilate(dark, np.ones((3, 1), np.uint8)))
        if float(tilted.mean(axis=1).max()) >= 0.6:
            found += 1
    return found, len(page.lines)


class LayoutMismatch(Exception):
    """The printed boxes are not where the form map has them: the page was fitted wrongly."""


def read_page(canon: np.ndarray, page: PageMap) -> PageReading:
    """Read every row, the consent box and the patient's lines of one registered page.

    Raises LayoutMismatch unless enough of the boxes' printed frames (found where the map puts
    them, all shifted alike) and of the lines' rules are found: a wrongly fitted page must never
    be read.
    """
    ink = ink_map(canon)
    boxes = [b for q in page.questions for b in (q.yes, q.no)] + ([page.consent] if page.consent else [])
    shifts = [s for s in (_frame_shift(ink, b) for b in boxes) if s is not None]
    # The page's common correction (most boxes are empty, their frames clean); a box's own
    # only when it agrees with it, so a heavy mark cannot drag its box away.
    common = (
        (float(np.median([s[0] for s in shifts])), float(np.median([s[1] for s in shifts])))
        if shifts
        else (0.0, 0.0)
    )

    agreeing = [s for s in shifts if abs(s[0] - common[0]) <= 1.2 and abs(s[1] - common[1]) <= 1.2]
    # Every answered row leaves one box empty, its frame clean: at least those must agree. A
    # page with a box or two (the consent box, ticked over its frame) is told by its lines too.
    rules, lines = rules_found(canon, page)
    found, printed = len(agreeing) + rules, len(boxes) + lines
    if printed and found < max(1, round(0.35 * printed)):
        raise LayoutMismatch(
            f"only {found} of its {printed} printed boxes and lines are where the form has them"
        )

    def shift_of(box: Box) -> tuple[float, float]:
        own = _frame_shift(ink, box)
        if own is not None and abs(own[0] - common[0]) <= 1.2 and abs(own[1] - common[1]) <= 1.2:
            return own
        return common

    reading = PageReading()
    for q in page.questions:
        dx, dy = shift_of(q.yes)
        row, (x0, y0, x1, y1) = _row(ink, q.id, q.yes, q.no, dx, dy)
        reading.rows.append(row)
        if row.answer == "unclear":
            reading.crops[q.id] = canon[max(y0, 0) : y1, max(x0, 0) : x1].copy()
    if page.consent is not None:
        dx, dy = shift_of(page.consent)
        box = _box_reading(ink, page.consent, dx, dy, ring_right=False)
        reading.consent = box.state
        if box.state == "faint":
            x, y, w, h = _px(page.consent, dx, dy)
            reading.crops["consent"] = canon[max(y - h, 0) : y + 2 * h, max(x - h, 0) : x + 3 * w].copy()
    for name, line in page.lines:
        reading.lines[name] = _line(ink, line, *common)
    return reading
