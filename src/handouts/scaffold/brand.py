"""A clinic's brand file: its id (a safe file name) and its YAML, checked before anything is written."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from handouts.content.brandcheck import COLOUR_USES, PAGE_BACKGROUND, contrast
from handouts.content.models import SLUG_CHARS
from handouts.errors import HandoutsError, InputErrors, UsageError
from handouts.scaffold.logo import Logo, read_logo

# A brand or document id is a file name on every system: lower-case letters, digits, single hyphens.
ID = re.compile(SLUG_CHARS)
MAX_ID = 64
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
DEFAULT_PRIMARY = "#0b5d7a"
DEFAULT_ACCENT = "#b5542a"
PAGE_SIZES = ("letter", "a4")
# Option (field) name -> the brand file's key.
OPTIONAL = {"city": "city", "address": "address", "phone": "phone", "email": "email", "website": "website"}
MAX_TEXT = 200  # as the brand model's short texts


@dataclass(frozen=True)
class BrandDetails:
    """What a person gave for a clinic; every field but the name may be left out."""

    clinic: str
    city: str | None = None
    address: str | None = None
    phone: str | None = None
    email: str | None = None
    website: str | None = None
    logo: Path | None = None
    primary: str = DEFAULT_PRIMARY
    accent: str = DEFAULT_ACCENT
    page_size: str = "letter"


@dataclass(frozen=True)
class CheckedBrand:
    """A brand ready to write: its id, its file's text and its logo (if any)."""

    id: str
    text: str
    logo: Logo | None

    @property
    def file_name(self) -> str:
        return f"{self.id}.yaml"

    @property
    def logo_name(self) -> str | None:
        return f"{self.id}-logo{self.logo.suffix}" if self.logo is not None else None


def check_id(value: str, noun: str = "id", field: str | None = None) -> str:
    """Return value when it is a safe file name (lower-case letters, digits, hyphens), else raise.

    field: the option the id came from (None: the command's ID argument).
    """
    if not ID.match(value) or len(value) > MAX_ID:
        message = (
            "{noun} '{value}' cannot be a file name; use lower-case letters, digits and single "
            "hyphens (at most {limit} characters), e.g. 'riverside-physio'"
        )
        raise UsageError(
            message if field is None else "{field}: " + message,
            field=field,
            code="bad-id",
            noun=noun,
            value=value,
            limit=MAX_ID,
        )
    return value


def id_from_name(name: str) -> str:
    """The brand id a clinic's name gives ("Café Santé Physio" -> "cafe-sante-physio"); raise if none."""
    ascii_text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:MAX_ID].rstrip("-")
    if not slug:
        raise UsageError(
            "{field}: the clinic name '{value}' gives no file name (no letters or digits from a-z, 0-9); "
            "give the brand an id with {id}",
            field="clinic",
            code="bad-id",
            value=name,
        )
    return slug


def check_brand(
    details: BrandDetails, brand_id: str | None = None, id_field: str | None = "id"
) -> CheckedBrand:
    """Check every value (all problems at once, InputErrors) and return the brand file's text.

    id_field: the option brand_id came from (None: a command's ID argument).
    """
    problems: list[HandoutsError] = []

    def text(field: str, value: str | None, required: bool = False) -> str | None:
        cleaned = " ".join((value or "").split())
        if not cleaned:
            if required:
                problems.append(
                    UsageError("{field} is required: the clinic's name", field=field, code="empty")
                )
            return None
        if len(cleaned) > MAX_TEXT:
            problems.append(
                UsageError(
                    "{field} is longer than {limit} characters", field=field, code="long", limit=MAX_TEXT
                )
            )
        return cleaned

    name = text("clinic", details.clinic, required=True)
    fields = {key: text(option, getattr(details, option)) for option, key in OPTIONAL.items()}
    if fields["email"]:
        from handouts.mail.compose import check_address

        try:
            check_address(fields["email"])
        except HandoutsError as exc:
            problems.append(exc)
    for field in ("primary", "accent"):
        value = getattr(details, field)
        if not COLOUR.match(value):
            problems.append(
                UsageError(
                    "{field} must be a colour written #rrggbb (like {example}), not '{value}'",
                    field=field,
                    code="bad-colour",
                    example=DEFAULT_PRIMARY,
                    value=value,
                )
            )
            continue
        # The rule `validate` applies to brand colours (they colour text on the white page).
        use, needed = COLOUR_USES[field]
        ratio = contrast(value, PAGE_BACKGROUND)
        if ratio < needed:
            problems.append(
                UsageError(
                    "{field}: {value} on the white page has a contrast of {ratio}:1; {use} need at least "
                    "{needed}:1 (WCAG AA): choose a darker colour",
                    field=field,
                    code="low-contrast",
                    value=value,
                    ratio=f"{ratio:.1f}",
                    use=use,
                    needed=needed,
                )
            )
    if details.page_size not in PAGE_SIZES:
        problems.append(UsageError("{field} must be letter or a4", field="page_size", code="bad-choice"))
    ident = None
    try:
        ident = (
            check_id(brand_id, "brand id", id_field) if brand_id else (id_from_name(name) if name else None)
        )
    except HandoutsError as exc:
        problems.append(exc)
    logo = None
    if details.logo is not None:
        try:
            logo = read_logo(details.logo)
        except HandoutsError as exc:
            problems.append(exc)
    if problems:
        raise InputErrors(problems)
    assert name is not None and ident is not None
    logo_name = f"{ident}-logo{logo.suffix}" if logo is not None else None
    return CheckedBrand(ident, brand_yaml(name, fields, details, logo_name), logo)


def _scalar(value: str) -> str:
    """A YAML double-quoted scalar (a JSON string is one): any text stays text."""
    return json.dumps(value, ensure_ascii=False)


def brand_yaml(name: str, fields: dict[str, str | None], details: BrandDetails, logo_name: str | None) -> str:
    """The brand file: the given fields, the others commented out for the clinic to fill in later."""
    lines = [
        f"# {name}: the clinic's details as its documents print them. A field left out is left out of",
        "# the layout. `handouts validate` checks this file; `handouts build` rebuilds what it changes.",
        f"name: {_scalar(name)}",
    ]
    for key in OPTIONAL.values():
        value = fields[key]
        lines.append(f"{key}: {_scalar(value)}" if value else f"# {key}:")
    if logo_name is not None:
        lines += [
            f"logo: assets/{logo_name}",
            f"logo_alt: {_scalar(name + ' logo')}   # what a screen reader says: describe the logo",
        ]
    else:
        lines += ["# logo: assets/logo.svg      # an SVG, PNG or JPEG below content/", "# logo_alt:"]
    lines += [
        "colors:",
        f'  primary: "{details.primary}"',
        f'  accent: "{details.accent}"',
        "# font: Open Sans            # an installed font family",
        f"page_size: {details.page_size}",
    ]
    return "\n".join(lines) + "\n"
