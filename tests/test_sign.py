"""Signing (issue 15): the clinic's identity, certified packets, what a fill may change, sealed records.

Library-level: each stage function on its own. Every verdict is checked twice where a tool
nobody here wrote can judge it: pyHanko's validator through `verify`, and poppler's pdfsig.
"""

from __future__ import annotations

import datetime as dt
import io
import shutil
import stat
from pathlib import Path
from typing import Any

import pikepdf
import pikepdf.pdfa
import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, StreamObject, TextStringObject

from handouts.content.models import SigningSettings
from handouts.errors import ProjectError
from handouts.project import Project

from helpers import (
    SIGNING_ENV,
    SIGNING_YAML,
    check_pdfa3b,
    check_signed_pdfa3b,
    pdfsig,
    pdftotext,
    qualified_name,
    write_tiny,
)

SETTINGS = SigningSettings(certificate="keys/clinic.p12", password_env="HANDOUTS_SIGNING_PASSWORD")
ANSWERS = {
    "contraindication.pregnancy": "/no",
    "contraindication.metal-allergy": "/yes",
    "consent.agree": "/Yes",
    "patient.signature": "Jane Doe",
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from helpers import run_cli

    root = write_tiny(tmp_path_factory.mktemp("sign") / "proj", {"handouts.yaml": SIGNING_YAML})
    code, _, err = run_cli(root, "build", "-j", "1")
    assert code == 0, err
    from handouts.sign.identity import init_keys

    init_keys(root, SETTINGS, "Tiny Clinic", "Testville", environ=SIGNING_ENV)
    return root


@pytest.fixture(scope="module")
def identity(project: Path) -> Any:
    from handouts.sign.identity import load_identity

    return load_identity(project, SETTINGS, SIGNING_ENV)


@pytest.fixture(scope="module")
def trust(project: Path, identity: Any) -> Any:
    from handouts.sign.identity import trust

    return trust(project, SETTINGS, identity)


@pytest.fixture(scope="module")
def unsigned_packet(project: Path) -> bytes:
    from handouts.packet.make import make_packet
    from handouts.packet.request import PacketRequest, Patient

    patient = Patient("Jane Doe", dob=dt.date(1980, 2, 3), date=dt.date(2026, 12, 1), therapist="Sam Lee")
    return make_packet(Project(project), PacketRequest(patient, fillable=True)).pdf


@pytest.fixture(scope="module")
def certified(unsigned_packet: bytes, identity: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from handouts.sign.certify import certify

    path = tmp_path_factory.mktemp("certified") / "packet.pdf"
    path.write_bytes(certify(unsigned_packet, identity))
    return path


def fill_incrementally(src: Path, dest: Path, values: dict[str, str]) -> Path:
    """Fill the form the way viewers save it: an incremental update appended to the signed bytes."""
    writer = PdfWriter(src, incremental=True)
    writer.update_page_form_field_values(None, values, auto_regenerate=False)
    writer.write(dest)
    return dest


def verify(path: Path, trust: Any, **kwargs: Any) -> Any:
    from handouts.sign.verify import verify_path

    return verify_path(path, trust, **kwargs)


# --- the identity -----------------------------------------------------------------------


def test_keys_init_makes_an_owner_only_self_signed_certificate(project: Path, identity: Any) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    key_file = project / "keys/clinic.p12"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert (project / "keys/clinic.crt").read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert identity.subject == "L=Testville,O=Tiny Clinic,CN=Tiny Clinic"
    assert identity.certificate.issuer == identity.certificate.subject  # self-signed
    assert isinstance(identity.key, ec.EllipticCurvePrivateKey)
    assert len(identity.fingerprint) == 64 and int(identity.fingerprint, 16) > 0
    days = (identity.not_after - dt.datetime.now(dt.UTC)).days
    assert 3 * 365 - 2 <= days <= 3 * 365
    assert b"Tiny Clinic" not in key_file.read_bytes()  # the key and certificate are encrypted


def test_keys_init_never_overwrites_and_needs_the_password(project: Path, tmp_path: Path) -> None:
    from handouts.sign.identity import init_keys

    before = (project / "keys/clinic.p12").read_bytes()
    with pytest.raises(ProjectError, match="exists already"):
        init_keys(project, SETTINGS, "Tiny Clinic", environ=SIGNING_ENV)
    assert (project / "keys/clinic.p12").read_bytes() == before
    with pytest.raises(ProjectError, match="HANDOUTS_SIGNING_PASSWORD is not set"):
        init_keys(tmp_path, SETTINGS, "Tiny Clinic", environ={})
    assert not (tmp_path / "keys").exists()


def test_keys_inside_content_or_templates_are_refused(tmp_path: Path) -> None:
    from handouts.sign.identity import check_signing, init_keys

    for folder in ("content", "templates"):
        inside = SigningSettings(certificate=f"{folder}/clinic.p12", password_env="HANDOUTS_SIGNING_PASSWORD")
        with pytest.raises(ProjectError, match=f"inside {folder}/"):
            init_keys(tmp_path, inside, "Tiny Clinic", environ=SIGNING_ENV)
        (problem,) = check_signing(tmp_path, inside, SIGNING_ENV)
        assert not problem.warning and f"inside {folder}/" in problem.message


def test_wrong_or_missing_password_is_one_clear_error(project: Path) -> None:
    from handouts.sign.identity import load_identity

    with pytest.raises(ProjectError, match="wrong password"):
        load_identity(project, SETTINGS, {"HANDOUTS_SIGNING_PASSWORD": "nope"})
    with pytest.raises(ProjectError, match="is not set"):
        load_identity(project, SETTINGS, {})
    missing = SigningSettings(certificate="keys/other.p12", password_env="HANDOUTS_SIGNING_PASSWORD")
    with pytest.raises(ProjectError, match="keys init"):
        load_identity(project, missing, SIGNING_ENV)


def test_a_key_only_pdf_2_can_declare_is_refused(tmp_path: Path) -> None:
    """An Ed25519 signature is declared only in PDF 2.0 (ISO/TS 32002): a record sealed with it
    would stop being PDF/A-3, so such a key file is refused when loaded, naming the file."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    from handouts.sign.identity import load_identity

    key = ed25519.Ed25519PrivateKey.generate()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Edwards Clinic")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + dt.timedelta(days=30))
        .sign(key, None)
    )  # fmt: skip
    secret = SIGNING_ENV["HANDOUTS_SIGNING_PASSWORD"].encode()
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys/clinic.p12").write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"clinic", key, cert, None, serialization.BestAvailableEncryption(secret)
        )
    )
    with pytest.raises(ProjectError, match=r"clinic\.p12: its key is not RSA or EC"):
        load_identity(tmp_path, SETTINGS, SIGNING_ENV)


def test_a_password_key_in_the_settings_is_refused() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="never write the certificate's password"):
        SigningSettings.model_validate(
            {"certificate": "keys/clinic.p12", "password_env": "X", "password": "secret"}
        )


def test_validate_warns_before_the_certificate_expires(project: Path, identity: Any) -> None:
    from handouts.sign.identity import check_signing

    assert check_signing(project, SETTINGS, SIGNING_ENV) == []
    soon = identity.not_after.date() - dt.timedelta(days=30)
    (problem,) = check_signing(project, SETTINGS, SIGNING_ENV, today=soon)
    assert problem.warning and "expires on" in problem.message and "in 30 days" in problem.message
    (problem,) = check_signing(
        project, SETTINGS, SIGNING_ENV, today=identity.not_after.date() + dt.timedelta(days=1)
    )
    assert problem.warning and "expired on" in problem.message


# --- certified packets --------------------------------------------------------------------


def test_certified_packet_is_valid_for_pyhanko_and_pdfsig(certified: Path, trust: Any, identity: Any) -> None:
    result = verify(certified, trust)
    assert result.status == "valid" and result.exit_code == 0
    (sig,) = result.signatures
    assert sig.kind == "certification" and sig.permitted == "form filling"
    assert sig.intact and sig.trusted_as == "project certificate" and sig.changes == "none"
    assert sig.fingerprint == identity.fingerprint and "CN=Tiny Clinic" in sig.signer
    assert result.provenance is not None and result.provenance.document == "tiny-consent"
    report = pdfsig(certified)
    assert "Signature is Valid" in report and "Total document signed" in report
    assert "ETSI.CAdES.detached" in report


def test_certification_keeps_the_packet_pdf_1_7(unsigned_packet: bytes, certified: Path) -> None:
    """pyHanko would declare ISO/TS 32002 for the P-256 key and make the packet PDF 2.0, which
    its PDF/UA-1 claim (and PDF/A-3, for the record made from it) cannot be: only ETSI's ESIC
    extension for PAdES in PDF 1.7 is declared."""
    with pikepdf.open(io.BytesIO(unsigned_packet)) as before:
        assert "/Extensions" not in before.Root
        header = before.pdf_version
    with pikepdf.open(certified) as pdf:
        assert pdf.pdf_version == header and header <= "1.7"
        assert str(pdf.Root.get("/Version")) == "/1.7"  # PAdES's base version, as pyHanko sets it
        assert set(pdf.Root.Extensions.keys()) == {"/ESIC"}
        assert pdf.Root.Extensions.ESIC.BaseVersion == "/1.7"


def test_certification_keeps_the_packet_and_adds_a_few_kilobytes(
    unsigned_packet: bytes, certified: Path
) -> None:
    data = certified.read_bytes()
    assert data.startswith(unsigned_packet)  # one incremental update, the packet untouched
    assert 0 < len(data) - len(unsigned_packet) < 12_000
    assert pdftotext(certified).count("Prepared for Jane Doe") >= 1
    fields = PdfReader(certified).get_fields()
    assert fields["patient.name"]["/V"] == "Jane Doe"
    assert fields["certification"]["/FT"] == "/Sig"


def test_certified_packet_stays_pdfua(certified: Path) -> None:
    """The invisible certification field lies outside the page, which PDF/UA-1 (7.18.1) exempts
    from tagging; it stays printable and not hidden, as PDF/A asks of the record made from it."""
    import uacheck

    [report] = uacheck.run_pdfua([certified]).values()
    assert uacheck.pdfua_problems(report) == []
    assert uacheck.check(certified) == []
    with pikepdf.open(certified) as pdf:
        (widget,) = [a for a in pdf.pages[0].Annots if a.get("/T") == "certification"]
        assert int(widget.F) & 4 and not int(widget.F) & 2
        assert max(float(v) for v in widget.Rect) < 0


def test_a_form_filled_as_viewers_save_stays_valid(certified: Path, trust: Any, tmp_path: Path) -> None:
    filled = fill_incrementally(certified, tmp_path / "filled.pdf", ANSWERS)
    result = verify(filled, trust)
    assert result.status == "valid", result.problems
    (sig,) = result.signatures
    assert sig.changes == "form filling"
    report = pdfsig(filled)
    assert "Signature is Valid" in report and "Total document signed" not in report
    # Saved twice (a patient who comes back to it): still only form filling.
    again = fill_incrementally(filled, tmp_path / "again.pdf", {"patient.signature": "Jane Q. Doe"})
    assert verify(again, trust).status == "valid"
    assert PdfReader(again).get_fields()["patient.signature"]["/V"] == "Jane Q. Doe"


def _incremental(src: Path, dest: Path, change: Any) -> Path:
    writer = PdfWriter(src, incremental=True)
    change(writer)
    writer.write(dest)
    return dest


def _add_content_stream(writer: PdfWriter) -> None:
    page = writer.pages[0]
    stream = StreamObject()
    stream.set_data(b"q 1 0 0 rg 40 40 200 30 re f Q")
    contents = page.get("/Contents")
    items = (
        list(contents.get_object())
        if isinstance(contents.get_object(), ArrayObject)
        else [page.raw_get("/Contents")]
    )
    page[NameObject("/Contents")] = ArrayObject([*items, writer._add_object(stream)])


def _rewrite_page_content(writer: PdfWriter) -> None:
    page = writer.pages[1]
    contents = page["/Contents"].get_object()
    streams = [s.get_object() for s in contents] if isinstance(contents, ArrayObject) else [contents]
    stream = max(streams, key=lambda s: len(s.get_data()))  # the page's own drawing, not the q/Q wrappers
    data = stream.get_data()
    assert b" TJ" in data
    stream.set_data(data.replace(b" TJ", b" TJ\n0 0 1 rg", 1))  # the rest of the page's text turns blue


def _consent_group(writer: PdfWriter) -> Any:
    fields = writer._root_object["/AcroForm"]["/Fields"]
    return next(f.get_object() for f in fields if f.get_object().get("/T") == "contraindication")


def _remove_field(writer: PdfWriter) -> None:
    group = _consent_group(writer)
    kids = group["/Kids"]
    kids.remove(next(k for k in kids if k.get_object()["/T"] == "pregnancy"))


def _add_field(writer: PdfWriter) -> None:
    page = writer.pages[1]
    widget = DictionaryObject({
        NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Widget"),
        NameObject("/FT"): NameObject("/Tx"), NameObject("/T"): TextStringObject("extra"),
        NameObject("/Rect"): ArrayObject([_real(v) for v in (40, 40, 200, 60)]),
        NameObject("/F"): _integer(4),
    })  # fmt: skip
    ref = writer._add_object(widget)
    page[NameObject("/Annots")] = ArrayObject([*page.get("/Annots", []), ref])
    writer._root_object["/AcroForm"]["/Fields"].append(ref)


def _change_provenance(writer: PdfWriter) -> None:
    writer.add_metadata({"/handoutsversion": "9.9"})


def _real(value: float) -> Any:
    from pypdf.generic import FloatObject

    return FloatObject(value)


def _integer(value: int) -> Any:
    from pypdf.generic import NumberObject

    return NumberObject(value)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (_add_content_stream, "page 1: its content streams were replaced or added to"),
        (_rewrite_page_content, "page 2: its content was rewritten"),
        (_remove_field, "form fields removed: contraindication.pregnancy"),
        (_add_field, "form fields added: extra"),
        (_change_provenance, "the document's provenance: /handoutsversion"),
    ],
    ids=["new-content-stream", "page-content", "removed-field", "added-field", "provenance"],
)
def test_changes_beyond_filling_are_tampering(
    certified: Path, trust: Any, tmp_path: Path, change: Any, named: str
) -> None:
    filled = fill_incrementally(certified, tmp_path / "filled.pdf", ANSWERS)
    changed = _incremental(filled, tmp_path / "changed.pdf", change)
    result = verify(changed, trust)
    assert result.status == "invalid" and result.exit_code == 1
    (sig,) = result.signatures
    assert sig.intact and sig.changes == "other"  # the signed bytes are there; what follows is not allowed
    assert named in sig.changed, sig.changed
    assert any(named in p for p in result.problems)
    # pdfsig does no change analysis: for it the signed revision is still valid.
    assert "Signature is Valid" in pdfsig(changed)


def test_a_full_rewrite_breaks_the_signature(certified: Path, trust: Any, tmp_path: Path) -> None:
    filled = fill_incrementally(certified, tmp_path / "filled.pdf", ANSWERS)
    with pikepdf.open(filled) as pdf:
        pdf.save(tmp_path / "rewritten.pdf")
    result = verify(tmp_path / "rewritten.pdf", trust)
    assert result.status == "invalid" and result.exit_code == 1
    assert not result.signatures[0].intact
    assert "no longer match" in result.problems[0]
    assert "Signature is Valid" not in pdfsig(tmp_path / "rewritten.pdf")


def test_another_signer_is_not_trusted_unless_listed(
    unsigned_packet: bytes, project: Path, trust: Any, tmp_path: Path
) -> None:
    from handouts.sign.certify import certify
    from handouts.sign.identity import init_keys, load_identity
    from handouts.sign.identity import trust as make_trust

    other_root = tmp_path / "other"
    init_keys(other_root, SETTINGS, "Not The Clinic", environ=SIGNING_ENV)
    other = load_identity(other_root, SETTINGS, SIGNING_ENV)
    path = tmp_path / "forged.pdf"
    path.write_bytes(certify(unsigned_packet, other))
    result = verify(path, trust)
    assert result.status == "invalid" and result.signatures[0].intact
    assert result.signatures[0].trusted_as is None
    shutil.copy(other_root / "keys/clinic.crt", project / "keys/other.crt")
    for entry in (
        "keys/other.crt",
        other.fingerprint,
        ":".join(other.fingerprint[i : i + 2] for i in range(0, 64, 2)),
    ):
        listed = SigningSettings(**{**SETTINGS.model_dump(), "trusted": (entry,)})
        again = verify(path, make_trust(project, listed))
        assert again.status == "valid" and again.signatures[0].trusted_as == "signing.trusted", entry


def test_verify_without_the_password_reads_the_public_certificate(project: Path, certified: Path) -> None:
    from handouts.sign.identity import trust

    public_only = trust(project, SETTINGS)  # no identity loaded: keys/clinic.crt
    assert verify(certified, public_only).signatures[0].trusted_as == "project certificate"


def test_unsigned_and_unreadable_files(unsigned_packet: bytes, trust: Any, tmp_path: Path) -> None:
    (tmp_path / "plain.pdf").write_bytes(unsigned_packet)
    result = verify(tmp_path / "plain.pdf", trust)
    assert result.status == "unsigned" and result.exit_code == 3
    (tmp_path / "junk.pdf").write_bytes(b"%PDF-1.7\nnot really")
    assert verify(tmp_path / "junk.pdf", trust).exit_code == 2
    (tmp_path / "text.pdf").write_text("hello")
    junk = verify(tmp_path / "text.pdf", trust)
    assert junk.status == "unreadable" and "not a PDF" in (junk.error or "")


def test_provenance_is_compared_with_the_catalogue(project: Path, certified: Path, trust: Any) -> None:
    from handouts.sign.verify import known_from_manifest

    known = known_from_manifest(project / "out")
    result = verify(certified, trust, known=known)
    assert result.provenance is not None and result.provenance.catalogue == "current"
    moved = {key: ("2.0", prints) for key, (_, prints) in known.items()}
    older = verify(certified, trust, known=moved)
    assert older.provenance is not None and older.provenance.catalogue == "older version"
    assert (
        older.provenance.current_version == "2.0" and older.status == "valid"
    )  # an older form is still valid


def test_verdicts_never_quote_patient_data(certified: Path, trust: Any, tmp_path: Path) -> None:
    filled = fill_incrementally(certified, tmp_path / "filled.pdf", ANSWERS)
    changed = _incremental(filled, tmp_path / "changed.pdf", _add_content_stream)
    import json

    from handouts.sign.verify import report_lines

    for result in (verify(filled, trust), verify(changed, trust)):
        text = json.dumps(result.to_json()) + "\n".join(report_lines(result))
        assert "Jane" not in text and "Sam Lee" not in text


PDFIUM_TEXTS = {"patient.signature": "Jane Doe"}
PDFIUM_CLICKS = {
    ("contraindication.pregnancy", "no"),
    ("contraindication.metal-allergy", "yes"),
    ("consent.agree", "Yes"),
}


def test_a_form_saved_by_pdfium_as_chromium_does_is_a_broken_signature(
    project: Path, certified: Path, trust: Any, tmp_path: Path
) -> None:
    """Chromium's PDF viewer saves with PDFium's FPDF_SaveAsCopy and no flags: a whole new file,
    so the bytes the certification signed are gone. That is tampering for screen and verify
    (exit 1), and poppler agrees; the patient's answers are still there to read."""
    from handouts.intake.screen import screen_path
    from pdfiumfill import pdfium_fill

    saved = pdfium_fill(certified, tmp_path / "chromium.pdf", PDFIUM_TEXTS, PDFIUM_CLICKS, incremental=False)
    assert not saved.read_bytes().startswith(certified.read_bytes()[:1000])  # rewritten from the start
    fields = PdfReader(saved).get_fields()
    assert fields["patient.signature"]["/V"] == "Jane Doe"
    assert fields["contraindication.metal-allergy"]["/V"] == "/yes"
    result = verify(saved, trust)
    assert result.status == "invalid" and result.exit_code == 1
    assert not result.signatures[0].intact
    assert "Digest Mismatch" in pdfsig(saved)
    screened = screen_path(saved, project)
    assert screened.status == "tampered"


def test_pdfiums_incremental_save_keeps_the_signed_bytes_but_pyhanko_cannot_read_it(
    certified: Path, trust: Any, tmp_path: Path
) -> None:
    """A known limit, kept as a tripwire: PDFium's incremental save (FPDF_INCREMENTAL) appends
    to the signed bytes, and poppler calls the signature valid, but it ends the update with a
    cross-reference stream that has no /Type /XRef (ISO 32000-1 Table 17 requires one), which
    pyHanko's reader (and pypdf's) refuses, so verify cannot judge the fill (unreadable). With a classic
    cross-reference table PDFium also rewrites every page, resource and widget it loaded,
    its reals rounded to single precision, which pyHanko's field rules refuse. When this test
    fails, PDFium or pyHanko has changed: see whether PDFium's fills now verify."""
    from pdfiumfill import pdfium_fill

    saved = pdfium_fill(certified, tmp_path / "pdfium.pdf", PDFIUM_TEXTS, PDFIUM_CLICKS, incremental=True)
    assert saved.read_bytes().startswith(certified.read_bytes())
    with pikepdf.open(saved) as pdf:  # qpdf tolerates it (and pypdf, like pyHanko, does not)
        values = {f.fully_qualified_name: str(f.value) for f in pdf.acroform.fields}
        assert values["patient.signature"] == "Jane Doe"
        assert values["contraindication.metal-allergy"] == "/yes"
    assert "Signature is Valid" in pdfsig(saved)
    result = verify(saved, trust)
    assert result.status == "unreadable" and "KeyError" in str(result.error)


def test_fill_of_a_certified_packet_is_read_back_by_pypdf(certified: Path, tmp_path: Path) -> None:
    filled = fill_incrementally(certified, tmp_path / "filled.pdf", ANSWERS)
    fields = PdfReader(filled).get_fields()
    assert fields["contraindication.metal-allergy"]["/V"] == "/yes"
    widgets = [a.get_object() for p in PdfReader(filled).pages for a in p.get("/Annots", [])]
    shown = {qualified_name(w) + str(w.get("/AS")) for w in widgets if w.get("/AS") not in (None, "/Off")}
    assert "contraindication.metal-allergy/yes" in shown


# --- sealed records ------------------------------------------------------------------------


def _record(form: Path, folder: Path) -> bytes:
    from handouts.intake.archive import archive_form

    filled = fill_incrementally(form, folder / "filled.pdf", {**ANSWERS, "patient.date": "2026-12-01"})
    return archive_form(filled).pdf


@pytest.fixture(scope="module")
def record(certified: Path, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The record archived from a filled certified packet."""
    return _record(certified, tmp_path_factory.mktemp("record"))


@pytest.fixture(scope="module")
def unsigned_record(unsigned_packet: bytes, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The record archived from a filled packet that was never certified."""
    folder = tmp_path_factory.mktemp("unsigned-record")
    (folder / "packet.pdf").write_bytes(unsigned_packet)
    return _record(folder / "packet.pdf", folder)


def test_a_record_archived_from_a_certified_form_is_pdfa_for_pikepdf(record: bytes, tmp_path: Path) -> None:
    """The form's signature declarations (ESIC, its /Version) do not follow it into the record."""
    (tmp_path / "record.pdf").write_bytes(record)
    report = pikepdf.pdfa.validate_written(tmp_path / "record.pdf", "3b")
    assert report.verdict == "pass", report.findings
    with pikepdf.open(tmp_path / "record.pdf") as pdf:
        assert "/Extensions" not in pdf.Root and "/Version" not in pdf.Root and "/Perms" not in pdf.Root


@pytest.mark.parametrize("source", ["certified", "unsigned"])
def test_sealed_record_stays_pdfa_and_is_wholly_signed(
    source: str, record: bytes, unsigned_record: bytes, identity: Any, trust: Any, tmp_path: Path
) -> None:
    from handouts.sign.seal import seal

    import uacheck

    archived = record if source == "certified" else unsigned_record
    (tmp_path / "record.pdf").write_bytes(archived)
    check_pdfa3b(tmp_path / "record.pdf")  # as archived
    sealed = tmp_path / "sealed.pdf"
    sealed.write_bytes(seal(archived, identity))
    check_signed_pdfa3b(sealed)  # pikepdf's validator, then check_pdfa3b
    assert uacheck.check(sealed, claims_ua=False) == []  # still tagged: the seal's field is off the page
    report = pdfsig(sealed)
    assert "Signature is Valid" in report and "Total document signed" in report
    result = verify(sealed, trust)
    assert result.status == "valid"
    (sig,) = result.signatures
    assert sig.kind == "approval" and sig.changes == "none" and sig.permitted == "none"
    assert result.provenance is not None and result.provenance.document == "tiny-consent"
    # The original filled form is still embedded, and the pages still show the answers.
    assert b"tiny-consent-filled.pdf" in sealed.read_bytes() or "filled" in str(PdfReader(sealed).attachments)
    assert "Jane Doe" in pdftotext(sealed)


def test_anything_appended_to_a_sealed_record_is_a_change(
    record: bytes, identity: Any, trust: Any, tmp_path: Path
) -> None:
    from handouts.sign.seal import seal

    sealed = tmp_path / "sealed.pdf"
    sealed.write_bytes(seal(record, identity))
    touched = _incremental(sealed, tmp_path / "touched.pdf", _add_content_stream)
    result = verify(touched, trust)
    assert result.status == "invalid" and result.signatures[0].changes == "other"


@pytest.fixture
def tsa() -> Any:
    """A local RFC 3161 time-stamp authority on 127.0.0.1 (pyHanko's test time-stamper)."""
    import http.server
    import threading

    from asn1crypto import keys as asn1_keys
    from asn1crypto import tsp
    from asn1crypto import x509 as asn1_x509
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # the test stamper is RSA-only
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test Time-Stamp Authority")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    stamper = DummyTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
        tsa_key=asn1_keys.PrivateKeyInfo.load(
            key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
        ),
    )  # fmt: skip
    requests = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 -- the http.server API
            body = self.rfile.read(int(self.headers["Content-Length"]))
            requests.append(body)
            reply = stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_time_stamped_record_is_pades_b_t_and_stays_pdfa(
    record: bytes, identity: Any, trust: Any, tsa: Any, tmp_path: Path
) -> None:
    from handouts.sign.seal import seal

    url, requests = tsa
    sealed = tmp_path / "sealed.pdf"
    sealed.write_bytes(seal(record, identity, timestamp_url=url))
    assert requests  # the authority was asked
    check_signed_pdfa3b(sealed)
    report = pdfsig(sealed)
    assert "Signature is Valid" in report and "Total document signed" in report
    result = verify(sealed, trust)
    assert result.status == "valid"
    stamped = result.signatures[0].timestamp
    assert stamped is not None
    assert abs(dt.datetime.fromisoformat(stamped) - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)


def test_an_unreachable_time_stamp_authority_writes_nothing(record: bytes, identity: Any) -> None:
    import socket

    from handouts.errors import OutputError
    from handouts.sign.seal import seal

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(OutputError, match="time-stamp authority did not answer"):
        seal(record, identity, timestamp_url=f"http://127.0.0.1:{port}/")
