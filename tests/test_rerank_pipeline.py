"""Proximity re-ranking as a step of `kvqae run` (`rerank:`) and of `kvqae ask` (the bundle's `rerank`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from conftest import write_tiny_pipeline
from kvqae.ask.answer import Answerer
from kvqae.ask.bundle import load_bundle
from kvqae.cli import app
from kvqae.data.kb import KnowledgeBase
from kvqae.data.questions import load_questions
from kvqae.data.runs import Run
from kvqae.errors import InputError
from kvqae.pipeline import load_pipeline_config, run_pipeline, write_pipeline_report
from kvqae.rerank.proximity import rerank_run
from kvqae.serve.app import create_app

BM25 = {"mode": "text-passage", "encoder": "bm25", "name": "bm25"}
SETTINGS = {"weight": 6.0, "words": 12, "top_n": 5, "lead": 2.0, "agreement": 1.5}


def _run(tmp_path, world, clip, reader, **extra):
    cfg = load_pipeline_config(write_tiny_pipeline(tmp_path, world, clip, reader, **extra))
    return cfg, run_pipeline(cfg, progress=False, log=lambda _: None)


def test_pipeline_reranks_the_fused_run_and_reads_it(tmp_path, tiny_world_dir, tiny_clip, tiny_reader_dir):
    # both entries with their entity contexts: 4 fused runs, as examples/wiki_pipeline.yaml has
    retrieval = [{**BM25, "entity_context": True},
                 {"mode": "text-passage", "encoder": f"clip:{tiny_clip}", "entity_context": True}]
    cfg, result = _run(tmp_path, tiny_world_dir, tiny_clip, tiny_reader_dir, retrieval=retrieval,
                       rerank=SETTINGS)
    out = cfg.output
    fused = Run.load(out / "runs" / "test" / "fusion.json")
    saved = Run.load(out / "runs" / "test" / "fusion+proximity.json")
    kb = KnowledgeBase.load(out / "kb")
    questions = {q.id: q.question for q in load_questions(tiny_world_dir / "questions_test.jsonl")}
    # the lead bonus goes to each article's first passage
    expected = rerank_run(fused, questions, kb.passage_text, **SETTINGS,
                          is_lead=lambda pid: kb.position_of(pid) == 0, article_of=kb.entity_of)
    assert expected.meta["rerank"]["lead"] == 2.0 and expected.meta["rerank"]["agreement"] == 1.5
    for qid in questions:
        assert [p for p, _ in saved.ranked(qid)] == [p for p, _ in expected.ranked(qid)]
    # re-ranking reorders within the top 5 only: the same passages as the fused run, from rank 6 on in order
    qid = next(iter(questions))
    assert {p for p, _ in saved.ranked(qid, 5)} == {p for p, _ in fused.ranked(qid, 5)}
    assert [p for p, _ in saved.ranked(qid)][5:] == [p for p, _ in fused.ranked(qid)][5:]
    # evaluated as its own system; the reader's EM/F1 belong to the re-ranked run it read
    systems = {s.name: s.mean for s in result["systems"]}
    assert "mrr@100" in systems["fusion+proximity"] and "em" in systems["fusion+proximity"]
    assert "em" not in systems["fusion"]
    assert load_bundle(out).rerank.model_dump() == {"method": "proximity", **SETTINGS}
    # the report, its weight plot over 4 runs included (this failed before session 7)
    paths = write_pipeline_report(result, out / "report")
    assert "| fusion+proximity |" in Path(paths["markdown"]).read_text(encoding="utf-8")
    assert len(load_bundle(out).run_names()) == 4
    assert (out / "report" / "weights_heatmap.png").stat().st_size > 1000


def test_ask_applies_the_bundle_rerank(tmp_path, tiny_world_dir, tiny_clip):
    """One run, no fusion: `kvqae ask` ranks as the batch pipeline's re-ranked run, passage for passage."""
    # proximity decides (the order must change somewhere); the article agreement applies in both paths
    strong = {**SETTINGS, "weight": 40.0, "words": 4, "agreement": 3.0}
    cfg, _ = _run(tmp_path, tiny_world_dir, tiny_clip, None, retrieval=[BM25], rerank=strong)
    batch = Run.load(cfg.output / "runs" / "test" / "bm25+proximity.json")
    plain = Run.load(cfg.output / "runs" / "test" / "bm25.json")
    answerer = Answerer.load(cfg.output)
    moved = 0
    for q in load_questions(tiny_world_dir / "questions_test.jsonl"):
        result = answerer.ask(q.question)
        assert result.fused_ids[:5] == [p for p, _ in batch.ranked(q.id, 5)]
        assert result.fusion["rerank"]["top_n"] == 5 and "rerank" in result.timings_ms
        moved += result.fused_ids[:5] != [p for p, _ in plain.ranked(q.id, 5)]
    assert moved > 0  # the re-ranking changed some order (else this test proves nothing)
    # the CLI says so, and the HTTP API returns the settings in its typed response
    q = load_questions(tiny_world_dir / "questions_test.jsonl")[0]
    text = CliRunner().invoke(app, ["ask", str(cfg.output), "-q", q.question])
    assert text.exit_code == 0
    assert ("re-ranked by term proximity: top 5, weight 40, 4-word windows, lead 2, article agreement 3"
            in text.output)
    client = TestClient(create_app(answerer))
    body = client.post("/api/ask", data={"question": q.question}).json()
    assert body["fusion"]["rerank"] == {"method": "proximity", **strong}
    assert [h["id"] for h in body["fused"]] == [p for p, _ in batch.ranked(q.id, 5)]
    kb = KnowledgeBase.load(cfg.output / "kb")
    first = kb.passages_of(kb.entity_ids[0])
    assert kb.position_of(first[0]) == 0 and kb.position_of(first[1]) == 1


def test_rerank_settings_are_checked(tmp_path, tiny_world_dir, tiny_clip):
    two = [BM25, {"mode": "text-passage", "encoder": f"clip:{tiny_clip}"}]
    with pytest.raises(InputError, match="rerank"):  # several runs, none fused: nothing to re-rank
        _run(tmp_path / "a", tiny_world_dir, tiny_clip, None, retrieval=two, fusion=None, rerank={})
    with pytest.raises(InputError, match="rerank.weight"):
        _run(tmp_path / "b", tiny_world_dir, tiny_clip, None, retrieval=[BM25], rerank={"weight": ".inf"})
    with pytest.raises(InputError, match="rerank.top_n"):
        _run(tmp_path / "c", tiny_world_dir, tiny_clip, None, retrieval=[BM25], rerank={"top_n": 0})
    assert not (tmp_path / "a" / "out").exists()
