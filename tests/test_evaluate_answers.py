"""EM/F1 against the SQuAD v1.1 definitions (hand-computed), InfoSeek accuracy on real InfoSeek rows.

The official InfoSeek rules are checked row by row in tests/test_infoseek_official.py; the `infoseek_*_match`
helpers tested here belong to the lenient variant.
"""

from __future__ import annotations

import json

import pytest

from kvqae.evaluate.answers import (
    exact_match,
    f1_score,
    infoseek_accuracy,
    infoseek_numerical_match,
    infoseek_time_match,
    normalize_answer,
    numerical_targets,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("The Eiffel Tower", "eiffel tower"),
        ("  an   apple\tpie\n", "apple pie"),
        ("A.B.C.", "abc"),  # punctuation removed without inserting spaces
        ("Theory of the atom", "theory of atom"),  # "the" only as a word; "Theory" stays
        ("Rock 'n' Roll!", "rock n roll"),
        ("", ""),
        ("THE", ""),
    ],
)
def test_normalize_answer(raw, expected):
    assert normalize_answer(raw) == expected


def test_exact_match_articles_punctuation_whitespace_and_multiple_golds():
    assert exact_match("the  Denver Broncos.", ["Denver Broncos"]) == 1.0
    assert exact_match("Denver", ["Denver Broncos"]) == 0.0
    assert exact_match("Carolina", ["Denver Broncos", "carolina!", "x"]) == 1.0
    assert exact_match("anything", []) == 0.0


def test_f1_hand_computed():
    # pred tokens [denver, broncos, team], gold [denver, broncos]: P = 2/3, R = 1 -> F1 = 0.8
    assert f1_score("The Denver Broncos team", ["Denver Broncos"]) == pytest.approx(0.8)
    # duplicates counted by multiplicity: pred [a1, a1, b], gold [a1, b, c]: common 2, P = 2/3, R = 2/3
    assert f1_score("a1 a1 b", ["a1 b c"]) == pytest.approx(2 / 3)
    # max over golds: 0.8 vs 1.0
    assert f1_score("Denver Broncos", ["The Denver Broncos team", "denver broncos"]) == pytest.approx(1.0)
    # no overlap
    assert f1_score("Paris", ["London"]) == 0.0
    # a gold answer that normalises to nothing (blood group "A") is compared in lower case only: the v1.1
    # script gave EM 1 to "the" and to an empty prediction, and F1 0 to the right one (session 18)
    assert (exact_match("the", ["a"]), f1_score("the", ["a"])) == (0.0, 0.0)
    assert (exact_match("", ["A"]), f1_score("", ["A"])) == (0.0, 0.0)
    assert (exact_match(" a ", ["A"]), f1_score("a", ["A"])) == (1.0, 1.0)
    assert exact_match("!!!", ["!!!"]) == 1.0 and exact_match("", [""]) == 0.0


def test_numerical_targets_formats():
    assert numerical_targets(["6.5", "7.0"]) == [(6.5, 7.0)]
    assert numerical_targets([{"wikidata": 14.0, "range": [12.6, 15.4]}]) == [(12.6, 15.4)]
    lo, hi = numerical_targets([100])[0]
    assert (lo, hi) == pytest.approx((90.0, 110.0))


def test_lenient_numerical_and_time_hand_cases():
    assert infoseek_numerical_match("about 6.8 days", ["6.5", "7.0"])
    assert not infoseek_numerical_match("7.2", ["6.5", "7.0"])
    assert infoseek_numerical_match("4.75-5.5 kg", [{"wikidata": 5.125, "range": [4.75, 5.5]}])
    assert infoseek_numerical_match("1,920 metres", ["1728.0", "2112.0"])
    assert not infoseek_numerical_match("no number", ["1", "2"])
    assert infoseek_time_match("in 1827", ["1826", "1825", "1827"])
    assert not infoseek_time_match("1828", ["1826", "1825", "1827"])
    assert infoseek_time_match("20 December 1991", ["December 20 1989", "1990 12 20"]) is False
    assert infoseek_time_match("20 December 1990", ["December 20 1989", "1990 12 20"]) is True


def _rows(shared_dir, name):
    path = shared_dir / "data" / "infoseek" / name
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.shared
@pytest.mark.parametrize("name", ["infoseek_val_first1000.jsonl", "infoseek_trainsub_withkb_1000.jsonl"])
def test_infoseek_gold_answers_score_one_and_wrong_answers_zero(shared_dir, name):
    rows = _rows(shared_dir, name)
    assert len(rows) == 1000
    by_type: dict[str, list[float]] = {}
    for r in rows:
        acc = infoseek_accuracy(r["answer"][0], r["question_type"], r["answer_eval"], r["answer"])
        by_type.setdefault(r["question_type"], []).append(acc)
    # the first gold answer is always accepted, for every question type
    assert set(by_type) == {"String", "Numerical", "Time"}
    for accs in by_type.values():
        assert sum(accs) == len(accs)
    # a wrong answer of the right shape is rejected
    for r in rows:
        if r["question_type"] == "Numerical":
            lo = min(lo for lo, _ in numerical_targets(r["answer_eval"]))
            hi = max(hi for _, hi in numerical_targets(r["answer_eval"]))
            wrong = str(hi * 2 + 1 if hi >= 0 else lo * 2 - 1)
        elif r["question_type"] == "Time":
            wrong = "1066" if "1066" not in json.dumps(r["answer_eval"]) else "2999"
        else:
            wrong = "zzzz not an answer"
        assert infoseek_accuracy(wrong, r["question_type"], r["answer_eval"], r["answer"]) == 0.0, r[
            "data_id"
        ]


@pytest.mark.shared
def test_infoseek_real_rows_hand_checked(shared_dir):
    rows = {r["data_id"]: r for r in _rows(shared_dir, "infoseek_val_first1000.jsonl")}
    r = rows["infoseek_val_00000002"]  # "6.5-7.0" days, answer_eval ["6.5", "7.0"]
    assert infoseek_accuracy("6.7", r["question_type"], r["answer_eval"]) == 1.0
    assert infoseek_accuracy("8", r["question_type"], r["answer_eval"]) == 0.0
    r = rows["infoseek_val_00000000"]  # aliases: energy conversion / energy transformation / conversion
    assert infoseek_accuracy("Energy Conversion.", r["question_type"], r["answer_eval"]) == 1.0
    assert infoseek_accuracy("energy", r["question_type"], r["answer_eval"]) == 0.0


@pytest.mark.shared
def test_score_answers_infoseek_on_loaded_questions(shared_dir):
    from kvqae.data.questions import load_questions
    from kvqae.evaluate.predictions import score_answers

    qs = load_questions(shared_dir / "data" / "infoseek" / "infoseek_val_first1000.jsonl")[:200]
    preds = {q.id: q.answers[0] for q in qs[:100]}  # gold answers for half, nothing for the rest
    mean, per = score_answers(preds, qs, scorer="infoseek")
    assert mean["accuracy"] == pytest.approx(0.5)
    assert mean["em"] == pytest.approx(0.5)
    assert sum(per["accuracy"].values()) == 100


def _q(qid: str, kind: str, answer_eval: list, answers: list[str], split: str | None = None):
    from kvqae.data.questions import Question

    meta = {"data_split": split} if split else {}
    return Question(qid, "?", answers=answers, question_type=kind, answer_eval=answer_eval, meta=meta)


def test_score_answers_infoseek_modes_and_missing_predictions():
    from kvqae.errors import InputError
    from kvqae.evaluate.predictions import infoseek_breakdown, score_answers

    qs = [
        _q("n", "Numerical", ["10", "20"], ["15"], "val_unseen_question"),
        _q("z", "Numerical", ["0", "3"], ["1"], "val_unseen_entity"),  # the (0, 0) of "no number" is inside
        _q("t", "Time", ["1826", "1825", "1827"], ["1826"], "val_unseen_entity"),
        _q("s", "String", ["Paris"], ["Paris"], "val_unseen_question"),
    ]
    preds = {"n": "15-35", "t": "in 1826", "s": "paris"}  # "z" has no prediction
    mean, per = score_answers(preds, qs, scorer="infoseek")
    assert per["accuracy"] == {"n": 0.0, "z": 0.0, "t": 0.0, "s": 1.0}  # official: IoU 0.2, exact Time
    lenient, per_l = score_answers(preds, qs, scorer="infoseek", infoseek_mode="lenient")
    assert per_l["accuracy"] == {"n": 1.0, "z": 0.0, "t": 1.0, "s": 1.0}
    assert mean["accuracy"] == 0.25 and lenient["accuracy"] == 0.75
    # an empty prediction is read as the range (0, 0): right for "z", as in the official script
    assert score_answers({"z": ""}, qs[1:2], scorer="infoseek")[1]["accuracy"] == {"z": 1.0}
    with pytest.raises(InputError, match="InfoSeek mode"):
        score_answers(preds, qs, scorer="infoseek", infoseek_mode="strict")
    summary = infoseek_breakdown(per_l["accuracy"], qs)
    assert summary["score"] == 75.0 and summary["score_num"] == 50.0
    assert summary["score_time"] == 100.0 and summary["score_string"] == 100.0
    assert summary["unseen_question_score"]["score"] == 100.0
    assert summary["unseen_entity_score"]["score"] == 50.0
    assert summary["final_score"] == pytest.approx(66.67)  # harmonic mean of 100 and 50


def test_evaluate_answers_cli_infoseek_mode(tmp_path):
    from typer.testing import CliRunner

    from kvqae.cli import app
    from kvqae.errors import InputError

    rows = [
        {"data_id": "a", "question": "How long?", "answer": ["15"], "answer_eval": ["10", "20"],
         "question_type": "Numerical", "data_split": "val_unseen_question"},
        {"data_id": "b", "question": "When?", "answer": ["1826"], "answer_eval": ["1826", "1825", "1827"],
         "question_type": "Time", "data_split": "val_unseen_question"},
    ]
    questions = tmp_path / "infoseek.jsonl"
    questions.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    preds = tmp_path / "preds.jsonl"
    answers = [{"id": "a", "answer": "5-25"}, {"id": "b", "answer": "in 1826"}]
    preds.write_text("".join(json.dumps(a) + "\n" for a in answers), encoding="utf-8")
    base = ["evaluate", "answers", str(preds), "--questions", str(questions), "--scorer", "infoseek"]
    res = CliRunner().invoke(app, [*base, "--out", str(tmp_path / "o.json")])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output.strip().splitlines()[-1])["accuracy"] == 0.5  # IoU 0.5 yes, "in 1826" no
    out = json.loads((tmp_path / "o.json").read_text())
    assert out["infoseek_mode"] == "official" and out["infoseek"]["score_num"] == 100.0
    res = CliRunner().invoke(app, [*base, "--infoseek-mode", "lenient"])
    assert res.exit_code == 0 and json.loads(res.output.strip().splitlines()[-1])["accuracy"] == 1.0
    res = CliRunner().invoke(app, [*base, "--infoseek-mode", "loose"])
    assert isinstance(res.exception, InputError) and res.exception.field == "infoseek_mode"


def test_bem_scorer_without_a_path_is_an_input_error(tmp_path):
    """`--scorer bem:` (no path) used to try loading a model from "" and end in a transformers traceback."""
    from typer.testing import CliRunner

    from kvqae.cli import app
    from kvqae.errors import InputError

    questions = tmp_path / "q.jsonl"
    row = {"id": "a", "question": "Who?", "answers": ["Ada"]}
    questions.write_text(json.dumps(row) + "\n", encoding="utf-8")
    preds = tmp_path / "preds.jsonl"
    preds.write_text(json.dumps({"id": "a", "answer": "Ada"}) + "\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["evaluate", "answers", str(preds), "--questions", str(questions),
                                   "--scorer", "bem:"])
    assert isinstance(res.exception, InputError)
    assert str(res.exception) == 'field "scorer": bem: names no model folder; use --scorer bem:PATH'


def test_questions_without_a_gold_answer_are_named(tmp_path):
    """`answers: []` scores 0 on every measure: the score is still computed (the file is valid), but the
    user is told which questions can never match, instead of finding a lower mean (session 18)."""
    from types import SimpleNamespace

    from typer.testing import CliRunner

    from kvqae.cli import app
    from kvqae.evaluate.predictions import unanswerable_note

    qs = [SimpleNamespace(id=i, answers=a) for i, a in [("a", ["Ada"]), ("b", []), ("c", []), ("d", ["x"])]]
    assert unanswerable_note(qs, "test") == ("2 of 4 test questions have no gold answer ('b', 'c'): they "
                                             "score 0 on every measure")
    assert unanswerable_note(qs[:1]) is None
    many = [SimpleNamespace(id=str(i), answers=[]) for i in range(5)]
    assert "('0', '1', '2', ...)" in unanswerable_note(many)
    questions = tmp_path / "q.jsonl"
    questions.write_text("".join(json.dumps({"id": i, "question": "Who?", "answers": a}) + "\n"
                                 for i, a in [("a", ["Ada"]), ("b", [])]), encoding="utf-8")
    preds = tmp_path / "preds.jsonl"
    preds.write_text(json.dumps({"id": "a", "answer": "Ada"}) + "\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["evaluate", "answers", str(preds), "--questions", str(questions)])
    assert res.exit_code == 0, res.output
    assert "note: 1 of 2 questions have no gold answer ('b')" in res.stderr
    assert json.loads(res.stdout.strip().splitlines()[-1])["em"] == 0.5
