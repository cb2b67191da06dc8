"""Wiring of signing into the faces: keys init, certified packets, verify, screen, archive, validate."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pikepdf
import pytest
from pypdf import PdfWriter
from pypdf.generic import ArrayObject, NameObject, StreamObject

from helpers import SIGNING_ENV, SIGNING_YAML, check_signed_pdfa3b, pdfsig, run_cli, write_tiny

DETAILS = ["--patient", "Jane Doe", "--dob", "1980-02-03", "--date", "2026-12-01"]
ANSWERS = {
    "contraindication.pregnancy": "/no",
    "contraindication.metal-allergy": "/no",
    "consent.agree": "/Yes",
    "patient.signature": "Jane Doe",
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    with pytest.MonkeyPatch.context() as env:
        for key, value in SIGNING_ENV.items():
            env.setenv(key, value)
        root = write_tiny(tmp_path_factory.mktemp("cli-sign") / "proj", {"handouts.yaml": SIGNING_YAML})
        code, _, err = run_cli(root, "build", "-j", "1")
        assert code == 0, err
        code, out, err = run_cli(root, "keys", "init")
        assert code == 0, err
        assert "SHA-256 fingerprint: " in out and (root / "keys/clinic.p12").is_file()
    return root


@pytest.fixture(autouse=True)
def password(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in SIGNING_ENV.items():
        monkeypatch.setenv(key, value)


@pytest.fixture(scope="module")
def packets(project: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("packets")
    with pytest.MonkeyPatch.context() as env:
        for key, value in SIGNING_ENV.items():
            env.setenv(key, value)
        made = {}
        for name, extra in (("fillable", ["--fillable"]), ("print", [])):
            code, _, err = run_cli(project, "packet", *DETAILS, *extra, "-o", str(folder / f"{name}.pdf"))
            assert code == 0, err
            made[name] = folder / f"{name}.pdf"
    writer = PdfWriter(made["fillable"], incremental=True)
    writer.update_page_form_field_values(None, ANSWERS, auto_regenerate=False)
    writer.write(folder / "filled.pdf")
    made["filled"] = folder / "filled.pdf"
    writer = PdfWriter(made["filled"], incremental=True)
    stream = StreamObject()
    stream.set_data(b"q 0 0 1 rg 40 40 200 30 re f Q")
    page = writer.pages[0]
    page[NameObject("/Contents")] = ArrayObject([*page["/Contents"], writer._add_object(stream)])
    writer.write(folder / "changed.pdf")
    made["changed"] = folder / "changed.pdf"
    with pikepdf.open(made["filled"]) as pdf:
        pdf.save(folder / "rewritten.pdf")
    made["rewritten"] = folder / "rewritten.pdf"
    return made


def test_keys_init_refuses_a_second_time(project: Path) -> None:
    code, _, err = run_cli(project, "keys", "init")
    assert code == 2 and "exists already" in err and len(err.strip().splitlines()) == 1


def test_fillable_packets_are_certified_and_print_packets_are_not(packets: dict[str, Path]) -> None:
    assert "Signature is Valid" in pdfsig(packets["fillable"])
    assert b"/ByteRange" not in packets["print"].read_bytes()


def test_verify_exit_codes(project: Path, packets: dict[str, Path], tmp_path: Path) -> None:
    code, out, _ = run_cli(project, "verify", str(packets["fillable"]))
    assert code == 0 and "VALID" in out and "trusted: project certificate" in out
    code, out, _ = run_cli(project, "verify", str(packets["filled"]))
    assert code == 0 and "changed since: form filling (form filling allowed)" in out
    code, out, _ = run_cli(project, "verify", str(packets["changed"]))
    assert code == 1 and "page 1: its content streams were replaced or added to" in out
    code, out, _ = run_cli(project, "verify", str(packets["rewritten"]))
    assert code == 1 and "BROKEN" in out
    code, out, _ = run_cli(project, "verify", str(packets["print"]))
    assert code == 3 and "UNSIGNED" in out
    (tmp_path / "junk.pdf").write_bytes(b"%PDF-1.7\ngarbage")
    code, out, _ = run_cli(project, "verify", str(tmp_path / "junk.pdf"))
    assert code == 2 and "UNREADABLE" in out
    code, out, _ = run_cli(project, "verify", "--json", str(packets["filled"]))
    data = json.loads(out)
    assert data["status"] == "valid" and data["signatures"][0]["changes"] == "form filling"
    assert data["provenance"]["catalogue"] == "current"
    for name in ("filled", "print", "changed"):
        shutil.copy(packets[name], tmp_path / f"{name}.pdf")
    code, out, _ = run_cli(project, "verify", str(tmp_path))
    assert code == 1  # the changed one outweighs the unsigned and unreadable ones
    assert out.strip().splitlines()[-1] == "1 valid, 1 unsigned, 1 unreadable, 1 invalid"


def test_verify_without_the_password_uses_the_public_certificate(
    project: Path, packets: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HANDOUTS_SIGNING_PASSWORD")
    code, out, _ = run_cli(project, "verify", str(packets["filled"]))
    assert code == 0 and "trusted: project certificate" in out


def test_screen_reads_a_filled_certified_form_and_calls_changed_ones_tampered(
    project: Path, packets: dict[str, Path], tmp_path: Path
) -> None:
    code, out, _ = run_cli(project, "screen", str(packets["filled"]))
    assert code == 0 and "CLEAR" in out and "certification: signature valid" in out
    for name in ("changed", "rewritten"):
        code, out, _ = run_cli(project, "screen", str(packets[name]))
        assert code == 5 and "TAMPERED" in out, name
    code, out, _ = run_cli(project, "screen", "--json", str(packets["changed"]))
    data = json.loads(out)
    assert data["status"] == "tampered" and "page 1" in data["certification"]
    for name in ("filled", "changed"):
        shutil.copy(packets[name], tmp_path / f"{name}.pdf")
    code, out, _ = run_cli(project, "screen", str(tmp_path))
    assert code == 5 and "1 tampered" in out.strip().splitlines()[-1]


def test_screen_warns_about_an_unsigned_form_and_reads_it(project: Path, tmp_path: Path) -> None:
    from helpers import fill_form

    form = project / "out/tiny/en/tiny-consent-fillable.pdf"  # as built, never certified
    filled = fill_form(
        form, tmp_path / "f.pdf", {**ANSWERS, "patient.date": "2026-12-01", "patient.name": "J"}
    )
    code, out, err = run_cli(project, "screen", str(filled))
    assert code == 0 and "CLEAR" in out
    assert "warning: unsigned" in err


def test_archive_seals_the_record_and_refuses_tampered_forms(
    project: Path, packets: dict[str, Path], tmp_path: Path
) -> None:
    target = tmp_path / "record.pdf"
    code, _, err = run_cli(project, "archive", str(packets["filled"]), "-o", str(target))
    assert code == 0, err
    assert "sealed (PAdES B-B)" in err
    check_signed_pdfa3b(target)  # the command's record, sealed from a certified packet
    report = pdfsig(target)
    assert "Signature is Valid" in report and "Total document signed" in report
    code, out, _ = run_cli(project, "verify", str(target))
    assert code == 0 and "(approval): intact" in out
    code, _, err = run_cli(project, "archive", str(packets["changed"]), "-o", str(tmp_path / "no.pdf"))
    assert code == 5 and "not archived" in err and not (tmp_path / "no.pdf").exists()


def test_validate_refuses_a_key_inside_content_and_warns_on_missing_keys(tmp_path: Path) -> None:
    inside = SIGNING_YAML.replace("keys/clinic.p12", "content/clinic.p12")
    root = write_tiny(tmp_path / "a", {"handouts.yaml": inside})
    code, _, err = run_cli(root, "validate")
    assert code == 2 and "inside content/" in err
    root = write_tiny(tmp_path / "b", {"handouts.yaml": SIGNING_YAML})
    code, out, err = run_cli(root, "validate")
    assert code == 0 and "keys init" in err and out.startswith("ok:")
    code, _, err = run_cli(root, "validate", "--strict")
    assert code == 2


def test_a_password_in_handouts_yaml_is_refused_with_its_line(tmp_path: Path) -> None:
    root = write_tiny(tmp_path / "p", {"handouts.yaml": SIGNING_YAML + "  password: hunter2\n"})
    code, _, err = run_cli(root, "validate")
    assert code == 2 and "handouts.yaml:6" in err and "never write the certificate's password" in err
    assert "hunter2" not in err


def test_front_desk_certifies_packets_and_names_tampering(project: Path, packets: dict[str, Path]) -> None:
    import io
    import re

    from handouts.project import Project
    from handouts.web.app import create_app

    client = create_app(Project(project)).test_client()

    def token() -> str:
        found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").get_data(as_text=True))
        assert found
        return found.group(1)

    form = {"csrf_token": token(), "name": "Jane Doe", "dob": "1980-02-03", "date": "2026-12-01",
            "brand": "tiny", "lang": "en", "docs": ["tiny-info", "tiny-consent"], "fillable": "on",
            "action": "download"}  # fmt: skip
    response = client.post("/packet", data=form)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert b"/ByteRange" in response.data  # certified, as the CLI's
    for name, words in (("filled", "signature valid"), ("changed", "TAMPERED")):
        upload = {"csrf_token": token(), "consent_pdf": (io.BytesIO(packets[name].read_bytes()), "f.pdf")}
        html = client.post("/screen", data=upload, content_type="multipart/form-data").get_data(as_text=True)
        assert words in html, name
    assert "page 1: its content streams were replaced or added to" in html


def test_the_register_keeps_each_returned_forms_certification(
    project: Path, packets: dict[str, Path], tmp_path: Path
) -> None:
    def back(ref: str) -> dict[str, object]:
        code, out, err = run_cli(project, "register", "list", "--json", "--patient-ref", ref)
        assert code == 0, err
        rows = json.loads(out)["entries"]
        assert len(rows) == 1 and rows[0]["kind"] == "return"
        return dict(rows[0])

    run_cli(project, "screen", str(packets["filled"]), "--patient-ref", "S-1")
    run_cli(project, "screen", str(packets["changed"]), "--patient-ref", "S-2")
    assert (back("S-1")["status"], back("S-1")["signature"]) == ("clear", "valid")
    assert (back("S-2")["status"], back("S-2")["signature"]) == ("tampered", "invalid")
    record = tmp_path / "record.pdf"
    code, _, err = run_cli(
        project, "archive", str(packets["filled"]), "-o", str(record), "--patient-ref", "S-3"
    )
    assert code == 0, err
    assert back("S-3")["sha256"] == hashlib.sha256(record.read_bytes()).hexdigest()  # the sealed file
    code, _, _ = run_cli(project, "archive", str(packets["changed"]), "-o", str(tmp_path / "no.pdf"),
                         "--patient-ref", "S-4")  # fmt: skip
    assert code == 5 and (back("S-4")["status"], back("S-4")["sha256"]) == ("tampered", None)
    code, out, _ = run_cli(project, "register", "verify")
    assert code == 0 and "the chain holds" in out
