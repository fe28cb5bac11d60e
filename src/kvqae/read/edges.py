"""An answer's edges: words a reader's span takes in, or leaves out, that a person would not answer with.

The small reader and the NER that cuts its candidates end a span in the wrong place in a few recurring
ways, each visible in the span and its passage alone:

* a clause before a copula: "adobe is the Bam Citadel" answers "What is the largest structure built of
  adobe?" with the words after "is" (`drop_copula_clause`); a title's capitalised "Is" ("Paris Is
  Burning") is left alone;
* a date without its year: "On what date was Apollo 11 launched?" -> "July 16" when the passage says
  "July 16, 1969" (`complete_date`); a question asking the day or month keeps it;
* a date or a number with what follows it: "2005 in Aichi Prefecture", "eighteen, Aristotle", "36 seconds
  after ..." keep the figure and its unit (`drop_quantity_tail`) when the question asks for a date or a
  number.

* a name without the designation or the building that completes it: "Saturn" of "the Saturn V rocket",
  "Sukhoi" of "Sukhoi Su-27 fighter aircraft", "Grauman" of "the Grauman's Egyptian Theatre"
  (`complete_name`): the small NER cuts such names at a roman numeral, a model number or a possessive;
  and a name cut inside its surname's particles ("Antonius van" of "Antonius van den Broek") or without a
  given name holding a letter outside ASCII ("Cohl" of "Émile Cohl"), which the small NER model often
  leaves out of the name;
* a word cut at a hyphen: "sixth" of "the sixth-smallest nation" (`whole_hyphenated`);
* a preposition, a conjunction or an article at the end: "the Russian Revolution of" whose year was cut
  (`drop_trailing_function_words`).

Each returns the (start, end) of the answer in the same text, never an empty span.
"""

from __future__ import annotations

import re

from kvqae.read.answer_types import NUMBER_WORDS, expected_kind
from kvqae.read.phrase import ASKS_YEAR

# a lower-case copula inside a span opens its predicate; at most this many words stand before it
_COPULA = re.compile(r"\s(?:is|was|are|were)\s+(?=\S)")
_MAX_WORDS_BEFORE_COPULA = 4

_MONTH_NAMES = "January|February|March|April|May|June|July|August|September|October|November|December"
# a span ending with a month and day and no year: "July 16", "16 July"
_MONTH_DAY_END = re.compile(rf"(?:\b(?:{_MONTH_NAMES})\s+\d{{1,2}}|\b\d{{1,2}}\s+(?:{_MONTH_NAMES}))$")
_YEAR_IN = re.compile(r"\b\d{3,4}\b")
_YEAR_AFTER = re.compile(r",?\s+(\d{3,4})(?![\w'])")
_ASKS_DAY_OR_MONTH = re.compile(r"\b(?:which|what) (?:day|month)\b|\bday of the\b", re.IGNORECASE)

_FIGURE = re.compile(rf"\d|\b(?:{'|'.join(sorted(NUMBER_WORDS))})\b", re.IGNORECASE)
# what ends a figure's phrase: a comma before a capitalised word ("eighteen, Aristotle"; not "July 20,
# 1969"), or a preposition or conjunction opening a phrase about something else ("2005 in Aichi Prefecture")
_QUANTITY_TAIL = re.compile(r",\s+(?=[A-Z])|\s+(?:in|at|on|for|during|when|while|after|before|by|from|with|"
                            r"as|under|because|since|until|which|who|where)\s")


# what completes a name right after it: a roman numeral or letter ("Saturn V", "Louis XIV"), a model number
# ("Su-27", "B-52", "Apollo 11"), not a year ("Warsaw 1944") nor a figure that goes on ("Apollo 11, 12")
_DESIGNATION = re.compile(r" (?:[IVX]{1,4}|[B-HJ-UWYZ]|[A-Z][A-Za-z]{0,2}-?\d{1,4}[A-Za-z]?|\d{1,3}[A-Za-z]?)"
                          r"(?![\w'’-]|[.,]\d| ?[-–]\s*\d)")
# a possessive name of a building or an institution: "Grauman's Egyptian Theatre", "Guy's Hospital"
_BUILDINGS = ("Theatre|Theater|Hotel|Hall|Church|Cathedral|Chapel|Abbey|College|University|School|Museum|"
              "Gallery|Library|Institute|Hospital|Park|Garden|Gardens|Bridge|Tower|Palace|Castle|Square|"
              "Stadium|Arena|Temple|Mosque|Inn|House")
_POSSESSIVE_BUILDING = re.compile(rf"['’]s(?: [A-Z][\w'’-]*){{0,3}} (?:{_BUILDINGS})\b")
_LAST_WORD_CAPITALISED = re.compile(r"(?:^|\s)[A-Z][\w'’-]*$")
# a surname's particle and the capitalised words after it: "José Eduardo" + " dos Santos", "Vincent" + " van
# Gogh" (not "of", "in": "Louis XIV of France", "Paris in 1900" go on past the name)
_PARTICLES = r"(?:dos|das|da|do|de|del|della|di|du|des|la|le|van|von|der|den|ten|ter|zu|bin|ibn|y)"
_SURNAME_PARTICLE = re.compile(rf"(?: {_PARTICLES})+(?: [A-Z][\w'’-]*)+")
# a span that ends on particles ("Antonius van" of "Antonius van den Broek"): the name goes on after them
_TRAILING_PARTICLES = re.compile(rf"(?: {_PARTICLES})+$")
# a capitalised word right before a name, holding a letter outside ASCII ("Émile" Cohl): the small NER model
# leaves such given names out; plain capitalised words before a name are often not part of it ("Later
# Einstein ...", "President Lincoln")
_GIVEN_NAME_BEFORE = re.compile(r"(?:^|(?<=[\s(\"“]))([A-Z\u00c0-\u024f][\w'’-]*) $")


def complete_name(text: str, start: int, end: int, question: str) -> tuple[int, int]:
    """[start, end) taking in what completes a capitalised name right after it - a designation ("Saturn" +
    " V", "Sukhoi" + " Su-27"), a surname's particle and its words ("José Eduardo" + " dos Santos") or a
    possessive's building ("Grauman" + "'s Egyptian Theatre") - when
    `question` asks for a name (not a person for the building: "Lincoln's Gettysburg Address"); unchanged
    otherwise."""
    kind = expected_kind(question)
    if kind in ("time", "number"):
        return start, end
    trailing = _TRAILING_PARTICLES.search(text[start:end])
    if trailing is not None and _LAST_WORD_CAPITALISED.search(text[start : start + trailing.start()]):
        surname = _SURNAME_PARTICLE.match(text, start + trailing.start())
        return (start, surname.end()) if surname is not None else (start, end)
    if not _LAST_WORD_CAPITALISED.search(text[start:end]):
        return start, end
    start = _with_given_name(text, start)
    designation = _DESIGNATION.match(text, end) or _SURNAME_PARTICLE.match(text, end)
    if designation is not None:
        return start, designation.end()
    building = _POSSESSIVE_BUILDING.match(text, end)
    if building is not None and not re.match(r"\s*(?:who|whom|whose)\b", question, re.IGNORECASE):
        return start, building.end()
    return start, end


def _with_given_name(text: str, start: int) -> int:
    """`start` moved back over the words right before it that hold a letter outside ASCII and start with a
    capital ("Émile " before "Cohl"); unchanged when the word before is not one."""
    while (m := _GIVEN_NAME_BEFORE.search(text[max(0, start - 40) : start])) is not None:
        word = m.group(1)
        if word.isascii() or not word[0].isupper():
            break
        start -= len(word) + 1
    return start


def whole_hyphenated(text: str, start: int, end: int) -> tuple[int, int]:
    """[start, end) widened over the rest of a hyphenated word it ends or starts inside: "sixth" of
    "sixth-smallest", "Connes" of "Baum-Connes". Only letters across the hyphen count ("1914-1918", "9-year"
    are left alone)."""
    while end + 1 < len(text) and text[end] == "-" and text[end - 1].isalpha() and text[end + 1].isalpha():
        end += 1
        while end < len(text) and (text[end].isalnum() or text[end] in "'’"):
            end += 1
    while start >= 2 and text[start - 1] == "-" and text[start].isalpha() and text[start - 2].isalpha():
        start -= 1
        while start > 0 and text[start - 1].isalnum():
            start -= 1
    return start, end


# a word no answer ends with: "the Russian Revolution of" (its year cut off), "Paris and"
# (in lower case, and "The" opening the next sentence: "Z. The"; not the letter "A" of "Latin A")
_TRAILING_FUNCTION_WORD = re.compile(r"\s+(?:of|in|at|on|for|from|by|with|and|or|the|The|a|an|to|as)$")


def drop_trailing_function_words(text: str, start: int, end: int) -> tuple[int, int]:
    """[start, end) without the prepositions, conjunctions and articles it ends with ("the Russian
    Revolution of" -> "the Russian Revolution"); unchanged when nothing else would be left."""
    while (m := _TRAILING_FUNCTION_WORD.search(text, start, end)) is not None and m.start() > start:
        end = m.start()
    return start, end


def drop_copula_clause(text: str, start: int, end: int) -> tuple[int, int]:
    """[start, end) from the words after a lower-case "is" / "was" / "are" / "were" inside it, when at most
    `_MAX_WORDS_BEFORE_COPULA` words stand before it ("adobe is the Bam Citadel" -> "the Bam Citadel");
    unchanged without one."""
    m = _COPULA.search(text, start, end)
    if m is None or m.end() >= end:
        return start, end
    if len(text[start : m.start()].split()) > _MAX_WORDS_BEFORE_COPULA:
        return start, end
    return m.end(), end


def complete_date(text: str, start: int, end: int, question: str) -> tuple[int, int]:
    """[start, end) with the year that follows a month and day ("July 16" + ", 1969") when `question`
    asks when or for a date, and not for the day, month or year alone; unchanged otherwise."""
    if expected_kind(question) != "time" or _ASKS_DAY_OR_MONTH.search(question) or ASKS_YEAR.search(question):
        return start, end
    span = text[start:end]
    if _YEAR_IN.search(span) or not _MONTH_DAY_END.search(span):
        return start, end
    year = _YEAR_AFTER.match(text, end)
    return (start, year.end(1)) if year else (start, end)


# an era right after a date ("8th century" + " B.C.", "3400" + " BC")
_ERA_AFTER = re.compile(r"\s+(B\.\s?C\.(?:\s?E\.)?|A\.\s?D\.|BCE|BC|AD|CE)(?!\w)")
_HAS_ERA = re.compile(r"\b(?:BCE?|AD|CE)\b|\bB\.\s?C\b|\bA\.\s?D\b")
_DATE_END = re.compile(r"(?:\d|\bcentury|\bcenturies|\bmillennium)$", re.IGNORECASE)
# the years of a range the question asks the end or the start of: "Until which year ...?" -> "1844 to 1947"
_YEAR_RANGE = re.compile(r"^(?:from\s+)?(\d{3,4})\s*(?:to|–|-|until|till)\s*(\d{3,4})$")
_ASKS_END = re.compile(r"\b(?:until|till|up\s+to)\b", re.IGNORECASE)
_ASKS_START = re.compile(r"^\s*(?:since|from)\b", re.IGNORECASE)


def with_era(text: str, start: int, end: int, question: str) -> tuple[int, int]:
    """[start, end) with the era right after it ("8th century" + " B.C.", "c. 3400" + " BC") when `question`
    asks when and the answer ends on a date without one; unchanged otherwise. "8th century" and "8th
    century BC" are centuries 2,800 years apart."""
    if expected_kind(question) != "time":
        return start, end
    span = text[start:end]
    if _HAS_ERA.search(span) or not _DATE_END.search(span):
        return start, end
    era = _ERA_AFTER.match(text, end)
    if era is None:
        return start, end
    return start, era.end(1)


def year_of_range(text: str, start: int, end: int, question: str) -> tuple[int, int]:
    """[start, end) cut to a range's last year when `question` asks "until which year" ("1844 to 1947" ->
    "1947"), to its first when it asks "since / from which year"; unchanged otherwise."""
    if not ASKS_YEAR.search(question):
        return start, end
    m = _YEAR_RANGE.match(text[start:end])
    if m is None:
        return start, end
    if _ASKS_END.search(question):
        return start + m.start(2), start + m.end(2)
    if _ASKS_START.search(question):
        return start + m.start(1), start + m.end(1)
    return start, end


def drop_quantity_tail(text: str, start: int, end: int, question: str) -> tuple[int, int]:
    """[start, end) cut where a phrase after its first figure begins ("2005 in Aichi Prefecture" ->
    "2005", "eighteen, Aristotle" -> "eighteen") when `question` asks for a date or a number; unchanged
    otherwise, or when nothing follows the figure's phrase."""
    if expected_kind(question) not in ("time", "number"):
        return start, end
    figure = _FIGURE.search(text, start, end)
    if figure is None:
        return start, end
    tail = _QUANTITY_TAIL.search(text, figure.end(), end)
    if tail is None:
        return start, end
    return start, tail.start()
