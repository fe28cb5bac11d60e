"""The neighbour on one side of a place: "Which country borders Algeria to the west?".

People ask what lies on a side of a country, a state or a province, and Wikipedia states all its neighbours
in one sentence about the subject, side by side:

* "Algeria is bordered to the northeast by Tunisia, to the east by Libya, to the west by Morocco, ..."
  (the side, then "by" and the neighbour);
* "It is bordered by Tennessee to the north, Georgia to the east, Florida and the Gulf of Mexico to the
  south" (the neighbour, then its side);
* "It borders Pakistan in the south and east; Iran in the west; ... and China in the far northeast".

The reader sees many place names of the right kind in such a sentence and often takes the wrong side's. So
when a question asks for the neighbour on a side (`asked_side`: "borders ... to the west", "lies to the
north of ...", "on its eastern border"), the first neighbour `stated_neighbour` finds for that side, in a
sentence about the subject with "border" / "bounded" in it, in the first read article's passages, comes
first (`prefer_neighbour`; `kvqae.read.lookup` reads the passages holding one). A neighbour stated for that
side alone ("Zambia to the east") goes before one stated for several ("the Democratic Republic of the Congo
to the north and east"), a neighbour the question names ("Besides DR Congo, ...") is skipped, a sea or a
gulf does not answer a question asking for a country, a state or a province, and only one answers a
question asking for a sea ("Which sea bounds it on the east?").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from kvqae.read.answer_choice import rule_answer_first

_SIDES = r"(?:north|south|east|west)(?:[- ]?(?:east|west))?"
_SIDE_WORD = re.compile(rf"\b(?:far[- ])?({_SIDES})\b", re.IGNORECASE)
# "to the west", "in the far northeast", "on its eastern border" (the adjective form)
_ASKED_SIDE = re.compile(
    rf"\b(?:to|on|in|at)\s+(?:the|its|their)\s+(?:far[- ])?({_SIDES})(?:ern)?\b|"
    rf"\b({_SIDES})(?:ern)?\s+(?:border|neighbou?r)", re.IGNORECASE)
_BORDER_QUESTION = re.compile(r"\bborder(?:s|ed|ing)?\b|\bneighbou?r(?:s|ing)?\b|\bbound(?:s|ed)\b|"
                              rf"\b(?:lies?|is|are|sits?)\s+(?:directly\s+|immediately\s+)?(?:to\s+the\s+)?"
                              rf"{_SIDES}\s+of\b", re.IGNORECASE)
_ASKS_WHAT = re.compile(r"^\s*(?:which|what|name)\b|\b(?:which|what)\s+(?:country|state|province|nation|"
                        r"territory|region|body|sea|ocean)\b", re.IGNORECASE)
_ASKS_LAND = re.compile(r"\b(?:country|countries|state|states|province|provinces|nation|nations|territory)\b",
                        re.IGNORECASE)
_WATER = re.compile(r"\b(?:Sea|Ocean|Gulf|Bay|Strait|Channel|River|Lake)\b")
# a question asking for water: only a sea, a gulf, ... answers it
_ASKS_WATER = re.compile(r"\b(?:sea|ocean|gulf|bay|strait|channel|river|lake|body\s+of\s+water|waters)\b",
                         re.IGNORECASE)
# a side as a sentence states it: "to the north and east", "in the far northeast", "to the west by"
# (in lower case: "to the east, the Northwest Territories to the north" names no side "northwest")
_STATED_SIDE = re.compile(
    rf"\b(?:[Tt]o|[Ii]n|[Oo]n|[Aa]t)\s+the\s+((?:far[- ])?{_SIDES}(?:(?:,\s*|\s+and\s+|\s+or\s+)(?:the\s+)?"
    rf"(?:far[- ])?{_SIDES})*)(?:\s+by\b)?")
_BORDER_WORD = re.compile(r"\b(?:border(?:s|ed|ing)?|bounded)\b", re.IGNORECASE)
_NAME = re.compile(r"[A-Z][\w'’.-]*(?:\s+(?:of\s+(?:the\s+)?|the\s+|and\s+(?=[A-Z]\w+\s+of\b))?"
                   r"[A-Z][\w'’.-]*)*")
_NOT_NAMES = frozenset({"It", "The", "This", "Its", "A", "An", "And", "In", "To", "On", "At", "By"})
# a sentence ends at . ! or ? before a space and a capital, a quote or a bracket
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"(])")


def asked_side(question: str) -> str | None:
    """The side whose neighbour `question` asks for, lower case without "far" or a hyphen ("Which country
    borders Algeria to the west?" -> "west", "... in the far north-east?" -> "northeast"); None when it asks
    no neighbour or names no side."""
    if _BORDER_QUESTION.search(question) is None or _ASKS_WHAT.search(question) is None:
        return None
    m = _ASKED_SIDE.search(question)
    if m is None:
        m = re.search(rf"\b({_SIDES})\s+of\b", question, re.IGNORECASE)
        if m is None:
            return None
    return _side(m.group(1) or m.group(2))


def _side(text: str) -> str:
    return re.sub(r"[- ]", "", text.lower())


def _sides(stated: str) -> set[str]:
    """The sides a stated phrase names: "north and east" -> {"north", "east"}; "far northeast" ->
    {"northeast"}."""
    return {_side(m.group(1)) for m in _SIDE_WORD.finditer(stated)}


def _about_subject(sentence: str, title: str | None) -> bool:
    """Whether a sentence is about the article's subject: it opens with a word of the title, "It", "Its",
    or "The country" / "The state"."""
    words = re.findall(r"[\w'’]+", sentence)
    if not words:
        return False
    first = words[0].lower()
    title_words = {w.lower() for w in re.findall(r"\w+", title or "") if len(w) > 2}
    if first.removesuffix("'s").removesuffix("’s") in title_words:
        return True
    if first in ("it", "its"):
        return True
    return first in ("the", "this") and len(words) > 1 and words[1].lower() in (
        "country", "state", "province", "nation", "territory", "island", "region", "republic", "kingdom")


def neighbours(sentence: str) -> list[tuple[int, int, set[str]]]:
    """(start, end, sides) of each neighbour a border sentence states, in order: the names before a side
    phrase ("Tennessee to the north") or after it and "by" ("to the west by Morocco"), from the border word
    on."""
    border = _BORDER_WORD.search(sentence)
    if border is None:
        return []
    out: list[tuple[int, int, set[str]]] = []
    boundary = border.end()  # where the names of the next "X to the north" begin
    sides = list(_STATED_SIDE.finditer(sentence, border.end()))
    for i, m in enumerate(sides):
        if m.group(0).rstrip().endswith("by"):  # "to the west by Morocco": the names up to the next side
            segment = (m.end(), sides[i + 1].start() if i + 1 < len(sides) else len(sentence))
        else:
            segment = (boundary, m.start())
        boundary = max(m.end(), segment[1])
        stated = _sides(m.group(1))
        for name in _NAME.finditer(sentence, *segment):
            end = name.end()
            if re.search(r"(?<![A-Z.])\.$", name.group(0)):  # the sentence's full stop, not "U.S."
                end -= 1
            if sentence[name.start() : end] not in _NOT_NAMES:
                out.append((name.start(), end, stated))
    return out


def stated_neighbour(
    text: str, title: str | None, side: str, *, land_only: bool = False, water_only: bool = False,
    excluded: str = "",
) -> tuple[int, int] | None:
    """(start, end) in `text` of the neighbour on `side` in the first border sentence about the subject
    (`title`) that states one: one stated for that side alone first, then one stated for several sides; not
    a name whose words `excluded` (the question) holds, nor, with `land_only`, a sea, a gulf or a river, nor,
    with `water_only`, anything but one."""
    shunned = {w.lower() for w in re.findall(r"[A-Z]\w+", excluded)}
    for begin, finish in _sentences(text):
        sentence = text[begin:finish]
        if not _about_subject(sentence, title):
            continue
        found = []
        for a, b, sides in neighbours(sentence):
            name = sentence[a:b]
            water = _WATER.search(name) is not None
            if side not in sides or (land_only and water) or (water_only and not water):
                continue
            if {w.lower() for w in re.findall(r"\w+", name)} & shunned:
                continue
            found.append((len(sides) > 1, begin + a, begin + b))
        if found:
            _, start, end = min(found)
            return start, end
    return None


def _sentences(text: str) -> list[tuple[int, int]]:
    """[begin, finish) of each sentence of `text`."""
    bounds, begin = [], 0
    for m in _SENTENCE_BREAK.finditer(text):
        bounds.append((begin, m.start()))
        begin = m.end()
    return [*bounds, (begin, len(text))]


def prefer_neighbour(
    candidates: Sequence[Any], texts: Sequence[str], titles: Sequence[str | None], question: str,
    positions: Sequence[int | None] | None = None,
) -> list[Any]:
    """`candidates` with, when `question` asks for the neighbour on a side, the one `stated_neighbour` finds
    in the first read article's passages (in article order with `positions`) first; unchanged otherwise."""
    side = asked_side(question)
    if side is None:
        return list(candidates)
    water = _ASKS_WATER.search(question) is not None
    land = not water and _ASKS_LAND.search(question) is not None
    return rule_answer_first(
        candidates, texts, titles,
        lambda text, title: stated_neighbour(text, title, side, land_only=land, water_only=water,
                                             excluded=question), positions)
