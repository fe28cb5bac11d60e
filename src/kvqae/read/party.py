"""A politician's party: the "<Name> Party" their article names most.

"Which political party did this president belong to?", "What party was this senator a member of?": people
ask it of a pictured politician, and Wikipedia names the party many times about them - "he became a leader
in building the new Republican Party", "Lincoln secured the Republican Party presidential nomination" -
besides the parties of opponents and of earlier years ("a Whig Party leader", "Douglas ... the Democratic
Party"). The small reader took whichever party was near the question's words ("Democratic Party" for
Lincoln). So when a question asks for a party (`asks_party`), the party named most often in sentences about
the subject in the read passages of the first read passage's article comes first (`prefer_party`; on a tie
the one named most in all their sentences, then the earliest in article order), at its first mention there.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from kvqae.read.answer_choice import rule_answer_first
from kvqae.read.lifeplace import about_subject
from kvqae.read.words import sentence_starts

_ASKS = re.compile(r"\b(?:which|what)\s+(?:political\s+)?part(?:y|ies)\b|\bparty\s+affiliation\b",
                   re.IGNORECASE)
# "the Republican Party", "the National Union Party", "the Whig Party" (not "Tea Party protests": a
# party's name is followed by no lower-case noun it modifies, see `_NOT_AFTER`)
_PARTY = re.compile(r"\b((?:[A-Z][\w'’-]*\s+){1,4}Party)\b")
_NOT_AFTER = re.compile(r"\s+(?:protests?|movement|rall(?:y|ies)|game|games|pooper|animal|favou?rs?)\b")
_NOT_FIRST = frozenset({"The", "A", "An", "His", "Her", "Their", "Its", "In", "On", "At", "By", "For", "Of"})


def asks_party(question: str) -> bool:
    """Whether `question` asks which political party someone belongs to ("Which party did this president
    belong to?", "What is his party affiliation?")."""
    return _ASKS.search(question) is not None


def party_names(text: str) -> list[tuple[str, tuple[int, int]]]:
    """Each party `text` names, in order: (its name without a leading "The" / "In" ..., its span)."""
    found = []
    for m in _PARTY.finditer(text):
        if _NOT_AFTER.match(text, m.end()):
            continue
        start = m.start(1)
        words = m.group(1).split()
        while len(words) > 1 and words[0] in _NOT_FIRST:
            start += len(words[0]) + 1
            words.pop(0)
        end = m.end(1)
        found.append((" ".join(words), (start, end)))
    return found


def subject_parties(text: str, title: str | None) -> list[tuple[str, tuple[int, int]]]:
    """`party_names` of `text` in a sentence about the subject (`title`): its name or "he" / "she" before
    the party ("he became a leader in building the new Republican Party"), not "Douglas ... the Democratic
    Party" nor "Democratic Party members, he ..."."""
    starts = sentence_starts(text)
    kept = []
    for name, (start, end) in party_names(text):
        begin = max((s for s in starts if s <= start), default=0)
        if about_subject(text[begin:start], title):
            kept.append((name, (start, end)))
    return kept


def prefer_party(
    candidates: Sequence[Any], texts: Sequence[str], titles: Sequence[str | None], question: str,
    positions: Sequence[int | None] | None = None,
) -> list[Any]:
    """`candidates` (ranked `Candidate`s into `texts`, the read passages in reading order, of articles
    `titles`, at `positions` in their articles) with, when `question` asks for a party, the party the
    first read passage's article's read passages name most in sentences about the subject
    (`subject_parties`; on a tie, most in all their sentences) first, at its first mention in article order
    (the earliest on a further tie); a party the question names is not the one it asks for. Unchanged when
    they name none."""
    if not texts or not asks_party(question):
        return list(candidates)
    about: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    for text, title in zip(texts, titles, strict=True):
        if title == titles[0]:
            about.update(name for name, _ in subject_parties(text, title))
            anywhere.update(name for name, _ in party_names(text))
    for name, _ in party_names(question):  # "... before he helped build the Republican Party?" asks another
        about.pop(name, None)
    if not about:
        return list(candidates)
    # most often about the subject; on a tie, most often at all ("a Whig Party leader" once, the
    # Republican Party he led everywhere); then the first in article order
    most = max((about[name], anywhere[name]) for name in about)
    chosen = {name for name in about if (about[name], anywhere[name]) == most}

    def first_of_most(text: str, title: str | None) -> tuple[int, int] | None:
        return next((span for name, span in subject_parties(text, title) if name in chosen), None)

    return rule_answer_first(candidates, texts, titles, first_of_most, positions)
