"""A clinic's install: a wheel built from the repository, in a fresh virtual environment, in an empty folder.

One wheel and one venv per test run (the `installed` fixture). The venv takes the dependencies
from the development environment through a .pth file (quick and offline), but handouts itself
only from the wheel: the tests check that the module it imports lives in the venv, so nothing
here can pass by reading the repository's source, templates or content.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers import REPO, THEME, copy_project, write_tree

CLINIC = "A Clinic"
STARTER_DOCS = {"dry-needling-info": 2, "dry-needling-aftercare": 2, "dry-needling-consent": 4}
THEME_NOTE = "h1::after { content: ' [tiny theme]'; }\n"


@dataclass(frozen=True)
class Venv:
    root: Path
    wheel: Path

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    def run(self, cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run the venv's `handouts ARGS` in cwd, as a clinic would from its shell."""
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        result = subprocess.run(
            [str(self.root / "bin" / "handouts"), *args], cwd=cwd, env=env, capture_output=True, text=True
        )
        if check:
            assert result.returncode == 0, result.stderr
        return result

    def pip_install(self, wheel: Path) -> None:
        subprocess.run(
            [sys.executable, "-m", "pip", "--python", str(self.python), "install", "-q", "--no-deps",
             "--no-index", "--disable-pip-version-check", str(wheel)],
            check=True, capture_output=True,
        )  # fmt: skip


def build_wheel(source: Path, dest: Path) -> Path:
    """`pip wheel SOURCE --no-deps`, without build isolation (offline: the dev venv's setuptools)."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation", "-q",
         "--disable-pip-version-check", "-w", str(dest)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = dest.glob("*.whl")
    return wheel


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """A venv with handouts installed from a wheel built from a clean copy of the repository."""
    tmp = tmp_path_factory.mktemp("install")
    source = tmp / "source"  # what a checkout holds; no caches, no build leftovers
    shutil.copytree(REPO / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    wheel = build_wheel(source, tmp / "dist")
    venv = Venv(tmp / "venv", wheel)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv.root)], check=True)
    purelib = Path(
        subprocess.run(
            [str(venv.python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()
    )  # fmt: skip
    # The dependencies, from the development venv (a .pth line is only a path: its own
    # .pth files, the editable install of handouts among them, are not read).
    (purelib / "dev-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    venv.pip_install(wheel)
    return venv


@pytest.fixture(scope="module")
def clinic(installed: Venv, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`handouts init clinic --clinic "A Clinic" --city Springfield` and a build, in an empty folder."""
    folder = tmp_path_factory.mktemp("empty")
    made = installed.run(folder, "init", "clinic", "--clinic", CLINIC, "--city", "Springfield")
    assert "next: handouts --project clinic build" in made.stdout
    built = installed.run(folder, "--project", "clinic", "build")
    assert "failed 0" in built.stderr, built.stderr
    return folder / "clinic"


def test_handouts_runs_from_the_wheel_not_the_source(installed: Venv) -> None:
    script = "import handouts, handouts.layers as layers; print(handouts.__file__); print(layers.STARTER)"
    where = subprocess.run(
        [str(installed.python), "-c", script],
        check=True, capture_output=True, text=True, cwd=installed.root,
    ).stdout.split()  # fmt: skip
    assert all(Path(path).is_relative_to(installed.root) for path in where), where
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    shipped = {
        p.relative_to(THEME).as_posix()
        for p in THEME.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert {f"handouts/theme/{rel}" for rel in shipped} <= names  # every theme file, the font and email too
    assert "handouts/starter/documents/dry-needling-consent/fr.yaml" in names
    assert (
        "handouts/starter/jargon/en.yaml" in names and "handouts/starter/contraindications/fr.yaml" in names
    )
    assert not [n for n in names if "__pycache__" in n]
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(installed.wheel).read(entry_points).decode()
    assert "[handouts.themes]\ndefault = handouts.theme" in text


def test_init_then_build_gives_every_starter_document_with_the_clinics_name(clinic: Path) -> None:
    assert not (clinic / "templates").exists()  # the theme stays in the package
    assert sorted(p.name for p in clinic.iterdir()) == [
        ".gitignore",
        "README.md",
        "content",
        "handouts.yaml",
        "out",
    ]
    for lang in ("en", "fr"):
        pdfs = sorted((clinic / "out/a-clinic" / lang).glob("*.pdf"))
        documents = [p for p in pdfs if not p.name.startswith("_packet-stamp")]
        for doc_id, variants in STARTER_DOCS.items():
            assert len([p for p in documents if p.name.startswith(doc_id)]) == variants, (lang, doc_id)
        assert len(documents) == sum(STARTER_DOCS.values())
        for pdf in documents:
            text = subprocess.run(
                ["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True
            ).stdout
            pages = [page for page in text.split("\f") if page.strip()]
            assert pages and all(CLINIC in " ".join(page.split()) for page in pages), pdf.name
    info = subprocess.run(["pdftotext", str(clinic / "out/a-clinic/fr/dry-needling-info.pdf"), "-"],
                          check=True, capture_output=True, text=True).stdout  # fmt: skip
    assert "Springfield" in info and "puncture sèche" in info  # the package's French document


def test_a_theme_package_is_picked_by_its_name(installed: Venv, clinic: Path, tmp_path: Path) -> None:
    package = tmp_path / "handouts-theme-tiny"
    write_tree(
        package,
        {
            "pyproject.toml": (
                '[build-system]\nrequires = ["setuptools>=77"]\nbuild-backend = "setuptools.build_meta"\n'
                '[project]\nname = "handouts-theme-tiny"\nversion = "1.0"\n'
                '[project.entry-points."handouts.themes"]\ntiny = "handouts_theme_tiny"\n'
                '[tool.setuptools]\npackages = ["handouts_theme_tiny"]\n'
                '[tool.setuptools.package-data]\nhandouts_theme_tiny = ["styles/*.css"]\n'
            ),
            "handouts_theme_tiny/__init__.py": '"""A tiny theme: one stylesheet with a rule added."""\n',
            # Only the file it changes: every other file comes from the built-in theme.
            "handouts_theme_tiny/styles/handout.css": (THEME / "styles/handout.css").read_text() + THEME_NOTE,
        },
    )
    installed.pip_install(build_wheel(package, tmp_path / "dist"))
    project = copy_project(clinic, tmp_path / "clinic")
    settings = project / "handouts.yaml"
    settings.write_text(settings.read_text().replace("# theme: default", "theme: tiny"))
    listing = installed.run(project, "list").stdout
    assert "theme: tiny" in listing
    assert re.search(r"^  theme tiny +templates/styles/handout\.css$", listing, re.M)
    assert re.search(r"^  theme default +templates/base\.html\.j2$", listing, re.M)
    built = installed.run(project, "build", "--only", "dry-needling-info", "--lang", "en")
    assert "built 2," in built.stderr, built.stderr  # the two info outputs use the stylesheet
    text = subprocess.run(["pdftotext", str(project / "out/a-clinic/en/dry-needling-info.pdf"), "-"],
                          check=True, capture_output=True, text=True).stdout  # fmt: skip
    assert "[tiny theme]" in text and CLINIC in text
    settings.write_text(settings.read_text().replace("theme: tiny", "theme: nordic"))
    refused = installed.run(project, "build", check=False)
    assert refused.returncode == 2
    assert refused.stderr.splitlines() == [
        "handouts.yaml:4: unknown theme 'nordic'; installed themes: default, tiny"
    ]
