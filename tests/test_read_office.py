"""Who holds an office of the subject now (kvqae.read.office): the questions that ask it and the holder of
"The current President ... is X" / "X has been President since ...", on hand-made text."""

from __future__ import annotations

import pytest

from kvqae.read.answer_choice import Candidate
from kvqae.read.office import asked_office, prefer_office, stated_office


@pytest.mark.parametrize(("question", "office"), [
    ("Who is the president of this Balkan country whose capital is Tirana?", "president"),
    ("Who is the current mayor of this city?", "mayor"),
    ("Who's the CEO of this company?", "ceo"),
    ("Who is the prime minister of this country?", "prime minister"),
    ("Who was the president of Algeria?", None),  # a past holder: any of them
    ("Who is the first president of Algeria?", None),  # an ordinal: not the present one
    ("Who is the director of this film?", None),  # who made it: kvqae.read.agent
])
def test_asked_office_by_hand(question, office):
    assert asked_office(question) == office


def holder(text: str, office: str = "president") -> str | None:
    span = stated_office(text, office)
    return None if span is None else text[span[0] : span[1]]


def test_stated_office_takes_the_present_holder_not_a_former_one():
    algeria = ("Algeria. Houari Boumediene became president in 1965. Abdelaziz Bouteflika has been President "
               "since 1999.")
    assert holder(algeria) == "Abdelaziz Bouteflika"
    albania = ("Albania. The head of state is the President of the Republic. The President is elected for "
               "five years. The current President of the Republic is Bujar Nishani, elected in 2012.")
    assert holder(albania) == "Bujar Nishani"
    assert holder("The current governor of the state is Republican Kay Ivey.", "governor") == "Kay Ivey"
    assert holder("Under the current President, Jane Roe, taxes fell.") == "Jane Roe"
    assert holder("Alberta. The premier has been Rachel Notley since May 2015.", "premier") == "Rachel Notley"
    assert holder("Alberta. The premier is normally a member of the Assembly.", "premier") is None
    assert holder("Alberta. The current premier is Rachel", "premier") is None  # cut where the passage ends
    assert holder("He is the president of the club since 2001.") is None  # no name
    assert holder("Abdelaziz Bouteflika has been President since 1999.", "king") is None


def test_prefer_office_puts_the_holder_first():
    texts = ["Algeria. Houari Boumediene became president in 1965. Abdelaziz Bouteflika has been President."]
    start = texts[0].index("Houari")
    read = [Candidate(0, start, start + len("Houari Boumediene"), 2.0)]
    first = prefer_office(read, texts, ["Algeria"], "Who is the president of Algeria?")[0]
    assert texts[0][first.start : first.end] == "Abdelaziz Bouteflika" and first.rule
    assert prefer_office(read, texts, ["Algeria"], "Who was the president of Algeria?") == read
