"""Show progress: a bar on a terminal, plain lines otherwise (CI logs)."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import TYPE_CHECKING, Self

import click

from handouts.cli.common import LINE_LIMIT
from handouts.errors import shown

if TYPE_CHECKING:
    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID

    from handouts.build.report import Result


class TerminalBar:
    """A rich progress bar on stderr, started on demand; a context manager that stops it."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.bar: RichProgress | None = None
        self.task: TaskID | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.bar is not None:
            self.bar.stop()

    def start_bar(self, label: str, total: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as RichProgress

        self.bar = RichProgress(
            TextColumn(label),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=Console(stderr=True),
            transient=True,
        )
        self.bar.start()
        self.task = self.bar.add_task("", total=total)

    def advance(self, description: str) -> None:
        if self.bar is not None and self.task is not None:
            self.bar.update(self.task, advance=1, description=description)

    def problem(self, line: str) -> None:
        """A line on stderr, printed above the bar when there is one (made safe: errors.shown)."""
        line = shown(line, LINE_LIMIT)
        if self.bar is not None:
            self.bar.console.print(line, markup=False, highlight=False)
        else:
            click.echo(line, err=True)


class Progress(TerminalBar):
    """Fed by the build's callbacks: a bar, or one line per built output."""

    def __init__(self, enabled: bool = True, check: bool = False) -> None:
        super().__init__()
        self.enabled = enabled and not check

    def start(self, total: int) -> None:
        if self.enabled and self.tty:
            self.start_bar("building", total)

    def update(self, result: Result) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.advance(result.path)
        elif result.status in ("built", "pruned"):
            click.echo(f"{result.status}: {result.path}", err=True)
