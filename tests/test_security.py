"""Content is data, never template code; documents cannot read files or reach the network."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from helpers import INFO, override, pdftotext, run_cli

Make = Callable[..., Path]

HOSTILE = [
    "{{ 7 * 7 }} and {% raw %}",
    '<img src="file:///etc/passwd">',
    "<b>bold?</b> <script>alert(1)</script>",
    '</p><link rel="attachment" href="file:///etc/passwd">',
    "url(http://127.0.0.1:9/) @import 'x.css';",
]


@pytest.fixture
def canary() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on loopback that records every request made to it."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"body { color: red }")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()


def test_hostile_content_prints_literally(make_project: Make) -> None:
    paragraphs = "".join("      - " + json.dumps(h.replace('"', "'")) + "\n" for h in HOSTILE)
    info = INFO.replace("      - Thin needles go into tight muscles.\n", paragraphs)
    root = make_project({"content/documents/tiny-info/en.yaml": info})
    code, _, err = run_cli(root, "build", "--only", "tiny-info")
    assert code == 0, err
    pdf = root / "out/tiny/en/tiny-info.pdf"
    text = " ".join(pdftotext(pdf).split())
    assert "{{ 7 * 7 }}" in text and "49" not in text
    assert "<img src='file:///etc/passwd'>" in text
    assert "<script>alert(1)</script>" in text
    assert "root:x:0" not in text
    from pypdf import PdfReader

    reader = PdfReader(pdf)
    assert "/EmbeddedFiles" not in str(reader.trailer["/Root"].get("/Names", {}))
    assert reader.attachments == {}


def test_hostile_brand_name_is_escaped(make_project: Make) -> None:
    brand = "name: \"</title><script>x</script> & Co\"\ncolors: {primary: '#000000', accent: '#000000'}\n"
    root = make_project({"content/brands/tiny.yaml": brand})
    code, _, err = run_cli(root, "render", "tiny-info", "--html", "-o", str(root / "x.html"))
    assert code == 0, err
    html = (root / "x.html").read_text()
    assert "<script>x</script>" not in html
    assert "&lt;/title&gt;&lt;script&gt;x&lt;/script&gt; &amp; Co" in html


@pytest.mark.parametrize(
    "snippet",
    [
        '<img src="file:///etc/passwd">',
        '<link rel="stylesheet" href="file:///etc/passwd">',
        '<link rel="attachment" href="file:///etc/hostname">',
        "<style>@import url(file:///etc/passwd);</style>",
    ],
)
def test_template_cannot_load_files_outside_the_project(tiny: Path, snippet: str) -> None:
    sheet = override(tiny, "templates/sheet.html.j2")
    sheet.write_text(sheet.read_text().replace("{% block content %}", "{% block content %}" + snippet))
    code, _, err = run_cli(tiny, "build", "--only", "tiny-info")
    assert code == 2
    assert "refused to load file:///etc/" in err
    assert "documents may only use files in the project" in err
    assert not (tiny / "out/tiny/en/tiny-info.pdf").exists()


def test_template_cannot_reach_the_network(tiny: Path, canary: tuple[str, list[str]]) -> None:
    url, hits = canary
    sheet = override(tiny, "templates/sheet.html.j2")
    sheet.write_text(
        sheet.read_text().replace(
            "{% block content %}",
            f'{{% block content %}}<link rel="stylesheet" href="{url}/a.css"><img src="{url}/b.png">'
            f'<style>@import "{url}/c.css"; body {{ background: url({url}/d.png) }}</style>',
        )
    )
    code, _, err = run_cli(tiny, "build", "--only", "tiny-info")
    assert code == 2
    assert f"refused to load {url}" in err
    assert hits == []


def test_canary_server_records_requests(canary: tuple[str, list[str]]) -> None:
    """The canary itself works, so an empty hit list above means something."""
    import urllib.request

    url, hits = canary
    urllib.request.urlopen(f"{url}/ping").read()
    assert hits == ["/ping"]


def test_no_traceback_for_a_missing_project(tmp_path: Path) -> None:
    code, _, err = run_cli(tmp_path, "build")
    assert code == 2
    assert "not a handouts project" in err and "Traceback" not in err
