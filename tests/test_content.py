"""Bad content gives one line per problem, with file and line, all in one run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from helpers import CONSENT, INFO, french, override, run_cli, starter_text

Make = Callable[..., Path]


def errors_of(make_project: Make, files: dict[str, str]) -> tuple[int, list[str]]:
    root = make_project(files)
    code, out, err = run_cli(root, "validate")
    assert "Traceback" not in out + err
    return code, err.strip().splitlines()


def test_shipped_tiny_project_is_valid(tiny: Path) -> None:
    code, out, err = run_cli(tiny, "validate")
    assert code == 0, err
    assert "3 documents, 1 brands, 1 languages, 10 outputs" in out


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"content/documents/tiny-info/en.yaml": INFO.replace("title: Tiny information sheet\n", "")},
            "content/documents/tiny-info/en.yaml:1: title is missing: add 'title:' with a short text",
        ),
        (
            {"content/documents/tiny-info/en.yaml": INFO.replace("summary:", "sumary:")},
            "content/documents/tiny-info/en.yaml:6: unknown key 'sumary': did you mean 'summary'?",
        ),
        (
            {"content/documents/tiny-info/en.yaml": INFO.replace('version: "1.0"', "version: 1.0")},
            'content/documents/tiny-info/en.yaml:4: version: write it in quotes, e.g. "1.0"',
        ),
        (
            {"content/documents/tiny-info/en.yaml": INFO.replace("kind: info", "kind: leaflet")},
            "content/documents/tiny-info/en.yaml:2: kind: 'leaflet' is not a kind; write one of: info",
        ),
        (
            {"content/documents/tiny-info/en.yaml": INFO.replace("id: tiny-info", "id: other")},
            "content/documents/tiny-info/en.yaml:1: id: 'other' but the folder is 'tiny-info'",
        ),
        (
            {
                "content/documents/tiny-info/en.yaml": INFO.replace(
                    "    paragraphs:\n      - Thin needles go into tight muscles.\n", ""
                )
            },
            "content/documents/tiny-info/en.yaml:8: sections[0] is empty: give it paragraphs, bullets",
        ),
        (
            {"content/documents/tiny-consent/en.yaml": CONSENT.replace("  risks:", "  risky:")},
            "content/documents/tiny-consent/en.yaml:15: unknown key 'sections.risky': did you mean 'risks'?",
        ),
        (
            {"content/brands/tiny.yaml": "name: X\ncolors:\n  primary: red\n  accent: '#000000'\n"},
            'content/brands/tiny.yaml:3: colors.primary: write a colour as "#0b5d7a", in quotes',
        ),
        (
            {
                "content/brands/tiny.yaml": "name: X\nlogo: nope.svg\nlogo_alt: X\n"
                "colors: {primary: '#000000', accent: '#000000'}\n"
            },
            "content/brands/tiny.yaml:2: logo: file not found: content/brands/nope.svg",
        ),
        (
            {
                "content/brands/tiny.yaml": "name: X\nlogo: ../../../etc/passwd\nlogo_alt: X\n"
                "colors: {primary: '#000000', accent: '#000000'}\n"
            },
            "content/brands/tiny.yaml:2: logo: the file must be inside content/",
        ),
        (
            {
                "content/brands/tiny.yaml": "name: X\nfont: 'Evil; } body { color: red'\n"
                "colors: {primary: '#000000', accent: '#000000'}\n"
            },
            "content/brands/tiny.yaml:2: font: write a font family name of letters, digits, spaces",
        ),
        (
            {"content/documents/tiny-info/en.yaml": "id: [unclosed\n"},
            "content/documents/tiny-info/en.yaml:1: invalid YAML: a list in [ ] or keys in { } are not",
        ),
    ],
)
def test_each_bad_input_gives_one_line_with_file_and_line(
    make_project: Make, files: dict[str, str], expected: str
) -> None:
    code, lines = errors_of(make_project, files)
    assert code == 2
    assert any(line.startswith(expected) for line in lines), lines
    assert lines[-1].startswith("Aborted with")


def test_consent_section_that_is_empty_is_an_error(make_project: Make) -> None:
    empty = CONSENT.replace(
        "  risks:\n    heading: Risks heading\n    paragraphs:\n      - Risks text.\n",
        "  risks:\n    heading: Risks heading\n",
    )
    code, lines = errors_of(make_project, {"content/documents/tiny-consent/en.yaml": empty})
    assert code == 2
    assert any("sections.risks is empty: give it paragraphs" in line for line in lines), lines


def test_all_problems_are_reported_in_one_run(make_project: Make) -> None:
    code, lines = errors_of(
        make_project,
        {
            "content/documents/tiny-info/en.yaml": INFO.replace("title:", "titel:"),
            "content/brands/tiny.yaml": "name: X\ncolors: {primary: '#000000'}\n",
            "content/contraindications/en.yaml": "version: '1.0'\nitems: []\n",
        },
    )
    assert code == 2
    files = {line.split(":")[0] for line in lines[:-1]}
    assert files == {
        "content/documents/tiny-info/en.yaml",
        "content/brands/tiny.yaml",
        "content/contraindications/en.yaml",
    }
    assert lines[-1] == f"Aborted with {len(lines) - 1} content errors."


def test_missing_message_is_reported(make_project: Make) -> None:
    messages = starter_text("messages/en.yaml")
    root = make_project({**french(), "content/messages/fr.yaml": messages.replace("page: Page\n", "")}, "p2")
    code, _, err = run_cli(root, "validate")
    assert code == 2
    assert "content/messages/fr.yaml: message 'page' is missing" in err


def test_untranslated_document_falls_back_with_a_warning(make_project: Make) -> None:
    root = make_project(french(), "p3")  # French messages (the package's) and list, no documents
    code, out, err = run_cli(root, "validate")
    assert code == 0
    assert "content/documents/tiny-info/fr.yaml: warning: not translated" in err
    code, _, _ = run_cli(root, "validate", "--strict")
    assert code == 2


def test_template_syntax_error_names_template_and_line(tiny: Path) -> None:
    # The project's sheet.html.j2 shadows the theme's: the error names the project's file.
    override(tiny, "templates/sheet.html.j2").write_text(
        "{% extends 'base.html.j2' %}\n{% block content %}\n{{ oops(\n"
    )
    code, _, err = run_cli(tiny, "validate")
    assert code == 2
    assert err.startswith("templates/sheet.html.j2:3: template error")
