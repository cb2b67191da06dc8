"""The packet stage's structure-tree merge (packet/structure.py), straight on built documents."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pikepdf
import pytest

from handouts.packet.structure import StructureMerger, drop_dead_object_refs, flatten_as_artifacts, is_tagged

DOCS = [("tiny/en/tiny-info.pdf", "Info"), ("tiny/en/tiny-consent-fillable.pdf", "Consent")]


def mcids(page: Any) -> list[int]:
    found = []
    for operands, operator in pikepdf.parse_content_stream(page):
        if str(operator) == "BDC" and isinstance(operands[1], pikepdf.Dictionary) and "/MCID" in operands[1]:
            found.append(int(operands[1].MCID))
    return found


def merge(out: Path) -> pikepdf.Pdf:
    packet = pikepdf.new()
    tags = StructureMerger(packet)
    for rel, title in DOCS:
        source = pikepdf.open(out / rel)
        offset = tags.prepare(source)
        packet.add_pages_from(source, outlines="ignore", forms="preserve")
        tags.add(source, offset, title)
    tags.finish()
    return packet


@pytest.fixture(scope="module")
def out(tiny_built: Path) -> Path:
    return tiny_built / "out"


def test_each_document_becomes_a_titled_part(out: Path) -> None:
    packet = merge(out)
    assert is_tagged(packet)
    (document,) = list(packet.Root.StructTreeRoot.K)
    assert str(document.S) == "/Document"
    assert [(str(p.S), str(p.T)) for p in document.K] == [("/Part", "Info"), ("/Part", "Consent")]
    assert all(p.P.objgen == document.objgen for p in document.K)


def test_parent_tree_keys_are_shifted_and_every_mark_leads_to_its_element(out: Path) -> None:
    sources = [pikepdf.open(out / rel) for rel, _ in DOCS]
    first_pages = len(sources[0].pages)
    packet = merge(out)
    tree = {int(k): v for k, v in pikepdf.NumberTree(packet.Root.StructTreeRoot.ParentTree).items()}
    keys = [int(page.obj.StructParents) for page in packet.pages]
    assert len(keys) == len(set(keys))  # no two pages share a key after the shift
    assert min(keys[first_pages:]) > max(keys[:first_pages])
    assert int(packet.Root.StructTreeRoot.ParentTreeNextKey) > max(tree)
    for number, page in enumerate(packet.pages):
        marks = tree[int(page.obj.StructParents)]
        for mcid in mcids(page):
            element = marks[mcid]
            assert str(element.get("/Type")) == "/StructElem", (number, mcid)


def test_form_fields_stay_linked_to_their_widgets(out: Path) -> None:
    packet = merge(out)
    widgets = {a.objgen for page in packet.pages for a in page.obj.get("/Annots", [])}
    refs = [ref.Obj.objgen for ref in object_refs(packet)]
    assert widgets and set(refs) == widgets  # every widget is tagged, and only the ones the pages hold


def contents(page: Any) -> list[Any]:
    value = page.obj.get("/Contents")
    return list(value) if isinstance(value, pikepdf.Array) else [value] if value is not None else []


def object_refs(pdf: pikepdf.Pdf) -> list[Any]:
    stack, refs = [pdf.Root.StructTreeRoot], []
    while stack:
        element = stack.pop()
        kids = element.get("/K")
        for kid in kids if isinstance(kids, pikepdf.Array) else [kids] if kids is not None else []:
            if isinstance(kid, pikepdf.Dictionary):
                (refs if kid.get("/Type") == "/OBJR" else stack).append(kid)
    return refs


def test_flattened_values_become_artifacts_and_dead_references_go(out: Path) -> None:
    from handouts.packet.assemble import drop_form, fill_fields

    source = pikepdf.open(out / DOCS[1][0])
    fill_fields(source, {"patient.name": "Jane Doe", "therapist.name": "Sam Lee"})
    before = {page.objgen: {s.objgen for s in contents(page)} for page in source.pages}
    assert object_refs(source)  # the form's widgets are tagged
    flatten_as_artifacts(source)
    added = [
        s.read_bytes() for page in source.pages for s in contents(page) if s.objgen not in before[page.objgen]
    ]
    drawn = [data for data in added if data.removeprefix(b"\nQ\n").strip() not in (b"", b"q")]
    assert drawn and all(b"/Artifact BMC" in data and data.rstrip().endswith(b"EMC") for data in drawn)
    drop_form(source)  # the widgets never filled go too, as in a printed packet
    assert len(pikepdf.NumberTree(source.Root.StructTreeRoot.ParentTree)) > len(source.pages)
    drop_dead_object_refs(source)
    assert object_refs(source) == []
    keys = {int(k) for k, _ in pikepdf.NumberTree(source.Root.StructTreeRoot.ParentTree).items()}
    assert keys == {int(page.obj.StructParents) for page in source.pages}  # the widgets' keys went too


def test_a_document_without_a_tree_leaves_the_packet_untagged(out: Path, tmp_path: Path) -> None:
    untagged = pikepdf.open(out / DOCS[0][0])
    del untagged.Root.StructTreeRoot
    untagged.save(tmp_path / "untagged.pdf")
    packet = pikepdf.new()
    tags = StructureMerger(packet)
    for path in (tmp_path / "untagged.pdf", out / DOCS[1][0]):
        source = pikepdf.open(path)
        offset = tags.prepare(source)
        packet.add_pages_from(source, outlines="ignore", forms="preserve")
        tags.add(source, offset, "x")
    tags.finish()
    assert "/StructTreeRoot" not in packet.Root and not tags.complete
