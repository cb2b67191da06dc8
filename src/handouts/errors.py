"""One error hierarchy; the CLI turns each into a one-line message and an exit code."""

from __future__ import annotations

from dataclasses import dataclass


def shown(text: str, limit: int = 60) -> str:
    """Text from an input file as an error message may quote it: one line, bounded."""
    escaped = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)
    return escaped if len(escaped) <= limit else escaped[: limit - 1] + "…"


class HandoutsError(Exception):
    """A problem the user can fix; printed without a traceback."""

    exit_code = 2

    def lines(self) -> list[str]:
        """Return the message lines to print, one problem per line."""
        return [str(self)]


@dataclass(frozen=True)
class Problem:
    """One problem in one input file, at a line when known."""

    file: str
    line: int | None
    message: str
    warning: bool = False

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {'warning: ' if self.warning else ''}{self.message}"


class ContentError(HandoutsError):
    """The content, brands or templates have one or more problems."""

    exit_code = 2

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(
            {p for p in problems if not p.warning}, key=lambda p: (p.file, p.line or 0, p.message)
        )
        super().__init__(f"{len(self.problems)} problem(s) in the content")

    def lines(self) -> list[str]:
        count = len(self.problems)
        return [str(p) for p in self.problems] + [
            f"Aborted with {count} content error{'s' if count != 1 else ''}."
        ]


class ProjectError(HandoutsError):
    """The project folder or its settings are unusable."""


class UsageError(HandoutsError):
    """A command-line value is wrong (unknown brand, impossible date, ...)."""


class RenderError(HandoutsError):
    """A template or WeasyPrint failed for one output."""


class UnsafeResourceError(RenderError):
    """A document tried to load something outside the project (network, other files)."""


class OutputError(HandoutsError):
    """Writing to the output folder failed (read-only, disk full, ...)."""


class PdfInputError(HandoutsError):
    """A PDF given to us is unreadable, encrypted, or not one of ours."""


class MailError(HandoutsError):
    """Email could not be sent (server unreachable, login or recipient refused); try again later."""

    exit_code = 4
