"""Make src/handouts/theme/fonts/HandoutsFields.ttf: the built-in theme's font for form fields.

WeasyPrint embeds the whole font used by a text field (so a viewer can type any letter),
which made a fillable form about 750 KB with the brand font. This small subset of DejaVu
Sans (Latin, Greek, Cyrillic and common punctuation) keeps forms small while still showing
names such as Łukasz, Zoë, Ольга or Σοφία. Run it again only to change the coverage.

    .venv/bin/python scripts/make_field_font.py [/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf]
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

SOURCE = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
TARGET = Path(__file__).resolve().parents[1] / "src" / "handouts" / "theme" / "fonts" / "HandoutsFields.ttf"
FAMILY = "Handouts Fields"
UNICODES = (
    "U+0020-007E,U+00A0-00FF,U+0100-017F,U+0180-024F,U+0300-036F,U+0370-03FF,"
    "U+0400-04FF,U+2010-2027,U+2030-203A,U+20AC,U+2116,U+2122"
)


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else SOURCE
    options = subset.Options()
    options.layout_features = ["kern", "liga", "ccmp", "mark", "mkmk"]
    options.name_IDs = ["*"]
    options.hinting = False
    options.notdef_outline = True
    font = TTFont(source)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=subset.parse_unicodes(UNICODES))
    subsetter.subset(font)
    for record in font["name"].names:
        if record.nameID in (1, 4, 16):
            record.string = FAMILY
        elif record.nameID == 6:
            record.string = FAMILY.replace(" ", "")
    # The source's own timestamps: fixed, so the file is identical from run to run.
    font["head"].modified = font["head"].created
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    font.save(TARGET, reorderTables=True)
    print(f"{TARGET}: {TARGET.stat().st_size} bytes")


if __name__ == "__main__":
    main()
