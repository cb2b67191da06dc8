"""The layers: a project's file wins over its theme's and the package's, file by file (layers.py)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from helpers import (
    INFO,
    STARTER,
    THEME,
    override,
    pdftotext,
    run_cli,
    starter_text,
    tiny_settings,
    write_tree,
)

Make = Callable[..., Path]

LARGE_PRINT_NOTE = "\nh1::after { content: ' (clinic large print)'; }\n"


def layers_of(root: Path):  # type: ignore[no-untyped-def]
    from handouts.layers import for_project
    from handouts.project import Project

    return for_project(Project(root))


def text_of(pdf: Path) -> str:
    return " ".join(pdftotext(pdf).split())


def built_paths(err: str) -> set[str]:
    return set(re.findall(r"^built: (\S+)$", err, re.M))


def test_a_project_file_wins_over_the_theme_file_of_the_same_path(tiny: Path) -> None:
    layers = layers_of(tiny)
    theme = layers.find("templates/styles/handout.css")
    assert (
        theme is not None and theme.origin == "theme default" and theme.path == THEME / "styles/handout.css"
    )
    mine = override(tiny, "templates/styles/handout.css")
    found = layers.find("templates/styles/handout.css")
    assert found is not None and found.from_project and found.path == mine
    # Only that file: the other stylesheet still comes from the theme.
    sheets = {s.rel: s.origin for s in layers.listing("templates/styles", "*.css")}
    assert sheets == {
        "templates/styles/handout.css": "project",
        "templates/styles/large-print.css": "theme default",
    }


def test_content_comes_from_the_starter_unless_the_project_has_it(tiny: Path) -> None:
    layers = layers_of(tiny)
    messages = layers.find("content/messages/fr.yaml")
    assert (
        messages is not None
        and messages.origin == "starter"
        and messages.path == STARTER / "messages/fr.yaml"
    )
    contra = layers.find("content/contraindications/en.yaml")
    assert contra is not None and contra.from_project  # the tiny project's own list


def test_brands_come_from_the_project_only(tiny: Path, tmp_path: Path) -> None:
    layers = layers_of(tiny)
    assert [s.rel for s in layers.listing("content/brands", "*.yaml")] == ["content/brands/tiny.yaml"]
    assert all(s.from_project for s in layers.listing("content/brands", "**/*"))


def test_a_project_document_replaces_the_starter_document_in_every_language(make_project: Make) -> None:
    # Starter documents on; a project document with a starter id, in English only.
    mine = INFO.replace("id: tiny-info", "id: dry-needling-info").replace("Tiny information sheet", "Our own")
    root = make_project(
        {
            "handouts.yaml": "languages: [en, fr]\n",
            "content/documents/dry-needling-info/en.yaml": mine,
            "content/contraindications/fr.yaml": starter_text("contraindications/fr.yaml"),
            "content/contraindications/en.yaml": starter_text("contraindications/en.yaml"),
        }
    )
    layers = layers_of(root)
    docs = {s.rel: s.origin for s in layers.documents() if "dry-needling" in s.rel}
    assert docs["content/documents/dry-needling-info/en.yaml"] == "project"
    assert "content/documents/dry-needling-info/fr.yaml" not in docs  # hidden with the whole document
    assert docs["content/documents/dry-needling-consent/fr.yaml"] == "starter"
    code, out, err = run_cli(root, "validate")
    assert code == 0, err
    assert "ok: 6 documents" in out  # three tiny ones and the three starter ones
    assert "content/documents/dry-needling-info/fr.yaml: warning: not translated" in err
    code, out, _ = run_cli(root, "list")
    assert "dry-needling-info  (info, v1.0, 2026-11-01) Our own" in out


def test_only_regular_files_and_project_paths_are_served(tiny: Path) -> None:
    from handouts.confine import RefusedFile

    layers = layers_of(tiny)
    (tiny / "templates/styles").mkdir(parents=True)
    (tiny / "templates/styles/folder.css").mkdir()  # a folder named like a stylesheet
    assert layers.find("templates/styles/folder.css") is None
    assert {s.rel for s in layers.listing("templates/styles", "*.css")} == {
        "templates/styles/handout.css",
        "templates/styles/large-print.css",
    }
    os.mkfifo(tiny / "templates/styles/pipe.css")  # a reader would block on it forever
    # Refused by name, never skipped in silence (nor served by the theme's file instead).
    with pytest.raises(RefusedFile, match=r"^templates/styles/pipe.css: not a regular file"):
        layers.find("templates/styles/pipe.css")
    with pytest.raises(RefusedFile, match="pipe.css"):
        layers.listing("templates/styles", "*.css")
    for bad in ("templates/../handouts.yaml", "/etc/passwd", "out/manifest.json", "src/handouts/layers.py"):
        with pytest.raises(ValueError):
            layers.find(bad)
    # Python modules of a theme package are not theme files.
    assert layers.find("templates/__init__.py") is None


def test_a_stylesheets_font_is_served_from_whichever_layer_serves_it(tiny: Path) -> None:
    layers = layers_of(tiny)
    css = override(tiny, "templates/styles/handout.css")
    # url(../fonts/HandoutsFields.ttf) in the project's stylesheet: the project has no fonts/.
    asked = css.parent / "../fonts/HandoutsFields.ttf"
    theirs = THEME / "fonts/HandoutsFields.ttf"
    assert layers.serve(asked) == (theirs.resolve(), theirs.read_bytes())
    font = override(tiny, "templates/fonts/HandoutsFields.ttf")
    font.write_bytes(font.read_bytes() + b"\0")
    # the project's now: its path and its bytes
    assert layers.serve(THEME / "styles/../fonts/HandoutsFields.ttf") == (font.resolve(), font.read_bytes())
    assert layers.serve(Path("/etc/passwd")) is None
    assert layers.serve(tiny / "handouts.yaml") is None  # the project root is not a layer


def test_a_stylesheet_override_shows_and_rebuilds_only_the_outputs_that_use_it(built_project: Path) -> None:
    root = built_project
    sheet = override(root, "templates/styles/large-print.css")
    sheet.write_text(sheet.read_text("utf-8") + LARGE_PRINT_NOTE, "utf-8")
    code, _, err = run_cli(root, "build")
    assert code == 0, err
    assert built_paths(err) == {
        "tiny/en/tiny-info-large-print.pdf",
        "tiny/en/tiny-aftercare-large-print.pdf",
        "tiny/en/tiny-consent-large-print.pdf",
        "tiny/en/tiny-consent-fillable-large-print.pdf",
        "tiny/en/_packet-stamp-large-print.pdf",
    }
    assert "Tiny information sheet (clinic large print)" in text_of(
        root / "out/tiny/en/tiny-info-large-print.pdf"
    )
    assert "clinic large print" not in text_of(root / "out/tiny/en/tiny-info.pdf")
    # Removing the override goes back to the theme's file: the same outputs again, nothing else.
    sheet.unlink()
    code, _, err = run_cli(root, "build")
    assert len(built_paths(err)) == 5
    assert "clinic large print" not in text_of(root / "out/tiny/en/tiny-info-large-print.pdf")


def test_a_broken_override_is_reported_at_the_projects_file_and_line(tiny: Path) -> None:
    base = override(tiny, "templates/base.html.j2")
    lines = base.read_text("utf-8").splitlines()
    lines.insert(4, "{% if %}")
    base.write_text("\n".join(lines) + "\n", "utf-8")
    code, _, err = run_cli(tiny, "validate")
    assert code == 2
    assert err.splitlines()[0].startswith("templates/base.html.j2:5: template error"), err
    assert str(THEME) not in err


def file_rows(out: str) -> dict[str, str]:
    """The `files (...)` block of list / validate -v: project path -> where it comes from."""
    block = out.split("\nfiles (", 1)[1].splitlines()[1:]
    rows = {}
    for line in block:
        words = line.split()
        at = next(i for i, word in enumerate(words) if word.startswith(("templates/", "content/")))
        rows[words[at]] = " ".join(words[:at])
    return rows


def test_list_and_validate_say_where_each_file_comes_from(tiny: Path) -> None:
    override(tiny, "templates/styles/handout.css")
    code, out, _ = run_cli(tiny, "list")
    assert code == 0
    assert "theme: default" in out
    assert "files (6 from the project, " in out
    rows = file_rows(out)
    assert rows["templates/styles/handout.css"] == "project"
    assert rows["templates/styles/large-print.css"] == "theme default"
    assert rows["templates/base.html.j2"] == "theme default"
    assert rows["content/messages/en.yaml"] == "starter"
    assert rows["content/jargon/en.yaml"] == "starter"
    assert rows["content/documents/tiny-info/en.yaml"] == "project"
    assert "content/messages/fr.yaml" not in rows  # French is not built here
    code, out, _ = run_cli(tiny, "validate", "-v")
    assert code == 0
    line = next(line for line in out.splitlines() if "templates/base.html.j2" in line)
    assert line.endswith(str(THEME / "base.html.j2"))  # where the package's file is, to copy it
    line = next(line for line in out.splitlines() if "templates/styles/handout.css" in line)
    assert line.split() == ["project", "templates/styles/handout.css"]


def test_an_unknown_theme_is_one_line_naming_the_installed_ones(make_project: Make) -> None:
    root = make_project({"handouts.yaml": tiny_settings("theme: nordic")})
    for command in (("validate",), ("build",), ("list",)):
        code, _, err = run_cli(root, *command)
        assert code == 2
        assert err.splitlines() == ["handouts.yaml:3: unknown theme 'nordic'; installed themes: default"], err


def test_languages_setting_picks_what_is_built(make_project: Make) -> None:
    # The package has French messages; the tiny project builds English only, so no French output.
    root = make_project()
    code, out, _ = run_cli(root, "list")
    assert "languages: en\n" in out and "tiny/fr/" not in out
    write_tree(root, {"content/messages/de.yaml": starter_text("messages/en.yaml")})  # not listed
    code, _, err = run_cli(root, "validate")
    assert code == 0 and "content/messages/de.yaml: warning: not built: handouts.yaml's 'languages'" in err
    (root / "content/messages/de.yaml").unlink()
    write_tree(root, {"handouts.yaml": tiny_settings(langs=("en", "de"))})
    code, _, err = run_cli(root, "validate")
    assert code == 2
    assert "'languages' lists 'de', which has no message catalogue" in err
    write_tree(root, {"handouts.yaml": "default_language: fr\nlanguages: [en]\n"})
    code, _, err = run_cli(root, "validate")
    assert code == 2 and "'languages' must include the default language 'fr'" in err


def test_a_project_without_settings_gets_every_starter_document(make_project: Make) -> None:
    root = make_project()
    (root / "handouts.yaml").unlink()
    (root / "content/contraindications/en.yaml").unlink()  # the starter's list, for its consent form
    code, out, err = run_cli(root, "validate")
    assert code == 0, err
    assert "ok: 6 documents, 1 brands, 2 languages" in out  # en and fr: the package has both


@pytest.fixture
def fake_theme(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A theme package 'calm' on sys.path, registered as the entry points would (builds use -j 1)."""
    from handouts import layers

    package = tmp_path / "site" / "calm_theme"
    write_tree(
        package, {"__init__.py": "", "styles/large-print.css": (THEME / "styles/large-print.css").read_text()}
    )
    monkeypatch.syspath_prepend(str(package.parent))
    monkeypatch.setattr(
        layers, "installed_themes", lambda: {"calm": "calm_theme", "default": "handouts.theme"}
    )
    return package


def test_a_theme_serves_its_files_over_the_built_in_theme(built_project: Path, fake_theme: Path) -> None:
    from handouts.build.snapshot import current
    from handouts.project import Project

    root = built_project
    write_tree(root, {"handouts.yaml": tiny_settings("theme: calm")})
    code, out, _ = run_cli(root, "list")
    rows = file_rows(out)
    assert rows["templates/styles/large-print.css"] == "theme calm"
    assert rows["templates/base.html.j2"] == "theme default"  # what the theme does not have
    code, _, err = run_cli(root, "build", "-j", "1")
    assert code == 0 and built_paths(err) == set(), err  # the same bytes as the built-in file
    assert current(Project(root)) is not None
    # A new release of the theme changes its stylesheet: the snapshot no longer holds, and
    # exactly the outputs that use that stylesheet are rebuilt.
    sheet = fake_theme / "styles/large-print.css"
    sheet.write_text(sheet.read_text() + LARGE_PRINT_NOTE)
    assert current(Project(root)) is None
    code, _, err = run_cli(root, "build", "-j", "1")
    assert code == 0 and len(built_paths(err)) == 5, err
    assert all(path.endswith("large-print.pdf") for path in built_paths(err))
    assert "(clinic large print)" in text_of(root / "out/tiny/en/tiny-aftercare-large-print.pdf")
