"""Figures 10 and 11: what the consent register costs a packet and a day's packets (SQLite).

Each is measured side by side in one run, on two copies of the same built project that differ
only in handouts.yaml (`register: register.sqlite` against `register: off`), with the runs of
the two interleaved so that the machine's load falls on both alike.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
from pathlib import Path

from figures import BASE_ENV, HANDOUTS, PACKET_DETAILS, Figure, Section, check, progress, run_timed

from handouts.content.catalogue import Catalogue

TARGET_RECORD_MS = 5.0
TARGET_BATCH_RATIO = 0.9


def _copies(cat: Catalogue, tmp: Path) -> tuple[Path, Path]:
    """The built project twice: register on (SQLite) and register off; snapshots refreshed."""
    pair = []
    for name, setting in (("register-on", "register.sqlite"), ("register-off", "off")):
        root = tmp / name
        if not root.exists():
            shutil.copytree(cat.project.root, root, symlinks=True)
            (root / "handouts.yaml").write_text(f"register: {setting}\n", "utf-8")
            check(run_timed([HANDOUTS, "--project", root, "-q", "build"], cwd=root), f"build {name}")
        pair.append(root)
    return pair[0], pair[1]


def _count(database: Path, query: str) -> int:
    """The query's count, 0 if there is no register yet."""
    if not database.exists():
        return 0
    with sqlite3.connect(database) as con:
        try:
            return int(con.execute(query).fetchone()[0])
        except sqlite3.OperationalError:  # no table yet
            return 0


def import_ms(module: str, runs: int = 5) -> float:
    """Median cumulative import time of module in a fresh interpreter (python -X importtime)."""
    found = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"],
                             capture_output=True, text=True, env=BASE_ENV, check=True)  # fmt: skip
        last = [line for line in out.stderr.splitlines() if re.search(rf"\|\s+{re.escape(module)}$", line)]
        found.append(int(last[-1].split("|")[1]) / 1000)
    return statistics.median(found)


def figure_record_packet(cat: Catalogue, tmp: Path, brand: str, repeat: int = 21) -> Section:
    """`handouts packet --patient-ref` whole process, register on against off."""
    progress("figure 10: handouts packet with the register on and off")
    on, off = _copies(cat, tmp)
    times: dict[Path, list[float]] = {on: [], off: []}
    for i in range(repeat + 1):
        for root in (on, off) if i % 2 else (off, on):
            cmd = [HANDOUTS, "--project", root, "-q", "packet", *PACKET_DETAILS, "--patient-ref", f"C-{i}",
                   "--brand", brand, "-o", tmp / "packet.pdf"]  # fmt: skip
            run = check(run_timed(cmd, cwd=root), "packet")
            if i:  # the first is a warm-up (and creates the register's schema)
                times[root].append(run.seconds)
    med_on, med_off = statistics.median(times[on]), statistics.median(times[off])
    extra_ms = (med_on - med_off) * 1000
    sqlite_ms, sqlalchemy_ms = import_ms("sqlite3"), import_ms("sqlalchemy")
    lines = [
        "Figure 10. handouts packet --patient-ref (whole process): register on (SQLite) / off",
        f"  on   median {med_on * 1000:.1f} ms of {repeat} runs",
        f"  off  median {med_off * 1000:.1f} ms of {repeat} runs (interleaved with the above)",
        f"  recording adds {extra_ms:.1f} ms; target <= {TARGET_RECORD_MS:g} ms",
        f"  import in a fresh interpreter: sqlite3 {sqlite_ms:.1f} ms (the hot path's only database import),",
        f"  sqlalchemy {sqlalchemy_ms:.0f} ms (schema, queries and PostgreSQL only)",
    ]
    figure = Figure(
        name="10. packet: recording in the register (SQLite, whole process)",
        measured=f"+{extra_ms:.1f} ms ({med_on * 1000:.0f} vs {med_off * 1000:.0f} ms); "
        f"imports: sqlite3 {sqlite_ms:.1f} ms, SQLAlchemy {sqlalchemy_ms:.0f} ms (not on this path)",
        target=f"<= {TARGET_RECORD_MS:g} ms",
        ok=extra_ms <= TARGET_RECORD_MS,
        values={
            "on": med_on,
            "off": med_off,
            "extra_ms": extra_ms,
            "import_sqlite3_ms": sqlite_ms,
            "import_sqlalchemy_ms": sqlalchemy_ms,
        },  # fmt: skip
    )
    return Section(lines, [figure])


def figure_record_batch(cat: Catalogue, tmp: Path, brand: str, rows: int = 500) -> Section:
    """`handouts packets` for `rows` appointments with patient_ref: register on against off."""
    progress(f"figure 11: handouts packets, {rows} rows, register on and off")
    on, off = _copies(cat, tmp)
    header = "patient,patient_ref,dob,date,therapist,area,docs,lang,brand"
    langs = cat.languages
    docs = '"info,consent,aftercare"'
    lines_csv = [
        f"Bench Patient {i},C-{i},1980-01-{i % 28 + 1:02d},2026-12-01,Sam Lee,neck,{docs},"
        f"{langs[i % len(langs)]},{brand}"
        for i in range(rows)
    ]
    csv_file = tmp / "register-day.csv"
    csv_file.write_text("\n".join([header, *lines_csv]) + "\n", "utf-8")
    # Run off, on, on, off (each into a new folder): a load that rises or falls during the
    # figure weighs on both alike, and each run pays its start (and the consent check) once.
    query = "SELECT count(DISTINCT event) FROM register_entries WHERE source = 'batch'"
    # The copy carries what earlier figures recorded (figure 8's day): count only this figure's.
    before = _count(on / "register.sqlite", query)
    seconds: dict[Path, float] = {on: 0.0, off: 0.0}
    for n, root in enumerate((off, on, on, off)):
        out = tmp / f"day-{root.name}-{n}"
        cmd = [HANDOUTS, "--project", root, "-q", "packets", "--csv", csv_file, "--out", out]
        seconds[root] += check(run_timed(cmd, cwd=root), "packets").seconds
    recorded = _count(on / "register.sqlite", query) - before
    rate_on, rate_off = 2 * rows / seconds[on], 2 * rows / seconds[off]
    ratio = rate_on / rate_off
    lines = [
        f"Figure 11. handouts packets for a {rows}-row CSV with patient_ref: register on / off",
        f"  on   {seconds[on]:.1f} s: {rate_on:.1f} packets/s ({recorded} transactions recorded)",
        f"  off  {seconds[off]:.1f} s: {rate_off:.1f} packets/s (two runs each: off, on, on, off)",
        f"  ratio {ratio:.2f}; target >= {TARGET_BATCH_RATIO}",
    ]
    figure = Figure(
        name=f"11. packets, {rows}-row CSV: rate with the register / without",
        measured=f"{ratio:.2f} ({rate_on:.1f} / {rate_off:.1f} packets/s; {recorded} transactions)",
        target=f">= {TARGET_BATCH_RATIO}",
        ok=ratio >= TARGET_BATCH_RATIO and recorded == 2 * rows,
        values={"rate_on": rate_on, "rate_off": rate_off, "ratio": ratio, "recorded": recorded},
    )
    return Section(lines, [figure])
