"""Build the catalogue: plan outputs, skip the current ones, render the rest, write atomically.

Order of work, pinned by tests: load and validate everything first; then decide staleness
from fingerprints (never mtimes); then render (in a process pool when there is more than
one output to make); then write each PDF by atomic rename; the manifest is written last.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from handouts import __version__
from handouts.atomic import atomic_write, locked, remove_partials
from handouts.build import snapshot
from handouts.build.fingerprint import build_fingerprint, build_inputs
from handouts.build.index import CatalogueIndex
from handouts.build.manifest import MANIFEST, Entry, extra_files, is_current, read_manifest, write_manifest
from handouts.build.report import BuildOptions, BuildReport, ProgressFn, Result
from handouts.content.catalogue import Catalogue, load_catalogue
from handouts.errors import ContentError, HandoutsError, UsageError
from handouts.project import Project
from handouts.render.output import Rendered, forget_catalogue, render_output
from handouts.render.outputs import OutputSpec, plan_outputs

log = logging.getLogger(__name__)


def select_shard(specs: list[OutputSpec], shard: tuple[int, int]) -> list[OutputSpec]:
    """Keep the outputs of shard I of N: a stable hash of each path picks its shard."""
    index, total = shard
    if total == 1:
        return specs
    return [s for s in specs if int(hashlib.sha256(s.key.encode()).hexdigest(), 16) % total == index - 1]


def build(
    project: Project,
    options: BuildOptions,
    progress: ProgressFn | None = None,
    on_plan: Callable[[int], None] | None = None,
) -> BuildReport:
    """Build (or with check=True, only compare) the outputs selected by options."""
    started = time.perf_counter()
    report = BuildReport()
    base = snapshot.base_digest(project)  # before reading any input: see snapshot.py
    cat = load_catalogue(project, strict=False)
    report.problems = list(cat.errors)
    report.warnings = list(cat.warnings)
    _check_filters(cat, options)
    everything = plan_outputs(cat)
    specs = select_shard(plan_outputs(cat, options.brands, options.langs, options.docs), options.shard)
    if options.keys:
        unknown = sorted(set(options.keys) - {s.key for s in specs})
        if unknown:
            raise UsageError(f"no such output: {', '.join(unknown)}")
        specs = [s for s in specs if s.key in options.keys]
    fingerprints = {s.key: build_fingerprint(cat, s) for s in specs}
    out = report.out_dir = options.out_dir or project.root / cat.config.out
    emit = progress or (lambda result: None)
    if on_plan is not None:
        on_plan(len(specs))

    def record(result: Result) -> None:
        report.results.append(result)
        emit(result)

    if options.check:
        for result in _compare(cat, out, specs, fingerprints, everything, options):
            record(result)
        report.seconds = time.perf_counter() - started
        return report

    with locked(out):
        remove_partials(out)
        manifest = read_manifest(out)
        todo = []
        for spec in specs:
            entry = manifest.get(spec.key)
            if not options.force and is_current(out, entry, fingerprints[spec.key]):
                record(Result(spec.key, "unchanged"))
            else:
                todo.append(spec)
        if todo:
            # Compile every template before rendering anything: all template errors at once.
            from handouts.render.html import check_templates

            template_problems = check_templates(cat.layers, {d.model.kind for d in cat.documents.values()})
            if template_problems:
                raise ContentError(template_problems)
        for spec, outcome in _render_all(project, todo, options.jobs):
            if isinstance(outcome, HandoutsError):
                record(Result(spec.key, "failed", " ".join(outcome.lines())))
                continue
            try:
                atomic_write(out / spec.relpath, outcome.pdf)
            except HandoutsError as exc:
                record(Result(spec.key, "failed", str(exc)))
                continue
            manifest[spec.key] = _entry(spec, outcome, fingerprints[spec.key])
            record(Result(spec.key, "built"))
        # Entries whose file vanished are no longer true.
        manifest = {k: e for k, e in manifest.items() if (out / k).is_file()}
        wanted = {s.key for s in everything} | held_back(cat, manifest)
        for extra in extra_files(out, wanted):
            # Prune only what a build made (it is in the manifest): never a stranger's file.
            if options.prune and extra in manifest:
                prune(out, extra)
                manifest.pop(extra)
                record(Result(extra, "pruned"))
            elif extra in manifest:
                log.warning("%s: no content produces this file any more (remove with --prune)", extra)
            else:
                log.warning("%s: not made by handouts; left alone", extra)
        snap = _snapshot(cat, base, everything, manifest, out, report)
        write_manifest(out, manifest, f"handouts {__version__}", snap)
    report.seconds = time.perf_counter() - started
    return report


def _snapshot(
    cat: Catalogue,
    base: str,
    everything: list[OutputSpec],
    manifest: dict[str, Entry],
    out: Path,
    report: BuildReport,
) -> dict[str, object] | None:
    """The manifest's snapshot if the whole catalogue is now current and error-free, else None.

    Warnings (an untranslated document, say) are kept in it, for the quick path to repeat.
    """
    if report.problems or report.count("failed") or extra_files(out, {s.key for s in everything}):
        return None
    # This build's outputs were just written or checked; only those it did not select need a look.
    done = {r.path for r in report.results if r.status in ("built", "unchanged")}
    for spec in everything:
        if spec.key not in done and not is_current(out, manifest.get(spec.key), build_fingerprint(cat, spec)):
            return None
    inputs = [path for spec in everything for path in build_inputs(cat, spec)]
    return snapshot.record(
        base,
        CatalogueIndex.from_catalogue(cat),
        snapshot.external_inputs(cat.layers, inputs),
        report.warnings,
    )


def held_back(cat: Catalogue, manifest: dict[str, Entry]) -> set[str]:
    """Outputs of documents whose file failed to load: kept as they were, neither extra nor pruned."""
    broken_ids = {doc_id for doc_id, lang in cat.broken if lang == cat.default_language}
    return {
        key
        for key, entry in manifest.items()
        if entry.document in broken_ids or (entry.document, entry.lang) in cat.broken
    }


def prune(out: Path, key: str) -> None:
    """Delete one output and the folders it leaves empty (up to out/ itself)."""
    path = out / key
    path.unlink()
    for folder in path.parents:
        if folder == out or not folder.is_relative_to(out):
            break
        try:
            folder.rmdir()  # only when empty
        except OSError:
            break


def _check_filters(cat: Catalogue, options: BuildOptions) -> None:
    for noun, given in (("brand", options.brands), ("language", options.langs), ("document", options.docs)):
        for value in given:
            if value not in cat.choices(noun) and cat.errors:
                # The document asked for may be one whose content is broken: say that instead.
                raise ContentError(cat.errors)
            cat.pick(noun, value)


def _compare(
    cat: Catalogue,
    out: Path,
    specs: list[OutputSpec],
    fingerprints: dict[str, str],
    everything: list[OutputSpec],
    options: BuildOptions,
) -> list[Result]:
    manifest = read_manifest(out)
    results = []
    for spec in specs:
        entry = manifest.get(spec.key)
        if not (out / spec.relpath).is_file():
            results.append(Result(spec.key, "missing"))
        elif not is_current(out, entry, fingerprints[spec.key]):
            results.append(Result(spec.key, "stale"))
        else:
            results.append(Result(spec.key, "unchanged"))
    unfiltered = not (options.brands or options.langs or options.docs) and options.shard[1] == 1
    if unfiltered:
        for extra in extra_files(out, {s.key for s in everything} | held_back(cat, manifest)):
            results.append(Result(extra, "extra"))
        if not (out / MANIFEST).is_file() and specs:
            results.append(Result(MANIFEST, "missing"))
    return results


def _entry(spec: OutputSpec, rendered: Rendered, build_fp: str) -> Entry:
    prov = rendered.provenance
    return Entry(
        path=spec.key,
        document=spec.doc_id,
        brand=spec.brand,
        lang=spec.lang,
        variant=spec.variant,
        version=prov.version,
        effective=prov.effective.isoformat(),
        pages=rendered.pages,
        bytes=len(rendered.pdf),
        sha256=hashlib.sha256(rendered.pdf).hexdigest(),
        content_fingerprint=prov.fingerprint,
        build_fingerprint=build_fp,
    )


# --- rendering, in this process or in a pool of workers -------------------------------


def _render_all(
    project: Project, specs: list[OutputSpec], jobs: int
) -> Iterator[tuple[OutputSpec, Rendered | HandoutsError]]:
    """Yield each output with its result, in order, as soon as it is rendered."""
    root = project.root
    workers = min(jobs or os.cpu_count() or 1, len(specs))
    if workers <= 1:
        # This process may have rendered before the content changed (handouts serve).
        forget_catalogue(root)
        for spec in specs:
            yield spec, render_output(root, spec)
        return
    # Workers live for the whole build, so each keeps its fonts and caches warm.
    # Not plain fork: a process that already rendered holds Pango/GLib state that a forked
    # child must not reuse (seen as workers dying under pytest and in `serve`).
    context = multiprocessing.get_context("forkserver")
    # The server imports the renderer once (it never renders, so forking it is safe) and each
    # worker starts from it: no WeasyPrint import per worker, and none per build in a process
    # that builds many times (the server lives as long as this process).
    context.set_forkserver_preload(["handouts.render.output", "handouts.render.pdf", "weasyprint"])
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [(spec, pool.submit(render_output, root, spec)) for spec in specs]
        for spec, future in futures:
            yield spec, future.result()
