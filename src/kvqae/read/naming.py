"""What a thing is called: "What's the study of agriculture called?" -> "agricultural science".

People ask for the name of a thing the article describes ("What is the scientific study of algae called?",
"What's another name for the atomic number?", "What are the wide trousers worn in this martial art
called?"), and Wikipedia gives it right after "called", "known as" or "named" in a sentence that describes
the thing with the question's words: "The study of agriculture is known as agricultural science", "the
atomic number of a chemical element (also known as its proton number)". The reader, which sees the
question's words all around, takes another noun of the sentence. So when a question asks what something
is called (`asked_naming`: its described thing's content words, without the pictured entity's description
"of this ..."), the phrase after the first such word in a sentence whose words before it hold at least
half of them (`stated_naming`), in the first read article's passages, comes first (`prefer_naming`; and
`kvqae.read.lookup` reads the passages holding one). A question whose thing is only the pictured entity
("What is this building called?") asks for the entity itself and is left to the reader.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kvqae.read.answer_choice import best_first_article_span, first_article_span, put_first
from kvqae.read.words import content_stems

# the adverbs of an earlier name: "What was this language family traditionally called?"
_TIME_ADVERBS = "once|formerly|originally|traditionally|previously|historically"
# "What is the study of agriculture called?", "What are the beams called?", "What's X known as?"
_CALLED = re.compile(r"^\s*(?:what(?:\s+else)?|which\s+[\w-]+)\s*(?:'s|’s|\s(?:is|are|was|were))\s+(.+?)\s+"
                     r"(?:(?:also|usually|commonly|often|sometimes|now|today|" + _TIME_ADVERBS + r")\s+)?"
                     r"(?:called|known\s+as|named|termed)(?:,?\s+(?:in|by|outside|after)\b[^?]*)?\s*[?.]?\s*$",
                     re.IGNORECASE)
# "What's another name for the atomic number?", "What is the other name of X?"
_OTHER_NAME = re.compile(r"^\s*what\s*(?:'s|’s|\s(?:is|was))\s+(?:an|the)\s*other\s+(?:name|term|word)\s+"
                         r"(?:for|of)\s+(.+?)\s*[?.]?\s*$", re.IGNORECASE)
# the pictured entity's description ("of this martial art", "these organisms"): not the thing asked about
_ENTITY_REFERENCE = re.compile(
    r"\b(?:(?:of|in|by|for|from|on|at)\s+)?(?:this|these|that|those)\b"
    r"(?:\s+(?!(?:of|in|with|by|for|from|to|that|which|who|and|or)\b)[\w'’-]+)*", re.IGNORECASE)
# "What nickname did ...?", "What was his childhood nickname?" (not "the star nicknamed 'The Punisher'")
_NICKNAME = re.compile(r"^\s*(?:what|which)\b.*\bnicknames?\b(?!\w)", re.IGNORECASE)
_NOT_THING = frozenset(content_stems("name call known version word term nickname earn get give have"))
# the naming word and what may stand before the name: "is also known as its", "called the"
_NAMING = re.compile(r"\b(?:(?:also|usually|commonly|often|sometimes|formerly|now)\s+)?(?:called|known\s+as|"
                     r"named|termed|referred\s+to\s+as)\s+(?:either\s+)?(?:(?:the|a|an|its|their)\s+)?",
                     re.IGNORECASE)
# a nickname stands in quotes after one of these: "nicknamed "Els Isards"", "his nickname "Honest Abe""
_NICKNAMING = re.compile(r"\b(?:nicknamed|nickname|called|known\s+as|dubbed)\s+(?:(?:was|is|the|a)\s+)*",
                         re.IGNORECASE)
_MIN_NICKNAME_SHARE = 1 / 3
_ALIAS_QUESTION = re.compile(rf"\b(?:else|also|otherwise|{_TIME_ADVERBS})\b|"
                             r"\b(?:an|the)\s*other\s+(?:name|term|word)\b", re.IGNORECASE)
# the subject's alias in a sentence that opens with its name: "The American Revolutionary War (1775-1783),
# also known as the American War of Independence"
_SUBJECT_ALIAS = re.compile(r"(?:,|\()\s*(?:also|otherwise|or)\s+(?:known\s+as|called|named)\s+"
                            r"(?:(?:the|a|an)\s+)?")
# "Macroscopic anatomy, or gross anatomy, is ...", "the atomic number (or proton number)"
_OR_ALIAS = re.compile(r"(?:,\s+|\s*\(\s*)or\s+(?:the\s+)?")
# the name right before "(also called" / ", also known as": "Gross anatomy (also called ...)"
_NAME_BEFORE = re.compile(r"((?:[A-Z][\w'’-]*|[a-z][\w-]*)(?:\s+[a-z][\w-]*){0,2})\s*(?:\(|,)\s*"
                          r"(?:(?:also|or)\s+)?$")
# the share of the thing's stems the words before "called" must hold: "the modern study of marine and
# freshwater algae is called" describes "the scientific study of algae" without "scientific"
_MIN_SHARE = 0.5
_QUOTED = re.compile(r"[\"“']([^\"”']{1,60})[\"”']")
_NAME = re.compile(r"[A-Z][\w'’-]*(?:\s+(?:(?:of|the|de|la)\s+){0,2}[A-Z][\w'’-]*)*")
_COMMON = re.compile(r"[a-z][\w-]*(?:\s+[a-z][\w-]*){0,2}")
_STOP_TEXT = ("is was are were and or but which that who whose where when since until in on at of for from "
              "by with as to than because after before")
_STOP = frozenset(_STOP_TEXT.split())
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"(])")


@dataclass(frozen=True)
class AskedName:
    """What a naming question asks: the content-word stems describing the thing, and whether it asks a
    nickname (given in quotes: "it was called the "Magic City"")."""

    stems: frozenset[str]
    nickname: bool = False
    # asks another name ("also called", "What else is ... known as?", "another name for"): the subject's own
    # alias answers when no sentence names the described thing
    alias: bool = False
    # the adverb of an earlier name the question asks ("traditionally", "formerly"): the alias after it first
    adverb: str | None = None


def asked_naming(question: str) -> AskedName | None:
    """The thing whose name `question` asks for ("What's the study of agriculture called?" -> the stems of
    "study", "agriculture"; "What nickname did this city earn for its rapid growth?" -> those of "rapid",
    "growth", a nickname; "What else is this building called?" -> no words, an alias); None when it asks no
    name, or only the pictured entity's ("What is this building called?")."""
    m = _CALLED.match(question) or _OTHER_NAME.match(question)
    nickname = m is None and _NICKNAME.search(question) is not None
    if m is None and not nickname:
        return None
    thing = _ENTITY_REFERENCE.sub("", question if nickname else m.group(1))
    stems = frozenset(content_stems(thing)) - _NOT_THING
    alias = not nickname and _ALIAS_QUESTION.search(question) is not None
    adverb = re.search(rf"\b({_TIME_ADVERBS})\b", question, re.IGNORECASE)
    stems -= content_stems(_TIME_ADVERBS.replace("|", " "))
    return (AskedName(stems, nickname, alias, adverb.group(1).lower() if adverb else None)
            if stems or alias else None)


def _answer_at(text: str, start: int) -> tuple[int, int] | None:
    """The name at `start`: a quoted phrase, a capitalised name, or up to three lower-case words before a
    function word or a punctuation mark."""
    for pattern in (_QUOTED, _NAME):
        m = pattern.match(text, start)
        if m is not None:
            a, b = m.span(1) if pattern is _QUOTED else m.span()
            return a, b
    m = _COMMON.match(text, start)
    if m is None:
        return None
    kept = []
    for word in m.group(0).split():
        if word in _STOP:
            break
        kept.append(word)
    return (start, start + len(" ".join(kept))) if kept else None


def _quoted_at(text: str, start: int) -> tuple[int, int] | None:
    """The quoted phrase at `start` (without its quotes and a comma or full stop inside them)."""
    m = _QUOTED.match(text, start)
    if m is None:
        return None
    a, b = m.span(1)
    return (a, b - 1) if text[b - 1] in ".," and b - 1 > a else (a, b)


def stated_naming(text: str, asked: AskedName) -> tuple[int, int] | None:
    """(start, end) in `text` of the name `named_in` finds with the largest share of the asked thing's
    words (the first on ties); None when it finds none."""
    found = named_in(text, asked)
    return None if found is None else found[0]


def named_in(text: str, asked: AskedName) -> tuple[tuple[int, int], float] | None:
    """((start, end), share) of the name of the asked thing in `text`: after "called" / "known as" / "named"
    in a sentence whose words before it hold at least half its words ("The study of agriculture is known as
    agricultural science"); after ", or" / "(or" right after all of them ("Macroscopic anatomy, or gross
    anatomy,"); or before "(also called" / ", also known as" and all of them ("Gross anatomy (also called
    macroscopic anatomy)"). For a nickname, the quoted name after such a word or "nickname" in a sentence
    holding a third of them. `share`: the share of the thing's words found (1.0 for the last two forms); the
    first of the largest share. None when there is none."""
    best: tuple[tuple[int, int], float] | None = None
    begin = 0
    for finish in [m.start() for m in _SENTENCE_BREAK.finditer(text)] + [len(text)]:
        for span, share in _sentence_names(text, begin, finish, asked):
            if best is None or share > best[1]:
                best = (span, share)
        begin = finish
        while begin < len(text) and text[begin].isspace():
            begin += 1
    return best


def _name_before(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The up to three words right before "(" or "," ending at `end` ("Gross anatomy (also"), without the
    function words they begin with ("is gross anatomy" -> "gross anatomy"); None when there are none."""
    m = _NAME_BEFORE.search(text, start, end)
    if m is None:
        return None
    a, b = m.span(1)
    while (w := re.match(r"[\w'’-]+\s+", text[a:b])) is not None and w.group(0).split()[0].lower() in (
            _STOP | {"the", "a", "an"}):
        a += w.end()
    return a, b


def _share(stems: frozenset[str], text: str) -> float:
    """The share of `stems` among the content-word stems of `text` (0 for no stems)."""
    return len(stems & content_stems(text)) / len(stems) if stems else 0.0


def _sentence_names(
    text: str, begin: int, finish: int, asked: AskedName
) -> list[tuple[tuple[int, int], float]]:
    """The names of the asked thing `named_in` finds in the sentence text[begin:finish], with their shares."""
    out = []
    naming, least = (_NICKNAMING, _MIN_NICKNAME_SHARE) if asked.nickname else (_NAMING, _MIN_SHARE)
    for m in naming.finditer(text, begin, finish):
        said = text[begin:finish] if asked.nickname else text[begin : m.start()]
        share = _share(asked.stems, said)
        span = _quoted_at(text, m.end()) if asked.nickname else _answer_at(text, m.end())
        if share >= least and span is not None and span[1] <= finish:
            out.append((span, share))
        if not asked.nickname:  # "Gross anatomy (also called macroscopic anatomy)": the name before
            after = re.match(r"[^.;:()]*", text[m.end() : finish]).group(0)
            before = _name_before(text, max(begin, m.start() - 60), m.start())
            if before is not None and _share(asked.stems, after.split(",")[0]) == 1.0:
                out.append((before, 1.0))
    if not asked.nickname:
        for m in _OR_ALIAS.finditer(text, begin, finish):
            words = re.findall(r"[\w'’-]+", text[max(begin, m.start() - 60) : m.start()])[-6:]
            span = _answer_at(text, m.end())
            if span is not None and _share(asked.stems, " ".join(words)) == 1.0:
                out.append((span, 1.0))
    return out


def prefer_naming(
    candidates: Sequence[Any], texts: Sequence[str], titles: Sequence[str | None], question: str,
    positions: Sequence[int | None] | None = None,
) -> list[Any]:
    """`candidates` with, when `question` asks what a thing is called, the name `named_in` finds with the
    largest share of the thing's words in the first read article's passages (the first on ties, in article
    order with `positions`) first; unchanged otherwise."""
    asked = asked_naming(question)
    if asked is None or not texts:
        return list(candidates)
    best = (best_first_article_span(texts, titles, lambda text, _title: named_in(text, asked), positions)
            if asked.stems else None)
    if best is None and asked.alias:  # the pictured entity's other name
        best = first_article_span(texts, titles, lambda text, title: subject_alias(text, title, asked.adverb),
                                  positions)
    return list(candidates) if best is None else put_first(candidates, *best)


def subject_alias(text: str, title: str | None, adverb: str | None = None) -> tuple[int, int] | None:
    """(start, end) of the subject's other name in the first sentence of `text` that opens with a word of
    its `title` (after "The") and names it "also known as" / "also called" / "or called" - the one after
    `adverb` ("also known as Afrasian and traditionally as Hamito-Semitic") when the sentence has it; None
    when none does."""
    title_words = {w.lower() for w in re.findall(r"\w+", title or "") if len(w) > 2}
    begin = 0
    for finish in [m.start() for m in _SENTENCE_BREAK.finditer(text)] + [len(text)]:
        first = re.match(r"\s*(?:The\s+)?([\w'’-]+)", text[begin:finish])
        if first is not None and first.group(1).lower() in title_words:
            m = _SUBJECT_ALIAS.search(text, begin, finish)
            later = (re.compile(rf"\b{adverb}\s+(?:(?:known|called|named)\s+)?(?:as\s+)?(?:the\s+)?",
                                re.IGNORECASE).search(text, m.end(), finish)
                     if m is not None and adverb else None)
            m = later or m
            span = _answer_at(text, m.end()) if m is not None else None
            if span is not None and span[1] <= finish:
                return span
        begin = finish
        while begin < len(text) and text[begin].isspace():
            begin += 1
    return None
