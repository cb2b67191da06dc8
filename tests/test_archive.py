"""`handouts archive`: a filled consent form becomes a flattened PDF/A-3b record with the original inside."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import stat
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    BooleanObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    TextStringObject,
)

from handouts.intake.archive import build_record
from handouts.intake.screen import read_form

from helpers import dark_pixels, fill_form, pdftotext, qualified_name, render_page_png, run_cli

IDS = ["pregnancy", "metal-allergy"]
ANSWERS = {
    "consent.agree": "/Yes",
    "patient.name": "Łukasz Żółć",
    "patient.signature": "Jane Doe",
    "patient.date": "2026-12-01",
    "contraindication.pregnancy": "/yes",
    "contraindication.metal-allergy": "/no",
}
NS = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
}


@pytest.fixture(scope="module")
def project(module_built: Path) -> Path:
    # The tiny project as built once per run, so that no test pays for a WeasyPrint build.
    return module_built


@pytest.fixture(scope="module")
def form(project: Path) -> Path:
    return project / "out/tiny/en/tiny-consent-fillable.pdf"


@pytest.fixture(scope="module")
def filled(form: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fill_form(form, tmp_path_factory.mktemp("filled") / "jane.pdf", ANSWERS)


@pytest.fixture(scope="module")
def archived(project: Path, filled: Path) -> tuple[Path, int, str]:
    target = filled.parent / "record.pdf"
    code, _, err = run_cli(project, "archive", str(filled), "-o", str(target))
    return target, code, err


@pytest.fixture
def archive(archived: tuple[Path, int, str]) -> Path:
    path, code, err = archived
    assert code == 0, err
    return path


def all_objects(path: Path) -> list[Any]:
    """Every object in use in the file's cross-reference table, reachable or not.

    The numbers come from qpdf (pikepdf): for a free entry pypdf searches the raw bytes for
    "N 0 obj" and can find it inside the embedded original's compressed stream (a stored block).
    """
    import pikepdf

    with pikepdf.open(path) as pdf:
        numbers = sorted({obj.objgen[0] for obj in pdf.objects if obj.objgen[0] > 0})
    reader = PdfReader(path)
    return [obj for num in numbers if (obj := reader.get_object(num)) is not None]


def test_cli_writes_next_to_the_form_and_prints_the_screen_status(
    project: Path, filled: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "jane-doe.pdf"
    shutil.copy(filled, copy)
    code, out, err = run_cli(project, "archive", str(copy))
    assert code == 0, err
    target = tmp_path / "jane-doe-archive.pdf"
    assert target.is_file()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600  # a patient record
    assert f"{copy}: flagged: pregnancy" in err
    assert f"wrote {target}" in err and "PDF/A-3b" in err
    assert out == ""  # nothing about the patient on stdout


def test_xmp_declares_pdfa3b_and_matches_the_info_dictionary(archive: Path) -> None:
    data = archive.read_bytes()
    assert data.startswith(b"%PDF-1.7\n%")
    reader = PdfReader(archive)
    assert "/Encrypt" not in reader.trailer
    ids = reader.trailer["/ID"]
    assert len(ids) == 2 and ids[0] != ids[1]
    metadata = reader.trailer["/Root"]["/Metadata"].get_object()
    assert metadata["/Subtype"] == "/XML" and "/Filter" not in metadata
    xml = ET.fromstring(metadata.get_data())
    desc = xml.find(".//rdf:Description", NS)
    assert desc is not None
    assert desc.findtext("pdfaid:part", namespaces=NS) == "3"
    assert desc.findtext("pdfaid:conformance", namespaces=NS) == "B"
    info = reader.metadata
    assert desc.findtext("dc:title/rdf:Alt/rdf:li", namespaces=NS) == info["/Title"]
    assert desc.findtext("dc:creator/rdf:Seq/rdf:li", namespaces=NS) == info["/Author"]
    for key, prop in (("/CreationDate", "xmp:CreateDate"), ("/ModDate", "xmp:ModifyDate")):
        xmp_value = desc.findtext(prop, namespaces=NS)
        assert xmp_value is not None, prop
        assert dt.datetime.fromisoformat(xmp_value) == _pdf_date(str(info[key])), key
    assert _pdf_date(str(info["/CreationDate"])) == dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    assert _pdf_date(str(info["/ModDate"])) == dt.datetime(2026, 12, 1, tzinfo=dt.UTC)  # the form's date


def _pdf_date(value: str) -> dt.datetime:
    m = re.fullmatch(r"D:(\d{14})([+-])(\d\d)'(\d\d)'", value)
    assert m, value
    offset = dt.timedelta(hours=int(m[3]), minutes=int(m[4])) * (-1 if m[2] == "-" else 1)
    return dt.datetime.strptime(m[1], "%Y%m%d%H%M%S").replace(tzinfo=dt.timezone(offset))


def test_output_intent_carries_an_srgb_profile(archive: Path) -> None:
    intents = PdfReader(archive).trailer["/Root"]["/OutputIntents"]
    assert len(intents) == 1
    intent = intents[0].get_object()
    assert intent["/S"] == "/GTS_PDFA1" and "sRGB" in intent["/OutputConditionIdentifier"]
    profile = intent["/DestOutputProfile"].get_object()
    icc = profile.get_data()
    assert profile["/N"] == 3
    assert icc[36:40] == b"acsp" and icc[16:20] == b"RGB "  # an ICC profile of an RGB space
    assert int.from_bytes(icc[:4], "big") == len(icc)


def test_no_form_widgets_or_unembedded_fonts_left(archive: Path) -> None:
    reader = PdfReader(archive)
    assert "/AcroForm" not in reader.trailer["/Root"]
    assert not reader.get_fields()
    for page in reader.pages:
        assert all(a.get_object()["/Subtype"] != "/Widget" for a in page.get("/Annots", []))
    for obj in all_objects(archive):
        if isinstance(obj, DictionaryObject):
            assert obj.get("/Subtype") != "/Widget" and "/FT" not in obj, obj
            assert obj.get("/BaseFont") != "/ZapfDingbats"
            assert "/NeedAppearances" not in obj
    rows = subprocess.run(["pdffonts", str(archive)], check=True, capture_output=True, text=True)
    fonts = rows.stdout.splitlines()[2:]
    assert fonts and any("Handouts-Fields" in f for f in fonts)  # the typed answers' font
    for line in fonts:
        name, emb = line.split()[0], line.split()[-5]
        assert emb == "yes", name


def test_answers_are_drawn_as_the_filled_form_showed_them(
    form: Path, filled: Path, archive: Path, tmp_path: Path
) -> None:
    text = pdftotext(archive)
    assert "Łukasz Żółć" in text and "Jane Doe" in text and "2026-12-01" in text
    reader = PdfReader(form)
    checked = 0
    for number, page in enumerate(reader.pages, 1):
        height = float(page.mediabox.height)
        blank = render_page_png(form, tmp_path / f"blank{number}", number)
        before = render_page_png(filled, tmp_path / f"filled{number}", number)
        after = render_page_png(archive, tmp_path / f"archive{number}", number)
        # The archive looks exactly like the filled form in the same viewer.
        assert _difference(before, after) is None, number
        for ref in page.get("/Annots", []):
            widget = ref.get_object()
            name = qualified_name(widget)
            states = list(widget.get("/AP", {}).get("/N", {}).keys())
            x1, y1, x2, y2 = (float(v) for v in widget["/Rect"])
            box = (
                int(min(x1, x2)),
                int(height - max(y1, y2)),
                int(max(x1, x2)) + 1,
                int(height - min(y1, y2)) + 1,
            )
            if name in ("contraindication.pregnancy", "contraindication.metal-allergy"):
                on = ANSWERS[name] in states
            else:
                on = name in ANSWERS
            darker = dark_pixels(after, box) - dark_pixels(blank, box)
            assert (darker > 3) if on else (darker <= 0), (name, states, darker)
            checked += 1
    assert checked == 10  # 4 radio buttons, 1 check box, 5 text fields


def _difference(a: Path, b: Path) -> Any:
    from PIL import Image, ImageChops

    with Image.open(a) as first, Image.open(b) as second:
        return ImageChops.difference(first.convert("L"), second.convert("L")).getbbox()


def test_provenance_is_kept_and_the_archiving_date_added(filled: Path, archive: Path) -> None:
    before, after = PdfReader(filled).metadata, PdfReader(archive).metadata
    provenance = {k: v for k, v in before.items() if k.startswith("/handouts")}
    expected = {"/handoutsdoc", "/handoutsversion", "/handoutsfingerprint", "/handoutschecklist"}
    assert expected <= set(provenance)
    assert {k: after[k] for k in provenance} == provenance
    assert after["/handoutsarchived"] == "2026-12-01"
    footer = f"Version 1.0 · effective 2026-11-01 · {before['/handoutsfingerprint'][:7]}"
    pages = pdftotext(archive).split("\f")
    assert all(footer in page for page in pages if page.strip())


def test_original_is_embedded_as_source_and_screens_the_same(
    project: Path, filled: Path, archive: Path, tmp_path: Path
) -> None:
    reader = PdfReader(archive)
    assert reader.attachments == {"tiny-consent-filled.pdf": [filled.read_bytes()]}
    root = reader.trailer["/Root"]
    spec = root["/AF"][0].get_object()
    assert spec["/AFRelationship"] == "/Source"
    assert spec["/F"] == spec["/UF"] == "tiny-consent-filled.pdf" and spec.get("/Desc")
    stream = spec["/EF"]["/F"].get_object()
    assert stream["/Subtype"] == "/application/pdf"
    assert stream["/Params"]["/ModDate"] and stream["/Params"]["/Size"] == filled.stat().st_size
    names = root["/Names"]["/EmbeddedFiles"]["/Names"]
    assert names[1].get_object() is spec or names[1].idnum == root["/AF"][0].idnum
    extracted = tmp_path / "extracted.pdf"
    extracted.write_bytes(reader.attachments["tiny-consent-filled.pdf"][0])
    assert PdfReader(extracted).get_fields()
    results = []
    for path in (filled, extracted):
        code, out, _ = run_cli(project, "screen", "--json", str(path))
        data = json.loads(out)
        data.pop("file")
        results.append((code, data))
    assert results[0] == results[1] and results[0][0] == 1


def test_incomplete_form_is_archived_and_said_to_be_incomplete(
    project: Path, form: Path, tmp_path: Path
) -> None:
    partial = fill_form(
        form,
        tmp_path / "partial.pdf",
        {"contraindication.pregnancy": "/no", "patient.name": "Zoë", "patient.date": "next Tuesday"},
    )
    code, _, err = run_cli(project, "archive", str(partial))
    assert code == 0, err
    assert f"{partial}: incomplete: unanswered metal-allergy, consent box not ticked, no signature" in err
    archive = tmp_path / "partial-archive.pdf"
    info = PdfReader(archive).metadata
    assert "/handoutsarchived" not in info  # "next Tuesday" is no date
    assert info["/ModDate"] == info["/CreationDate"]
    assert "Zoë" in pdftotext(archive)


def test_bad_inputs_exit_2_with_one_line(project: Path, form: Path, filled: Path, tmp_path: Path) -> None:
    data = filled.read_bytes()
    encrypted = tmp_path / "encrypted.pdf"
    writer = PdfWriter(clone_from=PdfReader(filled))
    writer.encrypt("s3cret", algorithm="AES-256")
    writer.write(encrypted)
    cases: dict[str, tuple[Path, tuple[str, ...], str]] = {
        # No form fields: read as a scan (a printed consent would be archived as a blank one), no form in it.
        "not a form": (project / "out/tiny/en/tiny-info.pdf", (), "no page of a handouts consent form"),
        "truncated": (tmp_path / "truncated.pdf", (), ""),
        "empty": (tmp_path / "empty.pdf", (), "empty file"),
        "text": (tmp_path / "notes.pdf", (), "not a PDF"),
        "missing": (tmp_path / "missing.pdf", (), "cannot read"),
        "no password": (encrypted, (), "give the password with --password"),
        "wrong password": (encrypted, ("--password", "nope"), "wrong password"),
        "over the input": (filled, ("-o", str(filled)), "would replace the filled form"),
    }
    (tmp_path / "truncated.pdf").write_bytes(data[: len(data) // 3])
    (tmp_path / "empty.pdf").write_bytes(b"")
    (tmp_path / "notes.pdf").write_text("Dear clinic, see you Tuesday.\n")
    for what, (path, args, message) in cases.items():
        before = sorted(p.name for p in path.parent.iterdir())
        code, out, err = run_cli(project, "archive", str(path), *args)
        assert code == 2, what
        assert len(err.strip().splitlines()) == 1 and message in err, (what, err)
        assert str(path) in err and "Traceback" not in err + out, what
        assert sorted(p.name for p in path.parent.iterdir()) == before, what  # nothing written
    assert filled.read_bytes() == data


def test_encrypted_form_is_archived_unencrypted_with_the_password(
    project: Path, filled: Path, tmp_path: Path
) -> None:
    encrypted = tmp_path / "encrypted.pdf"
    writer = PdfWriter(clone_from=PdfReader(filled))
    writer.encrypt("s3cret", algorithm="AES-256")
    writer.write(encrypted)
    code, _, err = run_cli(project, "archive", "--password", "s3cret", str(encrypted))
    assert code == 0, err
    reader = PdfReader(tmp_path / "encrypted-archive.pdf")
    assert not reader.is_encrypted
    assert "Jane Doe" in pdftotext(tmp_path / "encrypted-archive.pdf")
    # The original is kept byte for byte, so it stays encrypted inside the record.
    assert reader.attachments["tiny-consent-filled.pdf"] == [encrypted.read_bytes()]


def test_the_same_form_gives_the_same_archive(
    project: Path, filled: Path, archive: Path, tmp_path: Path
) -> None:
    again = tmp_path / "again.pdf"
    code, _, err = run_cli(project, "archive", str(filled), "-o", str(again))
    assert code == 0, err
    assert again.read_bytes() == archive.read_bytes()


def test_text_a_viewer_left_undrawn_is_drawn(project: Path, form: Path, tmp_path: Path) -> None:
    # Some fillers (pikepdf, some browsers) set a value, drop the appearance and ask
    # viewers to redraw (NeedAppearances); the archive must still show the answer.
    writer = PdfWriter(clone_from=PdfReader(fill_form(form, tmp_path / "a.pdf", ANSWERS)))
    for page in writer.pages:
        for ref in page.get("/Annots", []):
            widget = ref.get_object()
            if widget.get("/T") == "patient.signature":
                del widget["/AP"]
    writer._root_object["/AcroForm"][NameObject("/NeedAppearances")] = BooleanObject(True)
    writer.write(tmp_path / "undrawn.pdf")
    undrawn = [
        a.get_object() for p in PdfReader(tmp_path / "undrawn.pdf").pages for a in p.get("/Annots", [])
    ]
    assert not any("/AP" in w for w in undrawn if w.get("/T") == "patient.signature")
    code, _, err = run_cli(project, "archive", str(tmp_path / "undrawn.pdf"))
    assert code == 0, err
    assert "Jane Doe" in pdftotext(tmp_path / "undrawn-archive.pdf")


def test_scripts_and_forbidden_actions_are_removed(project: Path, filled: Path, tmp_path: Path) -> None:
    writer = PdfWriter(clone_from=PdfReader(filled))
    script = DictionaryObject(
        {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert(1)")}
    )
    root = writer._root_object
    root[NameObject("/OpenAction")] = writer._add_object(script)
    root[NameObject("/AA")] = DictionaryObject({NameObject("/WC"): writer._add_object(script)})
    writer.pages[0][NameObject("/AA")] = DictionaryObject({NameObject("/O"): writer._add_object(script)})
    root["/Names"][NameObject("/JavaScript")] = DictionaryObject(
        {NameObject("/Names"): ArrayObject([TextStringObject("x"), writer._add_object(script)])}
    )
    for uri, action in (("https://example.org/", "/URI"), ("calc.exe", "/Launch")):
        target = "/URI" if action == "/URI" else "/F"
        writer.add_annotation(
            0,
            DictionaryObject(
                {
                    NameObject("/Type"): NameObject("/Annot"),
                    NameObject("/Subtype"): NameObject("/Link"),
                    NameObject("/Rect"): ArrayObject([FloatObject(v) for v in (10, 10, 60, 20)]),
                    NameObject("/A"): DictionaryObject(
                        {NameObject("/S"): NameObject(action), NameObject(target): TextStringObject(uri)}
                    ),
                }
            ),
        )
    writer.write(tmp_path / "scripted.pdf")
    # screen calls such a form tampered (issue 20): archive refuses it, naming what it carries.
    code, _, err = run_cli(project, "archive", str(tmp_path / "scripted.pdf"))
    assert code == 5 and "JavaScript" in err and "Launch" in err and "not archived" in err, err
    assert not (tmp_path / "scripted-archive.pdf").exists()
    # Were it archived, the record would carry no action and no link at all.
    scripted = tmp_path / "scripted.pdf"
    record, _, _ = build_record(scripted.read_bytes(), None, read_form(scripted)[0], None)
    (tmp_path / "record.pdf").write_bytes(record)
    for obj in all_objects(tmp_path / "record.pdf"):
        if isinstance(obj, DictionaryObject):
            assert "/JS" not in obj and "/AA" not in obj and "/OpenAction" not in obj
            assert obj.get("/S") not in ("/JavaScript", "/Launch", "/URI") and "/JavaScript" not in obj
    assert all(not page.get("/Annots") for page in PdfReader(tmp_path / "record.pdf").pages)


def test_drawn_answers_stay_in_the_structure_tree(archive: Path) -> None:
    # Each answer's /Form element now holds the drawn content (marked content) instead of
    # a reference to a widget, so assistive technology still finds the answers.
    reader = PdfReader(archive)
    root = reader.trailer["/Root"]["/StructTreeRoot"]
    references, stack = [], [root]
    while stack:
        node = stack.pop().get_object()
        if isinstance(node, DictionaryObject):
            assert node.get("/Type") != "/OBJR"
            if node.get("/Type") == "/MCR":
                references.append(node)
            kids = node.get("/K")
            if kids is not None:
                stack.extend(kids if isinstance(kids.get_object(), ArrayObject) else [kids])
        elif isinstance(node, ArrayObject):
            stack.extend(node)
    assert len(references) == 6
    nums = root["/ParentTree"]["/Nums"]
    assert sorted(int(k) for k in nums[::2]) == sorted(int(p["/StructParents"]) for p in reader.pages)
    pages = {p.indirect_reference.idnum: p for p in reader.pages}
    for ref in references:
        page = pages[ref.raw_get("/Pg").idnum]
        tree = next(nums[i + 1] for i in range(0, len(nums), 2) if nums[i] == page["/StructParents"])
        element = tree.get_object()[int(ref["/MCID"])].get_object()
        assert element["/S"] == "/Form"
        assert f"<</MCID {int(ref['/MCID'])}>> BDC".encode() in page.get_contents().get_data()


def test_reader_sees_one_stream_per_answer(archive: Path) -> None:
    # The answers are painted through form XObjects in the page content: no annotations.
    reader = PdfReader(archive)
    drawn = [
        name
        for page in reader.pages
        for name in page["/Resources"].get_object().get("/XObject", {}).get_object()
        if str(name).startswith("/HdFlat")
    ]
    assert len(set(drawn)) == 6  # pregnancy yes, metal-allergy no, consent tick, 3 text fields
    # The original inside roughly doubles the size; it stays small all the same.
    assert archive.stat().st_size < 400_000
