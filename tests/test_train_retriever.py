"""The text retriever's loss (by hand), its question rewriting, and a CPU smoke run of its training."""

from __future__ import annotations

import json
import math

import pytest
import torch
from typer.testing import CliRunner

from kvqae.cli import app
from kvqae.train.losses.retrieval import compute_loss_from_embeddings
from kvqae.train.retriever import describe, entity_description, linear_warmup_decay


def test_loss_by_hand_in_batch_and_hard_negatives():
    q = torch.tensor([[1.0, 0.0], [0.0, 2.0]])  # normalised: e1, e2
    pos = torch.tensor([[3.0, 0.0], [1.0, 1.0]])  # e1, (e1 + e2)/sqrt2
    neg = torch.tensor([[0.0, -1.0]])  # -e2
    s = 1 / math.sqrt(2)
    # query 0 scores [1, s, 0] (positives 0, 1, negative); query 1 scores [0, s, -1]
    row0 = -math.log(math.exp(2 * 1) / (math.exp(2 * 1) + math.exp(2 * s) + math.exp(0)))
    row1 = -math.log(math.exp(2 * s) / (math.exp(0) + math.exp(2 * s) + math.exp(-2)))
    got = compute_loss_from_embeddings(q, pos, neg, scale=2.0)
    assert float(got) == pytest.approx((row0 + row1) / 2, rel=1e-6)
    # without hard negatives: in-batch only
    row0_ib = -math.log(math.exp(2) / (math.exp(2) + math.exp(2 * s)))
    row1_ib = -math.log(math.exp(2 * s) / (1 + math.exp(2 * s)))
    in_batch = compute_loss_from_embeddings(q, pos, None, scale=2.0)
    assert float(in_batch) == pytest.approx((row0_ib + row1_ib) / 2)
    with pytest.raises(ValueError):
        compute_loss_from_embeddings(q, pos[:1])


def test_entity_description_and_rewrite():
    text = "Albert Einstein (14 March 1879 – 18 April 1955) was a German-born theoretical physicist. He"
    assert entity_description(text) == "German-born theoretical physicist"
    assert entity_description("An American in Paris is a jazz-influenced symphonic poem by the American "
                              "composer George Gershwin.") == "jazz-influenced symphonic poem"
    assert entity_description("Alaska lies in the far north.") is None
    assert describe("When did Albert Einstein publish it?", "Albert Einstein", "German-born physicist") == (
        "When did this German-born physicist publish it?")
    assert describe("Albert Einstein won what?", "Albert Einstein", "physicist") == "This physicist won what?"
    assert describe("Who won the prize?", "Albert Einstein", "physicist") is None


def test_linear_warmup_decay():
    f = linear_warmup_decay(10, 0.2)  # 2 warm-up steps, then 8 decaying to 0
    assert [round(f(s), 3) for s in range(10)] == [0.5, 1.0, 1.0, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125]


@pytest.mark.usefixtures("one_torch_thread")
def test_train_retriever_cli_smoke(tmp_path, prose_kb, minilm_path):
    """A short run from the packaged MiniLM: the output loads as `st:<dir>` and records its history."""
    from kvqae.encode.registry import load_encoder

    out = tmp_path / "retriever"
    args = ["train", "retriever", "--kb", str(prose_kb.path), "--out", str(out), "--questions", "24",
            "--epochs", "1", "--batch-size", "8", "--no-progress"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "kvqae_retriever.json").read_text())
    assert [h["epoch"] for h in summary["history"]] == [0, 1]
    assert summary["train_questions"] + summary["val_questions"] <= 24
    assert all(e["negatives"] == [] or e["negatives"][0].split("#")[0] != e["entity"]
               for e in summary["examples"])
    enc = load_encoder(f"st:{out}")
    vecs = enc.encode_texts(["Where was Beethoven born?", "Bonn"], role="query")
    assert vecs.shape == (2, 384)
    assert torch.allclose(torch.from_numpy(vecs).norm(dim=1), torch.ones(2), atol=1e-5)


def test_train_retriever_natural_style_examples(prose_kb):
    """`style: natural` trains on wh-movement rewrites: questions that start with their wh-phrase, each with
    its source passage (an unknown style: tests/test_cli_safety.py)."""
    from kvqae.train.retriever import TrainRetrieverConfig, make_examples

    cfg = TrainRetrieverConfig(kb=prose_kb.path, out=prose_kb.path / "unused", n_questions=12,
                               style="natural", described_share=0.0)
    examples = make_examples(prose_kb, cfg, prose_kb.path.parent / "bm25", progress=False)
    assert examples and all(e.passage_id in set(prose_kb.passage_ids) for e in examples)
    wh = ("who", "what", "when", "where", "which", "how", "in ", "on ", "at ", "from ", "by ")
    fronted = [e.question for e in examples if e.question.lower().startswith(wh)]
    assert len(fronted) >= len(examples) // 2, [e.question for e in examples]


def test_pick_negatives_by_hand(prose_kb):
    from kvqae.train.retriever import pick_negatives

    kb = prose_kb
    curie = kb.passages_of("Marie_Curie")
    assert len(curie) >= 2 and "Warsaw" in kb.passage_text(curie[0])
    assert all("Warsaw" not in kb.passage_text(p) for p in curie[1:])
    ranked = ["Eiffel_Tower#0", curie[0], "Apollo_11#0"]  # BM25 found no other Curie passage
    # other entities first (BM25 order), then the entity's own passages without the answer (KB order)
    got = pick_negatives(kb, ranked, "Marie_Curie", curie[0], "Warsaw", other=1, same=0)
    assert got == ["Eiffel_Tower#0"]
    assert pick_negatives(kb, ranked, "Marie_Curie", curie[0], "Warsaw", other=2, same=1) == [
        "Eiffel_Tower#0", "Apollo_11#0", curie[1]]
    # a passage holding the answer is never a negative, even of another entity
    got = pick_negatives(kb, [curie[1], curie[0]], "Marie_Curie", curie[1], "Warsaw", other=1, same=1)
    assert got == curie[2:3]


def test_validation_holds_out_whole_passages():
    # split question by question, most validation questions' passages were training positives too
    from kvqae.train.retriever import RetrievalExample, split_by_passage

    examples = [RetrievalExample(f"q{i}", f"p{i % 7}", "E", []) for i in range(40)]
    train, val = split_by_passage(examples, 0.1, seed=0)
    assert len(train) + len(val) == 40 and len(val) >= 4
    assert not {e.passage_id for e in train} & {e.passage_id for e in val}
    assert [e.question for e in train] == [e.question for e in examples if e in train]  # order kept
    one = [RetrievalExample(f"q{i}", "p0", "E", []) for i in range(3)]
    train, val = split_by_passage(one, 0.1, seed=0)
    assert (len(train), len(val)) == (2, 1)  # one passage: one question held out all the same
