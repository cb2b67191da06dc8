"""The print test (tests/printcheck.py) fails on broken layouts (test_catalogue.py runs it on the
shipped catalogue, which passes).

Each broken layout is a small HTML page rendered by the same code as the build (tagged, so the
checks know headings from body text), broken in one way; the check for that way reports it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import printcheck
from helpers import override, run_cli, write_tiny

WORDS = " ".join(["Soreness after needling is normal and fades in a day or two."] * 12)


def render(tmp_path: Path, body: str, css: str = "", size: str = "letter") -> tuple[Path, Any]:
    """A tagged PDF of body (as the build makes it) and WeasyPrint's layout of the same HTML."""
    import weasyprint

    from handouts.render.pdf import html_to_pdf

    html = (
        f'<html lang="en"><head><title>Broken</title><style>@page {{ size: {size}; margin: 20mm }}'
        f" body {{ font-family: 'DejaVu Sans'; font-size: 12pt }} {css}</style></head>"
        f"<body>{body}</body></html>"
    )
    data, _ = html_to_pdf(html, base_url=tmp_path, serve=lambda path: None, identifier=b"0" * 32)
    path = tmp_path / "broken.pdf"
    path.write_bytes(data)
    return path, weasyprint.HTML(string=html).render()


def checks(problems: list[printcheck.Problem]) -> set[str]:
    return {p.check for p in problems}


def test_a_good_page_passes(tmp_path: Path) -> None:
    body = "<h1>Title</h1>" + "".join(f"<h2>Part {i}</h2><p>{WORDS}</p>" for i in range(6))
    path, layout = render(tmp_path, body, "h2 { break-after: avoid }")
    assert printcheck.check_pdf(path, "letter") == []
    assert printcheck.check_layout(layout) == []


def test_heading_at_the_bottom_of_a_page(tmp_path: Path) -> None:
    body = f"<h1>Title</h1><p>{WORDS}</p><h2>After your session</h2><p>{WORDS}</p>"
    path, _ = render(tmp_path, body, "h2 { break-after: page }")
    problems = printcheck.check_pdf(path, "letter")
    assert [(p.check, p.page) for p in problems] == [("heading-at-bottom", 1)]
    assert "'After your session'" in problems[0].message


def test_page_less_than_a_fifth_full(tmp_path: Path) -> None:
    body = f"<h1>Title</h1><p>One line.</p><p style='break-before: page'>{WORDS}</p><p>{WORDS}</p>"
    problems = printcheck.check_pdf(render(tmp_path, body)[0], "letter")
    assert [(p.check, p.page) for p in problems] == [("fill", 1)]


def test_text_in_the_unprintable_margin_and_beyond_the_page(tmp_path: Path) -> None:
    body = (
        "<h1>Title</h1><p>Near the edge.</p><p style='position: absolute; left: -30mm; top: 40mm'>Cut off</p>"
    )
    problems = printcheck.check_pdf(render(tmp_path, body, "@page { margin: 3mm }")[0], "letter")
    assert checks(problems) == {"printable-margin", "inside-page"}
    assert any("mm from the left edge" in p.message for p in problems)


def test_page_size_is_the_brands(tmp_path: Path) -> None:
    path, _ = render(tmp_path, "<h1>Title</h1><p>Text.</p>", size="a4")
    assert printcheck.check_pdf(path, "a4") == []
    assert checks(printcheck.check_pdf(path, "letter")) == {"page-size"}


def test_split_table_row(tmp_path: Path) -> None:
    rows = "".join(f"<tr><td>Question {i}: {WORDS}</td><td>Yes</td></tr>" for i in range(8))
    head = "<thead><tr><th>Question</th><th>Answer</th></tr></thead>"
    body = f"<h1>Title</h1><table>{head}<tbody>{rows}</tbody></table>"
    _, layout = render(tmp_path, body)
    problems = printcheck.check_layout(layout)
    assert problems and all(p.message.startswith("table row 'Question") for p in problems)
    # Kept whole, the same rows pass (the header row repeats on each page: not a split).
    assert printcheck.check_layout(render(tmp_path, body, "tr { break-inside: avoid }")[1]) == []


def test_split_numbered_step_and_kept_block(tmp_path: Path) -> None:
    steps = "".join(f"<li><b>Step {i}.</b> {WORDS}</li>" for i in range(3))
    # The spacer leaves room for a few lines only: the first step starts and runs over.
    _, layout = render(tmp_path, f"<h1>Title</h1><div style='height: 190mm'></div><ol>{steps}</ol>")
    assert [p.message.split(" '")[0] for p in printcheck.check_layout(layout)] == ["numbered step"]
    box = f"<div class='urgent' style='break-inside: avoid'>{WORDS * 8}</div>"
    problems = printcheck.check_layout(render(tmp_path, f"<h1>Title</h1>{box}")[1])
    assert any("(break-inside: avoid)" in p.message for p in problems)


def test_broken_templates_fail_the_print_test(tmp_path: Path) -> None:
    """The real templates with the page margins taken away and headings pushed to page ends."""
    root = write_tiny(tmp_path / "proj")
    css = override(root, "templates/styles/handout.css")
    css.write_text(css.read_text("utf-8") + "\n@page { margin: 4mm }\nh2 { break-after: page }\n", "utf-8")
    code, _, err = run_cli(root, "build", "--only", "tiny-info", "-j", "1")
    assert code == 0, err
    found = printcheck.check_catalogue(root, docs=("tiny-info",))
    problems = found["tiny/en/tiny-info.pdf"]
    assert {"printable-margin", "heading-at-bottom"} <= checks(problems)
