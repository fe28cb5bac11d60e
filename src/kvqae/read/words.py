"""Words as the reader, the evidence features, the re-ranker and the answer caveats compare them: Snowball
stems of the words that are not stopwords ("died" and "die" alike), spans widened to whole words, and where
the sentences the answer rules read begin."""

from __future__ import annotations

import functools
import re
from typing import Any

# a sentence begins at the text's start or after ". " / "! " / "? " before a capital, a quote or a bracket
_SENTENCE_START = re.compile(r"(?:^|(?<=[.!?])\s+)(?=[A-Z\"(])")


def sentence_starts(text: str) -> list[int]:
    """Where each sentence of `text` begins, in order (the answer rules' sentences: "Born in Ulm. He ..."
    -> [0, 13])."""
    return [m.end() for m in _SENTENCE_START.finditer(text)]


def sentence_start(text: str, at: int, starts: list[int] | None = None) -> int:
    """Where the sentence holding `at` begins (`starts`: `sentence_starts(text)` when already known)."""
    return max((s for s in (sentence_starts(text) if starts is None else starts) if s <= at), default=0)


# "What's", "Who's", "Where's" ...: the rules and the kind of answer read "What is" (not a possessive:
# "Lincoln's")
_CONTRACTION = re.compile(r"\b(what|who|where|when|which|how|that|there|it)['’]s\b", re.IGNORECASE)


def expand_contractions(question: str) -> str:
    """`question` with "'s" after a wh-word, "it", "that" or "there" written "is": "What's the capital?" ->
    "What is the capital?"."""
    return _CONTRACTION.sub(lambda m: m.group(1) + " is", question)


def whole_words(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen [start, end) to word boundaries: a span ending inside a word ("Mareido" of "Mareidor", a
    word-piece boundary) takes the whole word."""
    while start > 0 and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum() and text[end - 1].isalnum():
        end += 1
    return start, end


_STOPWORDS = (
    "a", "an", "the", "of", "in", "on", "at", "to", "for", "from", "by", "with", "and", "or", "is",
    "was", "were", "are", "be", "been", "being", "has", "have", "had", "do", "does", "did", "what",
    "which", "who", "whom", "whose", "when", "where", "why", "how", "this", "that", "these", "those",
    "it", "its", "his", "her", "their", "he", "she", "they", "as", "into", "than", "then", "there",
    "also", "not", "no",
)
_STOPWORD_SET = frozenset(_STOPWORDS)


def content_stems(text: str) -> set[str]:
    """Stems of the words of `text` other than stopwords: "When did he die?" -> {"die"}, as "died" does."""
    return {s for s in word_stems(text) if s is not None}


def word_stems(text: str) -> list[str | None]:
    """One entry per word of `text`, in order: its stem, or None for a stopword (positions kept)."""
    words = re.findall(r"\w+", text.lower())
    content = [w for w in words if w not in _STOPWORD_SET]
    stems = iter(_stemmer().stemWords(content) if content else [])
    return [None if w in _STOPWORD_SET else next(stems) for w in words]


@functools.lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")
