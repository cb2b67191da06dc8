"""The figures of the benchmark; bench/run.py imports this once handouts' source is snapshotted.

Everything runs in a temporary copy of the project; nothing in the repository is written
(except the file given to --json). Subprocesses get the environment this module was
imported with: rendering in-process sets SOURCE_DATE_EPOCH, which must not leak into them.
"""

from __future__ import annotations

import argparse
import colorsys
import contextlib
import ctypes
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

import handouts
from handouts.content.catalogue import Catalogue, load_catalogue
from handouts.errors import HandoutsError
from handouts.layers import peeked
from handouts.project import Project
from handouts.render.html import render_html
from handouts.render.output import render_output
from handouts.render.outputs import VARIANTS, OutputSpec, plan_outputs

REPO = Path(__file__).resolve().parent.parent
SOURCE = Path(handouts.__file__).resolve().parent
BIN = Path(sys.prefix) / "bin"
HANDOUTS = BIN / "handouts"
WEASYPRINT_CLI = BIN / "weasyprint"
# Captured before anything renders in this process (render_output sets SOURCE_DATE_EPOCH).
BASE_ENV = dict(os.environ)

CHANGED_DOC = "dry-needling-aftercare"

# Targets (see README). Sizes in bytes, as tests/test_catalogue.py checks them.
TARGET_LAYOUT_RATIO = 1.4
TARGET_COLD_RATIO = 0.3
TARGET_COLD_CPUS = 2
TARGET_NOOP_SECONDS = 0.5
TARGET_NOOP_SHARE = 0.05
TARGET_PACKET_SECONDS = 0.5
TARGET_PACKET_SHARE = 0.2
SIZE_TARGETS: dict[str, int] = {
    "info sheet": 60_000,
    "aftercare sheet": 60_000,
    "print consent": 80_000,
    "fillable consent": 150_000,
}
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


@dataclass(frozen=True)
class Timing:
    """Median seconds of a repeated call: wall clock, and CPU of this process."""

    wall: float
    cpu: float


def median_times(func: Callable[[], object], repeat: int) -> Timing:
    """Call func once to warm up, then return the medians of `repeat` timed calls."""
    func()
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        func()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return Timing(statistics.median(walls), statistics.median(cpus))


@dataclass(frozen=True)
class ProcRun:
    """A finished subprocess: wall time, exit code, output and memory."""

    seconds: float
    cpu_seconds: float  # user + system, of the process and the children it waited for
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
            cpu_seconds=usage.ru_utime + usage.ru_stime,
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
        "busy": busy(),
        "handouts_code": f"{git_state()}, snapshotted to {SOURCE}",
        "bytecode_cache": "handouts byte-compiled in the snapshot (as pip install and ./dev leave it)",
    }


def git_state() -> str:
    """The commit the source was taken from, and how many files differ from it."""
    try:
        commit = subprocess.run(
            ["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", REPO, "status", "--porcelain"], capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    changed = len(status.splitlines())
    return f"commit {commit}" + (f" + {changed} uncommitted file(s)" if changed else "")


def print_machine(info: dict[str, Any]) -> None:
    print("Machine")
    for key, value in info.items():
        if key != "busy":
            print(f"  {key:<15} {value}")
    if info["busy"]:
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
    """Copy the repository's project (its brands) into root, then add brands until there are enough outputs.

    Templates and documents come from the package (the run's source copy), as in a clinic's project.
    """
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


def size_group(cat: Catalogue, spec: OutputSpec) -> str:
    """The summary row an output's size counts towards: one per target (stamps: their own)."""
    kind = kind_of(cat, spec)
    if kind is None:
        return f"{spec.doc_id} page"
    if kind == "consent":
        return "fillable consent" if "fillable" in spec.variant else "print consent"
    return f"{kind} sheet"


def size_target(group: str) -> int | None:
    return SIZE_TARGETS.get(group)


def size_order(group: str) -> int:
    return list(SIZE_TARGETS).index(group) if group in SIZE_TARGETS else len(SIZE_TARGETS)


# --- figure 1: per document, full build / layout ---------------------------------------------


@dataclass(frozen=True)
class DocTiming:
    output: str
    kind: str
    full: Timing
    layout: Timing
    html: Timing

    @property
    def ratio(self) -> float:
        """On CPU time: the same as wall time on an idle machine, and steady on a busy one."""
        return self.full.cpu / self.layout.cpu

    @property
    def wall_ratio(self) -> float:
        return self.full.wall / self.layout.wall


def time_document(cat: Catalogue, spec: OutputSpec, repeat: int) -> DocTiming:
    root = cat.project.root
    html = render_html(cat, spec)
    return DocTiming(
        output=spec.key,
        kind=kind_label(cat, spec),
        full=median_times(lambda: _full_build(root, spec), repeat),
        layout=median_times(lambda: _layout_only(cat.project, html), repeat),
        html=median_times(lambda: render_html(cat, spec), repeat),
    )


def _full_build(root: Path, spec: OutputSpec) -> None:
    outcome = render_output(root, spec)
    if isinstance(outcome, HandoutsError):
        raise outcome


def _layout_only(project: Project, html: str) -> None:
    """WeasyPrint's layout of the HTML, with the same base URL and URL fetcher as handouts."""
    import weasyprint

    from handouts.render.pdf import url_fetcher

    fetcher = url_fetcher(peeked(project).serve)
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
    lines.append(
        f"  {'CPU seconds':<46} {'full':>7} {'layout':>7} {'html':>6} {'rest':>7} {'ratio':>6}   wall ratio"
    )
    for r in rows:
        verdict = "PASS" if r.ratio <= TARGET_LAYOUT_RATIO else "MISS"
        rest = r.full.cpu - r.layout.cpu - r.html.cpu
        lines.append(
            f"  {r.output:<46} {r.full.cpu:6.3f}s {r.layout.cpu:6.3f}s {r.html.cpu:5.3f}s {rest:6.3f}s "
            f"{r.ratio:5.2f}x {verdict}  {r.wall_ratio:5.2f}x"
        )
    worst = max(rows, key=lambda r: r.ratio)
    lines += [
        "  full: render_output in-process (HTML, layout, PDF writing and font subsetting, pypdf);",
        "  layout: weasyprint.HTML(...).render() of the same HTML; rest = full - layout - html.",
        "  Ratios on CPU time (equal to wall time when idle; other load does not skew them).",
        f"  worst {worst.ratio:.2f}x ({worst.output}); target <= {TARGET_LAYOUT_RATIO}x",
    ]
    figure = Figure(
        name="1. one output: full build / WeasyPrint layout (worst document)",
        measured=f"{worst.ratio:.2f}x ({worst.kind}: {worst.full.cpu:.2f} s / {worst.layout.cpu:.2f} s CPU)",
        target=f"≤ {TARGET_LAYOUT_RATIO}x",
        ok=worst.ratio <= TARGET_LAYOUT_RATIO,
        values={
            "brand": brand,
            "documents": [asdict(r) | {"ratio": r.ratio, "wall_ratio": r.wall_ratio} for r in rows],
        },
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


@dataclass(frozen=True)
class Naive:
    seconds: float
    cpu_seconds: float


def naive_loop(cat: Catalogue, html_files: dict[OutputSpec, Path], out: Path) -> Naive:
    """Run the weasyprint CLI once per output, one after another; return the total times.

    It gets the options handouts uses (tags, custom metadata, forms where handouts has them),
    so both sides do the same WeasyPrint work; handouts' pypdf post-processing is extra.
    """
    base_url = cat.project.templates.resolve().as_uri() + "/"
    runs = []
    for n, (spec, html) in enumerate(html_files.items(), 1):
        if n % 10 == 0 or n == len(html_files):
            progress(f"figure 2: weasyprint CLI {n}/{len(html_files)}")
        pdf = out / spec.key
        pdf.parent.mkdir(parents=True, exist_ok=True)
        cmd: list[str | Path] = [WEASYPRINT_CLI, "-q", "-u", base_url, "--pdf-tags", "--custom-metadata"]
        if has_form(spec):
            cmd.append("--pdf-forms")
        runs.append(check(run_timed([*cmd, html, pdf], cwd=cat.project.root), f"weasyprint {html}"))
    return Naive(sum(r.seconds for r in runs), sum(r.cpu_seconds for r in runs))


def figure_cold(cold: ProcRun, naive: Naive, outputs: int) -> Section:
    ratio = cold.seconds / naive.seconds
    cpus = os.cpu_count() or 1
    note = "" if cpus == TARGET_COLD_CPUS else f"; the target is for {TARGET_COLD_CPUS} CPUs, this has {cpus}"
    lines = [
        f"Figure 2. Cold catalogue ({outputs} outputs): handouts build --force / weasyprint CLI loop",
        f"  {'':<24} {'wall':>9} {'CPU':>9}",
        f"  {'handouts build --force':<24} {cold.seconds:7.2f} s {cold.cpu_seconds:7.2f} s  "
        f"(whole process tree; jobs = {cpus} CPUs)",
        f"  {f'weasyprint CLI x {outputs}':<24} {naive.seconds:7.2f} s {naive.cpu_seconds:7.2f} s  "
        f"({naive.seconds / outputs:.2f} s per output, in turn)",
        f"  ratio {ratio:.2f} (wall, the target); CPU time ratio {cold.cpu_seconds / naive.cpu_seconds:.2f}",
        f"  target <= {TARGET_COLD_RATIO}{note}",
    ]
    if busy():
        lines.append("  busy machine: the CLI loop runs last, under another load; compare the CPU times too")
    figure = Figure(
        name=f"2. cold catalogue ({outputs} outputs): build --force / weasyprint CLI loop",
        measured=f"{ratio:.2f} ({cold.seconds:.1f} s / {naive.seconds:.1f} s, {cpus} CPUs)",
        target=f"≤ {TARGET_COLD_RATIO} on {TARGET_COLD_CPUS} CPUs",
        ok=ratio <= TARGET_COLD_RATIO,
        values={
            "build_seconds": cold.seconds,
            "build_cpu_seconds": cold.cpu_seconds,
            "naive_seconds": naive.seconds,
            "naive_cpu_seconds": naive.cpu_seconds,
            "ratio": ratio,
            "cpus": cpus,
        },
    )
    return Section(lines, [figure])


# --- figure 3: no-op rebuild -------------------------------------------------------------


def figure_noop(root: Path, cold_seconds: float, runs: int = 3) -> Section:
    progress("figure 3: no-op builds")
    results = [check(run_timed(build_cmd(root), cwd=root), "no-op build") for _ in range(runs)]
    built = [parse_summary(r.stderr)["built"] for r in results]
    seconds = statistics.median(r.seconds for r in results)
    share = seconds / cold_seconds
    ok = seconds < TARGET_NOOP_SECONDS and share < TARGET_NOOP_SHARE and not any(built)
    times = ", ".join(f"{r.seconds:.2f}" for r in results)
    lines = [
        "Figure 3. No-op rebuild: handouts build with nothing changed (whole process)",
        f"  median {seconds:.2f} s of {runs} runs ({times} s); {share:.1%} of the cold build; "
        f"CPU {statistics.median(r.cpu_seconds for r in results):.2f} s",
        f"  target < {TARGET_NOOP_SECONDS} s and < {TARGET_NOOP_SHARE:.0%} of the cold build",
    ]
    if any(built):
        lines.append(f"  MISS: these builds rebuilt {', '.join(map(str, built))} outputs instead of none")
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


def figure_changed(cat: Catalogue) -> Section:
    progress("figure 4: rebuild after one change")
    root = cat.project.root
    default = cat.config.default_language
    # Wherever it comes from: the starter content of the run's source copy, unless a project has its own.
    source = cat.document(CHANGED_DOC, default).source
    changed = source.path
    with changed.open("a", encoding="utf-8") as handle:
        handle.write("\n")
    run = check(run_timed(build_cmd(root), cwd=root), "rebuild after a change")
    summary = parse_summary(run.stderr)
    expected = expected_rebuilds(cat, CHANGED_DOC)
    variants = len(VARIANTS[cat.document(CHANGED_DOC, default).model.kind])
    translated = sorted(lang for doc, lang in cat.documents if doc == CHANGED_DOC and lang != default)
    rel = source.rel
    lines = [
        f"Figure 4. One changed content file: appended a newline to {rel}",
        f"  rebuilt {summary['built']}, unchanged {summary['unchanged']} in {run.seconds:.2f} s (process)",
        f"  expected {expected}: {len(cat.brands)} brands x {variants} variants x the languages that read "
        f"this file ({default}; not {', '.join(translated) or '-'}, which have their own translation)",
    ]
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
    """Largest PDF per kind and variant (printed), and per target group (summarised)."""
    by_label: dict[str, tuple[int, str]] = {}
    by_group: dict[str, tuple[int, str]] = {}
    group_of: dict[str, str] = {}
    for spec in plan_outputs(cat):
        found = ((out / spec.key).stat().st_size, spec.key)
        label, group = kind_label(cat, spec), size_group(cat, spec)
        by_label[label] = max(by_label.get(label, found), found)
        by_group[group] = max(by_group.get(group, found), found)
        group_of[label] = group
    lines = ["Figure 5. Largest PDF of each kind and variant, over every brand and language (KB = 1000 B)"]
    for label, (size, key) in sorted(by_label.items()):
        limit = size_target(group_of[label])
        target = "" if limit is None else f"< {limit // 1000} KB"
        verdict = "" if limit is None else ("PASS" if size < limit else "MISS")
        lines.append(f"  {label:<34} {size / 1000:6.1f} KB  {target:<9} {verdict:<4}  {key}")
    figures = []
    for group, (size, key) in sorted(by_group.items(), key=lambda item: size_order(item[0])):
        limit = size_target(group)
        figures.append(
            Figure(
                name=f"5. size: largest {group}",
                measured=f"{size / 1000:.1f} KB",
                target="—" if limit is None else f"< {limit // 1000} KB",
                ok=None if limit is None else size < limit,
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


# --- figures 7 and 8: packets from the built catalogue ---------------------------------------

PACKET_DETAILS = ["--patient", "Bench Patient", "--dob", "1980-02-03", "--date", "2026-12-01",
                  "--therapist", "Sam Lee", "--area", "left upper trapezius"]  # fmt: skip


def figure_packet(cat: Catalogue, tmp: Path, brand: str, repeat: int) -> Section:
    """`handouts packet` (whole process, fast path) against rendering its three documents."""
    progress("figure 7: handouts packet")
    root = cat.project.root
    cmd: list[str | Path] = [HANDOUTS, "--project", root, "-q", "packet", *PACKET_DETAILS,
                             "--brand", brand, "-o", tmp / "packet.pdf"]  # fmt: skip
    check(run_timed(cmd, cwd=root), "packet")  # warm-up: the catalogue is built, nothing to build
    runs = [check(run_timed(cmd, cwd=root), "packet") for _ in range(repeat)]
    seconds = statistics.median(r.seconds for r in runs)
    lang = cat.config.default_language
    docs = [OutputSpec(brand, lang, d, "fillable" if "consent" in d else "print") for d in cat.document_ids]
    rendering = median_times(lambda: [_full_build(root, s) for s in docs], repeat)
    share = seconds / rendering.wall
    ok = seconds < TARGET_PACKET_SECONDS and share <= TARGET_PACKET_SHARE
    lines = [
        "Figure 7. handouts packet (info, consent, aftercare; whole process) / rendering the same three",
        f"  packet  median {seconds:.2f} s of {repeat} runs ({', '.join(f'{r.seconds:.2f}' for r in runs)})",
        f"  render  {rendering.wall:.2f} s for {', '.join(s.key for s in docs)} (in-process, warm)",
        f"  ratio {share:.2f}; target < {TARGET_PACKET_SECONDS} s and <= {TARGET_PACKET_SHARE}",
    ]
    figure = Figure(
        name="7. packet, 3 documents (whole process) / rendering them",
        measured=f"{seconds:.2f} s; {share:.2f} of {rendering.wall:.2f} s",
        target=f"< {TARGET_PACKET_SECONDS} s and <= {TARGET_PACKET_SHARE}",
        ok=ok,
        values={"seconds": seconds, "render_seconds": rendering.wall, "share": share},
    )
    return Section(lines, [figure])


def figure_packets(cat: Catalogue, tmp: Path, brand: str, rows: int = 50) -> Section:
    """`handouts packets` for a day of `rows` fictional appointments: packets per second."""
    progress(f"figure 8: handouts packets, {rows} rows")
    csv_file = tmp / "day.csv"
    lines_csv = ["patient,dob,date,therapist,area,docs,lang,brand"]
    langs = cat.languages
    for i in range(rows):
        lines_csv.append(f"Bench Patient {i},1980-01-{i % 28 + 1:02d},2026-12-01,Sam Lee,neck,"
                         f"\"info,consent,aftercare\",{langs[i % len(langs)]},{brand}")  # fmt: skip
    csv_file.write_text("\n".join(lines_csv) + "\n", "utf-8")
    cmd: list[str | Path] = [HANDOUTS, "--project", cat.project.root, "-q", "packets", "--csv", csv_file,
                             "--out", tmp / "day"]  # fmt: skip
    run = check(run_timed(cmd, cwd=cat.project.root), "packets")
    rate = rows / run.seconds
    lines = [
        f"Figure 8. handouts packets for a {rows}-row CSV (whole process, catalogue built)",
        f"  {run.seconds:.2f} s: {rate:.1f} packets per second",
    ]
    figure = Figure(
        name=f"8. packets, {rows}-row CSV",
        measured=f"{rate:.1f} packets/s ({run.seconds:.1f} s)",
        target="—",
        ok=None,
        values={"seconds": run.seconds, "packets_per_second": rate},
    )
    return Section(lines, [figure])


# --- report and main ------------------------------------------------------------------------


def print_summary(figures: list[Figure], info: dict[str, Any], seconds: float) -> None:
    print(
        f"Summary (paste into README): {info['cpus']} CPUs, Python {info['python']}, "
        f"WeasyPrint {info['weasyprint']}, pypdf {info['pypdf']}, "
        f"{info['font_subsetter'].split(' (')[0]}"
    )
    if info["busy"]:
        load = info["load_average"].split(" (")[0]
        print(f"Measured on a busy machine (load average {load}): wall times are inflated.")
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
    """Measure every figure (the slow CLI loop last); return their reports in figure order."""
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
    from signing import figure_certified

    if args.only_signing:  # figure 9 alone: build, then certified beside unsigned packets
        check(run_timed(build_cmd(root), cwd=root), "build")
        return [figure_certified(cat, tmp, brand, args.repeat)]
    if args.register_only:  # figures 10 and 11 alone: build, then the register on beside off
        from register_figures import figure_record_batch, figure_record_packet

        check(run_timed(build_cmd(root), cwd=root), "build")
        rows = args.register_rows
        return [figure_record_packet(cat, tmp, brand), figure_record_batch(cat, tmp, brand, rows)]
    documents = figure_documents(cat, brand, args.repeat, args.all_variants)
    cold = cold_build(root, len(specs))
    noop = figure_noop(root, cold.seconds)
    changed = figure_changed(cat)
    # After figure 4's rebuild out/ is current again; the change was one blank line.
    sizes = figure_sizes(cat, root / cat.config.out)
    naive = naive_loop(cat, write_html(cat, specs, tmp / "html"), tmp / "naive")
    cold_section = figure_cold(cold, naive, len(specs))
    packet = figure_packet(cat, tmp, brand, args.repeat)
    packets = figure_packets(cat, tmp, brand)
    certified = figure_certified(cat, tmp, brand, args.repeat)
    from register_figures import figure_record_batch, figure_record_packet

    record_packet = figure_record_packet(cat, tmp, brand)
    record_batch = figure_record_batch(cat, tmp, brand, args.register_rows)
    sections = [documents, cold_section, noop, changed, sizes, figure_memory(cold), packet, packets]
    return [*sections, certified, record_packet, record_batch]


def run(args: argparse.Namespace, tmp: Path) -> int:
    """Measure and print every figure, working in tmp; return the exit code."""
    started = time.perf_counter()
    quiet_libraries()
    info = machine()
    print_machine(info)
    sections = run_figures(tmp, args)
    for section in sections:
        print("\n".join(section.lines) + "\n")
    figures = [f for section in sections for f in section.figures]
    print_summary(figures, info, time.perf_counter() - started)
    if args.json:
        write_json(args.json, figures, info)
    return 0
