"""Typed, frozen models of the project settings, brands and content; unknown keys are errors."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    InstanceOf,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

# The register's settings have their own parser (stdlib only): a packet reads them without
# loading this model. No circle: that module imports nothing of handouts at its top but errors.
from handouts.register.settings import RegisterSettings, SettingsProblem, parse_settings


@dataclass(frozen=True)
class Write:
    """How to write a value of a type, as error messages say it (content/explain.py)."""

    how: str


SLUG_CHARS = r"^[a-z0-9]+(-[a-z0-9]+)*$"

Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000), Write("some text")
]
Short = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), Write("a short text")
]
Slug = Annotated[
    str,
    StringConstraints(pattern=SLUG_CHARS, max_length=64),
    Write("lowercase letters, digits and hyphens, e.g. dry-needling-info"),
]
Lang = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$"),
    Write("a language code such as en, fr or fr-CA"),
]
Version = Annotated[
    str, StringConstraints(pattern=r"^\d+\.\d+(\.\d+)?$"), Write('a version in quotes, e.g. "1.0" or "2.1.3"')
]
HexColor = Annotated[
    str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$"), Write('a colour as "#0b5d7a", in quotes')
]
# Font names go into CSS, so only characters that cannot end a CSS string or rule.
FontName = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9 \-]{0,62}$"),
    Write("a font family name of letters, digits, spaces and hyphens, e.g. Open Sans"),
]
Day = Annotated[dt.date, Write("a date as YYYY-MM-DD, e.g. 2026-11-01")]
EnvName = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"),
    Write("the name of an environment variable, e.g. HANDOUTS_SMTP_PASSWORD"),
]
Severity = Literal["do-not-treat", "check-with-therapist"]
MAX_KEY_POINTS = 3
KEY_POINT_CHARS = 100
# `validate` warns this many days before a document's review_by date.
REVIEW_WARN_DAYS = 60
DocumentKind = Literal["info", "aftercare", "consent"]


class Model(BaseModel):
    """Base of every model: immutable, strict about unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class SmtpSettings(Model):
    """How to send email (handouts.yaml `smtp:`); the password only ever comes from the environment."""

    host: Short
    port: int | None = Field(default=None, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: Short | None = None
    password_env: EnvName | None = None
    sender: Short = Field(alias="from")
    timeout: float = Field(default=30, gt=0, le=600)
    # Only there to refuse it with a helpful message (and the line it is on).
    password: None = Field(default=None, exclude=True, repr=False)

    @field_validator("password", mode="before")
    @classmethod
    def _no_password(cls, value: Any) -> None:
        raise ValueError(
            "remove it: never write the password in handouts.yaml; put it in an environment "
            "variable and give that variable's name as 'password_env'"
        )

    @field_validator("sender")
    @classmethod
    def _address(cls, value: str) -> str:
        local, _, domain = value.partition("@")
        if not local or "." not in domain or any(c.isspace() or c in '<>,;"@' for c in local + domain):
            raise ValueError("write a plain email address, e.g. clinic@example.org")
        return value

    @model_validator(mode="after")
    def _login_pair(self) -> SmtpSettings:
        if bool(self.username) != bool(self.password_env):
            raise ValueError("give both 'username' and 'password_env' to log in, or neither")
        return self

    @property
    def effective_port(self) -> int:
        return self.port or {"ssl": 465, "starttls": 587, "none": 25}[self.security]


# CUPS refuses queue names with spaces, '/', '\\', '#', quotes or '?' (lpadmin -p), and
# longer than 127 bytes; refusing them here gives the error a line in handouts.yaml.
PrinterName = Annotated[str, StringConstraints(pattern=r"^[^\s/\\#'\"?]{1,127}$")]
# CUPS media names: A4, Letter, na_letter_8.5x11in, iso_a4_210x297mm, A4.Borderless, ...
MediaName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")]
Sides = Literal["one-sided", "two-sided-long-edge", "two-sided-short-edge"]
MAX_COPIES = 100


class JobOptions(Model):
    """What a print job asks of the printer; None leaves the queue's own default."""

    sides: Sides | None = None
    media: MediaName | None = None
    copies: int | None = Field(default=None, ge=1, le=MAX_COPIES)

    def over(self, base: JobOptions) -> JobOptions:
        """These options, with base's where these leave one unset."""
        return JobOptions(
            sides=self.sides or base.sides,
            media=self.media or base.media,
            copies=self.copies or base.copies,
        )

    def lp_args(self) -> list[str]:
        """The options as arguments of CUPS's `lp`."""
        args: list[str] = []
        if self.copies is not None:
            args += ["-n", str(self.copies)]
        if self.sides is not None:
            args += ["-o", f"sides={self.sides}"]
        if self.media is not None:
            args += ["-o", f"media={self.media}"]
        return args


class PrintSettings(JobOptions):
    """handouts.yaml `printing:`; every key optional, so `printing: {}` means the default queue."""

    printer: PrinterName | None = None  # None: the system's default destination
    # A large-print packet may ask for other paper or one-sided printing.
    large_print: JobOptions | None = None

    def options(self, large_print: bool = False, copies: int | None = None) -> JobOptions:
        """The job options for one packet (copies from the command line win)."""
        base = JobOptions(sides=self.sides, media=self.media, copies=self.copies)
        chosen = self.large_print.over(base) if large_print and self.large_print else base
        return chosen if copies is None else chosen.model_copy(update={"copies": copies})


class ServeSettings(Model):
    """How `handouts serve` listens (handouts.yaml `serve:`); command-line options win."""

    host: Short | None = None
    port: int | None = Field(default=None, ge=0, le=65535)
    tls_cert: Short | None = None  # PEM files, relative to the project folder
    tls_key: Short | None = None
    behind_proxy: bool = False
    login: bool = False  # a login on loopback too

    @model_validator(mode="after")
    def _tls_pair(self) -> ServeSettings:
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ValueError("give both 'tls_cert' and 'tls_key', or neither")
        return self


class SigningSettings(Model):
    """The clinic's signing identity (handouts.yaml `signing:`); its password only from the environment."""

    # A PKCS#12 file (.p12 / .pfx), relative to the project folder.
    certificate: Short
    password_env: EnvName
    # An RFC 3161 time-stamp authority: records then carry a trusted time (PAdES B-T).
    timestamp_url: (
        Annotated[
            str,
            StringConstraints(pattern=r"^https?://[^\s]+$", max_length=500),
            Write("the time-stamp authority's web address, e.g. https://tsa.example.org/"),
        ]
        | None
    ) = None
    # Other signers `verify` accepts: certificate files (PEM or DER, relative to the project
    # folder) or SHA-256 fingerprints (an earlier clinic certificate, the clinic's CA).
    trusted: tuple[Short, ...] = ()
    # Only there to refuse it with a helpful message (and the line it is on).
    password: None = Field(default=None, exclude=True, repr=False)

    @field_validator("password", mode="before")
    @classmethod
    def _no_password(cls, value: Any) -> None:
        raise ValueError(
            "remove it: never write the certificate's password in handouts.yaml; put it in an "
            "environment variable and give that variable's name as 'password_env'"
        )


# A theme is named by its entry point (handouts.themes); the name is also looked up by package tools.
ThemeName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]


class ProjectConfig(Model):
    """Settings from handouts.yaml at the project root (every key optional)."""

    default_language: Lang = "en"
    # The languages to build; default: every language with a message catalogue (project or package).
    languages: tuple[Lang, ...] | None = Field(default=None, min_length=1)
    # The brand packets, the front desk and `render` use when none is chosen; without it a
    # project with several brands makes the user choose (never a silent pick of the first).
    default_brand: Slug | None = None
    out: Short = "out"
    # The theme (templates, stylesheets, fonts) under the project's own templates/.
    theme: ThemeName = "default"
    # False: only the project's own documents, none of the package's starter documents.
    starter_documents: bool = True
    smtp: SmtpSettings | None = None
    printing: PrintSettings | None = None
    serve: ServeSettings | None = None
    signing: SigningSettings | None = None
    # Checked by the register's own parser, which packets use without loading this model.
    # (`register` itself is taken: pydantic's models are ABCs, and ABCs have a register method.)
    register_settings: InstanceOf[RegisterSettings] = Field(
        default_factory=RegisterSettings, alias="register"
    )

    @field_validator("register_settings", mode="before")
    @classmethod
    def _register(cls, value: Any) -> RegisterSettings:
        try:
            return parse_settings(value)
        except SettingsProblem as exc:
            raise ValueError(str(exc).removeprefix("register: ").removeprefix("register.")) from None

    @model_validator(mode="after")
    def _default_is_built(self) -> ProjectConfig:
        if self.languages is not None:
            if len(set(self.languages)) != len(self.languages):
                raise ValueError("'languages' lists a language twice")
            if self.default_language not in self.languages:
                raise ValueError(f"'languages' must include the default language '{self.default_language}'")
        return self


class Colors(Model):
    primary: HexColor
    accent: HexColor


class Brand(Model):
    """A clinic's identity: the fields a layout may show; absent ones are left out."""

    name: Short
    city: Short | None = None
    address: Short | None = None
    phone: Short | None = None
    email: Short | None = None
    website: Short | None = None
    logo: Short | None = None
    logo_alt: Short | None = None
    colors: Colors
    font: FontName = "Open Sans"
    page_size: Literal["letter", "a4"] = "letter"
    # Where patients send comments on a leaflet (an address, a phone number or a web page);
    # printed after the leaflet's record. Absent: no feedback line (never an invented one).
    feedback: Short | None = None

    @model_validator(mode="after")
    def _logo_needs_alt(self) -> Brand:
        if self.logo and not self.logo_alt:
            raise ValueError("'logo_alt' is required with 'logo': add what a screen reader says for the logo")
        return self


class Step(Model):
    title: Short
    text: Text


class Section(Model):
    """A titled block of a document; at least one kind of content is required."""

    heading: Short
    paragraphs: tuple[Text, ...] = ()
    bullets: tuple[Text, ...] = ()
    steps: tuple[Step, ...] = ()
    # Blank ruled lines for the therapist to write on the printed sheet.
    write_in_lines: int = Field(default=0, ge=0, le=30)
    # List the shared contraindication labels here (info sheet).
    contraindications: bool = False
    urgent: bool = False

    @model_validator(mode="after")
    def _not_empty(self) -> Section:
        if not (
            self.paragraphs or self.bullets or self.steps or self.write_in_lines or self.contraindications
        ):
            raise ValueError("is empty: give it paragraphs, bullets or steps")
        return self


Link = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^https?://[^\s]+$", max_length=500),
    Write("a web address starting with https://, e.g. https://www.example.org/guide"),
]
KeyPoint = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=KEY_POINT_CHARS),
    Write(f"one short line of at most {KEY_POINT_CHARS} characters"),
]


class SourceRef(Model):
    """What a document's facts rest on: a title, and a link where one exists."""

    title: Short
    url: Link | None = None


class DocumentBase(Model):
    id: Slug
    title: Short
    version: Version
    effective: Day
    # The leaflet's own record (issue 17): every document carries it, a draft too.
    # When the wording is next due for review (`validate` warns REVIEW_WARN_DAYS before).
    review_by: Day
    # The role of the clinician who approved the wording ("Clinical lead"); empty: a draft.
    approved_by: Short | None
    # `- title: ...` with `url: ...` where the source has a link, or just `- Title`.
    sources: tuple[SourceRef, ...] = Field(min_length=1)
    summary: Text | None = None
    # For a translation: the version of the default-language document it translates
    # (absent: its own version).
    translates: Version | None = None
    # The document a kind (`info`, `consent`, `aftercare`) means in packets when the
    # catalogue has several of that kind; set in the default language's file.
    default: bool = False

    @field_validator("review_by")
    @classmethod
    def _after_effective(cls, value: dt.date, info: ValidationInfo) -> dt.date:
        effective = info.data.get("effective")
        if isinstance(effective, dt.date) and value <= effective:
            raise ValueError(
                "the review date must come after the date the wording takes effect "
                f"({effective.isoformat()}): write a later date, e.g. a year after it"
            )
        return value

    @field_validator("sources", mode="before")
    @classmethod
    def _title_only(cls, value: Any) -> Any:
        # `- Title of the page` is a source without a link.
        if isinstance(value, list):
            return [{"title": item} if isinstance(item, str) else item for item in value]
        return value

    @field_validator("approved_by", mode="before")
    @classmethod
    def _empty_is_draft(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def draft(self) -> bool:
        """Not yet approved by a clinician (approved_by left empty)."""
        return self.approved_by is None


class SheetBase(DocumentBase):
    """Info and aftercare sheets: sections in order, and the main message first."""

    # Up to three short lines shown under the title, in a box.
    key_points: tuple[KeyPoint, ...] = Field(default=(), max_length=MAX_KEY_POINTS)
    sections: tuple[Section, ...] = Field(min_length=1)


class InfoDocument(SheetBase):
    kind: Literal["info"]


class AftercareDocument(SheetBase):
    kind: Literal["aftercare"]


class ConsentSections(Model):
    """The parts an informed consent must have; each is required and non-empty."""

    treatment: Section
    benefits: Section
    risks: Section
    alternatives: Section
    questions: Section
    withdrawal: Section


class Checklist(Model):
    heading: Short
    intro: Text


class Signatures(Model):
    statement: Text
    witness: bool = True


class ConsentDocument(DocumentBase):
    kind: Literal["consent"]
    sections: ConsentSections
    checklist: Checklist
    signatures: Signatures


Document = InfoDocument | AftercareDocument | ConsentDocument

DOCUMENT_MODELS: dict[str, type[DocumentBase]] = {
    "info": InfoDocument,
    "aftercare": AftercareDocument,
    "consent": ConsentDocument,
}


class Contraindication(Model):
    id: Slug
    label: Short
    question: Text
    severity: Severity
    therapist_note: Text


class ContraindicationList(Model):
    version: Version
    items: tuple[Contraindication, ...] = Field(min_length=1)

    @field_validator("items")
    @classmethod
    def _unique_ids(cls, items: tuple[Contraindication, ...]) -> tuple[Contraindication, ...]:
        seen: set[str] = set()
        for item in items:
            if item.id in seen:
                raise ValueError(f"the id '{item.id}' is used twice: give each item its own id")
            seen.add(item.id)
        return items
