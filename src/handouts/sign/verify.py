"""Check a PDF's signatures: intact, by whom, trusted, what changed after signing, and its provenance.

The result model is light (no pyHanko): `screen`, the web page and `verify` all print it.
`verify_bytes` does the work, importing pyHanko when called. Patient data never goes into a
result: what changed is said in our words (see changes.py), never by quoting a field.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from handouts.confine import FileTooLarge, RefusedFile, read_file
from handouts.errors import VERIFY_EXIT, PdfInputError
from handouts.sign.identity import Trust

MAX_PDF_BYTES = 50_000_000
Status = Literal["valid", "invalid", "unsigned", "unreadable"]
# A folder exits with its worst file's code, in errors.VERIFY_EXIT's order (worst last): a file
# changed after signing outweighs everything else.
SEVERITY_ORDER: tuple[Status, ...] = ("valid", "unsigned", "unreadable", "invalid")
Changes = Literal["none", "form filling", "other"]
Catalogue = Literal["current", "older version", "wording differs", "unknown document", "not checked"]


@dataclass(frozen=True)
class SignatureCheck:
    """One signature, judged."""

    field: str
    kind: Literal["certification", "approval", "time-stamp"]
    signer: str  # the certificate's subject
    fingerprint: str  # SHA-256 of the signer's certificate
    signed_at: str | None  # the time the signer's clock gave (ISO 8601)
    timestamp: str | None  # the time an RFC 3161 authority vouches for, if any
    intact: bool  # the signed bytes are unchanged and the signature matches them
    trusted_as: str | None  # "project certificate", "signing.trusted", or None
    changes: Changes  # what changed after this signature
    changed: tuple[str, ...] = ()  # in words, when changes are "other"
    permitted: Changes = "none"  # what this signature allows to change afterwards

    @property
    def ok(self) -> bool:
        allowed = ("none", "form filling") if self.permitted == "form filling" else ("none",)
        return self.intact and self.trusted_as is not None and self.changes in allowed


@dataclass(frozen=True)
class Provenance:
    document: str
    version: str
    fingerprint: str
    lang: str
    catalogue: Catalogue = "not checked"
    current_version: str | None = None


@dataclass
class VerifyResult:
    """What `verify` says about one file; serialised as its stable `--json` object (format 1)."""

    file: str
    status: Status
    signatures: list[SignatureCheck] = field(default_factory=list)
    provenance: Provenance | None = None
    error: str | None = None

    @property
    def exit_code(self) -> int:
        return VERIFY_EXIT[self.status]

    @property
    def problems(self) -> list[str]:
        """Why the file is not valid, one phrase each."""
        found = []
        for sig in self.signatures:
            if not sig.intact:
                found.append(
                    f"{sig.field}: the signed bytes no longer match: the file was rewritten or damaged"
                )
            elif sig.changes == "other" or (sig.changes == "form filling" and sig.permitted == "none"):
                found.append(f"{sig.field}: changed after signing: {'; '.join(sig.changed) or sig.changes}")
            if sig.trusted_as is None:
                found.append(
                    f"{sig.field}: signed by a certificate neither the project's nor in signing.trusted"
                )
        return found

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["format"] = 1
        data["exit_code"] = self.exit_code
        data["problems"] = self.problems
        return data


# (document id, language) -> (version, content fingerprints) of what the catalogue builds.
KnownDocuments = Mapping[tuple[str, str], tuple[str, frozenset[str]]]


def known_from_manifest(out_dir: Path) -> dict[tuple[str, str], tuple[str, frozenset[str]]]:
    """The documents out/manifest.json lists: what the clinic hands out today."""
    from handouts.build.manifest import read_manifest

    found: dict[tuple[str, str], tuple[str, set[str]]] = {}
    for entry in read_manifest(out_dir).values():
        version, prints = found.setdefault((entry.document, entry.lang), (entry.version, set()))
        prints.add(entry.content_fingerprint)
    return {key: (version, frozenset(prints)) for key, (version, prints) in found.items()}


def verify_path(
    path: Path, trust: Trust, known: KnownDocuments | None = None, password: str | None = None
) -> VerifyResult:
    """Verify one file; an unreadable one becomes a result with status 'unreadable'."""
    try:  # a regular file, its size told by stat() before it is read (confine.py)
        data = read_file(path, None, str(path), MAX_PDF_BYTES)
    except FileTooLarge:
        error = f"{path}: larger than {MAX_PDF_BYTES // 1_000_000} MB, not one of our PDFs"
        return VerifyResult(str(path), "unreadable", error=error)
    except RefusedFile as exc:
        return VerifyResult(str(path), "unreadable", error=str(exc))
    return verify_bytes(data, str(path), trust, known, password)


def verify_bytes(
    data: bytes, name: str, trust: Trust, known: KnownDocuments | None = None, password: str | None = None
) -> VerifyResult:
    """Verify a PDF held in memory; name only labels it."""
    try:
        reader = _open(data, name, password)
        signatures = _signatures(reader)
        provenance = _provenance(reader, known)
    except PdfInputError as exc:
        return VerifyResult(name, "unreadable", error=str(exc))
    if not signatures:
        return VerifyResult(name, "unsigned", provenance=provenance)
    checks = [_check(reader, sig, trust) for sig in signatures]
    status: Status = "valid" if all(c.ok for c in checks) else "invalid"
    return VerifyResult(name, status, checks, provenance)


def _open(data: bytes, name: str, password: str | None) -> Any:
    from pyhanko.pdf_utils.reader import PdfFileReader

    if not data.lstrip()[:5] == b"%PDF-":
        raise PdfInputError(f"{name}: not a PDF file")
    # pyHanko logs its change analysis with object dumps (field values among them).
    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
    logging.getLogger("pyhanko_certvalidator").setLevel(logging.CRITICAL)
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        if reader.encrypted:
            if not password:
                raise PdfInputError(f"{name}: encrypted; give the password with --password")
            from pyhanko.pdf_utils.crypt import AuthStatus

            if reader.decrypt(password).status == AuthStatus.FAILED:
                raise PdfInputError(f"{name}: wrong password")
        reader.root  # noqa: B018 -- parse the catalogue now, so a broken file fails here
    except PdfInputError:
        raise
    except Exception as exc:  # pyHanko raises many kinds on damaged files; none is a bug of ours
        raise PdfInputError(f"{name}: unreadable PDF ({type(exc).__name__})") from exc
    return reader


def _signatures(reader: Any) -> list[Any]:
    try:
        return list(reader.embedded_signatures)
    except Exception as exc:
        raise PdfInputError(f"unreadable signature dictionary ({type(exc).__name__})") from exc


def _check(reader: Any, sig: Any, trust: Trust) -> SignatureCheck:
    """Validate one signature: cryptography, signer, and the changes made after it."""
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives.serialization import Encoding
    from pyhanko.sign.diff_analysis import ModificationLevel, SuspiciousModification
    from pyhanko.sign.fields import MDPPerm
    from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    from handouts.sign.changes import describe
    from handouts.sign.policy import form_filling_policy

    roots = [asn1_x509.Certificate.load(c.public_bytes(Encoding.DER)) for c in trust.certificates]
    context = ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail")
    field_name = str(sig.field_name or "")
    kind: Literal["certification", "approval", "time-stamp"] = "approval"
    try:
        if sig.sig_object_type == "/DocTimeStamp":
            kind = "time-stamp"
            status: Any = validate_pdf_timestamp(
                sig, validation_context=context, diff_policy=form_filling_policy()
            )
        else:
            if sig.docmdp_level is not None:
                kind = "certification"
            status = validate_pdf_signature(
                sig, signer_validation_context=context, diff_policy=form_filling_policy()
            )
    except Exception as exc:  # a signature pyHanko cannot evaluate is not a valid one
        return SignatureCheck(field_name, kind, "?", "", None, None, False, None, "other",
                              (f"the signature cannot be checked ({type(exc).__name__})",))  # fmt: skip
    certificate = status.signing_cert
    fingerprint = hashlib.sha256(certificate.dump()).hexdigest()
    if fingerprint == trust.own:
        trusted_as: str | None = "project certificate"
    elif fingerprint in trust.fingerprints or status.trusted:
        trusted_as = "signing.trusted"
    else:
        trusted_as = None
    permitted: Changes = "form filling" if sig.docmdp_level == MDPPerm.FILL_FORMS else "none"
    intact = bool(status.intact and status.valid)
    diff = status.diff_result
    if status.coverage == SignatureCoverageLevel.ENTIRE_FILE:
        changes: Changes = "none"
    elif isinstance(diff, SuspiciousModification) or status.modification_level is None:
        changes = "other"
    elif status.modification_level <= ModificationLevel.LTA_UPDATES:
        changes = "none"
    elif status.modification_level == ModificationLevel.FORM_FILLING:
        changes = "form filling"
    else:
        changes = "other"
    changed: tuple[str, ...] = ()
    if not intact:
        changes, changed = "other", ("the signed bytes no longer match: the file was rewritten or damaged",)
    elif changes == "other":
        try:
            changed = tuple(describe(reader, sig.signed_revision))
        except Exception:  # describing is a courtesy; the verdict stands without it
            changed = ("objects the form filling rules do not cover",)
    timestamp = getattr(status, "timestamp_validity", None)
    reported = getattr(status, "signer_reported_dt", None) or getattr(status, "timestamp", None)
    return SignatureCheck(
        field=field_name,
        kind=kind,
        signer=_subject(certificate),
        fingerprint=fingerprint,
        signed_at=reported.isoformat() if reported else None,
        timestamp=timestamp.timestamp.isoformat() if timestamp is not None and timestamp.intact else None,
        intact=intact,
        trusted_as=trusted_as,
        changes=changes,
        changed=changed,
        permitted=permitted,
    )


def _subject(certificate: Any) -> str:
    from cryptography import x509

    try:
        return str(x509.load_der_x509_certificate(certificate.dump()).subject.rfc4514_string())
    except ValueError:
        return str(certificate.subject.human_friendly)


def _provenance(reader: Any, known: KnownDocuments | None) -> Provenance | None:
    """The document's provenance from its information dictionary, compared with the catalogue."""
    try:
        info = reader.trailer_view.get("/Info")
        info = info.get_object() if info is not None else None
        values = {str(k): str(info[k]) for k in info} if info is not None else {}
    except Exception as exc:
        raise PdfInputError(f"unreadable document information ({type(exc).__name__})") from exc
    document, version = values.get("/handoutsdoc", ""), values.get("/handoutsversion", "")
    if not (document and version):
        return None
    fingerprint, lang = values.get("/handoutsfingerprint", ""), values.get("/handoutslang", "")
    if known is None:
        return Provenance(document, version, fingerprint, lang)
    entry = known.get((document, lang))
    if entry is None:
        return Provenance(document, version, fingerprint, lang, "unknown document")
    current, prints = entry
    if current != version:
        return Provenance(document, version, fingerprint, lang, "older version", current)
    return Provenance(
        document,
        version,
        fingerprint,
        lang,
        "current" if fingerprint in prints else "wording differs",
        current,
    )


def worst(results: list[VerifyResult]) -> Status:
    if not results:
        return "valid"
    return max((r.status for r in results), key=SEVERITY_ORDER.index)


def summary(result: VerifyResult) -> str:
    """One line for `screen` and the front desk: "signature valid", or what is wrong."""
    if result.status == "valid":
        filled = any(s.changes == "form filling" for s in result.signatures)
        return "signature valid" + (" (form filled in after signing, as permitted)" if filled else "")
    if result.status == "unsigned":
        return "unsigned"
    if result.status == "unreadable":
        return f"signature unreadable: {result.error}"
    return "TAMPERED: " + "; ".join(result.problems)


def report_lines(result: VerifyResult) -> list[str]:
    """The human lines `verify` prints for one file (what each means is in README)."""
    if result.status == "unreadable":
        return [f"{result.file}: UNREADABLE: {result.error}"]
    lines = [f"{result.file}: {result.status.upper()}"]
    for sig in result.signatures:
        lines.append(f"  signature {sig.field} ({sig.kind}): {'intact' if sig.intact else 'BROKEN'}")
        lines.append(f"    signer: {sig.signer}, SHA-256 {sig.fingerprint}")
        lines.append(
            f"    trusted: {sig.trusted_as or 'NO: neither the project certificate nor in signing.trusted'}"
        )
        when = (
            sig.timestamp
            and f"{sig.timestamp} (time-stamped)"
            or sig.signed_at
            and f"{sig.signed_at} (signer's clock)"
        )
        lines.append(f"    signed: {when or 'no time given'}")
        after = sig.changes if sig.changes != "other" else "OTHER: " + "; ".join(sig.changed)
        allowed = "form filling allowed" if sig.permitted == "form filling" else "no changes allowed"
        lines.append(f"    changed since: {after} ({allowed})")
    if result.status == "unsigned":
        lines.append("  no signature")
    p = result.provenance
    if p is not None:
        where = {
            "current": "matches the catalogue",
            "older version": f"the catalogue is at version {p.current_version}",
            "wording differs": "same version, but the catalogue's wording differs",
            "unknown document": "not in the catalogue",
            "not checked": "catalogue not checked",
        }[p.catalogue]
        lines.append(
            f"  document: {p.document} v{p.version} ({p.lang}), fingerprint {p.fingerprint[:7]}: {where}"
        )
    return lines
