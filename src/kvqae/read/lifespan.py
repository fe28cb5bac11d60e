"""Birth and death dates from a Wikipedia lead's lifespan parenthesis.

People ask when the person in a photo was born or died more than anything else about them, and Wikipedia
answers it the same way in every biography's first sentence: "Aldous Leonard Huxley (26 July 1894 – 22
November 1963) was ...", "Andre Kirk Agassi (born April 29, 1970) is ...". A small reader reading that lead
among other passages often picks another date near the question's words ("1932" for "In which year was the
author of Brave New World born?"). So when a question asks when someone was born or died, the date in
such a parenthesis among the read passages is the answer (the article's own lead first,
`prefer_life_date`): the part before the dash (or after "born") for a birth, the part after the dash for a
death; only its year when the question asks "which year".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from kvqae.read.phrase import ASKS_YEAR, YEAR

_BIRTH = r"born|birth|birthday|birthplace"
# a violent death is the lifespan's end too: "In which year was this president assassinated?"
_DEATH = r"die|died|dies|death|pass away|passed away|assassinated|murdered|executed|killed"
# not "Russian-born": that describes the person ("In what year did this Russian-born novelist move ...?")
_LIFE_EVENT = re.compile(rf"(?<![\w-])(?:(?P<birth>{_BIRTH})|(?P<death>{_DEATH}))\b", re.IGNORECASE)
_DATE_OF = re.compile(r"\b(?:date|day|year) of (?:his |her |their )?(birth|death)\b", re.IGNORECASE)
_ASKS_PLACE = re.compile(r"\b(?:where|which|what) (?:city|town|village|place|country|hospital)\b|\bwhere\b",
                         re.IGNORECASE)
# the first parenthesis of a lead opens within this many characters of the passage's start
LEAD_CHARS = 250
_PARENTHESIS = re.compile(r"\(([^()]{1,200})\)")
_DASH = re.compile(r"\s*[–—]\s*|\s+-\s+")
_BORN = re.compile(r"^\s*(?:born|b\.)\s+", re.IGNORECASE)
_MONTH = (r"(?:January|February|March|April|May|June|July|August|September|October|November|December|"
          r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?")
# a date and nothing else: "384", "322 BC", "c. 1520", "26 July 1894", "February 12, 1809"
_DATE = re.compile(rf"(?:c\.\s*|ca\.\s*|circa\s+)?(?:\d{{1,2}}\s+{_MONTH}\s+|{_MONTH}\s+\d{{1,2}},?\s+)?"
                   rf"\d{{3,4}}(?:\s*(?:BC|BCE|AD|CE))?")
_NAME_BEFORE = re.compile(r"((?:[\w.'-]+\s+){0,4}[\w.'-]+)\s*$")


def asked_life_event(question: str) -> str | None:
    """"birth" or "death" when `question` asks when someone was born or died ("When was this man born?",
    "In which year did he die?", "What is her date of birth?"), else None. Where both words occur ("When
    did the philosopher born in Danzig die?") the last one is the one asked about."""
    from kvqae.read.answer_types import expected_kind

    date_of = _DATE_OF.search(question)
    if date_of:
        return date_of.group(1).lower()
    if expected_kind(question) != "time" or _ASKS_PLACE.search(question):
        return None
    events = list(_LIFE_EVENT.finditer(question))
    if not events:
        return None
    return "birth" if events[-1].group("birth") else "death"


def _trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    """[start, end) without surrounding spaces and punctuation; None unless what is left is a date."""
    while start < end and (text[start].isspace() or text[start] in ",;:"):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in ",;:"):
        end -= 1
    return (start, end) if _DATE.fullmatch(text[start:end]) else None


def names_title(text: str, paren_start: int, title: str | None) -> bool:
    """Whether the words just before the parenthesis at `paren_start` share a word with `title` (the
    article's own subject, "Aldous Leonard Huxley (" for "Aldous Huxley"), not a person it mentions."""
    if not title:
        return False
    prefix = len(title) + 2 if text.startswith(f"{title}. ") else 0  # the "Title. " KB passages open with
    before = _NAME_BEFORE.search(text[prefix:paren_start])
    words = {w.lower() for w in re.findall(r"\w+", before.group(1))} if before else set()
    return bool(words & {w.lower() for w in re.findall(r"\w+", title) if len(w) > 1})


def life_dates(text: str, title: str | None = None) -> tuple[dict[str, tuple[int, int]], bool, int]:
    """({"birth": (start, end), "death": (start, end)}, is_subject, where) of the dates in the lifespan
    parenthesis that opens within `LEAD_CHARS` characters of `text`'s start (either date may be missing;
    {} when there is none); is_subject: the name before it shares a word with `title` (`names_title`);
    where: the parenthesis' offset (a lead's comes right after the article's name).

    Of the parenthesis' ";"-separated parts (transliterations come first) the last one that is "A – B" or
    "born A", with A and B dates, is read: "(Aristotélēs; 384–322 BC)" -> 384 / 322 BC, "(born 1 April
    1947)" -> 1 April 1947."""
    match = _PARENTHESIS.search(text, 0, LEAD_CHARS + 202)
    if match is None or match.start() > LEAD_CHARS:
        return {}, False, -1
    dates = _dates_in(text, match.start(1), match.group(1))
    return dates, names_title(text, match.start(), title), match.start()


def _dates_in(text: str, base: int, inner: str) -> dict[str, tuple[int, int]]:
    """The birth / death spans (offsets into `text`) of the parenthesis content `inner` at `base`."""
    bounds = [0] + [m.end() for m in re.finditer(";", inner)]
    for seg_start in reversed(bounds):
        seg_end = inner.find(";", seg_start)
        seg_end = len(inner) if seg_end < 0 else seg_end
        segment = inner[seg_start:seg_end]
        dash = _DASH.search(segment)  # "384–322 BC", "26 July 1894 – 22 November 1963"
        if dash is not None:
            spans = {"birth": _trimmed(text, base + seg_start, base + seg_start + dash.start()),
                     "death": _trimmed(text, base + seg_start + dash.end(), base + seg_end)}
            return {k: v for k, v in spans.items() if v is not None}
        born = _BORN.match(segment)
        if born is not None:
            span = _trimmed(text, base + seg_start + born.end(), base + seg_end)
            return {"birth": span} if span is not None else {}
    return {}


def verb_date(text: str, title: str | None, event: str) -> tuple[int, int] | None:
    """(start, end) of the first date within reach after "born" (event "birth") or "died" ("death") in a
    sentence of `text` about the article's subject `title` (`kvqae.read.lifeplace.life_verbs`), not inside
    a parenthesis; None when there is none."""
    from kvqae.read.lifeplace import life_verbs

    for start, limit in life_verbs(text, title, event):
        if text.rfind("(", 0, start) > text.rfind(")", 0, start):
            continue  # a lifespan parenthesis (`life_dates`): "(born Alisa Rosenbaum,; – March 6, 1982)"
        match = _DATE.search(text, start, limit)
        if match is not None:
            return match.span()
    return None


def year_of(text: str, start: int, end: int) -> tuple[int, int]:
    """The last year-like number inside [start, end) ("26 July 1894" -> "1894"), else the span itself."""
    years = list(YEAR.finditer(text, start, end))
    return (years[-1].start(), years[-1].end()) if years else (start, end)


def prefer_life_date(
    candidates: Sequence[Any], texts: Sequence[str], titles: Sequence[str | None], question: str
) -> list[Any]:
    """`candidates` (ranked `Candidate`s into `texts`, the read passages in reading order, of articles
    `titles`) with, when `question` asks for a birth or death date, that date first (the year alone for
    "which year"): from the passage whose lifespan parenthesis is its article subject's and opens nearest
    its start (the lead: "Aldous Huxley. Aldous Leonard Huxley (26 July 1894 – ...", not "... his wife
    Laura Huxley (19 April 1920 – ..."), else from the first with any lifespan parenthesis (a person the
    article mentions). A candidate already on that span moves up; else a new one joins, scored below every
    other (probability 0). Unchanged when no passage gives the date."""
    from kvqae.read.answer_choice import put_first

    out = list(candidates)
    event = asked_life_event(question)
    if event is None:
        return out
    found = [(0 if subject else 2, where if subject else i, i, dates[event])
             for i, (text, title) in enumerate(zip(texts, titles, strict=True))
             for dates, subject, where in [life_dates(text, title)] if event in dates]
    # a lead that lost the date (a removed template leaves "(born Alisa Rosenbaum,; – March 6, 1982)"):
    # "Rand was born ... on February 2, 1905" in the article read first, before another person's lifespan
    found += [(1, i, i, span) for i, (text, title) in enumerate(zip(texts, titles, strict=True))
              if title == titles[0] for span in [verb_date(text, title, event)] if span is not None]
    if not found:
        return out
    *_, i, span = min(found)
    start, end = year_of(texts[i], *span) if ASKS_YEAR.search(question) else span
    return put_first(out, i, start, end)


# a question about when someone lived asks the lifespan even without "born" / "died"
_ASKS_LIFETIME = re.compile(r"\b(?:live|lived|lives|life|lifetime|century|centuries|era|age|aged|old)\b",
                            re.IGNORECASE)


def avoid_life_dates(
    candidates: Sequence[Any], texts: Sequence[str], titles: Sequence[str | None], question: str
) -> list[Any]:
    """`candidates` (ranked `Candidate`s into `texts`, of articles `titles`) with the dates of a lead's
    lifespan parenthesis moved behind the other candidates when `question` asks when something happened
    that is not a birth, a death or a lifetime ("In which year did this French mathematician win the Fields
    Medal?"): the question's description of the person ("French mathematician") matches the lead's first
    sentence, which holds the lifespan ("Alain Connes (born 1 April 1947) is a French mathematician"), so
    the birth date wins on the words around it. Unchanged when the question asks a birth or death date or
    a lifetime, does not ask a date, or when every candidate is such a date."""
    from kvqae.read.answer_types import expected_kind

    if (expected_kind(question) != "time" or asked_life_event(question) is not None
            or _ASKS_LIFETIME.search(question)):
        return list(candidates)
    spans: dict[int, list[tuple[int, int]]] = {}
    for i, (text, title) in enumerate(zip(texts, titles, strict=True)):
        dates, subject, _ = life_dates(text, title)
        if subject:
            spans[i] = list(dates.values())

    def in_lifespan(c: Any) -> bool:
        return any(c.start < b and a < c.end for a, b in spans.get(c.passage, ()))

    kept = [c for c in candidates if not in_lifespan(c)]
    return kept + [c for c in candidates if in_lifespan(c)] if kept else list(candidates)

