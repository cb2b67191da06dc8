"""Find a page's QR code with zxing-cpp and say which form and page it names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from handouts.render.scanmarks import ScanId, decode


@dataclass(frozen=True)
class Code:
    """A handouts page code found in an image: what it says and its four corners (pixels).

    Corners are the symbol's top left, top right, bottom right and bottom left as printed,
    whatever way up the page lies in the image.
    """

    scan_id: ScanId
    corners: np.ndarray  # shape (4, 2), float


@dataclass(frozen=True)
class Found:
    codes: tuple[Code, ...]
    foreign: int  # QR codes that are not ours


def _read(grey: np.ndarray, scale: float) -> list[tuple[str, np.ndarray]]:
    import zxingcpp

    found = []
    only_qr = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    for barcode in zxingcpp.read_barcodes(grey, formats=only_qr):
        p = barcode.position
        corners = np.array(
            [[p.top_left.x, p.top_left.y], [p.top_right.x, p.top_right.y],
             [p.bottom_right.x, p.bottom_right.y], [p.bottom_left.x, p.bottom_left.y]],
            dtype=np.float64,
        ) / scale  # fmt: skip
        found.append((barcode.text, corners))
    return found


def find(grey: np.ndarray) -> Found:
    """Every QR code on a page image; tries harder (enlarged, sharpened) when none is found."""
    import cv2

    def enlarged() -> np.ndarray:
        return cv2.resize(grey, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)

    def sharpened() -> np.ndarray:
        big = enlarged()
        return cv2.addWeighted(big, 2.0, cv2.GaussianBlur(big, (0, 0), 2.0), -1.0, 0)

    # A low-resolution or blurred scan: the modules are 2-3 pixels; enlarging and sharpening
    # gives zxing's binariser cleaner edges. Tried only when the plain image gives nothing.
    def plain() -> np.ndarray:
        return grey

    attempts: list[tuple[Callable[[], np.ndarray], float]] = [(plain, 1.0), (enlarged, 2.0), (sharpened, 2.0)]
    codes: list[Code] = []
    foreign = 0
    for make, scale in attempts:
        image = make()
        codes, foreign = [], 0
        for text, corners in _read(image, scale):
            try:
                codes.append(Code(decode(text), corners))
            except ValueError:
                foreign += 1
        if codes:
            break
    return Found(tuple(codes), foreign)
