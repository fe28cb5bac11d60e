"""Metrics: hand-computed tiny cases, ranx.evaluate parity on random runs, the sort-free path."""

from __future__ import annotations

import math

import numpy as np
import pytest
import ranx

from kvqae.data.runs import Run
from kvqae.errors import InputError
from kvqae.evaluate.metrics import (
    align_qrels,
    compute_metrics,
    evaluate_run,
    first_relevant_rank,
    parse_metric,
)

# q1 ranking: a, b, c, d, e (b and d relevant); q2 ranking: f, g (nothing relevant retrieved, h relevant)
RUN = Run({"q1": {"a": 5.0, "b": 4.0, "c": 3.0, "d": 2.0, "e": 1.0}, "q2": {"f": 2.0, "g": 1.0}})
QRELS = {"q1": {"b": 1, "d": 1}, "q2": {"h": 1}}


def test_parse_metric():
    assert parse_metric("MRR@100") == ("mrr", 100)
    assert parse_metric("hit@20") == ("hit", 20)
    assert parse_metric("ndcg") == ("ndcg", None)
    for bad in ("map@10", "mrr@0", "p@x", "mrr@", "p@٣"):  # "p@٣": Arabic-Indic 3 (session 18)
        with pytest.raises(InputError):
            parse_metric(bad)


def test_hand_computed_every_metric():
    ms = [
        "mrr@100",
        "mrr@1",
        "p@1",
        "p@2",
        "p@20",
        "hit@1",
        "hit@2",
        "hit@20",
        "recall@2",
        "recall@100",
        "ndcg@10",
        "ndcg@2",
    ]
    mean, per = evaluate_run(RUN, QRELS, ms)
    q1 = {m: per[m]["q1"] for m in ms}
    assert q1["mrr@100"] == 0.5 and q1["mrr@1"] == 0.0
    assert q1["p@1"] == 0.0 and q1["p@2"] == 0.5 and q1["p@20"] == pytest.approx(2 / 20)
    assert q1["hit@1"] == 0.0 and q1["hit@2"] == 1.0
    assert q1["recall@2"] == 0.5 and q1["recall@100"] == 1.0
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = 1 + 1 / math.log2(3)
    assert q1["ndcg@10"] == pytest.approx(dcg / idcg)
    assert q1["ndcg@2"] == pytest.approx((1 / math.log2(3)) / idcg)
    assert all(per[m]["q2"] == 0.0 for m in ms)  # the relevant document was not retrieved
    assert mean["mrr@100"] == 0.25 and mean["recall@100"] == 0.5


def test_query_sets_and_errors():
    # a question missing from the run scores 0; an extra run query is an error
    mean, per = evaluate_run(Run({"q1": RUN.scores["q1"]}), QRELS, ["mrr@100"], query_ids=["q1", "q2", "q3"])
    assert per["mrr@100"] == {"q1": 0.5, "q2": 0.0, "q3": 0.0} and mean["mrr@100"] == pytest.approx(0.5 / 3)
    with pytest.raises(InputError, match="query q1"):
        evaluate_run(RUN, QRELS, ["mrr@100"], query_ids=["q2"], source="run.json")


def test_ties_broken_by_id():
    run = Run({"q": {"b": 1.0, "a": 1.0, "c": 1.0}})
    _, per = evaluate_run(run, {"q": {"b": 1}}, ["mrr@10", "p@1"])
    assert per["mrr@10"]["q"] == 0.5 and per["p@1"]["q"] == 0.0
    _, per = evaluate_run(run, {"q": {"a": 1, "c": 1}}, ["mrr@10"])
    assert per["mrr@10"]["q"] == 1.0


def test_sort_free_first_rank_matches_sorting():
    rng = np.random.default_rng(0)
    scores = np.round(rng.normal(size=(4, 50, 30)), 1)  # rounding makes many ties
    scores[:, :, 25:] = -np.inf  # padding
    gains = (rng.random((50, 30)) < 0.1).astype(float)
    gains[:, 25:] = 0
    fr = first_relevant_rank(scores, gains)
    order = np.argsort(-scores, axis=-1, kind="stable")
    sorted_rel = np.take_along_axis(np.broadcast_to(gains, scores.shape), order, axis=-1) > 0
    expected = np.where(sorted_rel.any(-1), sorted_rel.argmax(-1), -1)
    assert np.array_equal(np.where(fr > 1000, -1, fr), expected)


def _ranx_name(m: str) -> str:
    return m.replace("p@", "precision@").replace("hit@", "hit_rate@")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_equals_ranx_evaluate_on_random_runs(seed):
    rng = np.random.default_rng(seed)
    n_q, pool = 40, 60
    run = {
        f"q{i}": {
            f"d{j}": float(rng.normal()) for j in rng.choice(pool, int(rng.integers(5, 40)), replace=False)
        }
        for i in range(n_q)
    }
    qrels = {
        f"q{i}": {
            f"d{j}": int(rng.integers(1, 4)) for j in rng.choice(pool, int(rng.integers(1, 8)), replace=False)
        }
        for i in range(n_q)
    }
    ms = [
        "mrr@100",
        "mrr@10",
        "p@1",
        "p@5",
        "p@20",
        "hit@20",
        "hit@3",
        "recall@100",
        "recall@10",
        "ndcg@10",
        "ndcg@100",
    ]
    ours, per = evaluate_run(Run(run), qrels, ms)
    r = ranx.Run(run)
    theirs = ranx.evaluate(ranx.Qrels(qrels), r, [_ranx_name(m) for m in ms])
    for m in ms:
        assert ours[m] == pytest.approx(theirs[_ranx_name(m)], abs=1e-9), m
        for q in run:
            assert per[m][q] == pytest.approx(r.scores[_ranx_name(m)][q], abs=1e-9), (m, q)


def test_compute_metrics_many_runs_at_once_equals_one_by_one():
    rng = np.random.default_rng(5)
    cand = np.array([[f"d{j}" for j in range(20)] for _ in range(10)], dtype=object)
    aligned = align_qrels(
        [f"q{i}" for i in range(10)],
        cand,
        {f"q{i}": {f"d{j}": 1 for j in rng.choice(20, 3, replace=False)} for i in range(10)},
    )
    scores = rng.normal(size=(5, 10, 20))
    batch = compute_metrics(scores, aligned, ["mrr@5", "ndcg@10", "p@3"])
    for w in range(5):
        single = compute_metrics(scores[w], aligned, ["mrr@5", "ndcg@10", "p@3"])
        for m in single:
            assert np.allclose(batch[m][w], single[m])
