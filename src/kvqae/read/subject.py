"""The thing a question asks as the subject of its verb: "Which acid is used in car batteries?" ->
"sulfuric acid", from "... sulfuric acid (used in car batteries), ...".

The gap rule (`kvqae.read.gap`) reads the phrase after the words the question puts before its gap; when the
wh-phrase is the question's subject ("Which acid | is used in car batteries?", "Which of these sour
substances | preserves sauces and pickles?") nothing stands before the gap: the answer is the noun phrase
the article's sentence puts before the question's predicate ("Citric acid is used as a preservative in
sauces and pickles"). So for a question asking a thing (`gap.asks_thing`) whose wh-phrase a verb follows
(`asked_subject`, by spaCy's tagger: "which" / "what", "of these" or "of the", a noun phrase, then a verb),
each sentence of the first read article sharing at least two of the predicate's content words and half of
them is searched (`subject_in_sentence`): the densest window of predicate words marks the predicate, and the
noun phrase closest before it (`gap.noun_phrase`; a run of adjectives and nouns up to the last noun) that
repeats no word of the question but the asked noun is the answer. When the question names a noun, the
phrase must end with it ("sulfuric acid" for "which acid"; anywhere before the predicate in the sentence:
"The Jeffrey pine is noted for ..."): "Which rocket launched ...?" asks a name ("Saturn V"), the named
entities' to find, and any phrase before "launched" lost validation two questions. Only a member of a
class ("Which of these sour substances ...?" -> "Citric acid") may be another phrase, at most 12 words
before the predicate. Then the sentence sharing the most predicate words, then the phrase nearest the
predicate, wins.

Off by default (`ReaderSettings.subjects`): it gained 3 answers on the sets read while writing it and lost 3
on the sets nobody read (docs/read.md step 35).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kvqae.read.answer_choice import best_first_article_span, put_first
from kvqae.read.gap import Tag, TagsOf, asks_thing, noun_phrase
from kvqae.read.words import content_stems, word_stems

_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"(“])")
_WORD = re.compile(r"\w[\w'’-]*")
_PUNCTUATION = re.compile(r"[,;:()\[\]\"“”.!?]")
_OPENING = re.compile(r"^\s*(?:which|what)\s+(?:(?:one|ones)\s+)?(?:of\s+(?:these|those|the)\s+)?",
                      re.IGNORECASE)
_PHRASE_TAGS = frozenset({"ADJ", "NOUN", "PROPN", "NUM", "ADV"})
_COPULAS = frozenset({"is", "are", "was", "were", "be", "been"})
_NOT_PHRASE_TEXT = "this that these those it its they them their he she his her which who what one"
_NOT_PHRASE = frozenset(_NOT_PHRASE_TEXT.split())
MIN_SHARED = 2  # predicate content words a sentence must share
MIN_SHARE = 0.5  # ... and at least this share of them
WINDOW = 6  # words in which the predicate's words are counted
MAX_BEFORE = 12  # words between the phrase and the predicate at most (but for a phrase of the asked noun)


@dataclass(frozen=True)
class AskedSubject:
    """What a subject question asks: the stems of its predicate (the words from its verb on), the asked
    head noun's stem (None: "What is used ...?") and every content stem of the question."""

    predicate: frozenset[str]
    head: str | None
    asked: frozenset[str]
    # "Which of these sour substances ...?" asks a member of the class ("citric acid"), whose phrase need not
    # end with the asked noun; "Which acid ...?" asks a phrase of it ("sulfuric acid")
    member: bool = False


def asked_subject(question: str, tags: Sequence[Tag]) -> AskedSubject | None:
    """The subject question `question` asks (its `tags`: spaCy's parts of speech, `gap.SpacyTags`): "which"
    / "what", maybe "of these", a noun phrase, then a verb - a main verb, or a form of "be" before a past
    participle ("is used"); None for another question ("Which acid is the strongest?", "What did he
    invent?")."""
    opening = _OPENING.match(question)
    if opening is None or not asks_thing(question):
        return None
    after = [t for t in tags if t[0] >= opening.end()]
    member = re.search(r"\bof\s+(?:these|those|the)\s*$", opening.group(0), re.IGNORECASE) is not None
    nouns: list[str] = []
    for i, (a, b, pos) in enumerate(after):
        word = question[a:b].lower()
        if pos in ("AUX", "VERB") and word in _COPULAS:
            following = after[i + 1] if i + 1 < len(after) else None
            if following is None or following[2] != "VERB":  # "Which acid is the strongest?": a copula
                return None
            return _subject(question, a, nouns, member)
        if pos == "VERB" or (pos == "AUX" and word not in ("do", "does", "did")):
            return _subject(question, a, nouns, member) if pos == "VERB" else None
        if pos not in _PHRASE_TAGS:
            return None  # "What did ...", "Which of ... did"
        if pos in ("NOUN", "PROPN"):
            nouns.append(word)
    return None


def _subject(question: str, verb_at: int, nouns: list[str], member: bool) -> AskedSubject | None:
    predicate = frozenset(content_stems(question[verb_at:]))
    if len(predicate) < MIN_SHARED:
        return None
    head = (word_stems(nouns[-1]) or [None])[0] if nouns else None
    return AskedSubject(predicate, head, frozenset(content_stems(question)), member)


def subject_in_sentence(
    text: str, begin: int, end: int, asked: AskedSubject, tags: Sequence[Tag]
) -> tuple[tuple[int, int], float] | None:
    """((start, end), score) of the noun phrase of `text[begin:end]` (one sentence) standing before the
    question's predicate (see the module doc); None when the sentence shares too few predicate words or
    holds no such phrase. Score: 100 when the phrase ends with the asked noun, + the predicate words the
    sentence shares, - the words between the phrase and the predicate / 100."""
    shared = asked.predicate & content_stems(text[begin:end])
    if len(shared) < MIN_SHARED or len(shared) < MIN_SHARE * len(asked.predicate):
        return None
    matches = list(_WORD.finditer(text, begin, end))
    stems = [(word_stems(m.group(0)) or [None])[0] for m in matches]
    hits = [s in asked.predicate for s in stems]
    density = [sum(hits[i : i + WINDOW]) for i in range(len(matches))]
    best_window = max(density, default=0)
    if best_window < MIN_SHARED:
        return None
    at = next(i for i, d in enumerate(density) if d == best_window)
    while not hits[at]:
        at += 1
    best: tuple[tuple[int, int], float] | None = None
    for start in range(at - 1, -1, -1):
        word = matches[start]
        if word.group(0).lower() in _NOT_PHRASE or stems[start] in asked.predicate:
            continue
        stop = _PUNCTUATION.search(text, word.start(), matches[at].start())  # "liquid), sulfuric" is none
        span = noun_phrase(text, word.start(), stop.start() if stop else matches[at].start(), tags)
        if span is None or (start > 0 and _inside_phrase(text, matches[start - 1], word.start(), tags)):
            continue  # not where a phrase begins
        found = content_stems(text[span[0] : span[1]])
        own = (word_stems(text[span[0] : span[1]].split()[-1]) or [None])[0]
        if not found - asked.asked or found & asked.asked - {asked.head}:
            continue  # it repeats the question
        words_between = len([m for m in matches[start:at] if m.end() > span[1]])
        headed = asked.head is not None and own == asked.head
        if asked.head is not None and not asked.member and not headed:
            continue  # "Which rocket launched ...?" asks a name ("Saturn V"), the named entities' to find
        if not headed and words_between > MAX_BEFORE:
            continue  # far from the predicate, only a phrase of the asked noun ("The Jeffrey pine is ...")
        score = (100.0 if headed else 0.0) + len(shared) - words_between / 100
        if best is None or score > best[1]:
            best = (span, score)
    return best


def _inside_phrase(text: str, previous: re.Match[str], start: int, tags: Sequence[Tag]) -> bool:
    """Whether the word before a phrase's `start` is an adjective or a noun with only spaces between (the
    phrase would begin there; not across "liquid), sulfuric acid")."""
    return not text[previous.end() : start].strip() and any(
        a == previous.start() and pos in ("ADJ", "NOUN", "PROPN") for a, _b, pos in tags)


def stated_subject(text: str, asked: AskedSubject, tags_of: TagsOf) -> tuple[tuple[int, int], float] | None:
    """The best `subject_in_sentence` over the sentences of `text`; None when none has one."""
    tags = tags_of(text)
    best = None
    begin = 0
    for finish in [m.start() for m in _SENTENCE_BREAK.finditer(text)] + [len(text)]:
        found = subject_in_sentence(text, begin, finish, asked, tags)
        if found is not None and (best is None or found[1] > best[1]):
            best = found
        begin = finish
    return best


def prefer_subject(
    candidates: Sequence[Any], texts: Sequence[str], titles: Sequence[str | None], question: str,
    positions: Sequence[int | None] | None = None, tags_of: TagsOf | None = None,
) -> list[Any]:
    """`candidates` with, when `question` asks a thing as its verb's subject (`asked_subject`), the noun
    phrase `stated_subject` finds in the first read article's passages first (the best score; the first on
    ties, in article order with `positions`); unchanged otherwise or without a tagger."""
    if tags_of is None or _OPENING.match(question) is None:
        return list(candidates)
    asked = asked_subject(question, tags_of(question))
    if asked is None:
        return list(candidates)
    best = best_first_article_span(texts, titles, lambda text, _title: stated_subject(text, asked, tags_of),
                                   positions)
    return list(candidates) if best is None else put_first(candidates, *best)
