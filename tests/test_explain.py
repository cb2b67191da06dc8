"""content/explain.py: every validation error the models can raise, in plain words with the fix."""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ValidationError

from handouts.content.explain import WORDED, annotation_at, describe_validation_error, dotted, explain
from handouts.content.models import (
    AftercareDocument,
    Brand,
    ConsentDocument,
    ContraindicationList,
    InfoDocument,
    ProjectConfig,
)
from handouts.content.yamlsrc import load_yaml
from handouts.lint.jargon import JargonEntry

from helpers import AFTERCARE, BRAND, CONSENT, CONTRAINDICATIONS, INFO, RECORD

SETTINGS = """\
default_language: en
default_brand: tiny
out: out
smtp:
  host: smtp.example.org
  port: 587
  security: starttls
  username: desk@example.org
  password_env: HANDOUTS_SMTP_PASSWORD
  from: desk@example.org
  timeout: 30
signing:
  certificate: keys/clinic.p12
  password_env: HANDOUTS_SIGNING_PASSWORD
  timestamp_url: https://tsa.example.org/
  trusted: [keys/old.pem]
"""
BRAND_WITH_LOGO = (
    BRAND + "logo: assets/logo.svg\nlogo_alt: The logo\npage_size: a4\nfeedback: feedback@example.org\n"
)
# Every key a sheet may have: the record's sources with a link, key points, each kind of section.
INFO_WITH_ALL = (
    INFO.replace(RECORD, "")
    + "  - heading: Steps\n    steps:\n      - title: One\n        text: Do it.\n    write_in_lines: 2\n"
    + "    urgent: true\n    bullets: [a]\n"
    + "key_points: [Soreness fades.]\n"
    + RECORD
    + "  - title: A linked source\n    url: https://www.example.org/guide\n"
)
VALID: list[tuple[Any, str]] = [
    (ProjectConfig, SETTINGS),
    (Brand, BRAND_WITH_LOGO),
    (InfoDocument, INFO_WITH_ALL),
    (AftercareDocument, AFTERCARE),
    (ConsentDocument, CONSENT + "translates: '1.0'\ndefault: true\n"),
    (ContraindicationList, CONTRAINDICATIONS),
    (tuple[JargonEntry, ...], "- term: analgesic\n  plain: painkiller\n  explained_by: [pain]\n"),
]
# Values of every YAML type, and strings of every shape the constraints test.
BAD_VALUES: list[Any] = [
    None, "", "   ", "x" * 5000, "x y", "#zzzzzz", "2026-13-01", "01/12/2026", "abc", "-1", [], ["a"], {},
    {"a": 1}, 1.5, 0, -1, 10**6, True, dt.date(2026, 1, 1), dt.datetime(2026, 1, 1, 10, 30), "1.5",
    ["a", "b", "c", "d"],
]  # fmt: skip
# A regex, pydantic's own phrasing, or a URL to its docs: none of them belongs in a message.
JARGON = re.compile(
    r"Input should|String should|\^|\$|\\d|\[[a-z0-9]-[a-z0-9]|\{\d+(,\d*)?\}|errors\.pydantic|type="
)
FIX = re.compile(r"\b(write|add|remove|give|shorten|choose|did you mean|use)\b", re.IGNORECASE)


def _paths(data: Any, loc: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield loc
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _paths(value, loc + (key,))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _paths(value, loc + (i,))


def _set(data: Any, loc: tuple[Any, ...], value: Any) -> Any:
    if not loc:
        return value
    out = copy.deepcopy(data)
    target = out
    for part in loc[:-1]:
        target = target[part]
    target[loc[-1]] = value
    return out


def _mutants(data: Any) -> Iterator[Any]:
    """The data with each node replaced by each bad value, each key removed, an unknown key added."""
    for loc in _paths(data):
        for value in BAD_VALUES:
            yield _set(data, loc, value)
        node = _set(data, (), data)
        for part in loc:
            node = node[part]
        if isinstance(node, dict):
            for key in node:
                trimmed = {k: v for k, v in node.items() if k != key}
                yield _set(data, loc, trimmed)
            yield _set(data, loc, {**node, "colour": 1, "titel": "x"})


def _validate(schema: Any, data: Any) -> None:
    from pydantic import TypeAdapter

    if isinstance(schema, type) and issubclass(schema, BaseModel):
        schema.model_validate(data)
    else:
        TypeAdapter(schema).validate_python(data)


def _walk() -> dict[str, list[tuple[Any, dict[str, Any]]]]:
    seen: dict[str, list[tuple[Any, dict[str, Any]]]] = {}
    for schema, text in VALID:
        data = yaml.safe_load(text)
        _validate(schema, data)  # the starting point is valid
        for mutant in _mutants(data):
            try:
                _validate(schema, mutant)
            except ValidationError as exc:
                for err in exc.errors(include_url=False):
                    seen.setdefault(err["type"], []).append((schema, dict(err)))
    return seen


@pytest.fixture(scope="module")
def walked() -> dict[str, list[tuple[Any, dict[str, Any]]]]:
    return _walk()


def test_every_error_type_the_models_raise_has_plain_words(walked: dict[str, Any]) -> None:
    # The walk reaches every type the translation words (so none of its entries is guesswork) ...
    assert set(walked) == set(WORDED), (sorted(set(walked) - WORDED), sorted(WORDED - set(walked)))
    checked = 0
    for kind, errors in walked.items():
        for schema, err in errors[:400]:
            loc = tuple(p for p in err["loc"] if isinstance(p, (str, int)))
            err["loc"] = loc
            message = explain(err, schema)
            # ... and each message is plain, names its key, and says what to write.
            assert not JARGON.search(message), (kind, message)
            key = dotted(loc)
            if key:
                assert key in message, (kind, message)
            elif isinstance(root := annotation_at(schema, ())[0], type) and issubclass(root, BaseModel):
                fields = [f.alias or n for n, f in root.model_fields.items()]
                assert any(name in message for name in fields), (kind, message)
            assert FIX.search(message), message
            checked += 1
    assert checked > 1000


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('id: x\ntitle: T\nversion: 1.0\n', 3, 'version: write it in quotes, e.g. "1.0"'),
        ('id: x\ntitle: T\nversion: "1.10"\neffective: 2026-13-01\n', 4,
         "effective: '2026-13-01' is not a real date: write a real one as YYYY-MM-DD, e.g. 2026-11-01"),
        ('id: x\ntitle: T\nversion: "1.0"\neffective: 01/12/2026\n', 4,
         "effective: write the date as YYYY-MM-DD, e.g. 2026-11-01 ('01/12/2026' could be read day-first"),
        ("id: my doc\n", 1, "id: write lowercase letters, digits and hyphens, e.g. my-doc (not 'my doc')"),
        ("id: x\ntitel: T\n", 2, "unknown key 'titel': did you mean 'title'?"),
        ("id: x\ntitle: yes\n", 2, 'title: write it in quotes, e.g. "yes"'),
        ("id: x\nsections:\n  - heading: H\n    write_in_lines: 99\n", 4,
         "sections[0].write_in_lines: write a number from 0 to 30 (not '99')"),
        ("id: x\nsections:\n  - heading: H\n    urgent: maybe\n", 4,
         "sections[0].urgent: write true or false (not 'maybe')"),
        ("id: x\nsections: none\n", 2, "sections: write a list: each item on a line of its own"),
    ],
)  # fmt: skip
def test_messages_name_the_key_at_the_line_of_its_value(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = tmp_path / "en.yaml"
    path.write_text("kind: info\n" + text, "utf-8")
    yf = load_yaml(path, tmp_path)
    with pytest.raises(ValidationError) as caught:
        InfoDocument.model_validate(yf.data)
    problems = describe_validation_error(caught.value, yf, InfoDocument)
    found = [p for p in problems if p.message.startswith(message)]
    assert found, [p.message for p in problems]
    assert found[0].line == line + 1  # "kind: info" came first
    assert found[0].field


def test_a_colour_read_as_a_comment_is_named_at_its_own_line(tmp_path: Path) -> None:
    path = tmp_path / "b.yaml"
    path.write_text("name: X\ncolors:\n  primary: #a4161a\n  accent: '#000000'\n", "utf-8")
    yf = load_yaml(path, tmp_path)
    with pytest.raises(ValidationError) as caught:
        Brand.model_validate(yf.data)
    (problem,) = describe_validation_error(caught.value, yf, Brand)
    assert problem.line == 3
    assert problem.message == (
        "colors.primary is empty (a # outside quotes starts a comment): "
        'write a colour as "#0b5d7a", in quotes'
    )
