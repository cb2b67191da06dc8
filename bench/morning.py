"""The morning run: a 50-row day made and printed, against a real CUPS with a cups-pdf queue.

Run it with `.venv/bin/python bench/morning.py` (as root: it starts its own cupsd, as the
tests do, from tests/cups_server.py). Figures, side by side in one run, each the median
of --repeat whole-process runs in a fresh --out folder:

  a. `handouts packets --csv DAY --out DIR` (no --print)
  b. the same with --print: make + submit every packet (the time to queue them, not to
     have cups-pdf finish writing them)
  c. the time from starting (b) until CUPS has queued the first job (goal: under 1 s)
  d. the same run as (a) with the project's `printing:` settings present: printing must add
     no work to a run without --print (ratio d / a, goal about 1)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from cups_server import missing, start_cups  # noqa: E402

ROWS = 50


def write_day(path: Path) -> None:
    names = ["Ada", "Jo", "Lu", "Sam", "Kim", "Ola", "Eli", "Max", "Ida", "Noa"]
    lines = ["patient,dob,date,time,therapist,area,docs,lang,brand"]
    for n in range(ROWS):
        hour, minute = 8 + (n * 10) // 60, (n * 10) % 60
        docs = ("info;consent;aftercare", "consent", "info;aftercare")[n % 3]
        lang = "fr" if n % 5 == 4 else "en"
        when = f"{hour:02d}:{minute:02d}"
        lines.append(f"{names[n % 10]} Bench{n},1980-02-03,2026-12-01,{when},Sam Lee,neck,{docs},{lang},demo")
    path.write_text("\n".join(lines) + "\n", "utf-8")


def handouts(project: Path, *args: str) -> list[str]:
    return [str(REPO / ".venv" / "bin" / "handouts"), "--project", str(project), *args]


def timed(cmd: list[str], env: dict[str, str], first_job: bool = False) -> tuple[float, float | None]:
    """Whole-process seconds, and with first_job the seconds until the first 'printed' line."""
    started = time.perf_counter()
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    first: float | None = None
    assert process.stdout is not None
    for line in process.stdout:
        if first_job and first is None and line.startswith("printed packet-"):
            first = time.perf_counter() - started
    err = process.stderr.read() if process.stderr else ""
    if process.wait() != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {err[-2000:]}")
    return time.perf_counter() - started, first


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    why = missing()
    if why:
        print(f"bench/morning: {why}", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="handouts-morning-"))
    cups = start_cups()
    try:
        project = tmp / "proj"
        for part in ("content", "templates"):
            shutil.copytree(REPO / part, project / part)
        day = tmp / "day.csv"
        write_day(day)
        cups.add_pdf_queue("bench", default=True)
        env = {**os.environ, "CUPS_SERVER": str(cups.socket)}
        subprocess.run(handouts(project, "build"), check=True, capture_output=True, env=env)
        plain, printing, first, with_settings = [], [], [], []
        for n in range(args.repeat):
            plain.append(
                timed(handouts(project, "packets", "--csv", str(day), "--out", str(tmp / f"a{n}")), env)[0]
            )
            whole, queued = timed(
                handouts(project, "packets", "--csv", str(day), "--out", str(tmp / f"b{n}"), "--print"),
                env,
                True,
            )
            printing.append(whole)
            assert queued is not None
            first.append(queued)
            (project / "handouts.yaml").write_text("printing:\n  printer: bench\n  sides: one-sided\n")
            # Settings changed: the first run after it rebuilds nothing but refreshes the snapshot.
            subprocess.run(handouts(project, "build"), check=True, capture_output=True, env=env)
            with_settings.append(
                timed(handouts(project, "packets", "--csv", str(day), "--out", str(tmp / f"d{n}")), env)[0]
            )
            (project / "handouts.yaml").unlink()
            subprocess.run(handouts(project, "build"), check=True, capture_output=True, env=env)
        a, b, c, d = (statistics.median(x) for x in (plain, printing, first, with_settings))
        print(f"morning run, {ROWS} rows (median of {args.repeat}), CUPS with a cups-pdf queue:")
        print(f"  a. packets, no --print:             {a:6.2f} s ({ROWS / a:.1f} packets/s)")
        print(
            f"  b. packets --print (make + submit): {b:6.2f} s ({ROWS / b:.1f} packets/s; "
            f"+{(b - a) / ROWS * 1000:.0f} ms a packet)"
        )
        print(
            f"  c. first job queued after:          {c:6.2f} s  (goal < 1 s: {'PASS' if c < 1 else 'MISS'})"
        )
        print(f"  d. no --print, printing: set:       {d:6.2f} s  (d / a = {d / a:.2f}; goal about 1)")
        return 0
    finally:
        cups.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
