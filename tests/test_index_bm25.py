"""BM25 index directories: scores against the formula by hand, round trip, CLI, pipeline and bundle."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import pandas as pd
import pytest
from typer.testing import CliRunner

from kvqae.cli import app
from kvqae.errors import InputError
from kvqae.index.bm25_index import Bm25Index, is_bm25_index

TEXTS = {
    "a#0": "The cat sat on the mat",  # tokens: cat sat mat (3)
    "b#0": "Dogs chase cats",  # dog chase cat (3)
    "c#0": "Paris is the capital of France and Paris is big",  # pari capit franc pari big (5)
}


@pytest.fixture(scope="module")
def tiny_kb():
    frame = pd.DataFrame({"passage_id": list(TEXTS), "text": list(TEXTS.values())})
    return SimpleNamespace(passages=frame, path="tiny")


def lucene(tf: int, df: int, dl: int, n: int = 3, avgdl: float = 11 / 3, k1: float = 1.5, b: float = 0.75):
    idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
    return idf * tf / (tf + k1 * (1 - b + b * dl / avgdl))


def test_scores_equal_the_lucene_formula(tmp_path, tiny_kb):
    index = Bm25Index.build(tiny_kb, tmp_path / "bm25")
    (paris,), (cats,), (both,) = (index.search([q], 10) for q in ("Paris", "a cat", "cats in Paris"))
    assert paris == [("c#0", pytest.approx(lucene(tf=2, df=1, dl=5)))]
    # "cat" is in two passages of equal length: equal scores, ties broken by id
    assert cats == [("a#0", pytest.approx(lucene(1, 2, 3))), ("b#0", pytest.approx(lucene(1, 2, 3)))]
    assert [d for d, _ in both] == ["c#0", "a#0", "b#0"]
    assert both[0][1] == pytest.approx(lucene(2, 1, 5))
    # nothing shared with any passage, or only stop words: no results (never zero-score filler)
    assert index.search(["zebra", "the of and", ""], 10) == [[], [], []]
    assert index.search(["cats"], 1) == [[("a#0", pytest.approx(lucene(1, 2, 3)))]]
    with pytest.raises(InputError):
        index.search(["cat"], 0)


def test_round_trip_and_run(tmp_path, tiny_kb):
    built = Bm25Index.build(tiny_kb, tmp_path / "bm25", k1=1.2, b=0.5)
    assert is_bm25_index(tmp_path / "bm25")
    meta = json.loads((tmp_path / "bm25" / "meta.json").read_text())
    assert meta["kind"] == "kvqae-bm25-index" and meta["count"] == 3 and meta["k1"] == 1.2
    loaded = Bm25Index.load(tmp_path / "bm25")
    queries = ["cat on a mat", "capital of France", "dogs"]
    assert loaded.search(queries, 5) == built.search(queries, 5)
    run = loaded.search_run(["q1", "q2", "q3"], queries, 2, name="bm25")
    assert run.level == "passage" and list(run.scores) == ["q1", "q2", "q3"]
    assert list(run.scores["q1"]) == ["a#0", "b#0"]
    assert run.scores["q3"] == {"b#0": pytest.approx(lucene(1, 1, 3, k1=1.2, b=0.5))}
    # parameters outside BM25's range, infinite and NaN included: one error, nothing written
    for k1, b in ((float("inf"), 0.5), (float("nan"), 0.5), (-1.0, 0.5), (1.2, 1.5), (1.2, float("nan"))):
        with pytest.raises(InputError, match="finite k1 >= 0"):
            Bm25Index.build(tiny_kb, tmp_path / "bad", k1=k1, b=b)
        assert not (tmp_path / "bad").exists()


def test_load_refuses_other_directories(tmp_path):
    with pytest.raises(InputError, match="not found"):
        Bm25Index.load(tmp_path / "none")
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "meta.json").write_text('{"kind": "kvqae-kb"}')
    with pytest.raises(InputError, match="not a BM25 index"):
        Bm25Index.load(tmp_path / "x")


def test_cli_build_and_search(tmp_path, prose_kb):
    args = ["index", "build", str(prose_kb.path), "--bm25", "--out", str(tmp_path / "i")]
    out = CliRunner().invoke(app, args)
    assert out.exit_code == 0, out.output
    questions = tmp_path / "q.jsonl"
    rows = [{"id": "q1", "question": "Where was Beethoven born?", "answers": ["Bonn"]},
            {"id": "q2", "question": "How tall is the tower built by Gustave Eiffel?",
             "answers": ["330 metres"]}]
    questions.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    res = CliRunner().invoke(app, ["search", "--index", str(tmp_path / "i"), "--questions", str(questions),
                                   "--k", "5", "--out", str(tmp_path / "run.json"), "--no-progress"])
    assert res.exit_code == 0, res.output
    from kvqae.data.runs import Run

    run = Run.load(tmp_path / "run.json")
    assert run.ranked("q1")[0][0].startswith("Ludwig_van_Beethoven")
    assert run.ranked("q2")[0][0].startswith("Eiffel_Tower")
    args = ["search", "--index", str(tmp_path / "i"), "--out", str(tmp_path / "r.json")]
    missing = CliRunner().invoke(app, args)
    assert isinstance(missing.exception, InputError) and "--questions" in str(missing.exception)


def test_pipeline_fuses_bm25_with_dense_and_asks(tmp_path, tiny_world_dir, tiny_clip):
    from conftest import write_tiny_pipeline
    from kvqae.ask.answer import Answerer
    from kvqae.pipeline import load_pipeline_config, run_pipeline

    retrieval = [{"mode": "text-passage", "encoder": f"clip:{tiny_clip}"},
                 {"mode": "text-passage", "encoder": "bm25", "name": "bm25"}]
    config = write_tiny_pipeline(tmp_path, tiny_world_dir, tiny_clip, None, retrieval=retrieval)
    cfg = load_pipeline_config(config)
    result = run_pipeline(cfg, progress=False, log=lambda _: None)
    assert "bm25" in result["runs"]["test"] and "fusion" in result["runs"]["test"]
    bundle = json.loads((cfg.output / "bundle.json").read_text())
    assert bundle["retrieval"][1]["encoder"] == "bm25" and bundle["retrieval"][1]["encoder_paths"] == []
    answerer = Answerer.load(cfg.output)
    question = "Which town did this person come from?"
    asked = answerer.ask(question)
    batch = Bm25Index.load(cfg.output / "indexes" / "passage-bm25").search([question], 5)[0]
    assert [h.id for h in asked.modes["bm25"]] == [d for d, _ in batch]
    assert set(asked.fusion["weights"]) == {"text-passage", "bm25"}


def test_pipeline_refuses_bm25_for_image_modes(tmp_path, tiny_world_dir, tiny_clip):
    from conftest import write_tiny_pipeline
    from kvqae.pipeline import load_pipeline_config

    config = write_tiny_pipeline(tmp_path, tiny_world_dir, tiny_clip, None,
                                 retrieval=[{"mode": "image-title", "encoder": "bm25"}])
    with pytest.raises(InputError, match="bm25 only serves mode text-passage"):
        load_pipeline_config(config)


def test_entity_context_by_hand():
    from kvqae.data.runs import Run
    from kvqae.search.passages import PassageTable, entity_context_run, passage_run_to_entities

    table = PassageTable.from_mapping({"A": ["A#0", "A#1", "A#2"], "B": ["B#0", "B#1"]})
    run = Run({"q": {"A#2": 0.5, "B#0": 0.9, "A#0": 0.7}, "empty": {}}, "bm25", "passage")
    entities = passage_run_to_entities(run, lambda p: p.split("#")[0])
    assert entities.level == "entity" and entities.scores == {"q": {"A": 0.7, "B": 0.9}, "empty": {}}
    ctx = entity_context_run(run, lambda p: p.split("#")[0], table, k=4)
    assert ctx.name == "bm25@entity" and ctx.level == "passage"
    # B's passages first at B's best score, then A's in article order at A's best score; k=4 keeps four
    assert [d for d, _ in ctx.ranked("q")] == ["B#0", "B#1", "A#0", "A#1"]
    assert ctx.scores["q"]["B#0"] == pytest.approx(0.9) and ctx.scores["q"]["A#1"] == pytest.approx(0.7)
    assert ctx.scores["empty"] == {}


def test_pipeline_entity_context_in_runs_fusion_and_bundle(tmp_path, tiny_world_dir, tiny_clip):
    from conftest import write_tiny_pipeline
    from kvqae.ask.answer import Answerer
    from kvqae.pipeline import load_pipeline_config, run_pipeline

    retrieval = [{"mode": "text-passage", "encoder": "bm25", "name": "bm25", "entity_context": True}]
    config = write_tiny_pipeline(tmp_path, tiny_world_dir, tiny_clip, None, retrieval=retrieval)
    cfg = load_pipeline_config(config)
    result = run_pipeline(cfg, progress=False, log=lambda _: None)
    assert {"bm25", "bm25@entity", "fusion"} <= set(result["runs"]["test"])
    weights = json.loads((cfg.output / "fusion_weights.json").read_text())
    assert weights["run_names"] == ["bm25", "bm25@entity"]
    answerer = Answerer.load(cfg.output)
    asked = answerer.ask("Which town did this person come from?")
    assert set(asked.fusion["weights"]) == {"bm25", "bm25@entity"}
    assert asked.levels["bm25@entity"] == "entity"
    bm25_entities = list(dict.fromkeys(h.entity_id for h in asked.modes["bm25"]))
    assert [h.entity_id for h in asked.modes["bm25@entity"]][:1] == bm25_entities[:1]
