"""Birth and death places from "born in X" / "died in X" in the pictured person's article.

"Where was this man born?" is what people ask most about a photo of a person, and Wikipedia answers it in
one phrasing: "Einstein was born in Ulm, in the Kingdom of Württemberg", "Schopenhauer was born on 22
February 1788, in Danzig", "He died in Paris". The small reader and the evidence ranking pick another place
of that sentence ("Württemberg", the region around the town), a nationality or a person instead (2 right of
14 such questions over the sample's biographies). So when a question asks where someone was born or died,
the first place entity (spaCy GPE / LOC / FAC) within a few words after "born" / "died" in a sentence whose
subject is the article's (`subject_before_verb`: its name or "he" / "she" right before the verb, "<name>
was a <description> born in", or a sentence opening with "Born in"), in the read passages of the article
read first (in article order when their places are known: the lead first), is the answer
(`prefer_life_place`), ahead of the ranked candidates. A passage that states no death with "died" may state
where the subject lived until it (`lived_until_death`: "He spent the later part of his life in the U.S.,
living in Los Angeles from 1937 until his death").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from kvqae.read.answer_choice import Entity, first_article_span, put_first
from kvqae.read.words import sentence_starts

_BIRTH = re.compile(r"\bborn\b", re.IGNORECASE)
_DEATH = re.compile(r"\b(?:died|dies)\b", re.IGNORECASE)
# the verb ends the question ("... was this man born?"): in "Where did the philosopher born in Danzig settle?"
# "born" describes the man, the question asks something else
# ... or its preposition does: "Which city was this physicist born in?"
# ... or the wh-phrase follows it: "This physicist was born in which city?"
_IN_WHICH = r"(?:\s+(?:in|at))?(?:\s+(?:which|what)\s+(?:city|town|village|place|country))?\W*$"
# ... or a clause about the person follows it: "Where was this physicist born, who developed relativity?"
# "Where was this philosopher born, author of ...?", "Where was this physicist born who won ...?"
_CLAUSE = r"(?:\s+(?:in|at))?\s*,|\s+(?:who|whose|which|that)\b"
_ASKS_BIRTH = re.compile(rf"\bborn(?:{_IN_WHICH}|{_CLAUSE})|\b(?:birthplace|place of birth)\b", re.IGNORECASE)
_ASKS_DEATH = re.compile(rf"\b(?:die|died|pass away|passed away)(?:{_IN_WHICH}|{_CLAUSE})|\bplace of death\b",
                         re.IGNORECASE)
_ASKS_PLACE = re.compile(r"^\s*where\b|\b(?:in |at )?(?:which|what) (?:city|town|village|place|country)\b|"
                         r"\bplace of (?:birth|death)\b|\bbirthplace\b", re.IGNORECASE)
_PLACE_LABELS = frozenset({"GPE", "LOC", "FAC"})
_ASKS_WIDE = re.compile(r"\b(?:which|what)\s+(?:country|nation|state|province)\b|"
                        r"\bcountry\s+(?:of|was)\b", re.IGNORECASE)
# what joins a town to its region or country: "Ulm, in the Kingdom of ...", "Hodgenville, Kentucky"
_CHAIN_GAP = re.compile(r"\s*,?\s*(?:in\s+)?")
# the place follows the verb closely: "born in Ulm", "born on 22 February 1788, in Danzig", "died of a
# heart attack in Paris" - not a place of the next clause
_AFTER_CHARS = 60
_STRETCH_END = re.compile(r"\.\s|[;)]")
# "born ... to a ... family living in X", "into a family in X"
_FAMILY_IN = re.compile(r"\b(?:to|into)\s+(?:an?|the)\s+(?:[\w'-]+\s+){0,5}?family\s+"
                        r"(?:(?:then\s+)?(?:living|residing|settled|based)\s+)?in\s+(?:the\s+(?:city|town)\s+of\s+)?")
_PRONOUN = re.compile(r"\b(?:he|she)\b", re.IGNORECASE)
_NOT_PLACE_START = ("January|February|March|April|May|June|July|August|September|October|November|December|"
                    "Spring|Summer|Autumn|Winter|The|His|Her|Their")
# a place-like name after a preposition: "died in Euboea of natural causes", "at her home in New York City",
# "born ... in the city of Danzig"
PLACE_AFTER = re.compile(rf"\b(?:in|at|near)\s+(?:the\s+(?:[a-z]+\s+){{1,2}}of\s+)?(?:the\s+)?"
                         rf"(?!(?:{_NOT_PLACE_START})\b)"
                         r"([A-Z][\w'’.-]*(?:\s+(?:of\s+)?[A-Z][\w'’.-]*)*)")
# labels a place-like name is not (the small NER labels some towns PERSON or ORG, none of them dates)
_NOT_PLACE_LABELS = frozenset({"DATE", "TIME", "CARDINAL", "ORDINAL", "EVENT", "WORK_OF_ART", "NORP",
                               "LANGUAGE", "LAW", "MONEY", "PERCENT", "QUANTITY"})


def asked_life_place(question: str) -> str | None:
    """"birth" or "death" when `question` asks where someone was born or died ("Where was this man born?",
    "In which city did he die?", "What is her birthplace?"), else None."""
    if not _ASKS_PLACE.search(question):
        return None
    if _ASKS_BIRTH.search(question):
        return "birth"
    return "death" if _ASKS_DEATH.search(question) else None


def about_subject(before: str, title: str | None) -> bool:
    """Whether the words of the sentence before the verb name the article's subject (a word of `title`) or
    are about "he" / "she" (not "his father was born in ...")."""
    words = {w.lower() for w in re.findall(r"\w+", before)}
    named = bool(title) and bool(words & {w.lower() for w in re.findall(r"\w+", title) if len(w) > 2})
    if re.search(r"\b(?:father|mother|wife|husband|son|daughter|brother|sister|parents|children)\b", before,
                 re.IGNORECASE):
        return False
    return named or _PRONOUN.search(before) is not None


# words that may stand between the subject and the verb: "Einstein was born", "he later died"
_LINKING = frozenset(["was", "is", "were", "has", "had", "been", "later", "reportedly", "probably",
                      "possibly", "actually", "also", "then", "eventually", "finally", "himself", "herself"])
# "Aristotle was a Greek philosopher and scientist born in ...": the lead's description, at most so many words
_DESCRIPTION_WORDS = 9
_RELATIVES = re.compile(r"\b(?:father|mother|wife|husband|son|daughter|brother|sister|parents|children)\b",
                        re.IGNORECASE)


def subject_before_verb(before: str, title: str | None, *, max_linking: int = 3) -> bool:
    """Whether the sentence's words before a verb ("born", "died") make the article's subject its subject:
    the subject's name (a word of `title`) or "he" / "she" followed by at most `max_linking` linking words
    ("Einstein was born", "He later died"), or by "was a <description>" ("Aristotle (384-322 BC) was a Greek
    philosopher and scientist born in ..."), or no words at all ("Born in Hodgenville, Kentucky, Lincoln grew
    up ..."). Brackets and comma clauses are passed over ("Aristotle, whose name means ..., was born").
    Not "Lincoln asserted the nation was born" nor "Schopenhauer's father died"."""
    if _RELATIVES.search(before):
        return False
    plain = re.sub(r"\([^()]*\)", " ", before)
    plain = re.sub(r",[^,]*,", " ", plain)
    words = re.findall(r"\w+", plain)
    if not words:
        return True
    own = {w.lower() for w in re.findall(r"\w+", title or "") if len(w) > 2} | {"he", "she"}
    last = max((i for i, w in enumerate(words) if w.lower() in own), default=None)
    if last is None:
        return False
    after = [w.lower() for w in words[last + 1:]]
    if len(after) <= max_linking and all(w in _LINKING for w in after):
        return True
    described = after[:1] in (["was"], ["is"]) and after[1:2] in (["a"], ["an"])
    return described and len(after) <= _DESCRIPTION_WORDS


def asks_wide_place(question: str) -> bool:
    """Whether `question` asks for the country or state of a birth or death ("In which country was this
    man born?"), not the town."""
    return _ASKS_WIDE.search(question) is not None


def named_by(question: str) -> Callable[[str], bool]:
    """Whether a one-word place is one `question` already names, itself or by its adjective ("Russia" for
    "this Russian-American novelist", "Germany" for "this German-born physicist"): a question does not ask
    for what it says, so "Born and educated in Russia" does not answer it while another statement names
    the town."""
    words = {w.lower() for w in re.findall(r"[^\W\d_]+", question) if len(w) >= 4}

    def given(place: str) -> bool:
        if " " in place.strip() or len(place) < 4:
            return False
        place = place.lower()
        return any(_shared_prefix(place, w) >= max(4, min(len(place), len(w)) - 1) for w in words)

    return given


def _shared_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def life_place(
    text: str, title: str | None, event: str, entities: Sequence[Entity], *, wide: bool = False,
    given: Callable[[str], bool] | None = None,
) -> tuple[int, int] | None:
    """(start, end) in `text` of the first place entity within `_AFTER_CHARS` after "born" (event "birth")
    or "died" ("death") in a sentence about the article's subject; None when there is none. `wide` (the
    question asks a country or state): the last place of the chain the first one opens, "Ulm, in the
    Kingdom of Württemberg in the German Empire" -> "the German Empire", "Hodgenville, Kentucky" ->
    "Kentucky". A town or country `given` says the question names already is passed over."""
    places = sorted((a, b) for a, b, label in entities if label in _PLACE_LABELS)
    others = [(a, b) for a, b, label in entities if label in _NOT_PLACE_LABELS]
    for start, limit in life_verbs(text, title, event):
        inside = [(a, b) for a, b in places if start <= a < limit]
        if inside:
            found = _chain_end(text, inside) if wide else inside[0]
            if given is not None and given(text[found[0] : found[1]]):
                continue
            return found
        # the small NER labels no entity in "He died in Euboea of natural causes": a capitalised name after
        # "in" / "at" that no entity of another kind covers
        for m in PLACE_AFTER.finditer(text, start, limit):
            a, b = m.span(1)
            if not any(x < b and a < y for x, y in others):
                return a, b
        if event == "birth" and (home := _family_home(text, start, places)) is not None:
            return home
    return lived_until_death(text, title, places) if event == "death" else None


# "living in Los Angeles from 1937 until his death", "remained in Frankfurt until her death"
_LIVED_IN = re.compile(r"\b(?:lived|living|resided|residing|remained|stayed)\s+(?:in|at)\s+(?:the\s+)?")
_UNTIL_DEATH = re.compile(r"\buntil\s+(?:his|her|their)\s+death\b")
_SENTENCE_SUBJECT = re.compile(r"\W*([\w'’-]+)")


def lived_until_death(text: str, title: str | None, places: list[tuple[int, int]]) -> tuple[int, int] | None:
    """(start, end) of the place of the first "lived / living / remained in <place> ... until his / her
    death" of `text` in a sentence that opens with the subject ("He", "She" or a word of `title`): where
    someone lived until their death is where they died. `places`: the place entities of `text`, sorted.
    None when `text` states none."""
    starts = sentence_starts(text)
    own = {w.lower() for w in re.findall(r"\w+", title or "") if len(w) > 2} | {"he", "she"}
    for m in _LIVED_IN.finditer(text):
        begin = max((s for s in starts if s <= m.start()), default=0)
        end = next((s for s in starts if s > m.start()), len(text))
        opening = _SENTENCE_SUBJECT.match(text, begin)
        if opening is None or opening.group(1).lower() not in own:
            continue  # another's life: "Following Lawrence's death ..."
        if not _UNTIL_DEATH.search(text, m.end(), end):
            continue
        place = next(((a, b) for a, b in places if a == m.end()), None)
        if place is not None:
            return place
    return None


def _family_home(text: str, start: int, places: list[tuple[int, int]]) -> tuple[int, int] | None:
    """The place of "born ... to a Russian Jewish family living in Saint Petersburg" in the rest of the
    sentence or clause after "born" at `start` (further than `_AFTER_CHARS`): being born to a family in a
    place is being born there."""
    stop = _STRETCH_END.search(text, start)
    end = len(text) if stop is None else stop.start()
    family = _FAMILY_IN.search(text, start, end)
    if family is None:
        return None
    return next(((a, b) for a, b in places if a == family.end()), None)


def _chain_end(text: str, places: list[tuple[int, int]]) -> tuple[int, int]:
    """The last of `places` (in text order) joined to the first by ", " / " in " / ", in the " only."""
    end = places[0]
    for place in places[1:]:
        if not _CHAIN_GAP.fullmatch(text[end[1] : place[0]]):
            break
        end = place
    return end


def life_verbs(text: str, title: str | None, event: str) -> list[tuple[int, int]]:
    """(end of the verb, end of the stretch a place may follow in) of each "born" (event "birth") or
    "died" ("death") of `text` in a sentence about the article's subject `title`, in text order."""
    verb = _BIRTH if event == "birth" else _DEATH
    starts = sentence_starts(text)
    out = []
    for m in verb.finditer(text):
        if text[m.start() - 1 : m.start()] in ("-", "‐"):
            continue  # "a Russian-born American novelist": an adjective, no statement of a birth
        sentence = max((s for s in starts if s <= m.start()), default=0)
        if not subject_before_verb(text[sentence : m.start()], title):
            continue
        # the sentence, or the bracket or clause "born" opens, ends the stretch: "Ayn Rand (born Alisa
        # Rosenbaum; - 1982) was a Russian-born ..." names no place of birth
        stop = _STRETCH_END.search(text, m.end())
        out.append((m.end(), min(m.end() + _AFTER_CHARS, len(text) if stop is None else stop.start())))
    return out


def prefer_life_place(
    candidates: Sequence[Any], texts: Sequence[str], titles: Sequence[str | None], question: str,
    entities_of: Callable[[str], Sequence[Entity]], positions: Sequence[int | None] | None = None,
) -> list[Any]:
    """`candidates` (ranked `Candidate`s into `texts`, the read passages in reading order, of articles
    `titles`, at `positions` in their articles) with, when `question` asks where someone was born or died, the
    place found by `life_place` in the passages of the first read passage's article (in reading order) first.
    A candidate already on that span moves up; else a new one joins, scored below every other (probability 0).
    Unchanged when no such passage gives a place."""
    out = list(candidates)
    event = asked_life_place(question)
    if event is None or not texts:
        return out
    wide = asks_wide_place(question)
    given = None if wide else named_by(question)

    def find(text: str, title: str | None) -> tuple[int, int] | None:
        return life_place(text, title, event, entities_of(text), wide=wide, given=given)

    found = first_article_span(texts, titles, find, positions)
    return out if found is None else put_first(out, *found)
