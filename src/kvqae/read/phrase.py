"""Answer spans as phrases: a span the reader proposes is cut where the phrase it names ends.

A small reader's span sometimes runs past its answer: into the next sentence ("Shiloh. Johnston") or into
a clause after a comma ("Brave New World, set in a dystopian London", "Puerto Rico Trench, in the North
Atlantic"). An answer is one phrase, so `trim_to_phrase` ends the span

* before a sentence break: a period followed by a space and a capital letter, unless the period ends an
  abbreviation (a single letter as in "Samuel A. Ward", a dotted one as in "U.S.", or a title such as
  "Mr." or "St."); and
* before a comma followed by a lower-case word (a modifier clause or the rest of a list), which keeps
  "February 12, 1809", "Montgomery, Alabama" and "Washington, D.C." whole.

It never trims a span to nothing.
"""

from __future__ import annotations

import re

_SENTENCE_BREAK = re.compile(r"\.\s+(?=[A-Z])")
_CLAUSE_COMMA = re.compile(r",\s+(?=[a-z])")
_WORD_BEFORE = re.compile(r"([\w.]+)$")
_ABBREVIATIONS = frozenset({
    "mr", "mrs", "ms", "dr", "st", "jr", "sr", "mt", "ft", "gen", "col", "lt", "capt", "sgt", "rev", "prof",
    "inc", "co", "ltd", "vs", "no", "fig", "ca",
})


def _ends_abbreviation(text: str, period: int) -> bool:
    """Whether the period at `period` closes an abbreviation rather than a sentence."""
    m = _WORD_BEFORE.search(text[:period])
    if m is None:
        return False
    word = m.group(1)
    return (len(word) == 1 and word.isalpha()) or "." in word or word.lower() in _ABBREVIATIONS


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
    trimmed = span[:cut].rstrip()
    if not trimmed.strip():
        return start, end
    return start, start + len(trimmed)
