"""Who holds an office of the subject now: "Abdelaziz Bouteflika has been President since 1999".

"Who is the president of this country?", "Who is the mayor of this city?": Wikipedia states the holder of an
office about a country, a city or an organisation as "The current President of the Republic is Bujar
Nishani", "Abdelaziz Bouteflika has been President since 1999" or "the incumbent Mayor, Jane Roe", while
the article names many former holders ("Houari Boumediene became president in 1965"), which the small
reader took. So when a question asks who holds an office now (`asked_office`: "Who is the <office> of
...?", present tense, no ordinal), the name of the first such statement (`stated_office`) in the first read
article's passages, in article order, comes first (`prefer_office`), and `kvqae.read.lookup` reads the
passages holding one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from kvqae.read.answer_choice import rule_answer_first

_OFFICES = ("vice president|president|prime minister|premier|king|queen|monarch|emperor|empress|chancellor|"
            "governor|mayor|head of state|head of government|leader|chief executive|ceo|chairman|chairwoman|"
            "chairperson|secretary-general|secretary general|pope|sultan|emir|patriarch|archbishop")
# "Who is the president of ...?", "Who is the current mayor of ...?", "Who's the CEO of ...?"
_ASKS = re.compile(rf"^\s*who(?:\s+is|'s|’s)\s+(?:the\s+)?(?:(?:current|present|incumbent|sitting)\s+)?"
                   rf"({_OFFICES})\s+of\b", re.IGNORECASE)
_NAME = r"[A-Z][\w'’-]+(?:\s+(?:[A-Z]\.\s+)?(?:(?:al|bin|ibn|de|van|von|da|la|le)[ -])?[A-Z][\w'’-]+)*"
# what may stand between the office and "is": "of the Republic", "of Algeria"
_OF = (r"(?:\s+of\s+(?:the\s+)?(?:[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*){0,3}|state|city|country|nation|republic|"
       r"province|company|organi[sz]ation|club|party))?")
# a party or a title before the holder's name is not part of it: "is Republican Kay Ivey"
_BEFORE_NAME = r"(?:(?:Republican|Democrat|Democratic|Conservative|Labour|Liberal|Socialist|Independent)\s+)?"


def asked_office(question: str) -> str | None:
    """The office whose present holder `question` asks for, lower-cased ("Who is the president of this
    country?" -> "president"); None for another question, a past one ("Who was ...?") or an ordinal ("Who
    is the first president ...?")."""
    m = _ASKS.search(question)
    return None if m is None else re.sub(r"\s+", " ", m.group(1).lower())


def _patterns(office: str) -> list[re.Pattern[str]]:
    words = r"\s+".join(re.escape(w) for w in office.split())
    title = rf"(?i:{words})"  # "President" or "president"; the name stays capitalised
    return [
        # "The current President of the Republic is Bujar Nishani"
        re.compile(rf"\b(?i:current|incumbent|present|sitting)\s+{title}{_OF}\s+(?:is|has\s+been)\s+"
                   rf"{_BEFORE_NAME}({_NAME})"),
        # "The premier has been Rachel Notley since May 2015", "The President of Algeria is X"
        re.compile(rf"\b(?i:the)\s+{title}{_OF}\s+(?:is|has\s+been)\s+{_BEFORE_NAME}({_NAME})"),
        # "Abdelaziz Bouteflika has been President since 1999", "X is the current Mayor"
        re.compile(rf"({_NAME})\s+(?:has\s+been|is\s+(?:the\s+)?(?:current|incumbent|sitting)|"
                   rf"has\s+served\s+as)\s+(?:the\s+)?{title}\b"),
        # "the current President, Abdelaziz Bouteflika", "incumbent Mayor Jane Roe"
        re.compile(rf"\b(?i:current|incumbent|sitting)\s+{title}{_OF},?\s+{_BEFORE_NAME}({_NAME})"),
    ]


_NOT_NAMES = frozenset({"The", "He", "She", "It", "They", "This", "That", "Its", "His", "Her", "Since"})


def stated_office(text: str, office: str) -> tuple[int, int] | None:
    """(start, end) in `text` of the holder of `office` in the first statement of a present holder
    (module doc); None when `text` states none."""
    found = []
    for pattern in _patterns(office):
        for m in pattern.finditer(text):
            start, end = m.span(1)
            first = text[start:end].split()[0]
            # a name that ends the passage may be cut there ("The current premier is Rachel|")
            if first not in _NOT_NAMES and end < len(text.rstrip()):
                found.append((start, end))
                break
    return min(found) if found else None


def prefer_office(
    candidates: Sequence[Any], texts: Sequence[str], titles: Sequence[str | None], question: str,
    positions: Sequence[int | None] | None = None,
) -> list[Any]:
    """`candidates` with, when `question` asks who holds an office now, the holder `stated_office` finds in
    the first read article's passages (in article order with `positions`) first; unchanged otherwise."""
    office = asked_office(question)
    if office is None:
        return list(candidates)
    return rule_answer_first(candidates, texts, titles, lambda text, _title: stated_office(text, office),
                             positions)
