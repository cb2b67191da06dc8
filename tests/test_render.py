"""The render stage on its own: the output list, and the repair of WeasyPrint's form fields."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from helpers import write_tree

FORM = """<html><body><form>
<p><input type="radio" name="q" value="yes" title="Q?"> <input type="radio" name="q" value="no"></p>
<p><input type="checkbox" name="agree" title="I agree"></p>
<p><input type="text" name="name" title="Name"></p>
</form></body></html>"""


def test_plan_outputs_lists_every_variant_in_a_stable_order(make_project: Any) -> None:
    from handouts.content.catalogue import load_catalogue
    from handouts.project import Project
    from handouts.render.outputs import OutputSpec, plan_outputs

    root = make_project(
        {"content/brands/aaa.yaml": "name: A\ncolors: {primary: '#000000', accent: '#000000'}\n"}
    )
    cat = load_catalogue(Project(root))
    specs = plan_outputs(cat)
    assert [s.relpath for s in specs[:10]] == [
        "aaa/en/tiny-aftercare.pdf",
        "aaa/en/tiny-aftercare-large-print.pdf",
        "aaa/en/tiny-consent.pdf",
        "aaa/en/tiny-consent-fillable.pdf",
        "aaa/en/tiny-consent-large-print.pdf",
        "aaa/en/tiny-consent-fillable-large-print.pdf",
        "aaa/en/tiny-info.pdf",
        "aaa/en/tiny-info-large-print.pdf",
        "aaa/en/_packet-stamp.pdf",
        "aaa/en/_packet-stamp-large-print.pdf",
    ]
    assert len(specs) == 20 and specs == plan_outputs(cat)
    only = plan_outputs(cat, brands=("tiny",), docs=("tiny-consent",))
    assert [s.variant for s in only] == ["print", "fillable", "large-print", "fillable-large-print"]
    assert all(s.brand == "tiny" for s in only)  # no stamp pages when documents are chosen
    stamp = OutputSpec("tiny", "en", "_packet-stamp", "stamp-large-print")
    assert stamp.is_stamp and stamp.has_form and stamp.large and not stamp.fillable


def _fields(data: bytes) -> tuple[Any, list[Any]]:
    reader = PdfReader(io.BytesIO(data))
    return reader.trailer["/Root"]["/AcroForm"], [a.get_object() for a in reader.pages[0]["/Annots"]]


@pytest.fixture(scope="module")
def forms(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    """A small HTML form as WeasyPrint writes it, and as html_to_pdf writes it (repaired)."""
    import weasyprint

    from handouts.render.pdf import html_to_pdf

    folder = tmp_path_factory.mktemp("form")
    raw = weasyprint.HTML(string=FORM).write_pdf(pdf_forms=True)
    fixed, pages = html_to_pdf(
        FORM, base_url=folder, serve=lambda path: None, identifier=b"f" * 32, forms=True, tags=False
    )
    assert pages == 1
    return raw, fixed


def test_weasyprint_form_needs_the_repair(forms: tuple[bytes, bytes]) -> None:
    """What fix_form repairs is really there in WeasyPrint's output (so the next test means something)."""
    acroform, widgets = _fields(forms[0])
    assert [f.get_object()["/T"] for f in acroform["/Fields"]] == ["q", "q", "q", "agree", "name"]
    assert [list(w["/AP"]["/N"]) for w in widgets if w.get("/FT") == "/Btn"] == [["/0"], ["/1"], ["/on"]]
    assert any(b" gs" in str(w.get("/DA", "")).encode() for w in widgets)


def test_fix_form_repairs_radio_groups_check_boxes_and_appearances(forms: tuple[bytes, bytes]) -> None:
    acroform, widgets = _fields(forms[1])
    fields = [f.get_object() for f in acroform["/Fields"]]
    assert [f["/T"] for f in fields] == ["q", "agree", "name"]  # no phantom radio children
    group = fields[0]
    kids = [k.get_object() for k in group["/Kids"]]
    assert [list(k["/AP"]["/N"]) for k in kids] == [["/yes"], ["/no"]]  # states named after the values
    assert all("/T" not in k and "/FT" not in k and "/TU" not in k for k in kids)
    assert "/Opt" not in group and group["/TU"] == "Q?"
    agree = next(w for w in widgets if w.get("/T") == "agree")
    assert list(agree["/AP"]["/N"]) == ["/Yes"]
    assert acroform["/NeedAppearances"] is False or str(acroform["/NeedAppearances"]) == "False"
    assert "/ZaDb" in acroform["/DR"].get_object()["/Font"]
    for widget in widgets:
        x1, y1, x2, y2 = (float(v) for v in widget["/Rect"])
        assert x1 <= x2 and y1 <= y2
        assert " gs" not in str(widget.get("/DA", ""))
    ticks = {str(w["/MK"]["/CA"]) for w in widgets if "/MK" in w and "/CA" in w["/MK"]}
    assert ticks == {"l", "4"}  # a filled circle for radio buttons, a tick for the check box


def test_render_html_is_the_only_jinja_and_escapes_content(tiny: Path) -> None:
    from handouts.content.catalogue import load_catalogue
    from handouts.project import Project
    from handouts.render.html import provenance, render_html
    from handouts.render.outputs import OutputSpec

    write_tree(
        tiny,
        {"content/brands/tiny.yaml": "name: A & <b>B</b>\ncolors: {primary: '#000000', accent: '#000000'}\n"},
    )
    cat = load_catalogue(Project(tiny))
    spec = OutputSpec("tiny", "en", "tiny-info")
    html = render_html(cat, spec)
    assert "A &amp; &lt;b&gt;B&lt;/b&gt;" in html and "<b>B</b>" not in html
    prov = provenance(cat, spec)
    assert prov.short in html and prov.version == "1.0"
