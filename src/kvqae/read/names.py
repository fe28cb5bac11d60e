"""Full names for answers the reader found as a part: "Bemer" -> "Bob Bemer".

Wikipedia names a person or an organisation in full once and by a part afterwards ("Stephen A. Douglas"
... "Douglas defeated Lincoln"; "Secker and Warburg" ... "Warburg"); the sentence that answers a question
is often one of the later ones, so the reader's answer is the part while people (and the gold answers)
give the name. `full_name` replaces an answer made only of capitalised words by the longer named entity
(spaCy: a person, organisation, building, work, event, product or law; a leading "the" dropped) that ends
with exactly those words (or, for one word of a person's name, starts with it): the mention holding the
answer, else the nearest one before it in its passage, else the first
one in another read passage of the same article. Places keep their form ("Frankfurt" is not "Frankfurt
am Main" in the question's sense), and nothing changes without such a mention.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from kvqae.read.answer_choice import Entity

# labels whose short forms are a part of the full name; places and nationalities are left alone
FULL_NAME_LABELS = frozenset({"PERSON", "ORG", "FAC", "WORK_OF_ART", "EVENT", "PRODUCT", "LAW"})
_WORD = re.compile(r"[^\W_][\w.'-]*")
_MAX_WORDS = 3
_ARTICLE = re.compile(r"(?:the|a|an)\s+", re.IGNORECASE)


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def _extends(longer: list[str], part: list[str], label: str) -> bool:
    """`longer` ends with `part` ("Stephen A. Douglas" for "Douglas"), or, for a one-word part of a
    person's name, starts with it ("Mary Todd" for "Mary"; not "Brave New World Revisited" for "Brave New
    World", another work)."""
    n = len(part)
    if len(longer) <= n:
        return False
    return longer[-n:] == part or (n == 1 and label == "PERSON" and longer[0] == part[0])


def _without_article(text: str, start: int, end: int) -> tuple[int, int]:
    """[start, end) without a leading "the", "a" or "an" ("the Puerto Rico Trench" is the same name)."""
    article = _ARTICLE.match(text, start, end)
    return (article.end(), end) if article else (start, end)


def full_name(
    passage: int, start: int, end: int, texts: Sequence[str], titles: Sequence[str | None],
    entities_of: Callable[[str], Sequence[Entity]],
) -> tuple[int, int, int]:
    """(passage, start, end) of the full name of the answer `texts[passage][start:end]` (see the module
    doc), or the answer itself."""
    text = texts[passage]
    part = _words(text[start:end])
    if not part or len(part) > _MAX_WORDS or not all(w[0].isupper() for w in part):
        return passage, start, end

    def mentions(i: int) -> list[tuple[int, int]]:
        spans = [(*_without_article(texts[i], a, b), label) for a, b, label in entities_of(texts[i])]
        return [(a, b) for a, b, label in spans
                if label in FULL_NAME_LABELS and _extends(_words(texts[i][a:b]), part, label)]

    here = mentions(passage)
    holding = [(a, b) for a, b in here if a <= start and end <= b]
    before = [(a, b) for a, b in here if b <= start]
    if holding or before:
        a, b = holding[0] if holding else before[-1]
        return passage, a, b
    for i in range(len(texts)):
        if i != passage and titles[i] is not None and titles[i] == titles[passage]:
            found = mentions(i)
            if found:
                return i, *found[0]
    return passage, start, end
