"""Words and their meanings (kvqae.read.gloss): the term before a meaning the question quotes, and the
quoted meaning of a name, on hand-made text."""

from __future__ import annotations

import pytest

from kvqae.read.answer_choice import Candidate
from kvqae.read.gloss import (
    asked_gloss,
    asked_language,
    asks_meaning,
    prefer_gloss,
    stated_meaning,
    term_before_gloss,
    word_in_language,
)
from kvqae.read.lookup import lookup_passages


@pytest.mark.parametrize(("question", "gloss"), [
    ("Which Latin plea, meaning 'no contest', can be entered at an arraignment?", "no contest"),
    ("Tell me the Afrikaans name, meaning “mane jackal”, of this animal", "mane jackal"),
    ("Which Middle Egyptian word meaning 'mud brick' is the ancestor of its name?", "mud brick"),
    ("What does the name of this plea mean?", None),  # no meaning given
    ("Who wrote 'no contest'?", None),  # a quote, not a meaning
])
def test_asked_gloss_by_hand(question, gloss):
    assert asked_gloss(question) == gloss


@pytest.mark.parametrize(("question", "asks"), [
    ("What does the Latin word behind the name of this measure mean?", True),
    ("What do the Latin words behind its name mean?", True),
    ("What is the meaning of its name?", True),
    ("What does this country export?", False),
    ("What is the name of its capital?", False),
])
def test_asks_meaning_by_hand(question, asks):
    assert asks_meaning(question) is asks


def term(text: str, gloss: str) -> str | None:
    span = term_before_gloss(text, gloss)
    return None if span is None else text[span[0] : span[1]]


def test_term_before_gloss_by_hand():
    pleas = 'Pleas of "nolo contendere" (no contest) and the "Alford plea" are allowed.'
    assert term(pleas, "no contest") == "nolo contendere"  # a quoted term, the gloss in brackets
    jackal = 'It is also called "maanhaar jackal" (Afrikaans for "mane jackal") or civet hyena.'
    assert term(jackal, "mane jackal") == "maanhaar jackal"  # "Afrikaans for" between
    adobe = 'The word can be traced from the Middle Egyptian word dbt "mud brick." As it evolved, ...'
    assert term(adobe, "mud brick") == "dbt"  # one word, the gloss in quotes
    assert term("Its walls are of mud brick and straw.", "mud brick") is None  # the words, not a gloss


def test_stated_meaning_by_hand():
    albedo = ('Albedo, derived from Latin albedo "whiteness" (or reflected sunlight) in turn from albus '
              '"white", is the reflecting power of a surface.')
    span = stated_meaning(albedo)
    assert albedo[span[0] : span[1]] == "whiteness"  # the language's word, its first quoted meaning
    asia = 'The name Austroasiatic comes from the Latin words for "south" and "Asia", hence "South Asia".'
    span = stated_meaning(asia)
    assert asia[span[0] : span[1]] == "South Asia"  # "hence" before the other quotes
    assert stated_meaning('He said "south" twice. The Latin albus "white" is old.') is None  # no name or word


def test_prefer_gloss_puts_the_term_or_the_meaning_first():
    texts = ['Arraignment. Pleas of "nolo contendere" (no contest) are allowed.']
    start = texts[0].index("Pleas")
    read = [Candidate(0, start, start + 5, 2.0)]
    first = prefer_gloss(read, texts, ["Arraignment"], "Which Latin plea, meaning 'no contest', is it?")[0]
    assert texts[0][first.start : first.end] == "nolo contendere" and first.rule
    assert prefer_gloss(read, texts, ["Arraignment"], "Which plea is allowed?") == read


def test_lookup_reads_the_passage_with_the_gloss():
    texts = {"a#0": "Arraignment. It is a court step.", "a#1": "Arraignment. Pleas differ.",
             "a#2": 'Arraignment. Pleas of "nolo contendere" (no contest) are allowed.'}
    question = "Which Latin plea, meaning 'no contest', is allowed?"
    got = lookup_passages(question, list(texts), texts.__getitem__, "Arraignment", set(), 4)
    assert got == ["a#0", "a#2"]


@pytest.mark.parametrize(("question", "language"), [
    ("What's the Hebrew cognate of the word Allah?", "Hebrew"),
    ("What is the Aramaic cognate of this Arabic word for God?", "Aramaic"),  # the first one named
    ("What's the Russian version of this bead counting frame called?", "Russian"),
    ("What is this city called in French?", "French"),
    ("What is the name of its capital?", None),
    ("Which Nobel Prize did he win?", None),
])
def test_asked_language_by_hand(question, language):
    assert asked_language(question) == language


def test_word_in_language_by_hand():
    allah = "It has cognates, including Elah in Aramaic, ʾĒl in Canaanite and Elohim in Hebrew."
    for language, word in (("Hebrew", "Elohim"), ("Aramaic", "Elah"), ("Canaanite", "ʾĒl")):
        span = word_in_language(allah, language)
        assert allah[span[0] : span[1]] == word
    aramaic = "The corresponding Aramaic form is Elah, but its emphatic state is Elaha."
    span = word_in_language(aramaic, "Aramaic")
    assert aramaic[span[0] : span[1]] == "Elah"
    abacus = "The Russian abacus, the schoty, usually has a single slanted deck."
    span = word_in_language(abacus, "Russian")
    assert abacus[span[0] : span[1]] == "schoty"
    assert word_in_language(allah, "Greek") is None
