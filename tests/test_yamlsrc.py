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
