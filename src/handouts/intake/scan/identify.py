"""Which form page each scanned page is: by its QR code, or else by its printed layout.

A code can be lost (a photocopy of a copy at a low resolution, a staple, a coffee ring)
while the page's corner squares, box frames and writing lines still read. Such a page is
fitted to each page the scan's other forms lack (their codes name their recorded layouts),
and taken for the one page whose boxes' frames and lines are found exactly where its map
puts them, in no other way up. Only when that is unique: two forms lacking the same page of
the same layout leave the page set aside. A form read with a page taken so always goes to
review (nothing on the page itself says whose it is), never to an all-clear.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from handouts.intake.scan import marks, qr, register, sources
from handouts.render.formmap import FormMap, PageMap
from handouts.render.scanmarks import ScanId

# The note of a page that shows a form's corner squares but no readable code.
CODE_UNREADABLE = "a form page whose QR code cannot be read (smudged, cut off or too blurred)"
# The note of a page with neither code nor corner squares.
NOT_A_FORM = "not a page of a handouts consent form (no form code on it)"


@dataclass
class PageFound:
    page: sources.ScanPage
    code: qr.Code | None = None
    note: str = ""  # why a page without a code is set aside
    # A page whose code cannot be read, told by its layout: the form page it was taken for,
    # and its fit to that page's layout.
    assumed: ScanId | None = None
    fitted: register.Registered | None = None

    @property
    def scan_id(self) -> ScanId | None:
        return self.code.scan_id if self.code is not None else self.assumed


def find_codes(pages: list[sources.ScanPage]) -> list[PageFound]:
    """Each page with its handouts code, or a note saying why it has none."""
    found = []
    for page in pages:
        codes = qr.find(register.luminance(page.image))
        if len(codes.codes) == 1:
            found.append(PageFound(page, codes.codes[0]))
        elif len(codes.codes) > 1:
            found.append(PageFound(page, note="holds more than one form page; scan one page per image"))
        elif register.blank(page.image):
            found.append(PageFound(page, note="blank"))
        elif register.looks_like_form(page.image):
            found.append(PageFound(page, note=CODE_UNREADABLE))
        else:
            found.append(PageFound(page, note=NOT_A_FORM))
    return found


def by_layout(found: list[PageFound], form_map: Callable[[str], FormMap | None]) -> None:
    """Take each page whose code cannot be read for the one form page its layout fits (in place)."""
    forms: dict[tuple[str, ...], ScanId] = {}
    counts: dict[tuple[str, ...], Counter[int]] = {}
    for item in found:
        if item.code is not None:
            key = item.code.scan_id.form_key
            forms.setdefault(key, item.code.scan_id)
            counts.setdefault(key, Counter())[item.code.scan_id.page] += 1
    for item in found:
        if item.code is not None or item.note != CODE_UNREADABLE or not forms:
            continue
        fits: dict[tuple[str, int], register.Registered | None] = {}
        matches = []
        for key, sid in forms.items():
            form = form_map(sid.map_id)
            if form is None:
                continue
            copies = max(counts[key].values())
            for number, page in enumerate(form.pages, 1):
                if counts[key][number] >= copies or not _checkable(page):
                    continue  # every copy of this form has that page, or it has nothing to check
                if (sid.map_id, number) not in fits:
                    fits[(sid.map_id, number)] = _fit(item.page, page)
                fitted = fits[(sid.map_id, number)]
                if fitted is not None:
                    matches.append((sid.for_page(number), fitted))
        if len(matches) == 1:
            item.assumed, item.fitted = matches[0]
            item.note = ""
        elif matches:
            item.note = (
                f"{CODE_UNREADABLE}; its layout fits page {matches[0][0].page} of {len(matches)} forms "
                "in this scan, so whose it is cannot be told"
            )


def _checkable(page: PageMap) -> bool:
    """Whether a page has boxes or lines to tell it by (a page of text alone has not)."""
    return bool(page.questions or page.consent or page.lines)


def _fit(page: sources.ScanPage, layout: PageMap) -> register.Registered | None:
    """The one fit of a page to a layout under which every box frame and line rule is found."""
    good = []
    for fitted in register.fit_by_marks(page.image, layout):
        try:
            marks.read_page(fitted.canon, layout)  # raises unless the box frames are where the map has them
        except marks.LayoutMismatch:
            continue
        found, lines = marks.rules_found(fitted.canon, layout)
        if found == lines:
            good.append(fitted)
    return good[0] if len(good) == 1 else None
