"""Load YAML safely while keeping the line of every value, so errors can name file:line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from handouts.confine import MAX_YAML_BYTES, RefusedFile, read_file
from handouts.content.syntax import explain_syntax
from handouts.errors import Problem, shown

# Bounds that stop alias bombs ("billion laughs") and absurd files long before memory suffers.
MAX_FILE_BYTES = MAX_YAML_BYTES
MAX_NODES = 200_000
MAX_DEPTH = 64

Loc = tuple[str | int, ...]


class YamlProblem(Exception):
    """Raised inside this module; turned into a Problem with file and line."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


@dataclass
class SourceMap:
    """Lines of every key and value of one YAML file, addressed by their path.

    `lines` holds where each key (or list item) is; `values` where its value starts, when
    that is not the key's line (a list or mapping below the key; an empty value has none:
    PyYAML marks it at the next token, a line late); `texts` the source text of each scalar.
    """

    file: str
    lines: dict[Loc, int] = field(default_factory=dict)
    values: dict[Loc, int] = field(default_factory=dict)
    texts: dict[Loc, str] = field(default_factory=dict)

    def line_of(self, loc: Sequence[str | int]) -> int | None:
        """Return the line of loc, or of its nearest ancestor that has one."""
        path = tuple(loc)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)

    def value_line(self, loc: Sequence[str | int]) -> int | None:
        """Return the line of loc's value (the node that holds it), else of its key."""
        return self.values.get(tuple(loc)) or self.line_of(loc)


@dataclass(frozen=True)
class YamlFile:
    """A parsed YAML file: its data, its raw bytes and where each value came from."""

    path: Path
    rel: str
    data: Any
    raw: bytes
    source: SourceMap


class _Builder:
    """Turn a composed node tree into plain Python data, recording lines and bounding size."""

    def __init__(self, source: SourceMap) -> None:
        self.source = source
        self.count = 0
        self.constructor = yaml.SafeLoader("")

    def build(self, node: yaml.Node, loc: Loc, depth: int) -> Any:
        self.count += 1
        line = node.start_mark.line + 1
        if self.count > MAX_NODES:
            raise YamlProblem(f"file is too large or has runaway aliases (over {MAX_NODES} values)", line)
        if depth > MAX_DEPTH:
            raise YamlProblem(f"nesting deeper than {MAX_DEPTH} levels", line)
        self.source.lines.setdefault(loc, line)
        if not (isinstance(node, yaml.ScalarNode) and node.value == "" and not node.style):
            self.source.values[loc] = line
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise YamlProblem("merge keys (<<) are not supported", key_node.start_mark.line + 1)
                if not isinstance(key_node, yaml.ScalarNode):
                    raise YamlProblem("keys must be plain text", key_node.start_mark.line + 1)
                key = str(key_node.value)
                if key in result:
                    raise YamlProblem(f"duplicate key '{shown(key)}'", key_node.start_mark.line + 1)
                self.source.lines[loc + (key,)] = key_node.start_mark.line + 1
                result[key] = self.build(value_node, loc + (key,), depth + 1)
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, loc + (i,), depth + 1) for i, item in enumerate(node.value)]
        if node.tag not in _SCALAR_TAGS:
            raise YamlProblem(f"unsupported YAML tag {node.tag}", line)
        self.source.texts[loc] = str(node.value)
        try:
            return self.constructor.construct_object(node, deep=True)
        except (ValueError, OverflowError):
            if node.tag != "tag:yaml.org,2002:timestamp":
                raise YamlProblem(f"'{shown(str(node.value))}' is not a value YAML can read", line) from None
            # `2026-13-01` looks like a date but is none: keep the text, so the model says
            # which key wants a real date (or takes it as text where text is wanted).
            return str(node.value)


# libyaml's parser when PyYAML was built with it (several times faster); marks are the same.
_COMPOSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_SCALAR_TAGS = {f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "timestamp")}


def load_yaml(path: Path, root: Path, fence: Sequence[Path] | None = None) -> YamlFile:
    """Parse path as YAML; raise YamlProblem with a line number on any failure.

    The file is read through confine.py's rule: it must stay inside fence (default: root),
    be a regular file, and be at most MAX_FILE_BYTES, which stat() tells before any read.
    """
    rel = _relative(path, root)
    try:
        raw = read_file(path, fence if fence is not None else (root.resolve(),), rel, MAX_FILE_BYTES)
    except RefusedFile as exc:
        raise YamlProblem(exc.reason, None) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlProblem("file is not valid UTF-8 text; save it as UTF-8", line) from exc
    source = SourceMap(rel)
    try:
        node = yaml.compose(text, Loader=_COMPOSER)
    except yaml.MarkedYAMLError as exc:
        problem_line = exc.problem_mark.line + 1 if exc.problem_mark else None
        context_line = exc.context_mark.line + 1 if exc.context_mark else None
        said = explain_syntax(text, exc.problem or "", exc.context or "", problem_line, context_line)
        raise YamlProblem(f"invalid YAML: {said.message}", said.line) from exc
    except yaml.reader.ReaderError as exc:
        at = text[: exc.position].count("\n") + 1
        char = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "?")
        raise YamlProblem(f"invalid YAML: character U+{char:04X} is not allowed; remove it", at) from exc
    except yaml.YAMLError as exc:
        raise YamlProblem(f"invalid YAML: {str(exc).splitlines()[0]}", None) from exc
    if node is None:
        raise YamlProblem("file is empty", 1)
    try:
        data = _Builder(source).build(node, (), 0)
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        raise YamlProblem(f"invalid value: {exc.problem}", mark.line + 1 if mark else None) from exc
    except (ValueError, OverflowError) as exc:
        raise YamlProblem(f"invalid value: {exc}", node.start_mark.line + 1) from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise YamlProblem(
            f"invalid YAML: {exc.problem or exc.context}", mark.line + 1 if mark else None
        ) from exc
    return YamlFile(path=path, rel=rel, data=data, raw=raw, source=source)


def problem_for(path: Path, root: Path, exc: YamlProblem) -> Problem:
    """Return the Problem for a YamlProblem raised while loading path."""
    return Problem(_relative(path, root), exc.line, str(exc))


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()
