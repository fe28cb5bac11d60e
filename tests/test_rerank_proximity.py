"""Term-proximity re-ranking: window coverage, IDF weights and re-scoring by hand, the run-level errors and
the `kvqae rerank` command on a small real KB."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from kvqae.cli import app
from kvqae.data.runs import Run
from kvqae.errors import InputError
from kvqae.rerank.proximity import (
    article_shares,
    proximity_scores,
    rerank_query,
    rerank_run,
    window_coverage,
)


def spaces(text: str) -> list[str | None]:
    """Test stems: the words split on spaces, "the" a stopword."""
    return [None if w == "the" else w for w in text.split()]


def test_window_coverage_by_hand():
    stems = ["a", "b", None, "c", "a"]
    weights = {"a": 1.0, "b": 1.0, "c": 2.0}
    # 2-word windows: {a,b}=2, {b}=1, {c}=2, {c,a}=3 -> 3 of 4
    assert window_coverage(stems, weights, 2) == pytest.approx(0.75)
    assert window_coverage(stems, weights, 1) == pytest.approx(0.5)  # c alone
    assert window_coverage(stems, weights, 9) == pytest.approx(1.0)  # wider than the text: all of it
    assert window_coverage(stems, {"a": 0.0}, 2) == 0.0 and window_coverage([], weights, 2) == 0.0


def test_proximity_scores_weigh_stems_by_idf():
    texts = ["x y z", "x q q q y", "q q"]
    # x and y are each in 2 of 3 texts: equal weights; together within 2 words only in the first text
    assert proximity_scores("the x y", texts, words=2, stems=spaces) == pytest.approx([1.0, 0.5, 0.0])
    # a stem in every text (the entity's name) counts less than a rare one: log(1 + 3/3) vs log(1 + 3/1)
    scores = proximity_scores("n r", ["n r", "n", "n"], words=1, stems=spaces)
    rare = math.log(4) / (math.log(2) + math.log(4))
    assert scores == pytest.approx([rare, 1 - rare, 1 - rare])


def test_rerank_query_by_hand():
    ranked = [("p1", 3.0), ("p2", 2.0), ("p3", 1.0), ("p4", 0.5)]
    texts = {"p1": "q q", "p2": "x y", "p3": "x q"}
    out = rerank_query(ranked, "x y", texts.__getitem__, weight=2.0, words=2, top_n=3, stems=spaces)
    z = 1.5 ** 0.5  # z-scores of 3, 2, 1: +-sqrt(3/2), 0
    x_share = math.log(2.5) / (math.log(2.5) + math.log(4))  # x in 2 of 3 texts, y in 1
    assert out["p1"] == pytest.approx(z)
    assert out["p2"] == pytest.approx(0 + 2 * 1.0)
    assert out["p3"] == pytest.approx(-z + 2 * x_share)
    assert out["p4"] == pytest.approx(min(out["p1"], out["p2"], out["p3"]) - 1)  # below the re-scored ones
    assert sorted(out, key=lambda p: -out[p]) == ["p2", "p1", "p3", "p4"]
    # weight 0: the run's order, standardised
    plain = rerank_query(ranked, "x y", texts.__getitem__, weight=0.0, words=2, top_n=3, stems=spaces)
    assert sorted(plain, key=lambda p: -plain[p]) == ["p1", "p2", "p3", "p4"]
    # lead 2 for p3 (its article's first passage): -z + 2 * x_share + 2 = 1.57 puts it above p1 (1.22)
    led = rerank_query(ranked, "x y", texts.__getitem__, weight=2.0, words=2, top_n=3, stems=spaces, lead=2.0,
                       is_lead=lambda pid: pid == "p3")
    assert led["p3"] == pytest.approx(-z + 2 * x_share + 2.0)
    assert led["p1"] == pytest.approx(z) and led["p2"] == pytest.approx(2.0)
    assert sorted(led, key=lambda p: -led[p]) == ["p2", "p3", "p1", "p4"]


def test_article_shares_by_hand():
    assert article_shares(["A", "B", "A", "A"]) == pytest.approx([0.75, 0.25, 0.75, 0.75])
    assert article_shares(["A"]) == pytest.approx([1.0])


def test_rerank_query_article_agreement_by_hand():
    # p1 of article B fits the words best; p2, p3 and p4 are article A's
    ranked = [("p1", 2.0), ("p2", 2.0), ("p3", 0.0), ("p4", 0.0)]
    texts = {"p1": "x y", "p2": "x q", "p3": "q q", "p4": "q y"}
    article = {"p1": "B", "p2": "A", "p3": "A", "p4": "A"}
    plain = rerank_query(ranked, "x y", texts.__getitem__, weight=2.0, words=2, top_n=4, stems=spaces)
    # z-scores 1, 1, -1, -1; x and y in 2 of 4 texts each (equal weights): coverage 1, 0.5, 0, 0.5
    assert plain["p1"] == pytest.approx(1 + 2 * 1.0) and plain["p2"] == pytest.approx(1 + 2 * 0.5)
    agreed = rerank_query(ranked, "x y", texts.__getitem__, weight=2.0, words=2, top_n=4, stems=spaces,
                          agreement=4.0, article_of=article.__getitem__)
    # + 4 x 1/4 for p1, + 4 x 3/4 for A's passages: p2 = 2 + 3 = 5 passes p1 = 3 + 1
    assert agreed["p1"] == pytest.approx(plain["p1"] + 1.0)
    assert agreed["p2"] == pytest.approx(plain["p2"] + 3.0)
    assert agreed["p3"] == pytest.approx(plain["p3"] + 3.0)
    assert max(agreed, key=agreed.get) == "p2"
    # no article_of: the bonus cannot apply
    assert rerank_query(ranked, "x y", texts.__getitem__, weight=2.0, words=2, top_n=4, stems=spaces,
                        agreement=2.0) == plain


def test_rerank_run_errors_and_meta():
    run = Run.from_mapping({"q1": {"p1": 1.0, "p2": 0.5}})
    texts = {"p1": "x", "p2": "y"}
    out = rerank_run(run, {"q1": "y"}, texts.__getitem__, weight=5.0, words=3, top_n=2, stems=spaces)
    assert out.ranked("q1")[0][0] == "p2" and out.level == "passage"
    assert out.meta["rerank"] == {"method": "proximity", "weight": 5.0, "words": 3, "top_n": 2, "lead": 0.0,
                                  "agreement": 0.0}
    with pytest.raises(InputError, match="agreement bonus"):
        rerank_run(run, {"q1": "y"}, texts.__getitem__, agreement=float("nan"), stems=spaces)
    with pytest.raises(InputError, match="lead bonus"):
        rerank_run(run, {"q1": "y"}, texts.__getitem__, lead=-1.0, stems=spaces)
    with pytest.raises(InputError, match="q1"):
        rerank_run(run, {"q2": "y"}, texts.__getitem__, stems=spaces)
    with pytest.raises(InputError, match="finite"):
        rerank_run(run, {"q1": "y"}, texts.__getitem__, weight=float("inf"), stems=spaces)
    entity_run = Run(scores={"q1": {"e1": 1.0}}, level="entity")
    with pytest.raises(InputError, match="passage-level"):
        rerank_run(entity_run, {"q1": "y"}, texts.__getitem__, stems=spaces)


def test_rerank_command_moves_the_answering_passage_up(prose_kb, tmp_path):
    kb = prose_kb
    qfile = tmp_path / "q.jsonl"
    qfile.write_text(json.dumps({"id": "q1", "question": "When did the physicist die at the sanatorium?",
                                 "answers": ["1934"]}) + "\n")
    # the passage about her death ranked second by retrieval
    Run.from_mapping({"q1": {"Marie_Curie#0": 2.0, "Marie_Curie#1": 1.9, "Apollo_11#0": 0.1}}).save(
        tmp_path / "run.json")
    assert "died in 1934 at a sanatorium" in kb.passage_text("Marie_Curie#1")
    args = ["rerank", "--run", str(tmp_path / "run.json"), "--kb", str(kb.path), "--questions", str(qfile),
            "--out", str(tmp_path / "out.json")]
    runner = CliRunner()
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert [p for p, _ in Run.load(tmp_path / "out.json").ranked("q1")] == [
        "Marie_Curie#1", "Marie_Curie#0", "Apollo_11#0"]
    # the output may not be one of the inputs
    res = runner.invoke(app, [*args[:-1], str(tmp_path / "run.json")])
    assert isinstance(res.exception, InputError) and "--out" in str(res.exception)
    assert Run.load(tmp_path / "run.json").ranked("q1")[0][0] == "Marie_Curie#0"  # the input is untouched
    # a weight that is not a finite number >= 0: refused before anything is read or written
    res = runner.invoke(app, [*args[:-1], str(tmp_path / "w.json"), "--weight", "inf"])
    assert isinstance(res.exception, InputError) and "--weight" in str(res.exception)
    res = runner.invoke(app, [*args[:-1], str(tmp_path / "w.json"), "--agreement", "-2"])
    assert isinstance(res.exception, InputError) and "--agreement must be a finite number >= 0" in str(
        res.exception)
    res = runner.invoke(app, [*args[:-1], str(tmp_path / "w.json"), "--weight", "-1"])
    assert isinstance(res.exception, InputError) and "--weight must be a finite number >= 0" in str(
        res.exception)
    assert not (tmp_path / "w.json").exists()
    # a passage the KB does not know: one clear error naming it, and no output written
    Run.from_mapping({"q1": {"Nowhere#3": 1.0}}).save(tmp_path / "bad.json")
    res = runner.invoke(app, [*args[:2], str(tmp_path / "bad.json"), *args[3:-1], str(tmp_path / "o2.json")])
    assert isinstance(res.exception, InputError) and "Nowhere#3" in str(res.exception)
    assert not (tmp_path / "o2.json").exists()
    # ... also below the re-scored top (it would pass through into a run later commands refuse)
    Run.from_mapping({"q1": {"Marie_Curie#0": 2.0, "Marie_Curie#1": 1.9, "Nowhere#3": 0.1}}).save(
        tmp_path / "bad2.json")
    res = runner.invoke(app, [*args[:2], str(tmp_path / "bad2.json"), *args[3:-1], str(tmp_path / "o3.json"),
                              "--top-n", "2"])
    assert isinstance(res.exception, InputError) and "Nowhere#3" in str(res.exception)
    assert not (tmp_path / "o3.json").exists()
