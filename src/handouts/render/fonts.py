"""The form-field font: which characters it can draw (typed names must be printable in it)."""

from __future__ import annotations

from functools import cache

from handouts.layers import Layers, read

FIELD_FONT = "templates/fonts/HandoutsFields.ttf"

Ranges = tuple[tuple[int, int], ...]


def covers(ranges: Ranges, char: str) -> bool:
    """Whether char falls in one of the code point ranges."""
    point = ord(char)
    return any(low <= point <= high for low, high in ranges)


def field_font_ranges(layers: Layers) -> Ranges:
    """Code points the form-field font can draw, as inclusive ranges (whichever layer serves it)."""
    return _cmap_ranges(read(layers.need(FIELD_FONT)))


@cache
def _cmap_ranges(font_file: bytes) -> Ranges:
    """Once per font (keyed by its bytes): a packet checks three values, a day's list hundreds."""
    import io

    from fontTools.ttLib import TTFont

    with TTFont(io.BytesIO(font_file), lazy=True) as font:
        points = sorted(font.getBestCmap())
    ranges: list[tuple[int, int]] = []
    for point in points:
        if ranges and ranges[-1][1] == point - 1:
            ranges[-1] = (ranges[-1][0], point)
        else:
            ranges.append((point, point))
    return tuple(ranges)
