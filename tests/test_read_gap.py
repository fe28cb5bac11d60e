"""The gap rule (kvqae.read.gap): the phrase standing where the question's gap stands."""

import pytest

from kvqae.read.answer_choice import Candidate
from kvqae.read.gap import (
    Anchor,
    SpacyTags,
    asks_thing,
    gap_anchors,
    noun_phrase,
    phrase_at,
    prefer_gap,
    stated_gap,
)

HEYERDAHL = "What were Thor Heyerdahl's boats built from when he tried to cross this ocean in 1969 and 1970?"


def _found(text: str, question: str) -> str | None:
    found = stated_gap(text, question)
    return None if found is None else text[slice(*found[0])]


@pytest.mark.parametrize(("question", "expected"), [
    ("What were Thor Heyerdahl's boats built from when he tried to cross this ocean?", True),
    ("Which substance are Chinese alchemists said to have invented?", True),
    ("What did Aristotle study?", True),
    ("Which city is the capital of Alaska?", False),  # a category noun: the NER answers it
    ("On which farm is this novella set?", False),  # a name holding its noun: "Manor Farm" (session 31)
    ("Who wrote this novel?", False),
    ("When was he born?", False),
    ("How many moons does it have?", False),
    ("Who is this man?", False),
])
def test_asks_thing(question, expected):
    assert asks_thing(question) is expected


def test_gap_anchors_end_phrases():
    # "built" and "from" stand before "when", "left" before "?"; "his" and "boats" stand before no boundary
    anchors = gap_anchors("What were his boats built from when he left?")
    assert anchors == [Anchor("built"), Anchor(None, "from", frozenset({"boat", "built"})), Anchor("left")]


def test_gap_anchors_word_before_an_inner_wh_word():
    anchors = gap_anchors("Atoms with different neutron numbers are known as what?")
    assert Anchor(None, "as", frozenset({"differ", "neutron", "number", "known"})) in anchors


@pytest.mark.parametrize(("text", "start", "expected"), [
    ("from papyrus, and", 5, "papyrus"),
    ('the "line feed" function', 4, "line feed"),
    ("into the Cypress named after him", 9, "Cypress"),
    ("waterproof birch bark canoes, and", 11, "birch bark canoes"),
    ("opium despite efforts", 0, "opium"),
    ("this liquid", 0, None),  # a pronoun points elsewhere
    ("of the banks", 0, None),  # a function word starts no phrase
])
def test_phrase_at(text, start, expected):
    span = phrase_at(text, start)
    assert (None if span is None else text[slice(*span)]) == expected


def test_stranded_preposition():
    text = ("In 1969 and 1970 Thor Heyerdahl launched expeditions to cross the Atlantic in boats built from "
            "papyrus.")
    assert _found(text, HEYERDAHL) == "papyrus"


def test_preposition_after_a_word_of_the_question_two_words_back():
    text = "Apollo granted the request by turning him into the Cypress named after him, a sad tree."
    assert _found(text, "What kind of tree did this Greek god turn his lover Cyparissus into?") == "Cypress"


def test_object_of_the_question_verb():
    text = "It is said that the Chinese invented gunpowder while trying to find a potion for eternal life."
    question = "Which substance are Chinese alchemists said to have invented while searching for a potion?"
    assert _found(text, question) == "gunpowder"


def test_phrases_that_repeat_the_question_are_skipped():
    # "star" is in the question: the second "meaning" gives the answer
    text = ('The term derives from the Greek words ástron (ἄστρον), meaning "star", and nautes, meaning '
            '"sailor".')
    question = "The word comes from Greek ástron, 'star', and nautes, meaning what?"
    assert _found(text, question) == "sailor"


def test_the_asked_noun_may_be_repeated():
    text = "Car batteries are filled with a dilute sulfuric acid solution, made in large plants."
    found = stated_gap(text, "Car batteries are filled with which acid?", SpacyTags.load())
    assert found is not None and text[slice(*found[0])] == "dilute sulfuric acid solution"


def test_a_sentence_sharing_too_few_words_gives_nothing():
    text = "The hulls were built from papyrus."
    # shares "built" only: a sentence must share two of the question's content words
    assert _found(text, HEYERDAHL) is None


def test_no_anchor_no_phrase():
    question = "What were Heyerdahl's boats built from?"
    assert _found("Heyerdahl's boats sailed across the ocean.", question) is None


def test_prefer_gap_puts_the_phrase_first_in_the_first_article():
    texts = ["The reed boats, built from papyrus, sank.", "Other boats were built from oak in Norway."]
    titles = ["Atlantic Ocean", "Norway"]
    reader = [Candidate(0, 4, 8, -1.0, 0.5)]  # "reed"
    out = prefer_gap(reader, texts, titles, "What were the reed boats built from?")
    assert (out[0].passage, texts[0][out[0].start : out[0].end], out[0].rule) == (0, "papyrus", True)
    assert out[1:] == reader


def test_prefer_gap_leaves_other_questions_alone():
    texts = ["The reed boats, built from papyrus, sank."]
    reader = [Candidate(0, 4, 8, -1.0, 0.5)]
    assert prefer_gap(reader, texts, ["Atlantic Ocean"], "When were the reed boats built?") == reader


def test_noun_phrase_cuts_at_the_first_word_of_another_kind():
    text = "boats built from papyrus"
    tags = [(0, 5, "NOUN"), (6, 11, "VERB"), (12, 16, "ADP"), (17, 24, "NOUN")]
    assert noun_phrase(text, 0, 24, tags) == (0, 5)  # "boats"
    assert noun_phrase(text, 6, 24, tags) is None  # opens with a verb
    hyphenated = "body-centered cubic structure"
    tags = [(0, 4, "NOUN"), (4, 5, "PUNCT"), (5, 13, "ADJ"), (14, 19, "ADJ"), (20, 29, "NOUN")]
    assert noun_phrase(hyphenated, 0, 29, tags) == (0, 29)  # "body-centered" is one word
    colour = "sky-blue"
    assert noun_phrase(colour, 0, 8, [(0, 3, "NOUN"), (3, 4, "PUNCT"), (4, 8, "ADJ")]) == (0, 8)


def test_the_tagger_keeps_adverbs_out():
    question = "What did alchemists in China invent?"
    text = "Alchemists in China invented mostly by accident."
    assert _found(text, question) == "mostly"  # the words alone cannot tell
    found = stated_gap(text, question, SpacyTags.load())
    assert found is None
    found = stated_gap("Alchemists in China invented gunpowder by accident.", question, SpacyTags.load())
    assert found is not None and found[0] == (29, 38)  # "gunpowder"
