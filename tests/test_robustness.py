"""Prove it holds: generated hostile input and injected faults never hurt a clinic.

Every class here has a guard in the code it exercises; each test fails when that guard is
removed (see the notes on the robustness issue). Example counts are bounded for CI; run
`./dev test tests/test_robustness.py --long` for many more.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, NameObject, NumberObject, TextStringObject

from helpers import INFO, copy_project, run_cli, tally, tiny_settings

Make = Callable[..., Path]
ERROR_LINE = re.compile(r"^(content|templates)/[^:\s]+(:\d+)?: .+$|^Aborted with \d+ content errors?\.$")


@contextlib.contextmanager
def hang_guard(seconds: int) -> Iterator[None]:
    """Fail (instead of hanging the suite) when a call runs away; not a speed check."""

    def stop(signum: int, frame: object) -> None:
        raise AssertionError(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


# --- content: generated YAML ------------------------------------------------------------

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(min_size=1, max_size=12), inner, max_size=4)
    ),
    max_leaves=25,
)
INFO_DATA = yaml.safe_load(INFO)

SNIPPETS = [
    "\t",
    "&a ",
    "*a",
    "<<: *a\n",
    "\ufeff",
    "---\n",
    "!!python/object/apply:os.system ['id']",
    "x" * 5000,
    "[" * 80,
    "{a: ",
    "key: value: more",
    "- - - -",
    "\x00",
    "%YAML 9.9\n",
]


@st.composite
def mutated_info(draw: st.DrawFn) -> dict[str, object]:
    data = json.loads(json.dumps(INFO_DATA, default=str))
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(["drop", "replace", "add", "section"]))
        keys = list(data)
        if action == "drop" and keys:
            data.pop(draw(st.sampled_from(keys)))
        elif action == "replace" and keys:
            data[draw(st.sampled_from(keys))] = draw(values)
        elif action == "add":
            data[draw(st.text(min_size=1, max_size=10))] = draw(values)
        elif isinstance(data.get("sections"), list) and data["sections"]:
            section = data["sections"][0]
            if isinstance(section, dict):
                section[
                    draw(
                        st.sampled_from(
                            ["heading", "paragraphs", "bullets", "steps", "write_in_lines", "colour"]
                        )
                    )
                ] = draw(values)
    return data


@st.composite
def spliced_text(draw: st.DrawFn) -> bytes:
    lines = INFO.splitlines(keepends=True)
    at = draw(st.integers(0, len(lines)))
    snippet = draw(st.sampled_from(SNIPPETS))
    return "".join(lines[:at] + [snippet] + lines[at:]).encode("utf-8", "surrogatepass")


documents = st.one_of(
    values.map(lambda v: yaml.safe_dump(v, allow_unicode=True).encode()),
    mutated_info().map(lambda v: yaml.safe_dump(v, allow_unicode=True).encode()),
    spliced_text(),
    st.binary(max_size=300),
    st.binary(max_size=60).map(lambda b: INFO.encode()[:200] + b),
)


@pytest.fixture
def fuzz_project(make_project: Make) -> Path:
    return make_project()


def check_validate_output(code: int, out: str, err: str) -> None:
    assert "Traceback" not in out + err
    assert code in (0, 2), (code, err)
    if code == 2:
        lines = err.strip().splitlines()
        assert lines, "a failure must say why"
        assert all(ERROR_LINE.match(line) for line in lines), lines


@given(text=documents)
@example(text=b"\x00")  # found by this test: a reader error printed two lines
@example(text=INFO.replace("title:", '"\\r": x\ntitle:').encode())  # found too: a key holding CR
def test_generated_content_gives_success_or_file_line_errors(fuzz_project: Path, text: bytes) -> None:
    (fuzz_project / "content/documents/tiny-info/en.yaml").write_bytes(text)
    tally("content inputs validated")
    with hang_guard(30):
        code, out, err = run_cli(fuzz_project, "validate")
    check_validate_output(code, out, err)
    tally("content tracebacks", int("Traceback" in out + err))


@settings(max_examples=12)
@given(text=documents)
def test_generated_content_never_leaves_partial_files(fuzz_project: Path, text: bytes) -> None:
    (fuzz_project / "content/documents/tiny-info/en.yaml").write_bytes(text)
    tally("content inputs built")
    with hang_guard(60):
        code, out, err = run_cli(fuzz_project, "build", "--only", "tiny-info", "-j", "1")
    assert "Traceback" not in out + err
    assert code in (0, 2), err
    out_dir = fuzz_project / "out"
    assert not list(out_dir.rglob("*.partial"))
    for pdf in out_dir.rglob("*.pdf"):
        assert len(PdfReader(pdf).pages) >= 1
    tally("partial files", len(list(out_dir.rglob("*.partial"))))


def test_alias_bomb_is_refused_with_bounded_memory(tiny: Path) -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 12)]
    (tiny / "content/documents/tiny-info/en.yaml").write_text("\n".join(lines) + "\n")
    tracemalloc.start()
    with hang_guard(30):
        code, _, err = run_cli(tiny, "validate")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert code == 2
    assert "content/documents/tiny-info/en.yaml:" in err and "runaway aliases" in err
    assert peak < 200 * 2**20
    tally("alias bombs refused")


# --- template injection -----------------------------------------------------------------

HOSTILE = st.lists(
    st.sampled_from(
        [
            "{{ 7*7 }}",
            "{% for x in y %}",
            "<img src='file:///etc/passwd'>",
            "<link rel='attachment' href='file:///etc/hostname'>",
            "url(http://127.0.0.1:9/)",
            "@import 'http://127.0.0.1:9/x.css';",
            "</style><style>*{}",
            "<svg><image href='x'/>",
            "&lt;",
            "\u202e",
            "<script>alert(1)</script>",
            "${x}",
            "%PDF-1.7",
        ]
    ),
    min_size=1,
    max_size=4,
).map(" ".join)


@given(payload=HOSTILE)
def test_hostile_strings_are_escaped_in_the_html(tiny: Path, payload: str) -> None:
    from markupsafe import escape

    from handouts.content.catalogue import load_catalogue
    from handouts.project import Project
    from handouts.render.html import render_html
    from handouts.render.outputs import OutputSpec

    info = INFO.replace("      - Thin needles go into tight muscles.\n", f"      - {json.dumps(payload)}\n")
    (tiny / "content/documents/tiny-info/en.yaml").write_text(info)
    page = render_html(load_catalogue(Project(tiny)), OutputSpec("tiny", "en", "tiny-info"))
    assert str(escape(payload)) in page  # exactly as Jinja's autoescape writes it
    for tag in ("<img src='file", "<link rel='attachment'", "<script>", "<svg>"):
        assert tag not in page
    tally("injection strings rendered")


def test_injected_content_and_patient_fields_never_reach_the_network(tiny: Path, tmp_path: Path) -> None:
    import http.server
    import threading

    hits: list[str] = []

    class Canary(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Canary)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    payloads = [
        f"<img src='{url}/img'>",
        f"url({url}/css)",
        f"@import '{url}/imp.css';",
        f"<link rel='stylesheet' href='{url}/link'>",
        f"<svg><image href='{url}/svg'/></svg>",
    ]
    try:
        info = INFO.replace(
            "      - Thin needles go into tight muscles.\n",
            "".join(f"      - {json.dumps(p)}\n" for p in payloads),
        )
        (tiny / "content/documents/tiny-info/en.yaml").write_text(info)
        brand = f"name: {json.dumps(payloads[0])}\ncity: {json.dumps(payloads[1])}\n"
        brand += "colors: {primary: '#000000', accent: '#000000'}\n"
        (tiny / "content/brands/tiny.yaml").write_text(brand)
        code, _, err = run_cli(tiny, "build", "--only", "tiny-info")
        assert code == 0, err
        code, _, err = run_cli(
            tiny,
            "packet",
            "--patient",
            payloads[0][:100],
            "--therapist",
            payloads[1],
            "--area",
            payloads[3][:100],
            "--docs",
            "info",
            "-o",
            str(tmp_path / "p.pdf"),
        )
        assert code == 0, err
    finally:
        server.shutdown()
    assert hits == []
    tally("network contacts", len(hits))


# --- PDF input to screen ----------------------------------------------------------------


@pytest.fixture(scope="module")
def forms(tiny_built: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """A flagged and an incomplete filled consent form, and the project that made them."""
    root = copy_project(tiny_built, tmp_path_factory.mktemp("fuzzforms") / "proj")
    blank = root / "out/tiny/en/tiny-consent-fillable.pdf"
    result = {"root": str(root).encode()}
    for name, values in {
        "flagged": {
            "contraindication.pregnancy": "/yes",
            "contraindication.metal-allergy": "/no",
            "consent.agree": "/Yes",
            "patient.signature": "A B",
            "patient.date": "2026-12-01",
        },
        "incomplete": {
            "contraindication.pregnancy": "/no",
            "consent.agree": "/Yes",
            "patient.signature": "A B",
            "patient.date": "2026-12-01",
        },
    }.items():
        writer = PdfWriter(clone_from=PdfReader(blank))
        writer.update_page_form_field_values(None, values, auto_regenerate=False)
        buffer = io.BytesIO()
        writer.write(buffer)
        result[name] = buffer.getvalue()
    return result


def _structural(data: bytes, how: str) -> bytes:
    """Change a form the way a careless tool (or an attacker) might."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    top = writer._root_object["/AcroForm"]["/Fields"]
    # The checklist's parent field `contraindication` holds one kid per question.
    group = next(f.get_object() for f in top if f.get_object().get("/T") == "contraindication")
    fields = group["/Kids"]
    target = next(f.get_object() for f in fields if f.get_object().get("/T") == "pregnancy")
    if how == "remove":
        fields.remove(next(f for f in fields if f.get_object() is target))
    elif how == "rename":
        target[NameObject("/T")] = TextStringObject("pregnancy-old")
    elif how == "retype":
        target[NameObject("/FT")] = NameObject("/Tx")
    elif how == "odd-value":
        target[NameObject("/V")] = NameObject("/maybe")
    elif how == "text-value":
        target[NameObject("/V")] = TextStringObject("no")
    elif how == "nested":
        deep: object = NumberObject(1)
        for _ in range(900):  # as deep as pypdf itself can write
            deep = ArrayObject([deep])
        target[NameObject("/Nest")] = deep  # type: ignore[assignment]
    elif how == "encrypt":
        writer.encrypt("secret", algorithm="AES-256")
    elif how == "no-meta":
        writer._info = None  # type: ignore[assignment]
        writer.add_metadata({"/Title": "x"})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


@st.composite
def mutations(draw: st.DrawFn) -> tuple[str, str]:
    base = draw(st.sampled_from(["flagged", "incomplete"]))
    kind = draw(st.sampled_from(["truncate", "flip", "cut", "xref", "structural"]))
    return base, kind


@given(choice=mutations(), data=st.data())
def test_mutated_forms_are_never_reported_clear(
    forms: dict[str, bytes],
    tmp_path_factory: pytest.TempPathFactory,
    choice: tuple[str, str],
    data: st.DataObject,
) -> None:
    base, kind = choice
    original = forms[base]
    if kind == "truncate":
        mutated = original[: data.draw(st.integers(0, len(original) - 1))]
    elif kind == "flip":
        buffer = bytearray(original)
        for _ in range(data.draw(st.integers(1, 20))):
            at = data.draw(st.integers(0, len(buffer) - 1))
            buffer[at] ^= data.draw(st.integers(1, 255))
        mutated = bytes(buffer)
    elif kind == "cut":
        start = data.draw(st.integers(0, len(original) - 1))
        mutated = original[:start] + original[start + data.draw(st.integers(1, 5000)) :]
    elif kind == "xref":
        mutated = original.replace(b"startxref", b"startxrex").replace(b"/XRef", b"/XRex")
    else:
        how = data.draw(
            st.sampled_from(
                ["remove", "rename", "retype", "odd-value", "text-value", "nested", "encrypt", "no-meta"]
            )
        )
        mutated = _structural(original, how)
    path = tmp_path_factory.mktemp("m") / "form.pdf"
    path.write_bytes(mutated)
    tally("PDF mutations screened")
    tracemalloc.start()
    with hang_guard(30):
        code, out, err = run_cli(Path(forms["root"].decode()), "screen", str(path))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert "Traceback" not in out + err
    assert code != 0, f"a damaged {base} form was reported all-clear ({kind})"
    assert code in (1, 2, 3)
    if code == 2:
        assert len(err.strip().splitlines()) == 1
    assert peak < 300 * 2**20
    tally("wrong all-clear verdicts", int(code == 0))


# --- faults -----------------------------------------------------------------------------


@contextlib.contextmanager
def small_disk(where: Path, size: str) -> Iterator[Path]:
    """A tiny tmpfs mounted at where (these machines run the suite as root)."""
    where.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True, text=True
    )
    assert result.returncode == 0, f"cannot mount a tmpfs (run the suite as root): {result.stderr}"
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_full_disk_gives_a_clear_error_and_keeps_previous_outputs(tiny: Path, tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", "400k") as disk:
        out = disk / "out"
        code, _, err = run_cli(tiny, "build", "--only", "tiny-info", "--out", str(out))
        assert code == 0, err
        before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
        filler = disk / "filler"
        with contextlib.suppress(OSError), open(filler, "wb") as handle:
            while True:
                handle.write(b"\0" * 4096)
                handle.flush()
        info = tiny / "content/documents/tiny-info/en.yaml"
        info.write_text(info.read_text().replace("A small sheet", "A changed sheet"))
        tally("faults injected")
        code, _, err = run_cli(tiny, "build", "--only", "tiny-info", "--out", str(out))
        assert code == 2
        assert "disk full" in err and "Traceback" not in err
        after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
        assert after == before  # no truncated file, previous outputs and manifest intact
        filler.unlink()
        code, _, err = run_cli(tiny, "build", "--only", "tiny-info", "--out", str(out))
        assert code == 0, err


def test_read_only_output_gives_a_clear_error(tiny: Path, tmp_path: Path) -> None:
    with small_disk(tmp_path / "ro", "1m") as disk:
        code, _, err = run_cli(tiny, "build", "--only", "tiny-info", "--out", str(disk / "out"))
        assert code == 0, err
        before = {p: p.read_bytes() for p in (disk / "out").rglob("*") if p.is_file()}
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        (tiny / "content/documents/tiny-info/en.yaml").write_text(INFO.replace("Thin", "Fine"))
        tally("faults injected")
        code, _, err = run_cli(tiny, "build", "--only", "tiny-info", "--out", str(disk / "out"))
        assert code == 2
        assert "Read-only file system" in err and "Traceback" not in err
        assert {p: p.read_bytes() for p in (disk / "out").rglob("*") if p.is_file()} == before


def test_concurrent_builds_keep_manifest_and_files_consistent(make_project: Make) -> None:
    import hashlib

    root = make_project(
        {"content/brands/other.yaml": "name: Other\ncolors: {primary: '#000000', accent: '#000000'}\n"}
    )
    base = [sys.executable, "-m", "handouts", "--project", str(root), "-q", "build", "-j", "1", "--brand"]
    # Two builds of different parts of one out/ at once: without the lock, the manifest
    # written last would drop the other build's entries.
    first = subprocess.Popen([*base, "tiny"])
    second = subprocess.Popen([*base, "other"])
    assert first.wait() == 0 and second.wait() == 0
    tally("faults injected", 2)
    manifest = json.loads((root / "out/manifest.json").read_text())
    assert {e["brand"] for e in manifest["outputs"]} == {"tiny", "other"}
    for entry in manifest["outputs"]:
        assert hashlib.sha256((root / "out" / entry["path"]).read_bytes()).hexdigest() == entry["sha256"]
    assert run_cli(root, "build", "--check")[0] == 0


# --- appointments: CSV input, killed runs, a mail server that hangs up --------------------


@pytest.fixture(scope="module")
def day_project(tiny_built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_project(tiny_built, tmp_path_factory.mktemp("day") / "proj")


CELLS = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            '=HYPERLINK("http://127.0.0.1:9/","x")',
            "+1+1",
            "-2",
            "@SUM(A1)",
            "2026-02-30",
            "info,consent",
            "nope",
            "Zoë",
            '"quoted, comma"',
            "\t=cmd",
            "",
        ]
    ),
)


@settings(max_examples=15)
@given(
    rows=st.lists(st.lists(CELLS, min_size=1, max_size=10), min_size=0, max_size=4),
    header=st.sampled_from(["patient,dob,date,docs", "patient,extra,docs", "name,dob", "patient"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16"]),
)
def test_generated_appointment_files_never_crash(
    day_project: Path,
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[list[str]],
    header: str,
    encoding: str,
) -> None:
    import csv

    folder = tmp_path_factory.mktemp("csv")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header.split(","))
    writer.writerows(rows)
    (folder / "day.csv").write_bytes(buffer.getvalue().encode(encoding, "replace"))
    tally("appointment files tried")
    with hang_guard(120):
        code, out, err = run_cli(
            day_project, "packets", "--csv", str(folder / "day.csv"), "--out", str(folder / "out")
        )
    assert "Traceback" not in out + err
    assert code in (0, 2), err
    report = folder / "out" / "report.csv"
    if report.exists():
        for line in csv.reader(report.read_text("utf-8").splitlines()):
            for cell in line:
                assert not cell.startswith(("=", "+", "-", "@", "\t")), cell
    for pdf in (folder / "out").rglob("*.pdf"):
        assert len(PdfReader(pdf).pages) >= 1


def test_killed_packets_run_leaves_only_whole_files_and_a_rerun_completes(
    day_project: Path, tmp_path: Path
) -> None:
    rows = "".join(f"Patient {i},1980-01-{i + 1:02d},2026-12-01,info;consent;aftercare\n" for i in range(12))
    (tmp_path / "day.csv").write_text("patient,dob,date,docs\n" + rows)
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "handouts",
        "--project",
        str(day_project),
        "-q",
        "packets",
        "--csv",
        str(tmp_path / "day.csv"),
        "--out",
        str(out),
    ]
    import random
    import time

    rng = random.Random(11)
    for _ in range(4):
        proc = subprocess.Popen(
            command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(0.6, 2.5))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        tally("faults injected")
        for pdf in out.rglob("*.pdf"):
            assert len(PdfReader(pdf).pages) >= 1, pdf
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert len(list(out.glob("*.pdf"))) == 12
    assert not [p for p in out.iterdir() if p.name.startswith(".") and p.suffix != ".lock"]


def test_mail_server_that_hangs_up_mid_message(day_project: Path, tmp_path: Path) -> None:
    import socketserver
    import threading

    from test_mail import Inbox, start_server

    class HangUp(socketserver.StreamRequestHandler):
        """Speaks SMTP until the message body starts, then drops the connection."""

        def handle(self) -> None:
            self.wfile.write(b"220 test\r\n")
            while line := self.rfile.readline():
                if line.upper().startswith(b"DATA"):
                    self.wfile.write(b"354 go ahead\r\n")
                    self.rfile.read(200)
                    return
                self.wfile.write(b"250 ok\r\n")

    rows = "".join(f"Patient {i},2026-12-01,info,p{i}@example.org\n" for i in range(3))
    (tmp_path / "day.csv").write_text("patient,date,docs,email\n" + rows)
    project = tmp_path / "proj"
    shutil.copytree(day_project, project)

    def settings_for(port: int) -> None:
        (project / "handouts.yaml").write_text(
            tiny_settings() + f"smtp:\n  host: 127.0.0.1\n  port: {port}\n  security: none\n"
            "  from: c@example.org\n  timeout: 5\n"
        )

    command = ["packets", "--csv", str(tmp_path / "day.csv"), "--out", str(tmp_path / "out"), "--email"]
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), HangUp) as rude:
        threading.Thread(target=rude.serve_forever, daemon=True).start()
        settings_for(rude.server_address[1])
        with hang_guard(60):
            code, out, err = run_cli(project, *command)
        rude.shutdown()
    tally("faults injected")
    assert code == 4, err
    assert err.count("not sent") == 3 and "Traceback" not in err
    inbox = Inbox()
    controller, port = start_server(inbox)
    try:
        settings_for(port)
        assert run_cli(project, *command)[0] == 0
        assert run_cli(project, *command)[0] == 0  # nothing left to send
    finally:
        controller.stop()
    assert sorted(rcpt[0] for _, rcpt, _ in inbox.received) == [f"p{i}@example.org" for i in range(3)]
    tally("duplicate emails", len(inbox.received) - 3)
