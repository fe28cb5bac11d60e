"""When the subject did something (kvqae.read.eventdate): the verb a question asks about and its forms,
which sentences date it, on hand-made text; the rule moving the answer first; the look-up."""

from __future__ import annotations

import pytest

from kvqae.read.answer_choice import Candidate
from kvqae.read.eventdate import (
    asked_event,
    asked_event_names,
    prefer_event_date,
    stated_event_date,
    verb_forms,
)


@pytest.mark.parametrize(("word", "forms"), [
    ("retire", {"retire", "retired"}),
    ("marry", {"marry", "married"}),
    ("join", {"join", "joined"}),
    ("stop", {"stop", "stoped", "stopped"}),
    ("become", {"become", "became"}),
    ("write", {"write", "wrote", "written"}),
    ("founded", {"founded"}),
])
def test_verb_forms(word, forms):
    assert verb_forms(word) == forms


@pytest.mark.parametrize(("question", "asked"), [
    ("In which year did Jan Vos retire?", ({"retire", "retired"}, True)),
    ("When did this painter retire from painting?", ({"retire", "retired"}, False)),
    ("When did this country join the European Union?", ({"join", "joined"}, False)),
    ("When was this bridge opened?", ({"opened"}, False)),
    ("What year was this church founded?", ({"founded"}, True)),
    # birth and death have their own rules; not a time question; no verb
    ("When was this painter born?", None),
    ("In which year did he die?", None),
    ("Where did this painter retire?", None),
    ("When was this?", None),
    # a relative clause: which verb is asked is not clear
    ("On what date did the president who led the Union give his address?", None),
])
def test_asked_event(question, asked):
    assert asked_event(question) == asked


@pytest.mark.parametrize(("question", "names"), [
    ("In which year did Ayn Rand publish The Fountainhead?", ["Ayn", "Rand", "Fountainhead"]),
    ("In which year was Mobile, the oldest city of this state, founded?", ["Mobile"]),  # not the appositive
    ("When did this country join the European Union?", ["European", "Union"]),
    ("In which year did Andre Agassi first reach the World No. 1 ranking?", ["Andre", "Agassi", "World"]),
    # the subject described: its words say which entity, not what happened
    ("In which year was this children's book by Graeme Base first published?", []),
    ("When did this tennis player retire?", []),
    ("Where was this painter born?", []),
])
def test_asked_event_names(question, names):
    assert asked_event_names(question) == names


def test_the_sentence_must_name_what_the_event_is_about():
    # "published" about another of the author's novels dated "publish The Fountainhead" (1957, not 1943)
    text = ("Ayn Rand. In 1957 she published Atlas Shrugged. She published The Fountainhead in 1943, after "
            "twelve rejections.")
    forms = verb_forms("publish")
    assert text[slice(*stated_event_date(text, "Ayn Rand", forms, True))] == "1957"
    names = asked_event_names("In which year did Ayn Rand publish The Fountainhead?")
    assert text[slice(*stated_event_date(text, "Ayn Rand", forms, True, names=names))] == "1943"
    assert stated_event_date(text, "Ayn Rand", forms, True, names=["Anthem"]) is None


VOS = ("Jan Vos. His brother retired in 1870. In 1880 Vos married Anna Mertens. Vos retired from painting on "
       "3 May 1901, after an illness. The Vos Museum was opened in 1950.")


@pytest.mark.parametrize(("forms", "year_only", "date"), [
    ({"retire", "retired"}, False, "3 May 1901"),  # not his brother's; the date after the verb
    ({"retire", "retired"}, True, "1901"),  # the year alone
    ({"marry", "married"}, False, "1880"),  # the date before the verb, in its sentence
    ({"join", "joined"}, False, None),
])
def test_stated_event_date_by_hand(forms, year_only, date):
    span = stated_event_date(VOS, "Jan Vos", forms, year_only)
    assert (VOS[span[0]:span[1]] if span else None) == date


def test_a_passive_about_the_subjects_noun_counts():
    text = "Delft Bridge. The old bridge was opened on 1 June 1937 by the mayor. It was painted in 1950."
    assert text[slice(*stated_event_date(text, "Delft Bridge", {"opened"}, False))] == "1 June 1937"
    assert text[slice(*stated_event_date(text, "Delft Bridge", {"painted"}, True))] == "1950"  # "It was"


def test_a_leads_participle_counts_and_a_subordinate_it_does_not():
    text = ("Animal Farm. Animal Farm is an allegorical novella by George Orwell, first published in England "
            "on 17 August 1945. U.S. publishers dropped the subtitle when it was published in 1946.")
    assert text[slice(*stated_event_date(text, "Animal Farm", {"published"}, False))] == "17 August 1945"
    later = "Animal Farm. U.S. publishers dropped the subtitle when it was published in 1946."
    assert stated_event_date(later, "Animal Farm", {"published"}, False) is None


def test_prefer_event_date_and_the_lookup():
    from kvqae.read.lookup import lookup_passages

    lead = "Jan Vos. Jan Vos (1850-1920) was a Dutch painter who turned professional in 1868."
    texts, titles = [lead, VOS], ["Jan Vos", "Jan Vos"]
    wrong = Candidate(0, lead.index("1868"), lead.index("1868") + 4, -1.0, 0.7)
    out = prefer_event_date([wrong], texts, titles, "In which year did Jan Vos retire?")
    assert (out[0].passage, VOS[out[0].start:out[0].end], out[0].rule) == (1, "1901", True)
    assert prefer_event_date([wrong], texts, titles, "When was Jan Vos born?") == [wrong]
    article = {"Vos#0": lead, "Vos#1": "Jan Vos. He painted boats.", "Vos#2": VOS}
    assert lookup_passages("When did this painter retire?", list(article), article.__getitem__, "Jan Vos",
                           {"Vos#0"}, 2) == ["Vos#2"]


def test_he_or_she_is_not_the_subject_in_an_article_about_someone_of_the_other_sex():
    text = "Jan Vos. In 2008, Anna Smit ran for office when she became his running mate."
    assert stated_event_date(text, "Jan Vos", {"become", "became"}, False, pronoun="he") is None
    for pronoun in ("she", None):  # her own article, or one the pronouns do not tell
        span = stated_event_date(text, "Jan Vos", {"become", "became"}, False, pronoun=pronoun)
        assert text[span[0]:span[1]] == "2008"
