"""A print packet's consent form: the printed variant, so that its scan reads back like any printout.

A print packet once flattened the fillable form: its round radio buttons and "typed signature"
line were made for a screen, and a scan of them could not be read. It now takes the printed
consent as the build made it (square boxes, the scan marks, the recorded layout, the tagged
structure), redraws each page's code with the packet id (render.scanmarks.stamp replaces the
page's one code XObject) and draws the patient's details on their lines where the fillable
form's fields would show them: in the field font, taken from the stamp page (it holds every
character a name may have; a printed page's own fonts are subsets), and as artifacts, as the
flattened fields were.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from handouts.errors import OutputError
from handouts.packet.fieldtext import Pen, text_stream
from handouts.render.formmap import INFO_KEY, FormMap, load
from handouts.render.scanmarks import stamp

# The size of a field's text, as templates/styles give `.sign-line .field` (11pt; 16pt in large print).
TEXT_SIZE = {"print": 11.0, "large-print": 16.0}
RULE = 0.75  # the line's own rule at the bottom of its box (points): the text sits above it


def printed_map(source: Any, out: Path) -> FormMap:
    """The recorded layout a built printed consent names (raise OutputError when it is gone)."""
    map_id = str(source.docinfo.get(INFO_KEY, ""))
    form = load(out, map_id)
    if form is None or len(form.pages) != len(source.pages):
        raise OutputError(
            f"{out}: the printed consent's recorded layout (formmaps/{map_id or '?'}.json) is missing; "
            "run `handouts build --force`"
        )
    return form


def fill_printed(
    packet: Any, start: int, form: FormMap, values: dict[str, str], pen: Pen, packet_id: str
) -> None:
    """On the packet's pages start.. (the printed consent): the packet's codes and the patient's details."""
    from pikepdf import Name

    # The field font, whole (any character a name may have): the stamp line is in it too, or in
    # the brand face cut to its own glyphs (render/stampfont.py), which could lack a detail.
    font = packet.copy_foreign(pen.font)
    sized = Pen(pen.name, font, pen.da, pen.metrics).sized(TEXT_SIZE.get(form.variant, TEXT_SIZE["print"]))
    for number, page_map in enumerate(form.pages, 1):
        index = start + number - 1
        stamp(packet, index, form.scan_id(number, packet_id or None))
        page = packet.pages[index]
        drawn: list[bytes] = []
        for name, box in page_map.lines:
            text = values.get(name)
            if not text:
                continue
            appearance = packet.make_indirect(text_stream(packet, sized, text, box.w, box.h - RULE))
            resource = page.add_resource(appearance, Name.XObject, Name(f"/HandoutsText{len(drawn) + 1}"))
            bottom = page_map.height - box.y - box.h + RULE
            drawn.append(f"q 1 0 0 1 {box.x:.2f} {bottom:.2f} cm {resource} Do Q".encode())
        if drawn:
            # A newline first: some tools join a page's streams with nothing between them.
            page.contents_add(b"\n/Artifact BMC\n" + b"\n".join(drawn) + b"\nEMC\n")
