"""Emailing packets: templates (en, fr, per brand), a real SMTP server, .eml dry runs, failures, retries."""

from __future__ import annotations

import email
import email.policy
import io
import shutil
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from helpers import CONSENT, copy_project, french, override, run_cli, tiny_settings, write_tree

DAY = "2026-12-01"


class Inbox:
    """An aiosmtpd handler that keeps what it receives and refuses chosen recipients."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return "550 5.1.1 <" + address + ">: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"

    def message(self, index: int = -1) -> EmailMessage:
        msg = email.message_from_bytes(self.received[index][2], policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        return msg


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(handler: Any, **kwargs: Any) -> tuple[Any, int]:
    from aiosmtpd.controller import Controller

    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return controller, port


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    controller, port = start_server(inbox)
    yield inbox, port
    controller.stop()


@pytest.fixture
def inbox(server: tuple[Inbox, int], project: Path) -> Inbox:
    handler, port = server
    handler.received.clear()
    handler.refuse.clear()
    smtp_settings(project, port)
    return handler


def smtp_settings(project: Path, port: int, extra: str = "") -> None:
    """The tiny project's settings (with French when it has French) and an smtp: block."""
    french = (project / "content/contraindications/fr.yaml").is_file()
    (project / "handouts.yaml").write_text(
        tiny_settings(langs=("en", "fr") if french else ("en",))
        + f"smtp:\n  host: 127.0.0.1\n  port: {port}\n  security: none\n  from: clinic@example.org\n"
        f"  timeout: 5\n{extra}",
        "utf-8",
    )


@pytest.fixture(scope="module")
def project(tiny_built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built tiny project with French added; the outputs the tests' packets need are built."""
    root = copy_project(tiny_built, tmp_path_factory.mktemp("mail") / "proj")
    write_tree(
        root,
        {
            **french(),  # the package's French messages, the tiny list in French
            # A French packet needs a French consent form (never an English one under French words).
            "content/documents/tiny-consent/fr.yaml": CONSENT.replace("Tiny consent form", "Petit formulaire")
            + 'translates: "1.0"\n',
        },
    )
    warm = root.parent / "warm"
    for lang, docs in (("en", "info,consent,aftercare"), ("fr", "consent")):
        code, _, err = run_cli(
            root, "packet", "--patient", "W", "--lang", lang, "--docs", docs, "-o", str(warm / f"{lang}.pdf")
        )
        assert code == 0, err
    return root


def packet(project: Path, out: Path, *args: str) -> tuple[int, str, str]:
    return run_cli(
        project, "packet", "--patient", "Jane Doe", "--dob", "1980-02-03", "--date", DAY,
        "-o", str(out), *args,
    )  # fmt: skip


def attachment(msg: EmailMessage) -> tuple[str, PdfReader]:
    (part,) = list(msg.iter_attachments())
    assert part.get_content_type() == "application/pdf"
    return str(part.get_filename()), PdfReader(io.BytesIO(part.get_content()))


def bodies(msg: EmailMessage) -> tuple[str, str]:
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def test_packet_is_sent_with_english_templates_and_a_filled_form(
    project: Path, inbox: Inbox, tmp_path: Path
) -> None:
    code, _, err = packet(project, tmp_path / "jane.pdf", "--fillable", "--email", "jane@example.org")
    assert code == 0, err
    assert len(inbox.received) == 1
    mail_from, rcpt, _ = inbox.received[0]
    assert (mail_from, rcpt) == ("clinic@example.org", ["jane@example.org"])
    msg = inbox.message()
    subject = "Your documents from Tiny Clinic for your appointment on Tuesday, December 1, 2026"
    assert msg["Subject"] == subject
    assert msg["To"] == "jane@example.org"
    assert "Tiny Clinic" in msg["From"] and "clinic@example.org" in msg["From"]
    text, html = bodies(msg)
    for title in ("Tiny information sheet", "Tiny consent form", "Tiny aftercare sheet"):
        assert f"- {title}" in text
        assert f"<li>{title}</li>" in html
    assert "send it back" in text and "send it back" in html
    assert "Jane" not in text + html + str(msg["Subject"])  # the name is in the PDF only
    name, reader = attachment(msg)
    assert name == "jane.pdf"
    fields = reader.get_fields() or {}
    assert {"patient.name", "patient.dob", "consent.agree"} <= set(fields)
    assert fields["patient.name"].get("/V") == "Jane Doe"
    assert (tmp_path / "jane.pdf").read_bytes() == list(msg.iter_attachments())[0].get_content()


def test_same_packet_to_same_address_is_not_sent_twice(project: Path, inbox: Inbox, tmp_path: Path) -> None:
    for _ in range(2):
        code, _, err = packet(project, tmp_path / "p.pdf", "--email", "jane@example.org")
        assert code == 0, err
    assert len(inbox.received) == 1
    assert "already sent" in err
    log = (tmp_path / "sent-log.json").read_text("utf-8")
    assert "jane" not in log.lower() and "Doe" not in log


def test_french_templates_and_printed_consent(project: Path, inbox: Inbox, tmp_path: Path) -> None:
    code, _, err = packet(
        project, tmp_path / "p.pdf", "--lang", "fr", "--docs", "consent", "--email", "jean@example.org"
    )
    assert code == 0, err
    msg = inbox.message()
    assert msg["Subject"] == "Vos documents de Tiny Clinic pour votre rendez-vous du mardi 1 décembre 2026"
    assert msg["Content-Language"] == "fr"
    text, html = bodies(msg)
    assert text.startswith("Bonjour,")
    assert "- Petit formulaire" in text  # the French document's own title
    assert "imprimer le formulaire de consentement" in text
    assert "renvoyez" not in text  # not fillable: nothing to send back
    assert '<html lang="fr">' in html
    _, reader = attachment(msg)
    assert "/AcroForm" not in reader.trailer["/Root"]  # flattened


def test_brand_templates_override_per_file(project: Path, inbox: Inbox, tmp_path: Path) -> None:
    override = project / "templates/email/tiny/en/subject.txt.j2"
    override.parent.mkdir(parents=True)
    override.write_text("{{ brand.name }} ({{ brand.city }}): your papers", "utf-8")
    try:
        code, _, err = packet(project, tmp_path / "p.pdf", "--email", "jane@example.org")
    finally:
        shutil.rmtree(project / "templates/email/tiny")
    assert code == 0, err
    msg = inbox.message()
    assert msg["Subject"] == "Tiny Clinic (Testville): your papers"
    assert bodies(msg)[0].startswith("Hello,")  # the body still comes from email/en/


def test_eml_dry_run_writes_an_openable_message(project: Path, inbox: Inbox, tmp_path: Path) -> None:
    eml_dir = tmp_path / "eml"
    code, _, err = packet(
        project, tmp_path / "p.pdf", "--fillable", "--email", "jane@example.org", "--eml", str(eml_dir)
    )
    assert code == 0, err
    assert inbox.received == []
    (eml,) = list((tmp_path / "eml").glob("*.eml"))
    assert eml.name == "p.eml"
    msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    assert msg["To"] == "jane@example.org"
    assert "send it back" in bodies(msg)[0]
    _, reader = attachment(msg)
    assert (reader.get_fields() or {})["patient.name"].get("/V") == "Jane Doe"
    assert not (tmp_path / "sent-log.json").exists()


def test_bad_recipient_and_missing_settings_stop_before_anything_is_made(
    project: Path, inbox: Inbox, tmp_path: Path
) -> None:
    hostile = "Jane <jane@example.org>\r\nBcc: x@example.org"
    code, _, err = packet(project, tmp_path / "p.pdf", "--email", hostile)
    assert code == 2
    assert err.strip().splitlines() == [
        "--email is not a valid email address (like name@example.org, without a name or <>)"
    ]
    (project / "handouts.yaml").unlink()
    code, _, err = packet(project, tmp_path / "p.pdf", "--email", "jane@example.org")
    assert code == 2 and "no 'smtp:' settings" in err and "Traceback" not in err
    assert not (tmp_path / "p.pdf").exists()
    assert inbox.received == []


def test_password_in_settings_file_is_refused(project: Path, inbox: Inbox) -> None:
    smtp_settings(project, 25, "  username: clinic\n  password: hunter2\n")
    code, _, err = run_cli(project, "validate")
    assert code == 2
    assert "handouts.yaml:10: smtp.password: remove it" in err and "'password_env'" in err
    assert "hunter2" not in err


def test_unset_password_variable_is_reported(
    project: Path, inbox: Inbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HANDOUTS_TEST_SMTP_PW", raising=False)
    smtp_settings(project, 25, "  username: clinic\n  password_env: HANDOUTS_TEST_SMTP_PW\n")
    code, _, err = packet(project, tmp_path / "p.pdf", "--email", "jane@example.org")
    assert code == 2
    assert "HANDOUTS_TEST_SMTP_PW is not set" in err


def write_csv(path: Path, emails: list[str]) -> Path:
    lines = ["patient,date,email"] + [f"Patient {i},{DAY},{addr}" for i, addr in enumerate(emails)]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def test_refused_recipient_is_reported_and_a_retry_sends_only_it(
    project: Path, inbox: Inbox, tmp_path: Path
) -> None:
    csv = write_csv(tmp_path / "day.csv", ["a@example.org", "b@example.org", "c@example.org"])
    out = tmp_path / "packets"
    inbox.refuse.add("b@example.org")
    code, stdout, err = run_cli(project, "packets", "--csv", str(csv), "--out", str(out), "--email")
    assert code == 4
    assert "row 3: not sent: recipient refused (550)" in err.splitlines()
    assert "b@example.org" not in err + stdout
    assert len(inbox.received) == 2
    assert len(list(out.glob("*.pdf"))) == 3  # the packet stays on disk
    assert "sent 2, already sent 0, not sent 1" in stdout
    inbox.refuse.clear()
    code, stdout, err = run_cli(project, "packets", "--csv", str(csv), "--out", str(out), "--email")
    assert code == 0, err
    assert len(inbox.received) == 3
    assert inbox.received[-1][1] == ["b@example.org"]
    assert "sent 1, already sent 2, not sent 0" in stdout
    code, _, _ = run_cli(project, "packets", "--csv", str(csv), "--out", str(out), "--email")
    assert code == 0 and len(inbox.received) == 3


def test_no_server_listening_then_retry_sends_everything_once(
    project: Path, inbox: Inbox, server: tuple[Inbox, int], tmp_path: Path
) -> None:
    csv = write_csv(tmp_path / "day.csv", ["a@example.org", "b@example.org"])
    out = tmp_path / "packets"
    dead = free_port()
    smtp_settings(project, dead)
    code, stdout, err = run_cli(project, "packets", "--csv", str(csv), "--out", str(out), "--email")
    assert code == 4
    for row in (2, 3):
        assert f"row {row}: not sent: cannot connect to 127.0.0.1:{dead} (connection refused)" in err
    assert "Traceback" not in err
    assert len(list(out.glob("*.pdf"))) == 2
    smtp_settings(project, server[1])
    code, stdout, err = run_cli(project, "packets", "--csv", str(csv), "--out", str(out), "--email")
    assert code == 0, err
    assert sorted(r for _, rcpt, _ in inbox.received for r in rcpt) == ["a@example.org", "b@example.org"]


def test_refused_login_and_silent_server_are_reported(tmp_path: Path) -> None:
    """Straight at the mailer: a login the server refuses, and a server that never answers."""
    from aiosmtpd.smtp import AuthResult

    from handouts.content.models import SmtpSettings
    from handouts.mail.smtp import Mailer, SendFailed

    def deny(*args: Any) -> AuthResult:
        return AuthResult(success=False, handled=False)

    controller, port = start_server(Inbox(), authenticator=deny, auth_require_tls=False)
    msg = EmailMessage()
    msg["Subject"] = "x"
    try:
        settings = SmtpSettings.model_validate(
            {"host": "127.0.0.1", "port": port, "security": "none", "from": "c@example.org",
             "username": "clinic", "password_env": "PW"}
        )  # fmt: skip
        with Mailer(settings, "wrong") as mailer:
            for _ in range(2):  # the second fails fast, from the remembered reason
                with pytest.raises(SendFailed, match=r"^login to 127\.0\.0\.1:\d+ refused \(535\)"):
                    mailer.send(msg, "a@example.org")
    finally:
        controller.stop()
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        settings = SmtpSettings.model_validate(
            {"host": "127.0.0.1", "port": silent.getsockname()[1], "security": "none",
             "from": "c@example.org", "timeout": 0.3}
        )  # fmt: skip
        with Mailer(settings) as mailer, pytest.raises(SendFailed, match="did not answer within 0.3 s"):
            mailer.send(msg, "a@example.org")


def test_html_is_escaped_and_templates_are_sandboxed(make_project: Any) -> None:
    from handouts.content.catalogue import load_catalogue
    from handouts.errors import RenderError
    from handouts.mail.compose import Letter, compose
    from handouts.project import Project

    brand = "name: Tiny & <b>Clinic</b>\ncolors: {primary: '#112233', accent: '#445566'}\n"
    root = make_project({"content/brands/tiny.yaml": brand})
    cat = load_catalogue(Project(root))
    letter = Letter("p.pdf", b"%PDF-1.4", "tiny", "en", ("tiny-info",), None, False)
    msg = compose(cat, letter, "a@example.org", "c@example.org")
    text, html = bodies(msg)
    assert "Tiny & <b>Clinic</b>" in text
    assert "Tiny &amp; &lt;b&gt;Clinic&lt;/b&gt;" in html and "<b>" not in html
    assert msg["Subject"] == "Your documents from Tiny & <b>Clinic</b>"
    escape = "{{ ''.__class__.__mro__[1].__subclasses__() }}"
    override(root, "templates/email/en/subject.txt.j2").write_text(escape)
    with pytest.raises(RenderError, match=r"templates/email/en/subject\.txt\.j2: template error"):
        compose(cat, letter, "a@example.org", "c@example.org")
