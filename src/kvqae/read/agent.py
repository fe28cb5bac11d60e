"""Who made, founded or did something to the subject: "written by X", "founded by X", "a piece by X".

"Who wrote this essay?", "Who designed this building?", "Who founded this league?", "Who assassinated this
president?": people ask who made or did something to the pictured entity, and Wikipedia states it about the
subject in a passive with "by" - "A Modest Proposal ... is a Juvenalian satirical essay written and published
anonymously by Jonathan Swift in 1729", "Lincoln was assassinated by John Wilkes Booth", "Aikido is a
Japanese martial art developed by Morihei Ueshiba" - or, for a work, in its lead's "is a <kind> by X" ("An
American in Paris is a jazz-influenced orchestral piece by the American composer George Gershwin"). The
reader took a surname of a later sentence ("Swift", "Gershwin") or another name of the passage ("NFL",
"Stephen A. Douglas"). So when a question asks who did the verb (`asked_agent`: "Who V-ed ...?", "Which
<noun> V-ed ...?", "By whom was ... V-ed?", "Who is the <author / founder / architect ...> of ...?"), the
person (or organisation) after "<V-ed> by" in a sentence about the subject, or after "is a ... by" in a
sentence opening with the subject when the verb makes works, in the read passages of the first read
passage's article comes first (`prefer_agent`).

A work with no article of its own ("Who wrote Brave New World?") is found in its maker's article, and the
answer is that article's subject (`subject_as_agent`, session 22); that article's "<V-ed> by" statements
are then about the subject's other works and are not taken.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from kvqae.read.answer_choice import Entity, put_first, rule_answer_first
from kvqae.read.family import person_at
from kvqae.read.lifeplace import about_subject
from kvqae.read.words import sentence_start

# the question's verb (past tense) -> its past participle, where they differ
_IRREGULAR = {"wrote": "written", "write": "written", "built": "built", "led": "led", "sang": "sung",
              "flew": "flown", "drew": "drawn", "made": "made", "took": "taken", "gave": "given",
              "began": "begun", "won": "won", "shot": "shot", "struck": "struck", "bought": "bought",
              "sold": "sold", "taught": "taught", "found": "found"}
_REGULAR = ("composed|designed|founded|established|invented|discovered|directed|painted|sculpted|created|"
            "developed|commissioned|named|killed|assassinated|murdered|defeated|commanded|produced|published|"
            "illustrated|coined|introduced|conquered|captured|signed|drafted|performed|recorded|organi[sz]ed|"
            "launched|piloted|succeeded|translated|edited|owned|proposed|formulated|authored|constructed|"
            "engineered|pioneered|devised|crafted|funded|sponsored|presented|awarded|hosted|adopted|"
            "raised|trained|coached|managed|chaired|headed|ruled|governed|betrayed|executed|replaced|"
            "started|initiated|conceived|scored|narrated|starred|animated|choreographed")
# a noun naming who did the verb -> the verb's participles
_NOUNS = {"author": "written|authored", "writer": "written", "composer": "composed", "architect": "designed",
          "designer": "designed", "founder": "founded|established", "inventor": "invented",
          "discoverer": "discovered", "director": "directed", "painter": "painted", "sculptor": "sculpted",
          "creator": "created", "developer": "developed", "builder": "built|constructed",
          "illustrator": "illustrated", "publisher": "published", "producer": "produced", "killer": "killed",
          "assassin": "assassinated", "commander": "commanded", "lyricist": "written"}
# participles of verbs that make works whose lead's "is a ... by X" says who made it
# (not "directed" or "designed": "An American in Paris is a ... piece by Gershwin" did not direct the film)
_MAKER_TEXT = "written authored composed painted created sculpted illustrated drawn"
_MAKERS = frozenset(_MAKER_TEXT.split())
_VERB = rf"(?:{'|'.join(_IRREGULAR)}|{_REGULAR})"
_PARTICIPLE = rf"(?:{'|'.join(sorted(set(_IRREGULAR.values())))}|{_REGULAR})"
# "Who wrote ...", "Which American composer wrote ..." (not "Which unit is named after ...": a passive asks
# for the thing)
_ASKS_VERB = re.compile(rf"^\s*(?:who\s+|which\s+(?:(?!(?:is|was|are|were)\b)[\w-]+\s+){{1,3}}?)"
                        rf"(?:first\s+|originally\s+|actually\s+)?({_VERB})\b", re.IGNORECASE)
_ASKS_BY_WHOM = re.compile(
    rf"^\s*by\s+whom\s+(?:was|were|is|are|has\s+been|had\s+been)\b.*?\b({_PARTICIPLE})\b", re.IGNORECASE)
_ASKS_BY = re.compile(rf"^\s*who\b.*\b({_PARTICIPLE})\s+by\s*\??\s*$", re.IGNORECASE)
_ASKS_NOUN = re.compile(rf"^\s*who\s+(?:is|was|are|were)\s+the\s+(?:[\w-]+\s+)?({'|'.join(_NOUNS)})\s+of\b",
                        re.IGNORECASE)
# the verb's object is something else, the pictured entity only named after a preposition: "Who created the
# lyre for this Greek god?", "Who killed the mother of this hero?"
_OTHER_OBJECT = re.compile(r"\s+(?:the|a|an|his|her|its|their)\s+[^?]*?\b"
                           r"(?:for|to|of|with|about|from|against|on|in|at|by|that|which|whose|where)\s+"
                           r"(?:this|these|that|those)\b",
                           re.IGNORECASE)
# verbs that make a work the question may name: "Who wrote Brave New World?", "Who directed Solaris?"
_WORK_VERBS = frozenset(_MAKER_TEXT.split()) | {"directed", "designed", "produced", "composed"}
# the object: an optional "the film" / "the novel", then a capitalised name that ends the question
_WORK_NAME = re.compile(r"\s+(?:the\s+(?:[a-z]+\s+){1,2})?([A-Z][\w'’-]*(?:\s+(?:of\s+|the\s+|and\s+|as\s+)?"
                        r"[A-Z][\w'’-]*)*)\s*\?*\s*$")
# how close before a work's name its owner stands, and the verbs that say the subject made it
_OWNER_CHARS = 100
_MAKING = ("wrote|written|directed|published|composed|painted|completed|made|created|began|finished|"
           "produced|designed|filmed|released|authored|recorded|sang|drew|sculpted")
# the question points at the pictured entity: "Who wrote this novel?"
_POINTS = re.compile(r"\b(?:this|these|that|those)\b", re.IGNORECASE)
# "written and published anonymously by", "founded in 1960 by", "killed near the end of the Trojan War by"
_BETWEEN = (r"(?:\s+and\s+[a-z]+)?(?:\s+[a-z]+ly)?"
            r"(?:\s+(?:in|on|at|near|during|after|before)\s+[^,.;]{1,35}?)?")
# verbs whose statements answer one another: "Who shot Lincoln?" - "Lincoln was assassinated by Booth"
_KILLING = "killed|assassinated|murdered|shot|slain"
_SAME_DEED = {verb: _KILLING for verb in _KILLING.split("|")}
# not NORP: "coined by the Swiss psychiatrist Eugen Bleuler" (a nationality before the person)
_WHO_LABELS = frozenset({"PERSON", "ORG"})
_AFTER_CHARS = 45


def asked_agent(question: str) -> str | None:
    """The participles that state who did what `question` asks about, as a regex alternation ("Who wrote
    this essay?" -> "written", "Who is the founder of ...?" -> "founded|established"); None when it asks
    no such thing; a killing is stated by any of its verbs ("Who shot ...?" -> "killed|assassinated|...")."""
    for pattern in (_ASKS_VERB, _ASKS_BY_WHOM, _ASKS_BY):
        m = pattern.search(question)
        if m is not None:
            if pattern is _ASKS_VERB and _OTHER_OBJECT.match(question, m.end()):
                return None  # "Who created the lyre for this god?": the god made nothing
            verb = m.group(1).lower()
            participle = _IRREGULAR.get(verb, verb)
            return _SAME_DEED.get(participle, participle)
    m = _ASKS_NOUN.search(question)
    return _NOUNS[m.group(1).lower()] if m else None


def _sentence_start(text: str, at: int) -> int:
    return sentence_start(text, at)


def _about(before: str, title: str | None) -> bool:
    """Whether the sentence's words before the verb are about the subject: its name, "he" / "she" (not
    "his father"), or "it"."""
    if title and title.split(" (")[0] in before:
        return True  # the whole title: "A Modest Proposal For preventing the Children of ... is an essay"
    return about_subject(before, title) or re.search(r"\bit\b", before, re.IGNORECASE) is not None


def stated_agent(
    text: str, title: str | None, participles: str, entities: Sequence[Entity] | None = None
) -> tuple[int, int] | None:
    """(start, end) in `text` of who the first statement about the subject (`title`) says did the verb
    (`participles`, from `asked_agent`): the person or organisation right after "<participle> ... by", or,
    for a verb that makes works, after "is a ... by" in a sentence that opens with the subject's name;
    None when `text` states none. `entities`: spaCy entities of `text` (else a capitalised name)."""
    found = []
    for m in re.finditer(rf"\b(?:{participles}){_BETWEEN}\s+by\s+", text):
        begin = _sentence_start(text, m.start())
        if _about(text[begin : m.start()], title):
            span = person_at(text, m.end(), m.end() + _AFTER_CHARS, entities, title, _WHO_LABELS)
            if span is not None:
                found.append((m.start(), span))
    if set(participles.split("|")) & _MAKERS and title:
        name = re.escape(title.split(" (")[0])
        for m in re.finditer(rf"(?:^|(?<=[.!?]\s))(?:{name}\.\s+)?(?:The\s+)?{name}\b[^.;]{{0,60}}?"
                             rf"\b(?:is|was)\s+an?\s+[^.;]{{0,80}}?\s+by\s+", text):
            span = person_at(text, m.end(), m.end() + _AFTER_CHARS, entities, title, _WHO_LABELS)
            if span is not None:
                found.append((m.start(), span))
    return min(found)[1] if found else None


def prefer_agent(
    candidates: Sequence[Any], texts: Sequence[str], titles: Sequence[str | None], question: str,
    entities_of: Callable[[str], Sequence[Entity]], positions: Sequence[int | None] | None = None,
) -> list[Any]:
    """`candidates` (ranked `Candidate`s into `texts`, the read passages in reading order, of articles
    `titles`, at `positions` in their articles) with, when `question` asks who did something to the subject,
    the one `stated_agent` finds in the passages of the first read passage's article first. A candidate
    already on that span moves up; else a new one joins, scored below every other (probability 0). Unchanged
    when none states it."""
    participles = asked_agent(question)
    if participles is None:
        return list(candidates)
    if not texts:
        return list(candidates)
    out = list(candidates)
    if not _about_another_work(question, titles[0], _named_work(question)):
        out = rule_answer_first(
            candidates, texts, titles,
            lambda text, title: stated_agent(text, title, participles, entities_of(text)), positions)
        if out and out[0].rule:
            return out
    lead = subject_as_agent(texts, titles, question)
    return out if lead is None else put_first(out, *lead)


def subject_as_agent(
    texts: Sequence[str], titles: Sequence[str | None], question: str
) -> tuple[int, int, int] | None:
    """(passage, start, end) of the first read article's title heading one of its read passages, when
    `question` asks who made a work it names that has no article of its own but the person of that article
    ("Who wrote Brave New World?" read from the Aldous Huxley article: the answer is its subject, which the
    reader ranks last as an echo of the title). Only when the question names neither that title nor points
    at "this" one, the article's passages name the work as the subject's (`owns_work`), and they speak of a
    "he" or "she" (`family.subject_pronoun`); else None."""
    from kvqae.read.family import subject_pronoun

    title = titles[0]
    if not title or _POINTS.search(question):
        return None
    work = _named_work(question)
    if not _about_another_work(question, title, work):
        return None
    ours = [i for i, t in enumerate(titles) if t == title]
    if work is None or not any(owns_work(texts[i], title, work) for i in ours):
        return None
    if subject_pronoun([texts[i] for i in ours]) is None:
        return None
    heading = next((i for i in ours if texts[i].startswith(title)), None)
    return None if heading is None else (heading, 0, len(title))


def owns_work(text: str, title: str, work: str) -> bool:
    """Whether `text` names `work` as the subject's: a possessive ("his novels including Brave New World",
    "Tarkovsky's films include ... Solaris") or the subject making it ("He then directed Andrei Rublev in
    1966, Solaris in 1972", "she published ... the novel Atlas Shrugged") within the sentence's
    `_OWNER_CHARS` characters before it; not "Lincoln redirected emphasis to the Declaration of
    Independence"."""
    own = [re.escape(w) for w in re.findall(r"\w+", title) if len(w) > 2]
    who = "|".join([*own, "he", "she"])
    owner = re.compile(rf"\b(?:his|her|their|(?:{'|'.join(own) or 'x^'})['’]s)\b|"
                       rf"\b(?:{who})\s+(?:[a-z]+\s+){{0,2}}?(?:{_MAKING})\b", re.IGNORECASE)
    for m in re.finditer(re.escape(work), text):
        start = max(_sentence_start(text, m.start()), m.start() - _OWNER_CHARS)
        if owner.search(text, start, m.start()):
            return True
    return False


def _about_another_work(question: str, title: str | None, work: str | None) -> bool:
    """Whether `question` names a work (`work`, `_named_work`) and neither names the article `title` nor
    points at "this" entity: then the article's "<verb> by X" statements are about its subject's other
    works ("directed by Donatella Baglivo", a documentary about Tarkovsky, is not who directed Solaris)."""
    if work is None or not title or _POINTS.search(question):
        return False
    own = {w.lower() for w in re.findall(r"\w+", title) if len(w) > 2}
    return not own & {w.lower() for w in re.findall(r"\w+", question)}


def _named_work(question: str) -> str | None:
    """The work's name that is the whole object of a making verb, up to the question mark ("Who wrote
    Brave New World?" -> "Brave New World", "Who directed the film Solaris?" -> "Solaris"); None otherwise
    ("Who created the Japanese martial art whose ...?", "Who assassinated the 16th President of the United
    States?": a description, or no work)."""
    m = _ASKS_VERB.search(question)
    if m is None or _IRREGULAR.get(m.group(1).lower(), m.group(1).lower()) not in _WORK_VERBS:
        return None
    name = _WORK_NAME.match(question, m.end())
    return name.group(1) if name else None
