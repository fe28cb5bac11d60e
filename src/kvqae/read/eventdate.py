"""When the subject did something, or had something done to it: "Agassi retired from professional tennis on
September 3, 2006", "The cathedral was consecrated in 1250".

"In which year did this tennis player retire?", "When was this church built?", "When did this country join
the European Union?": after birth and death (`kvqae.read.lifespan`), people ask for the date of some other
event in a pictured entity's life, and Wikipedia states it in a sentence whose subject is the entity and
whose verb is the question's ("retired", "built", "joined"), with the date in it. The small reader took
another date of the passages ("1988", the year Agassi turned professional). So when a question asks when
(`asked_event`: "when" / "in which year" with a verb that is not born or died), the first date in a
sentence about the subject holding a form of the question's verb - the date right after the verb, else the
nearest before it - in the passages of the first read passage's article, in article order, comes first
(`prefer_event_date`); only its year when the question asks for a year.

The verb's forms are made from the question's words (`verb_forms`: "retire" -> retired, "join" -> joined,
"marry" -> married, "become" -> became, "built" as asked), so no list of events is needed; the sentence
must be about the subject (its name or "he" / "she" right before the verb, `lifeplace.subject_before_verb`;
"it"; or "the <noun>" opening it for a passive: "The bridge was opened in 1937").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from kvqae.read.answer_choice import rule_answer_first
from kvqae.read.answer_types import expected_kind
from kvqae.read.family import subject_pronoun
from kvqae.read.lifeplace import subject_before_verb
from kvqae.read.lifespan import asked_life_event
from kvqae.read.phrase import ASKS_YEAR
from kvqae.read.words import sentence_start

_IRREGULAR = {"become": "became", "begin": "began", "build": "built", "buy": "bought", "come": "came",
              "do": "did", "fall": "fell", "find": "found", "fight": "fought", "get": "got", "give": "gave",
              "go": "went", "leave": "left", "lose": "lost", "make": "made", "meet": "met", "run": "ran",
              "sell": "sold", "sink": "sank", "take": "took", "teach": "taught", "win": "won",
              "write": "wrote", "hold": "held", "rise": "rose", "split": "split", "set": "set",
              "open": "opened", "sign": "signed", "land": "landed", "launch": "launched"}
_PARTICIPLES = {"became": "become", "began": "begun", "fell": "fallen", "gave": "given", "went": "gone",
                "rose": "risen", "sank": "sunk", "took": "taken", "wrote": "written"}
# question words that are no verb of the event
_NOT_VERB_TEXT = (
    "when what which year date day month century decade in on at of the a an this that these those did does "
    "do was were is are has had have first last finally officially his her its their he she it they")
_NOT_VERBS = frozenset(_NOT_VERB_TEXT.split())
# the words that end the verb phrase: "retire from painting", "join the European Union"
_FUNCTION_TEXT = ("from to the a an in on at for with into by as after before during of his her its their "
                  "over under against")
_FUNCTION = frozenset(_FUNCTION_TEXT.split())
_ASKS_WHEN = re.compile(r"^\s*(?:when|(?:in|on)?\s*(?:what|which)\s+(?:year|date|day|month|century|decade))\b"
                        r"\s+(did|does|do|was|were|is|are|has|had|have)\b(.*)$", re.IGNORECASE)
_MONTH = (r"(?:January|February|March|April|May|June|July|August|September|October|November|December)")
_DATE = re.compile(rf"\b(?:\d{{1,2}}\s+{_MONTH}\s+|{_MONTH}\s+(?:\d{{1,2}},?\s+)?)?(?:1\d{{3}}|20\d{{2}})\b")
# how far after the verb its date may stand; before it, only a date opening the sentence counts
_AFTER_CHARS = 60
_OPENING_DATE = re.compile(rf"\s*(?:In|On|By|From|After|Until|During)\s+((?:\d{{1,2}}\s+)?(?:{_MONTH}\s+)?"
                           rf"(?:\d{{1,2}},?\s+)?(?:1\d{{3}}|20\d{{2}}))\b")
_YEAR = re.compile(r"\b(?:1\d{3}|20\d{2})\b")
_PASSIVE_SUBJECT = re.compile(r"^\s*(?:The|This)\s+(?:[a-z][\w-]*\s+){1,2}"
                              r"(?:was|were|is|has\s+been|had\s+been)\s+(?:[a-z]+ly\s+)?$")


def verb_forms(word: str) -> set[str]:
    """The past tense and participle forms of a question's verb `word` (lower case): "retire" ->
    {"retire", "retired"}, "marry" -> {"marry", "married"}, "stop" -> {"stop", "stopped", "stoped"},
    "built" -> {"built"}."""
    forms = {word}
    if word in _IRREGULAR:
        forms.add(_IRREGULAR[word])
        forms.add(_PARTICIPLES.get(_IRREGULAR[word], _IRREGULAR[word]))
    elif word.endswith("e"):
        forms.add(word + "d")
    elif word.endswith("y") and len(word) > 2 and word[-2] not in "aeiou":
        forms.add(word[:-1] + "ied")
    elif not word.endswith("ed"):
        forms.add(word + "ed")
        if len(word) > 2 and word[-1] not in "aeiouwxy" and word[-2] in "aeiou" and word[-3] not in "aeiou":
            forms.add(word + word[-1] + "ed")
    return forms


def asked_event(question: str) -> tuple[set[str], bool] | None:
    """(the verb forms a statement of the asked event holds, whether a year alone is asked) when `question`
    asks when the subject did something other than being born or dying ("In which year did this tennis
    player retire?" -> ({"retire", "retired"}, True)); None otherwise. The verb is the question's last
    lower-case word before the end or an object ("When did Alaska become a state?" -> "become")."""
    if expected_kind(question) != "time" or asked_life_event(question) is not None:
        return None
    m = _ASKS_WHEN.match(question)
    if m is None:
        return None
    words = re.findall(r"[A-Za-z][\w'-]*", m.group(2))
    if {"who", "which", "that", "whose", "whom", "where"} & {w.lower() for w in words}:
        return None  # "When did the president who led the Union give his address?": which verb is asked
    passive = m.group(1).lower() not in ("did", "does", "do")
    verb = (_participle_of(words) if passive else None) or _verb_of(words)
    if verb is None:
        return None
    return verb_forms(verb), ASKS_YEAR.search(question) is not None


_APPOSITIVE = re.compile(r",[^,]*(?:,|$)")
_NAME_WORD = re.compile(r"[A-Z][\w'’-]+")
_DETERMINERS = frozenset({"this", "these", "that", "those", "his", "her", "its", "their"})


def asked_event_names(question: str) -> list[str]:
    """The capitalised words (of 3 letters or more) naming what the asked event is about besides the
    pictured subject: "In which year did Ayn Rand publish The Fountainhead?" -> [Ayn, Rand, Fountainhead];
    "In which year was Mobile, the oldest city of this state, founded?" -> [Mobile]. A subject described
    ("this children's book by Graeme Base", "his novel") and an appositive between commas say which
    entity is meant, not what happened: their words are not kept. [] when the question does not ask when
    (`_ASKS_WHEN`) or no verb is found."""
    m = _ASKS_WHEN.match(question)
    if m is None:
        return []
    rest = _APPOSITIVE.sub(" ", m.group(2))
    words = re.findall(r"[A-Za-z][\w'’-]*", rest)
    passive = m.group(1).lower() not in ("did", "does", "do")
    verb = (_participle_of(words) if passive else None) or _verb_of(words)
    if verb is None or verb not in words:
        return []
    at = words.index(verb)
    subject, after = words[:at], words[at + 1:]
    described = bool(subject) and subject[0].lower() in _DETERMINERS
    kept = after if described else subject + after
    return [w for w in kept if len(w) > 2 and _NAME_WORD.fullmatch(w) and w.lower() not in _NOT_VERBS]


def _participle_of(words: list[str]) -> str | None:
    """A passive question's participle: its last word ending in "-ed" or an irregular participle ("When was
    this essay published?", "When was this state, once a Russian colony, admitted to the Union?")."""
    irregular = set(_IRREGULAR.values()) | set(_PARTICIPLES.values())
    found = [w for w in words if w.islower() and (w.endswith("ed") or w in irregular) and w not in _NOT_VERBS]
    return found[-1] if found else None


def _verb_of(words: list[str]) -> str | None:
    """The verb of a question's words after "did" / "was": the last lower-case word before the first
    preposition or article that follows the subject, or before the end ("this painter retire from
    painting" -> "retire", "this tennis player retire" -> "retire", "the United States purchase Alaska" ->
    "purchase")."""
    content = [i for i, w in enumerate(words) if w.lower() not in _NOT_VERBS and w not in _FUNCTION]
    if not content:
        return None
    stop = next((i for i in range(content[0] + 1, len(words)) if words[i] in _FUNCTION), len(words))
    verbs = [w for w in words[:stop] if w.islower() and w not in _NOT_VERBS and len(w) > 2]
    return verbs[-1] if verbs else None


def stated_event_date(
    text: str, title: str | None, forms: set[str], year_only: bool, pronoun: str | None = None,
    names: Sequence[str] = (),
) -> tuple[int, int] | None:
    """(start, end) in `text` of the date of the first sentence about the subject (`title`) holding one of
    `forms` as a verb (not "a retired player"): the date within `_AFTER_CHARS` after the verb, else one
    opening the sentence ("In 1880 Vos married ..."); only its year when `year_only`. A sentence whose
    subject is "he" / "she" does not count when the article's `pronoun` (`family.subject_pronoun`) is the
    other one: "when she became his running mate" in a man's article is another person's. The sentence
    must hold each of `names` (`asked_event_names`) not in `title`: "published" about another of the
    author's novels dates no "publish The Fountainhead". None when `text` states none."""
    verbs = re.compile(rf"\b(?:{'|'.join(sorted(map(re.escape, forms)))})\b", re.IGNORECASE)
    own = {w.lower() for w in re.findall(r"\w+", title or "")}
    needed = {n.lower() for n in names} - own
    for m in verbs.finditer(text):
        begin = sentence_start(text, m.start())
        before = text[begin : m.start()]
        if needed:
            stop = text.find(". ", m.end())
            said = {w.lower() for w in re.findall(r"[\w'’-]+", text[begin: len(text) if stop < 0 else stop])}
            if not needed <= said:
                continue
        if re.search(r"\b(?:a|an|the|his|her|its|their)\s+$", before, re.IGNORECASE):
            continue  # an adjective: "an American retired professional tennis player"
        # "It was painted in 1950", "In 1950, it was painted" - not "when it was published in 1946"
        it = re.fullmatch(r"\s*(?:[A-Z][^,]{0,40},\s*)?[Ii]t\s+(?:\w+\s+){0,2}", before)
        if not (_subject(before, title, pronoun) or it or _PASSIVE_SUBJECT.match(before)
                or _lead_participle(before, title)):
            continue
        stop = text.find(". ", m.end())
        finish = min(m.end() + _AFTER_CHARS, len(text) if stop < 0 else stop)
        date = _DATE.search(text, m.end(), finish)
        if date is None:  # "In 1880 Vos married ...", "On 3 May 1901, he retired": the sentence opens with it
            date = _OPENING_DATE.match(before)
            date = _DATE.search(text, begin + date.start(1), begin + date.end(1)) if date else None
        if date is None:
            continue
        if year_only:
            year = _YEAR.search(text, date.start(), date.end())
            return year.span() if year else date.span()
        return date.span()
    return None


def _subject(before: str, title: str | None, pronoun: str | None) -> bool:
    """`lifeplace.subject_before_verb`, with "he" / "she" not the other one than the article's `pronoun`."""
    if not subject_before_verb(before, title):
        return False
    own = {w.lower() for w in re.findall(r"\w+", title or "") if len(w) > 2}
    words = {w.lower() for w in re.findall(r"\w+", before)}
    other = {"he": "she", "she": "he"}.get(pronoun or "")
    return bool(words & own) or other is None or other not in words


def _lead_participle(before: str, title: str | None) -> bool:
    """"Animal Farm is an allegorical and dystopian novella by George Orwell, first published in ...": a
    participle after a comma in a sentence that opens with the subject's name and describes it."""
    own = {w.lower() for w in re.findall(r"\w+", title or "") if len(w) > 2}
    first = re.match(r"\W*(\w+)", before)
    return (first is not None and first.group(1).lower() in own
            and re.search(r"\b(?:is|was)\s+(?:an?|the)\b", before) is not None
            and re.search(r",\s+(?:(?:first|originally|initially|later)\s+)?$", before) is not None)


def prefer_event_date(
    candidates: Sequence[Any], texts: Sequence[str], titles: Sequence[str | None], question: str,
    positions: Sequence[int | None] | None = None,
) -> list[Any]:
    """`candidates` (ranked `Candidate`s into `texts`, the read passages in reading order, of articles
    `titles`, at `positions` in their articles) with, when `question` asks when the subject did something
    (`asked_event`), the date `stated_event_date` finds in the passages of the first read passage's
    article first. Unchanged when none states one."""
    asked = asked_event(question)
    if asked is None or not texts:
        return list(candidates)
    forms, year_only = asked
    pronoun = subject_pronoun([text for text, title in zip(texts, titles, strict=True) if title == titles[0]])
    names = asked_event_names(question)
    return rule_answer_first(
        candidates, texts, titles,
        lambda text, title: stated_event_date(text, title, forms, year_only, pronoun, names), positions)
