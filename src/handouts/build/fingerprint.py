"""Build fingerprints: a hash of every input that can change an output's bytes.

Inputs are the output's content and template files, the stylesheets it uses, fonts and brand assets,
the variant, the versions of handouts, WeasyPrint and pypdf, and the code of the stages that
produce the bytes. That code is found by package: every module under the stages in
BYTE_STAGES, whatever its name, so a module moved, renamed or added there changes the
fingerprint like any edit does.
"""

from __future__ import annotations

import hashlib
import importlib
import os
from functools import cache
from importlib.metadata import version as package_version
from pathlib import Path

from handouts import __version__
from handouts.confine import hash_file
from handouts.content.catalogue import Catalogue
from handouts.errors import ProjectError
from handouts.layers import Source, files_below
from handouts.render.html import content_inputs, fingerprint, stylesheets
from handouts.render.outputs import OutputSpec

# The stages whose code decides an output's bytes: render (Jinja, WeasyPrint, the form
# repair, the output list) and content (the models and the loader that fill the templates).
BYTE_STAGES = ("handouts.content", "handouts.render")


def build_inputs(cat: Catalogue, spec: OutputSpec) -> list[Source]:
    """Every file whose bytes can change an output's bytes (whichever layer serves each)."""
    brand = cat.brands[spec.brand]
    files = content_inputs(cat, spec) + [brand.source] + stylesheets(cat.layers, spec.large)
    files += cat.layers.listing("templates/fonts")
    if brand.model.logo:
        files.append(cat.layers.project_source((brand.file.path.parent / brand.model.logo).resolve()))
    return files


def build_fingerprint(cat: Catalogue, spec: OutputSpec) -> str:
    """Hash of every input that can change an output's bytes."""
    tools = f"{tool_versions()};variant={spec.variant}"
    return hashlib.sha256((fingerprint(build_inputs(cat, spec)) + tools).encode()).hexdigest()


@cache
def tool_versions() -> str:
    """handouts (with its byte-producing code), WeasyPrint, pypdf and SOURCE_DATE_EPOCH: once per process.

    Once, like the snapshot's code digest: a long-lived process (`serve`) renders with the code
    it loaded, so the outputs it records must carry that code's hash, not the code on disk.
    """
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    return (
        f"handouts={__version__}+{code_digest(stage_folders())};weasyprint={package_version('weasyprint')};"
        f"pypdf={package_version('pypdf')};epoch={epoch}"
    )


def stage_folders() -> tuple[Path, ...]:
    """The folders of the byte-producing stages (BYTE_STAGES), wherever handouts is installed."""
    folders = []
    for name in BYTE_STAGES:
        module = importlib.import_module(name)
        assert module.__file__ is not None
        folders.append(Path(module.__file__).parent)
    return tuple(folders)


def code_digest(folders: tuple[Path, ...]) -> str:
    """Hash of every module below the folders: names relative to their stage, and bytes."""
    digest = hashlib.sha256()
    for folder in folders:
        fence = (folder.resolve(),)
        for path in files_below(folder, suffix=".py"):
            digest.update(f"{folder.name}/{path.relative_to(folder).as_posix()}\0".encode())
            try:
                hash_file(digest, path, fence, str(path))  # in chunks; never out of the package
            except ProjectError:
                digest.update(b"<refused>")
            digest.update(b"\0")
    return digest.hexdigest()[:16]
