"""YAML syntax errors in plain words: what is wrong on which line, and what to write instead.

PyYAML (and libyaml, whose wording differs) reports the parser's view: "found character that
cannot start any token", "did not find expected key". An editor needs the cause on their
line: a tab, an unquoted colour read as a comment, a colon inside a value, an open quote.
The text of the lines around the error says which, so each rule looks at them first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A colour after a key or in a flow list, outside quotes: YAML reads "#..." as a comment.
_COLOUR_AS_COMMENT = re.compile(r"[:,{\[]\s+#[0-9a-fA-F]{3,8}\b|[{\[,]#[0-9a-fA-F]{3,8}\b")
QUOTE_IT = 'put the whole value in quotes, e.g. title: "Dry needling: what to expect"'


@dataclass(frozen=True)
class Syntax:
    """A YAML syntax error in plain words, at the line it is about."""

    message: str
    line: int | None


def explain_syntax(
    text: str, problem: str, context: str, problem_line: int | None, context_line: int | None
) -> Syntax:
    """Word a YAML scanner or parser error (PyYAML's or libyaml's) as what to write instead.

    Lines are 1-based; context_line is where the construct the parser was reading began.
    """
    lines = text.splitlines()
    last = max(len(lines), 1)
    problem_line = min(problem_line, last) if problem_line else None
    context_line = min(context_line, last) if context_line else None
    first = min(x for x in (problem_line, context_line, 1) if x is not None and x >= 1)
    span = range(context_line or problem_line or first, (problem_line or first) + 1)

    def line_text(number: int | None) -> str:
        return lines[number - 1] if number and 0 < number <= len(lines) else ""

    for number in span:
        indent = line_text(number)[: len(line_text(number)) - len(line_text(number).lstrip())]
        if "\t" in indent:
            return Syntax("use spaces, not a tab, to indent", number)
    for number in reversed(span):
        if _COLOUR_AS_COMMENT.search(_unquoted(line_text(number))):
            return Syntax(
                "a # outside quotes starts a comment, so the rest of the line is lost: "
                'write a colour as "#0b5d7a", in quotes',
                number,
            )
    at = problem_line
    for needles, message, where in _RULES:
        if any(n in problem or n in context for n in needles):
            if where == "context" and context_line:
                at = context_line
            if message == "start":
                return Syntax(_bad_start(line_text(problem_line)), problem_line)
            return Syntax(message, at)
    return Syntax(
        f"this line is not valid YAML ({problem or context}): check its indentation, its "
        "'key: value' colon and its quotes",
        at,
    )


def _unquoted(line: str) -> str:
    """The line with quoted parts blanked out, so a '#' inside quotes does not count."""
    return re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\']|\'\')*\'', '""', line)


def _bad_start(line: str) -> str:
    value = line.split(": ", 1)[-1].lstrip()
    char = value[:1] or "this character"
    if char in "@`":
        return f"a value cannot start with {char}: put the value in quotes"
    if char == "%":
        return "a value cannot start with %: put the value in quotes"
    return f"a value cannot start with {char!r}: put the value in quotes"


# (words in PyYAML's or libyaml's message, plain message, the line it is about)
_RULES: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("cannot start any token",), "start", "problem"),
    (("mapping values are not allowed",), "a ':' followed by a space inside a value: " + QUOTE_IT, "problem"),
    (
        ("found unexpected end of stream",),
        "this quote is never closed: end the text with the same quote mark it starts with",
        "context",
    ),
    (
        ("could not find expected ':'",),
        "this line has no 'key: value' colon: add the colon, or indent the line as part of the value above",
        "context",
    ),
    (
        ("expected ',' or '}'", "expected ',' or ']'"),
        "a list in [ ] or keys in { } are not closed on this line: close them, or put each item on "
        "a line of its own",
        "context",
    ),
    (
        ("did not find expected key", "did not find expected '-' indicator", "expected <block end>"),
        "this line does not line up with the lines above it: indent it like the keys (or '- ' "
        "items) it belongs with, with spaces",
        "problem",
    ),
    (
        ("did not find expected node content", "expected the node content"),
        "a value is missing here, or a # outside quotes hid it: write the value, in quotes if it "
        "starts with # or another sign",
        "problem",
    ),
    (
        ("found undefined alias",),
        "a value starting with * refers to an &anchor that does not exist: put the value in quotes",
        "problem",
    ),
    (("found duplicate anchor",), "the same &anchor is set twice: rename one of them", "problem"),
    (
        ("found unknown escape character",),
        'a backslash inside "double quotes" starts an escape: write \\\\ for a backslash, or use '
        "'single quotes'",
        "problem",
    ),
    (
        ("found undefined tag handle", "found a tag", "while parsing a tag", "while scanning a tag"),
        "a value starting with ! is read as a YAML tag: put the value in quotes",
        "problem",
    ),
    (
        ("while scanning a block scalar",),
        "after | or > only - or + may follow on the same line: start the text on the next line",
        "problem",
    ),
    (("directive",), "remove the %YAML or %TAG line: content files need none", "problem"),
    (
        ("while scanning an anchor", "while scanning an alias"),
        "a value starting with & or * is read as a YAML anchor: put the value in quotes",
        "problem",
    ),
    (
        ("while scanning a simple key",),
        "this line is not 'key: value': add the colon, or put the text in quotes",
        "context",
    ),
    (
        ("while scanning a quoted scalar", "while parsing a quoted scalar", "double-quoted scalar"),
        "this quoted text is broken: close the quote, and write a quote mark inside it twice ('') "
        "or use the other kind of quotes",
        "problem",
    ),
)
