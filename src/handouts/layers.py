"""Where each file a project uses comes from: the project first, then its theme, then the package.

A project holds only what it changes. Every file has a *project path*, the place it would
have in a project: `templates/styles/handout.css`, `content/messages/fr.yaml`. To find one,
the layers are asked in order and the first that has it wins:

    templates/...   the project's templates/, the chosen theme, the built-in theme
    content/...     the project's content/, the package's starter content

Brands (`content/brands/`) come from the project only. Documents are replaced whole: a
project folder `content/documents/<id>/` hides the starter's folder of the same id, every
language of it (a half-replaced document would mix two versions of the wording).

This module is the one place where a project path becomes a file on disk: `Layers.find`,
`.listing`, `.documents` and `.serve` all admit files through `_admit`, and `read` is the
one bounded read. Both apply confine.py's rule with the layer's fence: a project's files stay
inside its templates/ and content/ (links between them are fine), a package's inside the
package; a link out, or anything that is not a regular file, is refused with an error naming
it. Kept light on purpose (the build snapshot uses it): no pydantic, Jinja or WeasyPrint imports.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from handouts import confine
from handouts.confine import MAX_FILE_BYTES
from handouts.errors import ProjectError, shown
from handouts.project import Project, peek_settings

THEME_GROUP = "handouts.themes"  # the entry point group a theme package registers in
DEFAULT_THEME = "default"
BUILTIN_THEME = "handouts.theme"  # the package that is the built-in theme
STARTER = Path(__file__).resolve().parent / "starter"

PROJECT = "project"
STARTER_ORIGIN = "starter"
AREAS = ("templates", "content")
PROJECT_ONLY = ("content/brands/",)
DOCUMENTS = "content/documents"


@dataclass(frozen=True)
class Layer:
    """A folder that serves one area (templates/ or content/) of the project paths."""

    origin: str  # "project", "theme default", "starter"
    area: str
    root: Path
    # The resolved folders its files must stay in (confine.py); empty: the root itself.
    bounds: tuple[Path, ...] = ()

    @property
    def packaged(self) -> bool:
        return self.origin != PROJECT

    @property
    def fence(self) -> tuple[Path, ...]:
        return self.bounds or (self.root.resolve(),)


@dataclass(frozen=True)
class Source:
    """The file that serves a project path, and the layer it comes from."""

    rel: str  # the project path, e.g. "templates/styles/handout.css"
    path: Path
    layer: Layer

    @property
    def origin(self) -> str:
        return self.layer.origin

    @property
    def from_project(self) -> bool:
        return not self.layer.packaged


def files_below(folder: Path, suffix: str = "", fence: tuple[Path, ...] = ()) -> list[Path]:
    """Every file below folder, through symlinked folders that stay inside fence (default: folder).

    A symlinked folder that leads out of the fence is not walked: it is listed itself, as
    an entry, so the caller's check refuses it by name (the loader's globs would follow it).
    """
    fence = fence or (folder.resolve(),)
    found = []
    seen: set[str] = set()
    for parent, dirs, names in os.walk(folder, followlinks=True):
        real = os.path.realpath(parent)
        if real in seen:  # a link back up the tree
            dirs[:] = []
            continue
        seen.add(real)
        walked = []
        for name in sorted(d for d in dirs if d != "__pycache__"):
            if confine.inside(Path(os.path.realpath(Path(parent, name))), fence):
                walked.append(name)
            else:
                found.append(Path(parent, name))
        dirs[:] = walked
        found += [Path(parent, n) for n in names if n.endswith(suffix)]
    return sorted(found)


# A theme is a Python package: its modules and their caches are not theme files.
_NOT_THEME_FILES = (".py", ".pyc")


def _admit(layer: Layer, path: Path) -> bool:
    """Whether a file found in a layer may be used: the one rule every lookup goes through.

    Nothing there, or a folder: no. A regular file that resolves inside the layer's fence
    (and, in a package's layer, is not Python code): yes. Anything else, a link out of the
    fence or a device, pipe or socket, raises confine.RefusedFile naming it: it is never
    skipped in silence, nor replaced by another layer's file.
    """
    if layer.packaged and (path.suffix in _NOT_THEME_FILES or "__pycache__" in path.parts):
        return False
    return confine.check(path, layer.fence, _label(layer, path)) is not None


def _label(layer: Layer, path: Path) -> str:
    """A file as errors name it: its project path for a project's file, else its path."""
    if not layer.packaged:
        try:
            inner = path.relative_to(layer.root).as_posix()
        except ValueError:
            return str(path)
        return f"{layer.area}/{inner}" if layer.area else inner
    return str(path)


def read(source: Source, limit: int = MAX_FILE_BYTES) -> bytes:
    """A source's bytes, through the layer's fence; refused before reading when over limit."""
    return confine.read_file(source.path, source.layer.fence, _label(source.layer, source.path), limit)


def hash_source(digest: Any, source: Source) -> int:
    """Feed a source's bytes to digest in chunks, through the layer's fence; return their count."""
    return confine.hash_file(digest, source.path, source.layer.fence, _label(source.layer, source.path))


def _split(rel: str) -> tuple[str, str]:
    """A project path as (area, path inside the area); anything else is a bug, not input."""
    parts = PurePosixPath(rel).parts
    if not parts or parts[0] not in AREAS or ".." in parts or rel.startswith("/"):
        raise ValueError(f"not a project path: {rel!r}")
    return parts[0], "/".join(parts[1:])


@dataclass(frozen=True)
class Layers:
    """The layers of one project, in lookup order (see the module's docstring)."""

    project: Project
    theme: str
    stack: tuple[Layer, ...]
    starter_documents: bool = True

    def _serving(self, area: str, sub: str) -> list[Layer]:
        rel = f"{area}/{sub}"
        only_project = any(rel.startswith(prefix) or rel == prefix.rstrip("/") for prefix in PROJECT_ONLY)
        return [layer for layer in self.stack if layer.area == area and not (only_project and layer.packaged)]

    def find(self, rel: str) -> Source | None:
        """The file that serves a project path, or None."""
        area, sub = _split(rel)
        if rel.startswith(DOCUMENTS + "/"):
            return next((s for s in self.documents() if s.rel == rel), None)
        for layer in self._serving(area, sub):
            path = layer.root / sub
            if _admit(layer, path):
                return Source(rel, path, layer)
        return None

    def need(self, rel: str) -> Source:
        """The file that serves a project path; a ProjectError naming where it was looked for."""
        found = self.find(rel)
        if found is None:
            area, sub = _split(rel)
            looked = ", ".join(str(layer.root / sub) for layer in self._serving(area, sub))
            raise ProjectError("{rel}: not found (looked in {looked})", rel=rel, looked=looked)
        return found

    def listing(self, folder: str, pattern: str = "*") -> list[Source]:
        """The files matching pattern below a project folder, from every layer; the first layer wins."""
        area, sub = _split(folder)
        found: dict[str, Source] = {}
        for layer in self._serving(area, sub):
            base = layer.root / sub
            if not base.is_dir():
                continue
            for path in sorted(base.glob(pattern)):
                rel = f"{area}/{path.relative_to(layer.root).as_posix()}"
                if rel not in found and _admit(layer, path):
                    found[rel] = Source(rel, path, layer)
        return [found[rel] for rel in sorted(found)]

    def documents(self) -> list[Source]:
        """Every document file: per document id, the files of the first layer that has that id."""
        area, sub = _split(DOCUMENTS)
        chosen: dict[str, list[Source]] = {}
        for layer in self._serving(area, sub):
            if layer.origin == STARTER_ORIGIN and not self.starter_documents:
                continue
            base = layer.root / sub
            if not base.is_dir():
                continue
            for folder in sorted(p for p in base.iterdir() if p.is_dir()):
                if folder.name in chosen:
                    continue
                files = [
                    Source(f"{DOCUMENTS}/{folder.name}/{path.name}", path, layer)
                    for path in sorted(folder.glob("*.yaml"))
                    if _admit(layer, path)
                ]
                if files:
                    chosen[folder.name] = files
        return [source for doc_id in sorted(chosen) for source in chosen[doc_id]]

    def serve(self, path: Path) -> tuple[Path, bytes] | None:
        """For a file a rendered document asks for: the file serving its project path and its bytes.

        None when no layer serves it; confine.RefusedFile when the file that does is refused.
        A stylesheet's `url(../fonts/F.ttf)` is asked for next to wherever the stylesheet came
        from; it is served from whichever layer serves `templates/fonts/F.ttf`.
        """
        source = self.source_of(path)
        if source is None:
            return None
        # Its place in the layer, not where a link inside the project leads: a stylesheet's
        # relative url(../fonts/F.ttf) must stay in the project path space (templates/...).
        return Path(os.path.abspath(source.path)), read(source)

    def source_of(self, path: Path) -> Source | None:
        """The source serving the project path that a file inside some layer stands for."""
        # As named first (a link inside the project keeps its project path), then resolved (a
        # layer's folder reached through a link, as WeasyPrint may give it); find() then admits
        # the file by the one rule, whichever way it was named.
        named = Path(os.path.abspath(path))
        for asked, place in (
            (named, lambda root: Path(os.path.abspath(root))),
            (path.resolve(), Path.resolve),
        ):
            for layer in self.stack:
                root = place(layer.root)
                if asked.is_relative_to(root) and asked != root:
                    return self.find(f"{layer.area}/{asked.relative_to(root).as_posix()}")
        return None

    def project_source(self, path: Path) -> Source:
        """A file of the project itself (a brand file, a logo) as a source."""
        layer = next(layer for layer in self.stack if not layer.packaged and layer.area == "content")
        return Source(self.project.rel(path), path, layer)

    def label(self, source: Source) -> str:
        """How messages name a source: project-relative for the project's files, else its path."""
        return self.project.rel(source.path)

    def roots(self) -> list[Path]:
        return [layer.root for layer in self.stack]

    def every_file(self) -> list[tuple[Layer, str, Path]]:
        """Every file of every layer, shadowed ones too (layer, project path, file): for the snapshot."""
        files = []
        for layer in self.stack:
            for path in files_below(layer.root, fence=layer.fence):
                if layer.packaged and path.suffix in _NOT_THEME_FILES:
                    continue  # the package's code is in the snapshot's code digest already
                files.append((layer, f"{layer.area}/{path.relative_to(layer.root).as_posix()}", path))
        return files


# --- themes ----------------------------------------------------------------------------------


def installed_themes() -> dict[str, str]:
    """Theme name -> the package that holds it, from the `handouts.themes` entry points."""
    from importlib.metadata import entry_points

    found = {ep.name: ep.value for ep in entry_points(group=THEME_GROUP)}
    # A source checkout run without install metadata still has its built-in theme.
    found.setdefault(DEFAULT_THEME, BUILTIN_THEME)
    return dict(sorted(found.items()))


class UnknownTheme(ProjectError):
    """handouts.yaml names a theme that no installed package registers."""

    def __init__(self, name: str, installed: list[str]) -> None:
        self.name = name
        super().__init__(
            "unknown theme '{name}'; installed themes: {installed}",
            code="unknown-theme",
            name=shown(name),
            installed=", ".join(installed),
        )


def theme_folder(name: str) -> Path:
    """The folder of a theme: its package's folder, laid out like a project's templates/."""
    # The built-in theme is registered like any other; it is found without reading every
    # installed package's entry points, which would cost each no-op build milliseconds.
    package = BUILTIN_THEME if name == DEFAULT_THEME else installed_themes().get(name)
    if package is None:
        raise UnknownTheme(name, list(installed_themes()))
    return _package_folder(name, package)


def _package_folder(name: str, package: str) -> Path:
    import importlib.util

    module = package.partition(":")[0].strip()
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise ProjectError(
            "theme '{name}' names package '{package}', which is not an installed package",
            name=shown(name),
            package=shown(module),
        )
    return Path(locations[0])


def settings_layer(project: Project) -> Layer:
    """The layer of handouts.yaml: the project's own; it may link into templates/ or content/ only."""
    return Layer(PROJECT, "", project.root, project.settings_fence)


def for_project(project: Project, theme: str = DEFAULT_THEME, starter_documents: bool = True) -> Layers:
    """The layers of a project that uses `theme` (raise UnknownTheme when it is not installed)."""
    fence = project.fence
    stack = [Layer(PROJECT, "templates", project.templates, fence)]
    if theme != DEFAULT_THEME:
        stack.append(Layer(f"theme {theme}", "templates", theme_folder(theme)))
    stack += [
        Layer(f"theme {DEFAULT_THEME}", "templates", theme_folder(DEFAULT_THEME)),
        Layer(PROJECT, "content", project.content, fence),
        Layer(STARTER_ORIGIN, "content", STARTER),
    ]
    return Layers(project, theme, tuple(stack), starter_documents)


def starter_listing(folder: str, pattern: str = "*") -> list[Source]:
    """The package's starter content below a project folder (`content/...`), for `init` to copy."""
    area, sub = _split(folder)
    layer = Layer(STARTER_ORIGIN, "content", STARTER)
    if area != "content":
        return []
    found = [path for path in sorted((STARTER / sub).glob(pattern)) if _admit(layer, path)]
    return [Source(f"content/{path.relative_to(STARTER).as_posix()}", path, layer) for path in found]


def peeked(project: Project) -> Layers:
    """The layers handouts.yaml asks for, read without the settings model.

    For the quick paths (the snapshot, a packet's field check); the full path takes them from
    the validated settings (Catalogue.layers). Unreadable settings give the defaults here: the
    full path then reports what is wrong with them.
    """
    settings = peek_settings(project) or {}
    theme = settings.get("theme", DEFAULT_THEME)
    return for_project(
        project,
        theme if isinstance(theme, str) and theme else DEFAULT_THEME,
        settings.get("starter_documents", True) is not False,
    )
