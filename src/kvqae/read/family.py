"""A person's relatives stated in their article: "his wife, X", "X married Y", "Y, the son of X".

"Who is the wife of this man?", "Who was the father of this Greek philosopher?", "Whom did this novelist
marry in 1929?": after where and when someone was born, people ask about a pictured person's family, and
Wikipedia states it in a few shapes about the article's subject:

* a possessive: "his wife, Irma Raush", "His elder brother, Leo Garnet Dwan, became a physician", "their
  first son, Hans Albert Einstein", "Lincoln's mother, Nancy";
* a marriage: "In 1956, Huxley married Laura Archera", "he quickly married the Belgian refugee Maria Nys"
  (in a sentence about the subject: its name or "he" / "she" before the verb, no other relative);
* the relative's apposition: "Neoptolemus, the son of Achilles"; "Aldous was the grandson of Thomas Henry
  Huxley";
* the parents as a pair (`stated_parents`, session 23): "Agassi was born in Las Vegas to Emmanuel Agassi and
  Elizabeth Agassi", "... was born in 1788, the son of Johanna Schopenhauer (née Trosiener) and Heinrich
  Floris Schopenhauer", "She was the eldest of the three daughters of Zinovy Rosenbaum and his wife, Anna".

So when a question asks for a relative (`asked_relation`: the relation, an ordinal such as "first" or
"eldest", a year), the person of the first such statement in the read passages of the first read passage's
article comes first (`prefer_relative`); a statement with another ordinal ("his second wife" for "Who was
his first wife?") or, for a marriage, a sentence without the asked year is passed over.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kvqae.read.answer_choice import Entity, rule_answer_first
from kvqae.read.answer_types import expected_kind
from kvqae.read.lifeplace import about_subject, subject_before_verb
from kvqae.read.words import sentence_start

# a relation the question asks -> the words an article states it with
_STATED = {
    "spouse": "wife|husband|spouse",
    "father": "father", "mother": "mother", "son": "son", "daughter": "daughter", "brother": "brother",
    "sister": "sister", "grandfather": "grandfather", "grandmother": "grandmother",
    "twin": r"twin(?:\s+(?:sister|brother))?", "child": "son|daughter|child",
}
_ASKED = {"wife": "spouse", "husband": "spouse", "spouse": "spouse", "children": "child"}
_RELATION_WORDS = ("wife|husband|spouse|father|mother|son|daughter|brother|sister|grandfather|grandmother|"
                   "child|children")
_ORDINALS = {"first": "first", "eldest": "first", "oldest": "first", "elder": "elder", "older": "elder",
             "second": "second", "third": "third", "youngest": "youngest", "younger": "younger"}
_ORDINAL_WORDS = "|".join(_ORDINALS)
# "the eldest son of ...", "the twin sister of ...", "Tarkovsky's sister"
_ASKS_OF = re.compile(rf"\b(?:({_ORDINAL_WORDS})\s+)?(twin(?:\s+(?:sister|brother))?|{_RELATION_WORDS})"
                      rf"\s+of\b", re.IGNORECASE)
_ASKS_POSSESSIVE = re.compile(rf"['’]s\s+(?:({_ORDINAL_WORDS})\s+)?(twin(?:\s+(?:sister|brother))?|"
                              rf"{_RELATION_WORDS})\b", re.IGNORECASE)
_ASKS_MARRY = re.compile(r"^\s*(?:(?:to\s+)?whom|who|which\s+[\w-]+(?:\s+[\w-]+)?)\b.*\bmarr(?:y|ied)\b",
                         re.IGNORECASE)
_ASKS_PERSON = re.compile(r"^\s*(?:to\s+whom|who|whom|which|what)\b", re.IGNORECASE)
_YEAR = re.compile(r"\b1\d{3}\b|\b20\d{2}\b")
_MARRIED = re.compile(r"\bmarried\b", re.IGNORECASE)
_NAME = re.compile(r"[A-Z][\w'’-]*(?:\s+(?:(?:de|van|von|da|di|del|of)\s+)?[A-Z][\w'’-]*)*")
# the person follows the verb or the noun closely: "married the Belgian refugee Maria Nys"
_AFTER_CHARS = 40


@dataclass(frozen=True)
class Relation:
    """A relative a question asks for: `kind` (a key of `_STATED`), an ordinal ("first", "elder", ...)
    and a year the marriage is dated by, when the question gives them."""

    kind: str
    ordinal: str | None = None
    year: str | None = None
    # the asked noun when it tells the relative's sex ("wife", "husband"): "her husband" never states a wife,
    # and "his wife" in Ayn Rand's article is her mother, not her husband
    noun: str | None = None

    def stated(self) -> str:
        """The nouns a statement of this relative uses, as a regex alternation."""
        if self.kind == "spouse" and self.noun in ("wife", "husband"):
            return f"{self.noun}|spouse"
        return _STATED[self.kind]


def asked_relation(question: str) -> Relation | None:
    """The relative `question` asks for ("Who was the first wife of this physicist?" -> spouse, "first";
    "Whom did this novelist marry in 1929?" -> spouse, year 1929), None when it asks none - or asks when,
    how many or a thing ("On what date did he marry?", "Which instrument did the mother of this physicist
    want him to learn?")."""
    if not _ASKS_PERSON.search(question) or expected_kind(question) in ("time", "number", "thing"):
        return None
    year = _YEAR.search(question)
    m = _ASKS_OF.search(question) or _ASKS_POSSESSIVE.search(question)
    if m is not None:
        word = re.sub(r"\s+", " ", m.group(2).lower())
        kind = "twin" if word.startswith("twin") else _ASKED.get(word, word)
        ordinal = _ORDINALS[m.group(1).lower()] if m.group(1) else None
        noun = word if word in ("wife", "husband") else None
        return Relation(kind, ordinal, year.group(0) if year and kind == "spouse" else None, noun)
    if _ASKS_MARRY.search(question):
        return Relation("spouse", None, year.group(0) if year else None)
    return None


def person_at(text: str, start: int, limit: int, entities: Sequence[Entity] | None,
              title: str | None, labels: frozenset[str] = frozenset({"PERSON"})) -> tuple[int, int] | None:
    """The first person named in text[start:limit]: an entity of `labels` (PERSON), else (no entities given,
    or none there) a capitalised name right at `start` after an optional article and lower-case words;
    never the subject's own name (`title`). Also used by `kvqae.read.agent`."""
    own = {w.lower() for w in re.findall(r"\w+", title or "")}
    for a, b, label in sorted(entities or []):
        if label in labels and start <= a < limit and not _echoes(text[a:b], own):
            return a, b
    # "the Belgian refugee Maria Nys, also ...": after an article, the name that ends the noun phrase
    after_article = re.compile(rf"(?:the|a|an)\s+(?:\S+\s+){{0,3}}?({_NAME.pattern})(?=\s*[,.;(]|$)")
    m = after_article.match(text, start)
    name = (m.start(1), m.end(1)) if m else (_NAME.match(text, start).span() if _NAME.match(text, start)
                                             else None)
    if name is None or name[0] >= limit or _echoes(text[name[0]:name[1]], own):
        return None
    at, end = name
    while end > at and text[end - 1] in ".'’-":
        end -= 1
    return at, end


def _echoes(name: str, own: set[str]) -> bool:
    words = {w.lower() for w in re.findall(r"\w+", name)}
    return bool(words) and words <= own


def _ordinal_fits(words: str, ordinal: str | None) -> bool | None:
    """Whether the words before a relation noun ("elder", "second") fit the asked ordinal: True when they
    state it, False when they state another, None when they state none."""
    stated = {_ORDINALS[w] for w in re.findall(r"\w+", words.lower()) if w in _ORDINALS}
    if not stated:
        return None
    return ordinal in stated


def _sentence(text: str, at: int) -> tuple[int, int]:
    begin = sentence_start(text, at)
    stop = text.find(". ", at)
    return begin, len(text) if stop < 0 else stop


def subject_pronoun(texts: Sequence[str]) -> str | None:
    """"he" or "she" when the texts (an article's passages) speak of someone mostly so - at least 3 times
    and twice as often as of the other - else None (a place, a group, a mixed text)."""
    joined = " ".join(texts)
    he = len(re.findall(r"\b(?:he|his|him|himself)\b", joined, re.IGNORECASE))
    she = len(re.findall(r"\b(?:she|her|hers|herself)\b", joined, re.IGNORECASE))
    if he >= 3 and he >= 2 * she:
        return "he"
    if she >= 3 and she >= 2 * he:
        return "she"
    return None


def stated_relative(
    text: str, title: str | None, relation: Relation, entities: Sequence[Entity] | None = None,
    pronoun: str | None = None, known: Mapping[str, str] | None = None,
) -> tuple[int, int] | None:
    """(start, end) in `text` of the relative of the article's subject (`title`) the first statement of
    `relation` names (see the module doc), None when `text` states none. `entities`: spaCy entities of
    `text` (a PERSON there is the name; without them a capitalised name is taken). `pronoun`: the
    subject's ("he" / "she", `subject_pronoun`): "her father" is not a man's. `known`: the parents other
    sentences name (`parents_named`)."""
    words = relation.stated()
    title_words = [re.escape(w) for w in re.findall(r"\w+", title or "") if len(w) > 2]
    owners = "his|her|their" + "".join(f"|{w}['’]s" for w in title_words)
    # (priority, position, span): 0 the asked ordinal stated, 1 none stated, 2 one stated when none was asked
    found: list[tuple[int, int, tuple[int, int]]] = []
    # the words between are the relative's ("elder", "late"), not another owner's ("her and his sister")
    between = r"(?:(?!(?:his|her|their|and|or)\b)[\w-]+\s+)"
    for m in re.finditer(rf"\b(?:{owners})\s+({between}{{0,2}}?)(?:{words})\b[,:]?\s+", text,
                         re.IGNORECASE):
        fits = _ordinal_fits(m.group(1), relation.ordinal)
        if fits is False and relation.ordinal is not None:
            continue
        if fits is None and relation.kind == "spouse" and relation.ordinal not in (None, "first"):
            continue  # "Einstein's future wife, Mileva" says nothing of a second wife
        if not _owned_by_subject(text, m.start(), m.group(0), title):
            continue
        owner = m.group(0).split()[0].lower()
        if (owner, pronoun) in (("his", "she"), ("her", "he")):
            continue
        if relation.year and relation.year not in text[slice(*_sentence(text, m.start()))]:
            continue
        span = person_at(text, m.end(), m.end() + 3, entities, title)
        if span is not None:
            found.append((_priority(fits), m.start(), span))
    if relation.kind == "spouse":
        for m in _MARRIED.finditer(text):
            begin, finish = _sentence(text, m.start())
            if not about_subject(text[begin : m.start()], title):
                continue
            if relation.year and relation.year not in text[begin:finish]:
                continue
            # "his late wife's first cousin" states no ordinal of this marriage; "his second marriage" does
            stated = re.search(rf"\b({_ORDINAL_WORDS})\s+(?:wife|husband|marriage|spouse)\b",
                               text[begin:finish], re.IGNORECASE)
            fits = _ordinal_fits(stated.group(1), relation.ordinal) if stated else None
            if (fits is False and relation.ordinal is not None) or (
                    fits is None and relation.ordinal not in (None, "first")):
                continue
            span = person_at(text, m.end() + 1, min(m.end() + _AFTER_CHARS, finish), entities, title)
            if span is not None:
                found.append((_priority(fits), m.start(), span))
    if relation.kind == "spouse" and relation.year is None:
        found.extend(_couple_statements(text, title, relation, entities))
    for m in re.finditer(r"\b(?:grand)?(?:son|daughter|child)\s+of\s+", text):
        if relation.kind in ("grandfather", "grandmother") and m.group(0).startswith("grand"):
            begin, _ = _sentence(text, m.start())
            if about_subject(text[begin : m.start()], title):
                span = person_at(text, m.end(), m.end() + 3, entities, title)
                if span is not None:
                    found.append((1, m.start(), span))
    if relation.kind in ("father", "mother"):
        parents = stated_parents(text, title, entities, known, pronoun)
        if parents is not None:
            found.append((1, parents[0], parents[1] if relation.kind == "father" else parents[2]))
    if title_words:
        # "Neoptolemus, the son of Achilles"
        subject = "|".join(title_words)
        for m in re.finditer(rf"({_NAME.pattern}),\s+(?:the|a)\s+(?:{words})\s+of\s+(?:{subject})\b", text):
            if not _echoes(m.group(1), {w.lower() for w in re.findall(r"\w+", title or "")}):
                found.append((1, m.start(), m.span(1)))
    return min(found)[2] if found else None


# "<subject> met ... X; the two were married", "... X, and they married"
_THE_TWO_MARRIED = re.compile(r"\s*[;,]?\s+(?:and\s+)?(?:the\s+two|they|the\s+couple)\s+"
                              r"(?:were\s+|got\s+|later\s+)?married\b")
_ENGAGED = re.compile(r"\b(?:became|was|got)\s+engaged\s+to\s+")


def _couple_statements(
    text: str, title: str | None, relation: Relation, entities: Sequence[Entity] | None,
) -> list[tuple[int, int, tuple[int, int]]]:
    """The subject's spouse stated as a couple (session 23): the name right before "; the two were
    married" in a sentence naming the subject ("Rand ... met an aspiring young actor, Frank O'Connor; the
    two were married on April 15, 1929"), and - ranked below any marriage - the person after "<subject>
    became engaged to" ("In 1840, Lincoln became engaged to Mary Todd"). Not for a second spouse."""
    if relation.ordinal not in (None, "first"):
        return []
    found = []
    own = {w.lower() for w in re.findall(r"\w+", title or "")}
    for m in _THE_TWO_MARRIED.finditer(text):
        begin, _ = _sentence(text, m.start())
        name = re.search(rf"({_NAME.pattern})$", text[begin : m.start()])
        if name is None or _echoes(name.group(1), own) or not about_subject(text[begin : m.start()], title):
            continue
        found.append((1, m.start(), (begin + name.start(1), begin + name.end(1))))
    for m in _ENGAGED.finditer(text):
        begin, finish = _sentence(text, m.start())
        if subject_before_verb(text[begin : m.start()], title):
            span = person_at(text, m.end(), min(m.end() + 3, finish), entities, title)
            if span is not None:
                found.append((2, m.start(), span))
    return found


# "born ... to X and Y", "..., the second child of X and Y", "She was the eldest of the three daughters of X"
_PARENTS_OF = re.compile(r"\b(?:born\b[^.;]{0,120}?\s+to|(?:son|daughter|child|sons|daughters|children)\s+of|"
                         r"(?:[Hh]is|[Hh]er|[Tt]heir)\s+parents\s+(?:were|are))\s+(?=\S)")
_WAS_THE = re.compile(r"\b(?:was|is)\s+(?:the|a|an)\s+(?:[\w-]+\s+){0,5}?$", re.IGNORECASE)
_BORN = re.compile(r"\bborn\b")
# what ties the second parent to the first: "and", "and his first wife,", "and her husband"
_AND_PARENT = re.compile(r"\s*(?:[;,]\s*)?\band\s+(?:(his|her)\s+(?:[\w-]+\s+)?(wife|husband)\s*,?\s*)?")
# a woman's maiden name right after her name: "Johanna Schopenhauer (née Trosiener)"
_MAIDEN = re.compile(r"\s*[(,]?\s*(?:née|nee|born)\b", re.IGNORECASE)
_PARENT_CHARS = 60


def stated_parents(
    text: str, title: str | None, entities: Sequence[Entity] | None = None,
    known: Mapping[str, str] | None = None, pronoun: str | None = None,
) -> tuple[int, tuple[int, int], tuple[int, int]] | None:
    """(position, father's span, mother's span) of the first statement of the subject's parents as a pair
    in `text`, None when it states none: "<subject> was born ... to X and Y", "<subject> was born ..., the
    son of X and Y", "<subject> was the eldest of the daughters of X and his wife, Y" (the module doc).

    The father is the first named unless the text says otherwise: "and his wife, Y" makes Y the mother,
    "and her husband, Y" the father, and a maiden name ("X (née T)") makes X the mother - Wikipedia names
    the mother first often enough ("the son of Johanna Schopenhauer (née Trosiener) and Heinrich Floris
    Schopenhauer"); so does `known` (`parents_named`: a name word -> "mother" / "father" another sentence
    states, "his mother Johanna") when it names the first "mother" or the second "father". "His / her parents
    were X and Y" counts when the possessive is the subject's (not "her" when the subject's `pronoun` is
    "he")."""
    for m in _PARENTS_OF.finditer(text):
        begin, finish = _sentence_outside_brackets(text, m.start())
        if not _about_child(text, begin, m, title, pronoun):
            continue
        first = _parent_name(text, m.end(), entities, title)
        if first is None:
            continue
        # the "and" before the second parent's name: "Hermann Einstein, a salesman and engineer, and Pauline
        # Koch" (the first "and" joins two words of the father's description)
        tie = second = None
        for tie in _AND_PARENT.finditer(text, first[1], finish):
            if tie.start() - first[1] > _PARENT_CHARS:
                break
            if (second := _parent_name(text, tie.end(), entities, title)) is not None:
                break
        if tie is None or second is None:
            continue
        said = known or {}
        mother_first = (tie.group(2) or "").lower() == "husband" or (tie.group(2) is None and (
            (_MAIDEN.match(text, first[1]) is not None and _MAIDEN.match(text, second[1]) is None)
            or any(said.get(w) == "mother" for w in text[first[0]:first[1]].split())
            or any(said.get(w) == "father" for w in text[second[0]:second[1]].split())))
        return (m.start(), second, first) if mother_first else (m.start(), first, second)
    return None


# a parent's name after a few lower-case words ("poet and translator Arseny Tarkovsky"), a nickname kept
# ('Emmanuel "Mike" Agassi')
_PARENT_NAME = re.compile(r"(?:[a-z][\w-]*\s+){0,4}?([A-Z][\w'’-]*(?:\s+(?:\"[A-Z][^\"]{0,20}\"|"
                          r"(?:de|van|von|da|di|del)\s+[A-Z][\w'’-]*|[A-Z][\w'’-]*))*)")
# what a name the small NER tags so is not: a people, a date, a number
_NOT_PERSON = frozenset({"NORP", "DATE", "TIME", "CARDINAL", "ORDINAL", "MONEY", "PERCENT", "QUANTITY"})


_NAMED_PARENT = re.compile(r"\b(?:[Hh]is|[Hh]er|[Tt]heir|[\w-]+['’]s)\s+(mother|father)"
                           r"(?:\s*,|\s+(?:was|is))?\s+(?:the\s+(?:[a-z]+\s+)?)?([A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*)")


def parents_named(texts: Sequence[str]) -> dict[str, str]:
    """Each word of a name the texts state as someone's mother or father ("his mother Johanna", "His
    mother was the nymph Thetis") -> "mother" / "father"; a word stated as both is left out.
    Used by `stated_parents` to tell which of a pair is the mother."""
    said: dict[str, set[str]] = {}
    for text in texts:
        for m in _NAMED_PARENT.finditer(text):
            for word in m.group(2).split():
                said.setdefault(word, set()).add(m.group(1).lower())
    return {word: next(iter(kinds)) for word, kinds in said.items() if len(kinds) == 1}


def _parent_name(text: str, start: int, entities: Sequence[Entity] | None,
                 title: str | None) -> tuple[int, int] | None:
    """The name right after `start` (after at most four lower-case words; a capitalised word right after
    "the" is a description: "the Nereid Thetis"), None when there is none, it is the subject's own or the
    NER tags it a people, a date or a number ("to a Russian Jewish family")."""
    m = _PARENT_NAME.match(text, start)
    if m is None:
        return None
    at, end = m.span(1)
    title_word = re.match(r"[A-Z][\w'’-]*\s+(?=[A-Z])", text[at:end])
    if title_word and re.search(r"\bthe\s+$", text[max(0, at - 4):at]):
        at += title_word.end()  # "the Nereid Thetis": a description before the name
    own = {w.lower() for w in re.findall(r"\w+", title or "")}
    if _echoes(text[at:end], own):
        return None
    if any(label in _NOT_PERSON and a < end and b > at for a, b, label in entities or []):
        return None
    return at, end


def _sentence_outside_brackets(text: str, at: int) -> tuple[int, int]:
    """`_sentence` with full stops inside brackets passed over: "(known today as Św. Ducha 47)" ends none."""
    begin, finish = _sentence(text, at)
    while begin > 0 and text.count("(", 0, begin) > text.count(")", 0, begin):
        begin, _ = _sentence(text, begin - 2)
    return begin, finish


def _about_child(text: str, begin: int, match: re.Match[str], title: str | None, pronoun: str | None = None
                 ) -> bool:
    """Whether the parents statement `match` (in the sentence from `begin`) is about the subject as the
    child: the subject right before "born" ("Agassi was born in Las Vegas to ...", "... was born in 1809,
    the second child of ..."), or "<subject> was the (eldest of the three) daughter(s) of"."""
    owner = re.match(r"(his|her|their)\s+parents\b", match.group(0), re.IGNORECASE)  # "His parents were"
    if owner is not None:
        if (owner.group(1).lower(), pronoun) in (("his", "she"), ("her", "he")):
            return False  # "Her parents were ..." in a man's article: his wife's
        return _owned_by_subject(text, match.start(), match.group(0), title)
    born = [b for b in _BORN.finditer(text, begin, match.end())]
    if born:
        return subject_before_verb(text[begin:born[0].start()], title)
    was = _WAS_THE.search(text, begin, match.start())
    return was is not None and subject_before_verb(text[begin:was.start()], title)


_MONTH_WORDS = frozenset(["January", "February", "March", "April", "May", "June", "July", "August",
                          "September", "October", "November", "December"])


def _owned_by_subject(text: str, at: int, statement: str, title: str | None) -> bool:
    """Whether the "his / her / their" of the possessive statement at `at` of `text` is the subject's.

    The sentence's words before it must be about the subject and name no other relative than the
    subject's own ("His mother was the nymph Thetis, and his father, Peleus" is; "... the third son of
    Leonard Huxley, ... and his first wife, Julia Arnold" is Leonard's wife). When they name nobody (the
    possessive opens the sentence, or "In May 1904, their first son, ..."), the sentence before must name
    the subject or say "he" / "she" (not "... a woman named Chryseis as his slave. Her father Chryses").
    "<Title>'s wife" is always the subject's."""
    if not re.match(r"(?:his|her|their)\b", statement, re.IGNORECASE):
        return True
    begin, _ = _sentence(text, at)
    before = text[begin:at]
    possessed = re.compile(rf"\b(?:his|her|their)\s+(?:[\w-]+\s+)?(?:{_RELATION_WORDS})\b", re.IGNORECASE)
    rest = possessed.sub(" ", before)
    if about_subject(rest, title):
        return True
    if _continued(rest, title):
        return True
    other_relative = re.search(rf"\b(?:{_RELATION_WORDS}|parents|sons|daughters)\b", rest, re.IGNORECASE)
    if other_relative is not None:
        return False
    if rest != before:
        return True  # only the subject's own relatives before it
    names = [w for w in re.findall(r"[A-Za-z][\w'’-]*", before)[1:] if w[0].isupper()]
    if any(w not in _MONTH_WORDS for w in names):
        return False  # someone or something else the sentence is about
    previous, _ = _sentence(text, max(0, begin - 2))
    own = [re.escape(w) for w in re.findall(r"\w+", title or "") if len(w) > 2]
    subject = "|".join([*own, "he", "she"])
    return re.search(rf"\b(?:{subject})\b", text[previous:begin], re.IGNORECASE) is not None


def _continued(before: str, title: str | None) -> bool:
    """Whether `before` is the end of a sentence the passage before began - the passage's title header, then
    lower-case words ("Arthur Schopenhauer. dead father, but ... moved with") - naming nobody: its
    possessives are the article subject's, as its beginning is not here to say otherwise."""
    if not title or not before.startswith(f"{title}. "):
        return False
    rest = before[len(title) + 2 :]
    return rest[:1].islower() and not re.search(r"\b[A-Z]", rest)


def _priority(fits: bool | None) -> int:
    """Rank of a statement by its ordinal: the asked one stated (0), none stated (1), one stated where the
    question asked none (2: "his elder brother" for "Who was his brother?", when no other is named)."""
    return {True: 0, None: 1, False: 2}[fits]


def prefer_relative(
    candidates: Sequence[Any], texts: Sequence[str], titles: Sequence[str | None], question: str,
    entities_of: Callable[[str], Sequence[Entity]], positions: Sequence[int | None] | None = None,
) -> list[Any]:
    """`candidates` (ranked `Candidate`s into `texts`, the read passages in reading order, of articles
    `titles`, at `positions` in their articles) with, when `question` asks for a relative, the person
    `stated_relative` finds in the passages of the first read passage's article first. A candidate already on
    that span moves up; else a new one joins, scored below every other (probability 0). Unchanged when none
    states it."""
    relation = asked_relation(question)
    if relation is None or not texts:
        return list(candidates)
    own = [text for text, title in zip(texts, titles, strict=True) if title == titles[0]]
    pronoun = subject_pronoun(own)
    known = parents_named(own)
    return rule_answer_first(
        candidates, texts, titles,
        lambda text, title: stated_relative(text, title, relation, entities_of(text), pronoun, known),
        positions)
