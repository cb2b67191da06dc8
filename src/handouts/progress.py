"""Show build progress: a bar on a terminal, one plain line per output otherwise (CI logs)."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID

    from handouts.build import Result


class Progress:
    """Context manager fed by the build's callbacks."""

    def __init__(self, enabled: bool = True, check: bool = False) -> None:
        self.enabled = enabled and not check
        self.tty = sys.stderr.isatty()
        self.bar: RichProgress | None = None
        self.task: TaskID | None = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.bar is not None:
            self.bar.stop()

    def start(self, total: int) -> None:
        if not (self.enabled and self.tty):
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as RichProgress

        self.bar = RichProgress(
            TextColumn("building"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=Console(stderr=True),
            transient=True,
        )
        self.bar.start()
        self.task = self.bar.add_task("", total=total)

    def update(self, result: Result) -> None:
        if not self.enabled:
            return
        if self.bar is not None and self.task is not None:
            self.bar.update(self.task, advance=1, description=result.path)
        elif result.status in ("built", "pruned"):
            click.echo(f"{result.status}: {result.path}", err=True)
