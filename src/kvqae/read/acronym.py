"""What an abbreviation stands for: "What does ASCII stand for?", "What is NASA short for?".

Articles spell an abbreviation out in two shapes: the words, then the letters in brackets ("The American
Standard Code for Information Interchange (ASCII) was developed ..."), or the letters, then "abbreviated
from", "short for", "an acronym for" or "stands for" and the words ("ASCII, abbreviated from American
Standard Code for Information Interchange, is ..."). The reader, trained on names, dates and numbers, takes a
letter or another name ("What does ASCII stand for?" -> "Z"). So a question asking what an abbreviation
stands for (`asked_abbreviation`: the letters the question writes, or, when it writes none - "What does this
agency's abbreviation stand for?" -, the title of the first read article when that is one) is answered with
the run of words whose initials spell it (`expansion`), in the first read article's passages. Small words
may be skipped ("Code for Information"), or count when the letters hold them ("DoD": "Department of
Defense"); a hyphenated word gives one letter or one per part.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from kvqae.read.answer_choice import rule_answer_first

# "stand for", "short for", "the full form / name of", "spelled out", "expansion of" ("What is the acronym
# of ...?" asks the letters, not what they stand for)
_ASKS = re.compile(r"\b(?:stands?|stood)\s+for\b|\bshort\s+for\b|\bfull\s+(?:form|name)\s+of\b|"
                   r"\bexpan(?:sion|ded\s+form)\s+of\b|\bspelled\s+out\b", re.IGNORECASE)
# a written abbreviation: two to ten letters or digits with at least two capitals ("ASCII", "U.S.", "DoD",
# "AT&T", "UTF-8"); "I" and a capitalised word ("This") are none
_LETTERS = re.compile(r"(?<![\w.&-])((?:[A-Z0-9][a-z]?\.?){1,3}[A-Z][\w.&-]*)(?![\w&-])")
_SMALL_TEXT = "of for and the a an in on at to de du des la le et und & by with from"
_SMALL_WORDS = frozenset(_SMALL_TEXT.split())
# the cue between the letters and the words: "ASCII, abbreviated from ...", "NASA (short for ...)"
_CUE = re.compile(r"\s*[,(]?\s*(?:(?:which|that)\s+)?(?:is\s+|was\s+)?(?:an?\s+)?(?:abbreviat(?:ed|ion)\s+"
                  r"(?:from|for|of)|short\s+for|acronym\s+(?:for|of)|initialism\s+(?:for|of)|stands?\s+for|"
                  r"standing\s+for)\s+(?:the\s+)?")
_WORD = re.compile(r"[^\W_][\w'’.-]*|&")
_MAX_WORDS = 14


def _letters(abbreviation: str) -> str:
    """The letters and digits an abbreviation spells, upper case ("U.S." -> "US", "AT&T" -> "AT&T")."""
    return "".join(c for c in abbreviation if c.isalnum() or c == "&").upper()


def asked_abbreviation(question: str) -> str | None:
    """The letters a question asks to spell out ("What does ASCII stand for?" -> "ASCII"), "" when it asks
    about an abbreviation without writing it ("What does this agency's acronym stand for?": the article's
    title tells it), None for another question."""
    if _ASKS.search(question) is None or not re.match(r"\s*(?:what|which|tell|name|spell)\b", question,
                                                       re.IGNORECASE):
        return None
    found = [m.group(1) for m in _LETTERS.finditer(question)]
    letters = [_letters(a) for a in found if sum(c.isupper() for c in a) >= 2 and len(_letters(a)) <= 10]
    return letters[0] if letters else ""


def _initials(word: str) -> list[str]:
    """The letters a word may stand for: its initial, and for a hyphenated word the initials of its parts."""
    if word == "&":
        return ["&"]
    parts = [p for p in re.split(r"[-–]", word) if p]
    out = [word[0].upper()]
    if len(parts) > 1:
        out.append("".join(p[0].upper() for p in parts))
    return out


def _spells(words: Sequence[str], letters: str) -> bool:
    """Whether the initials of `words` spell `letters`, the first and the last word counting and a small
    word between them counting or skipped ("Code for Information": C, I; "Department of Defense": D, O, D)."""
    if not words or not letters:
        return not words and not letters
    rest = words[1:]
    for initial in _initials(words[0]):
        if letters.startswith(initial):
            remaining = letters[len(initial):]
            if (not rest and not remaining) or (rest and _spells_after(rest, remaining)):
                return True
    return False


def _spells_after(words: Sequence[str], letters: str) -> bool:
    """`_spells` for the words after the first, whose first may be a skipped small word."""
    if _spells(words, letters):
        return True
    return len(words) > 1 and words[0].lower() in _SMALL_WORDS and _spells_after(words[1:], letters)


def expansion(text: str, abbreviation: str) -> tuple[int, int] | None:
    """(start, end) in `text` of the words that `abbreviation` stands for: the words right before its
    letters in brackets, or right after "<letters>, abbreviated from / short for / stands for"; None when
    `text` spells it out neither way."""
    letters = _letters(abbreviation)
    if len(letters) < 2:
        return None
    # the letters as written, in any case, with or without dots or a hyphen ("US", "U.S.", "DoD", "UTF-8"),
    # two of them capitals
    written = r"[.\s-]?".join(re.escape(c) for c in letters)
    for m in re.finditer(rf"(?<![\w.&-]){written}\.?(?![\w&-])", text, re.IGNORECASE):
        if sum(c.isupper() for c in m.group()) < 2:
            continue
        found = _words_before(text, m.start(), letters) or _words_after(text, m.end(), letters)
        if found is not None:
            return found
    return None


def _words_before(text: str, at: int, letters: str) -> tuple[int, int] | None:
    """The words ending right before "(" + letters at `at` that spell them: "Code for Information
    Interchange (ASCII)"."""
    opening = re.search(r"\(\s*(?:[A-Z][a-z]+:\s*[^,;)]*[,;]\s*)?$", text[max(0, at - 120) : at])
    if opening is None:
        return None
    end = max(0, at - 120) + opening.start()
    words = list(_WORD.finditer(text[max(0, end - 200) : end]))[-_MAX_WORDS:]
    base = max(0, end - 200)
    for first in range(len(words) - 1, -1, -1):
        run = [w.group() for w in words[first:]]
        if _spells(run, letters):
            return base + words[first].start(), base + words[-1].end()
    return None


def _words_after(text: str, at: int, letters: str) -> tuple[int, int] | None:
    """The words right after "<letters>, abbreviated from" / "(short for" / "stands for" that spell them."""
    cue = _CUE.match(text, at)
    if cue is None:
        return None
    words = list(_WORD.finditer(text, cue.end()))[:_MAX_WORDS]
    for last in range(1, len(words) + 1):
        if _spells([w.group().rstrip(".") for w in words[:last]], letters):
            return words[0].start(), words[last - 1].end() - (words[last - 1].group().endswith("."))
    return None


def _title_letters(title: str | None) -> str | None:
    """The article's title when it is an abbreviation ("ASCII", "NASA"), else None."""
    if not title or " " in title.strip() or sum(c.isupper() for c in title) < 2:
        return None
    return title.strip()


def stated_expansion(text: str, title: str | None, asked: str) -> tuple[int, int] | None:
    """The span of the words the asked abbreviation (or, when the question writes none, the article's
    title) stands for in `text`; None when there is none."""
    abbreviation = asked or _title_letters(title)
    if not abbreviation:
        return None
    return expansion(text, abbreviation)


def prefer_expansion(
    candidates: Sequence[Any], texts: Sequence[str], titles: Sequence[str | None], question: str,
    positions: Sequence[int | None] | None = None,
) -> list[Any]:
    """`candidates` with, when `question` asks what an abbreviation stands for, the words it stands for in
    the first read article's passages (in article order with `positions`) first; unchanged otherwise."""
    asked = asked_abbreviation(question)
    if asked is None:
        return list(candidates)
    return rule_answer_first(candidates, texts, titles,
                             lambda text, title: stated_expansion(text, title, asked), positions)
