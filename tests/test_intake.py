"""The intake stage on its own: flattening a filled form, writing PDF/A-3b (intake/flatten.py, pdfa.py)."""

from __future__ import annotations

import datetime as dt
import io
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from helpers import fill_form, pdftotext

FILLED = {
    "consent.agree": "/Yes",
    "patient.name": "Łukasz Żółć",
    "patient.signature": "Jane Doe",
    "patient.date": "2026-12-01",
    "contraindication.pregnancy": "/yes",
    "contraindication.metal-allergy": "/no",
}
NS = {"rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "pdfaid": "http://www.aiim.org/pdfa/ns/id/"}


@pytest.fixture(scope="module")
def filled(tiny_built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    form = tiny_built / "out/tiny/en/tiny-consent-fillable.pdf"
    return fill_form(form, tmp_path_factory.mktemp("intake") / "filled.pdf", FILLED)


def test_flatten_draws_each_answer_and_leaves_no_form(filled: Path, tmp_path: Path) -> None:
    from handouts.intake.flatten import flatten

    writer = PdfWriter(clone_from=PdfReader(filled))
    drawn = flatten(writer)
    assert drawn == 6  # pregnancy yes, metal-allergy no, the consent tick, name, signature, date
    target = tmp_path / "flat.pdf"
    writer.write(target)
    reader = PdfReader(target)
    assert "/AcroForm" not in reader.trailer["/Root"] and not reader.get_fields()
    assert not [
        a for page in reader.pages for a in page.get("/Annots", []) if a.get_object()["/Subtype"] == "/Widget"
    ]
    text = pdftotext(target)
    assert "Łukasz Żółć" in text and "Jane Doe" in text and "2026-12-01" in text


def test_make_pdfa3b_writes_the_archival_parts(filled: Path) -> None:
    from handouts.intake.flatten import flatten
    from handouts.intake.pdfa import Attachment, make_pdfa3b

    writer = PdfWriter(clone_from=PdfReader(filled))
    flatten(writer)
    original = filled.read_bytes()
    when = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    make_pdfa3b(
        writer,
        modified=when,
        attachment=Attachment(name="form-filled.pdf", data=original, description="the form as received"),
        file_id=(b"a" * 16, b"b" * 16),
        producer_note="test",
    )
    buffer = io.BytesIO()
    writer.write(buffer)
    data = buffer.getvalue()
    assert data.startswith(b"%PDF-1.7\n%")
    reader = PdfReader(io.BytesIO(data))
    root = reader.trailer["/Root"]
    description = ET.fromstring(root["/Metadata"].get_object().get_data()).find(".//rdf:Description", NS)
    assert description is not None
    assert (
        description.findtext("pdfaid:part", namespaces=NS),
        description.findtext("pdfaid:conformance", namespaces=NS),
    ) == ("3", "B")
    (intent,) = [i.get_object() for i in root["/OutputIntents"]]
    assert intent["/S"] == "/GTS_PDFA1" and intent["/DestOutputProfile"].get_object()["/N"] == 3
    assert [part.original_bytes for part in reader.trailer["/ID"]] == [b"a" * 16, b"b" * 16]
    assert reader.attachments == {"form-filled.pdf": [original]}
    assert root["/AF"][0].get_object()["/AFRelationship"] == "/Source"
    assert reader.metadata["/ModDate"].startswith("D:20261201")
    assert "/Encrypt" not in reader.trailer and "/OpenAction" not in root


def test_make_pdfa3b_without_an_attachment_or_date(tiny_built: Path) -> None:
    from handouts.intake.pdfa import make_pdfa3b

    writer = PdfWriter(clone_from=PdfReader(tiny_built / "out/tiny/en/tiny-info.pdf"))
    make_pdfa3b(writer, modified=None, attachment=None, file_id=(b"c" * 16, b"d" * 16), producer_note="test")
    buffer = io.BytesIO()
    writer.write(buffer)
    reader = PdfReader(io.BytesIO(buffer.getvalue()))
    assert reader.attachments == {} and "/AF" not in reader.trailer["/Root"]
    assert reader.metadata["/ModDate"] == reader.metadata["/CreationDate"]
