from __future__ import annotations

import time
from pathlib import Path

import pytest

from handouts.content.yamlsrc import YamlProblem, load_yaml


def load(tmp_path: Path, text: str | bytes) -> object:
    path = tmp_path / "x.yaml"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return load_yaml(path, tmp_path)


def test_lines_of_keys_and_items_are_kept(tmp_path: Path) -> None:
    yf = load(tmp_path, "a: 1\nlist:\n  - x\n  - y: 2\n")
    assert yf.data == {"a": 1, "list": ["x", {"y": 2}]}
    assert yf.source.line_of(("a",)) == 1
    assert yf.source.line_of(("list", 1, "y")) == 4
    # A missing key is reported at its parent.
    assert yf.source.line_of(("list", 1, "missing")) == 4


def test_keys_stay_text_even_when_yaml_would_read_a_boolean(tmp_path: Path) -> None:
    assert load(tmp_path, "yes: Yes\nno: x\n").data == {"yes": True, "no": "x"}


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("a: 1\na: 2\n", 2, "duplicate key 'a'"),
        ("a: [1, 2\nb: 3\n", 1, "invalid YAML: a list in [ ] or keys in { } are not closed"),
        ("a:\n\tb: 1\n", 2, "invalid YAML: use spaces, not a tab, to indent"),
        ("a: !!python/object:os.system x\n", 1, "unsupported YAML tag"),
        ("", 1, "file is empty"),
    ],
)
def test_broken_yaml_names_the_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    with pytest.raises(YamlProblem) as caught:
        load(tmp_path, text)
    assert caught.value.line == line
    assert words in str(caught.value)


def test_non_utf8_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(YamlProblem) as caught:
        load(tmp_path, b"a: ok\nb: caf\xe9\n")
    assert caught.value.line == 2
    assert "UTF-8" in str(caught.value)


def test_bom_is_accepted(tmp_path: Path) -> None:
    assert load(tmp_path, b"\xef\xbb\xbfa: 1\n").data == {"a": 1}


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 9)}]")
    started = time.perf_counter()
    with pytest.raises(YamlProblem, match="runaway aliases"):
        load(tmp_path, "\n".join(lines) + "\n")
    assert time.perf_counter() - started < 10  # generous bound: it must not expand 9**10 items


def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    with pytest.raises(YamlProblem):
        load(tmp_path, "a: &x [*x]\n")


# Each YAML syntax mistake an editor makes, by libyaml (the parser in use) and by PyYAML's own
# parser: the message says what to write instead, on the line the mistake is on.
SYNTAX_MISTAKES = [
    ("title: X\nsections:\n\t- heading: H\n", 3, "use spaces, not a tab, to indent"),
    ("a:\n  b: 1\n\tc: 2\n", 3, "use spaces, not a tab, to indent"),
    (
        "title: Dry needling: what\n",
        1,
        "a ':' followed by a space inside a value: put the whole value in quotes",
    ),
    ("colors: {primary: #a4161a, accent: '#000000'}\nfont: x\n", 1, 'write a colour as "#0b5d7a", in quotes'),
    ('title: "abc\nnext: 1\n', 1, "this quote is never closed"),
    ("a:\n  b: 1\n c: 2\n", 3, "this line does not line up with the lines above it"),
    ("a:\n  - x\n  y: 1\n", 3, "this line does not line up with the lines above it"),
    ("a: *x\n", 1, "refers to an &anchor that does not exist: put the value in quotes"),
    ("a: @x\n", 1, "a value cannot start with @: put the value in quotes"),
    ("a: `x`\n", 1, "a value cannot start with `: put the value in quotes"),
    ("a: 1\nb\nc: 2\n", 2, "this line has no 'key: value' colon"),
    ('a: "\\q"\n', 1, 'a backslash inside "double quotes" starts an escape'),
    ("a: &x 1\nb: &x 2\n", 2, "the same &anchor is set twice"),
    ("a: !x!y 1\n", 1, "a value starting with ! is read as a YAML tag"),
    ("a: [1, 2\nb: 3\n", 1, "a list in [ ] or keys in { } are not closed"),
    ("%YAML 1.1\n%YAML 1.1\n---\na: 1\n", 2, "remove the %YAML or %TAG line"),
    ("a: |x\n  t\n", 1, "after | or > only - or + may follow"),
    ('a: "x" y\n', 1, "this line does not line up with the lines above it"),
]


@pytest.mark.parametrize(("text", "line", "words"), SYNTAX_MISTAKES)
@pytest.mark.parametrize("loader", ["CSafeLoader", "SafeLoader"])
def test_yaml_syntax_errors_say_what_to_write_at_their_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loader: str, text: str, line: int, words: str
) -> None:
    import yaml

    from handouts.content import yamlsrc

    if not hasattr(yaml, loader):
        pytest.skip(f"PyYAML built without {loader}")
    monkeypatch.setattr(yamlsrc, "_COMPOSER", getattr(yaml, loader))
    with pytest.raises(YamlProblem) as caught:
        load(tmp_path, text)
    assert words in str(caught.value)
    assert caught.value.line == line
    assert "this line is not valid YAML" not in str(caught.value)  # not the general sentence


def test_an_impossible_date_stays_text_for_the_model_to_name(tmp_path: Path) -> None:
    yf = load(tmp_path, "a: 1\neffective: 2026-13-01\nok: 2026-11-01\n")
    assert yf.data["effective"] == "2026-13-01"
    assert str(yf.data["ok"]) == "2026-11-01"
    assert yf.source.value_line(("effective",)) == 2


def test_an_empty_value_is_at_its_key_not_the_next_line(tmp_path: Path) -> None:
    # PyYAML marks an empty value at the next token: a line late.
    yf = load(tmp_path, "colors:\n  primary: #a4161a\n  accent: x\n")
    assert yf.data["colors"]["primary"] is None
    assert yf.source.value_line(("colors", "primary")) == 2
    assert yf.source.value_line(("colors",)) == 2
