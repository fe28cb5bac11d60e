"""The subject rule (kvqae.read.subject): the thing a question asks as the subject of its verb."""

import pytest

from kvqae.read.answer_choice import Candidate
from kvqae.read.gap import SpacyTags
from kvqae.read.subject import asked_subject, prefer_subject, stated_subject

ACID = ("Acid. Common examples include hydrochloric acid (found in gastric acid), acetic acid (vinegar is a "
        "dilute aqueous solution of this liquid), sulfuric acid (used in car batteries), and tartaric acid "
        "(a solid used in baking). Citric acid is used as a preservative in sauces and pickles.")


@pytest.fixture(scope="module")
def tags():
    return SpacyTags.load()


def _found(text: str, question: str, tags) -> str | None:
    asked = asked_subject(question, tags(question))
    found = None if asked is None else stated_subject(text, asked, tags)
    return None if found is None else text[slice(*found[0])]


@pytest.mark.parametrize(("question", "head", "predicate"), [
    ("Which acid is used in car batteries?", "acid", {"use", "car", "batteri"}),
    ("Which of these sour substances preserves sauces and pickles?", "substanc",
     {"preserv", "sauc", "pickl"}),
])
def test_asked_subject(question, head, predicate, tags):
    asked = asked_subject(question, tags(question))
    assert asked is not None and asked.head == head and asked.predicate == predicate


@pytest.mark.parametrize("question", [
    "Which acid is the strongest?",  # a copula: no verb's subject
    "What did Aristotle study?",  # the wh-word is the object
    "Which city is used in car adverts?",  # a category noun: the names' rules answer it
    "Where is it used in car batteries?",
])
def test_other_questions_ask_no_subject(question, tags):
    assert asked_subject(question, tags(question)) is None


def test_the_phrase_before_the_predicate(tags):
    # the asked noun's phrase nearest the predicate, not the pronoun's "this liquid" nor "acetic acid"
    assert _found(ACID, "Which acid is used in car batteries?", tags) == "sulfuric acid"
    # no phrase of the asked noun: the nearest phrase before the predicate's words
    assert _found(ACID, "Which of these sour substances preserves sauces and pickles?", tags) == "Citric acid"


def test_a_phrase_of_the_asked_noun_far_before_the_predicate(tags):
    text = ("The Jeffrey pine is noted for producing exceptionally high levels of n-heptane in its resin, "
            "for which reason its distillate was designated as the zero point for one octane rating.")
    question = "Which pine gives the distillate designated as the zero point of octane ratings?"
    assert _found(text, question, tags) == "Jeffrey pine"


def test_a_named_noun_takes_only_a_phrase_of_it(tags):
    """Session 31: "Which rocket launched ...?" took "far side" before "launched" (a name, "Saturn V", is
    the named entities' to find); a member of a class ("which of these") may be any phrase."""
    text = "Apollo 11. The Saturn V rocket launched the mission. The crew saw the far side launched."
    assert _found(text, "Which rocket launched the mission to the Moon?", tags) == "Saturn V rocket"
    assert _found("Apollo 11. The Saturn V launched the crew to the Moon.",
                  "Which rocket launched the crew to the Moon?", tags) is None


def test_a_sentence_sharing_too_little_of_the_predicate_gives_nothing(tags):
    assert _found("Sulfuric acid is a strong acid.", "Which acid is used in car batteries?", tags) is None


def test_prefer_subject_puts_the_phrase_first_in_the_first_article(tags):
    texts = [ACID, "Battery. Lead is used in car batteries."]
    titles = ["Acid", "Battery"]
    reader = [Candidate(0, 0, 4, -1.0, 0.5)]  # "Acid"
    out = prefer_subject(reader, texts, titles, "Which acid is used in car batteries?", tags_of=tags)
    assert (out[0].passage, texts[0][out[0].start : out[0].end], out[0].rule) == (0, "sulfuric acid", True)
    assert out[1:] == reader
    # without a tagger the rule stays out
    assert prefer_subject(reader, texts, titles, "Which acid is used in car batteries?") == reader


def test_the_reader_runs_the_rule_only_when_its_setting_is_on(tmp_path):
    """Off by default (session 31: -3 on the sets never read); `subjects: true` turns it on."""
    from kvqae.read.model import Reader, ReaderSettings, build_tiny_reader
    from reader_logits import best_with_peak

    assert ReaderSettings().subjects is False
    reader = Reader.load(build_tiny_reader(tmp_path / "tiny", seed=0))
    reader._entities = lambda text: []
    text = "Sulfuric acid is used in car batteries. Acetic acid gives vinegar its taste."
    question = "Which acid is used in car batteries?"
    off = best_with_peak(reader, question, text, "Acid", "vinegar", gaps=False)
    assert off.rule is None and off.answer != "Sulfuric acid"
    on = best_with_peak(reader, question, text, "Acid", "vinegar", gaps=False, subjects=True)
    assert (on.answer, on.rule) == ("Sulfuric acid", "subjects")
