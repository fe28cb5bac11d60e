"""What a thing is called (kvqae.read.naming): the questions that ask it and the name after "called" /
"known as" in a sentence describing the thing, on hand-made text."""

from __future__ import annotations

import pytest

from kvqae.read.answer_choice import Candidate
from kvqae.read.lookup import lookup_passages
from kvqae.read.naming import asked_naming, prefer_naming, stated_naming, subject_alias
from kvqae.read.words import content_stems


@pytest.mark.parametrize(("question", "words"), [
    ("What's the study of agriculture called?", "study agriculture"),
    ("What is the scientific study of these aquatic organisms called?", "scientific study"),
    ("What's another name for the atomic number?", "atomic number"),
    ("What are the wide pleated trousers worn in this martial art called?", "wide pleated trousers worn"),
    ("What is the study of these cold-blooded animals, together with reptiles, called?",
     "study together reptiles"),
    ("What was the southern Atlantic once called, after Ethiopia?", "southern Atlantic"),
    ("What is this building called?", None),  # the pictured entity itself: the reader's
    ("What is the capital of Alabama?", None),
    ("Who is called the father of chemistry?", None),
])
def test_asked_naming_by_hand(question, words):
    asked = asked_naming(question)
    expected = None if words is None else frozenset(content_stems(words))
    assert (None if asked is None else asked.stems) == expected
    assert asked is None or not asked.nickname


def test_an_alias_question_with_only_the_pictured_entity_asks_its_other_name():
    asked = asked_naming("What else is this war called?")
    assert asked.alias and asked.stems == frozenset()
    assert asked_naming("What is this war called?") is None
    assert asked_naming("What's another name for the atomic number?").alias


def test_asked_nickname_by_hand():
    asked = asked_naming("What nickname did the most populous city of this state earn for its rapid growth?")
    assert asked.nickname and asked.stems == frozenset(content_stems("most populous city rapid growth"))
    agassi = asked_naming("What nickname was Andre Agassi known by?")
    assert agassi.stems == frozenset(content_stems("Andre Agassi"))
    # a nickname given in the question asks for the entity it names, not a nickname
    assert asked_naming("Which actress married the tennis star nicknamed 'The Punisher'?") is None


def named(text: str, question: str) -> str | None:
    span = stated_naming(text, asked_naming(question))
    return None if span is None else text[span[0] : span[1]]


def test_stated_naming_by_hand():
    farm = "Agriculture. Farming grew. The study of agriculture is known as agricultural science. It is old."
    assert named(farm, "What's the study of agriculture called?") == "agricultural science"
    atom = ("In chemistry, the atomic number of a chemical element (also known as its proton number) is the "
            "number of protons.")
    assert named(atom, "What's another name for the atomic number?") == "proton number"
    ocean = 'The southern Atlantic was once called the "Ethiopic Ocean", after Ethiopia.'
    assert named(ocean, "What was the southern Atlantic once called?") == "Ethiopic Ocean"
    algae = "Accordingly, the modern study of algae is called either phycology or algology."
    assert named(algae, "What is the scientific study of these organisms called?") == "phycology"  # half
    assert named("The study of amphibians is called batrachology.",
                 "What is the study of these animals, together with reptiles, called?") is None  # a third
    council = "The parliament of Andorra is named the General Council of the Valleys."
    assert named(council, "What is the parliament of Andorra called?") == "General Council of the Valleys"
    # the thing's words must stand before "called" in the same sentence
    assert named("Agriculture is old. A science called agronomy studies it.",
                 "What's the study of agriculture called?") is None
    assert named("It was called the Ethiopic Ocean.", "What's the study of agriculture called?") is None


def test_stated_nickname_takes_a_quoted_name():
    birmingham = 'Alabama. Birmingham experienced such rapid growth that it was called the "Magic City".'
    question = "What nickname did the most populous city of this state earn for its rapid growth?"
    assert named(birmingham, question) == "Magic City"
    agassi = 'During his 20-plus year tour career, Agassi was known by the nickname "The Punisher".'
    assert named(agassi, "What nickname was Andre Agassi known by during his tour career?") == "The Punisher"
    assert named("Birmingham grew and was called Magic City.", question) is None  # no quotes: no nickname
    assert named('Its rapid growth was called "sudden".', "What nickname did the capital earn?") is None


def test_stated_naming_reads_aliases_both_ways():
    anatomy = ("The discipline of anatomy is divided into macroscopic and microscopic anatomy. Macroscopic "
               "anatomy, or gross anatomy, is the examination of body parts. Microscopic anatomy is called "
               "histology.")
    assert named(anatomy, "What is macroscopic anatomy also called?") == "gross anatomy"  # all words first
    reverse = "Histology is small. The main field is gross anatomy (also called macroscopic anatomy)."
    assert named(reverse, "What is macroscopic anatomy also called?") == "gross anatomy"


def test_subject_alias_from_the_lead():
    war = ("American Revolutionary War. The American Revolutionary War (1775-1783), also known as the "
           "American War of Independence and the Revolutionary War, was the armed conflict.")
    span = subject_alias(war, "American Revolutionary War")
    assert war[span[0] : span[1]] == "American War of Independence"
    assert subject_alias("Battles. It was also known as the Great War.", "American Revolutionary War") is None
    read = prefer_naming([], [war], ["American Revolutionary War"], "What else is this war known as?")
    assert war[read[0].start : read[0].end] == "American War of Independence" and read[0].rule


def test_prefer_naming_puts_the_name_first():
    texts = ["Agriculture. The study of agriculture is known as agricultural science."]
    start = texts[0].index("study")
    read = [Candidate(0, start, start + len("study"), 2.0)]
    first = prefer_naming(read, texts, ["Agriculture"], "What's the study of agriculture called?")[0]
    assert texts[0][first.start : first.end] == "agricultural science" and first.rule
    assert prefer_naming(read, texts, ["Agriculture"], "What is this building called?") == read


def test_lookup_reads_the_passage_naming_it():
    texts = {"a#0": "Agriculture. Agriculture is farming.", "a#1": "Agriculture. Crops grow.",
             "a#2": "Agriculture. The study of agriculture is known as agricultural science."}
    got = lookup_passages("What's the study of agriculture called?", list(texts), texts.__getitem__,
                          "Agriculture", set(), 4)
    assert got == ["a#0", "a#2"]


def test_an_earlier_name_asked_by_its_adverb():
    lead = ("Afroasiatic languages. Afroasiatic (Afro-Asiatic), also known as Afrasian and traditionally as "
            "Hamito-Semitic (Chamito-Semitic), is a large language family.")
    asked = asked_naming("What was this language family, which includes Hausa, traditionally called?")
    assert asked.alias and asked.adverb == "traditionally"
    span = subject_alias(lead, "Afroasiatic languages", asked.adverb)
    assert lead[span[0] : span[1]] == "Hamito-Semitic"
    span = subject_alias(lead, "Afroasiatic languages")
    assert lead[span[0] : span[1]] == "Afrasian"  # no adverb asked: the first alias
