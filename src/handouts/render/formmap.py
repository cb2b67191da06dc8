"""The recorded geometry of a consent form: where each Yes box, No box, consent box and line sits.

Recorded from WeasyPrint's layout boxes at build time (see `record`), stored as JSON under
out/formmaps/<map_id>.json (never deleted by builds: a printout of an older version is
still read with the geometry it was printed with), and named by a hash of itself, which
the page's QR code carries. Reading a scan therefore needs no rendering.

Coordinates are PDF points from the top-left corner of the page, y downwards.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handouts.errors import RenderError
from handouts.render.scanmarks import Geometry, ScanId

FORMAT = 1
FOLDER = "formmaps"
CSS_PX = 0.75  # points per CSS pixel
# The named writing lines: a print packet draws the patient's details on them (packet/paper.py),
# the reader looks at the signature and date (the other lines are a therapist's or witness's).
LINES = ("patient.name", "patient.dob", "patient.signature", "patient.date", "therapist.name")
# The document information entry naming a printed consent's recorded layout.
INFO_KEY = "/handoutsformmap"


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    def to_json(self) -> list[float]:
        return [round(self.x, 2), round(self.y, 2), round(self.w, 2), round(self.h, 2)]


@dataclass(frozen=True)
class Question:
    id: str
    yes: Box
    no: Box


@dataclass(frozen=True)
class PageMap:
    width: float
    height: float
    questions: tuple[Question, ...] = ()
    consent: Box | None = None
    lines: tuple[tuple[str, Box], ...] = ()

    @property
    def geometry(self) -> Geometry:
        return Geometry(self.width, self.height)

    def line(self, name: str) -> Box | None:
        return dict(self.lines).get(name)


@dataclass(frozen=True)
class FormMap:
    document: str
    version: str
    effective: str
    fingerprint: str
    lang: str
    brand: str
    variant: str
    checklist: tuple[str, ...]
    pages: tuple[PageMap, ...]

    def geometry_json(self) -> dict[str, Any]:
        return {
            "document": self.document,
            "version": self.version,
            "effective": self.effective,
            "fingerprint": self.fingerprint,
            "lang": self.lang,
            "brand": self.brand,
            "variant": self.variant,
            "checklist": list(self.checklist),
            "pages": [
                {
                    "size": [round(p.width, 2), round(p.height, 2)],
                    "questions": [
                        {"id": q.id, "yes": q.yes.to_json(), "no": q.no.to_json()} for q in p.questions
                    ],
                    "consent": p.consent.to_json() if p.consent else None,
                    "lines": {name: box.to_json() for name, box in p.lines},
                }
                for p in self.pages
            ],
        }

    @property
    def map_id(self) -> str:
        """A short hash of everything recorded: another layout or wording gives another id."""
        text = json.dumps(self.geometry_json(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:6]

    def scan_id(self, page: int, packet: str | None = None) -> ScanId:
        return ScanId(self.document, self.version, self.fingerprint[:7], self.lang, self.brand,
                      page, len(self.pages), self.map_id, packet)  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "map_id": self.map_id, **self.geometry_json()}

    def dumps(self) -> bytes:
        return (json.dumps(self.to_json(), indent=1, sort_keys=True) + "\n").encode("utf-8")


def _box(value: Any) -> Box:
    x, y, w, h = (float(v) for v in value)
    return Box(x, y, w, h)


def loads(data: bytes) -> FormMap:
    """Parse a stored form map; raise ValueError when it is damaged or of another format."""
    try:
        raw = json.loads(data)
        if raw.get("format") != FORMAT:
            raise ValueError("unknown form map format")
        pages = tuple(
            PageMap(
                width=float(p["size"][0]),
                height=float(p["size"][1]),
                questions=tuple(Question(q["id"], _box(q["yes"]), _box(q["no"])) for q in p["questions"]),
                consent=_box(p["consent"]) if p["consent"] else None,
                lines=tuple((str(k), _box(v)) for k, v in sorted(p["lines"].items())),
            )
            for p in raw["pages"]
        )
        result = FormMap(
            str(raw["document"]), str(raw["version"]), str(raw["effective"]), str(raw["fingerprint"]),
            str(raw["lang"]), str(raw["brand"]), str(raw["variant"]),
            tuple(str(c) for c in raw["checklist"]), pages,
        )  # fmt: skip
    except (KeyError, TypeError, IndexError, AttributeError) as exc:
        raise ValueError(f"damaged form map ({type(exc).__name__})") from exc
    if result.map_id != raw.get("map_id"):
        raise ValueError("form map does not match its id (edited by hand?)")
    return result


def map_path(out_dir: Path, map_id: str) -> Path:
    return out_dir / FOLDER / f"{map_id}.json"


def load(out_dir: Path, map_id: str) -> FormMap | None:
    """The recorded map of that id in out_dir, or None when there is none (or it is damaged)."""
    if not (len(map_id) == 6 and all(c in "0123456789abcdef" for c in map_id)):
        return None
    try:
        return loads(map_path(out_dir, map_id).read_bytes())
    except (OSError, ValueError):
        return None


# --- recording, from WeasyPrint's layout -------------------------------------------------


def _key(element: Any) -> str | None:
    """What a layout box is for the reader, from its element (None: nothing to record)."""
    marked = element.get("data-scan")
    if marked:
        return str(marked)
    if element.tag != "input":
        return None
    name, kind = element.get("name") or "", element.get("type") or "text"
    if kind == "radio" and name.startswith("contraindication."):
        return f"{element.get('value')}:{name.removeprefix('contraindication.')}"
    if kind == "checkbox" and name == "consent.agree":
        return "consent"
    if kind == "text" and name:
        return f"line:{name}"
    return None


def record(pages: list[Any], checklist: tuple[str, ...]) -> list[PageMap]:
    """Walk the laid-out pages (weasyprint Page objects) and record the boxes the reader needs.

    Raises RenderError when a box is missing or a row is split across pages: a template
    change that the reader would otherwise silently misread.
    """
    found: list[dict[str, Box]] = []
    for page in pages:
        boxes: dict[str, Box] = {}
        for box in page._page_box.descendants():
            element = getattr(box, "element", None)
            if element is None or not hasattr(element, "get"):
                continue
            key = _key(element)
            if key is None or key in boxes:
                continue
            boxes[key] = Box(box.border_box_x() * CSS_PX, box.border_box_y() * CSS_PX,
                             box.border_width() * CSS_PX, box.border_height() * CSS_PX)  # fmt: skip
        found.append(boxes)
    result = []
    seen: set[str] = set()
    for page, boxes in zip(pages, found, strict=True):
        questions = []
        for cid in checklist:
            yes, no = boxes.get(f"yes:{cid}"), boxes.get(f"no:{cid}")
            if yes is None and no is None:
                continue
            if yes is None or no is None:
                raise RenderError(f"consent layout: the Yes and No boxes of '{cid}' are on different pages")
            questions.append(Question(cid, yes, no))
            seen.add(cid)
        lines = tuple(sorted((k.removeprefix("line:"), b) for k, b in boxes.items()
                             if k.removeprefix("line:") in LINES))  # fmt: skip
        seen.update(name for name, _ in lines)
        if "consent" in boxes:
            seen.add("consent")
        result.append(PageMap(page.width * CSS_PX, page.height * CSS_PX, tuple(questions),
                              boxes.get("consent"), lines))  # fmt: skip
    missing = [k for k in (*checklist, "consent", "patient.signature", "patient.date") if k not in seen]
    if missing:
        raise RenderError(
            f"consent layout: no box recorded for {', '.join(missing)}; a consent template "
            "(templates/consent.html.j2, the project's or its theme's) must keep the data-scan names "
            "of the built-in theme's boxes and lines"
        )
    return result


def stamped(pdf: bytes, form_map: FormMap) -> bytes:
    """pdf with each page's scan marks (QR code and corner squares) drawn in and its map named
    in the document information (INFO_KEY); deterministic bytes."""
    import io

    import pikepdf

    from handouts.render.scanmarks import stamp_all

    with pikepdf.open(io.BytesIO(pdf)) as opened:
        if len(opened.pages) != len(form_map.pages):
            raise RenderError("consent layout: the form map and the PDF disagree on the page count")
        stamp_all(opened, form_map.scan_id(1))
        opened.docinfo[pikepdf.Name(INFO_KEY)] = pikepdf.String(form_map.map_id)
        buffer = io.BytesIO()
        opened.save(buffer, deterministic_id=True)
    return buffer.getvalue()
