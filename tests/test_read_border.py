"""The neighbour on one side of a place (kvqae.read.border): the questions that ask it and the neighbour a
border sentence about the subject states on that side, on hand-made text."""

from __future__ import annotations

import pytest

from kvqae.read.answer_choice import Candidate
from kvqae.read.border import asked_side, neighbours, prefer_neighbour, stated_neighbour
from kvqae.read.lookup import lookup_passages


@pytest.mark.parametrize(("question", "side"), [
    ("Which country borders Algeria to the west?", "west"),
    ("which state borders alabama to the north", "north"),
    ("Which country borders this landlocked country in the far north-east?", "northeast"),
    ("What country lies to the south of this state?", "south"),
    ("Which country is on the eastern border of Albania?", "east"),
    ("Name the state that borders it on the south west", "southwest"),
    ("Which sea bounds this country, whose capital is Baku, on the east?", "east"),
    ("Which country borders Algeria?", None),  # no side: every neighbour answers
    ("Where is the north pole?", None),  # no neighbour asked
    ("When did this country's army cross to the west?", None),
])
def test_asked_side_by_hand(question, side):
    assert asked_side(question) == side


ALGERIA = ("Algeria. Algeria is bordered to the northeast by Tunisia, to the east by Libya, to the west by "
           "Morocco, to the southwest by Western Sahara, Mauritania, and Mali, and to the north by the "
           "Mediterranean Sea.")
ANGOLA = ("Angola. The exclave of Cabinda borders the Republic of the Congo to the east. It is bordered by "
          "Namibia to the south, the Democratic Republic of the Congo to the north and east, Zambia to the "
          "east, and the Atlantic Ocean to the west.")
AFGHANISTAN = ("It borders Pakistan in the south and east; Iran in the west; Turkmenistan, Uzbekistan, and "
               "Tajikistan in the north; and China in the far northeast.")


def neighbour(text: str, title: str, side: str, **kw) -> str | None:
    span = stated_neighbour(text, title, side, **kw)
    return None if span is None else text[span[0] : span[1]]


def test_neighbours_reads_both_shapes_of_a_border_sentence():
    sentence = ALGERIA.removeprefix("Algeria. ")
    found = [(sentence[a:b], sorted(sides)) for a, b, sides in neighbours(sentence)]
    assert found == [("Tunisia", ["northeast"]), ("Libya", ["east"]), ("Morocco", ["west"]),
                     ("Western Sahara", ["southwest"]), ("Mauritania", ["southwest"]),
                     ("Mali", ["southwest"]), ("Mediterranean Sea", ["north"])]
    sides = {AFGHANISTAN[a:b]: sorted(s) for a, b, s in neighbours(AFGHANISTAN)}
    assert sides == {"Pakistan": ["east", "south"], "Iran": ["west"], "Turkmenistan": ["north"],
                     "Uzbekistan": ["north"], "Tajikistan": ["north"], "China": ["northeast"]}
    assert neighbours("Algeria is a country to the north of Niger.") == []  # no border word


def test_stated_neighbour_by_hand():
    assert neighbour(ALGERIA, "Algeria", "west") == "Morocco"
    assert neighbour(ALGERIA, "Algeria", "north") == "Mediterranean Sea"
    assert neighbour(ALGERIA, "Algeria", "north", land_only=True) is None  # a sea is not a country
    assert neighbour(ALGERIA, "Algeria", "south") is None  # stated only south-east / south-west
    # the side stated alone before one stated for several; Cabinda's sentence is not about Angola
    assert neighbour(ANGOLA, "Angola", "east") == "Zambia"
    assert neighbour(ANGOLA, "Angola", "north") == "Democratic Republic of the Congo"
    assert neighbour(ANGOLA, "Angola", "east", excluded="Which country besides Zambia borders it?") == (
        "Democratic Republic of the Congo")
    assert neighbour(AFGHANISTAN, "Afghanistan", "northeast") == "China"
    assert neighbour(AFGHANISTAN, "Afghanistan", "north") == "Turkmenistan"  # the first of the list
    assert neighbour("Alabama. It is bordered by Tennessee to the north, Georgia to the east.", "Alabama",
                     "west") is None
    # a capitalised "Northwest" names a neighbour, not a side
    alberta = ("Alberta is bounded by the provinces of British Columbia to the west and Saskatchewan to the "
               "east, the Northwest Territories to the north, and the US state of Montana to the south.")
    assert neighbour(alberta, "Alberta", "north") == "Northwest Territories"
    assert neighbour(alberta, "Alberta", "east") == "Saskatchewan"
    # a question asking for a sea takes only one
    baku = "It is bounded by the Caspian Sea to the east, Russia to the north, and Turkey to the east."
    assert neighbour(baku, "Azerbaijan", "east", water_only=True) == "Caspian Sea"
    assert neighbour(baku, "Azerbaijan", "east", land_only=True) == "Turkey"


def test_prefer_neighbour_puts_the_stated_neighbour_first():
    texts = [ALGERIA]
    start = ALGERIA.index("Libya")
    read = [Candidate(0, start, start + len("Libya"), 2.0)]
    first = prefer_neighbour(read, texts, ["Algeria"], "Which country borders Algeria to the west?")[0]
    assert ALGERIA[first.start : first.end] == "Morocco" and first.rule
    assert prefer_neighbour(read, texts, ["Algeria"], "Which country borders Algeria?") == read


def test_lookup_reads_the_passage_stating_the_neighbour():
    article = ["a#0", "a#1", "a#2"]
    texts = {"a#0": "Algeria. Algeria is a country in North Africa.", "a#1": "Algeria. Its economy grew.",
             "a#2": ALGERIA}
    got = lookup_passages("Which country borders Algeria to the west?", article, texts.__getitem__, "Algeria",
                          set(), 4)
    assert got == ["a#0", "a#2"]
