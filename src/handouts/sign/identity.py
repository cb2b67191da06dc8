"""The clinic's signing identity: a PKCS#12 file named in handouts.yaml, its password in the environment.

`init_keys` makes a self-signed clinic certificate (a clinic may use one from a CA instead);
`load_identity` opens the configured file; `check_signing` is what `validate` says about it.
Only `cryptography` is used here: pyHanko is imported by the modules that sign or verify.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from handouts.confine import RefusedFile, read_file
from handouts.errors import OutputError, Problem, ProjectError

MAX_KEY_BYTES = 1_000_000  # a .p12 or a certificate is a few KB


class SigningSettings(Protocol):
    """What this module reads of handouts.yaml's `signing:` (models.SigningSettings, or the
    snapshot's copy of it: packets on the fast path do not load pydantic)."""

    @property
    def certificate(self) -> str: ...
    @property
    def password_env(self) -> str: ...
    @property
    def trusted(self) -> tuple[str, ...]: ...
    @property
    def timestamp_url(self) -> str | None: ...


@dataclass(frozen=True)
class SnapshotSigning:
    """The snapshot's copy of the settings (validated when the snapshot was made)."""

    certificate: str
    password_env: str
    trusted: tuple[str, ...] = ()
    timestamp_url: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SnapshotSigning:
        return cls(
            str(data["certificate"]),
            str(data["password_env"]),
            tuple(str(t) for t in data.get("trusted") or ()),
            str(data["timestamp_url"]) if data.get("timestamp_url") else None,
        )


CONFIG = "handouts.yaml"
VALIDITY_DAYS = 3 * 365
EXPIRY_WARNING_DAYS = 60
# Key files must never land where content is shared, built from or committed for review.
FORBIDDEN_FOLDERS = ("content", "templates")
_FINGERPRINT = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Identity:
    """A loaded certificate and its private key (cryptography objects), with the CA chain if any."""

    path: Path
    certificate: Any
    key: Any
    chain: tuple[Any, ...] = ()

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.certificate)

    @property
    def subject(self) -> str:
        return str(self.certificate.subject.rfc4514_string())

    @property
    def not_after(self) -> dt.datetime:
        return self.certificate.not_valid_after_utc  # type: ignore[no-any-return]


@dataclass(frozen=True)
class KeysMade:
    path: Path
    fingerprint: str
    subject: str
    not_after: dt.datetime


def fingerprint(certificate: Any) -> str:
    """SHA-256 of the certificate's DER bytes, lower-case hex (what `verify` prints)."""
    from cryptography.hazmat.primitives.serialization import Encoding

    return hashlib.sha256(certificate.public_bytes(Encoding.DER)).hexdigest()


def spaced(fp: str) -> str:
    """AB:CD:... the way certificate viewers show a fingerprint."""
    return ":".join(fp[i : i + 2] for i in range(0, len(fp), 2)).upper()


def certificate_path(root: Path, settings: SigningSettings) -> Path:
    return root / settings.certificate


def password(settings: SigningSettings, environ: Mapping[str, str] | None = None) -> bytes:
    """The PKCS#12 password from the environment variable the settings name."""
    env = os.environ if environ is None else environ
    value = env.get(settings.password_env)
    if not value:
        raise ProjectError(
            f"{CONFIG}: signing.password_env: the environment variable {settings.password_env} is not set; "
            "set it to the certificate's password"
        )
    return value.encode("utf-8")


def init_keys(
    root: Path,
    settings: SigningSettings,
    clinic: str,
    city: str | None = None,
    environ: Mapping[str, str] | None = None,
    now: dt.datetime | None = None,
) -> KeysMade:
    """Make a self-signed clinic certificate and key at the configured path (never over a file).

    An EC P-256 key: as strong as RSA-3072 for this use, and it loads and signs in well under
    a millisecond, where an RSA key's check on loading costs a fifth of a second.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, Encoding, pkcs12
    from cryptography.x509.oid import NameOID

    path = certificate_path(root, settings)
    refuse_inside_content(root, path)
    if path.exists() or public_path(path).exists():
        taken = path if path.exists() else public_path(path)
        raise ProjectError(
            f"{taken}: exists already; keys init never replaces a certificate "
            "(move it away first if you really mean to make a new one)"
        )
    secret = password(settings, environ)
    start = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    attributes = [
        x509.NameAttribute(NameOID.COMMON_NAME, clinic),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, clinic),
    ]
    if city:
        attributes.append(x509.NameAttribute(NameOID.LOCALITY_NAME, city))
    name = x509.Name(attributes)
    key = ec.generate_private_key(ec.SECP256R1())
    usage = x509.KeyUsage(
        digital_signature=True, content_commitment=True, key_encipherment=False, data_encipherment=False,
        key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False,
    )  # fmt: skip
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - dt.timedelta(minutes=5))
        .not_valid_after(start + dt.timedelta(days=VALIDITY_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    data = pkcs12.serialize_key_and_certificates(
        clinic.encode("utf-8"), key, certificate, None, BestAvailableEncryption(secret)
    )
    _write_new(path, data, 0o600)
    # The certificate alone, for auditors and for `verify` without the password.
    _write_new(public_path(path), certificate.public_bytes(Encoding.PEM), 0o644)
    return KeysMade(
        path, fingerprint(certificate), certificate.subject.rfc4514_string(), certificate.not_valid_after_utc
    )


def public_path(p12: Path) -> Path:
    """keys/clinic.p12 -> keys/clinic.crt: the certificate without its key (PEM)."""
    return p12.with_suffix(".crt")


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Write a file readable by its owner only; fail if the name is taken, even in a race."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    except OSError as exc:
        raise OutputError(f"{path.parent}: cannot write here: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.link(tmp, path)  # unlike a rename, never replaces an existing file
    except FileExistsError:
        raise ProjectError(f"{path}: exists already; keys init never replaces a certificate") from None
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {exc.strerror}") from exc
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def refuse_inside_content(root: Path, path: Path) -> None:
    """A key file under content/ or templates/ would be copied, committed and shared with them."""
    resolved = path.resolve()
    for folder in FORBIDDEN_FOLDERS:
        if resolved.is_relative_to((root / folder).resolve()):
            shown = path.relative_to(root) if path.is_relative_to(root) else path
            raise ProjectError(
                f"{CONFIG}: signing.certificate: {shown} "
                f"is inside {folder}/; keep the key outside content/ and templates/ (e.g. keys/clinic.p12)"
            )


def load_identity(
    root: Path, settings: SigningSettings, environ: Mapping[str, str] | None = None
) -> Identity:
    """Open the configured PKCS#12 file (kept loaded per process while the file is unchanged)."""
    path = certificate_path(root, settings)
    refuse_inside_content(root, path)
    secret = password(settings, environ)
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise ProjectError(
            f"{path}: no such certificate (signing.certificate); make one with `handouts keys init`"
        ) from None
    except OSError as exc:
        raise ProjectError(f"{path}: cannot read: {exc.strerror}") from exc
    cache_key = (str(path), stat.st_mtime_ns, stat.st_size, hashlib.sha256(secret).digest())
    if cache_key not in _loaded:
        # A replaced file or a new password loads anew; a server signs many packets with one load.
        _loaded.clear()
        _loaded[cache_key] = _load(path, secret)
    return _loaded[cache_key]


_loaded: dict[tuple[str, int, int, bytes], Identity] = {}


def _load(path: Path, secret: bytes) -> Identity:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.serialization import pkcs12

    data = read_file(path, None, str(path), MAX_KEY_BYTES)  # regular, stat-first, bounded
    try:
        key, certificate, extra = pkcs12.load_key_and_certificates(data, secret)
    except ValueError:
        raise ProjectError(f"{path}: cannot open: wrong password, or not a PKCS#12 (.p12) file") from None
    if key is None or certificate is None:
        raise ProjectError(f"{path}: holds no private key and certificate; export both into the .p12 file")
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        # An EdDSA (or DSA) signature is declared only in PDF 2.0, and the sealed records stay
        # PDF/A-3, which is PDF 1.7 (see signer.py).
        raise ProjectError(
            f"{path}: its key is not RSA or EC; signatures in PDF/A-3 records need one of those"
        )
    return Identity(path, certificate, key, tuple(extra))


def load_certificate_file(path: Path) -> Any:
    """A certificate in PEM or DER form (for `signing.trusted`)."""
    from cryptography import x509

    try:
        data = read_file(path, None, str(path), MAX_KEY_BYTES)
    except RefusedFile as exc:
        raise ProjectError(f"{path}: {exc.reason} (signing.trusted)") from None
    try:
        return (
            x509.load_pem_x509_certificate(data)
            if b"-----BEGIN" in data
            else x509.load_der_x509_certificate(data)
        )
    except ValueError:
        raise ProjectError(f"{path}: not a certificate (signing.trusted); give a PEM or DER file") from None


@dataclass(frozen=True)
class Trust:
    """Whom `verify` accepts: the project's certificate, and what `signing.trusted` lists."""

    fingerprints: frozenset[str]
    certificates: tuple[Any, ...]  # also trust anchors for certificates a CA issued
    own: str | None  # the project's own certificate's fingerprint


def trust(root: Path, settings: SigningSettings | None, own: Identity | None = None) -> Trust:
    """The trusted signers; the project's own certificate is read without its key if need be."""
    fingerprints: set[str] = set()
    certificates: list[Any] = []
    own_fp = None
    if own is not None:
        own_fp = own.fingerprint
        certificates.append(own.certificate)
    elif settings is not None:
        public = _public_certificate(certificate_path(root, settings))
        if public is not None:
            own_fp = fingerprint(public)
            certificates.append(public)
    if own_fp:
        fingerprints.add(own_fp)
    for entry in settings.trusted if settings else ():
        text = entry.replace(":", "").lower()
        if _FINGERPRINT.fullmatch(text):
            fingerprints.add(text)
            continue
        certificate = load_certificate_file(root / entry)
        certificates.append(certificate)
        fingerprints.add(fingerprint(certificate))
    return Trust(frozenset(fingerprints), tuple(certificates), own_fp)


def _public_certificate(path: Path) -> Any:
    """The project's certificate without its password: the .crt beside the .p12 (keys init
    writes it), or the .p12's own certificate when that is stored unencrypted."""
    from cryptography.hazmat.primitives.serialization import pkcs12

    if public_path(path).is_file():
        return load_certificate_file(public_path(path))
    try:
        loaded = pkcs12.load_pkcs12(read_file(path, None, str(path), MAX_KEY_BYTES), None)
    except (ProjectError, ValueError):
        return None
    return loaded.cert.certificate if loaded.cert is not None else None


def check_signing(
    root: Path,
    settings: SigningSettings,
    environ: Mapping[str, str] | None = None,
    today: dt.date | None = None,
) -> list[Problem]:
    """What `validate` says: errors for a key inside content/ or templates/, warnings before expiry."""
    path = certificate_path(root, settings)
    try:
        refuse_inside_content(root, path)
    except ProjectError as exc:
        return [Problem(CONFIG, None, str(exc).removeprefix(f"{CONFIG}: "))]
    problems = []
    for entry in settings.trusted:
        if not _FINGERPRINT.fullmatch(entry.replace(":", "").lower()) and not (root / entry).is_file():
            problems.append(
                Problem(CONFIG, None, f"signing.trusted: {entry} is neither a file nor a SHA-256 fingerprint")
            )
    if not path.exists():
        return problems + [
            Problem(CONFIG, None, f"signing.certificate: {settings.certificate} does not exist yet; "
                    "make it with `handouts keys init`", warning=True)
        ]  # fmt: skip
    try:
        identity = load_identity(root, settings, environ)
    except ProjectError as exc:
        return problems + [Problem(CONFIG, None, str(exc), warning=True)]
    day = today or dt.date.today()
    left = (identity.not_after.date() - day).days
    if left < 0:
        problems.append(Problem(CONFIG, None, f"signing.certificate: expired on {identity.not_after.date()}; "
                                "make or obtain a new one", warning=True))  # fmt: skip
    elif left <= EXPIRY_WARNING_DAYS:
        problems.append(Problem(CONFIG, None, f"signing.certificate: expires on {identity.not_after.date()} "
                                f"(in {left} days); renew it soon", warning=True))  # fmt: skip
    return problems
