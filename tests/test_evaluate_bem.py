"""BEM-style scorer with a tiny BERT sequence classifier built locally (MiniLM WordPiece vocabulary)."""

from __future__ import annotations

import pytest

from kvqae.errors import InputError


@pytest.fixture(scope="module")
def tiny_bem(tmp_path_factory, minilm_path):
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(str(minilm_path))
    cfg = BertConfig(
        vocab_size=tok.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=48,
        max_position_embeddings=128,
        num_labels=2,
    )
    model = BertForSequenceClassification(cfg)
    path = tmp_path_factory.mktemp("bem") / "tiny-bem"
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


def test_scores_match_the_classifier_probabilities(tiny_bem):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from kvqae.evaluate.bem import BemScorer

    bem = BemScorer(tiny_bem, batch_size=2)
    cands = ["Paris", "the city of light", "", "42"]
    refs = [["paris"], ["Paris", "Lutetia"], ["x"], []]
    qs = ["Capital of France?", "Capital of France?", "q", "q"]
    scores = bem.score(cands, refs, qs)
    assert scores[0] == 1.0  # exact match after normalisation: no model call
    assert scores[2] == 0.0 and scores[3] == 0.0  # empty candidate / no reference
    # an independent forward pass of the same classifier on the documented input layout
    tok = AutoTokenizer.from_pretrained(str(tiny_bem))
    model = AutoModelForSequenceClassification.from_pretrained(str(tiny_bem)).eval()
    probs = []
    for ref in refs[1]:
        enc = tok("the city of light", f"{ref} [SEP] Capital of France?", return_tensors="pt")
        with torch.no_grad():
            probs.append(torch.softmax(model(**enc).logits, -1)[0, 1].item())
    assert scores[1] == pytest.approx(max(probs), abs=1e-6)
    acc = bem.accuracy(cands, refs, qs)
    assert acc == [1.0, float(max(probs) >= 0.5), 0.0, 0.0]


def test_bad_inputs(tiny_bem, tmp_path):
    from kvqae.evaluate.bem import BemScorer

    with pytest.raises(InputError, match="not found"):
        BemScorer(tmp_path / "nope")
    with pytest.raises(InputError, match="same length"):
        BemScorer(tiny_bem).score(["a"], [], ["q"])
