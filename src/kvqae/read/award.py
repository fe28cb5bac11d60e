"""An award the subject won: "He received the 1921 Nobel Prize in Physics", "Connes was awarded the Fields
Medal in 1982".

"What award did this physicist win?", "Which prize did this mathematician receive in 1982?": people ask what
honours a pictured person (or film, or book) won, and Wikipedia states it about the subject with a few verbs
- "won", "received", "was awarded", "earned" - followed by the award's name. The small reader took another
name near it ("Leó Szilárd", "Nobel Prize" without its field). So when a question asks for an award
(`asked_award`: and the year it names, if any), the first award name - capitalised words holding Prize,
Award, Medal, Oscar, Trophy, ... - right after such a verb in a sentence about the subject (with the asked
year, when there is one) in the passages of the first read passage's article, in article order, comes first
(`prefer_award`), and `kvqae.read.lookup` reads that article's passages stating one. A year before the name
is left out ("the 1921 Nobel Prize in Physics" -> "Nobel Prize in Physics").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from kvqae.read.answer_choice import rule_answer_first
from kvqae.read.lifeplace import about_subject
from kvqae.read.words import sentence_start

_AWARD_NOUNS = ("award|awards|prize|prizes|medal|medals|honou?r|honou?rs|trophy|trophies|distinction|"
                "decoration|title|titles")
_ASKS = re.compile(
    rf"^\s*(?:what|which)\s+(?:[\w-]+\s+){{0,2}}?(?:{_AWARD_NOUNS})\b.*\b(?:win|won|receive|received|get|got|"
    rf"earn|earned|awarded|given|granted|honou?red)\b", re.IGNORECASE)
_YEAR = re.compile(r"\b1\d{3}\b|\b20\d{2}\b")
# the verb; an article, a possessive and a year may stand before the name
_STATED = re.compile(r"\b(?:won|wins|received|receives|awarded|earned|recipient\s+of|winner\s+of|"
                     r"honou?red\s+with)\s+(?:(?:the|a|an|his|her|their|its)\s+)?(?:(?:1\d{3}|20\d{2})\s+)?")
_AWARD_WORDS = re.compile(r"\b(?:Prize|Prix|Award|Medal|Oscar|Trophy|Order|Cross|Lion|Bear|Palme|Globe|Emmy|"
                          r"Grammy|Tony|Cup|Laureate|Fellowship|Legion|Star|Honour|Honor|Decoration)\b")
_WORD = r"[A-Z][\w'’-]*(?:\.(?=[A-Z]))?"
# "for" joins a category ("Academy Award for Best Director"), not the work it was won for ("the Golden Lion
# for Ivan's Childhood")
_CATEGORY = (r"for\s+(?=(?:Best|Outstanding|Excellence|Lifetime|Fiction|Literature|Peace|Physics|Chemistry|"
             r"Medicine)\b)")
_NAME = re.compile(rf"{_WORD}(?:(?:\s+(?:(?:of|in|the|de|du)\s+|{_CATEGORY})*|\s+d['’]){_WORD})*")


def asked_award(question: str) -> tuple[bool, str | None]:
    """(whether `question` asks which award someone won, the year it names or None): "Which prize did this
    mathematician win in 1982?" -> (True, "1982"); "What award did she receive?" -> (True, None)."""
    if _ASKS.search(question) is None:
        return False, None
    year = _YEAR.search(question)
    return True, year.group(0) if year else None


def stated_award(text: str, title: str | None, year: str | None = None) -> tuple[int, int] | None:
    """(start, end) in `text` of the award named right after the first "won / received / was awarded ..."
    in a sentence about the article's subject (`title`: its name or "he" / "she" before the verb) that
    holds `year` when given; None when `text` states none."""
    for m in _STATED.finditer(text):
        begin = sentence_start(text, m.start())
        if not _about(text[begin : m.start()], title):
            continue
        stop = text.find(". ", m.end())
        if year is not None and year not in text[begin : len(text) if stop < 0 else stop]:
            continue
        name = _NAME.match(text, m.end())
        if name is not None and _AWARD_WORDS.search(name.group(0)):
            return name.span()
    return None


def _about(before: str, title: str | None) -> bool:
    """The subject is the sentence's: its name or "he" / "she" before the verb (not "his son"); or, for
    a work, "it" ("It won a Retrospective Hugo Award")."""
    return about_subject(before, title) or re.fullmatch(r"(?:\W*\w+\W+){0,4}?it\s+", before,
                                                       re.IGNORECASE) is not None


def prefer_award(
    candidates: Sequence[Any], texts: Sequence[str], titles: Sequence[str | None], question: str,
    positions: Sequence[int | None] | None = None,
) -> list[Any]:
    """`candidates` (ranked `Candidate`s into `texts`, the read passages in reading order, of articles
    `titles`, at `positions` in their articles) with, when `question` asks which award someone won, the one
    `stated_award` finds in the passages of the first read passage's article first. Unchanged when none
    states one."""
    asked, year = asked_award(question)
    if not asked or not texts:
        return list(candidates)
    return rule_answer_first(candidates, texts, titles,
                             lambda text, title: stated_award(text, title, year), positions)
