"""entity_run_to_passages: one entity -> many passages, many entities -> one passage, truncation, order."""

from __future__ import annotations

import numpy as np
import pytest

from kvqae.data.runs import Run
from kvqae.errors import InputError
from kvqae.search import entity_run_to_passages, passage_scores


class MapKB:
    """The smallest object with `passages_of`, as entity_run_to_passages expects from a KnowledgeBase."""

    def __init__(self, mapping: dict[str, list[str]]) -> None:
        self.mapping = mapping

    def passages_of(self, entity_id: str) -> list[str]:
        return list(self.mapping[entity_id])


KB = MapKB({
    "X": [f"X#{i}" for i in range(12)],  # "X#10" < "X#2" as strings: article order must still win
    "Y": ["Y#0", "Y#1"],
    "Z": ["Z#0"],
    "W": [],
})


def ranked_ids(run: Run, qid: str) -> list[str]:
    return [d for d, _ in run.ranked(qid)]


def test_one_entity_to_many_passages_keeps_article_and_rank_order():
    run = Run({"q": {"Y": 0.5, "X": 0.9, "Z": 0.2}}, "r", "entity")
    out = entity_run_to_passages(run, KB)
    assert out.level == "passage"
    assert ranked_ids(out, "q") == [f"X#{i}" for i in range(12)] + ["Y#0", "Y#1", "Z#0"]
    scores = out.scores["q"]
    assert scores["X#0"] == 0.9 and scores["Y#0"] == 0.5 and scores["Z#0"] == 0.2  # first passage: raw score
    assert all(abs(scores[f"X#{i}"] - 0.9) <= 1e-6 for i in range(12))
    assert scores["X#11"] > 0.5 and scores["Y#1"] > 0.2


def test_tied_entities_do_not_interleave():
    run = Run({"q": {"Y": 0.7, "X": 0.7}}, "r", "entity")  # tie: Run.ranked puts X before Y
    out = entity_run_to_passages(run, KB)
    assert ranked_ids(out, "q") == [f"X#{i}" for i in range(12)] + ["Y#0", "Y#1"]
    assert out.scores["q"]["X#0"] == 0.7


def test_many_entities_to_one_passage_keep_the_best_score():
    kb = {"E1": ["P1", "S"], "E2": ["S", "P2"], "E3": ["S"]}  # a plain mapping also works
    run = Run({"q": {"E2": 0.5, "E1": 0.9, "E3": 0.95}}, "r", "entity")
    out = entity_run_to_passages(run, kb)
    assert ranked_ids(out, "q") == ["S", "P1", "P2"]
    assert out.scores["q"]["S"] == 0.95  # from E3, the best of 0.95 / 0.9 / 0.5
    assert out.scores["q"]["P1"] == 0.9
    assert 0.5 - 1e-6 <= out.scores["q"]["P2"] < 0.5


def test_k_truncation_and_empty_queries():
    run = Run({"q": {"X": 0.9, "Y": 0.5}, "none": {}, "w": {"W": 0.3}}, "r", "entity")
    out = entity_run_to_passages(run, KB, k=3)
    assert ranked_ids(out, "q") == ["X#0", "X#1", "X#2"]
    assert out.scores["none"] == {} and out.scores["w"] == {}
    assert out.meta["passages_k"] == 3 and out.meta["from_level"] == "entity"


def test_order_survives_trec_and_json_roundtrip(tmp_path):
    run = Run({"q1": {"X": 0.9, "Y": 0.9000001}, "q2": {"Z": -0.25, "X": -0.3}}, "img", "entity")
    out = entity_run_to_passages(run, KB)
    for name in ("r.trec", "r.json"):
        back = Run.load(out.save(tmp_path / name), level="passage")
        assert ranked_ids(back, "q1") == ["Y#0", "Y#1"] + [f"X#{i}" for i in range(12)]
        assert ranked_ids(back, "q2") == ["Z#0"] + [f"X#{i}" for i in range(12)]
        assert back.scores == out.scores


def test_passage_scores_vectorised_rule():
    s = passage_scores(np.array([0.9, 0.9, 0.5]), np.array([2, 1, 3]))
    assert s[0] == 0.9 and s[3] == 0.5
    assert np.all(np.diff(s) < 0)
    assert s[2] > 0.5 and s[2] >= 0.9 - 1e-6


def test_unknown_entity_and_passage_level_run_are_refused():
    with pytest.raises(InputError, match="entity 'Q' is not in the knowledge base") as e:
        entity_run_to_passages(Run({"q7": {"Q": 1.0}}, "r", "entity"), KB)
    assert e.value.record == "query q7"
    with pytest.raises(InputError) as e:
        entity_run_to_passages(Run({"q": {"X#0": 1.0}}, "r", "passage"), KB)
    assert e.value.field == "level"


def test_passage_table_gives_the_same_runs():
    import pandas as pd

    from kvqae.search import PassageTable

    class FrameKB:  # the KnowledgeBase DataFrame contract (entities and passages columns)
        entities = pd.DataFrame({"entity_id": ["X", "Y", "Z", "W"]})
        rows = [(f"X#{i}", "X", i) for i in range(12)] + [("Y#0", "Y", 0), ("Y#1", "Y", 1), ("Z#0", "Z", 0)]
        passages = pd.DataFrame(rows[::-1], columns=["passage_id", "entity_id", "position"])  # any row order

    run = Run({"q1": {"Y": 0.5, "X": 0.9, "Z": 0.2}, "q2": {"Z": 0.3, "W": 0.3, "Y": 0.3}, "q3": {}}, "r",
              "entity")
    expected = entity_run_to_passages(run, KB, k=14)
    for table in (PassageTable.from_kb(FrameKB()), PassageTable.from_mapping(KB.mapping)):
        assert table.passages_of("X") == KB.mapping["X"] and table.passages_of("W") == []
        got = entity_run_to_passages(run, table, k=14)
        assert got.scores == expected.scores
        assert list(got.scores["q1"])[:3] == ["X#0", "X#1", "X#2"]
        with pytest.raises(InputError, match="entity 'Q'"):
            entity_run_to_passages(Run({"q": {"Q": 1.0}}, "r", "entity"), table)
