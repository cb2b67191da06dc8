"""Check that what a brand file names is what it claims: a safe id, a real logo, an installed
font, colours that can be read.

The model (content/models.py) checks each value's form; this checks the world it points to,
so a clinic learns at `validate` time, not from a printed sheet, that its logo is a text file,
its font is not installed (WeasyPrint would silently print in another one) or its heading
colour is unreadable on white.
"""

from __future__ import annotations

import difflib
import io
import os
import re
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from functools import cache
from pathlib import Path

from handouts import confine
from handouts.confine import MAX_LOGO_BYTES, RefusedFile
from handouts.content.models import SLUG_CHARS, Brand
from handouts.content.yamlsrc import YamlFile
from handouts.errors import Problem, shown
from handouts.project import Project

# CSS's generic families: fontconfig resolves them to whatever serves, by design.
GENERIC_FAMILIES = frozenset({"serif", "sans-serif", "monospace", "cursive", "fantasy", "system-ui"})
IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".gif": "GIF", ".webp": "WEBP"}
PAGE_BACKGROUND = "#ffffff"
# What each brand colour paints in templates/styles/handout.css, and the WCAG 2.x AA ratio
# that use needs against the white page. Both colour text (the clinic's name and headings;
# the warning box's heading), so both need the ratio of normal text.
COLOUR_USES: dict[str, tuple[str, float]] = {
    "primary": ("the clinic's name and the headings", 4.5),
    "accent": ("the warning box's frame and heading", 4.5),
}


def check_brand(project: Project, brand_id: str, brand: Brand, yf: YamlFile) -> list[Problem]:
    """Every problem with what the brand file points to (its name, logo, font and colours)."""
    problems = []

    def problem(loc: tuple[str, ...], message: str, *, warning: bool = False) -> None:
        line = yf.source.value_line(loc) if loc else None
        problems.append(Problem(yf.rel, line, message, warning=warning, field=".".join(loc) or None))

    if not re.fullmatch(SLUG_CHARS, brand_id):
        suggestion = re.sub(r"[^a-z0-9]+", "-", brand_id.lower()).strip("-") or "my-clinic"
        problem(
            (),
            f"the file name '{shown(brand_id)}' becomes the brand's id and a folder in out/: rename the "
            f"file to {suggestion}.yaml (lowercase letters, digits and hyphens)",
        )
    if brand.logo:
        _check_logo(project, yf.path.parent / brand.logo, problem)
    if brand.font.lower() not in GENERIC_FAMILIES:
        message = font_problem(brand.font)
        if message:
            problem(("font",), message)
        elif (message := stamp_face_problem(brand.font)) is not None:
            problem(("font",), message, warning=True)
    for name, (use, needed) in COLOUR_USES.items():
        colour = getattr(brand.colors, name)
        ratio = contrast(colour, PAGE_BACKGROUND)
        if ratio < needed:
            problem(
                ("colors", name),
                f"colors.{name}: {colour} on the white page has a contrast of {ratio:.1f}:1; "
                f"{use} need at least {needed}:1 (WCAG AA): choose a darker colour",
            )
    return problems


def _check_logo(project: Project, path: Path, problem: Callable[..., None]) -> None:
    # Named inside content/ (no `..` out of it); what it links to stays in the project's folders.
    if not confine.inside(Path(os.path.abspath(path)), (Path(os.path.abspath(project.content)),)):
        problem(("logo",), "logo: the file must be inside content/ (e.g. content/brands/assets/)")
        return
    label = project.rel(Path(os.path.abspath(path)))
    try:
        found = confine.check(path, project.fence, label)
        data = confine.read_file(path, project.fence, label, MAX_LOGO_BYTES) if found else None
    except RefusedFile as exc:
        problem(("logo",), f"logo: {exc}")
        return
    if data is None:
        problem(("logo",), f"logo: file not found: {label}")
        return
    message, warning = image_problem(path, data)
    if message:
        problem(("logo",), f"logo: {label} {message}", warning=warning)


def image_problem(path: Path, data: bytes | None = None) -> tuple[str | None, bool]:
    """Why path (or data, its bytes) is not the image its name says (and if that is only a warning)."""
    suffix = path.suffix.lower()
    if suffix not in IMAGE_FORMATS and suffix != ".svg":
        return "is not a PNG, JPEG or SVG file: export the logo in one of those", False
    if data is None:
        try:
            data = confine.read_file(path, None, str(path), MAX_LOGO_BYTES)
        except RefusedFile as exc:
            return exc.reason, False
    if suffix == ".svg":
        try:
            root = ET.fromstring(data)
        except (ET.ParseError, ValueError) as exc:
            return (
                f"is not a readable SVG image ({shown(str(exc))}): export the logo again as SVG or PNG",
                False,
            )
        if root.tag not in ("svg", "{http://www.w3.org/2000/svg}svg"):
            tag = root.tag.rsplit("}", 1)[-1]
            return f"is not an SVG image (it holds <{shown(tag)}>): export the logo as SVG or PNG", False
        return None, False
    expected = IMAGE_FORMATS[suffix]
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            found = image.format
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return f"is not a {expected} image (it cannot be decoded): export the logo again", False
    if found != expected:
        right = next((ext for ext, kind in IMAGE_FORMATS.items() if kind == found), "")
        return f"is a {found} image named {suffix}: rename it to end in {right}", True
    return None, False


# --- fonts ---------------------------------------------------------------------------------


@cache
def installed_families() -> frozenset[str] | None:
    """Every font family fontconfig knows (as WeasyPrint, through Pango, finds them), or None."""
    try:
        listed = subprocess.run(
            ["fc-list", "--format", "%{family}\n"], capture_output=True, text=True, timeout=60, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return frozenset(
        name.replace("\\-", "-").strip()
        for line in listed.splitlines()
        for name in line.split(",")
        if name.strip()
    )


def font_problem(family: str) -> str | None:
    """Why family would not print as itself (not installed), or None."""
    families = installed_families()
    if families is None:
        return (
            f"font: cannot check that '{family}' is installed: fontconfig's fc-list is missing "
            "(Debian package fontconfig)"
        )
    by_case = {name.lower(): name for name in families}
    if family.lower() in by_case:
        return None
    close = difflib.get_close_matches(family.lower(), list(by_case), n=3, cutoff=0.5)
    words = {w for w in family.lower().split() if len(w) > 2}
    close += [name for name in sorted(by_case) if words & set(name.split()) and name not in close][:3]
    similar = ", ".join(by_case[name] for name in close[:4])
    hint = f"installed ones with a similar name: {similar}" if similar else "see `fc-list : family`"
    return (
        f"font: '{family}' is not installed, so the documents would print in another font: "
        f"install it, or name an installed family ({hint})"
    )


@cache  # as installed_families: one fc-match per family and process (validate, then each stamp page)
def stamp_face(family: str) -> Path | None:
    """The regular face file fontconfig gives for family, or None if it gives another family."""
    escaped = "".join(f"\\{c}" if c in "\\-:,=" else c for c in family)
    try:
        found = subprocess.run(
            ["fc-match", "--format", "%{file}\n%{family}", f"{escaped}:regular:roman"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    path, _, families = found.partition("\n")
    names = {name.replace("\\-", "-").strip().lower() for name in families.split(",")}
    if family.strip().lower() not in names:
        return None  # another family stands in (font_problem says so)
    return Path(path)


def stamp_face_problem(family: str, path: Path | None = None) -> str | None:
    """Why a packet's 'Prepared for' line cannot be set in family's regular face, or None.

    The stamp embeds the face itself (render/stampfont.py), which needs TrueType outlines
    (glyf) in a .ttf/.otf file; a CFF face ("OTTO"), a Type 1 or a collection is not used.
    path: the face if already found with stamp_face.
    """
    path = path or stamp_face(family)
    if path is None:
        return None
    try:
        with path.open("rb") as handle:
            head = handle.read(4)
    except OSError:
        head = b""
    if path.suffix.lower() in (".ttf", ".otf") and head in (b"\x00\x01\x00\x00", b"true"):
        return None
    kind = "CFF (PostScript) outlines" if head == b"OTTO" else f"a {path.suffix or 'font'} file"
    return (
        f"font: the regular face of '{family}' has {kind}, so packets set the 'Prepared for' "
        "line in the field font (DejaVu Sans) instead: install a TrueType (.ttf) version of "
        "the font to have it in the brand's font"
    )


# --- colours -------------------------------------------------------------------------------


def contrast(foreground: str, background: str) -> float:
    """The WCAG 2.x contrast ratio of two "#rrggbb" colours, 1 to 21.

    Written out rather than imported: the formula is the standard's few lines, and a colour
    library (coloraide, which the tests compare with) costs 150 ms to import on every load.
    """
    lighter, darker = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of "#rrggbb" (sRGB channels linearised, then weighted)."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b
