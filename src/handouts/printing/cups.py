"""Talk to CUPS through its own command-line clients (`lpstat`, `lp`), never a shell.

The clients are what every CUPS system has (Linux and macOS), speak IPP for us, and honour
the user's CUPS settings (CUPS_SERVER, ~/.cups/client.conf, lpoptions). They run with
LC_ALL=C so their messages can be read; a message that reaches the user is CUPS's own
reason, which names queues and jobs, never a patient (job titles are packet file names).
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from handouts.content.models import JobOptions
from handouts.errors import PrintError, UsageError

log = logging.getLogger(__name__)

TIMEOUT = 20.0  # seconds for one client call; a local scheduler answers in milliseconds
NOT_RUNNING = (
    "cannot print: the CUPS print service is not running on this machine; start it "
    "(e.g. 'sudo systemctl start cups') and try again"
)
NO_PRINTER = (
    "cannot print: CUPS has no printer set up on this machine; add the clinic's printer "
    "(system settings, or 'lpadmin') and try again"
)
REQUEST_ID = re.compile(r"request id is (\S+)")


class PrintFailed(Exception):
    """One job was not queued; reason is one line to show for that packet."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Queue:
    """A destination CUPS offers, and whether it takes and prints jobs now."""

    name: str
    enabled: bool = True  # False: stopped ("disabled"), jobs wait in the queue
    accepting: bool = True  # False: CUPS refuses new jobs
    reason: str | None = None  # why it is stopped or refusing, as CUPS says it

    @property
    def ready(self) -> bool:
        return self.enabled and self.accepting

    def state(self) -> str:
        """'ready', 'is stopped (reason)' or 'does not accept jobs (reason)'."""
        if self.ready:
            return "ready"
        what = "is stopped" if not self.enabled else "does not accept jobs"
        return f"{what} ({self.reason})" if self.reason else what

    def problem(self) -> str | None:
        """Why a job sent now would not print, or None."""
        if self.ready:
            return None
        return f"printer {self.name} {self.state()}; fix it, then run again to print the rest"


@dataclass(frozen=True)
class Printers:
    queues: tuple[Queue, ...]
    default: str | None

    def names(self) -> list[str]:
        return [q.name for q in self.queues]

    def get(self, name: str) -> Queue | None:
        return next((q for q in self.queues if q.name == name), None)


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env.update(LC_ALL="C", LANG="C", LANGUAGE="C")
    return env


def _client(*args: str, data: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """Run one CUPS client (data on its standard input); raise PrintError when missing or hung."""
    try:
        done = subprocess.run(
            list(args),
            input=data if data is not None else b"",
            capture_output=True,
            env=_environment(),
            timeout=TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise PrintError(
            "cannot print: CUPS's '{command}' command is not installed; install CUPS's clients "
            "(Debian: cups-client)",
            command=args[0],
        ) from None
    except subprocess.TimeoutExpired:
        raise PrintError(
            "cannot print: CUPS did not answer within {seconds:g} s; try again", seconds=TIMEOUT
        ) from None
    return subprocess.CompletedProcess(
        done.args,
        done.returncode,
        done.stdout.decode("utf-8", "replace"),
        done.stderr.decode("utf-8", "replace"),
    )


def _not_running(result: subprocess.CompletedProcess[str]) -> bool:
    return "scheduler is not running" in result.stderr.lower()


def parse_lpstat(stdout: str) -> Printers:
    """Read `lpstat -d -a -p` (C locale): default, accepting state, printer state with reasons."""
    default: str | None = None
    accepting: dict[str, bool] = {}
    enabled: dict[str, bool] = {}
    reasons: dict[str, str] = {}
    last: str | None = None
    for line in stdout.splitlines():
        if line.startswith(("\t", " ")):
            if last is not None and line.strip():
                reasons.setdefault(last, line.strip())
            continue
        last = None
        if line.startswith("system default destination: "):
            default = line.split(": ", 1)[1].strip() or None
        elif line.startswith("printer "):
            name = line.split()[1]
            enabled[name] = " disabled since " not in line
            last = name
        elif " accepting requests since " in line:
            name = line.split()[0]
            accepting[name] = " not accepting requests since " not in line
            last = name
    queues = []
    for name in dict.fromkeys([*accepting, *enabled]):
        ready = enabled.get(name, True) and accepting.get(name, True)
        queues.append(
            Queue(
                name,
                enabled=enabled.get(name, True),
                accepting=accepting.get(name, True),
                reason=None if ready else reasons.get(name),
            )
        )
    return Printers(tuple(queues), default)


def list_printers() -> Printers:
    """Every queue CUPS offers and the default; raise PrintError when CUPS is not running."""
    result = _client("lpstat", "-d", "-a", "-p")
    if _not_running(result):
        raise PrintError(NOT_RUNNING)
    if result.returncode != 0 and "no destinations added" not in result.stderr.lower():
        # lpstat prints nothing useful about an unreachable server: ask whether it runs.
        status = _client("lpstat", "-r")
        if "is not running" in status.stdout:
            raise PrintError(NOT_RUNNING)
        raise PrintError("cannot print: CUPS answered: {reason}", reason=_reason(result.stderr))
    return parse_lpstat(result.stdout)


def resolve_printer(wanted: str | None, field: str = "printer") -> Queue:
    """The queue to print to: wanted, or the system's default; errors name the queues there are.

    field: where wanted came from (an option, or the settings key `printing.printer`).
    """
    printers = list_printers()
    if not printers.queues:
        raise PrintError(NO_PRINTER)
    names = ", ".join(printers.names())
    name = wanted or printers.default
    if name is None:
        raise UsageError(
            "{field}: this machine has no default printer; name one (printers here: {names})",
            field=field,
            code="no-default",
            names=names,
        )
    queue = printers.get(name)
    if queue is None:
        raise UsageError(
            "{field}: no printer '{name}' here; printers: {names}",
            field=field,
            code="unknown",
            name=name,
            names=names,
        )
    return queue


def queue_state(name: str) -> Queue:
    """The queue's state now (a printer can stop between two jobs)."""
    result = _client("lpstat", "-a", name, "-p", name)
    if _not_running(result):
        raise PrintFailed("the CUPS print service stopped running")
    queue = parse_lpstat(result.stdout).get(name)
    if result.returncode != 0 or queue is None:
        # An unreachable scheduler makes lpstat call every queue unknown: ask whether it runs.
        if "is not running" in _client("lpstat", "-r").stdout:
            raise PrintFailed("the CUPS print service stopped running")
        raise PrintFailed(f"printer {name} is gone: {_reason(result.stderr)}")
    return queue


def submit(pdf: Path | bytes, printer: str, title: str, options: JobOptions) -> str:
    """Queue a PDF (a file, or bytes piped to lp) on printer under title; return the job id.

    Job ids look like 'Front-12'. Bytes never touch our disk: lp hands them to CUPS's spool.
    Raise PrintFailed when the queue is stopped or refusing, or CUPS refuses the job.
    """
    if not title or "/" in title:
        raise ValueError("a job title is a packet's file name")
    problem = queue_state(printer).problem()
    if problem:
        raise PrintFailed(problem)
    args = ["lp", "-d", printer, "-t", title, *options.lp_args()]
    result = _client(*args, "--", str(pdf)) if isinstance(pdf, Path) else _client(*args, data=pdf)
    if result.returncode != 0:
        raise PrintFailed(f"CUPS refused the job: {_reason(result.stderr)}")
    found = REQUEST_ID.search(result.stdout)
    if not found:
        raise PrintFailed(f"CUPS gave no job id ({_reason(result.stdout)})")
    log.info("queued %s on %s as %s", title, printer, found.group(1))
    return found.group(1)


def _reason(text: str) -> str:
    """CUPS's message on one line, without the client's 'lp:' prefix."""
    line = " ".join(text.split())
    for prefix in ("lp: ", "lpstat: ", "Error - "):
        line = line.removeprefix(prefix)
    return line.rstrip(".")[:200] or "no reason given"
