"""tests/uacheck.py finds what it says it finds: each check fails on a deliberately broken file.

Each test takes a good output of the tiny catalogue, breaks one thing with pikepdf, and asserts
that the check for that thing (and only a problem of that kind) is reported; the unbroken file
passes every check.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from pikepdf import Array, Dictionary, Name, Pdf, String

import uacheck


@pytest.fixture(scope="module")
def project(tiny_built: Path) -> Path:
    """The session's tiny build: each test breaks a copy of one of its outputs, never the output."""
    return tiny_built


@pytest.fixture(scope="module")
def info(project: Path) -> Path:
    return project / "out/tiny/en/tiny-info.pdf"


@pytest.fixture(scope="module")
def form(project: Path) -> Path:
    return project / "out/tiny/en/tiny-consent-fillable.pdf"


Breaker = Callable[[Path, Callable[[Pdf], None]], list[uacheck.Problem]]


@pytest.fixture
def broken(tmp_path: Path) -> Breaker:
    """Apply a change to a copy of a PDF and return the checks' problems on it."""

    def apply(source: Path, change: Callable[[Pdf], None]) -> list[uacheck.Problem]:
        target = tmp_path / f"broken-{source.name}"
        with pikepdf.open(source) as pdf:
            change(pdf)
            pdf.save(target)
        return uacheck.check(target)

    return apply


def elements(pdf: Pdf, role: str) -> list[Any]:
    return [e.obj for e in uacheck.walk(pdf) if e.role == role]


def kinds(problems: list[uacheck.Problem]) -> set[str]:
    return {p.check for p in problems}


@pytest.mark.parametrize(
    "name", ["tiny-info.pdf", "tiny-consent-fillable.pdf", "tiny-consent-large-print.pdf"]
)
def test_good_outputs_pass(project: Path, name: str) -> None:
    assert uacheck.check(project / "out/tiny/en" / name) == []


def test_figure_without_alt_text(broken: Breaker, info: Path) -> None:
    def add_figure(pdf: Pdf) -> None:
        # The tiny brand has no logo: give the first paragraph's span a figure sibling.
        paragraph = elements(pdf, "/P")[0]
        figure = pdf.make_indirect(Dictionary(Type=Name.StructElem, S=Name.Figure, P=paragraph, K=Array()))
        paragraph.K = Array([*paragraph.K, figure])

    problems = broken(info, add_figure)
    assert kinds(problems) == {"figure-alt"}, problems

    def with_alt(pdf: Pdf) -> None:
        add_figure(pdf)
        elements(pdf, "/Figure")[0].Alt = String("A blue square")

    assert "figure-alt" not in kinds(broken(info, with_alt))


def test_heading_level_skipped(broken: Breaker, info: Path) -> None:
    def skip(pdf: Pdf) -> None:
        elements(pdf, "/H2")[0].S = Name.H3  # H1 then H3

    problems = broken(info, skip)
    assert kinds(problems) == {"headings"}
    assert any("H3 follows H1" in p.message for p in problems)


def test_first_heading_not_h1(broken: Breaker, info: Path) -> None:
    def demote(pdf: Pdf) -> None:
        elements(pdf, "/H1")[0].S = Name.H2

    problems = broken(info, demote)
    assert any("first heading is not H1" in p.message for p in problems), problems


def test_empty_heading(broken: Breaker, info: Path) -> None:
    def empty(pdf: Pdf) -> None:
        heading = elements(pdf, "/H2")[0]
        section = heading.P
        section.K = Array(
            [pdf.make_indirect(Dictionary(Type=Name.StructElem, S=Name.H2, P=section)), *section.K]
        )

    problems = broken(info, empty)
    assert [p.message for p in problems] == ["empty heading"]


def test_list_structure(broken: Breaker, info: Path) -> None:
    def list_item_loose(pdf: Pdf) -> None:
        lst = elements(pdf, "/L")[0]
        lst.S = Name.Div  # its LIs now sit in a Div

    problems = broken(info, list_item_loose)
    assert kinds(problems) == {"lists"}
    assert any("outside a list" in p.message for p in problems)

    def body_missing(pdf: Pdf) -> None:
        for body in elements(pdf, "/LBody"):
            body.S = Name.P

    problems = broken(info, body_missing)
    assert any("without LBody" in p.message for p in problems)
    assert any("holds /P" in p.message for p in problems)


def test_content_outside_the_tree(broken: Breaker, info: Path) -> None:
    """The defect WeasyPrint 70 leaves in running headers: MCIDs of elements not in the tree."""

    def detach(pdf: Pdf) -> None:
        paragraph = elements(pdf, "/P")[0]
        parent = paragraph.P
        parent.K = Array(
            [k for k in parent.K if not (isinstance(k, Dictionary) and k.objgen == paragraph.objgen)]
        )

    problems = broken(info, detach)
    assert kinds(problems) == {"content"}
    assert any("outside the structure tree" in p.message for p in problems)


def test_untagged_text(broken: Breaker, info: Path) -> None:
    def draw(pdf: Pdf) -> None:
        page = pdf.pages[0]
        font = next(iter(page.Resources.Font.keys()))
        page.contents_add(pdf.make_stream(f"BT {font} 12 Tf 72 72 Td (x) Tj ET".encode()))

    problems = broken(info, draw)
    assert [p.message for p in problems] == ["1 painting operators neither artifact nor tagged"]

    def draw_as_artifact(pdf: Pdf) -> None:
        page = pdf.pages[0]
        font = next(iter(page.Resources.Font.keys()))
        page.contents_add(pdf.make_stream(f"/Artifact BMC BT {font} 12 Tf 72 72 Td (x) Tj ET EMC".encode()))

    assert broken(info, draw_as_artifact) == []


def test_tagged_content_inside_an_artifact(broken: Breaker, info: Path) -> None:
    def wrap(pdf: Pdf) -> None:
        page = pdf.pages[0]
        page.contents_add(pdf.make_stream(b"/Artifact BMC\n"), prepend=True)
        page.contents_add(pdf.make_stream(b"\nEMC\n"))

    problems = broken(info, wrap)
    assert problems and all("inside an artifact" in p.message for p in problems)


def test_widget_outside_the_tree_and_tab_order(broken: Breaker, form: Path) -> None:
    def unlink(pdf: Pdf) -> None:
        for form_element in elements(pdf, "/Form")[:1]:
            form_element.K = Array()
        for page in pdf.pages:
            if "/Tabs" in page.obj:
                del page.obj.Tabs

    problems = broken(form, unlink)
    messages = [p.message for p in problems if p.check == "annotations"]
    assert any("is not in the tree" in m for m in messages)
    assert any("no /Tabs /S" in m for m in messages)


def test_metadata_claim_and_title(broken: Breaker, info: Path) -> None:
    def unclaim(pdf: Pdf) -> None:
        with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
            del meta["pdfuaid:part"]
            meta["dc:title"] = "Something else"
        pdf.docinfo.Title = String("Tiny information sheet – Tiny Clinic")

    problems = broken(info, unclaim)
    messages = [p.message for p in problems]
    assert "pdfuaid:part is not 1" in messages
    assert any("differs from /Title" in m for m in messages)


@pytest.mark.parametrize(
    ("rect", "flags", "flagged"),
    [
        ([0, 0, 0, 0], 4, True),  # an invisible signature's usual box: a point in the page's corner
        ([-9999, -9999, -9999, -9999], 4, False),  # outside the crop box: exempt (PDF/UA-1 7.18.1)
        ([0, 0, 0, 0], 4 | 2, False),  # hidden: exempt
    ],
)
def test_untagged_widget_in_scope_unless_hidden_or_off_the_page(
    broken: Breaker, form: Path, rect: list[int], flags: int, flagged: bool
) -> None:
    def add_widget(pdf: Pdf) -> None:
        widget = pdf.make_indirect(
            Dictionary(
                Type=Name.Annot, Subtype=Name.Widget, FT=Name.Sig, T=String("seal"), Rect=Array(rect), F=flags
            )
        )
        pdf.pages[0].obj.Annots = Array([*pdf.pages[0].obj.get("/Annots", []), widget])
        pdf.Root.AcroForm.Fields = Array([*pdf.Root.AcroForm.Fields, widget])

    messages = [p.message for p in broken(form, add_widget)]
    assert messages == (["/Widget seal is not in the tree"] if flagged else [])
