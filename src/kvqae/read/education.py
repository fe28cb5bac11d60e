"""Where a person studied: "he graduated from Balliol College", "he enrolled at the Zürich Polytechnic".

"Which university did this man attend?", "Where did this woman study?", "Which school did he go to?": after
where someone was born and whom they married, people ask where they were educated, and Wikipedia states it
about the article's subject with a few verbs - "He graduated from Balliol College, Oxford", "Tarkovsky
enrolled at the Moscow School № 554", "He was first educated at Transylvania University", "He left to become
a student at the University of Göttingen". The small reader answered with another name of those passages
("Cornhill Magazine", "San Francisco Medical Center"). So when a question asks where someone studied
(`asked_school`: the kind of place when it names one, "university", "school"), the first institution named
after such a verb in a sentence about the subject - a capitalised name with a word like University,
College, School or Polytechnic, of the asked kind - in the passages of the first read passage's article
(in article order) comes first (`prefer_school`), and `kvqae.read.lookup` reads that article's passages
holding one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from kvqae.read.answer_choice import rule_answer_first
from kvqae.read.lifeplace import about_subject
from kvqae.read.words import sentence_start

# the institution words of each asked kind; None (a "where" question) takes any
_KINDS = {
    "university": "University|Universität|Université|Polytechnic|Institute|College|Academy|Conservatory|"
                  "Conservatoire|Seminary",
    "college": "College|University|Polytechnic|Institute",
    "school": "School|College|Gymnasium|Lyceum|Lycée|Academy|Seminary",
    "conservatory": "Conservatory|Conservatoire|Academy|School|College",
    "academy": "Academy|Institute|Conservatory|Conservatoire",
    "institute": "Institute|University|Polytechnic|College",
}
_ANY = "|".join(sorted({w for words in _KINDS.values() for w in words.split("|")}))
_ASKED_NOUN = {"universities": "university", "colleges": "college", "schools": "school",
               "institution": "university", "institutions": "university", "conservatoire": "conservatory",
               "high school": "school"}
_STUDY_VERBS = (r"attend(?:ed)?|stud(?:y|ied)|graduat(?:e|ed)|go|went|enrol(?:l)?(?:ed)?|educated|"
                r"receive|get|obtain|earn|train(?:ed)?")
_ASKS_KIND = re.compile(
    r"\b(?:which|what)\s+(?:[\w-]+\s+){0,2}?(high\s+school|universit(?:y|ies)|colleges?|schools?|"
    r"institutions?|institute|academy|conservatory|conservatoire)\b(?=.*\b(?:" + _STUDY_VERBS + r")\b)",
    re.IGNORECASE)
_ASKS_WHERE = re.compile(
    r"^\s*where\s+(?:did|was|were|does|do|is|has|had)\b.*\b(?:stud(?:y|ied)|educated|graduate|"
    r"go\s+to\s+(?:school|college|university)|(?:get|receive)\s+(?:his|her|their)\s+(?:\w+\s+)?education|"
    r"train(?:ed)?)\b", re.IGNORECASE)
_ASKS_ALMA_MATER = re.compile(r"\balma\s+mater\b", re.IGNORECASE)
# the statement's verb: one that may have a few words before the institution ("enrolled in the four-year
# ... program at the Zürich Polytechnic", "studied Arabic at the ..."), or one the institution follows
# right away ("went on to Eton College", not "went on to deliver lectures at Columbia University")
_STATED = re.compile(r"\b(?:(studied|educated|enrolled|matriculated)|"
                     r"graduated\s+(?:with\s+[^,.;]{1,40}?\s+)?from|attended|went\s+on\s+to|student\s+at|admitted\s+to|entered)\s+(?:the\s+)?")
_INSTITUTION_CHARS = 90
_WORD = r"[A-Z][\w'’-]*(?:\.(?=[A-Z]))?"
_NAME = re.compile(rf"{_WORD}(?:\s+(?:(?:of|de|du|des|la|für|the)\s+)*(?:{_WORD}|№\s*\d+))*")


def asked_school(question: str) -> str | None:
    """The kind of institution `question` asks someone studied at ("Which university did this man
    attend?" -> "university"), "any" for "Where did she study?" / "What is his alma mater?", None when it
    asks no such thing."""
    m = _ASKS_KIND.search(question)
    if m is not None:
        noun = re.sub(r"\s+", " ", m.group(1).lower())
        return _ASKED_NOUN.get(noun, noun)
    if _ASKS_WHERE.search(question) or _ASKS_ALMA_MATER.search(question):
        return "any"
    return None


def stated_school(text: str, title: str | None, kind: str) -> tuple[int, int] | None:
    """(start, end) in `text` of the first institution of `kind` (`asked_school`) named within
    `_INSTITUTION_CHARS` after a study verb (right after "attended", "graduated from", "went on to", ...)
    in a sentence about the article's subject (`title`: its name
    or "he" / "she" before the verb, no relative of theirs), None when `text` states none."""
    words = _ANY if kind == "any" else _KINDS[kind]
    institution = re.compile(rf"\b(?:{words})\b")
    for m in _STATED.finditer(text):
        begin = sentence_start(text, m.start())
        if not about_subject(text[begin : m.start()], title):
            continue
        stop = text.find(". ", m.end())
        limit = min(m.end() + (_INSTITUTION_CHARS if m.group(1) else 1), len(text) if stop < 0 else stop)
        for start in _NAME.finditer(text, m.end(), limit):
            name = _NAME.match(text, start.start())  # whole, past `limit`
            if institution.search(name.group(0)):
                end = name.end()
                while text[end - 1] in ".'’-":
                    end -= 1
                return name.start(), end
    return None


def prefer_school(
    candidates: Sequence[Any], texts: Sequence[str], titles: Sequence[str | None], question: str,
    positions: Sequence[int | None] | None = None,
) -> list[Any]:
    """`candidates` (ranked `Candidate`s into `texts`, the read passages in reading order, of articles
    `titles`, at `positions` in their articles) with, when `question` asks where someone studied, the
    institution `stated_school` finds in the passages of the first read passage's article first. Unchanged
    when none states one."""
    kind = asked_school(question)
    if kind is None or not texts:
        return list(candidates)
    return rule_answer_first(candidates, texts, titles,
                             lambda text, title: stated_school(text, title, kind), positions)

