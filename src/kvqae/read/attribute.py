"""An attribute of the pictured entity stated as "the R of X is Y" in its article.

"What is the capital of this U.S. state?", "What is the official language of this Balkan country?", "What is
the state flower of the Heart of Dixie?": people ask for an attribute R of a place, a group or a thing, and
Wikipedia states it about the article's subject in a few fixed shapes:

* a copula: "The capital of Alabama is Montgomery", "Its capital and most populous city is Algiers", "the
  state flower is the camellia";
* an apposition: "The country's capital, Tirana, represents ...", "Angola's capital, Luanda, lies ...",
  "Alberta's capital Edmonton is near ...";
* the reverse copula: "Juneau is the capital of Alaska", "the euro is the official currency." (session 23:
  no "of" phrase when the attribute ends its clause).

The small reader and the evidence ranking read such a sentence and still answer with another name of the
passage: the small NER labels "Montgomery" a person, so "French" (of "the capital of French Louisiana",
a nationality) was the only entity of a place label near "capital". So when a question asks "What is the R
of ...?" (`asked_attribute`), the answer of the first such statement about the subject (`stated_attribute`:
its R has "its", "the", "<Title>'s" or "the country's" before it, no "of" phrase naming something else after
it, and the statement stays inside its clause) in the read passages of the first read passage's article
comes first (`prefer_attribute`), and `kvqae.read.lookup` reads that article's passages holding one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from kvqae.read.answer_choice import rule_answer_first
from kvqae.read.answer_types import expected_kind

# "What is the capital of ...", "Which city is the capital of ...", "What was the official language of ..."
_OF_FORM = re.compile(
    r"^\s*(?:what|which)(?:\s+[\w-]+)?\s+(?:is|was|are|were)\s+the\s+((?:[a-z][\w-]*\s+){0,2}[a-z][\w-]*)"
    r"\s+of\b", re.IGNORECASE)
# "What is this country's capital?"
_POSSESSIVE_FORM = re.compile(
    r"^\s*(?:what|which)(?:\s+[\w-]+)?\s+(?:is|was|are|were)\s+(?:this|the)\s+[^?]{1,60}?['’]s\s+"
    r"((?:[a-z][\w-]*\s+){0,2}[a-z][\w-]*)\s*\??\s*$", re.IGNORECASE)
# attributes no "the R of X is Y" states, or that other rules answer
_NOT_ATTRIBUTE_TEXT = (
    "name names title nationality citizenship meaning date year day time period century decade number "
    "population area height length size age origin history purpose cause effect role result")
_NOT_ATTRIBUTES = frozenset(_NOT_ATTRIBUTE_TEXT.split())
# owners an article says its subject's attribute with ("the country's capital")
_OWNERS = (r"country|state|province|city|town|island|nation|territory|region|republic|kingdom|empire|"
           r"company|organi[sz]ation|league|conference|team|band|group|party|church|university|school")
# words between the owner and the attribute: "the national currency", "the state capital"
_QUALIFIERS = frozenset({"national", "official", "main", "principal", "current", "present", "state",
                         "provincial", "federal"})
# a preposition before "the R" makes it a place or a time, not the statement: "About south of the capital is
# Calgary"
_PREPOSITION = re.compile(r"\b(?:of|from|to|in|into|at|near|around|outside|beyond|within|by|for|with|"
                          r"on|toward|towards|than|against|across|along|through|over|under|between|among)\s+$",
                          re.IGNORECASE)
_LINK = re.compile(r"(?:\s+(?:is|was|are|were|remains|became)\s+|\s*,\s*|\s+)(?:(?:the|an?)\s+)?")
_NAME = re.compile(r"[A-Z][\w'’-]*(?:\.(?=[A-Z]))?(?:\s+(?:(?:la|le|de|del|da|du|of|the|upon|on)\s+)?"
                   r"[A-Z][\w'’-]*)*")
_COMMON = re.compile(r"[a-z][\w-]*(?:\s+[a-z][\w-]*){0,2}")
# words a common-noun answer stops before ("the camellia, which ..."; "the euro since 2002")
_COMMON_STOP_TEXT = (
    "is was are were and or but which that who whose where when since until in on at of for from by with as "
    "to than")
_COMMON_STOP = frozenset(_COMMON_STOP_TEXT.split())


def asked_attribute(question: str) -> str | None:
    """The attribute a question asks for, lower-cased ("What is the capital of this state?" -> "capital",
    "What is this country's official language?" -> "official language"); None when it asks no attribute,
    asks for a time or a number, or for one of `_NOT_ATTRIBUTES` (a name, a nationality, a population)."""
    if expected_kind(question) in ("time", "number"):
        return None
    m = _OF_FORM.match(question) or _POSSESSIVE_FORM.match(question)
    if m is None:
        return None
    words = m.group(1).lower().split()
    if any(w in _NOT_ATTRIBUTES for w in words) or words[0] in ("first", "last", "only", "same"):
        return None
    return "capital" if words == ["capital", "city"] else " ".join(words)  # stated "The capital of X is"


def _owner_before(text: str, start: int, title: str | None) -> bool:
    """Whether the words right before an attribute at `start` make it the subject's: "its", "the",
    "<Title>'s", "the country's", maybe with a qualifier ("the national currency"), and not "the Persian
    capital" or "south of the capital"."""
    before = text[max(0, start - 80) : start]
    # another attribute of the same value first: "The capital and largest city of Angola is Luanda"
    before = re.sub(r"(?<=\s)[a-z][\w-]*(?:\s+[a-z][\w-]*)?\s+and\s+$", "", before)
    m = re.search(r"(?:^|\s)(\S+)\s+$", before)
    if m is not None and m.group(1).lower() in _QUALIFIERS:
        before = before[: m.start(1)]
        m = re.search(r"(?:^|\s)(\S+)\s+$", before)
    if m is None:
        return False
    word = m.group(1)
    if word.lower() in ("its", "their"):
        return True
    if word.lower() == "the":
        return _PREPOSITION.search(before[: m.start(1)]) is None
    possessor = re.fullmatch(r"(\w+)['’]s", word)
    if possessor is None:
        return False
    name = possessor.group(1).lower()
    return bool(re.fullmatch(_OWNERS, name)) or name in _title_words(title)


def _names_subject(phrase: str | None, title: str | None) -> bool:
    """Whether an "of" phrase names the article's subject: a word of its title ("of Alabama") or an owner
    noun ("of the country")."""
    if phrase is None:
        return False
    return bool(_title_words(phrase) & _title_words(title)) or re.fullmatch(
        rf"(?:the\s+)?(?:{_OWNERS})", phrase, re.IGNORECASE) is not None


def _title_words(title: str | None) -> set[str]:
    """The lower-cased words of more than two letters of a title or phrase (what names the subject)."""
    return {w.lower() for w in re.findall(r"\w+", title or "") if len(w) > 2}


def _echoes_title(answer: str, title: str | None) -> bool:
    """Whether every word of `answer` is a word of `title` ("Alabama" is no attribute of Alabama)."""
    words = {w.lower() for w in re.findall(r"\w+", answer)}
    return bool(words) and words <= {w.lower() for w in re.findall(r"\w+", title or "")}


def _answer_at(
    text: str, start: int, names_only: bool, *, noun_phrase: bool = False
) -> tuple[int, int] | None:
    """The answer phrase starting at `start`: a capitalised name ("Andorra la Vella"), else - when not
    `names_only` - up to three lower-case words before a function word or a punctuation mark ("camellia").
    A name takes the common nouns after it too ("Azerbaijani manat") when not `names_only`, or one that ends
    the phrase when it is a `noun_phrase` (after "is the": "the Karabakh horse, a ...")."""
    m = _NAME.match(text, start)
    if m is not None:
        end = m.end()
        while end > start and text[end - 1] in ".'’-":
            end -= 1
        if end > start and text[end : end + 1] == " ":
            if not names_only:
                end = _common_end(text, end + 1, limit=2) or end
            elif noun_phrase and (noun := _common_end(text, end + 1, limit=1)) is not None and (
                    noun == len(text) or text[noun] in ".,;:"):
                end = noun
        return (start, end) if end > start else None
    if names_only:
        return None
    end = _common_end(text, start, limit=3)
    return None if end is None else (start, end)


def _common_end(text: str, start: int, *, limit: int) -> int | None:
    """End of the up to `limit` lower-case words at `start` before a function word or a punctuation mark;
    None when there is none."""
    m = _COMMON.match(text, start)
    if m is None:
        return None
    kept = []
    for word in m.group(0).split()[:limit]:
        if word in _COMMON_STOP:
            break
        kept.append(word)
    return start + len(" ".join(kept)) if kept else None


# attributes stated in other words: "What is the largest city of Alaska?" - "The state's most populous city
# is Anchorage"
_SAME_ATTRIBUTE = {"largest city": ("largest city", "most populous city", "biggest city")}
_SAME_ATTRIBUTE.update({other: _SAME_ATTRIBUTE["largest city"] for other in _SAME_ATTRIBUTE["largest city"]})


def _relation_pattern(attribute: str) -> str:
    """A regex of `attribute`'s words, or of any of the ways `_SAME_ATTRIBUTE` knows it by."""
    forms = _SAME_ATTRIBUTE.get(attribute, (attribute,))
    return "(?:" + "|".join(r"\s+".join(re.escape(w) for w in form.split()) for form in forms) + ")"


def stated_attribute(
    text: str, title: str | None, attribute: str, *, names_only: bool
) -> tuple[int, int] | None:
    """(start, end) in `text` of the value of `attribute` in the first statement of it about the article's
    subject (`title`; see the module doc); None when `text` states none. `names_only`: the value must be a
    capitalised name."""
    rel = _relation_pattern(attribute)
    # the owner after the attribute: "of Alabama", "of the country", or "in" and a name ("the largest city in
    # Alberta"; not "the capital in 1820")
    owner = r"(?:\s+(?:of|in(?=\s+(?:the\s+)?[A-Z])))\s+((?:the\s+)?[^\s,.;]+)"
    pattern = re.compile(
        rf"\b{rel}(?:\s+city)?(?:\s+by\s+(?:population|area|size))?(?:\s+and\s+(?:[a-z][\w-]*\s+){{0,2}}[a-z][\w-]*)?(?:{owner})?",
        re.IGNORECASE)
    for m in pattern.finditer(text):
        if m.group(1) is None and (listed := _listed_value(text, m.end(), title)) is not None:
            return listed  # "State bird: willow ptarmigan, adopted ..."
        of = m.group(1)
        if of is not None and not _names_subject(of, title):
            continue  # "the capital of French Louisiana": another place's
        if _owner_before(text, m.start(), title):
            link = _LINK.match(text, m.end())
            if link is not None and (link.group(0).strip() or of is None):
                article = re.search(r"\b(?:the|an?)\s+$", link.group(0)) is not None
                # a bare space links only a name ("Alberta's capital Edmonton"), not "the currency used"
                bare = re.search(r",|\b(?:is|was|are|were|remains|became)\b", link.group(0)) is None
                span = _answer_at(text, link.end(), names_only or bare, noun_phrase=article)
                if span is not None and not _echoes_title(text[slice(*span)], title):
                    return span
        clause_ends = re.match(r"\s*(?:[.;,]|$)", text[m.end():]) is not None
        span = _reverse(text, m.start(), of, title, names_only=names_only, clause_ends=clause_ends)
        if span is not None:
            return span
    return None


# a list of labelled values, as an article's summary of state symbols gives them: "State motto: North to the
# Future Nicknames: "The Last Frontier" ... State bird: willow ptarmigan, adopted by ..."; the value ends at
# a comma, a semicolon, a sentence's end or the next label ("Nicknames:")
_LABEL_COLON = re.compile(r"[ \t]*:[ \t]*")
_LISTED_END = re.compile(r"[,;]|\.(?:\s|$)|\s+[A-Z][\w'’-]*(?:\s+[a-z][\w'’-]*){0,2}:|$")
_MAX_LISTED_WORDS = 8


def _listed_value(text: str, end: int, title: str | None) -> tuple[int, int] | None:
    """The value after the label that ends at `end` when a colon follows it ("State bird: willow
    ptarmigan"); None when no colon does, or the value is empty, long or the subject's own name."""
    colon = _LABEL_COLON.match(text, end)
    if colon is None:
        return None
    start = colon.end()
    stop = _LISTED_END.search(text, start)
    value = text[start : stop.start()].strip(" \"“”") if stop else ""
    if not value or len(value.split()) > _MAX_LISTED_WORDS or _echoes_title(value, title):
        return None
    first = text.index(value, start)
    return first, first + len(value)


_PRONOUNS = frozenset({"It", "This", "That", "He", "She", "They", "There", "Which", "What", "Who"})


def _reverse(text: str, start: int, of: str | None, title: str | None, *,
             names_only: bool = True, clause_ends: bool = False) -> tuple[int, int] | None:
    """"Juneau is the capital of Alaska": the name right before "is the" (a qualifier may follow: "is the
    official language") when the attribute's "of" phrase names the subject `title`, or - in a subject's
    article - when the attribute ends its clause (`clause_ends`: "the euro is the official currency."; a
    common noun after "the" when not `names_only`)."""
    if not (_names_subject(of, title) or (of is None and clause_ends)):
        return None
    base = max(0, start - 80)
    value = r"[A-Z][\w'’-]*(?:\s+(?:(?:la|le|de|of)\s+)?[A-Z][\w'’-]*)*"
    if not names_only:
        value += r"|(?<=\bthe\s)[a-z][\w-]*"
    qualifiers = "|".join(sorted(_QUALIFIERS))
    # "Juneau is the capital of Alaska", or an apposition: "Calgary, the largest city in Alberta"
    m = re.search(rf"({value})(?:\s+(?:is|was)|,)\s+the\s+(?:(?:{qualifiers})\s+)?$", text[base:start])
    if m is None or m.group(1) in _PRONOUNS:
        return None
    a, b = base + m.start(1), base + m.end(1)
    return None if _echoes_title(text[a:b], title) else (a, b)


def prefer_attribute(
    candidates: Sequence[Any], texts: Sequence[str], titles: Sequence[str | None], question: str,
    positions: Sequence[int | None] | None = None,
) -> list[Any]:
    """`candidates` (ranked `Candidate`s into `texts`, the read passages in reading order, of articles
    `titles`) with, when `question` asks for an attribute, the value `stated_attribute` finds in the passages
    of the first read passage's article (in article order with `positions`) first. A candidate already on that
    span moves up; else a new one joins, scored below every other (probability 0). Unchanged when none states
    it."""
    attribute = asked_attribute(question)
    if attribute is None:
        return list(candidates)
    names_only = expected_kind(question) == "name"
    return rule_answer_first(
        candidates, texts, titles,
        lambda text, title: stated_attribute(text, title, attribute, names_only=names_only), positions)
