"""Answer spans as phrases: a span the reader proposes is cut where the phrase it names ends.

A small reader's span sometimes runs past its answer: into the next sentence ("Shiloh. Johnston") or into
a clause after a comma ("Brave New World, set in a dystopian London", "Puerto Rico Trench, in the North
Atlantic"). An answer is one phrase, so `trim_to_phrase` ends the span

* before a sentence break: a period followed by a space and a capital letter, unless the period ends an
  abbreviation (a single letter as in "Samuel A. Ward", a dotted one as in "U.S.", or a title such as
  "Mr." or "St."); and
* before a comma followed by a lower-case word (a modifier clause or the rest of a list), which keeps
  "February 12, 1809", "Montgomery, Alabama" and "Washington, D.C." whole; and
* before a possessive ending ("Semyon Dezhnyov's" -> "Semyon Dezhnyov"); and
* where its brackets balance: before a closing bracket it did not open (a span starting inside a
  parenthesis ends with it) or an opening bracket it does not close.

It never trims a span to nothing. When the question asks "which/what <noun>" and the text names the answer
with that noun ("At which battle ...?" -> "Shiloh" in "the Battle of Shiloh"; "What trophy ...?" -> "Lamar
Hunt" in "the Lamar Hunt Trophy"), `extend_to_asked_noun` takes the capitalised noun into the answer: the
name is "Battle of Shiloh", "Lamar Hunt Trophy". And a "when" question whose best answer is a bare year
takes a fuller date of that year from the next candidates (`prefer_full_date`: "1945" -> "17 August 1945");
a date or number answer drops a leading hedge (`drop_hedge`: "about 250,000" -> "250,000").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from kvqae.read.answer_types import expected_kind

_SENTENCE_BREAK = re.compile(r"\.\s+(?=[A-Z])")
_CLAUSE_COMMA = re.compile(r",\s+(?=[a-z])")
_WORD_BEFORE = re.compile(r"([\w.]+)$")
_POSSESSIVE_END = re.compile(r"(?<=\w)['\u2019]s?$")
_ASKED = re.compile(r"\b(?:which|what)((?:\s+[\w'-]+){1,4})", re.IGNORECASE)
# "What is the name of the airport ...?" asks as "Which airport ...?" does (not "the name of this airport":
# the pictured entity's own)
_NAME_OF = re.compile(r"\b(?:which|what)(?:\s+(?:is|was|are|were)|['’]s)\s+the\s+names?\s+of\s+(?:the|an?)"
                      r"((?:\s+[\w'-]+){1,4})", re.IGNORECASE)
_FUNCTION_WORDS = frozenset({
    "a", "an", "the", "of", "in", "on", "at", "to", "for", "from", "by", "with", "and", "or", "is", "was",
    "were", "are", "be", "been", "has", "have", "had", "do", "does", "did", "can", "could", "will", "would",
    "this", "that", "these", "those", "his", "her", "its", "their", "he", "she", "it", "they",
})
_NEXT_NAME_WORD = re.compile(r"\s+([A-Z][\w'-]*)")
# the asked noun in lower case right after a name: "the Phoenician alphabet" for "which alphabet", "The
# Jeffrey pine" for "which pine" (not the nouns a name is answered without: "the Arabic language")
_NEXT_COMMON_NOUN = re.compile(r" (?!(?:language|languages|people|peoples|tribe|tribes|family|clan)\b)"
                               r"([a-z][\w-]*)\b")
_NAME_WORD_OF_BEFORE = re.compile(r"\b([A-Z][\w'-]*)\s+of\s+(?:the\s+)?$")
_ABBREVIATIONS = frozenset({
    "mr", "mrs", "ms", "dr", "st", "jr", "sr", "mt", "ft", "gen", "col", "lt", "capt", "sgt", "rev", "prof",
    "inc", "co", "ltd", "vs", "no", "fig", "ca",
})


def _ends_abbreviation(text: str, period: int) -> bool:
    """Whether the period at `period` closes an abbreviation rather than a sentence."""
    m = _WORD_BEFORE.search(text[max(0, period - 40) : period])  # the word before; bounded: never quadratic
    if m is None:
        return False
    word = m.group(1)
    return (len(word) == 1 and word.isalpha()) or "." in word or word.lower() in _ABBREVIATIONS


def _unbalanced_bracket(span: str, limit: int) -> int | None:
    """Where span[:limit] should end for its brackets to balance: at the first closing bracket no bracket
    in the span opened (the span began inside a parenthesis: "Orycteropus afer) is a medium-sized"), else
    at the first opening bracket left unclosed ("André-Marie Ampère (1775–1836"); None when balanced."""
    open_at: list[int] = []
    for i, ch in enumerate(span[:limit]):
        if ch in "([":
            open_at.append(i)
        elif ch in ")]":
            if not open_at:
                return i
            open_at.pop()
    return open_at[0] if open_at else None


def trim_to_phrase(text: str, start: int, end: int) -> tuple[int, int]:
    """[start, end) of `text` cut before a sentence break or a comma clause inside it (module doc); the
    span itself when it holds neither or when cutting would leave nothing but spaces."""
    span = text[start:end]
    cut = len(span)
    for m in _SENTENCE_BREAK.finditer(span):
        if not _ends_abbreviation(text, start + m.start()):
            cut = m.start()
            break
    m = _CLAUSE_COMMA.search(span, 0, cut)
    if m is not None:
        cut = m.start()
    bracket = _unbalanced_bracket(span, cut)
    if bracket is not None:
        cut = bracket
    trimmed = _POSSESSIVE_END.sub("", span[:cut].rstrip())  # "Dezhnyov's" names Dezhnyov
    if not trimmed.strip():
        return start, end
    return start, start + len(trimmed)


def _singular(word: str) -> str:
    word = word.lower()
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _asked_phrase(question: str) -> str | None:
    """The up to four words after the question's "which" / "what" (or "what is the name of the"); None when
    it has none."""
    m = _NAME_OF.search(question) or _ASKED.search(question)
    return None if m is None else m.group(1)


def asked_nouns(question: str) -> frozenset[str]:
    """The words after the question's "which"/"what" up to its first function word, lower case and
    singular: "At which battle did ...?" -> {"battle"}; "In which New York concert hall did ...?" ->
    {"new", "york", "concert", "hall"}; "What is the name of the airport on ...?" -> {"airport"}; empty when
    the question has no such phrase."""
    phrase = _asked_phrase(question)
    if phrase is None:
        return frozenset()
    out = []
    for word in phrase.split():
        if word.lower() in _FUNCTION_WORDS:
            break
        out.append(_singular(word))
    return frozenset(out)


# a capitalised adjective of a people or a place ending the span: "Phoenician", "Proto-Canaanite", "Chinese"
_ADJECTIVE_NAME = re.compile(r"\b[A-Z][\w'-]*(?:an|ian|ean|ese|ic|ish|ite|i)$")


def asked_head(question: str) -> str | None:
    """The noun right after the question's "which" / "what" (or "what is the name of the"), lower case and
    singular: "Which script ... ?" -> "script"; None when a function word or nothing follows."""
    phrase = _asked_phrase(question)
    words = phrase.split() if phrase else []
    if not words or words[0].lower() in _FUNCTION_WORDS:
        return None
    return _singular(words[0])


def extend_to_asked_noun(
    text: str, start: int, end: int, nouns: frozenset[str], head: str | None = None
) -> tuple[int, int]:
    """[start, end) widened over a capitalised word of `nouns` right after it ("Lamar Hunt" + " Trophy"), the
    question's `head` noun in lower case right after a name of a people or a place's adjective form
    ("Phoenician" + " alphabet", "Proto-Canaanite" + " script"; not "language", "people", "tribe", "family",
    "clan"; not after a name that stands alone: "Saturn V rocket", "Time magazine") or before it with "of"
    ("Battle of " + "Shiloh"); unchanged when none is there."""
    if not nouns:
        return start, end
    after = _NEXT_NAME_WORD.match(text, end)
    if after is not None and _singular(after.group(1)) in nouns:
        end = after.end()
    elif head is not None and _ADJECTIVE_NAME.search(text, start, end) is not None:
        common = _NEXT_COMMON_NOUN.match(text, end)
        if common is not None and _singular(common.group(1)) == head:
            end = common.end()
    window = max(0, start - 80)  # the words just before the answer are all this looks at
    before = _NAME_WORD_OF_BEFORE.search(text[window:start])
    if before is not None and _singular(before.group(1)) in nouns:
        start = window + before.start(1)
    return start, end


_NAME_PART = r"(?:[A-Z][\w'\u2019.-]*|of|the|de|la|el|del|du|von|van)"


def asked_common_nouns(question: str) -> frozenset[str]:
    """`asked_nouns` written in lower case in `question` (common nouns: "sea", "tar", "pit"; not a
    nationality: "American"), singular."""
    phrase = _asked_phrase(question)
    written = {w for w in re.findall(r"[\w'-]+", phrase) if w.islower()} if phrase is not None else set()
    return frozenset(n for n in asked_nouns(question) if n in {_singular(w) for w in written})


# nouns that are part of the names they head ("Treaty of Paris", "Frankfurt Zoo", "Institute for Advanced
# Study"): a question asking "which treaty / zoo / institute" is answered by a name holding the noun. Not the
# nouns of classes whose members' names seldom hold them ("which state / island / moon / magazine": Virginia,
# Lesbos, Enceladus, Oxford Poetry).
_NAME_HEAD_TEXT = (
    "treaty battle zoo university college institute academy award prize medal trophy farm strait conjecture "
    "theorem cemetery palace castle museum church cathedral abbey temple bridge airport stadium library "
    "hospital studio canal pit dam festival championship expedition convention conference oracle"
)
NAME_HEAD_NOUNS = frozenset(_NAME_HEAD_TEXT.split())


def holds_noun(answer: str, nouns: frozenset[str]) -> bool:
    """Whether a word of `answer`, singular and in lower case, is one of `nouns` ("Institute for Advanced
    Study" holds "institute", "Baum-Connes conjecture" holds "conjecture")."""
    return bool({_singular(w) for w in re.findall(r"[\w'’-]+", answer)} & nouns)


def names_with_noun(text: str, nouns: frozenset[str]) -> list[tuple[int, int]]:
    """(start, end) in `text` of each name that ends with a capitalised asked noun ("the Sargasso Sea",
    "La Brea Tar Pits", "Grauman's Egyptian Theatre" for "which sea / tar pits / theatre") or opens with
    it before "of" ("Battle of Shiloh"): a name of the asked kind the small NER model may not tag. A
    leading "The" is left out; the name holds at least one other capitalised word."""
    if not nouns:
        return []
    out = []
    for m in re.finditer(rf"\b[A-Z][\w'\u2019.-]*(?:\s+{_NAME_PART}){{0,5}}", text):
        words = list(re.finditer(r"\S+", m.group()))
        base = m.start()
        # the longest name inside the run that ends with an asked noun ...
        for j in range(len(words) - 1, 0, -1):
            if _singular(words[j].group().lower()) in nouns and words[j].group()[0].isupper():
                first = 1 if words[0].group() in ("The", "A", "An") else 0
                if j > first and words[first].group()[0].isupper():
                    out.append((base + words[first].start(), base + words[j].end()))
                break
        # ... or opens with one before "of": "Battle of Shiloh"
        if (len(words) >= 3 and _singular(words[0].group().lower()) in nouns and words[1].group() == "of"
                and words[-1].group()[0].isupper()):
            out.append((base, base + words[-1].end()))
    return out


YEAR = re.compile(r"\d{3,4}")
_MONTH = re.compile(
    r"\b(?:january|february|march|april|may|june|july|august|september|october|november|december)\b",
    re.IGNORECASE,
)
# the question wants a year, not a date: "In which year ...?", "the year of his birth"
# a year as a word, with its era when one follows ("322 BC"); not the "1960" of "1960s"
_YEAR_WORD = re.compile(r"\b\d{3,4}(?:\s*(?:BC|BCE|AD|CE)\b)?(?![\w'])")
ASKS_YEAR = re.compile(r"\b(?:what|which) year\b|\byear of\b", re.IGNORECASE)


def year_of_date(text: str, start: int, end: int, question: str) -> tuple[int, int]:
    """[start, end) narrowed to the year of a date ("17 August 1945" -> "1945", "322 BC" kept whole) when
    `question` asks which year; unchanged unless the span holds exactly one year and a month name."""
    if not ASKS_YEAR.search(question):
        return start, end
    span = text[start:end]
    years = list(_YEAR_WORD.finditer(span))
    if len(years) != 1 or not _MONTH.search(span):
        return start, end
    return start + years[0].start(), start + years[0].end()


# words that hedge a quantity: "about 250,000", "around 4,000 years", "more than 2,000 houses", "as many as
# 50,000", "in excess of 300"; or a date: "as early as 1863" (and a span begun inside it: "early as 1863")
_HEDGE = re.compile(r"(?:about|around|approximately|roughly|nearly|almost|some|circa|c\.|an estimated|"
                    r"(?:more|fewer|less) than|over|under|up to|at least|at most|"
                    r"as (?:many|much|few|little|long|high|far|large|early|late) as|in excess of|upwards of|"
                    r"just (?:over|under)|(?:early|late) as)\s+(?=[\d$\u20ac\u00a3])|"
                    # a focus word before any figure: "only five", "exactly 36"
                    r"(?:exactly|precisely|only|just)\s+"
                    r"(?=[\d$\u20ac\u00a3]|(?:one|two|three|four|five|six|seven|eight|nine|ten)\b)",
                    re.IGNORECASE)


def drop_hedge(text: str, start: int, end: int, question: str) -> tuple[int, int]:
    """[start, end) without a leading hedge word when `question` asks for a date or a number and a figure
    follows it ("about 250,000" -> "250,000"): the asked number is the figure, and that is what people and
    datasets write as the answer; so does a focus word before any figure ("only five" -> "five").
    Unchanged otherwise, and never trimmed to nothing."""
    m = _HEDGE.match(text, start, end)
    if m is None or m.end() >= end or expected_kind(question) not in ("time", "number"):
        return start, end
    return m.end(), end


def prefer_full_date(candidates: Sequence[Any], texts: Sequence[str], question: str, *,
                     within: int = 5) -> list[Any]:
    """`candidates` (ranked; each with .passage, .start, .end into `texts`) with, for a "when" question
    whose best answer is a bare year, the first of the next `within` - 1 that is a fuller date of the same
    year (a month, the year, no other year: "17 August 1945" for "1945") moved to the front. "What year"
    questions keep the year."""
    from kvqae.read.answer_types import expected_kind

    out = list(candidates)
    if not out or expected_kind(question) != "time" or ASKS_YEAR.search(question):
        return out
    best = out[0]
    year = texts[best.passage][best.start : best.end].strip()
    if not YEAR.fullmatch(year):
        return out
    for i in range(1, min(within, len(out))):
        c = out[i]
        text = texts[c.passage][c.start : c.end]
        if _MONTH.search(text) and re.findall(r"\d{3,4}", text) == [year]:
            return [c] + out[:i] + out[i + 1 :]
    return out
