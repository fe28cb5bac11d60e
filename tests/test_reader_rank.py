"""The read passages re-ordered by the reader's evidence (`kvqae.rerank.reader`): the math by hand, the
reader's per-passage evidence, the pipeline's `<run>+reader` run, and `kvqae ask` ranking as that run."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kvqae.ask.answer import Answerer
from kvqae.cli import app
from kvqae.data.questions import load_questions
from kvqae.data.runs import Run
from kvqae.read.evidence import EvidenceSettings
from kvqae.read.model import PassageInput, Reader
from kvqae.rerank.reader import fill_missing, first_article_first, reader_rank
from kvqae.rerank.scores import standardise
from kvqae.serve.app import create_app

RANKED = [("a", 3.0), ("b", 2.0), ("c", 1.0), ("d", 0.5), ("e", 0.0)]


def test_reader_rank_by_hand():
    # read: a, b, c. z(3, 2, 1) = (1.2247, 0, -1.2247); evidence (0, NaN -> 0 - 1, 4) = (0, -1, 4): mean 1,
    # std sqrt(14/3) -> z = (-0.4629, -0.9258, 1.3887); scores a 0.7618, b -0.9258, c 0.1640 -> a, c, b
    out = reader_rank(RANKED, [0.0, float("nan"), 4.0], weight=1.0)
    assert [p for p, _ in out] == ["a", "c", "b", "d", "e"]
    s = dict(out)
    z_ret = 1 / math.sqrt(2 / 3)
    z_ev = np.array([-1.0, -2.0, 3.0]) / math.sqrt(14 / 3)
    assert s["a"] == pytest.approx(z_ret + z_ev[0])
    assert s["b"] == pytest.approx(z_ev[1])
    assert s["c"] == pytest.approx(-z_ret + z_ev[2])
    # the passages not read keep their order and gaps, the best of them 1 below the lowest read one
    assert s["d"] == pytest.approx(s["b"] - 1.0)
    assert s["d"] - s["e"] == pytest.approx(0.5)
    # weight 0, or no evidence anywhere: the retrieval order
    assert [p for p, _ in reader_rank(RANKED, [0.0, float("nan"), 4.0], weight=0.0)] == list("abcde")
    assert [p for p, _ in reader_rank(RANKED, [float("nan")] * 3, weight=2.0)] == list("abcde")
    assert reader_rank(RANKED, [], weight=1.0) == RANKED
    with pytest.raises(ValueError, match="6 evidence values for 5"):
        reader_rank(RANKED, [0.0] * 6, weight=1.0)


def test_lead_with_puts_the_answer_passage_first():
    from kvqae.rerank.reader import lead_with

    # as above (a 0.7618, c 0.1640, b -0.9258) but b, the answer's passage, goes first at a's score + 1
    order = reader_rank(RANKED, [0.0, float("nan"), 4.0], weight=1.0)
    out = lead_with(order, "b")
    assert [p for p, _ in out] == ["b", "a", "c", "d", "e"]
    s, before = dict(out), dict(order)
    assert s["b"] == pytest.approx(before["a"] + 1.0)
    assert all(s[p] == before[p] for p in "acde")  # the others keep their scores
    assert lead_with(order, "a") == order
    with pytest.raises(ValueError, match="'z' to put first is not in the order"):
        lead_with(order, "z")


def test_first_article_first_by_hand():
    # the reader's order a, c, b of read passages a (article X), b (X), c (Y); d, e not read
    order = [("a", 5.0), ("c", 4.0), ("b", 3.0), ("d", 1.0), ("e", 0.0)]
    articles = {"a": "X", "b": "X", "c": "Y"}
    # X (the first read passage's article) holds 2 of 3 read passages >= half: b moves above c, the scores
    # stay the same decreasing values, the unread passages keep theirs
    assert first_article_first(order, articles, "X", 0.5) == [("a", 5.0), ("b", 4.0), ("c", 3.0), ("d", 1.0),
                                                              ("e", 0.0)]
    # below the share, no share, no article: unchanged
    assert first_article_first(order, articles, "X", 0.9) == order
    assert first_article_first(order, articles, "X", None) == order
    assert first_article_first(order, articles, None, 0.5) == order
    # a first article holding 1 of 3 stays where the evidence put it
    assert first_article_first(order, articles, "Y", 0.5) == order
    with pytest.raises(ValueError):
        first_article_first(order, {"a": "X", "d": "X", "c": "Y"}, "X", 0.5)


def test_answer_passage_needs_the_confidence():
    from kvqae.read.model import Prediction
    from kvqae.read.predict import answer_passage

    passages = [PassageInput("p0", "x"), PassageInput("p1", "y")]
    sure = Prediction("y", "p1", -1.0, 0, 1, 0.1, confidence=0.6)
    assert answer_passage(sure, passages, 0.5) == 1
    assert answer_passage(sure, passages, 0.7) is None and answer_passage(sure, passages, None) is None
    assert answer_passage(Prediction("y", "p1", -1.0, 0, 1, 0.1), passages, 0.5) is None  # no confidence
    assert answer_passage(Prediction("", None, -1.0, 0, 0, confidence=0.9), passages, 0.5) is None


def test_the_answer_passage_leads_only_within_the_leading_article(prose_kb, tiny_reader_dir, monkeypatch):
    from kvqae.read.model import Prediction, Reading
    from kvqae.read.predict import read_and_rank

    reader = Reader.load(tiny_reader_dir)
    # the leading article's passages leading the others' is the next test's
    reader.settings = reader.settings.model_copy(update={"first_article_share": None})
    ranked = [("Marie_Curie#0", 3.0), ("Eiffel_Tower#0", 2.0), ("Marie_Curie#1", 1.0)]
    evidence = np.array([2.0, 1.0, 0.0])  # the reader's order keeps the retrieval order: Curie#0 first

    def reading(answer_at: str, confidence: float | None, by_rule: bool = False):
        pred = Prediction("x", answer_at, -1.0, 0, 1, 0.1, confidence=confidence, by_rule=by_rule)
        monkeypatch.setattr(reader, "read", lambda q, passages, batch_rows=32: Reading([pred], evidence))
        return [p for p, _ in read_and_rank(reader, prose_kb, "q?", ranked, 3)[1]]

    # a confident answer from the leading article's other passage: that passage leads
    assert reading("Marie_Curie#1", 0.9) == ["Marie_Curie#1", "Marie_Curie#0", "Eiffel_Tower#0"]
    # not confident enough, or from another article: the evidence order stays
    assert reading("Marie_Curie#1", 0.2) == ["Marie_Curie#0", "Eiffel_Tower#0", "Marie_Curie#1"]  # < 0.25
    assert reading("Eiffel_Tower#0", 0.9) == ["Marie_Curie#0", "Eiffel_Tower#0", "Marie_Curie#1"]
    # an answer rule's answer from the first read passage's article leads whatever its confidence (it may
    # agree with the ranking's, keeping that confidence); from another article it does not
    assert reading("Marie_Curie#1", 0.1, by_rule=True) == ["Marie_Curie#1", "Marie_Curie#0", "Eiffel_Tower#0"]
    assert reading("Marie_Curie#1", None, by_rule=True)[0] == "Marie_Curie#1"
    assert reading("Eiffel_Tower#0", None, by_rule=True) == [
        "Marie_Curie#0", "Eiffel_Tower#0", "Marie_Curie#1"]
    # with the share rule (default 0.5): Curie holds 2 of the 3 read passages, so both come before the tower
    reader.settings = reader.settings.model_copy(update={"first_article_share": 0.5})
    assert reading("Eiffel_Tower#0", 0.9) == ["Marie_Curie#0", "Marie_Curie#1", "Eiffel_Tower#0"]
    reader.settings = reader.settings.model_copy(update={"first_article_share": 0.7})  # 2 of 3 < 0.7
    assert reading("Eiffel_Tower#0", 0.9) == ["Marie_Curie#0", "Eiffel_Tower#0", "Marie_Curie#1"]


def test_standardise_and_fill_missing():
    assert standardise(np.array([2.0, 2.0])).tolist() == [0.0, 0.0]
    assert standardise(np.array([5.0])).tolist() == [0.0]
    assert standardise(np.array([1.0, 3.0])).tolist() == [-1.0, 1.0]
    assert fill_missing([2.0, -math.inf, float("nan"), 0.5]).tolist() == [2.0, -0.5, -0.5, 0.5]
    assert fill_missing([float("nan")] * 2).tolist() == [0.0, 0.0]


def test_reader_evidence_per_passage_is_the_best_candidate(tiny_reader_dir):
    reader = Reader.load(tiny_reader_dir)
    question = "Where was Ada Lovelace born?"
    passages = [
        PassageInput("p0", "Ada Lovelace was born in London in 1815 and studied mathematics.", 2.0, "Ada"),
        PassageInput("p1", "The Analytical Engine was designed by Charles Babbage in England.", 1.0, "Ada"),
        PassageInput("p2", "Paris is the capital of France.", 0.5, "Paris"),
    ]
    reading = reader.read(question, passages)
    assert reading.passage_evidence.shape == (3,)
    assert reading.predictions[0].answer == reader.predict(question, passages)[0].answer
    weights = (reader.settings.evidence or EvidenceSettings()).weights()
    best = {}
    for row in reader.evidence_table(question, passages):
        best[row.candidate.passage] = max(best.get(row.candidate.passage, -math.inf),
                                          float(np.dot(row.values, weights)))
    for i in range(3):
        if i in best:
            assert reading.passage_evidence[i] == pytest.approx(best[i])
        else:
            assert math.isnan(reading.passage_evidence[i])
    assert best  # some passage has a candidate, else the comparison above proves nothing


def test_pipeline_writes_the_reader_ranked_run_and_ask_ranks_the_same(tiny_bundle, tiny_world_dir):
    from kvqae.read.predict import article_lookup

    fused = Run.load(tiny_bundle / "runs" / "test" / "fusion.json")
    by_reader = Run.load(tiny_bundle / "runs" / "test" / "fusion+reader.json")
    assert by_reader.meta["reader_rank"] == {"weight": 0.5, "top_k": 3}
    answerer = Answerer.load(tiny_bundle)
    questions = load_questions(tiny_world_dir / "questions_test.jsonl")
    moved = 0
    extras = {}
    for q in questions:
        before, after = [p for p, _ in fused.ranked(q.id)], [p for p, _ in by_reader.ranked(q.id)]
        # the read passages (the top 3 and those a birth / death question looks up in the first one's
        # article, kvqae.read.lookup) re-ordered among themselves, the rest in their order below them
        extra = article_lookup(answerer.reader, answerer.kb, q.question, fused.ranked(q.id)[:3])
        read = before[:3] + extra
        assert sorted(after[: len(read)]) == sorted(read)
        assert after[len(read) :] == [p for p in before[3:] if p not in extra]
        moved += after[:3] != before[:3]
        extras[q.id] = extra
        result = answerer.ask(q.question)
        assert [h.id for h in result.read] == after[: len(read)]  # every read passage, the looked-up too
        kb = answerer.kb
        if (result.confidence is not None
                and result.confidence >= answerer.reader.settings.answer_first
                and kb.entity_of(after[0]) == kb.entity_of(result.passage_id)):
            assert after[0] == result.passage_id
        assert all(h.text == answerer.kb.passage_text(h.id) for h in result.read)  # the evidence itself
        assert result.fused_ids[:10] == before[:10]  # the fused list stays the fused ranking
        assert result.fusion["reader_rank"] == {"weight": 0.5, "top_k": 3, "looked_up": len(extra)}
    assert moved > 0  # the reader changed some order, else the comparisons above prove nothing
    # the CLI and the HTTP API say so, for a question that looked a passage up and one that did not
    plain = next(q for q in questions if not extras[q.id])
    looked = next(q for q in questions if len(extras[q.id]) == 1)  # the world asks birth places and dates
    text = CliRunner().invoke(app, ["ask", str(tiny_bundle), "-q", plain.question])
    assert text.exit_code == 0
    assert "the 3 read passages ordered by the reader's evidence (weight 0.5)" in text.output
    text = CliRunner().invoke(app, ["ask", str(tiny_bundle), "-q", looked.question])
    assert ("the 4 read passages (3 retrieved, 1 looked up in the first one's article) ordered by the "
            "reader's evidence (weight 0.5)") in text.output
    client = TestClient(create_app(answerer))
    for q in (plain, looked):
        body = client.post("/api/ask", data={"question": q.question}).json()
        n = len(extras[q.id])
        assert body["fusion"]["reader_rank"] == {"weight": 0.5, "top_k": 3, "looked_up": n}
        assert [h["id"] for h in body["read"]] == [p for p, _ in by_reader.ranked(q.id, 3 + n)]
        assert all(h["text"] for h in body["read"]) and all(h["text"] is None for h in body["fused"])
        assert [h["id"] for h in body["fused"]] == [p for p, _ in fused.ranked(q.id, 5)]


def test_passage_weight_zero_lists_no_reader_order(tiny_bundle, tiny_world_dir):
    answerer = Answerer.load(tiny_bundle)
    answerer.reader.settings = answerer.reader.settings.model_copy(update={"passage_weight": 0.0})
    q = load_questions(tiny_world_dir / "questions_test.jsonl")[0]
    result = answerer.ask(q.question)
    assert result.read == [] and "reader_rank" not in result.fusion
    assert result.answer == answerer.ask(q.question).answer != ""


@pytest.mark.parametrize("bad", [-0.5, "heavy", None])
def test_a_bad_passage_weight_is_one_clear_error(tmp_path, tiny_reader_dir, bad):
    import json
    import shutil

    from kvqae.errors import InputError

    reader = tmp_path / "reader"
    shutil.copytree(tiny_reader_dir, reader)
    path = reader / "kvqae_reader.json"
    payload = json.loads(path.read_text(encoding="utf-8"))
    payload["settings"]["passage_weight"] = bad
    path.write_text(json.dumps(payload), encoding="utf-8")
    with pytest.raises(InputError, match="passage_weight") as err:
        Reader.load(reader)
    assert "kvqae_reader.json" in str(err.value)


def test_predictions_never_hold_nan(prose_kb, tiny_reader_dir, monkeypatch, tmp_path):
    import json

    from kvqae.data.questions import Question
    from kvqae.read.model import Prediction, Reading
    from kvqae.read.predict import read_questions

    reader = Reader.load(tiny_reader_dir)
    pred = Prediction("x", "Marie_Curie#0", float("nan"), 0, 1, 0.1, confidence=float("inf"))
    monkeypatch.setattr(reader, "read", lambda q, passages, batch_rows=32: Reading([pred], np.zeros(1)))
    run = Run({"q1": {"Marie_Curie#0": 1.0}})
    out = tmp_path / "p.jsonl"
    read_questions(reader, prose_kb, [Question("q1", "Who?")], run, out, top_k=1, progress=False)
    row = json.loads(out.read_text())  # strict JSON: NaN / Infinity would still parse, so check the values
    assert row["score"] is None and row["confidence"] is None and "NaN" not in out.read_text()
