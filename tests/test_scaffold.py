"""`handouts init` and `handouts new`: files that work at once, or one line and nothing written."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from helpers import pdftotext, run_cli

Make = Callable[..., Path]
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10"><rect width="20" height="10"/></svg>'


def init(cwd: Path, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    """Run `handouts init ARGS` in-process with cwd as the current folder."""
    from click.testing import CliRunner

    from handouts.cli import main

    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(cwd)
        result = CliRunner().invoke(main, ["init", *args], input=stdin, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def image(kind: str) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 4), (11, 93, 122)).save(buffer, format=kind)
    return buffer.getvalue()


def tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_init_makes_a_project_of_the_clinics_own_files(tmp_path: Path) -> None:
    code, out, err = init(tmp_path, "clinic", "--clinic", "Café Santé Physio", "--city", "Montréal",
                          "--phone", "555-0100", "--lang", "fr,en", "--page-size", "a4")  # fmt: skip
    assert code == 0, err
    root = tmp_path / "clinic"
    assert tree(root) == {"handouts.yaml", "README.md", ".gitignore", "content/brands/cafe-sante-physio.yaml"}
    assert "brand cafe-sante-physio; languages fr, en" in out
    settings = yaml.safe_load((root / "handouts.yaml").read_text())
    assert settings == {"default_language": "fr", "languages": ["fr", "en"]}
    brand = yaml.safe_load((root / "content/brands/cafe-sante-physio.yaml").read_text())
    assert brand == {
        "name": "Café Santé Physio",
        "city": "Montréal",
        "phone": "555-0100",
        "colors": {"primary": "#0b5d7a", "accent": "#b5542a"},
        "page_size": "a4",
    }
    ignored = (root / ".gitignore").read_text().splitlines()
    assert {"out/", "register.sqlite*", "users.json", "keys/"} <= set(ignored)
    assert "templates/styles/handout.css" in (root / "README.md").read_text()
    code, out, err = run_cli(root, "validate")
    assert code == 0, err
    assert out.strip() == "ok: 3 documents, 1 brands, 2 languages, 20 outputs"


@pytest.mark.parametrize(("kind", "name", "stored"), [("PNG", "logo.svg", "png"), ("JPEG", "logo", "jpg")])
def test_a_logo_is_recognised_by_its_bytes_not_its_name(
    tmp_path: Path, kind: str, name: str, stored: str
) -> None:
    (tmp_path / name).write_bytes(image(kind))
    code, _, err = init(tmp_path, "clinic", "--clinic", "A Clinic", "--logo", str(tmp_path / name))
    assert code == 0, err
    brand = yaml.safe_load((tmp_path / "clinic/content/brands/a-clinic.yaml").read_text())
    assert brand["logo"] == f"assets/a-clinic-logo.{stored}"
    assert brand["logo_alt"] == "A Clinic logo"
    assert (tmp_path / "clinic/content/brands/assets" / f"a-clinic-logo.{stored}").read_bytes() == image(kind)
    assert run_cli(tmp_path / "clinic", "validate")[0] == 0


def test_an_svg_logo_is_copied_and_built(tmp_path: Path) -> None:
    (tmp_path / "logo.svg").write_bytes(SVG)
    code, _, err = init(
        tmp_path, "clinic", "--clinic", "A Clinic", "--lang", "en", "--logo", str(tmp_path / "logo.svg")
    )
    assert code == 0, err
    root = tmp_path / "clinic"
    code, _, err = run_cli(root, "build", "--only", "dry-needling-info", "-j", "1")
    assert code == 0, err
    from pypdf import PdfReader

    reader = PdfReader(root / "out/a-clinic/en/dry-needling-info.pdf")
    assert "A Clinic" in reader.pages[0].extract_text()
    assert any("/XObject" in page["/Resources"] for page in reader.pages[:1])  # the logo is drawn


BAD_INPUTS = [
    # (what, arguments after `init`, a piece of the one error line)
    ("a file path", ["afile", "--clinic", "A"], "afile is a file, not a folder"),
    ("an existing project", ["project", "--clinic", "A"], "is already a handouts project"),
    (
        "a folder not empty",
        ["full", "--clinic", "A"],
        "is not empty; give an empty or new folder, or add --force",
    ),
    (
        "an unreadable logo",
        ["new", "--clinic", "A", "--logo", "missing.png"],
        "--logo: cannot read missing.png",
    ),
    ("a folder as logo", ["new", "--clinic", "A", "--logo", "full"], "--logo: cannot read full"),
    (
        "a logo that is text",
        ["new", "--clinic", "A", "--logo", "notes.png"],
        "notes.png is not an SVG, PNG or JPEG",
    ),
    (
        "a GIF logo",
        ["new", "--clinic", "A", "--logo", "logo.gif"],
        "logo.gif is not an SVG, PNG or JPEG image",
    ),
    (
        "an SVG with entities",
        ["new", "--clinic", "A", "--logo", "bomb.svg"],
        "declares a DOCTYPE or entities",
    ),
    ("an SVG loading a file", ["new", "--clinic", "A", "--logo", "link.svg"], "links to another file"),
    (
        "a colour that is a name",
        ["new", "--clinic", "A", "--primary", "teal"],
        "--primary must be a colour written #rrggbb",
    ),
    (
        "a short colour",
        ["new", "--clinic", "A", "--accent", "#abc"],
        "--accent must be a colour written #rrggbb",
    ),
    (
        "a colour too pale to read",
        ["new", "--clinic", "A", "--primary", "#ffdd00"],
        "--primary: #ffdd00 on the white page has a contrast of 1.3:1",
    ),
    (
        "an unsafe id",
        ["new", "--clinic", "A", "--id", "../etc"],
        "--id: brand id '../etc' cannot be a file name",
    ),
    ("a name with no file name", ["new", "--clinic", "東京"], "gives no file name"),
    ("no clinic name", ["new"], "--clinic is required"),
    ("an unknown language", ["new", "--clinic", "A", "--lang", "en,de"], "--lang: unknown language 'de'"),
]


@pytest.mark.parametrize(("what", "args", "message"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_is_one_line_exit_two_and_nothing_written(
    tmp_path: Path, what: str, args: list[str], message: str
) -> None:
    (tmp_path / "afile").write_text("x")
    (tmp_path / "project").mkdir()
    (tmp_path / "project/handouts.yaml").write_text("default_language: en\n")
    (tmp_path / "full").mkdir()
    (tmp_path / "full/notes.txt").write_text("mine")
    (tmp_path / "notes.png").write_text("not an image")
    (tmp_path / "logo.gif").write_bytes(image("GIF"))
    (tmp_path / "bomb.svg").write_text(
        '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa">]><svg>&a;</svg>'
    )
    (tmp_path / "link.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
        '<image xlink:href="file:///etc/passwd"/></svg>'
    )
    before = tree(tmp_path)
    code, out, err = init(tmp_path, *args)
    assert code == 2, (out, err)
    assert len(err.splitlines()) == 1 and message in err, err
    assert "Traceback" not in err
    assert tree(tmp_path) == before  # nothing written, not even a temporary folder
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_every_bad_value_is_reported_at_once(tmp_path: Path) -> None:
    code, _, err = init(
        tmp_path, "new", "--clinic", "A", "--primary", "red", "--accent", "blue", "--email", "x@"
    )
    assert code == 2
    assert [line.split(" ")[0] for line in err.splitlines()] == ["--email", "--primary", "--accent"]


def test_force_adds_the_project_to_a_folder_and_keeps_its_files(tmp_path: Path) -> None:
    folder = tmp_path / "repo"
    folder.mkdir()
    (folder / "README.md").write_text("# Our repository\n")
    (folder / ".gitignore").write_text("*.bak\nout/\n")
    code, out, err = init(tmp_path, "repo", "--clinic", "A Clinic", "--force")
    assert code == 0, err
    assert (folder / "README.md").read_text() == "# Our repository\n"
    assert "README.md (already there: left as it was)" in out
    assert (folder / ".gitignore").read_text().splitlines() == [
        "*.bak", "out/", "register.sqlite*", "users.json", "keys/",
    ]  # fmt: skip
    assert (folder / "content/brands/a-clinic.yaml").is_file()
    assert not [p for p in folder.iterdir() if p.name.startswith(".handouts-init")]


def test_a_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    def refuse(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "rename", refuse)
    code, _, err = init(tmp_path, "clinic", "--clinic", "A Clinic")
    assert code == 2
    assert "cannot write the project" in err and "nothing was written" in err
    assert list(tmp_path.iterdir()) == []


def test_missing_values_are_asked_for_only_on_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from handouts.cli import scaffold

    code, _, err = init(tmp_path, "quiet", stdin="Someone\n")  # not a terminal: no questions
    assert code == 2 and err.strip() == "--clinic is required: the clinic's name"
    monkeypatch.setattr(scaffold, "interactive", lambda: True)
    code, out, err = init(tmp_path, "asked", "--phone", "555-0199", stdin="Lakeside Physio\nLakeside\n\n\n")
    assert code == 0, err
    assert "Phone" not in out  # given as an option: not asked
    brand = yaml.safe_load((tmp_path / "asked/content/brands/lakeside-physio.yaml").read_text())
    assert brand["name"] == "Lakeside Physio" and brand["city"] == "Lakeside" and brand["phone"] == "555-0199"
    assert "email" not in brand and "website" not in brand  # left empty: left out


def test_copy_content_brings_the_starter_documents_to_edit(tmp_path: Path) -> None:
    code, _, err = init(tmp_path, "clinic", "--clinic", "A Clinic", "--lang", "en", "--copy-content")
    assert code == 0, err
    root = tmp_path / "clinic"
    assert {p for p in tree(root) if p.startswith("content/documents/")} == {
        f"content/documents/dry-needling-{doc}/en.yaml" for doc in ("info", "aftercare", "consent")
    }
    assert (root / "content/contraindications/en.yaml").is_file()
    code, out, _ = run_cli(root, "list")
    assert re.search(r"^  project +content/documents/dry-needling-info/en\.yaml$", out, re.M)
    assert not re.search(r"^  starter +content/(documents|contraindications)/", out, re.M)


# --- handouts new ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["info", "consent", "aftercare"])
def test_a_new_document_validates_builds_and_passes_lint(tiny: Path, kind: str) -> None:
    code, out, err = run_cli(tiny, "new", "document", "new-one", "--kind", kind)
    assert code == 0, err
    assert out.strip() == "wrote content/documents/new-one/en.yaml"
    article = "a" if kind == "consent" else "an"
    assert (
        f"note: there is already {article} {kind} document (tiny-{kind})" in err
    )  # packets' 'default: true'
    code, out, err = run_cli(tiny, "validate")
    assert code == 0 and "ok: 4 documents" in out, err
    # A new document is a draft: validate says so, and --strict refuses it until a clinician
    # has approved it (approved_by). Its wording passes lint --strict, PEMAT-P items included.
    assert "content/documents/new-one/en.yaml:" in err and "approved_by: empty" in err
    code, _, err = run_cli(tiny, "validate", "--strict")
    assert code == 2 and "new-one/en.yaml" in err and "approved_by" in err
    code, out, err = run_cli(tiny, "lint", "--strict", "--only", "new-one")
    assert code == 0, out
    assert "0 PEMAT-P findings" in out
    if kind == "aftercare":
        return  # the same path as info; two builds are enough for the suite
    code, _, err = run_cli(tiny, "build", "--only", "new-one", "-j", "1")
    assert code == 0, err
    text = pdftotext(tiny / "out/tiny/en/new-one.pdf")
    assert "Placeholder" in text and "Tiny Clinic" in text
    assert "Draft: not yet approved by a clinician" in text
    if kind == "consent":
        assert (tiny / "out/tiny/en/new-one-fillable.pdf").is_file()


def test_a_translation_skeleton_follows_its_source(make_project: Make) -> None:
    from helpers import french

    root = make_project(french())
    assert run_cli(root, "new", "document", "knee", "--kind", "info")[0] == 0
    code, out, err = run_cli(root, "new", "document", "knee", "--kind", "info", "--lang", "fr")
    assert code == 0, err
    doc = yaml.safe_load((root / "content/documents/knee/fr.yaml").read_text())
    assert doc["translates"] == "0.1" and "remplacer" in doc["sections"][0]["paragraphs"][0]
    code, _, err = run_cli(root, "validate")
    # Translated and current: no warning about it but the one every new document has (a draft).
    about = [line for line in err.splitlines() if "knee/fr.yaml" in line]
    assert code == 0 and len(about) == 1 and "approved_by: empty" in about[0], err
    code, out, _ = run_cli(root, "lint", "--strict", "--lang", "fr", "--only", "knee")
    assert code == 0, out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["document", "Knee Pain", "--kind", "info"], "document id 'Knee Pain' cannot be a file name"),
        (["document", "../x", "--kind", "info"], "document id '../x' cannot be a file name"),
        (["document", "tiny-info", "--kind", "info"], "content/documents/tiny-info/en.yaml already exists"),
        (["document", "knee", "--kind", "info", "--lang", "de"], "--lang: unknown language 'de'"),
        (["document", "knee", "--kind", "info", "--lang", "fr"], "--lang: unknown language 'fr'"),
        (["brand", "tiny", "--clinic", "Again"], "content/brands/tiny.yaml already exists"),
        (["brand", "Big Clinic", "--clinic", "Big"], "brand id 'Big Clinic' cannot be a file name"),
        (["brand", "other", "--clinic", "Other", "--primary", "#12345g"], "--primary must be a colour"),
    ],
)
def test_new_refuses_bad_ids_and_taken_files(tiny: Path, args: list[str], message: str) -> None:
    before = tree(tiny)
    code, _, err = run_cli(tiny, "new", *args)
    assert code == 2 and len(err.splitlines()) == 1 and message in err, err
    assert tree(tiny) == before


def test_a_starter_document_id_is_not_taken_over_by_a_skeleton(make_project: Make) -> None:
    root = make_project({"handouts.yaml": "languages: [en]\n"})  # starter documents on
    code, _, err = run_cli(root, "new", "document", "dry-needling-info", "--kind", "info")
    assert code == 2 and "is a document of the package's starter content" in err


def test_a_new_brand_validates_and_lists(tiny: Path, tmp_path: Path) -> None:
    (tmp_path / "mark.svg").write_bytes(SVG)
    logo = str(tmp_path / "mark.svg")
    code, out, err = run_cli(tiny, "new", "brand", "second-site", "--clinic", "Second Site", "--logo", logo)
    assert code == 0, err
    assert out.splitlines() == [
        "wrote content/brands/second-site.yaml",
        "wrote content/brands/assets/second-site-logo.svg",
    ]
    code, out, err = run_cli(tiny, "list")
    assert code == 0 and "second-site  Second Site" in out, err
