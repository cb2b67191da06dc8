"""Readability of plain text: sentences, words, syllables, and one formula per language.

Everything here is offline and pure (no global language setting), so it is safe to call
from several threads. Syllables are counted with Pyphen's hyphenation dictionaries (a
WeasyPrint dependency) together with a vowel-group rule per language; see `syllables`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

# A sentence ends at . ! ? or … (plus closing quotes or brackets) followed by a space and a
# capital, digit, quote or bracket: "e.g. the" or "3.5 cm" do not end one.
_SENTENCE_END = re.compile(r"""(?<=[.!?…])["'»”’)\]]*\s+(?=[«"“‘(\[]?[A-ZÀ-ÖØ-Þ0-9])""")
# Abbreviations that end in a full stop and are usually followed by a capital.
_ABBREVIATIONS = re.compile(r"(?:\b(?:Dr|Mr|Mrs|Ms|St|Pr|Mme|Mlle|M|No|vs|approx)\.)$")
# A word has at least one letter or digit; hyphens and apostrophes keep its parts together.
_WORD = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")
_ACRONYM = re.compile(r"^[A-Z]{2,5}s?$")


@dataclass(frozen=True)
class TextStats:
    """Counts for one block of text, split into sentences."""

    sentences: tuple[str, ...]
    words: int
    syllables: int
    longest_sentence: int
    longest_text: str

    @property
    def words_per_sentence(self) -> float:
        return self.words / len(self.sentences) if self.sentences else 0.0

    @property
    def syllables_per_word(self) -> float:
        return self.syllables / self.words if self.words else 0.0


@dataclass(frozen=True)
class Formula:
    """A readability formula and the score that passes."""

    key: str
    name: str
    limit: float
    higher_is_easier: bool
    compute: Callable[[TextStats], float]

    def score(self, stats: TextStats) -> float:
        return round(self.compute(stats), 1)

    def passes(self, score: float) -> bool:
        return score >= self.limit if self.higher_is_easier else score <= self.limit

    @property
    def rule(self) -> str:
        return f"{self.limit:g} or {'above' if self.higher_is_easier else 'below'} passes"


def _flesch_kincaid_grade(s: TextStats) -> float:
    # Kincaid et al. (1975): a US school grade; calibrated on English.
    return 0.39 * s.words_per_sentence + 11.8 * s.syllables_per_word - 15.59


def _kandel_moles(s: TextStats) -> float:
    # Kandel & Moles (1958), Flesch's reading ease refitted for French: 0 (hard) to 100 (easy).
    # The formula runs past both ends for very short or very long words and sentences; the
    # scale it is read on (and README's "60 or above passes") is 0-100, so it is kept there.
    raw = 207 - 1.015 * s.words_per_sentence - 73.6 * s.syllables_per_word
    return min(100.0, max(0.0, raw))


FORMULAS: dict[str, Formula] = {
    "en": Formula("flesch-kincaid-grade", "Flesch-Kincaid grade", 8, False, _flesch_kincaid_grade),
    # Flesch's table puts 60-70 at US grades 8-9 and 70-80 at grade 7: 60 is the usual
    # "plain language" floor and the nearest counterpart of the English grade-8 limit.
    "fr": Formula("kandel-moles", "Kandel-Moles reading ease", 60, True, _kandel_moles),
}


def formula_for(lang: str) -> Formula | None:
    """Return the formula for a language code such as 'en' or 'fr-CA', or None."""
    return FORMULAS.get(_root(lang))


def split_sentences(units: Sequence[str]) -> list[str]:
    """Split text units (paragraphs, bullets, steps) into sentences.

    Every unit ends a sentence, with or without final punctuation, so a list of short
    bullets counts as short sentences rather than one long one.
    """
    sentences: list[str] = []
    for unit in units:
        text = " ".join(unit.split())
        start = 0
        for match in _SENTENCE_END.finditer(text):
            if _ABBREVIATIONS.search(text[start : match.start()]):
                continue
            sentences.append(text[start : match.start()])
            start = match.end()
        sentences.append(text[start:])
    return [s for s in sentences if words(s)]


def words(text: str) -> list[str]:
    """Return the words of text ("A-delta", "l'aiguille" and "don't" are one word each)."""
    return _WORD.findall(text)


def analyse(units: Sequence[str], lang: str) -> TextStats:
    """Count sentences, words and syllables of the text units in lang."""
    sentences = split_sentences(units)
    counts = [words(s) for s in sentences]
    longest = max(range(len(counts)), key=lambda i: len(counts[i]), default=None)
    return TextStats(
        sentences=tuple(sentences),
        words=sum(len(c) for c in counts),
        syllables=sum(syllables(w, lang) for c in counts for w in c),
        longest_sentence=len(counts[longest]) if longest is not None else 0,
        longest_text=sentences[longest] if longest is not None else "",
    )


def syllables(word: str, lang: str) -> int:
    """Estimate the syllables of one word.

    The larger of two estimates: Pyphen's hyphenation points plus one (hyphenation rules
    never break off a single letter at either end, so they undercount: "a-rea") and a
    vowel-group count with the language's silent-e rules. Against the CMU pronouncing
    dictionary this is right for about 98% of English words in running text.
    """
    if _ACRONYM.match(word):
        return len(word.rstrip("s"))  # IMS: I-M-S
    parts = [p for p in re.split(r"[-'’]", word) if p]
    if len(parts) > 1:
        # "A-delta", "long-lasting"; an elided French article ("l'") has no vowel of its own.
        return sum(syllables(p, lang) for p in parts if _VOWELS.search(p.lower()))
    lower = word.lower()
    if lower.isdigit():
        return max(1, len(lower) // 2)
    root = _root(lang)
    guess = _GUESSERS.get(root, _guess_en)(lower)
    return max(guess, _pyphen_count(lower, root))


_VOWELS = re.compile(r"[aeiouyàâäéèêëîïôöùûüÿœæ]+")

# English: one syllable per vowel group, less a silent final e or -ed/-es, plus the vowel
# pairs that are two syllables ("area", "stimulation" are not; "anxiety", "serious" are).
_EN_SILENT_SUFFIX = re.compile(r"[^aeiouy]e(?:ly|ful|ment|ness|less|ry)$")
_EN_HIATUS = re.compile(
    r"[^aeioucgst]ia|[^aeiou]ie(?=[aeiou]|st)|[^aeiou]iet|[^cgst]io(?!u)|[^aeiouqg]ua|uo|[^aeiou]eo|iu"
    r"|[^aeiou]ying|[^aeiou]ier$|[^aeiou]ea$"
)


def _guess_en(word: str) -> int:
    count = len(_VOWELS.findall(word.removeprefix("y")))
    if re.search(r"[^aeiouy]e$", word) and not re.search(r"[^aeiouy]le$", word) and len(word) > 2:
        count -= 1  # make, one
    elif re.search(r"[^aeiouytd]ed$", word):
        count -= 1  # helped
    elif re.search(r"[^aeiouysxzgcl]es$", word) and not re.search(r"[cs]hes$|[^aeiouy][lr]es$", word):
        count -= 1  # makes, but not boxes, muscles, fibres
    if _EN_SILENT_SUFFIX.search(word):
        count -= 1  # likely, careful
    count += len(_EN_HIATUS.findall(word))
    return max(1, count)


# French: spoken syllables; a final mute e or es after a consonant adds none ("muscles" 1,
# "aiguille" 2), and é before another vowel starts a new one ("réaction" 3).
def _guess_fr(word: str) -> int:
    count = len(_VOWELS.findall(word))
    if re.search(r"[^aeiouyàâäéèêëîïôöùûüÿœæ]es?$", word) and count > 1:
        count -= 1
    count += len(re.findall(r"é(?=[aeiouàâéèêîôû])", word))
    return max(1, count)


_GUESSERS: dict[str, Callable[[str], int]] = {"en": _guess_en, "fr": _guess_fr}


def _pyphen_count(word: str, root: str) -> int:
    dictionary = _pyphen(root)
    return len(dictionary.positions(word)) + 1 if dictionary is not None else 1


@lru_cache(maxsize=8)
def _pyphen(root: str) -> Any:
    import pyphen  # type: ignore[import-untyped]

    lang = {"en": "en_US"}.get(root, root)
    return pyphen.Pyphen(lang=lang) if lang in pyphen.LANGUAGES else None


def _root(lang: str) -> str:
    return lang.replace("_", "-").split("-")[0].lower()
