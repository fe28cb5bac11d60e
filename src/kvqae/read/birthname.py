"""A person's birth name from "born X" in their article: "Ayn Rand (born Alisa Zinov'yevna Rosenbaum; ...)".

"What was the birth name of this novelist?", "What was this director's real name?": people ask it of
performers, writers and rulers known by another name, and Wikipedia states it in the lead's parenthesis
("Ayn Rand (born Alisa Zinov'yevna Rosenbaum, ...)") or in a sentence about the subject ("Born Joseph Aloysius
Dwan in Toronto, ...", "Rand was born Alisa Zinov'yevna Rosenbaum on February 2, 1905"). The small reader
took a place or another phrase of those sentences ("several awards", a birth place). So when a question asks
for a birth name (`asks_birth_name`), the capitalised name of at least two words right after "born" (or
"née" for a maiden name) in such a statement, in the passages of the first read passage's article, comes
first (`prefer_birth_name`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from kvqae.read.answer_choice import Entity, rule_answer_first
from kvqae.read.lifeplace import subject_before_verb
from kvqae.read.words import sentence_starts

_ASKS = re.compile(
    r"\b(?:birth|real|original|maiden|given)\s+name\b|\bname\s+(?:at|given\s+at)\s+birth\b"
    r"|\bborn\s+(?:as|under|with)\s+(?:what|which)\b|\b(?:what|which)\s+name\b.*\bborn(?:\s+(?:as|under|with)\b|\W*$)",
    re.IGNORECASE)
_MONTHS = ("January|February|March|April|May|June|July|August|September|October|November|December|"
           "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|In|On|At|Into|To|The|A|An|c|Circa|About|Around")
_PARTICLE = r"(?:de|da|di|del|della|der|den|du|la|le|van|von|bin|ibn|al|y)"
_WORD = r"[A-Z][\w'’.-]*"
# "born Alisa Zinov'yevna Rosenbaum", "née Kaplan": capitalised words (with particles) after the verb
_STATEMENT = re.compile(rf"\b([Bb]orn|[Nn]ée|[Nn]ee)\s+(?!(?:{_MONTHS})\b)"
                        rf"({_WORD}(?:\s+(?:{_PARTICLE}\s+)?{_WORD})*)")
# labels a birth name is not: "born Catholic" (NORP), "born Rome" (GPE) are no names
_NOT_NAME_LABELS = frozenset({"NORP", "GPE", "LOC", "FAC", "DATE", "TIME", "CARDINAL", "ORDINAL", "ORG"})


def asks_birth_name(question: str) -> bool:
    """Whether `question` asks for someone's birth name ("What was the birth name of this novelist?",
    "What was her maiden name?", "Under which name was he born?" is not matched: it says "born under")."""
    return _ASKS.search(question) is not None


def _maiden(question: str) -> bool:
    return re.search(r"\bmaiden\b", question, re.IGNORECASE) is not None


def stated_birth_name(
    text: str, title: str | None, entities: Sequence[Entity] | None = None, *, maiden: bool = False
) -> tuple[int, int] | None:
    """(start, end) in `text` of the name after "born" (or "née", which also gives one word, for a
    `maiden` name) in a statement about the article's subject (`title`): its lead's "<title> (born X" or a
    sentence whose subject it is ("Rand was born X", "Born X in Toronto, ..."); None when there is none, or
    the name is one word after "born", or the NER labels it a place, a people or a date."""
    starts = sentence_starts(text)
    others = [(a, b) for a, b, label in entities or [] if label in _NOT_NAME_LABELS]
    own_words = [re.escape(w) for w in re.findall(r"\w+", title or "") if len(w) > 2]
    for m in _STATEMENT.finditer(text):
        verb, (a, b) = m.group(1).lower(), m.span(2)
        if verb != "born" and not maiden:
            continue
        if len(m.group(2).split()) < (1 if verb != "born" else 2):
            continue
        if any(x < b and a < y for x, y in others):
            continue
        before = text[max((s for s in starts if s <= m.start()), default=0) : m.start()]
        parenthesis = bool(own_words) and re.search(
            rf"\b(?:{'|'.join(own_words)})\s*\(\s*(?:[^()]{{0,40}}[;,]\s*)?$", before) is not None
        if parenthesis or subject_before_verb(before, title):
            return a, b
    return None


def prefer_birth_name(
    candidates: Sequence[Any], texts: Sequence[str], titles: Sequence[str | None], question: str,
    entities_of: Callable[[str], Sequence[Entity]], positions: Sequence[int | None] | None = None,
) -> list[Any]:
    """`candidates` (ranked `Candidate`s into `texts`, the read passages in reading order, of articles
    `titles`, at `positions` in their articles) with, when `question` asks for a birth name, the name
    `stated_birth_name` finds in the passages of the first read passage's article first. A candidate
    already on that span moves up; else a new one joins, scored below every other (probability 0).
    Unchanged when none states it."""
    if not asks_birth_name(question):
        return list(candidates)
    maiden = _maiden(question)
    return rule_answer_first(
        candidates, texts, titles,
        lambda text, title: stated_birth_name(text, title, entities_of(text), maiden=maiden), positions)
