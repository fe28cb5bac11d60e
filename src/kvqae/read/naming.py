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

from kvqae.read.answer_choice import rule_answer_first
from kvqae.read.words import content_stems

# "What is the study of agriculture called?", "What are the beams called?", "What's X known as?"
_CALLED = re.compile(r"^\s*(?:what|which\s+[\w-]+)\s*(?:'s|’s|\s(?:is|are|was|were))\s+(.+?)\s+"
                     r"(?:(?:also|usually|commonly|often|sometimes|once|formerly|now|today)\s+)?"
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


def asked_naming(question: str) -> AskedName | None:
    """The thing whose name `question` asks for ("What's the study of agriculture called?" -> the stems of
    "study", "agriculture"; "What nickname did this city earn for its rapid growth?" -> those of "rapid",
    "growth", a nickname); None when it asks no name, or only the pictured entity's ("What is this building
    called?")."""
    m = _CALLED.match(question) or _OTHER_NAME.match(question)
    nickname = m is None and _NICKNAME.search(question) is not None
    if m is None and not nickname:
        return None
    thing = _ENTITY_REFERENCE.sub("", question if nickname else m.group(1))
    stems = frozenset(content_stems(thing)) - _NOT_THING
    return AskedName(stems, nickname) if stems else None


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
    """(start, end) in `text` of the name after the first "called" / "known as" / "named" whose sentence
    holds at least half the stems `asked` describes the thing with before it; for a nickname, the quoted
    name after such a word or "nickname" in a sentence holding a third of them. None when none does."""
    naming, share = (_NICKNAMING, _MIN_NICKNAME_SHARE) if asked.nickname else (_NAMING, _MIN_SHARE)
    begin = 0
    bounds = [m.start() for m in _SENTENCE_BREAK.finditer(text)] + [len(text)]
    for finish in bounds:
        for m in naming.finditer(text, begin, finish):
            said = text[begin:finish] if asked.nickname else text[begin : m.start()]
            if len(asked.stems & content_stems(said)) >= share * len(asked.stems):
                span = _quoted_at(text, m.end()) if asked.nickname else _answer_at(text, m.end())
                if span is not None and span[1] <= finish:
                    return span
        begin = finish
        while begin < len(text) and text[begin].isspace():
            begin += 1
    return None


def prefer_naming(
    candidates: Sequence[Any], texts: Sequence[str], titles: Sequence[str | None], question: str,
    positions: Sequence[int | None] | None = None,
) -> list[Any]:
    """`candidates` with, when `question` asks what a thing is called, the name `stated_naming` finds in the
    first read article's passages (in article order with `positions`) first; unchanged otherwise."""
    asked = asked_naming(question)
    if asked is None:
        return list(candidates)
    return rule_answer_first(candidates, texts, titles, lambda text, _title: stated_naming(text, asked),
                             positions)
