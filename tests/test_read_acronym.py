"""The abbreviation rule (kvqae.read.acronym): the words an abbreviation stands for."""

import pytest

from kvqae.read.acronym import asked_abbreviation, expansion, prefer_expansion, stated_expansion
from kvqae.read.answer_choice import Candidate
from kvqae.read.lookup import lookup_passages

ASCII_LEAD = ("ASCII. ASCII, abbreviated from American Standard Code for Information Interchange, is a "
              "character-encoding scheme. The American Standard Code for Information Interchange (ASCII) was "
              "developed under the auspices of a committee.")


@pytest.mark.parametrize(("question", "expected"), [
    ("What does ASCII stand for?", "ASCII"),
    ("What is NASA short for?", "NASA"),
    ("What does U.S. stand for?", "US"),  # dots dropped
    ("What does AT&T stand for?", "AT&T"),
    ("What is the full name of NATO?", "NATO"),
    ("What does this agency's acronym stand for?", ""),  # no letters: the article's title tells them
    ("What is the acronym of this organization?", None),  # asks the letters, not what they stand for
    ("What does this word mean?", None),
    ("Where was this man born?", None),
])
def test_asked_abbreviation(question, expected):
    assert asked_abbreviation(question) == expected


@pytest.mark.parametrize(("text", "letters", "expected"), [
    # the letters in brackets after the words; small words skipped ("for") or counting ("of" in DoD)
    ("It was made by the National Aeronautics and Space Administration (NASA) in 1958.", "NASA",
     "National Aeronautics and Space Administration"),
    ("The Department of Defense (DoD) said so.", "DOD", "Department of Defense"),
    ("The United States (U.S.) is large.", "US", "United States"),
    # the words after "abbreviated from" / "short for"; a hyphenated word gives one letter per part
    (ASCII_LEAD, "ASCII", "American Standard Code for Information Interchange"),
    ("UTF-8, short for Unicode Transformation Format 8-bit, is common.", "UTF8",
     "Unicode Transformation Format 8-bit"),
    # words whose initials do not spell it, or letters without their words, give nothing
    ("Coordinated Universal Time (UTC) is a time standard.", "UTC", None),
    ("NASA launched it in 1969.", "NASA", None),
    ("Pacific Ocean and others (PO)", "US", None),  # letters the text does not write
])
def test_expansion(text, letters, expected):
    found = expansion(text, letters)
    assert (None if found is None else text[slice(*found)]) == expected


def test_the_title_stands_in_for_letters_the_question_does_not_write():
    text = "The National Football League (NFL) is a professional league."
    assert text[slice(*stated_expansion(text, "NFL", ""))] == "National Football League"
    assert stated_expansion(text, "American football", "") is None  # a title that is no abbreviation


def test_prefer_expansion_puts_the_words_first_in_the_first_article():
    texts = [ASCII_LEAD, "Unicode. Unicode (UCS) is unrelated."]
    titles = ["ASCII", "Unicode"]
    reader = [Candidate(0, 0, 5, -1.0, 0.5)]  # "ASCII"
    out = prefer_expansion(reader, texts, titles, "What does ASCII stand for?")
    assert (out[0].passage, texts[0][out[0].start : out[0].end], out[0].rule) == (
        0, "American Standard Code for Information Interchange", True)
    assert out[1:] == reader
    assert prefer_expansion(reader, texts, titles, "Who developed ASCII?") == reader


def test_lookup_reads_the_passage_spelling_it_out():
    texts = {"A#0": "ASCII. A character code.", "A#1": "ASCII. It has 128 characters.",
             "A#2": "ASCII. The American Standard Code for Information Interchange (ASCII) was developed."}
    found = lookup_passages("What does ASCII stand for?", list(texts), texts.__getitem__, "ASCII", set(), 2)
    assert found == ["A#0", "A#2"]
