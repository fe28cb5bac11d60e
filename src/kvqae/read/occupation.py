"""A person's occupation or sport from the first sentence of their article's lead.

"What was the profession of this man?", "What did this woman do for a living?", "What sport does this man
play?": people ask what a pictured person did, and Wikipedia says it once, in the lead's first sentence -
"Allan Dwan (...) was a pioneering Canadian-born American motion picture director, producer and
screenwriter", "Andre Kirk Agassi (...) is an American retired professional tennis player". The answer is a
common noun, which the small reader, trained on names, dates and places, rarely takes ("Notre Dame" for
Dwan's profession). So when a question asks for an occupation (`asked_occupation`), the first noun phrase
after the lead's "is a" / "was an" comes first (`prefer_occupation`): its nationalities and the words before
them dropped ("Canadian-born American"), then praise and career words ("pioneering", "retired",
"professional"), then everything from its first "and" or comma ("director, producer" -> "director"). For a
sport, the word before "player" / "team" / "club" in that phrase ("tennis player" -> "tennis"; "ice hockey"
keeps its first word), or the sport a "footballer" / "cricketer" / "golfer" plays.

Only an indefinite description counts ("is a", "was an"): "Lincoln was the 16th President of the United
States" names an office, not the profession people mean, so no rule answers there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from kvqae.read.answer_choice import Entity, rule_answer_first
from kvqae.read.answer_types import expected_kind
from kvqae.read.family import subject_pronoun
from kvqae.read.nationality import lead_copula

_ASKS_OCCUPATION = re.compile(
    r"\b(?:profession|occupation|job|line\s+of\s+work|vocation)\b"
    r"|^\s*what\s+(?:did|does|do)\b.*\bdo(?:\s+for\s+(?:a\s+)?(?:living|work))?\s*\??\s*$",
    re.IGNORECASE)
# a name question asks an occupation only with the word behind its wh-word: "Which profession did he take
# up?"
_WH_OCCUPATION = re.compile(r"\b(?:which|what)\s+(?:[\w-]+\s+)?(?:professions?|occupations?|jobs?|"
                            r"line\s+of\s+work|vocations?|sports?)\b", re.IGNORECASE)
_ASKS_SPORT = re.compile(r"\b(?:what|which)\s+(?:kind\s+of\s+|type\s+of\s+)?sports?\b", re.IGNORECASE)
# where the description ends: a clause, a bracket, "who", "born", "known", a place or a time
_PHRASE_END = re.compile(r"[,;:.()]|\s+(?:who|which|that|whose|born|best|known|from|in|at|for|with|"
                         r"during|since|between|whom|as)\b")
# words of praise or career before the occupation: "a pioneering ... director", "a retired professional"
_PRAISE_TEXT = (
    "pioneering retired former professional famous renowned celebrated prolific influential leading "
    "prominent noted acclaimed well-known best-known popular successful legendary notable major great "
    "world-famous self-taught highly widely internationally critically")
_PRAISE = frozenset(_PRAISE_TEXT.split())
_SPORT_NOUN = re.compile(r"\b([a-z]+)\s+(?:player|team|club|coach|champion|league)\b")
# the first word of a two-word sport: "ice hockey", "rugby union", "table tennis"
_SPORT_FIRST_TEXT = "ice field table beach water rugby"
_SPORT_FIRST = frozenset(_SPORT_FIRST_TEXT.split())
# a player noun whose sport starts it: "footballer" -> "football"
_PLAYERS = {"footballer": "football", "cricketer": "cricket", "golfer": "golf", "snooker": "snooker"}
_DESCRIPTION_CHARS = 120


def asked_occupation(question: str) -> str | None:
    """"sport" when `question` asks what sport someone plays ("What sport did this man play?"),
    "occupation" when it asks their profession ("What was the profession of this man?", "What did she do
    for a living?"), None otherwise - or when it asks a time or a number ("When did his career end?"), or a
    name other than an occupation ("Which studio offered him a job as a scriptwriter?")."""
    kind = expected_kind(question)
    if kind in ("time", "number"):
        return None
    if kind == "name" and not _WH_OCCUPATION.search(question):
        return None  # "Which studio offered him a job as a scriptwriter?" asks a studio
    if _ASKS_SPORT.search(question):
        return "sport"
    if _ASKS_OCCUPATION.search(question):
        return "occupation"
    return None


def lead_description(text: str, title: str | None, entities: Sequence[Entity]) -> tuple[int, int] | None:
    """(start, end) in `text` (an article's lead) of the occupation its first sentence's indefinite
    description names, see the module doc; None when `text` is no lead of `title`, its copula is definite
    ("was the 16th President") or nothing is left. `entities`: spaCy entities of `text` (NORP ones are
    the nationalities dropped)."""
    copula = lead_copula(text, title)
    if copula is None or not re.match(r"\w+\s+an?\s", copula.group(0), re.IGNORECASE):
        return None
    start = copula.end()
    stop = _PHRASE_END.search(text, start, start + _DESCRIPTION_CHARS)
    end = stop.start() if stop else min(len(text), start + _DESCRIPTION_CHARS)
    # nationalities and the words before them: "pioneering Canadian-born American"
    for a, b, label in entities:
        if label == "NORP" and start <= a < end:
            start = max(start, b)
    words = list(re.finditer(r"\S+", text[start:end]))
    while words and (words[0].group(0).lower() in _PRAISE or words[0].group(0).lower().endswith("-born")
                     or words[0].group(0).lower().endswith("-winning")):
        words.pop(0)
    if not words:
        return None
    first = start + words[0].start()
    rest = re.search(r"\s+(?:and|or|&)\s+", text[first:end])
    end = first + rest.start() if rest else end
    return (first, end) if end > first else None


def lead_sport(text: str, title: str | None, entities: Sequence[Entity]) -> tuple[int, int] | None:
    """(start, end) in `text` of the sport the lead's description names ("tennis player" -> "tennis",
    "ice hockey team" -> "ice hockey", "footballer" -> "football"), None when it names none."""
    found = lead_description(text, title, entities)
    if found is None:
        return None
    start, end = found
    m = _SPORT_NOUN.search(text, start, end)
    if m is not None:
        begin = m.start(1)
        before = re.search(r"([a-z]+)\s+$", text[start:begin])
        if before and before.group(1) in _SPORT_FIRST:
            begin = start + before.start(1)
        return begin, m.end(1)
    for noun, sport in _PLAYERS.items():
        at = text.find(noun, start, end)
        if at >= 0:
            return at, at + len(sport)
    return None


def prefer_occupation(
    candidates: Sequence[Any], texts: Sequence[str], titles: Sequence[str | None], question: str,
    entities_of: Callable[[str], Sequence[Entity]], positions: Sequence[int | None] | None = None,
) -> list[Any]:
    """`candidates` (ranked `Candidate`s into `texts`, the read passages in reading order, of articles
    `titles`, at `positions` in their articles) with, when `question` asks for an occupation or a sport of
    a person (the first read article speaks of "he" / "she"), the one the lead of the first read passage's
    article names first. Unchanged when that lead was not read or names none."""
    asked = asked_occupation(question)
    if asked is None or not texts:
        return list(candidates)
    own = [text for text, title in zip(texts, titles, strict=True) if title == titles[0]]
    if asked == "occupation" and subject_pronoun(own) is None:
        return list(candidates)  # not a person: "What is the job of this agency?"
    find = lead_sport if asked == "sport" else lead_description
    return rule_answer_first(candidates, texts, titles,
                             lambda text, title: find(text, title, entities_of(text)), positions)
