"""The clinic network: staff accounts, the login guard on every route, throttling, sessions, TLS."""

from __future__ import annotations

import http.client
import logging
import re
import ssl
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from handouts.cli.common import flag
from handouts.errors import UsageError
from handouts.project import Project
from handouts.web.app import create_app
from handouts.web.auth import PUBLIC_ENDPOINTS, Auth, Throttle
from handouts.web.state import WebState
from handouts.web.users import Users

from helpers import copy_project, run_cli

PASSWORD = "correct horse battery"
# Cheap argon2 for the tests (the defaults take about 0.1-0.5 s a hash, on purpose).
CHEAP = (1, 1024, 1)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def project(tiny_built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_project(tiny_built, tmp_path_factory.mktemp("auth") / "proj")
    Users.of_project(root, CHEAP).add("reception", PASSWORD)
    return root


def guarded_app(root: Path, **kwargs: Any) -> tuple[Flask, Auth]:
    """The app as `serve` makes it beyond loopback: any host name, so a login by default."""
    users = Users.of_project(root, CHEAP)
    app = create_app(Project(root), preview=True, watch=False, trusted_hosts=None, users=users, **kwargs)
    web = app.extensions["handouts"]
    assert isinstance(web, WebState) and web.auth is not None and web.auth.required
    return app, web.auth


@pytest.fixture
def guarded(project: Path) -> tuple[Flask, Auth]:
    return guarded_app(project)


def csrf(client: FlaskClient, path: str = "/login") -> str:
    html = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def log_in(client: FlaskClient, name: str = "reception", password: str = PASSWORD) -> Any:
    return client.post("/login", data={"csrf_token": csrf(client), "name": name, "password": password})


# --- accounts ----------------------------------------------------------------------


def test_accounts_are_argon2_hashes_in_a_private_file(tmp_path: Path) -> None:
    users = Users.of_project(tmp_path)  # argon2-cffi's own cost here
    assert users.names() == []
    assert users.add("Front.Desk", PASSWORD) == "front.desk"
    path = tmp_path / "users.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text("utf-8")
    assert PASSWORD not in text and "$argon2id$v=19$m=65536,t=3,p=4$" in text  # RFC 9106's second choice
    assert users.verify("FRONT.DESK", PASSWORD) == "front.desk"
    assert users.verify("front.desk", PASSWORD + "x") is None
    users.cost = CHEAP  # the rest of the test needs no more slow hashes
    assert users.verify("nobody", PASSWORD) is None
    with pytest.raises(UsageError, match="^name: an account 'front.desk' exists"):
        users.add("front.desk", PASSWORD)
    with pytest.raises(UsageError, match="^password: use at least 10 characters"):
        users.add("short", "abc")
    with pytest.raises(UsageError, match="^name: use 1-32 letters"):
        users.add("Jane Doe", PASSWORD)
    # Another process (`handouts users remove`) changes the file: a running server sees it.
    Users.of_project(tmp_path).remove("front.desk")
    assert users.names() == []
    with pytest.raises(UsageError, match=r"^name: no account 'ghost' \(accounts: none\)"):
        users.remove("ghost")


# --- the guard ---------------------------------------------------------------------


def _sample(converter: str) -> str:
    return {"int": "1", "float": "1.0", "uuid": "00000000-0000-0000-0000-000000000000"}.get(converter, "x")


def _every_route(app: Flask) -> Iterator[tuple[str, str, str]]:
    """(endpoint, method, path) for every rule of the app, with a sample value for each argument."""
    for rule in app.url_map.iter_rules():
        path = rule.rule
        for arg in rule.arguments:
            converter = type(rule._converters[arg]).__name__.removesuffix("Converter").lower()
            path = re.sub(rf"<(?:[^:>]+:)?{arg}>", _sample(converter), path)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, path


def _refused(method: str, path: str, status: int, location: str, body: str) -> None:
    """An unauthenticated request's answer: the login page for a GET, 401/403 for the rest."""
    if method == "GET":
        assert status == 302, (method, path, status)
        assert location.startswith("/login?next="), (path, location)
    else:
        assert status in (401, 403), (method, path, status)
        assert "Log in first" in body, (method, path)


def test_every_route_needs_a_login(guarded: tuple[Flask, Auth]) -> None:
    app, _ = guarded
    client = app.test_client()
    token = csrf(client)  # a valid CSRF token does not stand in for a login
    checked = 0
    for endpoint, method, path in _every_route(app):
        response = client.open(path, method=method, data={"csrf_token": token})
        if endpoint in PUBLIC_ENDPOINTS:
            continue
        checked += 1
        location = response.headers.get("Location", "")
        _refused(method, path, response.status_code, location, response.get_data(as_text=True))
    assert checked >= 8  # front desk, packet, screen, preview pages, logout ...
    assert {"auth.login", "static"} == PUBLIC_ENDPOINTS
    # Nothing else answers either: an unknown path gets 401, not a 404 that maps the site.
    assert client.post("/no/such/page", data={"csrf_token": token}).status_code == 401
    assert client.get("/login").status_code == 200


def test_the_factory_puts_the_guard_first_and_lifts_it_only_on_loopback(project: Path) -> None:
    users = Users.of_project(project, CHEAP)
    local = create_app(Project(project), users=users)  # loopback names only: no login by default
    # The Host and path check, then the guard, both ahead of the CSRF check.
    names = [f.__name__ for f in local.before_request_funcs[None]]
    assert names[:3] == ["_check_host_and_path", "_guard", "_check_csrf"]
    assert local.test_client().get("/").status_code == 200
    asked = create_app(Project(project), users=users, login=True)  # serve --login
    assert asked.test_client().get("/day/").headers["Location"] == "/login?next=/day/"


def test_login_opens_the_pages_and_logout_ends_the_session(guarded: tuple[Flask, Auth]) -> None:
    app, _ = guarded
    client = app.test_client()
    response = log_in(client)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200 and "reception" in page.get_data(as_text=True)
    cookie = client.get_cookie("handouts_session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Strict"
    client.post("/logout", data={"csrf_token": csrf(client, "/")})
    assert client.get("/").status_code == 302
    # The old cookie is dead on the server too, not only deleted in the browser.
    replay = app.test_client()
    replay.set_cookie("handouts_session", cookie.value)
    assert replay.get("/").status_code == 302


def test_login_goes_back_only_to_a_path_on_this_server(guarded: tuple[Flask, Auth]) -> None:
    app, _ = guarded
    client = app.test_client()
    assert client.get("/preview/").headers["Location"] == "/login?next=/preview/"
    token = csrf(client)
    targets = (("/preview/", "/preview/"), ("//evil.example", "/"), ("https://evil.example/", "/"))
    for target, expected in targets:
        form = {"csrf_token": token, "name": "reception", "password": PASSWORD}
        response = client.post(f"/login?next={target}", data=form)
        assert response.headers["Location"] == expected
        client.post("/logout", data={"csrf_token": csrf(client, "/")})
        token = csrf(client)


def test_sessions_expire_when_idle_and_after_a_day(guarded: tuple[Flask, Auth]) -> None:
    app, policy = guarded
    clock = Clock()
    policy.clock = clock
    client = app.test_client()
    log_in(client)
    clock.now += policy.idle - 10
    assert client.get("/").status_code == 200  # still in use
    clock.now += policy.idle + 1
    assert client.get("/").status_code == 302
    log_in(client)
    for _ in range(int(policy.lifetime // (policy.idle / 2)) + 1):
        clock.now += policy.idle / 2
        client.get("/")
    assert client.get("/").status_code == 302  # however busy, a session ends after its lifetime


def test_wrong_passwords_are_slowed_down(guarded: tuple[Flask, Auth]) -> None:
    app, policy = guarded
    clock = Clock()
    policy.per_account = Throttle(free=5, clock=clock)
    policy.per_client = Throttle(free=20, clock=clock)
    client = app.test_client()
    for _ in range(5):
        assert log_in(client, password="wrong password!").status_code == 401
    throttled = log_in(client)  # even the right password waits now
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "2"
    assert "Too many wrong attempts" in throttled.get_data(as_text=True)
    clock.now += 1.5
    assert log_in(client, password="wrong again!!").status_code == 401  # the sixth failure
    clock.now += 1.5
    assert log_in(client).status_code == 429  # the wait doubled to 2 s
    waits = []
    for _ in range(6):
        clock.now += policy.per_account.wait("account:reception")
        assert log_in(client, password="still wrong!!").status_code == 401
        waits.append(policy.per_account.wait("account:reception"))
    assert waits == sorted(waits) and waits[-1] >= 2 * waits[0] * 8  # exponential
    clock.now += 16 * 60  # forgotten after a quiet quarter of an hour
    assert log_in(client).status_code == 302


def test_one_client_trying_many_names_is_slowed_down(guarded: tuple[Flask, Auth]) -> None:
    app, policy = guarded
    clock = Clock()
    policy.per_client = Throttle(free=20, clock=clock)
    client = app.test_client()
    for n in range(20):
        assert log_in(client, name=f"guess{n}", password="a guess, wrong").status_code == 401
    assert log_in(client, name="guess99", password="a guess, wrong").status_code == 429


def test_the_audit_log_names_the_account_never_the_patient(
    guarded: tuple[Flask, Auth], caplog: pytest.LogCaptureFixture
) -> None:
    app, _ = guarded
    client = app.test_client()
    with caplog.at_level(logging.INFO):
        log_in(client)
        form = {
            "csrf_token": csrf(client, "/"), "name": "Zoë Quintana", "dob": "1980-02-03",
            "date": "2026-12-01", "brand": "tiny", "lang": "en", "docs": ["tiny-info"], "action": "download",
        }  # fmt: skip
        response = client.post("/packet", data=form)
    assert response.status_code == 200
    lines = [r.getMessage() for r in caplog.records if r.name == "handouts.audit"]
    assert any(line.startswith("reception logged in") for line in lines)
    made = r"reception: POST /packet -> 200 \(packet-tiny-en-2026-12-01-\w+\.pdf\)"
    assert any(re.match(made, line) for line in lines)
    everything = "\n".join(r.getMessage() for r in caplog.records)
    assert "Zoë" not in everything and "Quintana" not in everything and "1980-02-03" not in everything


# --- the production server ---------------------------------------------------------


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, made with cryptography."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "handouts test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_server(project: Path, tmp_path: Path) -> Iterator[tuple[int, ssl.SSLContext, Flask]]:
    """gunicorn (web.production) serving the guarded app over TLS, with a certificate made here."""
    from handouts.web.production import ProductionServer
    from handouts.web.server import Tls

    cert, key = make_certificate(tmp_path)
    app, _ = guarded_app(project, secure_cookie=True)
    server = ProductionServer(app, "127.0.0.1", 0, Tls(cert, key))
    server.start()
    context = ssl.create_default_context(cafile=str(cert))
    try:
        yield server.port, context, app
    finally:
        server.server_close()
    assert server.exit_status == 0  # SIGTERM: gunicorn's master and worker stopped cleanly


def test_tls_is_served_with_the_given_certificate(tls_server: tuple[int, ssl.SSLContext, Flask]) -> None:
    port, context, _ = tls_server
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
    connection.request("GET", "/")
    response = connection.getresponse()
    assert response.status == 302 and response.getheader("Location") == "/login?next=/"
    response.read()
    assert connection.sock is not None
    assert connection.sock.version() in ("TLSv1.2", "TLSv1.3")  # type: ignore[attr-defined]
    connection.request("GET", "/login")
    login = connection.getresponse()
    assert login.status == 200 and "Log in" in login.read().decode()
    assert "Secure" in (login.getheader("Set-Cookie") or "")
    assert login.getheader("Server") == "gunicorn"  # the production server, not werkzeug's
    connection.close()
    # A client that does not trust the certificate cannot talk to it.
    with pytest.raises(ssl.SSLError):
        untrusting = ssl.create_default_context()
        strict = http.client.HTTPSConnection("127.0.0.1", port, context=untrusting, timeout=10)
        strict.request("GET", "/")
    # Plain HTTP on the TLS port gets no page.
    plain = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        plain.request("GET", "/login")
        answer = plain.getresponse()
        assert answer.status == 400 and b"Log in" not in answer.read()
    except ConnectionError:
        pass  # gunicorn closes the connection when the TLS handshake fails


def test_every_route_needs_a_login_on_the_real_server_over_tls(
    tls_server: tuple[int, ssl.SSLContext, Flask],
) -> None:
    """The same walk as above, through gunicorn and TLS: each request on a connection of its own."""
    port, context, app = tls_server
    checked = 0
    for endpoint, method, path in _every_route(app):
        if endpoint in PUBLIC_ENDPOINTS:
            continue
        connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
        body = "csrf_token=forged" if method != "GET" else None
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        assert response.getheader("Server") == "gunicorn"
        _refused(method, path, response.status, response.getheader("Location", ""), response.read().decode())
        connection.close()
        checked += 1
    assert checked >= 8
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
    connection.request("GET", "/no/such/page")
    assert connection.getresponse().status == 401  # not a 404 that maps the site
    connection.close()


def test_a_login_holds_across_connections_to_the_one_worker(
    tls_server: tuple[int, ssl.SSLContext, Flask],
) -> None:
    """Sessions live in the worker's memory: every connection reaches that one worker."""
    from http.cookies import SimpleCookie

    port, context, _ = tls_server
    cookies: SimpleCookie = SimpleCookie()

    def send(method: str, path: str, body: str | None = None) -> tuple[int, str, str]:
        connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
        headers = {"Cookie": "; ".join(f"{k}={v.value}" for k, v in cookies.items())}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        for header in response.headers.get_all("Set-Cookie") or []:
            cookies.load(header)
        answer = response.status, response.getheader("Location", ""), response.read().decode()
        connection.close()
        return answer

    status, _, html = send("GET", "/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert status == 200 and token
    form = f"csrf_token={token.group(1)}&name=reception&password={PASSWORD.replace(' ', '+')}"
    status, location, _ = send("POST", "/login", form)
    assert status == 302 and location == "/", (status, location)
    for _ in range(5):  # new connections, served by threads of the same worker
        status, _, html = send("GET", "/")
        assert status == 200 and "Log in" not in html


def test_a_bad_certificate_is_one_line(project: Path, tmp_path: Path) -> None:
    from handouts.web.production import ProductionServer
    from handouts.web.server import Tls

    cert, key = make_certificate(tmp_path)
    other_cert, _ = make_certificate(tmp_path / ".." / tmp_path.name)  # same folder: overwritten pair
    wrong_key = tmp_path / "wrong.pem"
    wrong_key.write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    app, _ = guarded_app(project)
    with pytest.raises(UsageError) as caught:
        ProductionServer(app, "127.0.0.1", 0, Tls(other_cert, wrong_key))
    assert re.match(r"^--tls-cert: cannot use .*cert.pem with .*wrong.pem", caught.value.worded(flag))
    with pytest.raises(UsageError) as caught:
        ProductionServer(app, "127.0.0.1", 0, Tls(cert, tmp_path / "missing.pem"))
    assert re.match(r"^--tls-key: .*missing.pem is not a file", caught.value.worded(flag))


def _children(pid: int) -> list[int]:
    """The processes whose parent is pid (from /proc)."""
    found = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(fields[1]) == pid:
            found.append(int(stat_file.parent.name))
    return found


def test_serve_beyond_loopback_runs_the_production_server_with_tls(project: Path, tmp_path: Path) -> None:
    """The real command, in its own process, listening on every address; we connect over loopback.

    It is gunicorn with one worker process; its log has paths, never query strings; Ctrl+C in
    its terminal (SIGINT to its process group) lets the request in flight finish.
    """
    import os
    import signal
    import socket
    import subprocess
    import sys
    import threading
    import time

    cert, key = make_certificate(tmp_path)
    args = ["-v", "--project", str(project), "serve", "--host", "0.0.0.0", "--port", "0"]
    cmd = [sys.executable, "-m", "handouts", *args, "--tls-cert", str(cert), "--tls-key", str(key)]
    process = subprocess.Popen(
        cmd,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,  # its own process group, as in a terminal of its own
    )
    lines: list[str] = []
    assert process.stderr is not None
    reader = threading.Thread(target=lambda: lines.extend(iter(process.stderr.readline, "")), daemon=True)
    reader.start()

    def wait_for(pattern: str) -> re.Match[str]:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for line in list(lines):
                if found := re.search(pattern, line):
                    return found
            assert process.poll() is None or reader.is_alive(), lines
            time.sleep(0.05)
        raise AssertionError(f"no {pattern!r} in {lines}")

    try:
        port = int(wait_for(r"front desk: https://0\.0\.0\.0:(\d+)/").group(1))
        assert port, lines
        assert not any("warning" in line for line in lines)
        context = ssl.create_default_context(cafile=str(cert))
        connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
        connection.request("GET", "/")
        response = connection.getresponse()
        assert response.status == 302 and response.getheader("Location") == "/login?next=/"
        assert "Werkzeug" not in (response.getheader("Server") or "")
        assert response.getheader("Server") == "gunicorn"
        response.read()
        # Paths only in the access log, and nothing of a query string in any message.
        connection.request("GET", "/login?next=/Quintana")
        assert connection.getresponse().read()
        wait_for(r"INFO: 127\.0\.0\.1 GET /login -> 200 \(\d+ ms\)")
        with context.wrap_socket(
            socket.create_connection(("127.0.0.1", port)), server_hostname="127.0.0.1"
        ) as raw:
            raw.sendall(b"GET /x?name=Quintana\r\n\r\n")  # no HTTP version: gunicorn quotes the line
            assert raw.recv(100).startswith(b"HTTP/1.1 400")
        wait_for(r"WARNING: Invalid request from ip=127\.0\.0\.1: .*'GET /x\?…'")
        connection.close()
        # One gunicorn master (the command) and exactly one worker, its child.
        wait_for(r"Booting worker with pid: (\d+)")
        assert _children(process.pid) == [int(wait_for(r"Booting worker with pid: (\d+)").group(1))]
        # Ctrl+C with a request in flight: the request is answered, then the server stops.
        inflight = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=20)
        body = b"csrf_token=none&name=reception&password=correct+horse+battery"
        inflight.putrequest("POST", "/login")
        inflight.putheader("Content-Type", "application/x-www-form-urlencoded")
        inflight.putheader("Content-Length", str(len(body)))
        inflight.endheaders(body[:10])
        time.sleep(0.5)  # the worker has taken the request
        os.killpg(process.pid, signal.SIGINT)
        wait_for(r"Handling signal: int")
        time.sleep(0.5)
        inflight.send(body[10:])
        answer = inflight.getresponse()
        assert answer.status == 400 and "Form expired" in answer.read().decode()  # no session: no CSRF secret
        assert process.wait(20) == 0
        assert not _children(process.pid)
        with pytest.raises(ConnectionRefusedError):
            http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=5).request("GET", "/")
        reader.join(5)
        assert "Quintana" not in "".join(lines)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def test_a_taken_port_is_one_line_for_the_production_server(project: Path) -> None:
    import socket

    from handouts.web.production import ProductionServer

    app, _ = guarded_app(project)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(UsageError) as caught:
            ProductionServer(app, "127.0.0.1", port)
        code, _, err = run_cli(project, "serve", "--host", "0.0.0.0", "--allow-remote", "--port", str(port))
    assert re.fullmatch(rf"cannot listen on 127\.0\.0\.1:{port}: .+; choose another port", str(caught.value))
    assert code == 2, err
    assert re.search(rf"cannot listen on 0\.0\.0\.0:{port}: .+; choose another --port\n$", err), err
    assert "Traceback" not in err and "gunicorn" not in err


def test_sigterm_stops_the_command_and_its_worker(project: Path) -> None:
    """`serve` beyond loopback without TLS (a warning), stopped as systemd or `kill` stop it.

    With --preview, so the file watcher runs in the worker; a HUP keeps the same worker.
    """
    import os
    import signal
    import subprocess
    import sys
    import time

    args = ["-v", "--project", str(project), "serve", "--host", "0.0.0.0", "--allow-remote", "--port", "0"]
    args.append("--preview")
    process = subprocess.Popen(
        [sys.executable, "-m", "handouts", *args],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,
    )
    assert process.stderr is not None
    try:
        lines = []
        worker = port = 0
        deadline = time.monotonic() + 30
        while not (worker and port) and time.monotonic() < deadline:
            line = process.stderr.readline()
            assert line, lines  # the command is still running
            lines.append(line)
            if found := re.search(r"front desk: http://0\.0\.0\.0:(\d+)/", line):
                port = int(found.group(1))
            if found := re.search(r"Booting worker with pid: (\d+)", line):
                worker = int(found.group(1))
        assert worker and port, lines
        assert "without TLS" in lines[0]
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/")
        assert connection.getresponse().status == 302
        connection.close()
        process.send_signal(signal.SIGHUP)  # gunicorn's reload would replace the worker (and the day)
        while "HUP ignored" not in line:
            line = process.stderr.readline()
            assert line, lines
            lines.append(line)
        os.kill(worker, 0)  # still there
        process.send_signal(signal.SIGTERM)  # to the master only: it stops its worker
        rest = process.stderr.read()
        assert process.wait(20) == 0, rest
        assert f"Worker exiting (pid: {worker})" in rest and "Shutting down: Master" in rest
        assert "Traceback" not in rest and "Booting worker" not in rest  # no second worker
        with pytest.raises(ProcessLookupError):
            os.kill(worker, 0)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def test_behind_a_proxy_the_forwarded_client_is_the_client(
    project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from handouts.web.production import ProductionServer

    app, policy = guarded_app(project, secure_cookie=True)
    server = ProductionServer(app, "127.0.0.1", 0, behind_proxy=True)  # trusts the proxy (ProxyFix)
    server.start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        forwarded = {
            "X-Forwarded-For": "203.0.113.7",
            "X-Forwarded-Proto": "https",
            "Host": "desk.example.org",
        }
        connection.request("GET", "/", headers=forwarded)
        response = connection.getresponse()
        response.read()
        assert response.status == 302
        assert response.getheader("Location") == "/login?next=/"
    finally:
        server.server_close()
    client = app.test_client()
    with caplog.at_level(logging.INFO):
        response = client.post(
            "/login",
            data={"csrf_token": csrf(client), "name": "reception", "password": PASSWORD},
            headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"},
        )
    assert response.status_code == 302
    assert any("logged in from 203.0.113.7" in r.getMessage() for r in caplog.records)
    assert "Secure" in response.headers["Set-Cookie"]
