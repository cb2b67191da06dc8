"""Issue 20, findings 1 and 3: every file read from a project is confined, regular and bounded.

The cases are generated: every READS slot (a file the tool reads, the commands that read it)
is replaced by every HOSTILE kind of file (a link out to a secret, a link to /dev/zero, a pipe,
an 800 MB sparse file), and each must fail closed: exit 2, one line naming the file and what
to do, no traceback, no secret in any output. A new loader is covered by adding its slot.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers import LOGO_BRAND, STARTER, THEME, pdftotext, run_cli, write_tiny

SECRET = "handouts-test-secret-7f3a9c"
HUGE = 800_000_000  # sparse (truncate): no disk, no memory unless someone reads it


def _override(root: Path, rel: str, text: str | None = None) -> None:
    target = root / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    if text is None:
        shutil.copyfile(THEME / rel.removeprefix("templates/"), target)
    else:
        target.write_text(text, "utf-8")


INCLUDING = (
    '{% extends "sheet.html.j2" %}\n{% block content %}{% include "env.txt" %}{{ super() }}{% endblock %}\n'
)


def _including(root: Path) -> None:
    """The info sheet's template includes templates/env.txt (the attack of finding 1)."""
    _override(root, "templates/info.html.j2", INCLUDING)
    _override(root, "templates/env.txt", "Included from the project.\n")


@dataclass(frozen=True)
class Slot:
    """A file the tool reads from a project, how a project comes to use it, and who reads it."""

    rel: str
    commands: tuple[tuple[str, ...], ...]
    setup: Callable[[Path], None] = lambda root: None


RENDER = ("render", "tiny-info", "-o", "-")
READS = [
    Slot("handouts.yaml", (("validate",), ("list",), ("build",))),
    Slot("content/documents/tiny-info/en.yaml", (("validate",), ("lint",), ("build",))),
    Slot("content/brands/tiny.yaml", (("validate",), ("list",), ("build",))),
    Slot("content/contraindications/en.yaml", (("validate",), ("build",))),
    Slot(
        "content/messages/en.yaml",
        (("validate",), ("build",)),
        lambda root: _override(root, "content/messages/en.yaml", (STARTER / "messages/en.yaml").read_text()),
    ),
    Slot(
        "content/jargon/en.yaml",
        (("lint",), ("build",)),
        lambda root: _override(root, "content/jargon/en.yaml", (STARTER / "jargon/en.yaml").read_text()),
    ),
    Slot("templates/info.html.j2", (("validate",), RENDER, ("build",)), _including),
    Slot("templates/env.txt", (("validate",), RENDER, ("build",)), _including),
    Slot(
        "templates/styles/handout.css",
        (RENDER, ("build",)),
        lambda root: _override(root, "templates/styles/handout.css"),
    ),
    Slot(
        "templates/fonts/HandoutsFields.ttf",
        (("render", "tiny-consent", "--variant", "fillable", "-o", "-"), ("build",)),
        lambda root: _override(root, "templates/fonts/HandoutsFields.ttf"),
    ),
    Slot(
        "content/brands/logo.svg",
        (("validate",), ("build",)),
        lambda root: _override(root, "content/brands/tiny.yaml", LOGO_BRAND),
    ),
]


def _link_out(path: Path, outside: Path) -> None:
    secret = outside / "secret.txt"
    secret.write_text(f"TOKEN={SECRET}\n")
    path.symlink_to(secret)


HOSTILE: dict[str, tuple[Callable[[Path, Path], None], str]] = {
    "link-out": (_link_out, "copy the file in instead of linking to it"),
    "dev-zero": (lambda path, _: path.symlink_to("/dev/zero"), "links to /dev/zero, outside"),
    "pipe": (lambda path, _: os.mkfifo(path), "not a regular file"),
    "huge": (lambda path, _: (path.touch(), os.truncate(path, HUGE)), "larger than"),
}


def _project(tmp_path: Path, slot: Slot, kind: str) -> Path:
    root = write_tiny(tmp_path / "proj")
    slot.setup(root)
    target = root / slot.rel
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() or target.is_symlink():
        target.unlink()
    (tmp_path / "outside").mkdir()
    make, _ = HOSTILE[kind]
    make(target, tmp_path / "outside")
    return root


class TestEveryReadFailsClosed:
    """Each slot x each hostile kind x each command that reads the slot."""

    @pytest.mark.parametrize("kind", sorted(HOSTILE))
    @pytest.mark.parametrize("slot", READS, ids=[s.rel for s in READS])
    def test_refused_with_one_line_naming_the_file(
        self, tmp_path: Path, slot: Slot, kind: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # A process keeps the @font-face files it loaded (render/pdf.py): start without any, so
        # the font is asked for (a font loaded earlier is the theme's, never the slot's file).
        monkeypatch.setattr("handouts.render.pdf._FONT_CONFIG", None)
        root = _project(tmp_path, slot, kind)
        name = slot.rel
        _, expected = HOSTILE[kind]
        for command in slot.commands:
            code, out, err = run_cli(root, *command)
            said = out + err
            assert code == 2, (command, said)
            assert "Traceback" not in said and "MemoryError" not in said
            assert SECRET not in said
            lines = [line for line in err.splitlines() if name in line and expected in line]
            assert lines, (command, err)
        assert not list(root.rglob("*.pdf"))  # nothing built, so nothing leaked


class TestLinksInsideTheProjectStayAllowed:
    """The same slots as links to a file elsewhere inside templates/ or content/: they work."""

    @pytest.mark.parametrize(
        "slot",
        [s for s in READS if s.rel != "handouts.yaml" and not s.rel.endswith(".svg")],
        ids=lambda s: s.rel,
    )
    def test_a_link_inside_is_followed(self, tmp_path: Path, slot: Slot) -> None:
        root = write_tiny(tmp_path / "proj")
        slot.setup(root)
        target = root / slot.rel
        if not target.exists():
            target.write_text("included text\n")
        kept = root / "content/kept" / target.name
        kept.parent.mkdir(parents=True)
        shutil.move(target, kept)
        target.symlink_to(os.path.relpath(kept, target.parent))
        for command in slot.commands:
            if command != ("build",):  # the snapshot's side: test_snapshot's linked folder
                code, _, err = run_cli(root, *command)
                assert code == 0, (command, err)


def test_finding_1_an_include_of_the_environment_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HANDOUTS_CI_TOKEN", SECRET)
    root = write_tiny(tmp_path / "proj")
    _including(root)
    # The control: a regular env.txt in templates/ is included, so the attack below would work.
    code, _, err = run_cli(root, "render", "tiny-info", "-o", str(tmp_path / "control.pdf"))
    assert code == 0, err
    assert "Included from the project." in " ".join(pdftotext(tmp_path / "control.pdf").split())
    (root / "templates/env.txt").unlink()
    (root / "templates/env.txt").symlink_to("/proc/self/environ")
    for command in (("validate",), ("render", "tiny-info", "-o", str(tmp_path / "leak.pdf")), ("build",)):
        code, out, err = run_cli(root, *command)
        assert code == 2, (command, err)
        assert SECRET not in out + err
        assert err.strip().splitlines()[-1].startswith("templates/env.txt: links to /proc/"), err
    assert not (tmp_path / "leak.pdf").exists()
    assert not list(root.rglob("*.pdf"))


def test_the_jinja_loader_refuses_on_every_load(tmp_path: Path) -> None:
    """Not only the snapshot or validate: the loader itself, for includes, imports and extends."""
    import jinja2

    from handouts.confine import RefusedFile
    from handouts.layers import for_project
    from handouts.project import Project
    from handouts.render.html import environment

    root = write_tiny(tmp_path / "proj")
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    (root / "templates").mkdir()
    (root / "templates/out.j2").symlink_to(secret)
    for i, text in enumerate(
        [
            '{% include "out.j2" %}',
            '{% import "out.j2" as m %}',
            '{% extends "out.j2" %}',
            '{% from "out.j2" import x %}',
        ]
    ):
        (root / f"templates/t{i}.j2").write_text(text)
        env = environment(for_project(Project(root)))
        with pytest.raises(RefusedFile, match=r"^templates/out.j2: links to .*secret.txt, outside"):
            env.get_template(f"t{i}.j2").render()
    env = environment(for_project(Project(root)))
    with pytest.raises(RefusedFile):
        env.get_template("out.j2")
    with pytest.raises(jinja2.TemplateNotFound):
        env.get_template("../secret.txt")


def test_finding_3_an_800_mb_yaml_is_refused_before_it_is_read(tmp_path: Path) -> None:
    root = write_tiny(tmp_path / "proj")
    brand = root / "content/brands/tiny.yaml"
    with brand.open("ab") as handle:
        handle.truncate(HUGE)
    # The peak is VmHWM, the process's own memory's high-water mark. Not getrusage's ru_maxrss:
    # Linux carries the parent's peak across fork and exec into it, and pytest's grows in a full run.
    script = (
        "import re, sys\n"
        "from handouts.cli import main\n"
        "try:\n"
        f"    main(['--project', {str(root)!r}, 'validate'])\n"
        "except SystemExit as exit:\n"
        "    code = exit.code\n"
        "status = open('/proc/self/status').read()\n"
        "print(code, re.search(r'VmHWM:\\s+(\\d+) kB', status)[1], file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    *said, last = done.stderr.strip().splitlines()
    code, peak_kib = (int(x) for x in last.split())
    assert code == 2
    assert said[0] == "content/brands/tiny.yaml: larger than 2 MB; is it the right file?", said
    assert peak_kib < 400_000  # far below the file: it was never read (it peaked at 855 MB before)


def test_the_snapshot_hashes_in_chunks_and_refuses_what_it_must_not_read(tmp_path: Path) -> None:
    from handouts.build.snapshot import base_digest
    from handouts.confine import RefusedFile
    from handouts.project import Project

    root = write_tiny(tmp_path / "proj")
    project = Project(root)
    before = base_digest(project)
    (root / "content/notes").mkdir()
    (root / "content/notes/a.txt").write_text("a note")
    assert base_digest(project) != before  # every file counts
    (root / "content/notes/zero").symlink_to("/dev/zero")
    with pytest.raises(RefusedFile, match=r"^content/notes/zero: links to /dev/zero"):
        base_digest(project)
    (root / "content/notes/zero").unlink()
    (root / "content/notes/outside").symlink_to(tmp_path, target_is_directory=True)  # a loop out, too
    with pytest.raises(RefusedFile, match=r"^content/notes/outside: links to"):
        base_digest(project)
    (root / "content/notes/outside").unlink()
    (root / "content/notes/dangling").symlink_to("missing")  # an editor's lock file: nothing there
    assert base_digest(project) != before


class TestConfine:
    """confine.py's functions on every kind of file, with and without a fence."""

    @pytest.fixture
    def fence(self, tmp_path: Path) -> tuple[Path, ...]:
        inside = tmp_path / "in"
        inside.mkdir()
        (inside / "ok.txt").write_bytes(b"x" * 100)
        (tmp_path / "secret.txt").write_text(SECRET)
        return (inside.resolve(),)

    KINDS = {
        "outside": (lambda f: f[0] / "l", lambda p, f: p.symlink_to(f[0].parent / "secret.txt"), "outside"),
        "dev-zero": (lambda f: f[0] / "z", lambda p, f: p.symlink_to("/dev/zero"), "outside"),
        "pipe": (lambda f: f[0] / "p", lambda p, f: os.mkfifo(p), "not a regular file"),
        "loop": (
            lambda f: f[0] / "loop",
            lambda p, f: p.symlink_to(p),
            "cannot be resolved|outside|cannot read",
        ),
        "huge": (lambda f: f[0] / "h.yaml", lambda p, f: (p.touch(), os.truncate(p, HUGE)), "larger than"),
    }

    @pytest.mark.parametrize("kind", sorted(KINDS))
    @pytest.mark.parametrize("reader", ["read_file", "hash_file"])
    def test_each_reader_refuses_each_kind(self, fence: tuple[Path, ...], kind: str, reader: str) -> None:
        from handouts import confine

        where, make, expected = self.KINDS[kind]
        path = where(fence)
        make(path, fence)
        with pytest.raises(confine.RefusedFile, match=expected):
            if reader == "read_file":
                confine.read_file(path, fence, "label", confine.MAX_YAML_BYTES)
            else:
                confine.hash_file(hashlib.sha256(), path, fence, "label")

    def test_a_regular_file_inside_is_read_and_hashed_alike(self, fence: tuple[Path, ...]) -> None:
        from handouts import confine

        path = fence[0] / "ok.txt"
        assert confine.read_file(path, fence, "ok.txt") == b"x" * 100
        digest = hashlib.sha256()
        assert confine.hash_file(digest, path, fence, "ok.txt") == 100
        assert digest.hexdigest() == hashlib.sha256(b"x" * 100).hexdigest()
        with pytest.raises(confine.FileTooLarge, match="ok.txt: larger than 99 bytes"):
            confine.read_file(path, fence, "ok.txt", 99)

    def test_a_user_named_file_has_no_fence_but_the_same_rule(self, tmp_path: Path) -> None:
        from handouts import confine

        with pytest.raises(confine.RefusedFile, match="not a regular file"):
            confine.read_file(Path("/dev/zero"), None, "/dev/zero")
        with pytest.raises(confine.RefusedFile, match="not a regular file"):
            confine.read_file(tmp_path, None, "folder")


class TestThePreviewServesByTheSameRule:
    """`serve --preview`: its asset route and its catalogue page go through the same reads."""

    @pytest.mark.parametrize("kind", sorted(HOSTILE))
    def test_a_refused_asset_is_not_found_and_a_refused_document_is_shown(
        self, tmp_path: Path, kind: str
    ) -> None:
        from handouts.project import Project
        from handouts.web.app import create_app

        css = next(s for s in READS if s.rel == "templates/styles/handout.css")
        root = _project(tmp_path, css, kind)
        client = create_app(Project(root), preview=True, watch=False).test_client()
        answer = client.get("/preview/file/templates/styles/handout.css")
        assert answer.status_code == 404
        assert SECRET.encode() not in answer.get_data()
        (root / "templates/styles/handout.css").unlink()
        doc = root / "content/documents/tiny-info/en.yaml"
        doc.unlink()
        HOSTILE[kind][0](doc, tmp_path / "outside")
        page = client.get("/preview/")
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        assert "content/documents/tiny-info/en.yaml: " in text and SECRET not in text

    def test_an_asset_linked_inside_the_project_is_served(self, tmp_path: Path) -> None:
        from handouts.project import Project
        from handouts.web.app import create_app

        root = write_tiny(tmp_path / "proj")
        kept = root / "content/kept/handout.css"
        kept.parent.mkdir(parents=True)
        shutil.copyfile(THEME / "styles/handout.css", kept)
        (root / "templates/styles").mkdir(parents=True)
        (root / "templates/styles/handout.css").symlink_to("../../content/kept/handout.css")
        client = create_app(Project(root), preview=True, watch=False).test_client()
        answer = client.get("/preview/file/templates/styles/handout.css")
        assert answer.status_code == 200 and answer.get_data() == kept.read_bytes()


def _cli(cwd: Path, *args: str) -> tuple[int, str]:
    from click.testing import CliRunner

    from handouts.cli import main

    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(cwd)
        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout + result.stderr


USER_NAMED = {  # files a user names on the command line: not confined, but regular and bounded
    "screen": (lambda f: ("screen", str(f)), 20_000_000),
    "archive": (lambda f: ("archive", str(f), "--output", "archived.pdf"), 20_000_000),
    "verify": (lambda f: ("verify", str(f)), 50_000_000),
    "init --logo": (lambda f: ("init", "clinic", "--clinic", "A", "--logo", str(f)), 5_000_000),
}
SPECIAL = {
    "dev-zero": (lambda path: path.symlink_to("/dev/zero"), "not a regular file"),
    "pipe": (lambda path: os.mkfifo(path), "not a regular file"),
    "huge": (lambda path: (path.touch(), os.truncate(path, HUGE)), "larger than"),
}


class TestUserNamedFilesAreRegularAndBounded:
    @pytest.mark.parametrize("kind", sorted(SPECIAL))
    @pytest.mark.parametrize("command", sorted(USER_NAMED))
    def test_refused_in_one_line(self, tmp_path: Path, command: str, kind: str) -> None:
        path = tmp_path / "given.pdf"
        make, expected = SPECIAL[kind]
        make(path)
        args, limit = USER_NAMED[command]
        code, said = _cli(tmp_path, *args(path))
        assert code == 2, said
        assert expected in said and "given.pdf" in said, said
        assert "Traceback" not in said and "MemoryError" not in said
        if kind == "huge":
            assert f"{limit // 1_000_000} MB" in said

    @pytest.mark.parametrize("kind", sorted(SPECIAL))
    def test_an_appointments_file(self, tmp_path: Path, kind: str) -> None:
        from handouts.errors import UsageError
        from handouts.packet.appointments import read_appointments

        path = tmp_path / "day.csv"
        make, expected = SPECIAL[kind]
        make(path)
        with pytest.raises(
            UsageError, match="day.csv: " + ("more than 10 MB" if kind == "huge" else expected)
        ):
            read_appointments(path)

    def test_an_out_folder_manifest_or_output_that_is_a_device_is_just_not_current(
        self, tmp_path: Path
    ) -> None:
        from handouts.build.manifest import Entry, file_matches, read_record

        (tmp_path / "manifest.json").symlink_to("/dev/zero")
        assert read_record(tmp_path) == ({}, None)
        (tmp_path / "x.pdf").symlink_to("/dev/zero")
        fields = {name: "" for name in Entry.__dataclass_fields__}
        entry = Entry(
            **{**fields, "path": "x.pdf", "pages": 1, "bytes": 0, "sha256": hashlib.sha256(b"").hexdigest()}
        )
        assert file_matches(tmp_path, entry) is False  # not read forever, as it was


@pytest.mark.parametrize("folder", ["templates", "content/brands"])
def test_a_project_folder_that_is_itself_a_link_out_is_refused(tmp_path: Path, folder: str) -> None:
    root = write_tiny(tmp_path / "proj")
    outside = tmp_path / "shared"
    if folder == "templates":
        outside.mkdir()
        shutil.copyfile(THEME / "info.html.j2", outside / "info.html.j2")
    else:
        shutil.move(root / folder, outside)
    (root / folder).symlink_to(outside, target_is_directory=True)
    for command in (("validate",), ("build",), RENDER):
        code, _, err = run_cli(root, *command)
        assert code == 2, (command, err)
        assert folder in err and "copy the file in instead of linking to it" in err, (command, err)
