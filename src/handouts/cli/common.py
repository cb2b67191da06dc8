"""What every command shares: the error gate, lazy command loading, and a few option helpers.

The gate is the one place the CLI turns a HandoutsError into its lines on stderr and its exit
code (errors.Exit); commands never catch our errors themselves. Fields are spelled as the
options that carry them: `dob` -> `--dob`, `name_pattern` -> `--name-pattern`; a settings key
(`printing.printer`) as handouts.yaml writes it; a command whose fields are not options (an
argument, a prompt) says how it spells them with `spell_as`.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import click

from handouts.errors import HandoutsError, shown
from handouts.project import Project, find_project

FC = TypeVar("FC", bound=Callable[..., Any])

EXIT_HELP = """\b
Exit codes:
  0  success
  1  build --check: out/ is not what a build would produce
  2  bad input: content, settings, command-line values, or a failed output
  3  screen: incomplete; verify: unsigned
  4  email not sent (server, login or recipient)
  5  screen, archive: a certified form was changed after signing, or carries active content
  7  not printed (CUPS not running, no printer, printer stopped, job refused)
"""
SPELLING = "handouts.spelling"
# The longest line a report prints: a line that quotes a file's text is cut there, with an ellipsis.
LINE_LIMIT = 400
# What json.dumps(ensure_ascii=False) leaves raw that a terminal acts on or reorders: C1 controls,
# bidi and other format characters, line separators. Escaped, the JSON still says the same.
_JSON_UNSAFE = re.compile(
    "[\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]"
)


def flag(field: str) -> str:
    """A field as the CLI names it: its option (a dotted settings key stays as it is)."""
    return field if "." in field else "--" + field.replace("_", "-")


def spell_as(ctx: click.Context, **names: str) -> None:
    """Name these fields so in this command's errors (e.g. name="NAME" for an argument)."""
    ctx.meta.setdefault(SPELLING, {}).update(names)


class HandoutsGroup(click.Group):
    """The top-level group: loads each command's module when it is used, and is the error gate."""

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # command name -> "module:attribute", imported on first use (start-up stays small).
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            module, _, attribute = self.lazy[cmd_name].partition(":")
            command = getattr(importlib.import_module(module), attribute)
            assert isinstance(command, click.Command)
            self.add_command(command, cmd_name)
        return self.commands.get(cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except HandoutsError as exc:
            names: dict[str, str] = ctx.meta.get(SPELLING, {})
            say(exc.lines(lambda field: names.get(field) or flag(field)), err=True)
            ctx.exit(exc.exit_code)


def say(lines: str | Iterable[str], err: bool = False) -> None:
    """Print report lines, each made safe for a terminal (errors.shown): the way commands print.

    A string is one line: a line break inside it (from a file, a PDF, a user) is shown escaped,
    never obeyed, so no quoted text can start a line of its own or overwrite one.
    """
    for line in [lines] if isinstance(lines, str) else lines:
        click.echo(shown(line, LINE_LIMIT), err=err)


def json_text(data: object) -> str:
    """JSON as commands print it: exact (it parses to data), readable, and safe for a terminal."""
    text = json.dumps(data, indent=2, ensure_ascii=False)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def project_of(ctx: click.Context) -> Project:
    """The project given with --project (its folders checked)."""
    return find_project(ctx.obj["project"])


def quiet(ctx: click.Context) -> bool:
    return bool(ctx.obj["quiet"])


def split_list(value: str | None) -> tuple[str, ...]:
    """A comma-separated option as its values."""
    return tuple(v.strip() for v in value.split(",") if v.strip()) if value else ()


def output_option(help_text: str) -> Callable[[FC], FC]:
    """The -o/--output FILE option."""
    return click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help=help_text)
