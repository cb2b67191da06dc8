"""`handouts serve` through Flask's test client: CSRF, validation, caching, uploads, preview."""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader, PdfWriter

from handouts.project import Project
from handouts.web.app import create_app

from helpers import copy_project, override, run_cli, tiny_files, tiny_settings

PATIENT = {
    "name": "Zoë Quintana-Oakes",
    "dob": "1980-02-03",
    "date": "2026-12-01",
    "therapist": "Sam Lee",
    "area": "left upper trapezius",
}
DOCS = ["tiny-info", "tiny-consent", "tiny-aftercare"]
SIGNED = {"consent.agree": "/Yes", "patient.name": "Zoë Quintana-Oakes", "patient.signature": "Z Q-O"}


@pytest.fixture(scope="module")
def built(tiny_built: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """A tiny project whose packet outputs are built, and the CLI's packet for PATIENT."""
    root = copy_project(tiny_built, tmp_path_factory.mktemp("serve") / "proj")
    target = root.parent / "cli-packet.pdf"
    code, _, err = run_cli(
        root, "packet", "--patient", PATIENT["name"], "--dob", PATIENT["dob"], "--date", PATIENT["date"],
        "--therapist", PATIENT["therapist"], "--area", PATIENT["area"], "-o", str(target),
    )  # fmt: skip
    assert code == 0, err
    return root, target.read_bytes()


@pytest.fixture
def app(built: tuple[Path, bytes]) -> Flask:
    return create_app(Project(built[0]))


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def token(client: FlaskClient, path: str = "/") -> str:
    html = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def packet_form(client: FlaskClient, **changes: Any) -> dict[str, Any]:
    return {"csrf_token": token(client), **PATIENT, "brand": "tiny", "lang": "en", "docs": DOCS, **changes}


def fill(src: Path, values: dict[str, str]) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(src))
    writer.update_page_form_field_values(None, values, auto_regenerate=False)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def upload(
    client: FlaskClient, data: bytes, name: str = "filled.pdf", mimetype: str = "application/pdf"
) -> Any:
    form = {"csrf_token": token(client), "consent_pdf": (io.BytesIO(data), name, mimetype)}
    return client.post("/screen", data=form, content_type="multipart/form-data")


class Fields(HTMLParser):
    """Collect form controls, labels and the elements that carry an id."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self.ids: dict[str, dict[str, str | None]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids[str(a["id"])] = {"tag": tag, **a}
        if tag == "label" and a.get("for"):
            self.label_for.add(str(a["for"]))
        if tag in ("input", "select", "textarea") and a.get("type") != "hidden":
            self.controls.append({"tag": tag, **a})


def parse(html: str) -> Fields:
    parser = Fields()
    parser.feed(html)
    return parser


def error_of(html: str, field: str) -> str:
    found = re.search(rf'<p class="error-message" id="{field}-error">(.*?)</p>', html, re.S)
    assert found, f"no error for {field}"
    return re.sub(r"<[^>]+>", "", found.group(1)).replace("&#39;", "'")


# --- the page ------------------------------------------------------------------------


def test_page_labels_every_field_and_is_not_cached(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "SameSite=Strict" in response.headers["Set-Cookie"]
    html = response.get_data(as_text=True)
    fields = parse(html)
    names = {c.get("name") for c in fields.controls}
    assert {"name", "dob", "date", "therapist", "area", "email", "brand", "lang", "docs"} <= names
    assert {"large_print", "fillable", "consent_pdf", "password"} <= names
    for control in fields.controls:
        assert control.get("id") in fields.label_for, f"no <label for> for {control}"
    for name in ("name", "dob", "therapist", "area", "email"):
        assert fields.ids[name]["autocomplete"] == "off"  # the browser keeps no patient data
    assert html.count('name="csrf_token"') == 3  # packet, screen, patient history
    # Every document is offered, info, consent, aftercare in that order, and ticked.
    positions = [html.index(f'value="{d}" checked') for d in DOCS]
    assert positions == sorted(positions)
    assert fields.ids["date"]["value"] == dt.date.today().isoformat()  # as the CLI's --date


def test_the_appointment_date_defaults_to_today_as_in_the_cli(built: tuple[Path, bytes]) -> None:
    client = create_app(Project(built[0]), today=lambda: dt.date(2026, 12, 1)).test_client()
    assert parse(client.get("/").get_data(as_text=True)).ids["date"]["value"] == "2026-12-01"
    response = client.post("/packet", data=packet_form(client, date=""))
    assert response.data == built[1]  # same bytes as the CLI given --date 2026-12-01


def test_post_without_a_valid_csrf_token_is_refused(client: FlaskClient, app: Flask) -> None:
    data = {**PATIENT, "brand": "tiny", "lang": "en", "docs": DOCS}
    assert client.post("/packet", data=data).status_code == 400
    assert client.post("/packet", data={**data, "csrf_token": "forged"}).status_code == 400
    other = app.test_client()
    stolen = token(other)
    client.get("/")
    response = client.post("/packet", data={**data, "csrf_token": stolen})
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    assert response.mimetype == "text/html"
    assert client.post("/screen", data={}).status_code == 400


def test_get_never_carries_patient_data(client: FlaskClient) -> None:
    assert client.get("/packet?name=Jane").status_code == 405
    assert client.get("/screen").status_code == 405
    assert 'method="post"' in client.get("/").get_data(as_text=True)


# --- packets -------------------------------------------------------------------------


def test_invalid_input_is_shown_beside_each_field_with_the_values_kept(client: FlaskClient) -> None:
    data = packet_form(client, name="", dob="1980-02-30", docs=["tiny-info", "no-such-doc"], fillable="on")
    response = client.post("/packet", data=data)
    assert response.status_code == 422
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert error_of(html, "name") == "Error: Patient name is required"
    assert "is not a real date; use YYYY-MM-DD" in error_of(html, "dob")
    assert "Unknown document 'no-such-doc'" in error_of(html, "docs")
    fields = parse(html)
    for name in ("name", "dob"):
        assert fields.ids[name]["aria-invalid"] == "true"
        assert f"{name}-error" in str(fields.ids[name]["aria-describedby"])
    assert "docs-error" in str(fields.ids["docs"]["aria-describedby"])
    assert fields.ids["dob"]["value"] == "1980-02-30"
    assert fields.ids["therapist"]["value"] == "Sam Lee"
    assert fields.ids["area"]["value"] == "left upper trapezius"
    assert "checked" in fields.ids["fillable"]
    assert "checked" not in fields.ids["doc-tiny-consent"]  # unticked stays unticked
    assert 'href="#name"' in html and 'href="#dob"' in html  # the summary links to the fields


@pytest.mark.parametrize(
    ("changes", "field", "expected"),
    [
        ({"dob": "2030-01-01"}, "dob", "Date of birth is after the appointment date"),
        ({"name": "王小明"}, "name", "which the form font cannot print"),
        ({"docs": []}, "docs", "Choose at least one document"),
        ({"brand": "nope"}, "brand", "Unknown clinic 'nope'"),
        ({"action": "email", "email": "jane@example.org"}, "email", "Email is not configured"),
    ],
)
def test_each_mistake_names_its_field(
    client: FlaskClient, changes: dict[str, Any], field: str, expected: str
) -> None:
    response = client.post("/packet", data=packet_form(client, **changes))
    assert response.status_code == 422
    assert expected in error_of(response.get_data(as_text=True), field)


def test_download_is_the_cli_packet_byte_for_byte(client: FlaskClient, built: tuple[Path, bytes]) -> None:
    response = client.post("/packet", data=packet_form(client, action="download"))
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="packet-tiny-en-2026-12-01-')
    assert "Zo" not in disposition  # the default file name holds no patient name
    assert response.data == built[1]
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages)
    assert "Prepared for Zoë Quintana-Oakes" in text


def test_print_returns_the_packet_inline(client: FlaskClient) -> None:
    response = client.post("/packet", data=packet_form(client, action="print"))
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("inline;")
    assert response.data.startswith(b"%PDF-")


def test_patient_data_is_never_logged(built: tuple[Path, bytes], caplog: pytest.LogCaptureFixture) -> None:
    """Through a real server, whose access log is on: paths are logged, values never."""
    import threading
    import urllib.parse
    import urllib.request
    from http.cookiejar import CookieJar

    from handouts.web.server import make_server

    caplog.set_level(logging.DEBUG)
    server = make_server(create_app(Project(built[0])), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        page = opener.open(f"{base}/").read().decode()
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert csrf
        for changes in ({}, {"dob": "1980-02-30"}, {"name": ""}):
            form = {**PATIENT, "brand": "tiny", "lang": "en", "csrf_token": csrf.group(1), **changes}
            body = urllib.parse.urlencode([*form.items(), *(("docs", d) for d in DOCS)]).encode()
            try:
                opener.open(f"{base}/packet", data=body).read()
            except urllib.error.HTTPError as exc:
                assert exc.code == 422
    finally:
        server.shutdown()
        server.server_close()
    assert "POST /packet" in caplog.text  # the access log was on
    for secret in ("Zo", "Quintana", "1980-02", "trapezius", "Sam Lee"):
        assert secret not in caplog.text


class Inbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append((list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


def test_email_sends_the_packet_once(built: tuple[Path, bytes], make_project: Callable[..., Path]) -> None:
    import email
    import email.policy
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        root = make_project(
            {
                "handouts.yaml": tiny_settings()
                + f"smtp:\n  host: 127.0.0.1\n  port: {port}\n  security: none\n"
                "  from: clinic@example.org\n"
            }
        )
        shutil.copytree(built[0] / "out", root / "out")  # built outputs: no rendering here
        client = create_app(Project(root)).test_client()
        assert "Email sends the packet" in client.get("/").get_data(as_text=True)
        bad = client.post("/packet", data=packet_form(client, action="email", email="jane at example"))
        assert bad.status_code == 422
        assert "Patient's email is not a valid email address" in error_of(bad.get_data(as_text=True), "email")
        assert inbox.received == []
        for _ in range(2):  # a double click
            sent = client.post("/packet", data=packet_form(client, action="email", email="jane@example.org"))
            assert sent.status_code == 200
        assert "was sent to the patient" in client.post(
            "/packet", data=packet_form(client, action="email", email="sam@example.org")
        ).get_data(as_text=True)
    finally:
        controller.stop()
    assert [r[0] for r in inbox.received] == [["jane@example.org"], ["sam@example.org"]]
    msg = email.message_from_bytes(inbox.received[0][1], policy=email.policy.default)
    attachment = next(msg.iter_attachments())  # type: ignore[attr-defined]
    assert attachment.get_content() == built[1]  # the same packet as the CLI and the download
    assert "already sent" in sent.get_data(as_text=True)
    from handouts.register.query import list_entries
    from handouts.register.record import open_register

    register = open_register(root)
    assert register is not None
    messages = list_entries(register, kinds=("message",))  # the double click sent, and recorded, once
    assert [(m.status, m.channel, m.source) for m in messages] == [("sent", "smtp", "web")] * 2


# --- screening uploads --------------------------------------------------------------


def test_uploaded_flagged_form_shows_the_flags_in_words(
    client: FlaskClient, built: tuple[Path, bytes]
) -> None:
    form = built[0] / "out/tiny/en/tiny-consent-fillable.pdf"
    data = fill(
        form,
        {**SIGNED, "patient.date": "2026-12-01", "contraindication.pregnancy": "/yes",
         "contraindication.metal-allergy": "/no"},
    )  # fmt: skip
    response = upload(client, data)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert "FLAGGED: 1 health question answered yes" in html
    assert "YES: Pregnancy" in html
    assert "check with the therapist" in html
    assert "Take care, most of all in the first trimester." in html
    assert "Metal allergy" not in html
    assert "Zoë Quintana-Oakes" in html


def test_upload_must_be_a_small_pdf(client: FlaskClient, built: tuple[Path, bytes]) -> None:
    cases = [
        (b"", "empty.pdf", "application/pdf", "Choose the filled consent form"),
        (b"hello", "notes.txt", "text/plain", "'notes.txt' is not a PDF file"),
        (b"GIF89a...", "photo.pdf", "application/pdf", "'photo.pdf' is not a PDF file"),
        (b"%PDF-1.7\n", "form.pdf", "image/png", "'form.pdf' is not a PDF file"),
        (b"%PDF-1.7\ngarbage", "broken.pdf", "application/pdf", "broken.pdf: "),
        (
            (built[0] / "out/tiny/en/tiny-info.pdf").read_bytes(),
            "info.pdf",
            "application/pdf",
            "not a handouts",
        ),
    ]
    for data, name, mimetype, expected in cases:
        if not data:
            response = client.post(
                "/screen", data={"csrf_token": token(client)}, content_type="multipart/form-data"
            )
        else:
            response = upload(client, data, name, mimetype)
        assert response.status_code == 422, name
        assert expected in error_of(response.get_data(as_text=True), "consent_pdf").replace("&#39;", "'")


def test_oversized_upload_is_refused_before_reading(built: tuple[Path, bytes]) -> None:
    app = create_app(Project(built[0]), max_request_bytes=50_000)
    client = app.test_client()
    response = upload(client, b"%PDF-1.7\n" + b"0" * 100_000)
    assert response.status_code == 413
    assert "too large" in error_of(response.get_data(as_text=True), "consent_pdf")


def test_uploads_stay_in_memory(client: FlaskClient, built: tuple[Path, bytes], monkeypatch: Any) -> None:
    import tempfile

    def no_temp_files(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("an upload went to a temporary file")

    # werkzeug spools uploads over 500 KB to a temporary file unless told otherwise.
    monkeypatch.setattr("werkzeug.wrappers.request.default_stream_factory", no_temp_files)
    for name in ("SpooledTemporaryFile", "TemporaryFile", "NamedTemporaryFile", "mkstemp"):
        monkeypatch.setattr(tempfile, name, no_temp_files)
    form = built[0] / "out/tiny/en/tiny-consent-fillable.pdf"
    data = fill(form, {**SIGNED, "patient.date": "2026-12-01", "contraindication.pregnancy": "/no",
                       "contraindication.metal-allergy": "/no"})  # fmt: skip
    data += b"\n%" + b"x" * 600_000  # a comment after %%EOF: still a PDF, now over 500 KB
    response = upload(client, data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html[:3000]
    assert "CLEAR: every health question answered no" in html


# --- the command -------------------------------------------------------------------


def test_serve_refuses_a_remote_address_without_allow_remote(tiny: Path, monkeypatch: Any) -> None:
    import handouts.web.server as server

    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("bound a socket")

    monkeypatch.setattr(server, "make_server", never)
    code, _, err = run_cli(tiny, "serve", "--host", "0.0.0.0")
    assert code == 2
    assert "--host 0.0.0.0" in err and "--allow-remote" in err
    assert "Traceback" not in err


def test_serve_allow_remote_needs_accounts_uses_the_production_server_and_warns(
    tiny: Path, monkeypatch: Any
) -> None:
    import handouts.web.production as production
    import handouts.web.server as server

    class FakeServer:
        port = 8123

        def serve_forever(self) -> None:
            raise KeyboardInterrupt

        def server_close(self) -> None:
            pass

    seen: list[tuple[str, str, int]] = []

    def fake(kind: str) -> Any:
        def make(app: Any, host: str, port: int, *args: Any, **kwargs: Any) -> FakeServer:
            seen.append((kind, host, port))
            return FakeServer()

        return make

    monkeypatch.setattr(server, "make_server", fake("werkzeug"))
    monkeypatch.setattr(production, "ProductionServer", fake("gunicorn"))
    code, _, err = run_cli(tiny, "serve", "--host", "0.0.0.0", "--allow-remote", "--port", "8123")
    assert code == 2 and "no staff accounts yet" in err
    monkeypatch.setenv("DESK_PW", "a long enough password")
    assert run_cli(tiny, "users", "add", "desk", "--password-env", "DESK_PW")[0] == 0
    code, _, err = run_cli(tiny, "serve", "--host", "0.0.0.0", "--allow-remote", "--port", "8123")
    assert code == 0, err
    assert seen == [("gunicorn", "0.0.0.0", 8123)]
    assert "warning:" in err and "without TLS" in err and "login required" in err
    assert "http://0.0.0.0:8123/" in err
    code, _, err = run_cli(tiny, "serve", "--host", "127.0.0.1")
    assert code == 0 and "warning" not in err and "login required" not in err
    assert seen[-1][0] == "werkzeug"


def test_loopback_addresses() -> None:
    from handouts.web.server import is_loopback

    assert all(is_loopback(h) for h in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.5", "example.org"))


def test_without_fork_serving_beyond_loopback_is_one_line(
    tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows has no fork, so no gunicorn: beyond loopback is refused in one line, loopback is not."""
    import os

    monkeypatch.delattr(os, "fork")
    code, _, err = run_cli(tiny, "serve", "--host", "0.0.0.0", "--allow-remote")
    assert code == 2 and err.startswith("--host 0.0.0.0: beyond loopback handouts serves with gunicorn")
    assert "Linux and macOS only" in err and len(err.strip().splitlines()) == 1
    # Loopback needs no gunicorn: deciding how to serve does not even import it.
    script = (
        "import os, sys\nfrom pathlib import Path\nfrom handouts.project import Project\n"
        "from handouts.cli.serve import decide\ndel os.fork\n"
        f"listen = decide(Project(Path({str(tiny)!r})), '127.0.0.1', 0, False, False, None, None, False)\n"
        "print(listen.production, 'gunicorn' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_a_taken_port_is_a_one_line_error(tiny: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        code, _, err = run_cli(tiny, "serve", "--port", str(taken.getsockname()[1]))
    assert code == 2
    assert "choose another --port" in err


def test_serving_does_not_import_weasyprint(tiny: Path) -> None:
    script = (
        "import sys\nfrom pathlib import Path\nfrom handouts.project import Project\n"
        "from handouts.web.app import create_app\n"
        f"c = create_app(Project(Path({str(tiny)!r})), preview=True, watch=False).test_client()\n"
        "assert c.get('/').status_code == 200\nassert c.get('/preview/').status_code == 200\n"
        "print('weasyprint' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- preview -----------------------------------------------------------------------


@pytest.fixture
def preview(make_project: Callable[..., Path]) -> Iterator[tuple[Path, FlaskClient]]:
    root = make_project()
    app = create_app(Project(root), preview=True, watch=False)
    yield root, app.test_client()


def test_preview_is_off_unless_asked(client: FlaskClient) -> None:
    assert client.get("/preview/").status_code == 404
    assert "/preview" not in client.get("/").get_data(as_text=True)


def test_preview_lists_the_catalogue_and_shows_html(preview: tuple[Path, FlaskClient]) -> None:
    _, client = preview
    html = client.get("/preview/").get_data(as_text=True)
    for title in ("Tiny information sheet", "Tiny aftercare sheet", "Tiny consent form"):
        assert title in html
    assert "/preview/doc/tiny/en/tiny-consent/fillable" in html
    page = client.get("/preview/doc/tiny/en/tiny-info/print")
    assert page.status_code == 200
    assert 'src="/preview/html/tiny/en/tiny-info/print"' in page.get_data(as_text=True)
    doc = client.get("/preview/html/tiny/en/tiny-info/print")
    text = doc.get_data(as_text=True)
    assert "Thin needles go into tight muscles." in text
    assert "file://" not in text
    assert "default-src 'none'" in doc.headers["Content-Security-Policy"]  # no script in documents
    css = re.search(r'href="(/preview/file/templates/styles/[^"]+\.css)"', text)
    assert css and client.get(css.group(1)).status_code == 200


def test_preview_serves_only_project_assets(preview: tuple[Path, FlaskClient]) -> None:
    _, client = preview
    for path in (
        "/preview/file/content/brands/tiny.yaml",
        "/preview/file/templates/base.html.j2",
        "/preview/file/templates/../../../etc/passwd.css",
        "/preview/file/out/x.css",
    ):
        assert client.get(path).status_code == 404, path


def test_preview_shows_problems_with_file_and_line(preview: tuple[Path, FlaskClient]) -> None:
    root, client = preview
    doc = root / "content/documents/tiny-info/en.yaml"
    doc.write_text(doc.read_text("utf-8").replace("title: Tiny", "titel: Tiny"), "utf-8")
    listing = client.get("/preview/").get_data(as_text=True)
    assert (
        "content/documents/tiny-info/en.yaml:3: unknown key &#39;titel&#39;: did you mean &#39;title&#39;?"
        in listing
    )
    assert "Tiny aftercare sheet" in listing  # the other documents still show
    page = client.get("/preview/doc/tiny/en/tiny-info/print")
    assert page.status_code == 422
    assert "content/documents/tiny-info/en.yaml:3:" in page.get_data(as_text=True)
    template = override(root, "templates/aftercare.html.j2")
    template.write_text(template.read_text("utf-8") + "\n{% if %}\n", "utf-8")
    page = client.get("/preview/doc/tiny/en/tiny-aftercare/print")
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert re.search(r"templates/aftercare.html.j2:\d+: template error", html)
    assert "document-frame" not in html  # no blank frame, the problems instead


def test_preview_pdf_follows_edits(preview: tuple[Path, FlaskClient]) -> None:
    root, client = preview
    first = client.get("/preview/pdf/tiny/en/tiny-info/print")
    assert first.status_code == 200 and first.mimetype == "application/pdf"
    assert "tight muscles" in PdfReader(io.BytesIO(first.data)).pages[0].extract_text()
    doc = root / "content/documents/tiny-info/en.yaml"
    doc.write_text(doc.read_text("utf-8").replace("tight muscles", "stiff muscles"), "utf-8")
    second = client.get("/preview/pdf/tiny/en/tiny-info/print")
    assert "stiff muscles" in PdfReader(io.BytesIO(second.data)).pages[0].extract_text()


def test_watcher_counts_changes(tiny: Path) -> None:
    from handouts.web.watch import Watcher

    watcher = Watcher([tiny / "content", tiny / "templates"])
    watcher.start()
    try:
        before = watcher.version
        (tiny / "content/documents/tiny-info/en.yaml").write_text(INFO_EDIT, "utf-8")
        deadline = time.monotonic() + 10
        while watcher.version == before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert watcher.version != before
    finally:
        watcher.stop()


INFO_EDIT = tiny_files()["content/documents/tiny-info/en.yaml"].replace("tight", "stiff")


def test_requests_for_other_host_names_are_refused(built: tuple[Path, Path]) -> None:
    """A DNS-rebinding page reaches the server under its own name: refused before any form."""
    client = create_app(Project(built[0])).test_client()
    assert client.get("/", headers={"Host": "127.0.0.1:8000"}).status_code == 200
    assert client.get("/", headers={"Host": "evil.example:8000"}).status_code == 400
