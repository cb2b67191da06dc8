"""A snapshot of the last clean build, so commands can tell in milliseconds that nothing changed.

The full path loads every YAML file into pydantic models and walks the Jinja templates to
fingerprint each output: about half a second of imports and parsing before a build can say
"unchanged" or a packet can start. So a build that leaves the whole catalogue current also
records in the manifest a digest of everything the catalogue can depend on, and a small index
of the catalogue (brands, languages, documents, messages, the field font's characters).

While the digest matches, `build` (nothing to do, or --check) and `packet` answer from the
index. Any difference at all falls back to the full path, which stays the authority: a file
edited, added or removed under content/ or templates/, handouts.yaml, handouts' own code, an
installed package, the Python version or SOURCE_DATE_EPOCH. Nothing here reads mtimes.

Kept light on purpose: no pydantic, Jinja, pypdf or WeasyPrint imports at module level.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from handouts.errors import Problem
from handouts.fsutil import TMP_SUFFIX
from handouts.manifest import Entry, extra_files, file_matches, read_record
from handouts.project import Project

if TYPE_CHECKING:
    from handouts.content import Catalogue
    from handouts.results import BuildOptions, BuildReport, ProgressFn

FORMAT = 1
DEFAULT_OUT = "out"


@dataclass(frozen=True)
class CatalogueIndex:
    """What packets need to know about a catalogue, without loading it."""

    default_language: str
    languages: tuple[str, ...]
    brands: dict[str, str]  # id -> name
    documents: dict[str, dict[str, tuple[str, str]]]  # id -> lang -> (kind, title)
    messages: dict[str, dict[str, str]]  # lang -> key -> text
    outputs: tuple[str, ...]  # every output path, in build order
    printable: tuple[tuple[int, int], ...]  # code point ranges the field font can draw
    # lang -> babel's long date format, as babel parses it, and month names (see long_dates)
    long_dates: dict[str, dict[str, Any]]

    @property
    def document_ids(self) -> list[str]:
        return list(self.documents)

    def kind(self, doc_id: str, lang: str) -> str:
        return self.documents[doc_id][lang][0]

    def title(self, doc_id: str, lang: str) -> str:
        return self.documents[doc_id][lang][1]

    @classmethod
    def from_catalogue(cls, cat: Catalogue) -> CatalogueIndex:
        from handouts.outputs import plan_outputs

        documents: dict[str, dict[str, tuple[str, str]]] = {
            doc_id: {
                lang: (cat.document(doc_id, lang).model.kind, cat.document(doc_id, lang).model.title)
                for lang in cat.languages
            }
            for doc_id in cat.document_ids
        }
        return cls(
            default_language=cat.config.default_language,
            languages=tuple(cat.languages),
            brands={brand_id: brand.model.name for brand_id, brand in sorted(cat.brands.items())},
            documents=documents,
            messages={lang: dict(cat.messages[lang].model) for lang in cat.languages},
            outputs=tuple(s.key for s in plan_outputs(cat)),
            printable=field_font_ranges(cat.project),
            long_dates=long_dates(cat.languages),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "default_language": self.default_language,
            "languages": list(self.languages),
            "brands": self.brands,
            "documents": {d: {lang: list(v) for lang, v in by.items()} for d, by in self.documents.items()},
            "messages": self.messages,
            "outputs": list(self.outputs),
            "printable": [list(r) for r in self.printable],
            "long_dates": self.long_dates,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CatalogueIndex:
        return cls(
            default_language=data["default_language"],
            languages=tuple(data["languages"]),
            brands=dict(data["brands"]),
            documents={
                d: {lang: (v[0], v[1]) for lang, v in by.items()} for d, by in data["documents"].items()
            },
            messages={lang: dict(m) for lang, m in data["messages"].items()},
            outputs=tuple(data["outputs"]),
            printable=tuple((int(a), int(b)) for a, b in data["printable"]),
            long_dates={lang: dict(v) for lang, v in data["long_dates"].items()},
        )


FIELD_FONT = "fonts/HandoutsFields.ttf"


def long_dates(languages: Iterable[str]) -> dict[str, dict[str, Any]]:
    """babel's long date format of each language, for packets to fill in without loading babel.

    Loading babel and a locale's data costs a packet about 30 ms, for one date. The format is
    babel's own parse of the CLDR pattern; it is kept only if filling it in gives exactly
    babel's output for a spread of dates, so any pattern it cannot express falls back to babel.
    """
    from babel.dates import format_date, get_date_format, get_month_names, parse_pattern

    samples = [dt.date(2026, m, d) for m in range(1, 13) for d in (1, 9, 28)]
    samples += [dt.date(1999, 12, 31), dt.date(2031, 2, 3)]
    found = {}
    for lang in languages:
        locale = lang.replace("-", "_")
        months = get_month_names("wide", context="format", locale=locale)
        entry = {
            "format": parse_pattern(get_date_format("long", locale=locale).pattern).format,
            "months": [months[m] for m in range(1, 13)],
        }
        if all(fill_long_date(entry, day) == format_date(day, "long", locale=locale) for day in samples):
            found[lang] = entry
    return found


def fill_long_date(entry: dict[str, Any], day: dt.date) -> str | None:
    """A date in a long_dates entry's format; None if the format needs more than these fields."""
    values = {
        "d": str(day.day),
        "dd": f"{day.day:02d}",
        "MMMM": entry["months"][day.month - 1],
        "y": str(day.year),
        "yyyy": f"{day.year:04d}",
    }
    try:
        return str(entry["format"] % values)
    except (KeyError, TypeError, ValueError, IndexError):
        return None


def covers(ranges: tuple[tuple[int, int], ...], char: str) -> bool:
    """Whether char falls in one of the code point ranges."""
    point = ord(char)
    return any(low <= point <= high for low, high in ranges)


def field_font_ranges(project: Project) -> tuple[tuple[int, int], ...]:
    """Code points the form-field font can draw, as inclusive ranges."""
    return _cmap_ranges((project.templates / FIELD_FONT).read_bytes())


@cache
def _cmap_ranges(font_file: bytes) -> tuple[tuple[int, int], ...]:
    """Once per font (keyed by its bytes): a packet checks three values, a day's list hundreds."""
    import io

    from fontTools.ttLib import TTFont

    with TTFont(io.BytesIO(font_file), lazy=True) as font:
        points = sorted(font.getBestCmap())
    ranges: list[tuple[int, int]] = []
    for point in points:
        if ranges and ranges[-1][1] == point - 1:
            ranges[-1] = (ranges[-1][0], point)
        else:
            ranges.append((point, point))
    return tuple(ranges)


# --- the digest ----------------------------------------------------------------------------


def base_digest(project: Project) -> str:
    """Hash of the project's files, handouts' code and the environment (not external inputs).

    A build takes it before reading any input, so an edit made while it runs is never
    recorded as built.
    """
    h = hashlib.sha256(_environment_digest().encode())
    h.update(f"SOURCE_DATE_EPOCH={os.environ.get('SOURCE_DATE_EPOCH', '')}\0".encode())
    files = [project.config_file] + _files_below(project.content) + _files_below(project.templates)
    for path in files:
        _add_file(h, project.rel(path), path)
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
    package = Path(__file__).parent
    for path in _files_below(package, suffix=".py"):
        _add_file(h, path.relative_to(package).as_posix(), path)
    return h.hexdigest()


def digest(base: str, external: Iterable[str] = ()) -> str:
    """The base digest together with input files outside the project folders (rare)."""
    h = hashlib.sha256(base.encode())
    for name in sorted(external):
        _add_file(h, name, Path(name))
    return h.hexdigest()


def _add_file(h: Any, name: str, path: Path) -> None:
    try:
        data = path.read_bytes()
    except OSError:
        h.update(f"{name}\0<absent>\0".encode())
        return
    h.update(f"{name}\0{len(data)}\0".encode())
    h.update(data)


def _files_below(folder: Path, suffix: str = "") -> list[Path]:
    """Every file below folder, through symlinked folders too (as the content loader's globs go)."""
    found = []
    seen: set[str] = set()
    for parent, dirs, names in os.walk(folder, followlinks=True):
        real = os.path.realpath(parent)
        if real in seen:  # a link back up the tree
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        found += [Path(parent, n) for n in names if n.endswith(suffix)]
    return sorted(found)


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


def external_inputs(project: Project, files: Iterable[Path]) -> list[str]:
    """Of an outputs' input files, those outside content/ and templates/ (absolute paths)."""
    inside = (project.content.resolve(), project.templates.resolve())
    outside = set()
    for path in files:
        resolved = path.resolve()
        if not any(resolved.is_relative_to(folder) for folder in inside) and resolved != project.config_file:
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
    path = project.config_file
    if not path.exists():
        return project.root / DEFAULT_OUT
    import yaml

    try:
        data = yaml.load(path.read_bytes(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError):
        return None
    if data is None:
        return project.root / DEFAULT_OUT
    out = data.get("out", DEFAULT_OUT) if isinstance(data, dict) else None
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
    from handouts.results import BuildReport, Result

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
