"""A colour asked for (kvqae.read.colour): the questions that ask one and the colour word of the sentence
sharing the most of the question's words, on hand-made text."""

from __future__ import annotations

import pytest

from kvqae.read.answer_choice import Candidate
from kvqae.read.colour import asks_colour, prefer_colour, stated_colour


@pytest.mark.parametrize(("question", "asks"), [
    ("What colour do these sour-tasting substances turn blue litmus?", True),
    ("Which color is the flag of this country?", True),
    ("What colors are on its coat of arms?", True),
    ("Which astronaut took the famous colour photograph?", False),
    ("What is the capital of this country?", False),
])
def test_asks_colour_by_hand(question, asks):
    assert asks_colour(question) is asks


ACID = ("An acid is a chemical substance whose solutions are characterized by a sour taste, the ability to "
        "turn blue litmus red, and the ability to react with bases. Some acids are white solids.")


def colour(text: str, question: str) -> str | None:
    found = stated_colour(text, question)
    return None if found is None else text[found[0][0] : found[0][1]]


def test_stated_colour_by_hand():
    question = "What colour do these sour-tasting substances turn blue litmus?"
    assert colour(ACID, question) == "red"  # "blue" is named by the question
    assert stated_colour(ACID, question)[1] == 5  # sour, tasting (taste), substances, turn, litmus
    # the sentence sharing more of the question's words wins over an earlier one
    assert colour(ACID, "What colour are some of these acids as solids?") == "white"
    assert colour("The sky is dark blue at night.", "What colour is the sky?") == "dark blue"
    assert colour("The sea is wide.", "What colour is the sea?") is None  # no colour
    assert colour("The sky is blue.", "What colour is the sea?") is None  # shares no word


def test_prefer_colour_takes_the_best_sentence_of_the_first_article():
    texts = ["Acid. Acids are often sold in brown bottles.", ACID, "Base. Bases turn red litmus blue."]
    start = texts[0].index("Acids")
    read = [Candidate(0, start, start + 5, 2.0)]
    first = prefer_colour(read, texts, ["Acid", "Acid", "Base"], "What colour do acids turn blue litmus?")[0]
    assert (first.passage, texts[1][first.start : first.end]) == (1, "red") and first.rule
    assert prefer_colour(read, texts, ["Acid", "Acid", "Base"], "What do acids turn blue litmus?") == read
