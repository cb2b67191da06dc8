"""Fit a page image to its recorded geometry: which way up, how rotated, scaled and slanted.

The QR code gives a first similarity (its corners say which way up the page lies); the four
solid corner squares, found near where that predicts them, then fix a full perspective
transform, checked by how well every point fits. The page is then drawn onto a canonical
raster (CANON pixels per point) where every box sits where the form map says.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handouts.render.formmap import PageMap
from handouts.render.scanmarks import MARK_SIZE, MM

CANON = 2.5  # pixels per point of the canonical raster (180 dpi)
SEARCH = 30 * MM  # how far from its predicted place a corner square may be found
FIT_TOLERANCE = 1.5 * MM  # largest misfit of a point after the perspective fit


class RegistrationError(Exception):
    """The page cannot be fitted to its form (the message says why, in a few words)."""


@dataclass(frozen=True)
class Registered:
    canon: np.ndarray  # grey (darkest channel), CANON px per point, page-sized
    marks_found: int
    misfit_mm: float  # largest misfit of a fitted point


def ink_grey(image: np.ndarray) -> np.ndarray:
    """The darkest channel: any common ink (black, blue, red) is dark in at least one."""
    import cv2

    if image.ndim == 2:
        return image
    b, g, r = cv2.split(image)[:3]
    return np.asarray(cv2.min(cv2.min(b, g), r))


def luminance(image: np.ndarray) -> np.ndarray:
    import cv2

    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


# Corner squares are first looked for on the page shrunk until they are about this many pixels
# wide (a 4 mm square is 31 px at 200 dpi, 94 px at 600): thresholding and labelling a whole page
# cost in proportion to its pixels. Each blob found there is then judged again at full size, in
# a window around it, by the very threshold and tests a whole-page pass would apply.
MARK_PIXELS = 12.0


def _mark_candidates(grey: np.ndarray, side: float) -> np.ndarray:
    """Centres of solid, square-ish dark blobs about `side` pixels wide."""
    import cv2

    factor = max(1, int(side // MARK_PIXELS))
    if factor == 1:
        return _blob_centres(grey, side)
    small = cv2.resize(grey, (grey.shape[1] // factor, grey.shape[0] // factor), interpolation=cv2.INTER_AREA)
    # A small pixel i covers the full-size ones i*f .. i*f+f-1: its centre is i*f + (f-1)/2.
    rough = _blob_centres(small, side / factor, loose=True) * factor + (factor - 1) / 2
    block = _block(side)
    reach = int(2 * side) + block // 2 + 1  # the blob, and every pixel its threshold looks at
    height, width = grey.shape[:2]
    found: list[np.ndarray] = []
    for x, y in rough:
        x0, y0 = max(0, int(x) - reach), max(0, int(y) - reach)
        window = grey[y0 : min(height, int(y) + reach + 1), x0 : min(width, int(x) + reach + 1)]
        for centre in _blob_centres(window, side) + (x0, y0):
            # Only the blob the rough one stands for, once (two windows may hold one square).
            if np.hypot(*(centre - (x, y))) <= side and all(np.hypot(*(centre - c)) > 1 for c in found):
                found.append(centre)
    return np.array(found, dtype=np.float64).reshape(-1, 2)


def _block(side: float) -> int:
    return max(int(side * 3) | 1, 3)


def _blob_centres(grey: np.ndarray, side: float, loose: bool = False) -> np.ndarray:
    """Centroids of the blobs of grey that pass for a solid square `side` pixels wide.

    loose: wider bounds, for the shrunk page's first look (what passes is judged again).
    """
    import cv2

    bw = cv2.adaptiveThreshold(grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, _block(side), 25)
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(bw, connectivity=8)
    area = side * side
    low, high, fill = (0.4, 1.7, 0.7) if loose else (0.5, 1.45, 0.8)
    keep = []
    for i in range(1, count):
        x, y, w, h, a = stats[i]
        # Tight on size: a filled-in 5 mm box must not pass for a 4 mm corner square.
        if not (low * area <= a <= high * area and 0.6 * side <= max(w, h) <= 2.0 * side):
            continue
        ys, xs = np.nonzero(labels[y : y + h, x : x + w] == i)
        (_, _), (rw, rh), _ = cv2.minAreaRect(np.column_stack([xs, ys]).astype(np.float32))
        if rw * rh > 0 and a / (rw * rh) >= fill and 0.6 <= rw / max(rh, 1e-6) <= 1.6:
            keep.append(centroids[i])
    return np.array(keep, dtype=np.float64).reshape(-1, 2)


def register(image: np.ndarray, corners: np.ndarray, page: PageMap) -> Registered:
    """Fit image (BGR or grey) to page, from the QR code's corners; raise RegistrationError."""
    import cv2

    geometry = page.geometry
    qx, qy, qs, _ = geometry.qr()
    qr_page = np.array([[qx, qy], [qx + qs, qy], [qx + qs, qy + qs], [qx, qy + qs]], dtype=np.float64)
    similarity, _ = cv2.estimateAffinePartial2D(qr_page, corners)
    if similarity is None:
        raise RegistrationError("its QR code is distorted")
    scale = float(np.sqrt(abs(np.linalg.det(similarity[:, :2]))))  # pixels per point
    if not 0.8 <= scale <= 12:  # about 58 to 860 dpi
        raise RegistrationError(f"its resolution ({scale * 72:.0f} dpi) is outside 60-860 dpi")
    grey = ink_grey(image)
    candidates = _mark_candidates(grey, MARK_SIZE * scale)
    page_points, image_points = list(qr_page), list(corners)
    used: set[int] = set()
    # Nearest the code first: each square found improves the guess of where the next one is
    # (a phone's slant bends the page away from what the small code alone predicts).
    qr_centre = qr_page.mean(axis=0)
    order = sorted(geometry.marks(), key=lambda m: float(np.hypot(m[0] - qr_centre[0], m[1] - qr_centre[1])))
    transform = np.vstack([similarity, [0.0, 0.0, 1.0]])
    for mark in order:
        if not len(candidates):
            break
        guess = transform @ np.array([mark[0], mark[1], 1.0])
        predicted = guess[:2] / guess[2]
        distances = np.linalg.norm(candidates - predicted, axis=1)
        distances[list(used)] = np.inf
        best = int(np.argmin(distances))
        if distances[best] > SEARCH * scale:
            continue
        used.add(best)
        page_points.append(np.array(mark))
        image_points.append(candidates[best])
        src, dst = np.array(page_points), np.array(image_points)
        # A perspective fit only once three squares pin the page down; before that an
        # affine one (a perspective fit to the code and one or two squares bends wildly).
        if len(used) >= 3:
            fitted, _ = cv2.findHomography(src, dst, 0)
        else:
            affine, _ = (
                cv2.estimateAffine2D(src, dst) if len(used) == 2 else cv2.estimateAffinePartial2D(src, dst)
            )
            fitted = None if affine is None else np.vstack([affine, [0.0, 0.0, 1.0]])
        if fitted is not None:
            transform = fitted
    if len(used) < 3:
        raise RegistrationError(f"only {len(used)} of its 4 corner squares were found (cut off or covered?)")
    src = np.array(page_points, dtype=np.float64)
    dst = np.array(image_points, dtype=np.float64)
    homography, _ = cv2.findHomography(src, dst, 0)
    if homography is None:
        raise RegistrationError("its corner squares do not fit together")
    projected = cv2.perspectiveTransform(src.reshape(-1, 1, 2), homography).reshape(-1, 2)
    misfit = float(np.max(np.linalg.norm(projected - dst, axis=1))) / scale
    if misfit > FIT_TOLERANCE:
        raise RegistrationError(f"it does not lie flat (points off by {misfit / MM:.1f} mm)")
    to_canon = np.diag([CANON, CANON, 1.0]) @ np.linalg.inv(homography)
    size = (int(round(geometry.width * CANON)), int(round(geometry.height * CANON)))
    canon = cv2.warpPerspective(grey, to_canon, size, flags=cv2.INTER_LINEAR, borderValue=255)
    return Registered(canon, len(used), misfit / MM)


def corner_squares(grey: np.ndarray, longest_pt: float = 792.0) -> np.ndarray | None:
    """The four corner squares of a page in a picture (clockwise on screen, the top left first), or None.

    The widest set of four square blobs that lie as a rectangle seen from roughly in front
    and span most of the picture (the page fills it: a scanner's lid, a phone's view with
    some desk); longest_pt: the page's longer side, in points, for the squares' expected size.
    """
    import itertools

    import cv2

    side = 0.9 * max(grey.shape) * MARK_SIZE / longest_pt
    found = _mark_candidates(grey, side)
    if len(found) < 4:
        return None
    centre = np.array(grey.shape[::-1], dtype=np.float64) / 2
    # The corner squares lie furthest out; a dozen candidates is plenty (495 sets of four).
    found = found[np.argsort(-np.linalg.norm(found - centre, axis=1))][:12]
    best: tuple[float, np.ndarray] | None = None
    for combo in itertools.combinations(range(len(found)), 4):
        quad = found[list(combo)]
        middle = quad.mean(axis=0)
        quad = quad[np.argsort(np.arctan2(quad[:, 1] - middle[1], quad[:, 0] - middle[0]))]
        sides = np.linalg.norm(quad - np.roll(quad, -1, axis=0), axis=1)
        if min(sides) <= 0 or max(sides[0] / sides[2], sides[2] / sides[0], sides[1] / sides[3],
                                  sides[3] / sides[1]) > 1.15:  # fmt: skip
            continue  # not a rectangle seen from roughly in front
        area = float(cv2.contourArea(quad.astype(np.float32)))
        if best is None or area > best[0]:
            best = (area, quad)
    if best is None or best[0] < 0.35 * grey.shape[0] * grey.shape[1]:
        return None
    return best[1]


def fit_by_marks(image: np.ndarray, page: PageMap) -> list[Registered]:
    """Fits of a page whose code cannot be read, from its four corner squares alone.

    The squares' rectangle has the page's proportions two ways up (four for a square page);
    the code's square, whose modules stay printed even when they cannot be decoded, tells
    which: ink where the code belongs, clean paper where an upside-down page would put it.
    Usually one fit, or none; the caller still checks the boxes' frames (marks.read_page).
    """
    import cv2

    geometry = page.geometry
    grey = ink_grey(image)
    quad = corner_squares(grey, max(geometry.width, geometry.height))
    if quad is None:
        return []
    marks = np.array(geometry.marks(), dtype=np.float64)
    want = (marks[1, 0] - marks[0, 0]) / (marks[3, 1] - marks[0, 1])  # width / height of the squares
    sides = np.linalg.norm(quad - np.roll(quad, -1, axis=0), axis=1)
    fits = []
    for turn in range(4):
        points = np.roll(quad, -turn, axis=0)  # points[0] taken as the top left square
        ratio = (sides[turn % 4] + sides[(turn + 2) % 4]) / (sides[(turn + 1) % 4] + sides[(turn + 3) % 4])
        if abs(ratio / want - 1) > 0.08:
            continue
        homography, _ = cv2.findHomography(marks, points, 0)
        if homography is None:
            continue
        to_canon = np.diag([CANON, CANON, 1.0]) @ np.linalg.inv(homography)
        size = (int(round(geometry.width * CANON)), int(round(geometry.height * CANON)))
        canon = cv2.warpPerspective(grey, to_canon, size, flags=cv2.INTER_LINEAR, borderValue=255)
        if _code_square_inked(canon, geometry.qr(), size):
            fits.append(Registered(canon, 4, 0.0))
    return fits


def _code_square_inked(
    canon: np.ndarray, qr: tuple[float, float, float, float], size: tuple[int, int]
) -> bool:
    """Whether the code's square holds ink and the same square turned upside down does not."""
    x, y, w, h = (int(round(v * CANON)) for v in qr)
    dark = canon < 0.6 * float(np.percentile(canon, 90))
    here = float(dark[y : y + h, x : x + w].mean())
    flipped = float(dark[size[1] - y - h : size[1] - y, size[0] - x - w : size[0] - x].mean())
    return here >= 0.2 and flipped <= 0.05


def looks_like_form(image: np.ndarray) -> bool:
    """Whether an image without a readable code still shows the four corner squares of a form page."""
    return corner_squares(ink_grey(image)) is not None


def blank(image: np.ndarray) -> bool:
    """Whether a page is (nearly) empty paper: the back of a sheet in a duplex scan."""
    import cv2

    grey = ink_grey(image)
    small = cv2.resize(grey, (grey.shape[1] // 4 or 1, grey.shape[0] // 4 or 1), interpolation=cv2.INTER_AREA)
    paper = float(np.percentile(small, 90))
    return float(np.mean(small < paper * 0.6)) < 0.0015
