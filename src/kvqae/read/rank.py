"""Where the subject ranks: "How does Andorra rank in size among the nations of Europe?" -> "sixth-smallest".

People ask how a country, a city or a river ranks by size or population, and Wikipedia says it with an
ordinal and a superlative: "Andorra is the sixth-smallest nation in Europe", "making it the 41st largest
country in the world", "Canada's fourth-most populous province". The reader takes a number of the
sentence ("sixth", "30") or another entity. So when a question asks how or where the subject ranks
(`asks_rank`), the ordinal superlative (`RANKED`) of the sentence sharing the most of the question's words
in the first read article's passages comes first (`prefer_rank`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from kvqae.read.answer_choice import best_first_article_span, put_first
from kvqae.read.words import content_stems

# (not "What rank did he hold?": a military rank, no superlative)
_ASKS = re.compile(r"^\s*(?:how|where)\s+(?:does|did|do|is|was)\b.*\brank(?:s|ed)?\b|"
                   r"^\s*(?:what|which)\s+(?:is|was)\s+(?:its|their)\s+rank(?:ing)?\s+(?:by|in|among)\b",
                   re.IGNORECASE)
_ORDINAL_WORDS = ("first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
                  "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth")
_ORDINAL = rf"(?:\d+(?:st|nd|rd|th)|(?:{'|'.join(_ORDINAL_WORDS.split())}))"
_SUPERLATIVE = (r"(?:largest|smallest|biggest|highest|lowest|longest|shortest|deepest|tallest|oldest|"
                r"richest|poorest|busiest|wealthiest|(?:most|least)[- ][a-z]+)")
# "sixth-smallest", "41st largest", "fourth-most populous", "the second most visited"
RANKED = re.compile(rf"\b{_ORDINAL}[- ]{_SUPERLATIVE}", re.IGNORECASE)
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"(])")
_NOT_ASKED = content_stems("rank ranks ranked ranking where how")


def asks_rank(question: str) -> bool:
    """Whether `question` asks how or where its subject ranks ("How does it rank in size ...?", "Where
    does this province rank by population?", "What is its rank ...?")."""
    return _ASKS.search(question) is not None


def stated_rank(text: str, question: str) -> tuple[tuple[int, int], int] | None:
    """((start, end), overlap) of the first ordinal superlative of the sentence of `text` sharing the most
    content words with `question`; None when no sentence with one shares a word. The question's size words
    also match the superlatives of size ("in size" - "smallest"), its population words "populous"."""
    asked = content_stems(question) - _NOT_ASKED
    if asked & content_stems("size area big"):
        asked = asked | content_stems("largest smallest biggest")
    if asked & content_stems("population people inhabitants"):
        asked = asked | content_stems("populous")
    best: tuple[tuple[int, int], int] | None = None
    begin = 0
    for finish in [m.start() for m in _SENTENCE_BREAK.finditer(text)] + [len(text)]:
        found = RANKED.search(text, begin, finish)
        overlap = len(asked & content_stems(text[begin:finish])) if found else 0
        if found and overlap and (best is None or overlap > best[1]):
            best = (found.span(), overlap)
        begin = finish
    return best


def prefer_rank(
    candidates: Sequence[Any], texts: Sequence[str], titles: Sequence[str | None], question: str,
) -> list[Any]:
    """`candidates` with, when `question` asks how its subject ranks, the ordinal superlative
    `stated_rank` finds in the best sentence of the first read article's passages (the most shared words;
    the first on ties, in reading order) first; unchanged otherwise."""
    if not asks_rank(question):
        return list(candidates)
    best = best_first_article_span(texts, titles, lambda text, _title: stated_rank(text, question))
    return list(candidates) if best is None else put_first(candidates, *best)
