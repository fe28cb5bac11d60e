"""An award the subject won (kvqae.read.award): which questions ask it, which statements name it, on
hand-made text; the rule moving the answer first; the look-up of the passages naming one."""

from __future__ import annotations

import pytest

from kvqae.read.answer_choice import Candidate
from kvqae.read.award import asked_award, prefer_award, stated_award


@pytest.mark.parametrize(("question", "asked"), [
    ("What award did this physicist win?", (True, None)),
    ("Which prize did this mathematician receive in 1982?", (True, "1982")),
    ("What honours was this general awarded?", (True, None)),
    ("Which film festival prize was this film given?", (True, None)),
    # no award asked
    ("What did this man win?", (False, None)),
    ("Which team won the cup in 1990?", (False, None)),
    ("When did this physicist win the Nobel Prize?", (False, None)),
])
def test_asked_award(question, asked):
    assert asked_award(question) == asked


VOS = ("Jan Vos. His son won the Rembrandt Prize. In 1880 Vos received the 1880 Delft Medal of Honour for "
       "his boats. He was awarded the Prix de Rome in 1885. Vos won the Academy Award for Best Director for "
       "Boats in 1890. He also won the Palme d'Or for Storm.")


@pytest.mark.parametrize(("year", "award"), [
    (None, "Delft Medal of Honour"),  # not his son's; the year before the name left out
    ("1885", "Prix de Rome"),  # the sentence with the asked year
    ("1890", "Academy Award for Best Director"),  # "for" a category, not "for Boats"
    ("1870", None),
])
def test_stated_award_by_hand(year, award):
    span = stated_award(VOS, "Jan Vos", year)
    assert (VOS[span[0]:span[1]] if span else None) == award


def test_an_award_name_needs_an_award_word_and_keeps_d_or():
    assert stated_award("Jan Vos. Vos received Anna Smit at home.", "Jan Vos") is None
    text = "Jan Vos. He also won the Palme d'Or for Storm."
    span = stated_award(text, "Jan Vos")
    assert text[span[0]:span[1]] == "Palme d'Or"


def test_prefer_award_and_the_lookup():
    from kvqae.read.lookup import lookup_passages

    lead = "Jan Vos. Jan Vos was a Dutch painter."
    texts, titles = [lead, VOS], ["Jan Vos", "Jan Vos"]
    other = Candidate(0, 9, 16, -1.0, 0.7)
    out = prefer_award([other], texts, titles, "Which prize did this painter win in 1885?")
    assert (out[0].passage, VOS[out[0].start:out[0].end], out[0].rule) == (1, "Prix de Rome", True)
    assert prefer_award([other], texts, titles, "Where did this painter die?") == [other]
    article = {"Vos#0": lead, "Vos#1": "Jan Vos. He painted boats.", "Vos#2": VOS}
    assert lookup_passages("What award did this painter win?", list(article), article.__getitem__, "Jan Vos",
                           {"Vos#0"}, 2) == ["Vos#2"]
