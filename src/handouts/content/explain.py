"""Pydantic's validation errors in plain words: the key, its line, and what to write instead.

The one translation of every error the content models can raise (tests/test_explain.py walks
them all). A message starts with the key (`colors.primary: ...`) and says what to write,
never a regex or pydantic's "Input should be ...": how to write a value comes from the type's
`Write` hint (content/models.py), the key's neighbours (did you mean ...?) and the text as the
file has it (`version: 1.0` -> `write it in quotes, e.g. "1.0"`). Lines come from the node
that holds the bad value, the key for an unknown key, the parent for a missing one.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from handouts.content.models import Write
from handouts.content.yamlsrc import Loc, YamlFile
from handouts.errors import Problem, shown

YMD = "YYYY-MM-DD, e.g. 2026-11-01"


def describe_validation_error(exc: ValidationError, yf: YamlFile, schema: Any) -> list[Problem]:
    """Every error of exc as a file:line problem in plain words (schema: the model or type validated)."""
    errors: list[dict[str, Any]] = [dict(e) for e in exc.errors(include_url=False)]
    for err in errors:
        err["loc"] = tuple(p for p in err["loc"] if isinstance(p, (str, int)))
    suggested = _suggestions(errors, schema)
    problems = []
    for err in errors:
        loc: Loc = err["loc"]
        if err["type"] == "missing" and loc in suggested.values():
            continue  # the unknown key next to it is this key misspelt: one mistake, one line
        message = explain(err, schema, yf, suggested.get(loc))
        problems.append(Problem(yf.rel, _line(err["type"], loc, yf), message, field=dotted(loc) or None))
    return problems


def explain(err: Mapping[str, Any], schema: Any, yf: YamlFile | None = None, meant: Loc | None = None) -> str:
    """One pydantic error (from ValidationError.errors()) in plain words, starting with its key."""
    loc: Loc = tuple(err["loc"])
    kind = str(err["type"])
    key = dotted(loc)
    value = err.get("input")
    ctx = err.get("ctx") or {}
    tp, meta = annotation_at(schema, loc)
    how = _how(tp, meta)
    text = yf.source.texts.get(loc) if yf is not None else None
    line_text = _line_text(yf, yf.source.value_line(loc)) if yf is not None else ""
    if kind == "extra_forbidden":
        if meant is not None:
            return f"unknown key '{key}': did you mean '{shown(str(meant[-1]))}'?"
        allowed = _field_names(annotation_at(schema, loc[:-1])[0])
        if not allowed:
            return f"unknown key '{key}': remove it"
        return f"unknown key '{key}' (a typo?): remove it, or use one of: {', '.join(allowed)}"
    if kind == "missing":
        name = shown(str(loc[-1])) if loc else key
        return f"{key} is missing: add '{name}:' with {how}"
    if kind == "model_type" and not loc:
        return _root_model(tp)
    if value is None and kind not in ("value_error", "string_type"):
        return _at(key, f"is empty: write {how}")
    wording = _WORDS.get(kind)
    if wording is None:
        return _at(key, f"this value cannot be used here: write {how}")
    return _at(key, wording(_Err(value, ctx, tp, meta, how, text, str(err.get("msg", "")), line_text)))


def _line_text(yf: YamlFile, line: int | None) -> str:
    lines = yf.raw.decode("utf-8-sig", "replace").splitlines()
    return lines[line - 1] if line and 0 < line <= len(lines) else ""


@dataclass(frozen=True)
class _Err:
    """What a wording needs to know about one error."""

    value: Any
    ctx: Mapping[str, Any]
    tp: Any
    meta: list[Any]
    how: str
    text: str | None  # the scalar as the file has it
    msg: str
    line_text: str = ""  # the line of the file the value is on

    @property
    def given(self) -> str:
        """The value as the file has it, quoted for a message (or what kind of thing it is)."""
        if isinstance(self.value, (list, tuple)):
            return "a list"
        if isinstance(self.value, dict):
            return "keys below it"
        text = self.text if self.text is not None else str(self.value)
        return f"'{shown(text)}'"


def _at(key: str, message: str) -> str:
    if not key:
        return message[:1].upper() + message[1:]
    return f"{key} {message}" if message.startswith(("is ", "has ")) else f"{key}: {message}"


def _text_type(e: _Err) -> str:
    if e.value is None:
        if e.line_text and "#" in e.line_text.partition(":")[2]:
            return f"is empty (a # outside quotes starts a comment): write {e.how}"
        return f"is empty: write {e.how}"
    if isinstance(e.value, (list, tuple)):
        return f"write {e.how} here, not a list"
    if isinstance(e.value, dict):
        return f"write {e.how} here, not keys below it"
    if e.text is not None:
        # YAML read it as a number, yes/no or a date: quotes keep it as written.
        return f'write it in quotes, e.g. "{shown(e.text)}"'
    return f"write {e.how}"


def _pattern(e: _Err) -> str:
    fix = f"write {e.how}"
    if Write in (type(m) for m in e.meta) and "lowercase" in e.how and isinstance(e.value, str):
        slug = re.sub(r"[^a-z0-9]+", "-", e.value.lower()).strip("-")
        if slug:
            fix = f"write lowercase letters, digits and hyphens, e.g. {slug}"
    return f"{fix} (not {e.given})"


def _date(e: _Err) -> str:
    given = str(e.text if e.text is not None else e.value)
    if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", given):
        return f"{e.given} is not a real date: write a real one as {YMD}"
    if re.fullmatch(r"\d{1,2}[./-]\d{1,2}[./-]\d{2,4}", given):
        return f"write the date as {YMD} ({e.given} could be read day-first or month-first)"
    return f"write the date as {YMD} (not {e.given})"


def _bounds(e: _Err) -> str:
    def bound(kind: type) -> Any:
        return next((getattr(m, kind.__name__.lower()) for m in e.meta if isinstance(m, kind)), None)

    low, high = bound(annotated_types.Ge), bound(annotated_types.Le)
    if low is not None and high is not None:
        return f"write a number from {low} to {high} (not {e.given})"
    limits = [
        f"{words} {limit}"
        for words, limit in (
            ("at least", low),
            ("more than", bound(annotated_types.Gt)),
            ("at most", high),
            ("less than", bound(annotated_types.Lt)),
        )
        if limit is not None
    ]
    return f"write a number {' and '.join(limits)} (not {e.given})"


def _literal(e: _Err) -> str:
    choices = [str(c) for c in get_args(e.tp)] if get_origin(e.tp) is Literal else []
    listed = ", ".join(choices) if choices else str(e.ctx.get("expected", "")).replace("'", "")
    return f"write one of: {listed} (not {e.given})"


def _model(e: _Err) -> str:
    names = ", ".join(_field_names(e.tp))
    shape = "a list" if isinstance(e.value, (list, tuple)) else "a single value"
    return f"write its keys ({names}) on the lines below it, indented, not {shape}"


def _root_model(tp: Any) -> str:
    return f"write the file as 'key: value' lines, with the keys {', '.join(_field_names(tp))}"


def _list(e: _Err) -> str:
    return "write a list: each item on a line of its own, starting with '- '"


def _value_error(e: _Err) -> str:
    return e.msg.removeprefix("Value error, ")


_WORDS: dict[str, Callable[[_Err], str]] = {
    "string_type": _text_type,
    "string_too_short": lambda e: f"is empty: write {e.how}",
    "string_too_long": lambda e: (
        f"is too long ({len(str(e.value))} characters; at most {e.ctx.get('max_length')}): shorten it"
    ),
    "string_pattern_mismatch": _pattern,
    "int_type": lambda e: f"write a whole number, e.g. 3 (not {e.given})",
    "int_parsing": lambda e: f"write a whole number, e.g. 3 (not {e.given})",
    "int_from_float": lambda e: f"write a whole number, e.g. 3 (not {e.given})",
    "float_type": lambda e: f"write a number, e.g. 30 (not {e.given})",
    "float_parsing": lambda e: f"write a number, e.g. 30 (not {e.given})",
    "greater_than_equal": _bounds,
    "greater_than": _bounds,
    "less_than_equal": _bounds,
    "bool_type": lambda e: f"write true or false (not {e.given})",
    "bool_parsing": lambda e: f"write true or false (not {e.given})",
    "literal_error": _literal,
    "date_type": _date,
    "date_from_datetime_parsing": _date,
    "date_from_datetime_inexact": lambda e: f"write the date alone, as {YMD}, without a time",
    "tuple_type": _list,
    "too_short": lambda e: "is empty: give it at least one item, on a line starting with '- '",
    "too_long": lambda e: (
        f"has {e.ctx.get('actual_length')} items; at most {e.ctx.get('max_length')}: "
        "remove the least important"
    ),
    "model_type": _model,
    "value_error": _value_error,
}
WORDED = frozenset(_WORDS) | {"missing", "extra_forbidden"}
"""Every error type the models can raise (tests/test_explain.py walks them), each worded here;
a type a new model brings gets a general sentence until it is added."""


def dotted(loc: Iterable[str | int]) -> str:
    """A location as an editor reads it: sections[2].steps[0].text."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{shown(part)}" if out else shown(part))
    return out


def _line(kind: str, loc: Loc, yf: YamlFile) -> int | None:
    if kind == "extra_forbidden":
        return yf.source.line_of(loc)
    if kind == "missing":
        return yf.source.line_of(loc[:-1])
    return yf.source.value_line(loc)


def _suggestions(errors: Sequence[Mapping[str, Any]], schema: Any) -> dict[Loc, Loc]:
    """Unknown key -> the missing key beside it that it most likely misspells."""
    missing = {e["loc"] for e in errors if e["type"] == "missing" and e["loc"]}
    found: dict[Loc, Loc] = {}
    for err in errors:
        loc = err["loc"]
        if err["type"] != "extra_forbidden" or not loc or not isinstance(loc[-1], str):
            continue
        parent = loc[:-1]
        candidates = [m[-1] for m in missing if m[:-1] == parent and isinstance(m[-1], str)]
        if not candidates:
            candidates = _field_names(annotation_at(schema, parent)[0])
        close = difflib.get_close_matches(loc[-1], [str(c) for c in candidates], n=1, cutoff=0.7)
        if close:
            found[loc] = parent + (close[0],)
    return found


# --- what the schema says a location holds ---------------------------------------------------


def annotation_at(schema: Any, loc: Loc) -> tuple[Any, list[Any]]:
    """The type at loc in schema (a model or a type such as tuple[Model, ...]) and its metadata."""
    tp, meta = _unwrap(schema)
    for part in loc:
        if isinstance(part, str) and _is_model(tp):
            found = _field(tp, part)
            if found is None:
                return None, []
            tp, inner = _unwrap(found.annotation)
            meta = list(found.metadata) + inner
        elif isinstance(part, int) and get_origin(tp) in (tuple, list):
            tp, meta = _unwrap(get_args(tp)[0])
        else:
            return None, []
    return tp, meta


def _unwrap(tp: Any) -> tuple[Any, list[Any]]:
    """Strip Annotated (keeping its metadata) and Optional."""
    meta: list[Any] = []
    while True:
        if get_origin(tp) is Annotated:
            tp, *extra = get_args(tp)
            meta += extra
        elif get_origin(tp) in (Union, types.UnionType):
            rest = [a for a in get_args(tp) if a is not type(None)]
            if len(rest) != 1:
                return tp, meta
            tp = rest[0]
        else:
            return tp, meta


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _field(model: type[BaseModel], name: str) -> FieldInfo | None:
    if name in model.model_fields:
        return model.model_fields[name]
    return next((f for f in model.model_fields.values() if f.alias == name), None)


def _field_names(tp: Any) -> list[str]:
    if not _is_model(tp):
        return []
    return [f.alias or name for name, f in tp.model_fields.items() if not f.exclude]


def _how(tp: Any, meta: list[Any]) -> str:
    """How to write a value of this type, for a message's fix."""
    for m in meta:
        if isinstance(m, Write):
            return m.how
    if _is_model(tp):
        required = [f.alias or n for n, f in tp.model_fields.items() if f.is_required()]
        return f"its keys ({', '.join(required)}) below it" if required else "its keys below it"
    if get_origin(tp) is Literal:
        return "one of: " + ", ".join(str(c) for c in get_args(tp))
    if get_origin(tp) in (tuple, list):
        return "a list, each item on a line of its own starting with '- '"
    return {
        bool: "true or false",
        int: "a whole number",
        float: "a number",
        dt.date: f"a date as {YMD}",
        str: "some text",
    }.get(tp, "a value")
