"""A colour asked for: "What colour do acids turn blue litmus?" -> "red".

A question asking "what colour" / "which color" wants a colour word, which the small NER model never tags
and the reader, trained on names, dates and numbers, seldom proposes: it answered the litmus question with
"Latin acidus". So when a question asks for a colour (`asks_colour`), the colour word of the read
passages' sentence that holds the most of the question's other words (`stated_colour`; a colour the
question names itself, "blue litmus", is not the answer) in the first read article's passages comes first
(`prefer_colour`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from kvqae.read.answer_choice import best_first_article_span, put_first
from kvqae.read.words import content_stems

_ASKS = re.compile(r"\b(?:what|which)\s+colou?rs?\b|\bcolou?rs?\s+(?:is|are|was|were|do|does|did)\b",
                   re.IGNORECASE)
_COLOUR_TEXT = (
    "red blue green yellow orange purple violet pink brown black white grey gray gold golden silver "
    "indigo crimson scarlet maroon turquoise cyan magenta beige tan ochre azure navy olive emerald amber "
    "lavender ivory cream bronze copper")
COLOURS = frozenset(_COLOUR_TEXT.split())
# a colour word, maybe with a shade before it ("dark red", "pale blue") or joined to another ("blue-green")
_COLOUR = re.compile(rf"\b(?:(?:dark|light|pale|bright|deep)\s+)?(?:{'|'.join(sorted(COLOURS))})"
                     rf"(?:[-‐](?:{'|'.join(sorted(COLOURS))}))?\b", re.IGNORECASE)
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"(])")


def asks_colour(question: str) -> bool:
    """Whether `question` asks for a colour ("What colour is ...?", "Which color ...", "What colors are
    ...")."""
    return _ASKS.search(question) is not None


def stated_colour(text: str, question: str) -> tuple[tuple[int, int], int] | None:
    """((start, end), overlap) of the first colour word of the sentence of `text` sharing the most content
    words with `question` (colour words aside), not a colour the question names; None when no sentence
    with a colour shares one."""
    named = {w.lower() for w in re.findall(r"\w+", question)}
    asked = content_stems(question) - content_stems(" ".join(COLOURS)) - content_stems("colour color")
    best: tuple[tuple[int, int], int] | None = None
    begin = 0
    for finish in [m.start() for m in _SENTENCE_BREAK.finditer(text)] + [len(text)]:
        colours = [m for m in _COLOUR.finditer(text, begin, finish)
                   if not set(re.findall(r"\w+", m.group(0).lower())) <= named]
        overlap = len(asked & content_stems(text[begin:finish]))
        if colours and overlap and (best is None or overlap > best[1]):
            best = (colours[0].span(), overlap)
        begin = finish
    return best


def prefer_colour(
    candidates: Sequence[Any], texts: Sequence[str], titles: Sequence[str | None], question: str,
) -> list[Any]:
    """`candidates` with, when `question` asks for a colour, the colour `stated_colour` finds in the best
    sentence of the first read article's passages (the most shared words; the first on ties, in reading
    order) first; unchanged otherwise."""
    if not asks_colour(question):
        return list(candidates)
    best = best_first_article_span(texts, titles, lambda text, _title: stated_colour(text, question))
    return list(candidates) if best is None else put_first(candidates, *best)
