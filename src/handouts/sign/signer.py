"""Sign a PDF with the clinic's identity through pyHanko: one incremental update, PAdES.

pyHanko is imported with this module, so only code that signs pays for it (about 0.3 s).
Two costs are avoided per signature: pyHanko's SimpleSigner parses the private key again for
every signature (a fifth of a second for an RSA key, whose check runs on each load), and it
makes a dummy signature first to size the space it reserves. Here the key loaded once with the
identity signs, and the space is reckoned from the certificates it will carry.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.asymmetric.ec import ECDSA, EllipticCurvePrivateKey
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign import fields, signers, timestamps
from pyhanko.sign.signers.constants import ESIC_EXTENSION_1
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from handouts.errors import OutputError
from handouts.sign.identity import Identity

# Room in the signature's /Contents besides the certificates: the signed attributes, the
# signature value (512 bytes for RSA-4096, 72 for P-256) and CMS framing, with a wide margin.
RESERVE_BASE = 2048
CERTIFICATION_FIELD = "certification"
APPROVAL_FIELD = "approval"


class _LoadedKeySigner(signers.SimpleSigner):
    """pyHanko's SimpleSigner, signing with the key object loaded once with the identity."""

    def __init__(self, identity: Identity) -> None:
        der = identity.key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
        chain = [_asn1_certificate(c) for c in identity.chain]
        super().__init__(
            signing_cert=_asn1_certificate(identity.certificate),
            signing_key=asn1_keys.PrivateKeyInfo.load(der),
            cert_registry=SimpleCertificateStore.from_certs(chain),
        )
        self._key = identity.key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        hash_algorithm = get_pyca_cryptography_hash(digest_algorithm)
        if mechanism == "ecdsa" and isinstance(self._key, EllipticCurvePrivateKey):
            return self._key.sign(data, ECDSA(hash_algorithm))
        if mechanism == "rsassa_pkcs1v15" and isinstance(self._key, RSAPrivateKey):
            return self._key.sign(data, PKCS1v15(), hash_algorithm)
        return super().sign_raw(data, digest_algorithm)  # other key types: pyHanko's own way


def _asn1_certificate(certificate: Any) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(Encoding.DER))


class _MetadataKeepingWriter(IncrementalPdfFileWriter):
    """An incremental writer that leaves the document information and XMP metadata alone.

    pyHanko sets XMP's pdf:Producer to itself but appends itself to the information
    dictionary's /Producer, so a PDF/A record's two would disagree (PDF/A forbids it). Its
    maintainer's advice for leaving metadata alone is to override this method (pyHanko
    issue #223); the record's metadata then stays exactly as `archive` wrote it, and the
    signature carries the signing time.
    """

    def _update_meta(self) -> None:
        return None


class _VersionKeepingPdfSigner(signers.PdfSigner):
    """pyHanko's PdfSigner, declaring only the extension a PAdES signature needs in PDF 1.7.

    pyHanko's extension hook (`register_extensions`) declares ISO/TS 32002 for an ECDSA key
    on the P-256, P-384 or P-521 curve (ours, from `keys init`). That is an extension of
    PDF 2.0, so pyHanko also raises the catalog's /Version to 2.0, which PDF/A-3 (ISO 19005-3
    6.1.2: at most 1.7) and PDF/UA-1, both based on PDF 1.7, do not allow. In a PDF 1.7 file
    a PAdES signature (ETSI.CAdES.detached, with RSA or ECDSA and SHA-256) is declared by
    ETSI's ESIC extension: that is the one declaration made here, as pyHanko makes it
    (a file below 1.7 is raised to 1.7). `load_identity` accepts RSA and EC keys only, so
    nothing needs what only PDF 2.0 declares (EdDSA, SHA-3).
    """

    def register_extensions(self, pdf_out: Any, *, md_algorithm: str) -> None:
        pdf_out.ensure_output_version(version=(1, 7))
        pdf_out.register_extension(ESIC_EXTENSION_1)


_signers: dict[str, _LoadedKeySigner] = {}


def signer_for(identity: Identity) -> _LoadedKeySigner:
    """One signer per identity per process (the web server signs many packets with it)."""
    key = identity.fingerprint
    if key not in _signers:
        _signers.clear()
        _signers[key] = _LoadedKeySigner(identity)
    return _signers[key]


@dataclass(frozen=True)
class SignRequest:
    """What kind of signature to add."""

    field: str
    certify: bool  # a certification (DocMDP, form filling allowed) or an approval signature
    timestamp_url: str | None = None
    keep_metadata: bool = False  # leave /Info and XMP untouched (PDF/A records)


def _field(request: SignRequest) -> fields.SigFieldSpec:
    """The invisible signature field: printable (PDF/A) and its box outside the page (PDF/UA).

    PDF/UA-1 (7.18.1) asks every annotation on the page to be tagged, except hidden ones and
    ones outside the crop box; PDF/A forbids the hidden flag. pyHanko's own setting for a file
    that is both puts the zero-size box at (-9999, -9999) instead of (0, 0), inside the page's
    corner, where the certified packet's widget was the one untagged thing on its first page.
    """
    settings = fields.InvisSigSettings(set_print_flag=True, set_hidden_flag=False, box_out_of_bounds=True)
    return fields.SigFieldSpec(request.field, invis_sig_settings=settings)


def sign(pdf: bytes, identity: Identity, request: SignRequest, password: str | None = None) -> bytes:
    """Return pdf with one more signature, added as an incremental update (password: if encrypted)."""
    meta = signers.PdfSignatureMetadata(
        field_name=request.field,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        certify=request.certify,
        docmdp_permissions=fields.MDPPerm.FILL_FORMS,
    )
    timestamper = (
        timestamps.HTTPTimeStamper(request.timestamp_url, timeout=30) if request.timestamp_url else None
    )
    signer = signer_for(identity)
    # With a time-stamp the token's size is not known in advance: pyHanko asks the
    # authority for a sample and reserves from that.
    reserve = (
        None
        if timestamper
        # pyHanko counts the hex digits of /Contents: two per byte.
        else 2 * (RESERVE_BASE + sum(len(c.dump()) for c in (signer.signing_cert, *signer.cert_registry)))
    )
    try:
        kind = _MetadataKeepingWriter if request.keep_metadata else IncrementalPdfFileWriter
        writer = kind(io.BytesIO(pdf), strict=False)
        if writer.prev.encrypted:
            if not password:
                raise OutputError("the packet is encrypted: certifying it needs its password")
            writer.encrypt(password.encode("utf-8"))
        pdf_signer = _VersionKeepingPdfSigner(
            meta, signer=signer, timestamper=timestamper, new_field_spec=_field(request)
        )
        out = pdf_signer.sign_pdf(writer, bytes_reserved=reserve)
    except timestamps.TimestampRequestError as exc:
        raise OutputError(
            f"signing.timestamp_url: the time-stamp authority did not answer ({exc}); nothing written"
        ) from None
    except (PdfError, ValueError) as exc:
        raise OutputError(f"cannot sign this PDF ({type(exc).__name__}: {exc})") from exc
    return out.getvalue()  # type: ignore[no-any-return]
