"""Pages of a scan as images: a PDF (rasterised with PDFium) or PNG, JPEG, TIFF files.

Bounded: a file, a page count and a page size past which a scan is refused with one line,
so a hostile or mistaken input cannot exhaust memory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from handouts.errors import PdfInputError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
MAX_SCAN_BYTES = 200_000_000
MAX_PAGES = 200
MAX_PIXELS = 60_000_000  # a letter page at 600 dpi is about 34 million
# Scanned PDFs hold page images of any resolution; they are drawn at this one.
PDF_DPI = 200


@dataclass(frozen=True)
class ScanPage:
    """One page image (BGR or grey, uint8) and where it came from."""

    label: str  # "scan.pdf page 3" (never a patient's data)
    number: int  # 1-based position in the scan
    image: np.ndarray


# What a scan file starts with (a PDF may have a few bytes of junk before its header).
MAGIC = ((b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpeg"), (b"II*\x00", "tiff"), (b"MM\x00*", "tiff"))
# The file names and media types each kind may arrive under (an upload).
SUFFIXES = {"pdf": (".pdf",), "png": (".png",), "jpeg": (".jpg", ".jpeg"), "tiff": (".tif", ".tiff")}
MEDIA_TYPES = {"pdf": ("application/pdf", "application/x-pdf"), "png": ("image/png",),
               "jpeg": ("image/jpeg", "image/pjpeg"), "tiff": ("image/tiff", "image/x-tiff")}  # fmt: skip


def is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def sniff(data: bytes) -> str | None:
    """What a file is by its first bytes: "pdf", "png", "jpeg", "tiff", or None (none of them)."""
    if data[:1024].lstrip()[:5] == b"%PDF-":
        return "pdf"
    return next((kind for magic, kind in MAGIC if data.startswith(magic)), None)


def read_scan(path: Path) -> bytes:
    """A scan file the user names: a regular file (not a pipe, not /dev/zero), its size told by
    stat() before reading (confine.read_file); raise PdfInputError when it cannot be read."""
    from handouts.confine import FileTooLarge, RefusedFile, read_file

    try:
        data = read_file(path, None, str(path), MAX_SCAN_BYTES)
    except FileTooLarge:
        raise PdfInputError(
            f"{path}: larger than {MAX_SCAN_BYTES // 1_000_000} MB; scan fewer pages per file"
        ) from None
    except RefusedFile as exc:
        raise PdfInputError(f"{path}: {exc.reason}") from None
    except OSError as exc:
        raise PdfInputError(f"{path}: cannot read: {exc.strerror}") from exc
    if not data:
        raise PdfInputError(f"{path}: empty file")
    return data


def load(path: Path) -> list[ScanPage]:
    """The pages of one scan file; raise PdfInputError when it cannot be read."""
    return load_bytes(read_scan(path), str(path))


def load_bytes(data: bytes, name: str) -> list[ScanPage]:
    """Like load, for a scan held in memory (an upload); name only labels it."""
    if data.lstrip()[:5] == b"%PDF-":
        return _pdf_pages(data, name)
    return _image_pages(data, name)


def _pdf_pages(data: bytes, name: str) -> list[ScanPage]:
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(data)
    except (pdfium.PdfiumError, ValueError, OSError) as exc:
        raise PdfInputError(f"{name}: unreadable PDF ({exc})") from exc
    try:
        count = len(document)
        if count == 0:
            raise PdfInputError(f"{name}: the PDF has no pages")
        if count > MAX_PAGES:
            raise PdfInputError(f"{name}: {count} pages; at most {MAX_PAGES} per scan file")
        pages = []
        for index in range(count):
            pages.append(ScanPage(f"{name} page {index + 1}", index + 1, _draw(document, index)))
        return pages
    except (pdfium.PdfiumError, ValueError, OSError) as exc:
        # A damaged page of an otherwise readable file.
        raise PdfInputError(f"{name}: unreadable PDF ({exc})") from exc
    finally:
        document.close()


def _draw(document: object, index: int) -> np.ndarray:
    page = document[index]  # type: ignore[index]
    width, height = page.get_size()
    if not (0 < width < 14_400 and 0 < height < 14_400):
        raise ValueError(f"page {index + 1} has an impossible size")
    scale = PDF_DPI / 72
    if width * height * scale * scale > MAX_PIXELS:
        scale = (MAX_PIXELS / (width * height)) ** 0.5
    bitmap = page.render(scale=scale, grayscale=False)
    image: np.ndarray = bitmap.to_numpy()[:, :, :3].copy()  # BGR(x) -> BGR
    return image


def _image_pages(data: bytes, name: str) -> list[ScanPage]:
    # OpenCV refuses images larger than this before decoding them (its default is 2**30).
    os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(MAX_PIXELS))
    import cv2

    buffer = np.frombuffer(data, dtype=np.uint8)
    ok, images = cv2.imdecodemulti(buffer, cv2.IMREAD_COLOR)
    if not ok or not images:
        raise PdfInputError(f"{name}: not a PDF, PNG, JPEG or TIFF image (or a damaged one)")
    if len(images) > MAX_PAGES:
        raise PdfInputError(f"{name}: {len(images)} pages; at most {MAX_PAGES} per scan file")
    pages = []
    for index, image in enumerate(images):
        if image.shape[0] * image.shape[1] > MAX_PIXELS:
            raise PdfInputError(f"{name}: an image of {image.shape[1]}x{image.shape[0]} pixels is too large")
        label = name if len(images) == 1 else f"{name} page {index + 1}"
        pages.append(ScanPage(label, index + 1, image))
    return pages
