"""A person's nationality from the first sentence of their article's lead.

"What is the nationality of this tennis player?" is a question about the person in a photo that Wikipedia
answers in one place, the lead's first sentence: "Andre Kirk Agassi (born April 29, 1970) is an American
retired professional tennis player", "Aldous Leonard Huxley (...) was an English writer". The small reader
takes another name of the read passages instead ("Laver", a rival; "Gaza", from a title). So when a question
asks for a nationality, the first nationality entity (spaCy NORP) right after "is a" / "was an" in the lead
of the article read first is the answer (`prefer_nationality`), ahead of the ranked candidates.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from kvqae.read.answer_choice import Entity, first_article_span, put_first

_ASKS = re.compile(r"\b(?:nationality|citizenship)\b", re.IGNORECASE)
_COPULA = re.compile(r"\b(?:is|was)\s+(?:an?|the)\s+", re.IGNORECASE)
# the copula comes after the name and a lifespan parenthesis; the nationality right after it
_COPULA_CHARS = 300
_AFTER_CHARS = 40


def asks_nationality(question: str) -> bool:
    """Whether `question` asks for someone's nationality ("What is the nationality of this man?")."""
    return _ASKS.search(question) is not None


def lead_copula(text: str, title: str | None) -> re.Match[str] | None:
    """The first "is a" / "was an" / "is the" of `text` when `text` is the lead of `title`'s article - it
    opens, after the KB's "Title. ", with a word of the title (the subject's name) - and the copula comes
    within `_COPULA_CHARS`; None otherwise. Also used by `kvqae.read.occupation`."""
    if not title or not text.startswith(f"{title}. "):
        return None
    body = len(title) + 2
    first = re.match(r"\W*(\w+)", text[body:])
    if first is None or first.group(1).lower() not in {w.lower() for w in re.findall(r"\w+", title)}:
        return None
    return _COPULA.search(text, body, body + _COPULA_CHARS)


def lead_nationality(text: str, title: str | None, entities: Sequence[Entity]) -> tuple[int, int] | None:
    """(start, end) in `text` of the first NORP entity within `_AFTER_CHARS` after the first "is a" / "was
    an" of `text` (the next one when it is "X-born" and another follows: "a Russian-born American
    novelist" -> "American") when `text` is an article's lead (`lead_copula`); None otherwise."""
    copula = lead_copula(text, title)
    if copula is None:
        return None
    stop = text.find(". ", copula.end())
    limit = min(copula.end() + _AFTER_CHARS, len(text) if stop < 0 else stop)
    found = [(a, b) for a, b, label in sorted(entities) if label == "NORP" and copula.end() <= a < limit]
    # "a Russian-born American novelist": the nationality follows where the person was born
    while len(found) > 1 and text.startswith("-born", found[0][1]):
        found.pop(0)
    return found[0] if found else None


def prefer_nationality(
    candidates: Sequence[Any], texts: Sequence[str], titles: Sequence[str | None], question: str,
    entities_of: Callable[[str], Sequence[Entity]], positions: Sequence[int | None] | None = None,
) -> list[Any]:
    """`candidates` (ranked `Candidate`s into `texts`, the read passages in reading order, of articles
    `titles`, at `positions` in their articles) with, when `question` asks for a nationality, the one
    `lead_nationality` finds in the lead of the first read passage's article first. A candidate already on
    that span moves up; else a new one joins, scored below every other (probability 0). Unchanged when that
    lead was not read or names none."""
    out = list(candidates)
    if not texts or not asks_nationality(question):
        return out
    found = first_article_span(texts, titles,
                               lambda text, title: lead_nationality(text, title, entities_of(text)),
                               positions)
    return out if found is None else put_first(out, *found)
