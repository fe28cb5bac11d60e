"""Cloze question generation from a KB and distant-supervision span finding."""

from __future__ import annotations

import json

import pytest

from kvqae.errors import InputError
from kvqae.read.cloze import generate_cloze, load_cloze, load_spacy, save_cloze, wh_phrase
from kvqae.read.spans import find_answer_spans


@pytest.fixture(scope="module")
def kb(prose_kb):
    return prose_kb


@pytest.fixture(scope="module")
def nlp():
    return load_spacy()


def test_find_answer_spans_uses_normalised_tokens():
    text = "The U.S. Army, founded in 1775, fought; the u.s. army (again) won."
    spans = find_answer_spans(text, ["U.S. Army"])
    assert [text[a:b] for a, b in spans] == ["U.S. Army", "u.s. army"]
    assert find_answer_spans(text, ["the 1775"]) == [(text.index("1775"), text.index("1775") + 4)]
    assert find_answer_spans(text, ["Navy", ""]) == []
    # Several aliases, one list in text order.
    assert [text[a:b] for a, b in find_answer_spans(text, ["again", "fought"])] == ["fought", "again"]


def test_wh_phrase_by_entity_label():
    assert [wh_phrase(x) for x in ("PERSON", "DATE", "GPE", "LOC", "CARDINAL", "ORG")] == [
        "who",
        "when",
        "where",
        "where",
        "how many",
        "what",
    ]


def test_cloze_answers_occur_in_their_passage_at_the_offsets(kb, nlp):
    qs = generate_cloze(kb, 40, seed=3, progress=False, nlp=nlp)
    assert len(qs) >= 12  # six articles, several sentences with entities each
    assert len({q.id for q in qs}) == len(qs)
    for q in qs:
        text = kb.passage_text(q.passage_id)
        assert text[q.start : q.end] == q.answer
        assert q.entity == kb.entity_of(q.passage_id)
        assert q.question.endswith("?") and q.question[0].isupper()
        assert wh_phrase(q.label) in q.question.lower()
        # The answer is taken out of the question, and it never comes from the "{title}. " prefix.
        assert f" {q.answer.lower()} " not in f" {q.question.lower()} "
        assert q.start >= len(kb.title_of(q.entity)) + 2


def test_cloze_translation_rules():
    from kvqae.read.cloze import _make_question

    sent = "She moved to Paris in 1891 to study."
    a = sent.index("Paris")
    # The span becomes the wh-word; a sentence-initial pronoun becomes the title; final stop -> question mark.
    assert (
        _make_question(sent, a, a + 5, "GPE", "Marie Curie") == "Marie Curie moved to where in 1891 to study?"
    )
    b = sent.index("1891")
    assert (
        _make_question(sent, b, b + 4, "DATE", "Marie Curie")
        == "Marie Curie moved to Paris in when to study?"
    )
    sent2 = "Her daughter Irene won a prize."
    c = sent2.index("Irene")
    assert (
        _make_question(sent2, c, c + 5, "PERSON", "Marie Curie") == "Marie Curie's daughter who won a prize?"
    )
    # A span at the start of the sentence is the subject: the wh-word leads the question.
    assert _make_question("Michael Collins flew alone.", 0, 15, "PERSON", "Apollo 11") == "Who flew alone?"


def test_cloze_over_the_kb_resolves_pronouns(kb, nlp):
    qs = generate_cloze(kb, 200, seed=0, per_passage=5, progress=False, nlp=nlp)
    assert not any(q.question.split()[0] in {"She", "He", "It", "Her", "His", "Its"} for q in qs)
    assert any(
        q.question.startswith(("Marie Curie ", "Marie Curie's ")) and "She" in kb.passage_text(q.passage_id)
        for q in qs
    )


def test_generation_is_deterministic_by_seed(kb, nlp):
    a = generate_cloze(kb, 15, seed=1, progress=False, nlp=nlp)
    b = generate_cloze(kb, 15, seed=1, progress=False, nlp=nlp)
    c = generate_cloze(kb, 15, seed=2, progress=False, nlp=nlp)
    assert [x.to_json() for x in a] == [x.to_json() for x in b]
    assert [x.to_json() for x in a] != [x.to_json() for x in c]


def test_save_and_load_round_trip_and_bad_records(kb, nlp, tmp_path):
    qs = generate_cloze(kb, 5, seed=0, progress=False, nlp=nlp)
    path = save_cloze(tmp_path / "c.jsonl", qs)
    assert load_cloze(path) == qs
    row = json.loads(path.read_text().splitlines()[0])
    assert set(row) >= {"id", "question", "answers", "passage_id", "start", "end", "entity"}
    row.pop("start")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(row) + "\n")
    with pytest.raises(InputError) as e:
        load_cloze(bad)
    assert "line 1" in str(e.value) and '"start"' in str(e.value)
    # offsets that cannot be the answer's (out of order, negative, another length) are refused (session 17)
    good = json.loads(path.read_text().splitlines()[0])
    length = good["end"] - good["start"]
    for start, end in ((5, 2), (-10, -10 + length), (good["start"], good["end"] + 1)):
        bad.write_text(json.dumps({**good, "start": start, "end": end}) + "\n")
        with pytest.raises(InputError, match='line 1: field "end": start .* must be offsets'):
            load_cloze(bad)
    bad.write_text(json.dumps({**good, "start": True}) + "\n")
    with pytest.raises(InputError, match='field "start": missing or not a int'):
        load_cloze(bad)
