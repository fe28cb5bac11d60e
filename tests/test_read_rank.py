"""Where the subject ranks (kvqae.read.rank): the questions that ask it and the ordinal superlative of
the sentence sharing the most of the question's words, on hand-made text."""

from __future__ import annotations

import pytest

from kvqae.read.answer_choice import Candidate
from kvqae.read.lookup import lookup_passages
from kvqae.read.rank import asks_rank, prefer_rank, stated_rank


@pytest.mark.parametrize(("question", "asks"), [
    ("How does Andorra rank in size among the nations of Europe?", True),
    ("Where does this prairie province rank among Canada's provinces by population?", True),
    ("What is its rank by area?", True),
    ("What rank did he hold in the army?", False),  # a military rank
    ("Which rank is the highest in aikido?", False),  # a thing called a rank, not the subject's place
    ("How big is Andorra?", False),
])
def test_asks_rank_by_hand(question, asks):
    assert asks_rank(question) is asks


def ranked(text: str, question: str) -> str | None:
    found = stated_rank(text, question)
    return None if found is None else text[found[0][0] : found[0][1]]


def test_stated_rank_by_hand():
    andorra = ("Andorra is the sixth-smallest nation in Europe, having an area of 468 km2. It is the 16th "
               "most visited country in Europe.")
    assert ranked(andorra, "How does Andorra rank in size among the nations of Europe?") == "sixth-smallest"
    assert ranked(andorra, "How does Andorra rank among visited countries?") == "16th most visited"
    alberta = "It is Canada's fourth-most populous province and the most populous of the prairie provinces."
    assert ranked(alberta, "Where does this province rank among Canada's provinces by population?") == (
        "fourth-most populous")
    kabul = "Its territory covers 652,000 km2, making it the 41st largest country in the world."
    assert ranked(kabul, "How does this country rank in the world by area?") == "41st largest"
    assert ranked("It is the largest country in Africa.", "How does it rank in Africa by size?") is None
    assert ranked("He came sixth-fastest in 1900.", "How does Andorra rank in size?") is None


def test_prefer_rank_takes_the_best_sentence_of_the_first_article():
    texts = ["Andorra. It is the 16th most visited country. The sixth-smallest nation in Europe is Andorra.",
             "Monaco. It is the second-smallest nation in Europe."]
    read = [Candidate(0, 0, 7, 2.0)]
    first = prefer_rank(read, texts, ["Andorra", "Monaco"], "How does Andorra rank in size in Europe?")[0]
    assert texts[0][first.start : first.end] == "sixth-smallest" and first.rule
    assert prefer_rank(read, texts, ["Andorra", "Monaco"], "How big is Andorra?") == read


def test_lookup_reads_the_passage_with_a_rank():
    texts = {"a#0": "Andorra. A small country.", "a#1": "Andorra. Skiing.",
             "a#2": "Andorra. It is the sixth-smallest nation in Europe."}
    got = lookup_passages("How does Andorra rank in size?", list(texts), texts.__getitem__, "Andorra", set(),
                          4)
    assert got == ["a#0", "a#2"]
