"""Typed, frozen models of the project settings, brands and content; unknown keys are errors."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=64)]
Lang = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$")]
Version = Annotated[str, StringConstraints(pattern=r"^\d+\.\d+(\.\d+)?$")]
HexColor = Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")]
# Font names go into CSS, so only characters that cannot end a CSS string or rule.
FontName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9 \-]{0,62}$")]
Severity = Literal["do-not-treat", "check-with-therapist"]
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
    password_env: Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")] | None = None
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
            raise ValueError("'from' must be a plain email address, e.g. clinic@example.org")
        return value

    @model_validator(mode="after")
    def _login_pair(self) -> SmtpSettings:
        if bool(self.username) != bool(self.password_env):
            raise ValueError("give both 'username' and 'password_env' to log in, or neither")
        return self

    @property
    def effective_port(self) -> int:
        return self.port or {"ssl": 465, "starttls": 587, "none": 25}[self.security]


EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]


class SigningSettings(Model):
    """The clinic's signing identity (handouts.yaml `signing:`); its password only from the environment."""

    # A PKCS#12 file (.p12 / .pfx), relative to the project folder.
    certificate: Short
    password_env: EnvName
    # An RFC 3161 time-stamp authority: records then carry a trusted time (PAdES B-T).
    timestamp_url: Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$", max_length=500)] | None = (
        None
    )
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
    out: Short = "out"
    # The theme (templates, stylesheets, fonts) under the project's own templates/.
    theme: ThemeName = "default"
    # False: only the project's own documents, none of the package's starter documents.
    starter_documents: bool = True
    smtp: SmtpSettings | None = None
    signing: SigningSettings | None = None

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

    @model_validator(mode="after")
    def _logo_needs_alt(self) -> Brand:
        if self.logo and not self.logo_alt:
            raise ValueError("'logo_alt' is required with 'logo' (text a screen reader says)")
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
            raise ValueError("section is empty: give it paragraphs, bullets or steps")
        return self


class DocumentBase(Model):
    id: Slug
    title: Short
    version: Version
    effective: dt.date
    summary: Text | None = None
    # For a translation: the version of the default-language document it translates.
    translates: Version | None = None


class InfoDocument(DocumentBase):
    kind: Literal["info"]
    sections: tuple[Section, ...] = Field(min_length=1)


class AftercareDocument(DocumentBase):
    kind: Literal["aftercare"]
    sections: tuple[Section, ...] = Field(min_length=1)


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

    @model_validator(mode="after")
    def _unique_ids(self) -> ContraindicationList:
        seen: set[str] = set()
        for item in self.items:
            if item.id in seen:
                raise ValueError(f"contraindication id '{item.id}' is used twice")
            seen.add(item.id)
        return self
