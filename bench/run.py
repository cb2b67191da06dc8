"""Benchmark handouts on a synthetic catalogue of 40+ outputs and print every figure in one run.

Run it with `./dev bench` (or `bench/run`). Figures, in order:

  0. the machine: CPUs, Python, WeasyPrint, pypdf, and which font subsetter WeasyPrint uses
  1. per document: handouts' full build of one output / WeasyPrint layout alone (same HTML)
  2. cold catalogue: `handouts build --force` / a loop of the `weasyprint` CLI, once per output
  3. no-op rebuild: `handouts build` with nothing changed (whole process)
  4. one changed content file: how many outputs a rebuild makes, against how many it should
  5. sizes of the built PDFs, per kind
  6. peak memory of the cold build

Everything runs in a temporary copy of the project; nothing in the repository is written
(except the file given to --json). Subprocesses get the environment this script started
with: rendering in-process sets SOURCE_DATE_EPOCH, which must not leak into them.
"""

from __future__ import annotations

import argparse
import colorsys
import contextlib
import ctypes
import hashlib
import json
import logging
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import yaml

from handouts.build import render_output
from handouts.content import Catalogue, Project, load_catalogue
from handouts.errors import HandoutsError
from handouts.outputs import VARIANTS, OutputSpec, plan_outputs
from handouts.render import render_html

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.prefix) / "bin"
HANDOUTS = BIN / "handouts"
WEASYPRINT_CLI = BIN / "weasyprint"
# Captured before anything renders in this process (render_output sets SOURCE_DATE_EPOCH).
BASE_ENV = dict(os.environ)

CHANGED_DOC = "dry-needling-aftercare"

# Targets (see README). Sizes are in bytes, as in tests/test_catalogue.py.
TARGET_LAYOUT_RATIO = 1.4
TARGET_COLD_RATIO = 0.3
TARGET_COLD_CPUS = 2
TARGET_NOOP_SECONDS = 0.5
TARGET_NOOP_SHARE = 0.05
SIZE_TARGETS: dict[str, int] = {"info": 60_000, "aftercare": 60_000, "consent": 80_000}
SIZE_TARGET_FILLABLE = 150_000
# Figure 1 times these variants of each document by default (--all-variants: every output).
MAIN_VARIANTS = ("print", "fillable")


@dataclass
class Figure:
    """One line of the summary: what was measured, the target, and whether it was met."""

    name: str
    measured: str
    target: str
    ok: bool | None  # None: no target, reported for information
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return "—" if self.ok is None else ("PASS" if self.ok else "MISS")


@dataclass(frozen=True)
class Section:
    """A figure's report: the lines printed under its heading, and its summary figures."""

    lines: list[str]
    figures: list[Figure]


# --- measuring ---------------------------------------------------------------------------


def median_seconds(func: Callable[[], object], repeat: int) -> float:
    """Call func once to warm up, then return the median wall time of `repeat` calls."""
    func()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


@dataclass(frozen=True)
class ProcRun:
    """A finished subprocess: wall time, exit code, output and memory."""

    seconds: float
    returncode: int
    stdout: str
    stderr: str
    max_rss_mb: float  # largest single process of the tree (wait4's ru_maxrss)
    peak_tree_mb: float | None  # sampled peak of the summed PSS of the whole tree


class TreeSampler:
    """Sample the summed proportional set size (PSS) of a process and its descendants."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_kb = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_mb(self) -> float | None:
        return self.peak_kb / 1024 if self.samples else None

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            total = sum(_pss_kb(pid) for pid in _descendants(self.pid))
            if total:
                self.samples += 1
                self.peak_kb = max(self.peak_kb, total)


def _descendants(root: int) -> list[int]:
    """Return root and every process below it, from /proc (Linux); [] elsewhere."""
    parents: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for name in entries:
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(parents.get(pid, []))
    return found


def _pss_kb(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    match = re.search(r"^Pss:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


def run_timed(cmd: list[str | Path], cwd: Path, sample_memory: bool = False) -> ProcRun:
    """Run cmd to completion; time the whole process and collect its memory use."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen([str(c) for c in cmd], cwd=cwd, env=BASE_ENV, stdout=out, stderr=err)
        sampler = TreeSampler(proc.pid) if sample_memory else None
        with sampler or contextlib.nullcontext():
            # wait4, not wait: it gives this child's rusage, not the max over every child so far.
            _, status, usage = os.wait4(proc.pid, 0)
            seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return ProcRun(
            seconds=seconds,
            returncode=proc.returncode,
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
            max_rss_mb=usage.ru_maxrss / 1024,  # kilobytes on Linux
            peak_tree_mb=sampler.peak_mb if sampler is not None else None,
        )


def check(run: ProcRun, what: str) -> ProcRun:
    if run.returncode != 0:
        sys.exit(f"bench: {what} failed (exit {run.returncode}):\n{run.stderr[-3000:]}")
    return run


def progress(message: str) -> None:
    print(f"  .. {message}", file=sys.stderr, flush=True)


# --- the machine ----------------------------------------------------------------------


def font_subsetter() -> str:
    """Which subsetter WeasyPrint picks: the same test as weasyprint/pdf/fonts.py's subset()."""
    from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

    if harfbuzz_subset is not None and harfbuzz.hb_version_atleast(4, 1, 0):
        return f"HarfBuzz hb-subset (libharfbuzz-subset.so.0, HarfBuzz {_harfbuzz_version()})"
    return "fontTools (slow: install libharfbuzz-subset0 >= 4.1)"


def _harfbuzz_version() -> str:
    try:
        lib = ctypes.CDLL("libharfbuzz.so.0")
        lib.hb_version_string.restype = ctypes.c_char_p
        return str(lib.hb_version_string().decode())
    except (OSError, AttributeError):
        return "?"


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "weasyprint": package_version("weasyprint"),
        "pypdf": package_version("pypdf"),
        "handouts": package_version("handouts"),
        "font_subsetter": font_subsetter(),
        "platform": platform.platform(),
        "load_average": load_text(),
    }


def print_machine(info: dict[str, Any]) -> None:
    print("Machine")
    for key, value in info.items():
        print(f"  {key:<15} {value}")
    if busy():
        print("  WARNING: the machine is busy (1-minute load average above 0.5): other processes")
        print("  share the CPUs, so timings are slower and noisier than on an idle machine")
    print()


def load_text() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1, 5, 15 min)"


def busy() -> bool:
    return os.getloadavg()[0] > 0.5


def quiet_libraries() -> None:
    """Silence WeasyPrint's CSS nits and fontTools' notes, as `handouts` itself does."""
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)


# --- the synthetic catalogue ------------------------------------------------------------


def make_project(root: Path, min_outputs: int) -> Catalogue:
    """Copy templates/ and content/ into root, then add brands until there are enough outputs."""
    shutil.copytree(REPO / "templates", root / "templates")
    shutil.copytree(REPO / "content", root / "content")
    project = Project(root)
    cat = load_catalogue(project)
    per_brand = len(plan_outputs(cat)) // len(cat.brands)
    missing = max(0, math.ceil(min_outputs / per_brand) - len(cat.brands))
    sources = sorted(project.brands_dir.glob("*.yaml"))
    for n in range(missing):
        _copy_brand(sources[n % len(sources)], n + 1)
    cat = load_catalogue(project)
    count = len(plan_outputs(cat))
    if count < min_outputs:
        sys.exit(f"bench: only {count} outputs after adding {missing} brands")
    return cat


def _copy_brand(source: Path, n: int) -> None:
    """Write a copy of a brand with another name and colours, next to it (so logos resolve)."""
    data = yaml.safe_load(source.read_text("utf-8"))
    data["name"] = f"{data['name']} (bench copy {n})"
    data["colors"] = {"primary": _colour(n * 0.13, 0.45), "accent": _colour(n * 0.13 + 0.5, 0.4)}
    target = source.with_name(f"{source.stem}-bench-{n:02d}.yaml")
    target.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), "utf-8")


def _colour(hue: float, lightness: float) -> str:
    r, g, b = colorsys.hls_to_rgb(hue % 1.0, lightness, 0.6)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


def kind_of(cat: Catalogue, spec: OutputSpec) -> str | None:
    """The document kind of an output; None for outputs that are not documents (stamps)."""
    if spec.doc_id not in cat.document_ids:
        return None
    return cat.document(spec.doc_id, spec.lang).model.kind


def kind_label(cat: Catalogue, spec: OutputSpec) -> str:
    kind = kind_of(cat, spec)
    if kind is None:
        return f"{spec.doc_id} ({spec.variant})"
    return f"{kind} ({spec.variant})" if len(VARIANTS[kind]) > 1 else kind


def has_form(spec: OutputSpec) -> bool:
    """Whether handouts renders this output with pdf_forms (older versions: fillable only)."""
    return bool(getattr(spec, "has_form", spec.variant == "fillable"))


def size_target(cat: Catalogue, spec: OutputSpec) -> int | None:
    kind = kind_of(cat, spec)
    if kind == "consent" and "fillable" in spec.variant:
        return SIZE_TARGET_FILLABLE
    return SIZE_TARGETS.get(kind or "")


# --- figure 1: per document, full build / layout ---------------------------------------------


@dataclass(frozen=True)
class DocTiming:
    output: str
    kind: str
    full: float
    layout: float
    html: float

    @property
    def ratio(self) -> float:
        return self.full / self.layout


def time_document(cat: Catalogue, spec: OutputSpec, repeat: int) -> DocTiming:
    root = cat.project.root
    html = render_html(cat, spec)
    return DocTiming(
        output=spec.key,
        kind=kind_label(cat, spec),
        full=median_seconds(lambda: _full_build(root, spec), repeat),
        layout=median_seconds(lambda: _layout_only(cat.project, html), repeat),
        html=median_seconds(lambda: render_html(cat, spec), repeat),
    )


def _full_build(root: Path, spec: OutputSpec) -> None:
    outcome = render_output(root, spec)
    if isinstance(outcome, HandoutsError):
        raise outcome


def _layout_only(project: Project, html: str) -> None:
    """WeasyPrint's layout of the HTML, with the same base URL and URL fetcher as handouts."""
    import weasyprint

    from handouts.pdf import _project_fetcher

    fetcher = _project_fetcher()([project.templates, project.content])
    base_url = project.templates.resolve().as_uri() + "/"
    weasyprint.HTML(string=html, base_url=base_url, url_fetcher=fetcher).render()


def figure_documents(cat: Catalogue, brand: str, repeat: int, every_variant: bool) -> Section:
    specs = plan_outputs(cat, brands=(brand,), langs=(cat.config.default_language,))
    if not every_variant:
        specs = [s for s in specs if s.variant in MAIN_VARIANTS and kind_of(cat, s) is not None]
    rows = []
    for spec in specs:
        progress(f"figure 1: {spec.key}")
        rows.append(time_document(cat, spec, repeat))
    lines = [f"Figure 1. Per document: full build / WeasyPrint layout (median of {repeat}, after a warm-up)"]
    if not every_variant:
        lines.append(f"  brand {brand}; variants {', '.join(MAIN_VARIANTS)} (--all-variants: every output)")
    lines.append(f"  {'output':<50} {'full':>7} {'layout':>7} {'html':>6} {'rest':>7} {'ratio':>6}")
    for r in rows:
        verdict = "PASS" if r.ratio <= TARGET_LAYOUT_RATIO else "MISS"
        rest = r.full - r.layout - r.html
        lines.append(
            f"  {r.output:<50} {r.full:6.3f}s {r.layout:6.3f}s {r.html:5.3f}s {rest:6.3f}s "
            f"{r.ratio:5.2f}x {verdict}"
        )
    worst = max(rows, key=lambda r: r.ratio)
    lines += [
        "  full: render_output in-process (HTML, layout, PDF writing and font subsetting, pypdf);",
        "  layout: weasyprint.HTML(...).render() of the same HTML; rest = full - layout - html",
        f"  worst {worst.ratio:.2f}x ({worst.output}); target <= {TARGET_LAYOUT_RATIO}x",
    ]
    figure = Figure(
        name="1. one output: full build / WeasyPrint layout (worst document)",
        measured=f"{worst.ratio:.2f}x ({worst.kind}: {worst.full:.2f} s / {worst.layout:.2f} s)",
        target=f"≤ {TARGET_LAYOUT_RATIO}x",
        ok=worst.ratio <= TARGET_LAYOUT_RATIO,
        values={"brand": brand, "documents": [asdict(r) | {"ratio": r.ratio} for r in rows]},
    )
    return Section(lines, [figure])


# --- figure 2: cold catalogue against a naive weasyprint loop -----------------------------


def build_cmd(root: Path, *args: str) -> list[str | Path]:
    return [HANDOUTS, "--project", root, "build", *args]


def parse_summary(stderr: str) -> dict[str, int]:
    """Read the `built N, unchanged M, failed F` line `handouts build` ends with."""
    match = re.search(r"built (\d+), unchanged (\d+), failed (\d+)", stderr)
    if match is None:
        sys.exit(f"bench: no build summary in:\n{stderr[-2000:]}")
    built, unchanged, failed = (int(g) for g in match.groups())
    return {"built": built, "unchanged": unchanged, "failed": failed}


def cold_build(root: Path, outputs: int) -> ProcRun:
    progress("figure 2: handouts build --force")
    run = check(run_timed(build_cmd(root, "--force"), cwd=root, sample_memory=True), "cold build")
    built = parse_summary(run.stderr)["built"]
    if built != outputs:
        sys.exit(f"bench: the cold build built {built} of {outputs} outputs:\n{run.stderr[-2000:]}")
    return run


def write_html(cat: Catalogue, specs: list[OutputSpec], folder: Path) -> dict[OutputSpec, Path]:
    """Write each output's HTML (the exact input WeasyPrint gets), untimed."""
    files = {}
    for spec in specs:
        path = folder / (spec.key.removesuffix(".pdf") + ".html")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_html(cat, spec), "utf-8")
        files[spec] = path
    return files


def naive_loop(cat: Catalogue, html_files: dict[OutputSpec, Path], out: Path) -> float:
    """Run the weasyprint CLI once per output, one after another; return the total wall time.

    It gets the options handouts uses (tags, custom metadata, forms where handouts has them),
    so both sides do the same WeasyPrint work; handouts' pypdf post-processing is extra.
    """
    base_url = cat.project.templates.resolve().as_uri() + "/"
    total = 0.0
    for n, (spec, html) in enumerate(html_files.items(), 1):
        if n % 10 == 0 or n == len(html_files):
            progress(f"figure 2: weasyprint CLI {n}/{len(html_files)}")
        pdf = out / spec.key
        pdf.parent.mkdir(parents=True, exist_ok=True)
        cmd: list[str | Path] = [WEASYPRINT_CLI, "-q", "-u", base_url, "--pdf-tags", "--custom-metadata"]
        if has_form(spec):
            cmd.append("--pdf-forms")
        total += check(run_timed([*cmd, html, pdf], cwd=cat.project.root), f"weasyprint {html}").seconds
    return total


def figure_cold(cold: ProcRun, naive: float, outputs: int) -> Section:
    ratio = cold.seconds / naive
    cpus = os.cpu_count() or 1
    note = "" if cpus == TARGET_COLD_CPUS else f"; the target is for {TARGET_COLD_CPUS} CPUs, this has {cpus}"
    lines = [
        f"Figure 2. Cold catalogue ({outputs} outputs): handouts build --force / weasyprint CLI loop",
        f"  handouts build --force   {cold.seconds:7.2f} s  (whole process; jobs = {cpus} CPUs)",
        f"  weasyprint CLI x {outputs:<7} {naive:7.2f} s  ({naive / outputs:.2f} s per output, in turn)",
        f"  ratio {ratio:.2f}; target <= {TARGET_COLD_RATIO}{note}",
    ]
    figure = Figure(
        name=f"2. cold catalogue ({outputs} outputs): build --force / weasyprint CLI loop",
        measured=f"{ratio:.2f} ({cold.seconds:.1f} s / {naive:.1f} s, {cpus} CPUs)",
        target=f"≤ {TARGET_COLD_RATIO} on {TARGET_COLD_CPUS} CPUs",
        ok=ratio <= TARGET_COLD_RATIO,
        values={"build_seconds": cold.seconds, "naive_seconds": naive, "ratio": ratio, "cpus": cpus},
    )
    return Section(lines, [figure])


# --- figure 3: no-op rebuild -------------------------------------------------------------


def source_hash() -> str:
    """Hash of handouts' source: the build fingerprints include it, and others may edit it."""
    digest = hashlib.sha256()
    for path in sorted((REPO / "src" / "handouts").glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def source_note(before: str) -> list[str]:
    if source_hash() == before:
        return []
    return [
        "  NOTE: handouts' source (src/handouts/*.py) changed during this figure; its hash is part",
        "  of every output's fingerprint, so a rebuild of everything is expected: rerun the bench",
    ]


def figure_noop(root: Path, cold_seconds: float, code: str, runs: int = 3) -> Section:
    progress("figure 3: no-op builds")
    results = [check(run_timed(build_cmd(root), cwd=root), "no-op build") for _ in range(runs)]
    built = [parse_summary(r.stderr)["built"] for r in results]
    seconds = statistics.median(r.seconds for r in results)
    share = seconds / cold_seconds
    ok = seconds < TARGET_NOOP_SECONDS and share < TARGET_NOOP_SHARE and not any(built)
    times = ", ".join(f"{r.seconds:.2f}" for r in results)
    lines = [
        "Figure 3. No-op rebuild: handouts build with nothing changed (whole process)",
        f"  median {seconds:.2f} s of {runs} runs ({times} s); {share:.1%} of the cold build",
        f"  target < {TARGET_NOOP_SECONDS} s and < {TARGET_NOOP_SHARE:.0%} of the cold build",
    ]
    if any(built):
        lines.append(f"  MISS: these builds rebuilt {', '.join(map(str, built))} outputs instead of none")
        lines += source_note(code)
    figure = Figure(
        name="3. no-op rebuild (whole process)",
        measured=f"{seconds:.2f} s ({share:.1%} of cold)" + (f"; rebuilt {max(built)}" if any(built) else ""),
        target=f"< {TARGET_NOOP_SECONDS} s and < {TARGET_NOOP_SHARE:.0%}",
        ok=ok,
        values={"seconds": seconds, "runs": [r.seconds for r in results], "share_of_cold": share},
    )
    return Section(lines, [figure])


# --- figure 4: one changed content file ------------------------------------------------------


def expected_rebuilds(cat: Catalogue, doc_id: str) -> int:
    """Outputs that read the default-language file: its own language, and untranslated ones."""
    default = cat.config.default_language
    return sum(
        1
        for s in plan_outputs(cat, docs=(doc_id,))
        if s.lang == default or (doc_id, s.lang) not in cat.documents
    )


def figure_changed(cat: Catalogue, code: str) -> Section:
    progress("figure 4: rebuild after one change")
    root = cat.project.root
    default = cat.config.default_language
    changed = cat.project.content / "documents" / CHANGED_DOC / f"{default}.yaml"
    with changed.open("a", encoding="utf-8") as handle:
        handle.write("\n")
    run = check(run_timed(build_cmd(root), cwd=root), "rebuild after a change")
    summary = parse_summary(run.stderr)
    expected = expected_rebuilds(cat, CHANGED_DOC)
    variants = len(VARIANTS[cat.document(CHANGED_DOC, default).model.kind])
    translated = sorted(lang for doc, lang in cat.documents if doc == CHANGED_DOC and lang != default)
    rel = cat.project.rel(changed)
    lines = [
        f"Figure 4. One changed content file: appended a newline to {rel}",
        f"  rebuilt {summary['built']}, unchanged {summary['unchanged']} in {run.seconds:.2f} s (process)",
        f"  expected {expected}: {len(cat.brands)} brands x {variants} variants x the languages that read "
        f"this file ({default}; not {', '.join(translated) or '-'}, which have their own translation)",
    ]
    if summary["built"] != expected:
        lines += source_note(code)
    figure = Figure(
        name=f"4. one content file changed ({rel})",
        measured=f"rebuilt {summary['built']} in {run.seconds:.1f} s",
        target=f"= {expected} rebuilt",
        ok=summary["built"] == expected,
        values={"built": summary["built"], "expected": expected, "seconds": run.seconds},
    )
    return Section(lines, [figure])


# --- figure 5: sizes -----------------------------------------------------------------------


def figure_sizes(cat: Catalogue, out: Path) -> Section:
    largest: dict[str, tuple[int, str]] = {}
    limits: dict[str, int | None] = {}
    for spec in plan_outputs(cat):
        size = (out / spec.key).stat().st_size
        label = kind_label(cat, spec)
        largest[label] = max(largest.get(label, (0, "")), (size, spec.key))
        limits[label] = size_target(cat, spec)
    lines = ["Figure 5. Largest PDF of each kind and variant, over every brand and language (KB = 1000 B)"]
    figures = []
    for label, (size, key) in sorted(largest.items()):
        limit = limits[label]
        ok = None if limit is None else size < limit
        target = "—" if limit is None else f"< {limit // 1000} KB"
        verdict = "" if ok is None else ("PASS" if ok else "MISS")
        lines.append(f"  {label:<34} {size / 1000:6.1f} KB  {target:<9} {verdict:<4}  {key}")
        figures.append(
            Figure(
                name=f"5. size, {label} (largest)",
                measured=f"{size / 1000:.1f} KB",
                target=target,
                ok=ok,
                values={"bytes": size, "file": key},
            )
        )
    return Section(lines, figures)


# --- figure 6: memory ------------------------------------------------------------------------


def figure_memory(cold: ProcRun) -> Section:
    tree = f"{cold.peak_tree_mb:.0f} MB" if cold.peak_tree_mb is not None else "not sampled"
    lines = [
        "Figure 6. Peak memory of the cold build",
        f"  largest single process   {cold.max_rss_mb:6.0f} MB  (ru_maxrss from wait4: the largest process",
        "                                       of the tree, NOT the sum over the workers)",
        f"  whole tree, summed PSS   {tree:>9}  (sampled every 0.1 s from /proc; Linux only)",
    ]
    figure = Figure(
        name="6. peak memory, cold build",
        measured=f"{cold.max_rss_mb:.0f} MB largest process; {tree} whole tree (PSS)",
        target="—",
        ok=None,
        values={"max_rss_mb": cold.max_rss_mb, "peak_tree_pss_mb": cold.peak_tree_mb},
    )
    return Section(lines, [figure])


# TODO(packet): figure 7, "packet": time `handouts packet ...` against the built catalogue
# (root / "out" after figure 4), return a Section, and add it to `sections` in run_figures.


# --- report and main ------------------------------------------------------------------------


def print_summary(figures: list[Figure], info: dict[str, Any], seconds: float) -> None:
    print(
        f"Summary (paste into README): {info['cpus']} CPUs, Python {info['python']}, "
        f"WeasyPrint {info['weasyprint']}, pypdf {info['pypdf']}, "
        f"{info['font_subsetter'].split(' (')[0]}"
    )
    print()
    print("| Figure | Measured | Target | Result |")
    print("|---|---|---|---|")
    for f in figures:
        print(f"| {f.name} | {f.measured} | {f.target} | {f.verdict} |")
    print()
    misses = sum(1 for f in figures if f.ok is False)
    print(f"bench: {misses} target(s) missed in {seconds:.0f} s; load average now {load_text()}")


def write_json(path: Path, figures: list[Figure], info: dict[str, Any]) -> None:
    data = {"format": 1, "machine": info, "figures": [asdict(f) | {"verdict": f.verdict} for f in figures]}
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", "utf-8")
    print(f"bench: wrote {path}")


def run_figures(tmp: Path, args: argparse.Namespace) -> list[Section]:
    """Measure every figure. The builds run back to back (handouts' source may change under
    us while others edit it); the slow CLI loop comes last. Returned in figure order."""
    root = tmp / "project"
    cat = make_project(root, args.outputs)
    specs = plan_outputs(cat)
    langs = len(cat.languages)
    print(
        f"Catalogue: {len(specs)} outputs = {len(cat.brands)} brands x {langs} language(s) "
        f"({', '.join(cat.languages)}) x {len(specs) // len(cat.brands) // langs} outputs each, in {root}\n",
        flush=True,
    )
    brand = args.brand or ("demo" if "demo" in cat.brands else sorted(cat.brands)[0])
    documents = figure_documents(cat, brand, args.repeat, args.all_variants)
    code = source_hash()
    cold = cold_build(root, len(specs))
    noop = figure_noop(root, cold.seconds, code)
    changed = figure_changed(cat, code)
    # After figure 4's rebuild out/ is current again; the change was one blank line.
    sizes = figure_sizes(cat, root / cat.config.out)
    naive = naive_loop(cat, write_html(cat, specs, tmp / "html"), tmp / "naive")
    cold_section = figure_cold(cold, naive, len(specs))
    return [documents, cold_section, noop, changed, sizes, figure_memory(cold)]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per document (figure 1)")
    parser.add_argument("--brand", help="brand for figure 1 (default: demo, or the first)")
    parser.add_argument("--all-variants", action="store_true", help="figure 1: time every output")
    parser.add_argument("--outputs", type=int, default=40, help="at least this many outputs")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary project, print where")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    quiet_libraries()
    info = machine()
    print_machine(info)
    tmp = Path(tempfile.mkdtemp(prefix="handouts-bench-"))
    try:
        sections = run_figures(tmp, args)
    finally:
        if args.keep:
            print(f"bench: kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    for section in sections:
        print("\n".join(section.lines) + "\n")
    figures = [f for section in sections for f in section.figures]
    print_summary(figures, info, time.perf_counter() - started)
    if args.json:
        write_json(args.json, figures, info)
    return 0


if __name__ == "__main__":
    sys.exit(main())
