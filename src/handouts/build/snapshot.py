"""A snapshot of the last clean build, so commands can tell in milliseconds that nothing changed.

The full path loads every YAML file into pydantic models and walks the Jinja templates to
fingerprint each output: about half a second of imports and parsing before a build can say
"unchanged" or a packet can start. So a build that leaves the whole catalogue current also
records in the manifest a digest of everything the catalogue can depend on, and a small index
of the catalogue (build/index.py: brands, languages, documents, messages, the field font's
characters, long date formats).

While the digest matches, `build` (nothing to do, or --check) and `packet` answer from the
index. Any difference at all falls back to the full path, which stays the authority: a file
edited, added or removed under content/ or templates/, handouts.yaml, handouts' own code, an
installed package, the Python version or SOURCE_DATE_EPOCH; and, since a project's files come
in layers (layers.py), a file of its theme or of the package's starter content too, or a new
override of one. Nothing here reads mtimes.

Kept light on purpose: no pydantic, Jinja, pypdf or WeasyPrint imports at module level.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import handouts
from handouts import confine, layers
from handouts.atomic import TMP_SUFFIX
from handouts.build.index import CatalogueIndex
from handouts.build.manifest import Entry, extra_files, file_matches, read_record
from handouts.errors import Problem, ProjectError
from handouts.layers import files_below
from handouts.project import Project, peek_settings

if TYPE_CHECKING:
    from handouts.build.report import BuildOptions, BuildReport, ProgressFn

FORMAT = 1
DEFAULT_OUT = "out"


# --- the digest ----------------------------------------------------------------------------


def base_digest(project: Project) -> str:
    """Hash of the project's files, its layers' files, handouts' code and the environment.

    Every file of every layer counts, shadowed ones too, under its layer and project path: a
    new override, an edited one, a theme or package upgrade all change it. External inputs
    (rare) are added by `digest`. A build takes it before reading any input, so an edit made
    while it runs is never recorded as built.
    """
    h = hashlib.sha256(_environment_digest().encode())
    h.update(f"SOURCE_DATE_EPOCH={os.environ.get('SOURCE_DATE_EPOCH', '')}\0".encode())
    settings = project.rel(project.config_file)
    _add_file(h, settings, project.config_file, project.settings_fence, settings)
    try:
        stack = layers.peeked(project)
    except ProjectError:
        # A theme that is not installed: no snapshot can match; the full path says what is wrong.
        h.update(b"<theme not found>")
        return h.hexdigest()
    h.update(f"theme={stack.theme}\0".encode())
    for layer, rel, path in stack.every_file():
        _add_file(h, f"{layer.origin}:{rel}", path, layer.fence, rel if not layer.packaged else None)
    return h.hexdigest()


@cache
def _environment_digest() -> str:
    """Python, installed packages and handouts' own code: once per process.

    Once, like the build fingerprints' code hash: a long-lived process (`serve`) renders with
    the code it loaded, so a snapshot it writes must not claim code changed on disk since.
    """
    h = hashlib.sha256(f"handouts-snapshot-{FORMAT}\0{sys.version}\0".encode())
    for name in _installed_packages():
        h.update(name.encode() + b"\0")
    package = Path(handouts.__file__).parent
    fence = (package.resolve(),)
    for path in files_below(package, suffix=".py"):
        _add_file(h, path.relative_to(package).as_posix(), path, fence, refuse=False)
    return h.hexdigest()


def digest(base: str, external: Iterable[str] = ()) -> str:
    """The base digest together with input files outside the project folders (rare)."""
    h = hashlib.sha256(base.encode())
    for name in sorted(external):
        # Named by the manifest, not found by a walk: anything odd there only means "not current".
        _add_file(h, name, Path(name), None, refuse=False)
    return h.hexdigest()


def _add_file(
    h: Any,
    name: str,
    path: Path,
    fence: tuple[Path, ...] | None,
    label: str | None = None,
    *,
    refuse: bool = True,
) -> None:
    """Hash a file's name, bytes (in chunks) and length, by confine.py's rule.

    Nothing there (a dangling link inside the fence too) counts as absent; a link out of the
    fence or a device, pipe or socket raises RefusedFile (with refuse=False: counts as refused).
    """
    if not os.path.lexists(path):
        h.update(f"{name}\0<absent>\0".encode())
        return
    h.update(f"{name}\0".encode())
    try:
        if fence is not None and confine.check(path, fence, label or str(path)) is None:
            h.update(b"<absent>\0")
            return
        size = confine.hash_file(h, path, fence, label or str(path))
    except ProjectError:
        if refuse:
            raise
        h.update(b"<refused>\0")
        return
    h.update(f"\0{size}\0".encode())


def _installed_packages() -> list[str]:
    """Names (with versions) of every installed distribution: an upgrade changes the digest."""
    names = []
    for entry in sys.path:
        try:
            with os.scandir(entry or ".") as it:
                names += [e.name for e in it if e.name.endswith((".dist-info", ".egg-info"))]
        except OSError:
            continue
    return sorted(names)


def external_inputs(stack: layers.Layers, files: Iterable[layers.Source]) -> list[str]:
    """Of an outputs' input files, those outside every layer's folder (absolute paths)."""
    inside = [root.resolve() for root in stack.roots()]
    outside = set()
    for source in files:
        resolved = source.path.resolve()
        if not any(resolved.is_relative_to(folder) for folder in inside):
            outside.add(str(resolved))
    return sorted(outside)


def record(
    base: str, index: CatalogueIndex, external: list[str], warnings: Iterable[Problem] = ()
) -> dict[str, Any]:
    """The snapshot a clean build writes into the manifest (base: its base_digest)."""
    return {
        "digest": digest(base, external),
        "external": external,
        "index": index.to_json(),
        "warnings": [{"file": w.file, "line": w.line, "message": w.message} for w in warnings],
    }


# --- reading it back -------------------------------------------------------------------------


@dataclass(frozen=True)
class Current:
    """The catalogue as the last clean build left it, still true of the project."""

    out: Path
    entries: dict[str, Entry]
    index: CatalogueIndex
    warnings: tuple[Problem, ...] = ()

    def all_current(self, keys: Iterable[str]) -> bool:
        """Whether every one of keys is in the manifest and on disk unchanged."""
        return all(file_matches(self.out, self.entries.get(key)) for key in keys)


def configured_out(project: Project) -> Path | None:
    """handouts.yaml's `out` folder without loading the settings model (None: ask the full path)."""
    data = peek_settings(project)
    if data is None:
        return None
    out = data.get("out", DEFAULT_OUT)
    return project.root / out.strip() if isinstance(out, str) and out.strip() else None


def current(project: Project, out_dir: Path | None = None) -> Current | None:
    """The snapshot of out/ if nothing has changed since it was taken, else None."""
    out = out_dir or configured_out(project)
    if out is None:
        return None
    entries, snap = read_record(out)
    if not isinstance(snap, dict):
        return None
    try:
        external = [str(name) for name in snap["external"]]
        if snap["digest"] != digest(base_digest(project), external):
            return None
        index = CatalogueIndex.from_json(snap["index"])
        warnings = tuple(
            Problem(str(w["file"]), int(w["line"]) if w["line"] else None, str(w["message"]), warning=True)
            for w in snap["warnings"]
        )
    except (KeyError, TypeError, ValueError, IndexError, AttributeError):
        return None
    return Current(out, entries, index, warnings)


def quick_build(
    project: Project, options: BuildOptions, progress: ProgressFn | None = None
) -> BuildReport | None:
    """A build's report when nothing needs doing, from the snapshot alone; None: do the full build."""
    from handouts.build.report import BuildReport, Result

    filtered = options.brands or options.langs or options.docs or options.keys or options.shard != (1, 1)
    if options.force or filtered:
        return None
    started = time.perf_counter()
    state = current(project, options.out_dir)
    if state is None or not state.all_current(state.index.outputs):
        return None
    out = state.out
    # Leftovers of a killed run, or files no content produces: the full path deals with them.
    if any(out.rglob(f".*{TMP_SUFFIX}")) or extra_files(out, set(state.index.outputs)):
        return None
    report = BuildReport(out_dir=out, warnings=list(state.warnings))
    for key in state.index.outputs:
        result = Result(key, "unchanged")
        report.results.append(result)
        if progress is not None:
            progress(result)
    report.seconds = time.perf_counter() - started
    return report
