"""One error hierarchy and the one table of exit codes; errors name their field, faces word it.

An error about something a person typed carries the *field* it is about (`dob`, `password`),
never a face's spelling of it: its message is a template in which `{field}` stands for that
field, and each face fills it in its own words (the CLI `--dob`, the CSV report the column
`dob`, the web page "Date of birth"). Values quoted in a message are passed as keywords, so
whatever a person typed is never read as part of the template.
"""

from __future__ import annotations

import enum
import logging
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


class Exit(enum.IntEnum):
    """Every exit code of every command (README, "Exit codes", documents this table)."""

    OK = 0
    # build --check: out/ is stale; screen: a contraindication answered yes; lint --strict: a failure;
    # register verify: a row of the register was changed, removed or inserted
    FINDINGS = 1
    # bad input: content, settings, command-line values, an unreadable form, an output that failed,
    # a register that cannot be read or written (locked, newer schema, server unreachable)
    BAD_INPUT = 2
    # screen: something unanswered or unsigned, nothing flagged
    INCOMPLETE = 3
    # verify: unsigned (the same number as screen's incomplete: neither is an error)
    UNSIGNED = 3
    # email not sent (server, login or recipient): run again later to send only those
    NOT_SENT = 4
    # screen, archive: a certified form was changed after signing, beyond filling it in, or a form
    # carries active content (JavaScript, actions, XFA, embedded files: intake.active)
    TAMPERED = 5
    # not printed (CUPS not running, no printer, a printer stopped or a job refused): run again
    # (6 is left to the scan port's "needs review", made at the same time)
    NOT_PRINTED = 7


# screen's verdicts, in the order a folder's exit code takes the worst (worst last).
SCREEN_EXIT: dict[str, Exit] = {
    "clear": Exit.OK,
    "incomplete": Exit.INCOMPLETE,
    "flagged": Exit.FINDINGS,
    "unreadable": Exit.BAD_INPUT,
    "tampered": Exit.TAMPERED,
}

# verify's verdicts, in the order a folder's exit code takes the worst (worst last): a file
# changed after signing outweighs everything else.
VERIFY_EXIT: dict[str, Exit] = {
    "valid": Exit.OK,
    "unsigned": Exit.UNSIGNED,
    "unreadable": Exit.BAD_INPUT,
    "invalid": Exit.FINDINGS,
}

Spelling = Callable[[str], str]
"""How a face names a field: "dob" -> "--dob" (CLI), "dob" (CSV), "Date of birth" (web)."""


def as_is(field: str) -> str:
    """The field's own name (the CSV report's columns are named so)."""
    return field


# Joiners that scripts need inside words (Persian, Indic, emoji sequences): shown as they are.
_JOINERS = frozenset("\u200c\u200d")
# Controls (C0, DEL, C1), line and paragraph separators, surrogates, and format characters:
# among these are the bidi overrides, embeddings, isolates and marks (U+202A-202E, U+2066-2069,
# U+200E/F, U+061C) that reorder what a terminal shows.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def _unsafe(char: str) -> bool:
    return unicodedata.category(char) in _UNSAFE_CATEGORIES and char not in _JOINERS


def shown(text: str, limit: int = 60) -> str:
    """Make a string from a file, a PDF or a user safe to print: one line, escaped, bounded.

    The one such function: every message or report line that quotes such a string passes
    through it. Controls (ESC, CR, LF, ...), bidi overrides and other invisible format
    characters are escaped visibly (`\\x1b`, `\\u202e`), so a terminal neither runs them
    nor shows text other than what the file holds; past `limit` characters the text ends in
    an ellipsis.
    """
    escaped = "".join(c.encode("unicode_escape").decode("ascii") if _unsafe(c) else c for c in text)
    return escaped if len(escaped) <= limit else escaped[: limit - 1] + "…"


LOG_LINE_LIMIT = 2000
# The colours werkzeug's own access log adds on a terminal (it escapes a request's own controls).
_SGR = re.compile(r"\x1b\[[0-9;]*m")


def _keeping_colours(text: str) -> str:
    """shown, keeping the SGR colour sequences werkzeug adds (it escapes a request's own controls)."""
    pieces = zip(_SGR.split(text), [*_SGR.findall(text), ""], strict=True)
    return "".join(shown(part, LOG_LINE_LIMIT) + style for part, style in pieces)


class TerminalSafe(logging.Filter):
    """Make every log line safe for a terminal (errors.shown): a value logged (a path, a user
    name, a file's text) is escaped whole, line breaks included; the lines of the message's own
    template (a bug's frames) stay lines. Used on the CLI's log handler and the web's loggers."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple):
            args = tuple(_keeping_colours(a) if isinstance(a, str) else a for a in args)
        elif isinstance(args, dict):
            args = {k: _keeping_colours(v) if isinstance(v, str) else v for k, v in args.items()}
        record.args = args
        message = record.getMessage()
        record.msg, record.args = "\n".join(_keeping_colours(line) for line in message.split("\n")), None
        return True


class _Spelled(dict[str, Any]):
    """A template's values; any other name is a field, spelled by the face."""

    def __init__(self, values: dict[str, Any], spell: Spelling) -> None:
        super().__init__(values)
        self.spell = spell

    def __missing__(self, key: str) -> str:
        return self.spell(key)


class HandoutsError(Exception):
    """A problem the user can fix; printed without a traceback.

    With a `field` or `values`, the message is a template: `{field}` is the error's own field,
    other `{name}` placeholders are fields too (spelled by the face) unless `values` gives
    them. `code` says what kind of problem it is, for a face that words some kinds in
    sentences of its own (the web page).
    """

    exit_code: int = Exit.BAD_INPUT

    def __init__(self, message: str, *, field: str | None = None, code: str = "", **values: Any) -> None:
        self.template = message
        self.field = field
        self.code = code
        self.values = values
        super().__init__(self.worded(as_is))

    def worded(self, spell: Spelling = as_is) -> str:
        """The message with every field named as a face names it."""
        if self.field is None and not self.values:
            return self.template
        values = _Spelled(self.values, spell)
        if self.field is not None:
            values.setdefault("field", spell(self.field))
        return self.template.format_map(values)

    def lines(self, spell: Spelling = as_is) -> list[str]:
        """Return the message lines to print, one problem per line."""
        return [self.worded(spell)]


@dataclass(frozen=True)
class Problem:
    """One problem in one input file, at a line when known."""

    file: str
    line: int | None
    message: str
    warning: bool = False
    # The key it is about (`colors.primary`), when there is one: faces may point at it.
    field: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {'warning: ' if self.warning else ''}{self.message}"


class ContentError(HandoutsError):
    """The content, brands or templates have one or more problems."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(
            {p for p in problems if not p.warning}, key=lambda p: (p.file, p.line or 0, p.message)
        )
        super().__init__(f"{len(self.problems)} problem(s) in the content")

    def lines(self, spell: Spelling = as_is) -> list[str]:
        count = len(self.problems)
        return [str(p) for p in self.problems] + [
            f"Aborted with {count} content error{'s' if count != 1 else ''}."
        ]


class ProjectError(HandoutsError):
    """The project folder or its settings are unusable."""


class UsageError(HandoutsError):
    """A value given to a command is wrong (unknown brand, impossible date, ...)."""


class InputErrors(UsageError):
    """Every problem found in one set of inputs (a packet's details, a CSV row), one per line."""

    def __init__(self, errors: Sequence[HandoutsError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(str(e) for e in self.errors))

    def lines(self, spell: Spelling = as_is) -> list[str]:
        return [line for error in self.errors for line in error.lines(spell)]


class UnknownChoice(UsageError):
    """A brand, language or document that is not in the catalogue."""

    def __init__(self, noun: str, value: str, choices: Sequence[str], field: str | None = None) -> None:
        self.noun = noun
        self.value = value
        self.choices = tuple(choices)
        message = "unknown {noun} '{value}'; choose from: {choices}"
        super().__init__(
            message if field is None else "{field}: " + message,
            field=field,
            code="unknown",
            noun=noun,
            value=value,
            choices=", ".join(self.choices),
        )


def choose(noun: str, value: str, choices: Sequence[str], field: str | None = None) -> str:
    """Return value when it is one of choices, else raise UnknownChoice: the one such check.

    field: the input the value came from, when the message should name it.
    """
    if value not in choices:
        raise UnknownChoice(noun, value, choices, field)
    return value


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

    exit_code = Exit.NOT_SENT


class RegisterError(HandoutsError):
    """The consent register cannot be opened or written (settings, locked, newer schema, server)."""


class TamperedError(PdfInputError):
    """A certified form was changed after signing (beyond filling it in)."""

    exit_code = Exit.TAMPERED


def choose_brand(value: str | None, default: str | None, choices: Sequence[str], field: str = "brand") -> str:
    """The brand asked for (checked), else the default: handouts.yaml's `default_brand` or the only brand.

    With several brands and no default, nothing is picked for the user: a front desk must not
    hand out the demo clinic's packets because its file sorts first.
    """
    if value:
        return choose("brand", value, choices, field)
    if default is None:
        raise UsageError(
            "{field}: choose a brand ({choices}), or set default_brand in handouts.yaml",
            field=field,
            code="no-default",
            choices=", ".join(choices),
        )
    return default


class PrintError(HandoutsError):
    """Nothing could be printed (CUPS not running, not answering, or without printers)."""

    exit_code = Exit.NOT_PRINTED
