"""Fillable consent forms: their fields, filling them, and reading them back with `screen`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from helpers import dark_pixels, fill_form, qualified_name, render_page_png, run_cli

IDS = ["pregnancy", "metal-allergy"]
SIGNED = {
    "consent.agree": "/Yes",
    "patient.name": "Łukasz Żółć",
    "patient.signature": "Jane Doe",
    "patient.date": "2026-12-01",
}


@pytest.fixture(scope="module")
def project(module_built: Path) -> Path:
    # a copy, not the session's tiny_built: screening records into the project's register
    return module_built


@pytest.fixture
def form(project: Path) -> Path:
    return project / "out/tiny/en/tiny-consent-fillable.pdf"


def screen(project: Path, *args: str) -> tuple[int, str, str]:
    return run_cli(project, "screen", *args)


def test_fields_names_tooltips_and_print_flags(form: Path) -> None:
    reader = PdfReader(form)
    # Terminal fields (those with a type) by their fully qualified names; the parents
    # `contraindication`, `consent`, `patient`, `therapist` only group them.
    fields = {name: f for name, f in reader.get_fields().items() if "/FT" in f}
    assert set(fields) == {f"contraindication.{i}" for i in IDS} | {
        "consent.agree",
        "patient.name",
        "patient.dob",
        "patient.signature",
        "patient.date",
        "therapist.name",
    }
    for name, f in fields.items():
        assert f.get("/TU"), name
    assert "Are you pregnant" in fields["contraindication.pregnancy"]["/TU"]
    widgets = [a.get_object() for p in reader.pages for a in p.get("/Annots", [])]
    assert widgets and all(int(w["/F"]) & 4 for w in widgets)
    group = fields["contraindication.pregnancy"]
    kids = [k.get_object() for k in group["/Kids"]]
    assert [sorted(k["/AP"]["/N"].keys()) for k in kids] == [["/yes"], ["/no"]]
    assert all("/T" not in k for k in kids)  # no phantom radio children
    agree = next(w for w in widgets if qualified_name(w) == "consent.agree")
    assert list(agree["/AP"]["/N"].keys()) == ["/Yes"]


def test_fields_form_a_hierarchy_without_periods_in_partial_names(form: Path) -> None:
    # PDF 32000 §12.7.3.2: a partial name holds no period; dotted names are parents and kids.
    reader = PdfReader(form)
    top = [ref.get_object() for ref in reader.trailer["/Root"]["/AcroForm"]["/Fields"]]
    assert [str(f["/T"]) for f in top] == ["contraindication", "consent", "patient", "therapist"]
    assert all("/FT" not in f and "/Parent" not in f for f in top)
    seen = []

    def walk(field: object, depth: int) -> None:
        field = field.get_object()  # type: ignore[attr-defined]
        if "/T" in field:
            seen.append(str(field["/T"]))
        if depth < 4:
            for kid in field.get("/Kids", []):
                assert kid.get_object()["/Parent"].get_object() == field
                walk(kid, depth + 1)

    for field in top:
        walk(field, 0)
    assert "pregnancy" in seen and "name" in seen
    assert not [name for name in seen if "." in name]
    kids = {str(f["/T"]): [str(k.get_object()["/T"]) for k in f["/Kids"]] for f in top}
    assert kids["contraindication"] == IDS
    assert kids["patient"] == ["name", "dob", "signature", "date"]


def test_pypdf_fills_the_hierarchy_by_qualified_name(form: Path, tmp_path: Path) -> None:
    values = {"patient.name": "Jane Doe", "contraindication.pregnancy": "/no"}
    filled = fill_form(form, tmp_path / "f.pdf", values)
    fields = PdfReader(filled).get_fields()
    assert fields["patient.name"]["/V"] == "Jane Doe"
    assert fields["contraindication.pregnancy"]["/V"] == "/no"
    assert fields["therapist.name"].get("/V") in (None, "")


def test_fillable_form_stays_small(form: Path) -> None:
    assert form.stat().st_size < 150_000


def test_all_no_and_signed_is_clear(project: Path, form: Path, tmp_path: Path) -> None:
    filled = fill_form(form, tmp_path / "f.pdf", {**SIGNED, **{f"contraindication.{i}": "/no" for i in IDS}})
    code, out, _ = screen(project, str(filled))
    assert code == 0, out
    assert "CLEAR" in out and "Łukasz Żółć" in out


@pytest.mark.parametrize("flagged", IDS)
def test_each_yes_is_flagged_with_severity_and_note(
    project: Path, form: Path, tmp_path: Path, flagged: str
) -> None:
    values = {**SIGNED, **{f"contraindication.{i}": "/yes" if i == flagged else "/no" for i in IDS}}
    filled = fill_form(form, tmp_path / "f.pdf", values)
    code, out, _ = screen(project, "--json", str(filled))
    assert code == 1
    data = json.loads(out)
    assert data["status"] == "flagged" and data["exit_code"] == 1
    assert [f["id"] for f in data["flagged"]] == [flagged]
    expected = {"pregnancy": "check-with-therapist", "metal-allergy": "do-not-treat"}[flagged]
    assert data["flagged"][0]["severity"] == expected
    assert data["flagged"][0]["therapist_note"]
    assert data["form"]["document"] == "tiny-consent" and data["is_current"] is True


def test_unanswered_and_unsigned_are_incomplete(project: Path, form: Path, tmp_path: Path) -> None:
    one_missing = fill_form(form, tmp_path / "a.pdf", {**SIGNED, "contraindication.pregnancy": "/no"})
    code, out, _ = screen(project, str(one_missing))
    assert code == 3
    assert "unanswered metal-allergy" in out
    unsigned = fill_form(form, tmp_path / "b.pdf", {f"contraindication.{i}": "/no" for i in IDS})
    code, out, _ = screen(project, str(unsigned))
    assert code == 3
    assert "no signature" in out and "consent box not ticked" in out


def test_answers_survive_a_second_pypdf_write(project: Path, form: Path, tmp_path: Path) -> None:
    values = {**SIGNED, "contraindication.pregnancy": "/yes", "contraindication.metal-allergy": "/no"}
    first = fill_form(form, tmp_path / "a.pdf", values)
    writer = PdfWriter(clone_from=PdfReader(first))
    writer.write(tmp_path / "b.pdf")
    code, out, _ = screen(project, "--json", str(tmp_path / "b.pdf"))
    assert code == 1
    assert json.loads(out)["answers"] == {"pregnancy": "yes", "metal-allergy": "no"}


def test_outdated_form_gives_a_warning(project: Path, form: Path, tmp_path: Path) -> None:
    filled = fill_form(form, tmp_path / "f.pdf", {**SIGNED, **{f"contraindication.{i}": "/no" for i in IDS}})
    newer = tmp_path / "newer"
    shutil.copytree(project / "content", newer / "content")
    shutil.copy(project / "handouts.yaml", newer / "handouts.yaml")
    doc = newer / "content/documents/tiny-consent/en.yaml"
    doc.write_text(doc.read_text().replace('version: "1.0"', 'version: "1.1"'))
    code, out, _ = screen(newer, str(filled))
    assert code == 0
    assert "warning: content/ is now at v1.1; this form is v1.0" in out


def _bad_inputs(project: Path, form: Path, tmp: Path) -> dict[str, Path]:
    data = form.read_bytes()
    files = {
        "random PDF": project / "out/tiny/en/tiny-consent.pdf",
        "truncated": tmp / "truncated.pdf",
        "empty": tmp / "empty.pdf",
        "text renamed": tmp / "notes.pdf",
    }
    files["truncated"].write_bytes(data[: len(data) // 3])
    files["empty"].write_bytes(b"")
    files["text renamed"].write_text("Dear clinic, see you Tuesday.\n")
    return files


def test_unreadable_inputs_exit_2_with_one_line(project: Path, form: Path, tmp_path: Path) -> None:
    for what, path in _bad_inputs(project, form, tmp_path).items():
        code, out, err = screen(project, str(path))
        assert code == 2, what
        assert len(err.strip().splitlines()) == 1, (what, err)
        assert str(path) in err and "Traceback" not in err + out


def test_encrypted_form_needs_the_password(project: Path, form: Path, tmp_path: Path) -> None:
    filled = fill_form(form, tmp_path / "f.pdf", {**SIGNED, **{f"contraindication.{i}": "/no" for i in IDS}})
    writer = PdfWriter(clone_from=PdfReader(filled))
    writer.encrypt("s3cret", algorithm="AES-256")
    writer.write(tmp_path / "enc.pdf")
    code, _, err = screen(project, str(tmp_path / "enc.pdf"))
    assert code == 2 and "encrypted; give the password with --password" in err
    code, _, err = screen(project, "--password", "wrong", str(tmp_path / "enc.pdf"))
    assert code == 2 and "wrong password" in err
    code, out, _ = screen(project, "--password", "s3cret", str(tmp_path / "enc.pdf"))
    assert code == 0, out


def test_renamed_field_is_never_all_clear(project: Path, form: Path, tmp_path: Path) -> None:
    filled = fill_form(form, tmp_path / "f.pdf", {**SIGNED, **{f"contraindication.{i}": "/no" for i in IDS}})
    writer = PdfWriter(clone_from=PdfReader(filled))
    (group,) = [r.get_object() for r in writer._root_object["/AcroForm"]["/Fields"]
                if r.get_object()["/T"] == "contraindication"]  # fmt: skip
    for ref in group["/Kids"]:
        field = ref.get_object()
        if field.get("/T") == "pregnancy":
            from pypdf.generic import NameObject, TextStringObject

            field[NameObject("/T")] = TextStringObject("renamed")
    writer.write(tmp_path / "renamed.pdf")
    code, _, err = screen(project, str(tmp_path / "renamed.pdf"))
    assert code == 2
    assert "missing pregnancy" in err


def test_folder_summary_and_worst_exit_code(project: Path, form: Path, tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    fill_form(form, folder / "clear.pdf", {**SIGNED, **{f"contraindication.{i}": "/no" for i in IDS}})
    fill_form(form, folder / "flag.pdf", {**SIGNED, **{f"contraindication.{i}": "/yes" for i in IDS}})
    code, out, _ = screen(project, str(folder))
    assert code == 1
    assert out.strip().splitlines()[-1] == "1 clear, 1 flagged, 0 incomplete, 0 unreadable"
    (folder / "junk.pdf").write_text("no")
    code, out, _ = screen(project, str(folder))
    assert code == 2
    assert "1 unreadable" in out


def test_filled_answers_are_drawn_when_rasterised(form: Path, tmp_path: Path) -> None:
    values = {**SIGNED, "contraindication.pregnancy": "/yes", "contraindication.metal-allergy": "/no"}
    filled = fill_form(form, tmp_path / "f.pdf", values)
    reader = PdfReader(form)
    checked = 0
    for number, page in enumerate(reader.pages, 1):
        height = float(page.mediabox.height)
        blank = render_page_png(form, tmp_path / f"blank{number}", number)
        full = render_page_png(filled, tmp_path / f"full{number}", number)
        for ref in page.get("/Annots", []):
            widget = ref.get_object()
            name = qualified_name(widget)
            states = list(widget.get("/AP", {}).get("/N", {}).keys())
            expected_on = (
                (name == "contraindication.pregnancy" and states == ["/yes"])
                or (name == "contraindication.metal-allergy" and states == ["/no"])
                or name in ("consent.agree", "patient.name", "patient.signature", "patient.date")
            )
            if not expected_on:
                continue
            x1, y1, x2, y2 = (float(v) for v in widget["/Rect"])
            box = (
                int(min(x1, x2)),
                int(height - max(y1, y2)),
                int(max(x1, x2)) + 1,
                int(height - min(y1, y2)) + 1,
            )
            assert dark_pixels(full, box) > dark_pixels(blank, box) + 3, name
            checked += 1
    assert checked == 6
