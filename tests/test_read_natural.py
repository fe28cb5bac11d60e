"""Natural reader questions: wh-movement rules and entity descriptions on parsed sentences (real spaCy)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kvqae.read.cloze import generate_cloze, load_spacy
from kvqae.read.natural import entity_description, refer_to_entity, subject_reference, wh_question


@pytest.fixture(scope="module")
def nlp():
    return load_spacy(parse=True)


def ask(nlp, sentence: str, answer: str, ref: str | None = "this player") -> str | None:
    doc = nlp(sentence)
    ent = next(e for e in doc.ents if e.text == answer)
    return wh_question(next(doc.sents), ent, ent.label_, ref)


@pytest.mark.parametrize(
    ("sentence", "answer", "expected"),
    [
        # passive: the auxiliary inverts, the prepositional phrase of the answer goes
        ("Aristotle was born in Stagira in 384 BC.", "Stagira", "Where was Aristotle born in 384 BC?"),
        # do-support with the verb's lemma; material before the subject moves to the end
        ("In 1929 Einstein bought a house in Caputh.", "Caputh", "Where did Einstein buy a house in 1929?"),
        ("In 1929 Einstein bought a house in Caputh.", "1929", "When did Einstein buy a house in Caputh?"),
        # a number asks for its noun; the modal inverts
        (
            "A single aardwolf can eat 250,000 termites in one night.",
            "250,000",
            "How many termites can a single aardwolf eat in one night?",
        ),
        # a subject answer stays in place
        ("Frank Borman commanded the mission.", "Frank Borman", "Who commanded the mission?"),
        # a pronoun subject is replaced by the reference to the entity
        ("She married Steffi Graf in 2001.", "Steffi Graf", "Who did this player marry in 2001?"),
        # the copula moves; a place as predicate is asked with "what"
        ("The capital is Juneau.", "Juneau", "What is the capital?"),
        # a non-place preposition stays with its wh-word
        ("The crew read from the Book of Genesis.", "the Book of Genesis", "From what did the crew read?"),
    ],
)
def test_wh_movement(nlp, sentence, answer, expected):
    assert ask(nlp, sentence, answer) == expected


def test_answer_inside_a_noun_phrase_is_not_moved(nlp):
    # "Athens" modifies "the Lyceum", not the verb: the rules decline (the cloze form is used instead)
    assert ask(nlp, "He founded the Lyceum in Athens.", "Athens") is None


def test_entity_description_from_first_sentence(nlp):
    doc = nlp("Albert Einstein. Albert Einstein was a German-born theoretical physicist who studied light.")
    assert entity_description(doc, "Albert Einstein") == ("physicist", "German-born theoretical physicist")
    doc = nlp("Andrei Tarkovsky was a Soviet and Russian film-maker.")
    assert entity_description(doc, "Andrei Tarkovsky") == ("film-maker", "Soviet and Russian film-maker")
    assert entity_description(nlp("Tarkovsky directed seven films."), "Andrei Tarkovsky") is None


def test_refer_to_entity_only_replaces_standalone_mentions():
    assert refer_to_entity("Where did Agassi play in 1995?", "Andre Agassi", "this player") == (
        "Where did this player play in 1995?"
    )
    assert refer_to_entity("Alabama levies a tax?", "Alabama", "this state") == "This state levies a tax?"
    # inside a longer name: untouched
    assert refer_to_entity("Who sits on the Alabama Supreme Court?", "Alabama", "this state") == (
        "Who sits on the Alabama Supreme Court?"
    )
    assert refer_to_entity("Who won the American Civil War?", "American Revolutionary War", "this war") == (
        "Who won the American Civil War?"
    )


def test_subject_reference_uses_title_or_description():
    description = ("physicist", "theoretical physicist")
    refs = {subject_reference("Albert Einstein", description, np.random.default_rng(i)) for i in range(40)}
    assert refs == {"Albert Einstein", "this physicist", "this theoretical physicist"}
    assert subject_reference("Alaska", None, np.random.default_rng(0)) == "Alaska"


def test_generate_natural_questions_answers_are_spans(nlp):
    passages = pd.DataFrame(
        {
            "passage_id": ["p0", "p1"],
            "entity_id": ["Q1", "Q1"],
            "title": ["Aristotle", "Aristotle"],
            "text": [
                "Aristotle. Aristotle was a Greek philosopher and scientist. Aristotle was born in "
                "Stagira in 384 BC. He founded the Lyceum in Athens in 335 BC.",
                "Aristotle. His father Nicomachus died when Aristotle was a child. In 343 BC Philip II "
                "invited him to tutor his son Alexander.",
            ],
        }
    )
    qs = generate_cloze(passages, 10, seed=0, style="natural", progress=False, nlp=nlp)
    assert qs, "no question generated"
    text = dict(zip(passages["passage_id"], passages["text"], strict=True))
    for q in qs:
        assert q.id.startswith("natural-0-")
        assert text[q.passage_id][q.start : q.end] == q.answer
        assert q.question.endswith("?") and q.answer not in q.question
    # at least one question was wh-moved (starts with a wh-word) rather than left in cloze form
    assert any(q.question.split()[0] in {"Where", "When", "Who", "What", "How", "In"} for q in qs)


def test_unknown_style_is_an_input_error():
    from kvqae.errors import InputError

    with pytest.raises(InputError, match="question style"):
        generate_cloze(pd.DataFrame({"passage_id": ["p"], "text": ["x"]}), 1, style="poetic", progress=False)
