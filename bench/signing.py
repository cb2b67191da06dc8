"""Figure 9: a certified fillable packet beside the unsigned one (issue 15).

Two copies of the built catalogue, one with `signing:` in handouts.yaml and a clinic
certificate made by `keys init`, the other without. Measured side by side, runs interleaved:

- whole process: `handouts packet --fillable` (what a clinic's script or the CLI pays,
  Python start-up and pyHanko's import included);
- in the server: make_packet plus certification in one warm process (what the front desk
  adds per packet once pyHanko and the key are loaded);
- bytes: what the certification adds to the packet;
- where the whole process's extra time goes: importing the signing stack in a fresh process,
  and the share of it that is aiohttp, which pyHanko's package imports for its HTTP clients
  (time-stamps, certificate fetching) although a certification uses neither. Measured as
  the import with asyncio imported first, beside the import with asyncio and aiohttp
  imported first (pyHanko needs asyncio itself; only aiohttp could be spared).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import time
from pathlib import Path

from figures import BASE_ENV, BIN, HANDOUTS, PACKET_DETAILS, Figure, Section, progress

from handouts.content.catalogue import Catalogue

TARGET_WHOLE_SECONDS = 0.5
TARGET_SERVER_EXTRA_MS = 60
PASSWORD_ENV = "HANDOUTS_SIGNING_PASSWORD"
SIGNING_YAML = f"\nsigning:\n  certificate: keys/clinic.p12\n  password_env: {PASSWORD_ENV}\n"


def _timed(cmd: list[str | Path], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed: {done.stderr.strip()[-500:]}")
    return seconds


def signing_copy(cat: Catalogue, tmp: Path, env: dict[str, str]) -> Path:
    """A copy of the built project that signs: settings, keys init, a build to refresh the snapshot."""
    root = tmp / "signing-project"
    shutil.copytree(cat.project.root, root, symlinks=True)
    config = root / "handouts.yaml"
    config.write_text((config.read_text("utf-8") if config.exists() else "") + SIGNING_YAML, "utf-8")
    _timed([HANDOUTS, "--project", root, "-q", "keys", "init"], root, env)
    _timed([HANDOUTS, "--project", root, "-q", "build"], root, env)
    return root


def figure_certified(cat: Catalogue, tmp: Path, brand: str, repeat: int) -> Section:
    progress("figure 9: certified fillable packet")
    env = {**BASE_ENV, PASSWORD_ENV: "bench-password"}
    plain_root = cat.project.root
    signed_root = signing_copy(cat, tmp, env)
    roots = {"unsigned": plain_root, "certified": signed_root}
    times: dict[str, list[float]] = {name: [] for name in roots}
    outputs = {name: tmp / f"{name}-packet.pdf" for name in roots}
    for i in range(repeat + 1):  # the first round warms the page cache and is dropped
        for name, root in roots.items():
            cmd: list[str | Path] = [HANDOUTS, "--project", root, "-q", "packet", *PACKET_DETAILS,
                                     "--brand", brand, "--fillable", "-o", outputs[name]]  # fmt: skip
            seconds = _timed(cmd, root, env)
            if i:
                times[name].append(seconds)
    whole = {name: statistics.median(values) for name, values in times.items()}
    server = _in_process(plain_root, signed_root, brand, repeat * 4, env)
    imports = _import_costs(repeat * 2)
    added = outputs["certified"].stat().st_size - outputs["unsigned"].stat().st_size
    extra_ms = (server["certified"] - server["unsigned"]) * 1000
    plain_ms, signed_ms = server["unsigned"] * 1000, server["certified"] * 1000
    size = outputs["unsigned"].stat().st_size / 1000
    lines = [
        "Figure 9. certified fillable packet beside the unsigned one (info, consent, aftercare)",
        f"  whole process: unsigned {whole['unsigned']:.2f} s, certified {whole['certified']:.2f} s "
        f"(medians of {repeat}, interleaved)",
        f"  in the server: unsigned {plain_ms:.0f} ms, certified {signed_ms:.0f} ms a packet: "
        f"+{extra_ms:.0f} ms (medians of {repeat * 4}, warm)",
        f"  size: {size:.1f} KB unsigned, +{added / 1000:.1f} KB certified",
        f"  importing the signing stack in a fresh process: {imports['total']:.2f} s, of which "
        f"aiohttp {imports['aiohttp']:.2f} s (medians of {repeat * 2}, interleaved)",
        f"  targets: certified < {TARGET_WHOLE_SECONDS} s whole process; "
        f"< {TARGET_SERVER_EXTRA_MS} ms more in the server",
    ]
    figures = [
        Figure(
            name="9. certified fillable packet (whole process)",
            measured=f"{whole['certified']:.2f} s (unsigned {whole['unsigned']:.2f} s)",
            target=f"< {TARGET_WHOLE_SECONDS} s",
            ok=whole["certified"] < TARGET_WHOLE_SECONDS,
            values={
                "certified_seconds": whole["certified"],
                "unsigned_seconds": whole["unsigned"],
                "signing_import_seconds": imports["total"],
                "aiohttp_import_seconds": imports["aiohttp"],
            },
        ),
        Figure(
            name="9. certification in the server (warm), per packet",
            measured=f"+{extra_ms:.0f} ms ({plain_ms:.0f} -> {signed_ms:.0f} ms)",
            target=f"< {TARGET_SERVER_EXTRA_MS} ms more",
            ok=extra_ms < TARGET_SERVER_EXTRA_MS,
            values={"extra_ms": extra_ms, "bytes_added": added},
        ),
        Figure(
            name="9. bytes a certification adds to a packet",
            measured=f"{added / 1000:.1f} KB",
            target="—",
            ok=None,
            values={"bytes_added": added},
        ),
    ]
    return Section(lines, figures)


_IMPORT_TIMER = (
    "import time\n{pre}\nstarted = time.perf_counter()\nimport handouts.sign.certify\n"
    "print(time.perf_counter() - started)"
)


def _import_costs(repeat: int) -> dict[str, float]:
    """Median seconds to import the signing stack, and how much of that is aiohttp."""
    variants = {"total": "", "asyncio": "import asyncio", "asyncio+aiohttp": "import asyncio, aiohttp"}
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for i in range(repeat + 1):  # the first round warms the page cache and is dropped
        for name, pre in variants.items():
            done = subprocess.run(
                [str(BIN / "python"), "-c", _IMPORT_TIMER.format(pre=pre)],
                env=BASE_ENV, capture_output=True, text=True, check=True,
            )  # fmt: skip
            if i:
                samples[name].append(float(done.stdout))
    median = {name: statistics.median(values) for name, values in samples.items()}
    return {"total": median["total"], "aiohttp": median["asyncio"] - median["asyncio+aiohttp"]}


def _in_process(plain: Path, signed: Path, brand: str, repeat: int, env: dict[str, str]) -> dict[str, float]:
    """Median seconds of one packet in a warm process, as the front desk makes them."""
    import datetime as dt

    from handouts.packet.make import make_packet
    from handouts.packet.request import PacketRequest, Patient
    from handouts.project import Project
    from handouts.sign.packets import finish

    os.environ[PASSWORD_ENV] = env[PASSWORD_ENV]
    patient = Patient("Bench Patient", dt.date(1980, 2, 3), dt.date(2026, 12, 1), "Sam Lee", "neck")
    request = PacketRequest(patient, brand=brand, fillable=True)

    def one(root: Path) -> None:
        made = make_packet(Project(root), request)
        finish(root, made, made.pdf, True)

    for root in (plain, signed):  # warm: imports, the key, pyHanko's first signature
        one(root)
    samples: dict[str, list[float]] = {"unsigned": [], "certified": []}
    for _ in range(repeat):
        for name, root in (("unsigned", plain), ("certified", signed)):
            started = time.perf_counter()
            one(root)
            samples[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in samples.items()}
