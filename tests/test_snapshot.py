"""The snapshot of a clean build: nothing-changed answers without loading the catalogue, and
never a wrong answer when anything changed."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from helpers import override, run_cli, starter_text

Make = Callable[..., Path]


def quick(root: Path, **options: object) -> object:
    from handouts.build.report import BuildOptions
    from handouts.build.snapshot import quick_build
    from handouts.project import Project

    return quick_build(Project(root), BuildOptions(out_dir=None, **options))  # type: ignore[arg-type]


def modules_after(root: Path, *args: str) -> tuple[set[str], str]:
    """Run the CLI in a fresh interpreter; return which heavy modules it imported, and stderr."""
    script = (
        "import sys\n"
        "from handouts.cli import main\n"
        "try:\n"
        f"    main(['--project', {str(root)!r}, *{list(args)!r}])\n"
        "except SystemExit as exit:\n"
        "    assert exit.code in (0, None), exit.code\n"
        "heavy = ('pydantic', 'jinja2', 'weasyprint', 'handouts.content')\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(filter(None, result.stdout.strip().split(","))), result.stderr


def test_noop_build_loads_no_content_models_or_templates(built_project: Path) -> None:
    root = built_project
    assert run_cli(root, "build")[0] == 0
    loaded, err = modules_after(root, "build")
    assert loaded == set()
    assert "built 0, unchanged 10, failed 0" in err
    loaded, _ = modules_after(root, "build", "--check")
    assert loaded == set()


@pytest.mark.parametrize(
    "change",
    [
        "edit content",
        "add template file",
        "override a theme file",
        "override a starter file",
        "remove content file",
        "settings file",
        "source date epoch",
        "output bytes",
        "output removed",
        "stranger in out",
    ],
)
def test_any_change_means_the_full_path(
    built_project: Path, change: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = built_project
    (root / "content/README.txt").write_text("Notes for editors; no output depends on them.\n")
    assert run_cli(root, "build")[0] == 0
    assert quick(root) is not None
    if change == "edit content":
        info = root / "content/documents/tiny-info/en.yaml"
        info.write_text(info.read_text() + "# a comment\n")
    elif change == "add template file":
        (root / "templates").mkdir()
        (root / "templates/notes.txt").write_text("not used by anything\n")
    elif change == "override a theme file":  # the same bytes: new in the project all the same
        override(root, "templates/stamp.html.j2")
    elif change == "override a starter file":
        (root / "content/jargon").mkdir()
        (root / "content/jargon/en.yaml").write_text(starter_text("jargon/en.yaml"))
    elif change == "remove content file":
        (root / "content/README.txt").unlink()
    elif change == "settings file":
        (root / "handouts.yaml").write_text((root / "handouts.yaml").read_text() + "default_language: en\n")
    elif change == "source date epoch":
        monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    elif change == "output bytes":
        pdf = root / "out/tiny/en/tiny-info.pdf"
        pdf.write_bytes(pdf.read_bytes().replace(b"%PDF-1.7", b"%PDF-1.6", 1))
    elif change == "output removed":
        (root / "out/tiny/en/tiny-aftercare.pdf").unlink()
    elif change == "stranger in out":
        (root / "out/tiny/en/someone-elses.pdf").write_bytes(b"%PDF-1.7\n")
    assert quick(root) is None
    assert quick(root, check=True) is None


def test_a_project_with_overrides_keeps_the_quick_path(built_project: Path) -> None:
    root = built_project
    sheet = override(root, "templates/styles/handout.css")
    sheet.write_text(sheet.read_text() + "\nh2 { letter-spacing: 0.01em; }\n")
    code, _, err = run_cli(root, "build")
    assert code == 0 and "built 10" in err
    loaded, err = modules_after(root, "build")
    assert loaded == set()  # no pydantic, Jinja or WeasyPrint for a no-op build with an override
    assert "built 0, unchanged 10, failed 0" in err
    loaded, _ = modules_after(
        root, "packet", "--patient", "Jane Doe", "--docs", "info", "-o", str(root / "p.pdf")
    )
    # The register reads handouts.yaml's `register:` with content.yamlsrc (line numbers, no models).
    assert loaded <= {"handouts.content"} and (root / "p.pdf").is_file()


def test_filtered_and_forced_builds_never_take_the_quick_path(built_project: Path) -> None:
    root = built_project
    assert run_cli(root, "build")[0] == 0
    assert quick(root, force=True) is None
    assert quick(root, brands=("tiny",)) is None
    assert quick(root, shard=(1, 2)) is None


def test_snapshot_written_only_when_the_whole_catalogue_is_current_and_clean(built_project: Path) -> None:
    root = built_project
    info = root / "content/documents/tiny-info/en.yaml"
    good = info.read_text()
    info.write_text(good.replace("title: Tiny information sheet\n", ""))  # a missing field
    assert run_cli(root, "build")[0] == 2
    manifest = json.loads((root / "out/manifest.json").read_text())
    assert "snapshot" not in manifest
    assert quick(root) is None
    info.write_text(good)
    assert run_cli(root, "build")[0] == 0
    snapshot = json.loads((root / "out/manifest.json").read_text())["snapshot"]
    assert set(snapshot["index"]["outputs"]) == {
        e["path"] for e in json.loads((root / "out/manifest.json").read_text())["outputs"]
    }
    report = quick(root)
    assert report is not None
    assert {r.status for r in report.results} == {"unchanged"}  # type: ignore[attr-defined]


def test_an_edit_then_a_build_is_seen_by_the_next_quick_check(built_project: Path) -> None:
    root = built_project
    assert run_cli(root, "build")[0] == 0
    sheet = override(root, "templates/sheet.html.j2")
    sheet.write_text(sheet.read_text() + "\n")
    code, _, err = run_cli(root, "build")
    assert code == 0 and "built 4" in err
    assert quick(root) is not None
    code, _, err = run_cli(root, "build")
    assert "built 0, unchanged 10" in err


@pytest.mark.parametrize(
    "index",
    [{"documents": []}, {}, "not an index", {"default_language": 1, "languages": None}],
)
def test_a_damaged_snapshot_means_the_full_path_not_a_crash(built_project: Path, index: object) -> None:
    from handouts.build import snapshot
    from handouts.project import Project

    root = built_project
    assert run_cli(root, "build")[0] == 0
    manifest = root / "out/manifest.json"
    data = json.loads(manifest.read_text())
    # A matching digest, so only the damaged index stands between the reader and a crash.
    data["snapshot"]["index"] = index
    manifest.write_text(json.dumps(data))
    assert data["snapshot"]["digest"] == snapshot.digest(snapshot.base_digest(Project(root)), [])
    assert quick(root) is None
    code, _, err = run_cli(root, "build")
    assert code == 0 and "unchanged 10" in err
    assert "snapshot" in json.loads(manifest.read_text())  # the full build wrote a good one again
    assert quick(root) is not None


def test_a_new_file_in_a_symlinked_folder_means_the_full_path(built_project: Path) -> None:
    # A folder linked from elsewhere inside the project: followed, by the loader and the snapshot.
    root = built_project
    shared = root / "content/library/shared"
    shared.mkdir(parents=True)
    (root / "content/documents/shared").symlink_to("../library/shared", target_is_directory=True)
    assert run_cli(root, "build")[0] == 0
    assert quick(root) is not None
    info = (root / "content/documents/tiny-info/en.yaml").read_text()
    (shared / "en.yaml").write_text(info.replace("id: tiny-info", "id: shared"))
    assert quick(root) is None  # the loader follows the link: so does the snapshot
    code, _, err = run_cli(root, "build")
    assert code == 0 and "built 2" in err, err


def test_a_folder_linked_from_outside_the_project_is_refused(built_project: Path, tmp_path: Path) -> None:
    outside = tmp_path / "shared-docs"
    outside.mkdir()
    info = (built_project / "content/documents/tiny-info/en.yaml").read_text()
    (outside / "en.yaml").write_text(info.replace("id: tiny-info", "id: shared"))
    (built_project / "content/documents/shared").symlink_to(outside, target_is_directory=True)
    code, _, err = run_cli(built_project, "build")
    assert code == 2
    assert "content/documents/shared" in err and "outside templates/ and content/" in err, err
    assert "Traceback" not in err


def test_long_dates_are_babels_own_or_left_to_babel() -> None:
    import datetime as dt

    from babel.dates import format_date

    from handouts.dates import fill_long_date, long_dates

    found = long_dates(["en", "fr", "fr-CA", "de", "ja"])
    assert {"en", "fr", "fr-CA", "de"} <= set(found)
    assert "ja" not in found  # its pattern has a numeric month: packets ask babel itself
    day = dt.date(2026, 1, 1)
    while day < dt.date(2028, 1, 1):  # every day of two years, a leap day included
        for lang, entry in found.items():
            assert fill_long_date(entry, day) == format_date(day, "long", locale=lang.replace("-", "_"))
        day += dt.timedelta(days=1)


def test_warnings_are_kept_and_repeated_by_the_quick_path(make_project: Make) -> None:
    from helpers import french

    root = make_project(french())  # French messages and list, no French documents: "not translated"
    code, _, full = run_cli(root, "build")
    assert code == 0
    warnings = [line for line in full.splitlines() if ": warning: " in line]
    assert warnings and all("not translated" in line for line in warnings)
    loaded, quick_err = modules_after(root, "build")
    assert loaded == set()  # the quick path, warnings and all
    assert [line for line in quick_err.splitlines() if ": warning: " in line] == warnings
