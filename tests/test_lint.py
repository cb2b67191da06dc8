"""`handouts lint`: readability grade, sentence lengths and jargon per document, language and section."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from handouts.lint.readability import analyse, formula_for, split_sentences, syllables

from helpers import CONTRAINDICATIONS, INFO, RECORD, REPO, run_cli, starter_text, tiny_settings

JARGON = """\
- term: contraindication
  plain: reason not to have the treatment
- term: analgesic
  plain: painkiller
- term: pneumothorax
  plain: collapsed lung
  explained_by: [collapsed lung]
"""

HARD = f"""\
id: hard-info
kind: info
title: A hard sheet
version: "1.0"
effective: 2026-11-01
sections:
  - heading: Easy part
    paragraphs:
      - Thin needles go into tight muscles. It may sting a bit.
  - heading: Hard part
    paragraphs:
      - >-
        Notwithstanding the considerable heterogeneity of the available observational evidence,
        practitioners administering intramuscular stimulation should systematically evaluate every
        conceivable contraindication, including anticoagulation and immunosuppression, prior to
        commencing treatment, and should recommend an appropriate analgesic whenever clinically
        indicated.
  - heading: Explained here
    paragraphs:
      - A pneumothorax is a collapsed lung. It is rare.
  - heading: Not explained here
    bullets:
      - Watch for a pneumothorax
{RECORD}"""


def _hard_project(make_project: Callable[..., Path]) -> Path:
    return make_project({"content/jargon/en.yaml": JARGON, "content/documents/hard-info/en.yaml": HARD})


def test_shipped_english_content_passes_strict(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("lint must not use the network (no runtime downloads)")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    code, out, err = run_cli(REPO, "lint", "--strict", "--lang", "en")
    assert code == 0, out + err
    assert "Flesch-Kincaid grade, 8 or below passes" in out
    for doc in ("dry-needling-info", "dry-needling-aftercare", "dry-needling-consent", "contraindications"):
        assert f"{doc} (en)" in out
    assert "0 too hard to read, 0 jargon terms, 0 PEMAT-P findings" in out
    assert "(fr)" not in out
    assert "no jargon list" not in err
    # Every shipped document passes the PEMAT-P items lint checks (20 on the aftercare only).
    pemat = [line.strip() for line in out.splitlines() if line.strip().startswith("PEMAT-P:")]
    assert len(pemat) == 3 and all("!" not in line for line in pemat), pemat
    assert sum("ok 20 an action is named" in line for line in pemat) == 1


def test_shipped_french_content_passes_the_pemat_items() -> None:
    code, out, err = run_cli(REPO, "lint", "--json", "--lang", "fr")
    assert code == 0, err
    data = json.loads(out)
    assert data["pemat"] == [] and data["summary"]["pemat"] == 0


def test_shipped_french_content_is_scored_with_kandel_moles() -> None:
    code, out, err = run_cli(REPO, "lint", "--json", "--lang", "fr", "--only", "dry-needling-consent")
    assert code == 0, err
    data = json.loads(out)
    assert data["formulas"] == {
        "fr": {
            "key": "kandel-moles",
            "name": "Kandel-Moles reading ease",
            "limit": 60,
            "higher_is_easier": True,
        }
    }
    sections = [s["section"] for s in data["sections"]]
    assert sections[1:7] == ["treatment", "benefits", "risks", "alternatives", "questions", "withdrawal"]
    assert all(s["lang"] == "fr" and s["formula"] == "kandel-moles" for s in data["sections"])
    assert all(0 < s["score"] < 120 for s in data["sections"])


def test_hard_jargon_heavy_section_fails_strict(make_project: Callable[..., Path]) -> None:
    root = _hard_project(make_project)
    code, out, err = run_cli(root, "lint", "--strict", "--only", "hard-info")
    assert code == 1, out + err
    lines = out.splitlines()
    assert (
        "hard-info (en) content/documents/hard-info/en.yaml: Flesch-Kincaid grade, 8 or below passes" in lines
    )
    row = next(line for line in lines if line.endswith("  Hard part"))
    assert row.lstrip().startswith("!")
    grade = float(row.split()[1])
    assert grade > 8
    assert "content/documents/hard-info/en.yaml:10: too hard to read (Flesch-Kincaid grade" in out
    assert 'longest sentence: "Notwithstanding the considerable' in out
    assert "content/documents/hard-info/en.yaml:15: jargon 'contraindication': say 'reason not to have" in out
    assert "content/documents/hard-info/en.yaml:16: jargon 'analgesic': say 'painkiller' instead" in out
    assert "1 too hard to read, 3 jargon terms" in out


def test_without_strict_warnings_exit_zero(make_project: Callable[..., Path]) -> None:
    code, out, _ = run_cli(_hard_project(make_project), "lint", "--only", "hard-info")
    assert code == 0
    assert "jargon 'analgesic'" in out


def test_term_is_allowed_only_where_the_section_explains_it(make_project: Callable[..., Path]) -> None:
    code, out, _ = run_cli(_hard_project(make_project), "lint", "--json", "--only", "hard-info")
    assert code == 0
    by_name = {s["section"]: s for s in json.loads(out)["sections"]}
    assert by_name["Explained here"]["jargon"] == []
    assert by_name["Explained here"]["explained"] == ["pneumothorax"]
    assert [j["term"] for j in by_name["Not explained here"]["jargon"]] == ["pneumothorax"]
    assert by_name["Not explained here"]["jargon"][0]["plain"] == "collapsed lung"
    assert by_name["Easy part"]["passes"] is True and by_name["Easy part"]["jargon"] == []


def test_json_shape(make_project: Callable[..., Path]) -> None:
    code, out, _ = run_cli(_hard_project(make_project), "lint", "--json", "--strict")
    assert code == 1
    data = json.loads(out)
    assert set(data) == {"format", "strict", "ok", "formulas", "sections", "pemat", "summary", "notes"}
    assert data["format"] == 1 and data["strict"] is True and data["ok"] is False
    assert data["formulas"]["en"]["key"] == "flesch-kincaid-grade"
    hard = next(s for s in data["sections"] if s["section"] == "Hard part")
    assert set(hard) == {
        "document",
        "lang",
        "section",
        "file",
        "line",
        "formula",
        "score",
        "judged",
        "passes",
        "sentences",
        "words",
        "syllables",
        "average_sentence_words",
        "longest_sentence_words",
        "longest_sentence",
        "jargon",
        "explained",
    }
    assert (hard["document"], hard["lang"], hard["file"], hard["line"]) == (
        "hard-info",
        "en",
        "content/documents/hard-info/en.yaml",
        10,
    )
    assert hard["passes"] is False and hard["score"] > 8
    assert hard["sentences"] == 1 and hard["words"] == hard["longest_sentence_words"] == 36
    assert {"term": "analgesic", "plain": "painkiller", "found": "analgesic", "line": 16} in hard["jargon"]
    docs = {s["document"] for s in data["sections"]}
    assert docs == {"tiny-info", "tiny-aftercare", "tiny-consent", "hard-info", "contraindications"}
    assert data["summary"] == {
        "documents": 5,
        "sections": len(data["sections"]),
        "too_hard": sum(not s["passes"] for s in data["sections"]),
        "jargon": sum(len(s["jargon"]) for s in data["sections"]),
        "pemat": len(data["pemat"]),
    }
    # Each jargon term in a document is also its PEMAT-P item 4 (medical terms explained).
    item4 = [f for f in data["pemat"] if f["item"] == 4]
    assert {(f["document"], f["line"]) for f in item4} == {
        (s["document"], j["line"])
        for s in data["sections"]
        if s["document"] != "contraindications"
        for j in s["jargon"]
    }
    assert set(item4[0]) == {"document", "lang", "item", "title", "file", "line", "message"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "- term: analgesic\n  plane: painkiller\n",
            ["content/jargon/en.yaml:2: unknown key '[0].plane': did you mean 'plain'?"],
        ),
        (
            "- term: analgesic\n- term: adverse\n  plain: harmful\n",
            ["content/jargon/en.yaml:1: [0].plain is missing: add 'plain:' with a short text"],
        ),
        (
            "- term: x\n  plain: y\n- term: X\n  plain: z\n",
            ["content/jargon/en.yaml:3: term 'X' is listed twice"],
        ),
        (
            "- term: analgesic\n  plain: [painkiller\n",
            ["content/jargon/en.yaml:2: invalid YAML: a list in [ ] or keys in { }"],
        ),
        ("term: analgesic\nplain: painkiller\n", ["content/jargon/en.yaml:1: expected a list of entries"]),
    ],
)
def test_broken_jargon_list_names_file_and_line(
    make_project: Callable[..., Path], text: str, expected: list[str]
) -> None:
    code, out, err = run_cli(make_project({"content/jargon/en.yaml": text}), "lint")
    assert code == 2
    assert out == ""
    for message in expected:
        assert message in err
    assert "Traceback" not in err


def test_bad_choices_exit_two(tiny: Path) -> None:
    code, _, err = run_cli(tiny, "lint", "--lang", "de")
    assert code == 2 and "unknown language 'de'" in err
    code, _, err = run_cli(tiny, "lint", "--only", "nope")
    assert code == 2 and "unknown document 'nope'" in err


def test_missing_jargon_list_is_a_note_not_a_failure(make_project: Callable[..., Path]) -> None:
    # German: messages and a list of its own, but no jargon list in the project or the package.
    german = {
        "handouts.yaml": tiny_settings(langs=("en", "de")),
        "content/messages/de.yaml": starter_text("messages/en.yaml"),
        "content/contraindications/de.yaml": CONTRAINDICATIONS,
    }
    code, out, err = run_cli(make_project(german), "lint", "--strict")
    assert code == 0
    assert "note: content/jargon/de.yaml: no jargon list; de jargon not checked" in err
    assert "content/jargon/en.yaml" not in err  # English has the package's list
    assert "tiny-info (en)" in out
    # The tiny consent's two-word placeholders ("Alternatives text.") are too short to judge.
    assert "alternatives  (under 10 words: not judged)" in out


def test_bad_content_exits_two(make_project: Callable[..., Path]) -> None:
    root = make_project({"content/documents/tiny-info/en.yaml": INFO.replace("title:", "titel:")})
    code, _, err = run_cli(root, "lint")
    assert code == 2
    assert "content/documents/tiny-info/en.yaml:3: unknown key 'titel'" in err


def test_each_bullet_ends_a_sentence() -> None:
    units = ["Watch for these signs:", "Shortness of breath", "Chest pain", "Call 911. Then rest."]
    assert split_sentences(units) == [
        "Watch for these signs:",
        "Shortness of breath",
        "Chest pain",
        "Call 911.",
        "Then rest.",
    ]
    assert split_sentences(["Ice, e.g. a cold pack, helps. Dr. Lee agrees."]) == [
        "Ice, e.g. a cold pack, helps.",
        "Dr. Lee agrees.",
    ]
    stats = analyse(units, "en")
    assert (len(stats.sentences), stats.words, stats.longest_sentence) == (5, 13, 4)
    assert stats.longest_text == "Watch for these signs:"


@pytest.mark.parametrize(
    ("word", "lang", "count"),
    [
        ("the", "en", 1),
        ("needle", "en", 2),
        ("muscles", "en", 2),
        ("area", "en", 3),
        ("medicine", "en", 3),
        ("likely", "en", 2),
        ("helped", "en", 1),
        ("anxiety", "en", 4),
        ("IMS", "en", 3),
        ("A-delta", "en", 3),
        ("aiguille", "fr", 2),
        ("muscles", "fr", 1),
        ("thérapeute", "fr", 3),
        ("réaction", "fr", 3),
        ("l'anatomie", "fr", 4),
    ],
)
def test_syllables(word: str, lang: str, count: int) -> None:
    assert syllables(word, lang) == count


def test_formulas() -> None:
    easy = analyse(["The cat sat on the mat."], "en")
    fk = formula_for("en")
    assert fk is not None and fk.passes(fk.score(easy))
    km = formula_for("fr-CA")
    assert km is not None and km.key == "kandel-moles"
    french = analyse(["Le chat dort sur le tapis."], "fr")
    # 207 - 1.015 * 6 words - 73.6 * (7 syllables / 6 words) = 115.0, read on its 0-100 scale
    assert km.score(french) == 100.0
    longer = analyse(["Le traitement consiste à placer une aiguille fine dans un muscle tendu."], "fr")
    words, syllables_ = longer.words, longer.syllables
    assert km.score(longer) == pytest.approx(207 - 1.015 * words - 73.6 * syllables_ / words, abs=0.05)
    assert formula_for("de") is None


# --- PEMAT-P -----------------------------------------------------------------------------------

# One tiny document missing every PEMAT-P item lint checks: no summary or key points (11), a vague
# heading (9), the reader spoken of as "the patient" (21), an unexplained term (4), and, being
# aftercare, no action named (20).
BAD_AFTERCARE = f"""\
id: bad-aftercare
kind: aftercare
title: Aftercare
version: "1.0"
effective: 2026-11-01
sections:
  - heading: After the session
    paragraphs:
      - The patient may feel sore for a day. This is normal and it fades.
  - heading: Miscellaneous
    paragraphs:
      - Patients should expect a small bruise. A pneumothorax is rare.
{RECORD}"""


def _pemat(out: str) -> list[tuple[int, int | None]]:
    data = json.loads(out)
    return sorted((f["item"], f["line"]) for f in data["pemat"] if f["document"] == "bad-aftercare")


def test_each_pemat_item_is_flagged_on_a_bad_document(make_project: Callable[..., Path]) -> None:
    root = make_project(
        {"content/jargon/en.yaml": JARGON, "content/documents/bad-aftercare/en.yaml": BAD_AFTERCARE}
    )
    code, out, _ = run_cli(root, "lint", "--json", "--only", "bad-aftercare")
    assert code == 0  # warnings without --strict
    assert _pemat(out) == [(4, 12), (9, 10), (11, 3), (20, 6), (21, 9), (21, 12)]
    code, out, _ = run_cli(root, "lint", "--only", "bad-aftercare")
    assert code == 0
    assert (
        "    PEMAT-P: ! 4 medical terms are explained · ! 9 headings are informative · "
        "! 11 a summary or key points · ! 20 an action is named · ! 21 the reader is addressed as 'you'"
    ) in out
    file = "content/documents/bad-aftercare/en.yaml"
    for line in (
        f"{file}:3: PEMAT-P 11 (a summary or key points): no summary or key points",
        f"{file}:10: PEMAT-P 9 (headings are informative): the heading 'Miscellaneous' does not say",
        f"{file}:9: PEMAT-P 21 (the reader is addressed as 'you'): 'The patient': speak to the reader",
        f"{file}:12: PEMAT-P 21 (the reader is addressed as 'you'): 'Patients should'",
        f"{file}:6: PEMAT-P 20 (an action is named): no action named",
        f"{file}:12: PEMAT-P 4 (medical terms are explained): 'pneumothorax' is not explained",
    ):
        assert line in out, (line, out)
    code, _, _ = run_cli(root, "lint", "--strict", "--only", "bad-aftercare")
    assert code == 1


def test_a_fixed_document_passes_each_pemat_item(make_project: Callable[..., Path]) -> None:
    fixed = (
        BAD_AFTERCARE.replace("The patient may", "You may")
        .replace("Miscellaneous", "Bruises")
        .replace("Patients should expect", "Call us if you get")
        .replace("A pneumothorax is rare.", "A collapsed lung (pneumothorax) is rare.")
        .replace("sections:\n", "summary: What to expect.\nsections:\n")
    )
    root = make_project({"content/jargon/en.yaml": JARGON, "content/documents/bad-aftercare/en.yaml": fixed})
    code, out, _ = run_cli(root, "lint", "--json", "--strict", "--only", "bad-aftercare")
    assert _pemat(out) == [] and code == 0, out


def test_pemat_items_in_french(make_project: Callable[..., Path]) -> None:
    from helpers import french

    bad = (
        BAD_AFTERCARE.replace("The patient may feel sore for a day. This is normal and it fades.",
                              "Le patient peut avoir mal un jour. C'est normal.")
        .replace("Miscellaneous", "Divers")
        .replace("Patients should expect a small bruise. A pneumothorax is rare.", "Un bleu est possible.")
        .replace('version: "1.0"\n', 'version: "1.0"\ntranslates: "1.0"\n')
    )  # fmt: skip
    files = {
        **french(),
        "content/documents/bad-aftercare/en.yaml": BAD_AFTERCARE,
        "content/documents/bad-aftercare/fr.yaml": bad,
    }
    code, out, _ = run_cli(make_project(files), "lint", "--json", "--lang", "fr", "--only", "bad-aftercare")
    assert code == 0
    assert [item for item, _ in _pemat(out)] == [9, 11, 20, 21]
