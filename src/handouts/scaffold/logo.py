"""Check that a logo file is an SVG, PNG or JPEG image by decoding it (its name says nothing)."""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from handouts.confine import MAX_LOGO_BYTES, FileTooLarge, RefusedFile, read_file
from handouts.errors import UsageError

SVG_NS = "http://www.w3.org/2000/svg"
_HREF = re.compile(r"(^|\})href$")


@dataclass(frozen=True)
class Logo:
    """A logo that decoded as one of the formats documents may show."""

    data: bytes
    kind: str  # "svg", "png" or "jpeg"

    @property
    def suffix(self) -> str:
        return {"svg": ".svg", "png": ".png", "jpeg": ".jpg"}[self.kind]


def read_logo(path: Path) -> Logo:
    """Read and decode a logo; raise UsageError (field `logo`) when it is unreadable or no image."""
    # The user names this file (it is copied into the project): no fence, but the same rule
    # otherwise, a regular file, its size told by stat() before it is read.
    try:
        data = read_file(path, None, str(path), MAX_LOGO_BYTES)
    except FileTooLarge:
        raise UsageError(
            "{field}: {path} is larger than {limit} MB; a logo needs far less",
            field="logo",
            path=path,
            limit=MAX_LOGO_BYTES // 1_000_000,
        ) from None
    except RefusedFile as exc:
        reason = exc.reason.removeprefix("cannot read: ")
        raise UsageError(
            "{field}: cannot read {path}: {reason}", field="logo", path=path, reason=reason
        ) from None
    kind = _raster(data) or _svg(data, path)
    if kind is None:
        raise UsageError(
            "{field}: {path} is not an SVG, PNG or JPEG image; export the logo as one of those",
            field="logo",
            path=path,
        )
    return Logo(data, kind)


def _raster(data: bytes) -> str | None:
    """'png' or 'jpeg' when Pillow decodes every pixel of it as one, else None."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                kind = image.format
                image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        return None
    return {"PNG": "png", "JPEG": "jpeg"}.get(kind or "")


def _svg(data: bytes, path: Path) -> str | None:
    """'svg' when data parses as an SVG document that loads nothing else, else None."""
    import xml.etree.ElementTree as ElementTree

    head = data[:4096].lower()
    if b"<svg" not in data.lower():
        return None
    if b"<!doctype" in head or b"<!entity" in data.lower():
        raise UsageError(
            "{field}: {path} declares a DOCTYPE or entities; save it as plain SVG (Inkscape: Plain SVG)",
            field="logo",
            path=path,
        )
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError:
        return None
    if root.tag not in (f"{{{SVG_NS}}}svg", "svg"):
        return None
    for element in root.iter():
        for name, value in element.attrib.items():
            if _HREF.search(name) and not value.strip().startswith(("#", "data:")):
                raise UsageError(
                    "{field}: {path} links to another file ({value}); embed it, or export the logo as PNG",
                    field="logo",
                    path=path,
                    value=value[:60],
                )
    return "svg"
