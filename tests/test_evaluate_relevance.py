"""Relevance judgements: answer matching on word boundaries, InfoSeek numbers, gold entities, merging."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from kvqae.data.runs import Run
from kvqae.errors import InputError
from kvqae.evaluate.relevance import (
    contains_answer,
    is_relevant,
    load_qrels,
    merge_qrels,
    qrels_from_run,
    save_qrels,
)


@dataclass
class Q:
    id: str
    answers: list[str]
    entity: str | None = None
    question_type: str | None = None
    answer_eval: list | None = None
    question: str = "?"
    meta: dict = field(default_factory=dict)


def test_contains_answer_word_boundaries_and_normalisation():
    assert contains_answer("He was born in Rome, Italy.", ["rome"])
    assert not contains_answer("Romeo and Juliet", ["Rome"])
    assert contains_answer("The U.S.A. is large", ["USA"])  # punctuation removed on both sides
    assert contains_answer("Visit the Eiffel  Tower today", ["The Eiffel Tower"])  # articles, spaces
    assert not contains_answer("anything", [""])


def test_infoseek_numerical_and_aliases():
    # range [6.5, 7.0]: a passage with 6.8 is relevant, one with 8 is not
    assert is_relevant("Gestation lasts 6.8 days.", ["6.5-7.0"], "Numerical", ["6.5", "7.0"])
    assert not is_relevant("Gestation lasts 8 days.", ["6.5-7.0"], "Numerical", ["6.5", "7.0"])
    # string aliases from answer_eval count for String questions
    assert is_relevant("It is found in Bharat.", ["India"], "String", ["India", "Bharat"])


def test_qrels_from_run_passage_and_entity_levels():
    texts = {"e1#0": "Paris is the capital.", "e1#1": "Romeo loved.", "e2#0": "Born in Paris in 1900."}
    run = Run({"q1": {"e1#0": 2.0, "e1#1": 1.0, "e2#0": 0.5}, "q2": {"e1#1": 1.0}}, "r")
    qs = [Q("q1", ["Paris"], entity="e2"), Q("q2", ["London"])]
    qrels = qrels_from_run(run, qs, texts.__getitem__)
    assert qrels == {"q1": {"e1#0": 1, "e2#0": 1}, "q2": {}}
    strict = qrels_from_run(
        run, qs, texts.__getitem__, entity_of=lambda p: p.split("#")[0], passage_requires_entity=True
    )
    assert strict["q1"] == {"e2#0": 1}
    # entity level: gold entity wins (even if not retrieved), else article text
    articles = {"e1": "Paris is the capital.", "e2": "Nothing here."}
    erun = Run({"q1": {"e1": 1.0}, "q2": {"e1": 1.0, "e2": 0.0}}, "er", level="entity")
    eq = qrels_from_run(erun, [Q("q1", ["Paris"], entity="e2"), Q("q2", ["Paris"])], articles.__getitem__)
    assert eq == {"q1": {"e2": 1}, "q2": {"e1": 1}}


def test_errors_and_merge(tmp_path):
    run = Run({"q1": {"x": 1.0}, "q9": {"x": 1.0}}, "r")
    with pytest.raises(InputError, match="query q9"):
        qrels_from_run(run, [Q("q1", ["a"])], lambda d: "a")
    with pytest.raises(InputError, match="unknown passage id 'x'"):
        qrels_from_run(Run({"q1": {"x": 1.0}}), [Q("q1", ["a"])], {}.__getitem__)
    merged = merge_qrels({"q1": {"a": 1}}, {"q1": {"b": 1, "a": 2}, "q2": {}})
    assert merged == {"q1": {"a": 2, "b": 1}, "q2": {}}
    save_qrels(tmp_path / "q.json", merged)
    assert load_qrels(tmp_path / "q.json") == merged
    (tmp_path / "bad.json").write_text('{"q1": {"a": "yes"}}')
    with pytest.raises(InputError, match="query q1"):
        load_qrels(tmp_path / "bad.json")


def test_qrels_calling_nothing_relevant_are_refused(tmp_path):
    """A qrels file of only 0s (or -1s) made every metric 0 with no hint; some relevant judgement is
    enough, and a query with no judgements at all is still allowed."""
    zeros = (("zero.json", '{"q1": {"d1": 0}, "q2": {}}'), ("zero.trec", "q1 0 d1 0\nq2 0 d2 -1\n"))
    for name, text in zeros:
        (tmp_path / name).write_text(text)
        with pytest.raises(InputError, match=f"{name}: no document is judged relevant"):
            load_qrels(tmp_path / name)
    (tmp_path / "one.trec").write_text("q1 0 d1 0\nq2 0 d2 1\n")
    assert load_qrels(tmp_path / "one.trec") == {"q1": {"d1": 0}, "q2": {"d2": 1}}
