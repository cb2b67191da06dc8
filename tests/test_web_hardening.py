"""Issue 20, the web face's minors: the Host check and [::1], control characters in paths,
the cap on concurrent screening, and log lines that cannot drive a terminal."""

from __future__ import annotations

import http.client
import io
import logging
import re
import socket
import subprocess
import sys
import threading
import time
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from handouts.errors import PdfInputError
from handouts.intake.screen import ScreenResult
from handouts.project import Project
from handouts.web import frontdesk
from handouts.web.app import create_app, host_name, trusted
from handouts.web.server import make_server


def unsafe(text: str) -> list[str]:
    return [
        c for c in text if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") and c not in "\n\u200c\u200d"
    ]


@pytest.fixture(scope="module")
def app(module_built: Path) -> Flask:
    return create_app(Project(module_built), preview=True, watch=False)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def token(client: FlaskClient) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").get_data(as_text=True))
    assert found
    return found.group(1)


class TestHostCheck:
    @pytest.mark.parametrize("host", ["[::1]:8123", "[::1]", "localhost:5000", "127.0.0.1", "LOCALHOST:1"])
    def test_loopback_names_are_trusted(self, client: FlaskClient, host: str) -> None:
        assert client.get("/", headers={"Host": host}).status_code == 200

    @pytest.mark.parametrize(
        "host", ["evil.example.org", "evil.example.org:8000", "[::2]:80", "[::1", "127.0.0.1.evil.org", ""]
    )
    def test_other_names_get_400(self, client: FlaskClient, host: str) -> None:
        response = client.get("/", headers={"Host": host})
        assert response.status_code == 400 and b"its own address" in response.data

    def test_the_names(self) -> None:
        assert host_name("[::1]:8000") == "[::1]" and host_name("LocalHost:80") == "localhost"
        assert trusted("[::1]:1", ["::1"]) and not trusted("[::1]:1", ["127.0.0.1"])

    def test_serve_on_ipv6_loopback_answers_the_address_it_prints(self, module_built: Path) -> None:
        try:
            socket.socket(socket.AF_INET6).bind(("::1", 0))
        except OSError:
            pytest.fail("this machine has no IPv6 loopback: the test needs ::1")
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "handouts",
                "--project",
                str(module_built),
                "serve",
                "--host",
                "::1",
                "--port",
                "0",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            address = None
            assert process.stderr is not None
            for _ in range(20):
                line = process.stderr.readline()
                found = re.search(r"front desk: (http://\[::1\]:(\d+)/)", line)
                if found:
                    address, port = found.group(1), int(found.group(2))
                    break
            assert address is not None
            connection = http.client.HTTPConnection("::1", port, timeout=30)
            connection.request("GET", "/", headers={"Host": f"[::1]:{port}"})  # as a browser sends it
            assert connection.getresponse().status == 200
        finally:
            process.terminate()
            process.wait(timeout=30)


def _urls_with_a_control(app: Flask, control: str) -> list[tuple[str, str]]:
    """Every route of the app (from its URL map), with the control character in a path part."""
    urls = []
    for rule in app.url_map.iter_rules():
        method = "GET" if "GET" in (rule.methods or ()) else "POST"
        values = {name: f"x{control}y" for name in rule.arguments}
        if rule.endpoint == "static" or rule.endpoint.endswith(".file"):
            values = {name: f"x{control}.css" for name in rule.arguments}
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m, values=values: values[m.group(1)], rule.rule)
        if not rule.arguments:
            path = path.rstrip("/") + "/" + f"x{control}"
        urls.append((method, path))
    return urls


class TestControlsInPaths:
    @pytest.mark.parametrize("control", ["%00", "%1b", "%0a", "%7f"])
    def test_every_route_gives_404(self, app: Flask, client: FlaskClient, control: str) -> None:
        urls = _urls_with_a_control(app, control)
        assert len(urls) > 10
        for method, path in urls:
            response = client.open(path, method=method)
            assert response.status_code == 404, (method, path, response.status_code)


class TestScreeningCap:
    def test_excess_uploads_wait_then_get_503(
        self, module_built: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        app = create_app(Project(module_built), watch=False)
        desk = app.extensions["handouts"]
        desk.screening_wait = 0.3
        release = threading.Event()
        running = []

        def slow_screen(data: bytes, name: str, root: Any, password: Any = None) -> ScreenResult:
            running.append(name)
            release.wait(60)
            return ScreenResult(file=name, status="unreadable", problem=PdfInputError(f"{name}: not one"))

        monkeypatch.setattr(frontdesk, "screen_bytes", slow_screen)
        codes: dict[str, int] = {}

        def post(name: str) -> None:
            client = app.test_client()
            form = {
                "csrf_token": token(client),
                "consent_pdf": (io.BytesIO(b"%PDF-1.7\n"), name, "application/pdf"),
            }
            codes[name] = client.post("/screen", data=form, content_type="multipart/form-data").status_code

        threads = [threading.Thread(target=post, args=(f"f{i}.pdf",)) for i in range(2)]
        for thread in threads:
            thread.start()
        for _ in range(300):
            if len(running) == 2:
                break
            time.sleep(0.05)
        assert len(running) == 2
        client = app.test_client()
        form = {
            "csrf_token": token(client),
            "consent_pdf": (io.BytesIO(b"%PDF-1.7\n"), "f3.pdf", "application/pdf"),
        }
        busy = client.post("/screen", data=form, content_type="multipart/form-data")
        assert busy.status_code == 503 and busy.headers["Retry-After"] == "30"
        assert "Too many forms are being screened at once" in busy.get_data(as_text=True)
        release.set()
        for thread in threads:
            thread.join(60)
        assert codes == {"f0.pdf": 422, "f1.pdf": 422}  # screened (and found unreadable)
        # The slots came back: the next upload is screened again.
        form = {
            "csrf_token": token(client),
            "consent_pdf": (io.BytesIO(b"%PDF-1.7\n"), "f4.pdf", "application/pdf"),
        }
        assert client.post("/screen", data=form, content_type="multipart/form-data").status_code == 422


class TestLogLines:
    ATTACKS = ["%1b%5b2J", "%E2%80%AE", "%C2%9B2K", "%E2%80%A8", "%0d%0a"]

    @pytest.mark.parametrize("attack", ATTACKS)
    def test_the_access_log_and_the_bug_log_are_escaped(
        self, module_built: Path, caplog: pytest.LogCaptureFixture, attack: str
    ) -> None:
        app = create_app(Project(module_built), watch=False)

        def boom(value: str) -> str:
            raise RuntimeError("a bug")

        app.add_url_rule("/boom/<value>", view_func=boom)
        server = make_server(app, "127.0.0.1", 0)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            with caplog.at_level(logging.INFO):
                # (A path with a control is refused before any page runs: the bug's holds bidi.)
                for path in (f"/x{attack}y", "/boom/x%E2%80%AE%C2%9By"):
                    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
                    connection.request("GET", path)
                    connection.getresponse().read()
                time.sleep(0.2)
        finally:
            server.shutdown()
            server.server_close()
        messages = [r.getMessage() for r in caplog.records if r.name in ("werkzeug", "handouts.web.app")]
        assert any("bug (RuntimeError)" in m for m in messages), messages
        for message in messages:
            plain = re.sub(r"\x1b\[[0-9;]*m", "", message)  # werkzeug's own colours on a terminal
            assert not unsafe(plain), message


def test_the_front_desk_isolates_a_forms_strings(
    module_built: Path, client: FlaskClient, tmp_path: Path
) -> None:
    from helpers import fill_form

    values = {
        "contraindication.pregnancy": "/no",
        "contraindication.metal-allergy": "/no",
        "consent.agree": "/Yes",
        "patient.name": "\u202eeod enaJ",
        "patient.signature": "Jane Doe",
        "patient.date": "2026-12-01",
    }
    form = fill_form(module_built / "out/tiny/en/tiny-consent-fillable.pdf", tmp_path / "f.pdf", values)
    page = client.post(
        "/screen",
        data={
            "csrf_token": token(client),
            "consent_pdf": (io.BytesIO(form.read_bytes()), "f.pdf", "application/pdf"),
        },
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    # The override stays inside its own <bdi>: it cannot reorder the verdict or the labels.
    assert "<dd><bdi>\u202eeod enaJ</bdi></dd>" in page
