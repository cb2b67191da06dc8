"""Incremental, checkable, sharded, crash-safe and reproducible catalogue builds."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from pypdf import PdfReader

from helpers import override, run_cli

Make = Callable[..., Path]


def built_paths(err: str) -> set[str]:
    return {line.split("built: ", 1)[1] for line in err.splitlines() if line.startswith("built: ")}


def test_noop_build_renders_nothing(built_project: Path) -> None:
    root = built_project
    assert run_cli(root, "build")[0] == 0
    code, _, err = run_cli(root, "build")
    assert code == 0
    assert built_paths(err) == set()
    assert "built 0, unchanged 10, failed 0" in err


def test_touching_a_template_rebuilds_exactly_its_dependants(built_project: Path) -> None:
    root = built_project
    assert run_cli(root, "build")[0] == 0
    # A copy of the theme's template in the project: the same bytes, so nothing to rebuild.
    consent = override(root, "templates/consent.html.j2")
    code, _, err = run_cli(root, "build")
    assert code == 0 and built_paths(err) == set(), err
    consent.write_text(consent.read_text() + "\n{# a comment changes the bytes #}\n")
    code, _, err = run_cli(root, "build")
    assert code == 0
    assert built_paths(err) == {
        "tiny/en/tiny-consent.pdf",
        "tiny/en/tiny-consent-fillable.pdf",
        "tiny/en/tiny-consent-large-print.pdf",
        "tiny/en/tiny-consent-fillable-large-print.pdf",
    }
    sheet = override(root, "templates/sheet.html.j2")
    sheet.write_text(sheet.read_text() + "\n")
    _, _, err = run_cli(root, "build")
    assert built_paths(err) == {
        "tiny/en/tiny-info.pdf",
        "tiny/en/tiny-aftercare.pdf",
        "tiny/en/tiny-info-large-print.pdf",
        "tiny/en/tiny-aftercare-large-print.pdf",
    }
    # The shared list feeds the consent form and (through its section) the info sheet too.
    contra = root / "content/contraindications/en.yaml"
    contra.write_text(contra.read_text() + "\n")
    _, _, err = run_cli(root, "build")
    assert len(built_paths(err)) == 8  # every document variant; not the packet stamps


def test_check_reports_stale_missing_and_extra(make_project: Make, built_project: Path) -> None:
    code, out, _ = run_cli(make_project(name="unbuilt"), "build", "--check")
    assert code == 1
    assert "missing: tiny/en/tiny-info.pdf" in out
    root = built_project  # the same project, built
    assert run_cli(root, "build")[0] == 0
    assert run_cli(root, "build", "--check")[0] == 0
    info = root / "content/documents/tiny-info/en.yaml"
    info.write_text(info.read_text().replace("A small sheet", "A tiny sheet"))
    before = {p: p.read_bytes() for p in (root / "out").rglob("*") if p.is_file()}
    code, out, _ = run_cli(root, "build", "--check")
    assert code == 1
    assert out.strip().splitlines() == [
        "stale: tiny/en/tiny-info.pdf",
        "stale: tiny/en/tiny-info-large-print.pdf",
    ]
    assert {p: p.read_bytes() for p in (root / "out").rglob("*") if p.is_file()} == before
    (root / "out/tiny/en/old-doc.pdf").write_bytes(b"%PDF-1.7\n")
    code, out, _ = run_cli(root, "build", "--check")
    assert "extra: tiny/en/old-doc.pdf" in out


def test_prune_removes_outputs_whose_content_is_gone_and_nothing_else(built_project: Path) -> None:
    import shutil

    root = built_project
    assert run_cli(root, "build")[0] == 0
    stranger = root / "out/tiny/en/someone-elses.pdf"
    stranger.write_bytes(b"%PDF-1.7\n")
    shutil.rmtree(root / "content/documents/tiny-info")
    code, _, err = run_cli(root, "build")
    assert (root / "out/tiny/en/tiny-info.pdf").exists()  # kept until --prune
    code, _, err = run_cli(root, "build", "--prune")
    assert code == 0
    assert not (root / "out/tiny/en/tiny-info.pdf").exists()
    assert not (root / "out/tiny/en/tiny-info-large-print.pdf").exists()
    assert stranger.exists()  # not made by handouts: never deleted
    assert "pruned 2" in err
    assert run_cli(root, "build", "--check")[0] == 1  # the stranger is still 'extra'


def test_shards_partition_the_catalogue(make_project: Make) -> None:
    from handouts.build.builder import select_shard
    from handouts.content.catalogue import load_catalogue
    from handouts.project import Project
    from handouts.render.outputs import plan_outputs

    root = make_project(
        {
            f"content/brands/b{i}.yaml": f"name: B{i}\ncolors: {{primary: '#000000', accent: '#000000'}}\n"
            for i in range(6)
        }
    )
    specs = plan_outputs(load_catalogue(Project(root)))
    assert len(specs) == 70
    for total in (2, 3, 5):
        shards = [select_shard(specs, (i, total)) for i in range(1, total + 1)]
        keys = [s.key for shard in shards for s in shard]
        assert sorted(keys) == sorted(s.key for s in specs)  # union is everything, no overlap
        assert all(shards), total
    code, _, err = run_cli(root, "build", "--shard", "2/3", "--out", str(root / "s2"))
    assert code == 0, err
    built = sorted(p.relative_to(root / "s2").as_posix() for p in (root / "s2").rglob("*.pdf"))
    assert built == sorted(s.relpath for s in select_shard(specs, (2, 3)))
    assert run_cli(root, "build", "--shard", "4/3")[0] == 2


def test_source_date_epoch_is_honoured_and_builds_are_identical(make_project: Make) -> None:
    root = make_project()
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
    for out in ("a", "b"):
        subprocess.run(
            [
                sys.executable,
                "-m",
                "handouts",
                "--project",
                str(root),
                "-q",
                "build",
                "--out",
                str(root / out),
            ],
            check=True,
            env=env,
        )
    files = sorted(
        p.relative_to(root / "a")
        for p in (root / "a").rglob("*")
        if p.is_file() and not p.name.startswith(".")
    )
    assert len(files) == 11
    for rel in files:
        assert (root / "a" / rel).read_bytes() == (root / "b" / rel).read_bytes(), rel
    # The creation date comes from the content, not from the clock.
    meta = PdfReader(root / "a/tiny/en/tiny-info.pdf").metadata
    assert meta["/CreationDate"].startswith("D:20261101")


def test_killed_builds_never_leave_a_broken_pdf(make_project: Make) -> None:
    root = make_project(
        {
            f"content/brands/b{i}.yaml": f"name: B{i}\ncolors: {{primary: '#000000', accent: '#000000'}}\n"
            for i in range(3)
        }
    )
    rng = random.Random(7)
    out = root / "out"
    for _attempt in range(6):
        proc = subprocess.Popen(
            [sys.executable, "-m", "handouts", "--project", str(root), "-q", "build", "--force", "-j", "2"],
            start_new_session=True,
        )
        time.sleep(rng.uniform(0.8, 3.5))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        for pdf in out.rglob("*.pdf"):
            assert len(PdfReader(pdf).pages) >= 1, pdf
        manifest = out / "manifest.json"
        if manifest.exists():
            json.loads(manifest.read_text())
    code, _, err = run_cli(root, "build")
    assert code == 0, err
    assert run_cli(root, "build", "--check")[0] == 0
    assert not list(out.rglob("*.partial"))


def test_rendering_leaves_source_date_epoch_as_it_found_it(
    tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A render sets it only while writing: later renders and child processes see the user's."""
    from handouts.render.output import render_output
    from handouts.render.outputs import OutputSpec

    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    assert not isinstance(render_output(tiny, OutputSpec("tiny", "en", "tiny-info")), Exception)
    assert "SOURCE_DATE_EPOCH" not in os.environ
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    render_output(tiny, OutputSpec("tiny", "en", "tiny-aftercare"))
    assert os.environ["SOURCE_DATE_EPOCH"] == "1700000000"
