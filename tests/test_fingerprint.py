"""Build fingerprints hold the code of the stages that make the bytes, found by package."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from handouts.build import fingerprint
from handouts.build.builder import build
from handouts.build.report import BuildOptions
from handouts.project import Project


@pytest.fixture
def stages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Path]]:
    """Copies of the byte-producing stages' code, standing in for the installed ones."""
    copies = {}
    for folder in fingerprint.stage_folders():
        copies[folder.name] = shutil.copytree(
            folder, tmp_path / "code" / folder.name, ignore=shutil.ignore_patterns("__pycache__")
        )
    monkeypatch.setattr(fingerprint, "stage_folders", lambda: tuple(copies.values()))
    fingerprint.tool_versions.cache_clear()
    yield copies
    fingerprint.tool_versions.cache_clear()  # the next test sees the installed code again


def rebuilt(root: Path) -> int:
    """Build one output (a new process hashes the code afresh); 1 if it had to be rendered."""
    fingerprint.tool_versions.cache_clear()
    report = build(Project(root), BuildOptions(out_dir=None, jobs=1, keys=("tiny/en/tiny-info.pdf",)))
    assert report.ok, report.problems
    return report.count("built")


def test_the_stages_are_found_by_package() -> None:
    names = {folder.name for folder in fingerprint.stage_folders()}
    assert names == {"content", "render"}
    render = next(f for f in fingerprint.stage_folders() if f.name == "render")
    assert {"html.py", "pdf.py", "formfix.py", "outputs.py"} <= {p.name for p in render.glob("*.py")}


def test_a_change_under_the_render_stage_means_a_rebuild(
    built_project: Path, stages: dict[str, Path]
) -> None:
    assert rebuilt(built_project) == 0  # the same code, copied: nothing to do
    html = stages["render"] / "html.py"
    html.write_text(html.read_text() + "\n# a comment changes the code's bytes\n")
    assert rebuilt(built_project) == 1
    assert rebuilt(built_project) == 0


def test_a_module_added_or_renamed_in_a_stage_counts_too(
    built_project: Path, stages: dict[str, Path]
) -> None:
    (stages["render"] / "newstep.py").write_text('"""A new module of the render stage."""\n')
    assert rebuilt(built_project) == 1
    (stages["content"] / "models.py").rename(stages["content"] / "schema.py")
    assert rebuilt(built_project) == 1


def test_code_outside_the_stages_changes_no_fingerprint(built_project: Path, stages: dict[str, Path]) -> None:
    beside = stages["render"].parent / "packet"  # another stage, next to the copies
    beside.mkdir()
    (beside / "make.py").write_text("# packets never change a document's bytes\n")
    assert rebuilt(built_project) == 0
