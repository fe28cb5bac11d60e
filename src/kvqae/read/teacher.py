"""Who taught the subject: "Aristotle was a pupil of Plato", "she studied under Nadia Boulanger".

"Who was the teacher of this philosopher?", "Who taught this composer?", "Under whom did she study?":
Wikipedia states a teacher about its subject in a few phrasings - "<subject> was a pupil / student /
disciple / apprentice of X", "<subject> studied / trained under X", "<subject> was taught / tutored by X" -
and the small reader took another name of the passage ("Chalkidice", the region of the philosopher's birth
town). So when a question asks who taught the subject (`asks_teacher`), the name after the first such
phrase in a sentence about the subject (`stated_teacher`), in the first read article's passages in article
order, comes first (`prefer_teacher`), and `kvqae.read.lookup` reads the passages holding one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from kvqae.read.answer_choice import rule_answer_first
from kvqae.read.lifeplace import subject_before_verb
from kvqae.read.words import sentence_start

_TEACHER_NOUNS = r"(?:teacher|tutor|mentor|master|instructor|teachers|tutors|mentors|masters)"
# "Who was the teacher of ...?", "Who were the teachers of ...?", "Which philosopher was the tutor of ...?",
# "Who taught this composer?", "Under whom did she study?"; not "Which king did this philosopher tutor?"
# (the pupil) nor "Who was taught by ...?"
_ASKS = re.compile(
    rf"^\s*(?:who|which\s+[\w-]+(?:\s+[\w-]+)?)\s+(?:was|were|is|are)\s+(?:the\s+|a\s+)?(?:[\w-]+\s+)?"
    rf"{_TEACHER_NOUNS}\s+of\b|"
    r"^\s*(?:who|which\s+[\w-]+(?:\s+[\w-]+)?)\s+(?:first\s+)?(?:taught|tutored|trained|mentored)\s+(?!by\b)|"
    r"^\s*under\s+whom\s+(?:did|was|were)\b",
    re.IGNORECASE)
_NAME = r"[A-Z][\w'’.-]*(?:\s+(?:(?:of|de|da|del|van|von|la|le|the)\s+){0,2}[A-Z][\w'’.-]*)*"
# the phrases that name a teacher right before the name ("a pupil of the philosopher Plato": a lower-case
# description may stand between)
_STATED = re.compile(
    rf"\b(?:(?:pupil|student|disciple|protégé|protege|apprentice)\s+of|(?:studied|trained|worked)\s+under|"
    rf"(?:taught|tutored|mentored|trained)\s+by)\s+(?:(?:the|his|her)\s+(?:[a-z][\w-]*\s+){{0,2}})?({_NAME})")


# "... the tutor of Alexander the Great?": a named pupil, whose article the rule must be reading
_NAMED_PUPIL = re.compile(rf"\b(?:{_TEACHER_NOUNS}\s+of|taught|tutored|trained|mentored)\s+"
                          rf"(?:the\s+)?({_NAME})\s*\??\s*$")


def asks_teacher(question: str) -> bool:
    """Whether `question` asks who taught its subject ("Who was the teacher of Aristotle?")."""
    return _ASKS.search(question) is not None


def _reads_the_pupil(question: str, title: str | None) -> bool:
    """Whether the article `title` can be the pupil's: the question names none ("this philosopher"), or a
    word of the name it gives is in the title ("Which philosopher was the tutor of Alexander the Great?"
    read from Aristotle's article would answer Aristotle's own teacher)."""
    named = _NAMED_PUPIL.search(question)
    if named is None:
        return True
    words = {w.lower() for w in re.findall(r"\w+", named.group(1)) if len(w) > 2 and w.lower() != "the"}
    return bool(words & {w.lower() for w in re.findall(r"\w+", title or "")})


def stated_teacher(text: str, title: str | None) -> tuple[int, int] | None:
    """(start, end) in `text` of the teacher named by the first teaching phrase (`_STATED`) in a sentence
    whose subject is the article's (`title`'s name or "he" / "she", as `subject_before_verb` reads it:
    "The fact that Aristotle was a pupil of Plato"); None when there is none."""
    for m in _STATED.finditer(text):
        before = text[sentence_start(text, m.start()) : m.start()]
        if subject_before_verb(re.sub(r"\b(?:a|an|the)\s*$", "", before.rstrip()), title):
            start, end = m.span(1)
            if text[end - 1] == "." and not re.search(r"\b[A-Z]\.$", text[start:end]):
                end -= 1  # the sentence's period, not an initial's ("Samuel A.")
            return start, end
    return None


def prefer_teacher(
    candidates: Sequence[Any], texts: Sequence[str], titles: Sequence[str | None], question: str,
    positions: Sequence[int | None] | None = None,
) -> list[Any]:
    """`candidates` with, when `question` asks who taught the subject, the teacher `stated_teacher` finds in
    the first read article's passages (in article order with `positions`) first; unchanged otherwise."""
    if not asks_teacher(question) or not texts or not _reads_the_pupil(question, titles[0]):
        return list(candidates)
    return rule_answer_first(candidates, texts, titles, stated_teacher, positions)
