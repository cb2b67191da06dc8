"""What a build was asked to do and what it did: plain records every command can import cheaply."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from handouts.errors import Exit, Problem

Status = Literal["built", "unchanged", "failed", "stale", "missing", "extra", "pruned"]


@dataclass(frozen=True)
class BuildOptions:
    # None: the project's out folder (handouts.yaml `out`, default "out").
    out_dir: Path | None
    brands: tuple[str, ...] = ()
    langs: tuple[str, ...] = ()
    docs: tuple[str, ...] = ()
    force: bool = False
    check: bool = False
    prune: bool = False
    jobs: int = 0
    shard: tuple[int, int] = (1, 1)
    # Only these output paths (used by packets to build just what they need).
    keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Result:
    path: str
    status: Status
    message: str = ""


@dataclass
class BuildReport:
    results: list[Result] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    seconds: float = 0.0
    out_dir: Path | None = None

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def ok(self) -> bool:
        bad = {"failed", "stale", "missing", "extra"}
        return not self.problems and not any(r.status in bad for r in self.results)

    @property
    def outdated(self) -> list[Result]:
        """What a check found not as a build would leave it."""
        return [r for r in self.results if r.status in ("stale", "missing", "extra")]

    def exit_code(self, check: bool) -> Exit:
        """A check: content errors, else outputs to build, else all current; a build: done or not."""
        if check:
            return Exit.BAD_INPUT if self.problems else Exit.FINDINGS if self.outdated else Exit.OK
        return Exit.OK if self.ok else Exit.BAD_INPUT


ProgressFn = Callable[[Result], None]
