"""An attribute of the subject stated in its article (kvqae.read.attribute): which questions ask one, which
statements give it, on hand-made text; the look-up of the passages stating it; a tiny reader's answer."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kvqae.read.answer_choice import Candidate
from kvqae.read.attribute import asked_attribute, prefer_attribute, stated_attribute
from reader_logits import best_with_peak


@pytest.mark.parametrize(("question", "attribute"), [
    ("What is the capital of this U.S. state nicknamed the Heart of Dixie?", "capital"),
    ("Which city is the capital of this Canadian province?", "capital"),
    ("What is the capital city of Alaska?", "capital"),  # stated "The capital of Alaska is ..."
    ("What is the official language of this Balkan country?", "official language"),
    ("What is this country's national currency?", "national currency"),
    ("What was the state flower of the Heart of Dixie?", "state flower"),
    # no attribute: a name, a time, a number, a question of another shape
    ("What is the name of the school he founded?", None),
    ("What is the population of this state?", None),
    ("What is the date of the first ceremony?", None),
    ("Which currency is used in this country?", None),
    ("Who is the president of Algeria?", None),
])
def test_asked_attribute(question, attribute):
    assert asked_attribute(question) == attribute


ALABAMA = ("Alabama. The oldest city is Mobile, founded by French colonists in 1702 as the capital of French "
           "Louisiana. The capital of Alabama is Montgomery. The largest city by population is Birmingham, "
           "and the state flower is the camellia.")


@pytest.mark.parametrize(("text", "title", "attribute", "names_only", "value"), [
    # a copula; another place's capital before it is passed over
    (ALABAMA, "Alabama", "capital", True, "Montgomery"),
    (ALABAMA, "Alabama", "largest city", True, "Birmingham"),  # "by population" between
    (ALABAMA, "Alabama", "state flower", False, "camellia"),  # a common noun, "the" left out
    (ALABAMA, "Alabama", "state flower", True, None),  # ... which no name question takes
    # "its", a conjunct attribute, an apposition, a possessive owner, a qualifier
    ("Algeria. Its capital and most populous city is Algiers, located in the north.", "Algeria", "capital",
     True, "Algiers"),
    ("Albania. The country's capital, Tirana, represents its heartland.", "Albania", "capital", True,
     "Tirana"),
    ("Alberta. Alberta's capital Edmonton is near the centre.", "Alberta", "capital", True, "Edmonton"),
    ("Azerbaijan. The bank issues the national currency, the Azerbaijani manat, and supervises banks.",
     "Azerbaijan", "currency", False, "Azerbaijani manat"),
    ("Andorra. Its capital is Andorra la Vella.", "Andorra", "capital", True, "Andorra la Vella"),
    # after "is the", a name question takes the noun ending the phrase; not a verb after a bare name
    ("Azerbaijan. The national animal of Azerbaijan is the Karabakh horse, a racing horse.", "Azerbaijan",
     "national animal", True, "Karabakh horse"),
    ("Alberta. The capital is Edmonton near the centre.", "Alberta", "capital", True, "Edmonton"),
    # the reverse copula, with the subject named or as "the country"
    ("Alaska. Juneau is the capital of Alaska.", "Alaska", "capital", True, "Juneau"),
    ("Angola. Portuguese is the official language of the country.", "Angola", "official language", True,
     "Portuguese"),
    # session 23: no "of" phrase when the attribute ends its clause; a common noun after "the"; not "It"
    ("Andorra. It is not in the EU, but the euro is the official currency. It has a bank.", "Andorra",
     "currency", False, "euro"),
    ("Algeria. Modern Standard Arabic is the official language.", "Algeria", "official language", True,
     "Modern Standard Arabic"),
    ("Andorra. It is the capital.", "Andorra", "capital", True, None),
    ("Andorra. The euro is the currency used in Spain.", "Andorra", "currency", False, None),
    # not the subject's: a preposition before "the" (a place), an adjective owner, another "of" phrase
    ("Alberta. About south of the capital is Calgary, the largest city.", "Alberta", "capital", True, None),
    ("Afghanistan. He led the army to the Persian capital of Isfahan.", "Afghanistan", "capital", True, None),
    ("Afghanistan. He moved the capital of Afghanistan from Kandahar to Kabul.", "Afghanistan", "capital",
     True, None),
    # the subject's own name is no value of it
    ("Aruba. The capital is Aruba, said a guide.", "Aruba", "capital", True, None),
    # session 29: the largest city stated as the most populous one; after another attribute of the same
    # value ("The capital and largest city"); an apposition with "in" and the subject; not "in" and a year
    ("Alaska. The state's most populous city is Anchorage, home to 278,700 people.", "Alaska",
     "largest city", True, "Anchorage"),
    ("Angola. The capital and largest city of Angola is Luanda.", "Angola", "largest city", True, "Luanda"),
    ("Alberta. About south of the capital is Calgary, the largest city in Alberta.", "Alberta",
     "largest city", True, "Calgary"),
    ("Alberta. Red Deer, the largest city in Texas, is far.", "Alberta", "largest city", True, None),
    ("Alabama. Huntsville served as the capital in 1820.", "Alabama", "capital", True, None),
    ("Alabama. Near the lake and capital is Selma.", "Alabama", "capital", True, None),
])
def test_stated_attribute_by_hand(text, title, attribute, names_only, value):
    span = stated_attribute(text, title, attribute, names_only=names_only)
    assert (text[span[0]:span[1]] if span else None) == value


def test_prefer_attribute_moves_or_adds_the_stated_value():
    other = "Alabama. Alabama is a state in the south."
    texts, titles = [other, ALABAMA], ["Alabama", "Alabama"]
    french = Candidate(1, ALABAMA.index("French"), ALABAMA.index("French") + 6, -1.0, 0.5)
    question = "What is the capital of this U.S. state?"
    out = prefer_attribute([french], texts, titles, question)
    assert (out[0].passage, ALABAMA[out[0].start:out[0].end], out[0].score, out[0].rule) == (
        1, "Montgomery", -2.0, True)
    assert out[1:] == [french]
    start = ALABAMA.index("Montgomery")
    montgomery = Candidate(1, start, start + 10, -3.0, 0.1)
    assert prefer_attribute([french, montgomery], texts, titles, question) == [
        replace(montgomery, rule=True), french]
    # another question, or a statement in an article other than the one read first: unchanged
    assert prefer_attribute([french], texts, titles, "Who founded Mobile?") == [french]
    assert prefer_attribute([french], texts, ["Mississippi", "Alabama"], question) == [french]


def test_an_attribute_question_looks_up_the_passages_stating_it():
    from kvqae.read.lookup import lookup_passages

    article = {"Alabama#0": "Alabama. Alabama is a state in the south.",
               "Alabama#1": "Alabama. Mobile was the capital of French Louisiana.",
               "Alabama#2": ALABAMA}
    ids = list(article)

    def lookup(question, read):
        return lookup_passages(question, ids, article.__getitem__, "Alabama", read, 2)

    assert lookup("What is the capital of this state?", set()) == ["Alabama#0", "Alabama#2"]
    assert lookup("What is the capital of this state?", {"Alabama#0"}) == ["Alabama#2"]
    assert lookup("Who founded Mobile?", set()) == ["Alabama#0"]  # another question: the lead alone


def test_the_reader_answers_an_attribute_from_its_statement(tmp_path):
    from kvqae.read.model import Reader, build_tiny_reader

    reader = Reader.load(build_tiny_reader(tmp_path / "tiny", seed=0))
    start = ALABAMA.index("French")
    reader._entities = lambda text: [(start, start + 6, "NORP")] if text == ALABAMA else []
    question = "What is the capital of this U.S. state?"

    def best(**settings):  # the span model's answer: the nationality next to another capital
        return best_with_peak(reader, question, ALABAMA, "Alabama", "French", **settings)

    assert best(attributes=False).answer == "French"
    ruled = best()
    assert ruled.answer == "Montgomery" and ruled.by_rule and ruled.confidence is None


def test_a_rules_answer_keeps_its_form_with_full_names(tmp_path):
    """`full_names` would make "Montgomery" the person named before it; a rule's answer is taken whole."""
    from kvqae.read.model import Reader, build_tiny_reader

    text = "Alabama. Richard Montgomery was a general. The capital of Alabama is Montgomery, on a river."
    reader = Reader.load(build_tiny_reader(tmp_path / "tiny", seed=0))
    reader._entities = lambda t: [(9, 27, "PERSON")] if t == text else []
    assert text[9:27] == "Richard Montgomery"
    question = "What is the capital of this U.S. state?"
    ruled = best_with_peak(reader, question, text, "Alabama", "general", full_names=True)
    assert ruled.answer == "Montgomery" and ruled.by_rule
    # the same span from the span model, no rule: the full name
    spanned = best_with_peak(reader, "Which general visited?", text, "Alabama", "Montgomery,",
                             full_names=True, attributes=False)
    assert spanned.answer == "Richard Montgomery"


SYMBOLS = ('Alaska. State motto: North to the Future Nicknames: "The Last Frontier" or "Land of the Midnight '
           'Sun" State bird: willow ptarmigan, adopted by the Territorial Legislature in 1955. It is a small '
           'grouse. State fish: king salmon. State flower: Alaska.')


@pytest.mark.parametrize(("attribute", "value"), [
    ("state motto", "North to the Future"),  # up to the next label, not "... Future Nicknames"
    ("state bird", "willow ptarmigan"),  # up to the comma
    ("state fish", "king salmon"),  # up to the sentence's end
    ("state flower", None),  # the subject's own name is no value
    ("state tree", None),  # not listed
])
def test_a_labelled_list_states_attributes(attribute, value):
    """Session 24: "State bird: willow ptarmigan, ..." in a list of state symbols."""
    span = stated_attribute(SYMBOLS, "Alaska", attribute, names_only=False)
    assert (None if span is None else SYMBOLS[span[0] : span[1]]) == value
