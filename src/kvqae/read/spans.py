"""Distant supervision: find where answer strings occur in a passage, by normalised token matching.

Both passage and answer are split on whitespace and each token is normalised with the SQuAD rules
(`kvqae.evaluate.answers.normalize_answer`: lower case, no punctuation, no articles); tokens that normalise
to nothing are skipped. An occurrence is a run of passage tokens equal to the answer's tokens; its char
span runs from the first to the last matched token, without the leading/trailing punctuation of those
tokens.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable

from kvqae.evaluate.answers import normalize_answer

_TOKEN = re.compile(r"\S+")
_EDGE = string.punctuation + "\u201c\u201d\u2018\u2019\u2013\u2014"


def _norm_tokens(text: str) -> list[tuple[str, int, int]]:
    """(normalised token, char start, char end) of each whitespace token not normalised away."""
    out = []
    for m in _TOKEN.finditer(text):
        norm = normalize_answer(m.group())
        if not norm:
            continue
        raw = m.group()
        lead = len(raw) - len(raw.lstrip(_EDGE))
        trail = len(raw) - len(raw.rstrip(_EDGE))
        a, b = m.start() + lead, m.end() - trail
        if b <= a:
            a, b = m.start(), m.end()
        out.append((norm, a, b))
    return out


def find_answer_spans(text: str, answers: Iterable[str], *, limit: int = 8) -> list[tuple[int, int]]:
    """Char spans [start, end) in `text` where any of `answers` occurs (normalised match), in text order.

    At most `limit` spans; overlapping duplicates from several aliases are kept once.
    """
    tokens = _norm_tokens(text)
    words = [t[0] for t in tokens]
    found: set[tuple[int, int]] = set()
    for ans in answers:
        target = [t for t, _, _ in _norm_tokens(ans)]
        n = len(target)
        if n == 0:
            continue
        first = target[0]
        for i, w in enumerate(words):
            if w == first and words[i : i + n] == target:
                found.add((tokens[i][1], tokens[i + n - 1][2]))
    return sorted(found)[:limit]
