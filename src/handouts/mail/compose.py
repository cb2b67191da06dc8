"""Compose a packet's email from templates/email/ (sandboxed Jinja) and write it as an .eml file.

Templates are looked up per file, first match wins (each through the project's layers: the
project's file, else its theme's, else the built-in theme's):
templates/email/<brand>/<lang>/, templates/email/<lang>/, then the same two for the default
language. Each of subject.txt.j2, body.txt.j2 and body.html.j2 is needed; only the HTML one
is autoescaped. The context holds the clinic's details, the appointment date and the document
titles: no patient name, so a message sent to a wrong address says little.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from email.message import EmailMessage
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from handouts.atomic import atomic_write
from handouts.dates import format_date, full_date
from handouts.errors import ProjectError, RenderError, UsageError
from handouts.layers import Layers

if TYPE_CHECKING:
    from jinja2.sandbox import SandboxedEnvironment

    from handouts.content.catalogue import Catalogue

log = logging.getLogger(__name__)

EMAIL_DIR = "email"
PARTS = ("subject.txt.j2", "body.txt.j2", "body.html.j2")
# The From of a dry run when neither smtp.from nor the brand gives one (.invalid never resolves).
PLACEHOLDER_SENDER = "sender@example.invalid"
# Plain ASCII addresses only: an SMTPUTF8 address would fail at many clinics' servers.
ADDRESS = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)


@dataclass(frozen=True)
class Letter:
    """What a packet's email is about, apart from who it goes to."""

    file_name: str
    pdf: bytes
    brand: str
    lang: str
    documents: tuple[str, ...]
    date: dt.date | None
    fillable: bool
    # For the consent register only, never in the message: the packet's id and chart number.
    packet_id: str = ""
    patient_ref: str | None = None


def check_address(value: str | None) -> str:
    """Return the address stripped, or raise UsageError (without repeating it: it is patient data)."""
    text = (value or "").strip()
    if not text:
        raise UsageError("{field}: no email address given", field="email", code="empty")
    if len(text) > 254 or not ADDRESS.match(text):
        raise UsageError(
            "{field} is not a valid email address (like name@example.org, without a name or <>)",
            field="email",
            code="invalid",
        )
    return text


def sender_for(cat: Catalogue, brand_id: str) -> str:
    """The From address: smtp.from; for an .eml dry run without settings, the brand's email."""
    if cat.config.smtp is not None:
        return cat.config.smtp.sender
    brand = cat.brands[brand_id].model
    if brand.email and ADDRESS.match(brand.email):
        return brand.email
    return PLACEHOLDER_SENDER


def find_templates(layers: Layers, brand: str, lang: str, default_lang: str) -> dict[str, str]:
    """Map each part to the template name (relative to templates/email/) that serves it.

    Each name is looked up through the layers: a project's `templates/email/en/subject.txt.j2`
    replaces the theme's subject and nothing else.
    """
    folders = [f"{brand}/{lang}", lang, f"{brand}/{default_lang}", default_lang]
    found: dict[str, str] = {}
    for part in PARTS:
        for folder in dict.fromkeys(folders):
            if layers.find(f"templates/{EMAIL_DIR}/{folder}/{part}") is not None:
                found[part] = f"{folder}/{part}"
                if lang != default_lang and folder.rsplit("/", 1)[-1] != lang:
                    _fell_back(lang, part, default_lang)
                break
        else:
            looked = ", ".join(f"templates/{EMAIL_DIR}/{f}/" for f in dict.fromkeys(folders))
            raise ProjectError(f"email template {part} not found; looked in {looked}")
    return found


_WARNED: set[tuple[str, str]] = set()


def _fell_back(lang: str, part: str, default_lang: str) -> None:
    """Say once per process that a language's message borrows the default language's template."""
    if (lang, part) not in _WARNED:
        _WARNED.add((lang, part))
        log.warning(
            "templates/%s/%s/ has no %s: %s messages use the %s one; add a translated copy",
            EMAIL_DIR, lang, part, lang, default_lang,
        )  # fmt: skip


def check_templates(cat: Catalogue) -> None:
    """Compile the default language's templates, so a typo stops a batch before it starts."""
    env = _environment(cat.layers)
    default = cat.config.default_language
    for brand in sorted(cat.brands):
        for name in find_templates(cat.layers, brand, default, default).values():
            _compile(env, name)


def compose(cat: Catalogue, letter: Letter, recipient: str, sender: str) -> EmailMessage:
    """The message: text and HTML alternatives from the templates, the packet attached."""
    from email.headerregistry import Address
    from email.utils import formatdate, make_msgid

    brand = cat.brands[letter.brand].model
    names = find_templates(cat.layers, letter.brand, letter.lang, cat.config.default_language)
    env = _environment(cat.layers)
    has_consent = any(cat.document(d, letter.lang).model.kind == "consent" for d in letter.documents)
    context: dict[str, Any] = {
        "brand": {
            "name": brand.name,
            "city": brand.city,
            "phone": brand.phone,
            "email": brand.email,
            "website": brand.website,
        },
        "lang": letter.lang,
        "date": full_date(letter.date, letter.lang) if letter.date else None,
        "long_date": format_date(letter.date, letter.lang) if letter.date else None,
        "documents": [cat.document(d, letter.lang).model.title for d in letter.documents],
        "consent": has_consent,
        "fillable": letter.fillable and has_consent,
        "file_name": letter.file_name,
    }
    text = {part: _render(env, name, context) for part, name in names.items()}
    subject = " ".join(text["subject.txt.j2"].split())
    if not subject:
        raise RenderError(f"templates/{EMAIL_DIR}/{names['subject.txt.j2']}: the subject is empty")
    from email import policy

    # Folding a subject at 78 columns right before a non-ASCII word doubles a space in every
    # mail program (a CPython quirk); RFC 5322 allows lines up to 998 characters.
    msg = EmailMessage(policy=policy.SMTP.clone(max_line_length=998))
    msg["Subject"] = subject
    msg["From"] = Address(display_name=" ".join(brand.name.split()), addr_spec=sender)
    msg["To"] = recipient
    if brand.email and ADDRESS.match(brand.email) and brand.email != sender:
        msg["Reply-To"] = brand.email
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    # Optional paragraphs leave runs of blank lines behind; keep one.
    body = re.sub(r"\n{3,}", "\n\n", text["body.txt.j2"].strip()) + "\n"
    # Quoted-printable: 7-bit lines every server passes on, whatever the line lengths.
    msg.set_content(body, cte="quoted-printable")
    msg.add_alternative(text["body.html.j2"], subtype="html", cte="quoted-printable")
    msg.add_attachment(letter.pdf, maintype="application", subtype="pdf", filename=letter.file_name)
    msg["Content-Language"] = letter.lang  # after the parts: set_content drops Content-* headers
    return msg


def write_eml(folder: Path, msg: EmailMessage, file_name: str) -> Path:
    """Write msg as folder/<packet name>.eml (CRLF lines, as mail programs expect); return the path."""
    path = folder / f"{Path(file_name).stem}.eml"
    atomic_write(path, msg.as_bytes(), 0o600)
    return path


@cache
def _environment(layers: Layers) -> SandboxedEnvironment:
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    from handouts.render.loader import LayeredLoader

    return SandboxedEnvironment(
        loader=LayeredLoader(layers, f"templates/{EMAIL_DIR}"),
        autoescape=lambda name: bool(name) and str(name).endswith(".html.j2"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=True,
    )


def _where(env: SandboxedEnvironment, name: str, filename: str | None) -> str:
    """A template's file as messages name it: the project's path, or the package file's."""
    layers = getattr(env.loader, "layers", None)
    if filename and isinstance(layers, Layers):
        return layers.project.rel(Path(filename))
    return f"templates/{EMAIL_DIR}/{name}"


def _compile(env: SandboxedEnvironment, name: str) -> Any:
    import jinja2

    try:
        return env.get_template(name)
    except jinja2.TemplateSyntaxError as exc:
        where = _where(env, name, exc.filename)
        raise RenderError(f"{where}:{exc.lineno}: template error: {exc.message}") from None


def _render(env: SandboxedEnvironment, name: str, context: dict[str, Any]) -> str:
    import jinja2

    template = _compile(env, name)
    try:
        return str(template.render(context))
    except jinja2.TemplateError as exc:
        raise RenderError(f"{_where(env, name, template.filename)}: template error: {exc}") from None
