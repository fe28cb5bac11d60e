"""Reading past the retrieved passages: the lead of the article retrieval put first, and for a question
about a person's birth or death the passages of that article that state it.

Retrieval finds the right article far more often than the passage with the answer (the dev set: the gold
article first for 98% of questions, an answer passage first for 74%), and an article's lead states what
people ask most: definitions, capitals, dates, where a place is. So the article of the first read passage
(the retrieval's best guess at the entity asked about) is looked up in the KB and its lead is read too
when it was not retrieved (`lookup_passages`; validation EM +1 to +2 questions and P@1 +1 to +2 with each
of three readers, README session 14).

"When was this man born?" and "Where did she die?" are what people ask most about a photo of a person, and
the answer sits in a known place of the person's article: the lead's lifespan parenthesis for the dates,
the sentence with "born" / "died" for the places ("Tarkovsky died in Paris on 29 December 1986", passage
19 of 40; "die" is one word of the question, and the person's description matches every passage). For
such a question the passages read besides the retrieved ones are, up to `limit`: for a date the lead, and
when the lead's parenthesis lacks that date (a removed template leaves "(born Alisa Rosenbaum,; – March 6,
1982)") the passages with "born" / "died" and a date after it (`kvqae.read.lifespan.verb_date`); for a
place the passages with "born" / "died" followed by "in" / "at" / "near" and a capitalised word that is not
a month, in a sentence about the subject (`kvqae.read.lifeplace`, which then picks the place).

"What is the capital of this state?", "Who was his first wife?", "Who wrote this essay?" alike: the lead,
then the passages stating the attribute, naming the relative or saying who did it about the subject ("The
capital of Alabama is Montgomery", passage 3 of 110; `kvqae.read.attribute`, `family`, `agent`, which then
pick the answer); likewise "Which university did he attend?" and "What award did he win?"
(`kvqae.read.education`, `award`, session 23). The article's passages are scanned only until enough unread
ones are found.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence

from kvqae.read.acronym import asked_abbreviation, stated_expansion
from kvqae.read.agent import asked_agent, stated_agent
from kvqae.read.answer_types import expected_kind
from kvqae.read.attribute import asked_attribute, stated_attribute
from kvqae.read.award import asked_award, stated_award
from kvqae.read.border import asked_side, stated_neighbour
from kvqae.read.education import asked_school, stated_school
from kvqae.read.eventdate import asked_event, asked_event_names, stated_event_date
from kvqae.read.family import asked_relation, stated_relative
from kvqae.read.gloss import (
    asked_gloss,
    asked_language,
    asks_meaning,
    stated_meaning,
    term_before_gloss,
    word_in_language,
)
from kvqae.read.lifeplace import PLACE_AFTER, asked_life_place, life_verbs
from kvqae.read.lifespan import asked_life_event, life_dates, verb_date
from kvqae.read.naming import asked_naming, stated_naming
from kvqae.read.office import asked_office, stated_office
from kvqae.read.party import asks_party, subject_parties
from kvqae.read.rank import RANKED, asks_rank
from kvqae.read.teacher import asks_teacher, stated_teacher
from kvqae.read.words import expand_contractions


def lookup_passages(
    question: str, article: Sequence[str], text_of: Callable[[str], str], title: str | None, read: set[str],
    limit: int,
) -> list[str]:
    """Ids of passages of `article` (passage ids in article order; its first is the lead; `text_of(id)`
    their text) to read besides the `read` ones for `question`, at most `limit`, in article order: for a
    birth or death date the lead (and the passages dating that event after "born" / "died" when the lead's
    parenthesis does not), for a birth or death place the passages with such a place sentence about the
    article's subject (`title`), for an attribute ("What is the capital of ...?") the lead and the passages
    stating it (`kvqae.read.attribute.stated_attribute`), for a relative ("Who was his first wife?") the lead
    and the passages naming one (`kvqae.read.family.stated_relative`), for who did something to the subject
    ("Who wrote this essay?") the lead and the passages saying "written by" (`kvqae.read.agent`), for where
    someone studied the lead and the passages naming a school after a study verb (`kvqae.read.education`),
    for an award the lead and the passages naming one after "won" / "received" (`kvqae.read.award`), for
    when the subject did something the lead and the passages dating the question's verb
    (`kvqae.read.eventdate`), for a party the lead and the passages naming one in a sentence about the
    subject (`kvqae.read.party`), for an office's holder the lead and the passages naming a present one
    (`kvqae.read.office`), for a neighbour on a side the lead and the passages stating one in a border
    sentence (`kvqae.read.border`), for what a thing is called the lead and the passages naming it after
    "called" / "known as" (`kvqae.read.naming`), for a word given its meaning or a word's meaning the lead
    and the passages stating one (`kvqae.read.gloss`), for what an abbreviation stands for the lead and the
    passages spelling it out (`kvqae.read.acronym`), for a rank the lead and the passages with an ordinal
    superlative (`kvqae.read.rank`), for a teacher the lead and the passages naming one
    after "a pupil of" (`kvqae.read.teacher`), for any other question the lead."""
    if limit <= 0 or not article:
        return []
    question = expand_contractions(question)  # "What's the capital ...?" asks as "What is ..." does
    lead = article[0]
    later: Iterable[str] = ()  # the passages stating what is asked, lazily: scanned until enough are found
    if (event := asked_life_event(question)) is not None:
        dates, subject, _ = life_dates(text_of(lead), title)
        if not (subject and event in dates):  # the lead lacks it: "born ... on February 2, 1905"
            later = (pid for pid in article[1:] if verb_date(text_of(pid), title, event) is not None)
    elif (event := asked_life_place(question)) is not None:
        return _first_unread((pid for pid in article if _names_a_place(text_of(pid), title, event)), read,
                             limit)
    elif (relation := asked_relation(question)) is not None:
        # without the NER (every passage of the article): a capitalised name after the statement
        later = (pid for pid in article if stated_relative(text_of(pid), title, relation))
    elif (participles := asked_agent(question)) is not None:
        later = (pid for pid in article if stated_agent(text_of(pid), title, participles))
    elif (kind := asked_school(question)) is not None:
        later = (pid for pid in article if stated_school(text_of(pid), title, kind))
    elif (event_asked := asked_event(question)) is not None:
        names = asked_event_names(question)
        later = (pid for pid in article
                 if stated_event_date(text_of(pid), title, *event_asked, names=names))
    elif asks_party(question):
        later = (pid for pid in article if subject_parties(text_of(pid), title))
    elif (office := asked_office(question)) is not None:
        later = (pid for pid in article if stated_office(text_of(pid), office))
    elif (side := asked_side(question)) is not None:
        later = (pid for pid in article if stated_neighbour(text_of(pid), title, side))
    elif (gloss := asked_gloss(question)) is not None:
        later = (pid for pid in article if term_before_gloss(text_of(pid), gloss))
    elif (abbreviation := asked_abbreviation(question)) is not None:
        later = (pid for pid in article if stated_expansion(text_of(pid), title, abbreviation))
    elif asks_rank(question):
        later = (pid for pid in article if RANKED.search(text_of(pid)))
    elif asks_meaning(question):
        later = (pid for pid in article if stated_meaning(text_of(pid)))
    elif (language := asked_language(question)) is not None:
        later = (pid for pid in article if word_in_language(text_of(pid), language))
    elif (thing := asked_naming(question)) is not None:
        later = (pid for pid in article if thing.stems and stated_naming(text_of(pid), thing))
    elif asks_teacher(question):
        later = (pid for pid in article if stated_teacher(text_of(pid), title))
    elif (award := asked_award(question))[0]:
        later = (pid for pid in article if stated_award(text_of(pid), title, award[1]))
    elif (attribute := asked_attribute(question)) is not None:
        names_only = expected_kind(question) == "name"
        later = (pid for pid in article
                 if stated_attribute(text_of(pid), title, attribute, names_only=names_only))
    return _first_unread(itertools.chain([lead], later), read, limit)


def _first_unread(ids: Iterable[str], read: set[str], limit: int) -> list[str]:
    """The first `limit` distinct ids of `ids` not in `read`, in order; `ids` is consumed only that far."""
    out: list[str] = []
    for pid in ids:
        if pid not in read and pid not in out:
            out.append(pid)
            if len(out) == limit:
                break
    return out


def _names_a_place(text: str, title: str | None, event: str) -> bool:
    """Whether a "born" / "died" of `text` about the subject is followed closely by a place-like phrase."""
    return any(PLACE_AFTER.search(text, start, stop) for start, stop in life_verbs(text, title, event))
