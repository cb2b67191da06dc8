"""Benchmark handouts on a synthetic catalogue of 40+ outputs and print every figure in one run.

Run it with `./dev bench` (or `bench/run`). Figures, in order:

  0. the machine: CPUs, Python, WeasyPrint, pypdf, and which font subsetter WeasyPrint uses
  1. per document: handouts' full build of one output / WeasyPrint layout alone (same HTML)
  2. cold catalogue: `handouts build --force` / a loop of the `weasyprint` CLI, once per output
  3. no-op rebuild: `handouts build` with nothing changed (whole process)
  4. one changed content file: how many outputs a rebuild makes, against how many it should
  5. sizes of the built PDFs, per kind
  6. peak memory of the cold build
  7. `handouts packet` (whole process) / rendering its documents; 8. a 50-row CSV day
  9. a certified fillable packet beside the unsigned one (bench/signing.py)
  10. what recording in the register adds to a packet; 11. to a day's packets (rate on / off)

The run uses a copy of src/handouts (its theme and starter content too) and content/ taken
when it starts, so edits made while it runs cannot mix two versions of the code (build
fingerprints hash the source: an edit mid-run would turn the no-op rebuild into a full one).
It takes about 2 minutes on 2 CPUs, most of it the weasyprint CLI loop of figure 2.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per document (figure 1)")
    parser.add_argument("--brand", help="brand for figure 1 (default: demo, or the first)")
    parser.add_argument("--all-variants", action="store_true", help="figure 1: time every output")
    parser.add_argument("--outputs", type=int, default=40, help="at least this many outputs")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder, print where")
    parser.add_argument("--only-signing", action="store_true", help="only figure 9 (certified packets)")
    parser.add_argument("--register-only", action="store_true", help="only figures 10 and 11 (the register)")
    parser.add_argument("--register-rows", type=int, default=500, help="figure 11: rows of the CSV")
    return parser.parse_args(argv)


def use_source_snapshot(tmp: Path) -> None:
    """Copy src/handouts into tmp and import it from there, here and in every subprocess."""
    if "handouts" in sys.modules:
        raise RuntimeError("handouts was imported before its source was snapshotted")
    src = tmp / "src"
    shutil.copytree(REPO / "src" / "handouts", src / "handouts", ignore=shutil.ignore_patterns("__pycache__"))
    # Byte-compiled, as pip install and ./dev leave it: otherwise, where PYTHONDONTWRITEBYTECODE
    # is set, every timed process would compile handouts' source first.
    compileall.compile_dir(src / "handouts", quiet=1)
    sys.path.insert(0, str(src))
    # Ahead of the editable install's path entry (a plain .pth line) in subprocesses too.
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(src), os.environ.get("PYTHONPATH")) if p)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="handouts-bench-"))
    try:
        use_source_snapshot(tmp)
        import figures  # only now: it imports handouts

        return figures.run(args, tmp)
    finally:
        if args.keep:
            print(f"bench: kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
