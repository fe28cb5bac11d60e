"""Each training loss against a hand computation on tiny inputs."""

from __future__ import annotations

import math

import pytest
import torch

from kvqae.train.losses import contrastive, entity_type, joint, mlm


def log1pexp(x: float) -> float:
    return math.log(1 + math.exp(x))


def test_info_nce_from_logits_one_directional_and_symmetric():
    logits = torch.tensor([[2.0, 0.0], [1.0, 3.0]])
    # rows: -log softmax at the diagonal = log(1 + exp(other - diag))
    rows = (log1pexp(0 - 2) + log1pexp(1 - 3)) / 2
    cols = (log1pexp(1 - 2) + log1pexp(0 - 3)) / 2
    assert contrastive.compute_loss_from_logits(logits, symmetric=False).item() == pytest.approx(
        rows, rel=1e-6
    )
    assert contrastive.compute_loss_from_logits(logits, symmetric=True).item() == pytest.approx(
        (rows + cols) / 2, rel=1e-6
    )


def test_info_nce_from_embeddings_uses_cosine_and_learned_temperature():
    q = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    t = torch.tensor([[3.0, 0.0], [1.0, 1.0]])
    # cosines [[1, 1/sqrt2], [0, 1/sqrt2]] times exp(log 2) = 2
    s = math.sqrt(2)
    expected = (log1pexp(s - 2) + log1pexp(0 - s)) / 2
    got = contrastive.compute_loss_from_embeddings(q, t, torch.tensor(math.log(2.0)), symmetric=False)
    assert got.item() == pytest.approx(expected, rel=1e-6)


def test_logit_scale_is_clamped_at_100_like_clip():
    q = torch.eye(2)
    logits = contrastive.similarity_logits(q, q, torch.tensor(10.0))  # exp(10) > 100
    assert logits[0, 0].item() == pytest.approx(100.0)
    assert logits[0, 1].item() == pytest.approx(0.0)


def test_in_batch_mrr():
    logits = torch.tensor([[1.0, 2.0, 0.0], [0.0, 1.0, 0.0], [3.0, 1.0, 2.0]])
    assert contrastive.in_batch_mrr(logits) == pytest.approx((0.5 + 1 + 0.5) / 3)


def test_non_square_logits_rejected():
    with pytest.raises(ValueError):
        contrastive.compute_loss_from_logits(torch.zeros(2, 3))


def test_joint_score_fusion_and_loss_fusion():
    e1, e2 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    q = torch.stack([e1, e2])
    ent_img = torch.stack([e1, e2])  # mono cosines: identity
    ent_title = torch.stack([e2, e1])  # cross cosines: anti-identity
    w = torch.tensor([0.5, 2.0])
    # fused logits (scale 1): [[0.5, 2], [2, 0.5]] -> each row and column: log(1 + exp(2 - 0.5))
    fused = joint.compute_loss_from_embeddings(q, ent_img, ent_title, w, 0.0, fusion="score")
    assert fused.item() == pytest.approx(log1pexp(1.5), rel=1e-6)
    by_loss = joint.compute_loss_from_embeddings(q, ent_img, ent_title, w, 0.0, fusion="loss")
    assert by_loss.item() == pytest.approx(0.5 * log1pexp(-1.0) + 2.0 * log1pexp(1.0), rel=1e-6)


def test_learned_joint_weights_are_parameters_fixed_ones_are_not():
    assert [n for n, _ in joint.LossWeights((1, 1), learn=True).named_parameters()] == ["logits"]
    assert list(joint.LossWeights((1, 1), learn=False).parameters()) == []
    assert joint.LossWeights((1, 2), learn=False)().tolist() == [1.0, 2.0]  # fixed: as given


def test_learned_joint_weights_stay_positive_and_sum_to_one():
    w = joint.LossWeights((1, 3), learn=True)
    assert w().tolist() == pytest.approx([0.25, 0.75])  # started from the given weights, normalised
    opt = torch.optim.SGD(w.parameters(), lr=0.2)
    for _ in range(3):  # steps of a size that drives raw weights (1, 3) negative at once
        opt.zero_grad()
        (w()[0] * 50 - w()[1] * 50).backward()
        opt.step()
    out = w().detach()
    assert bool((out > 0).all()) and float(out.sum()) == pytest.approx(1.0)
    assert float(out[1]) > 0.99  # pushed towards cross, never past the simplex
    with pytest.raises(ValueError, match="positive"):
        joint.LossWeights((1, 0), learn=True)


def test_mlm_loss_only_counts_masked_positions():
    logits = torch.tensor([[[5.0, -5.0], [0.0, math.log(3.0)], [1.0, 1.0]]])
    labels = torch.tensor([[-100, 1, 0]])
    per_token = [math.log(4 / 3), math.log(2.0)]  # -log(3/4), -log(1/2)
    assert mlm.compute_loss_from_logits(logits, labels).item() == pytest.approx(sum(per_token) / 2, rel=1e-6)
    assert mlm.compute_loss_from_logits(logits, labels, reduction="sum").item() == pytest.approx(
        sum(per_token), rel=1e-6
    )
    none = mlm.compute_loss_from_logits(logits, torch.full((1, 3), -100))
    assert none.item() == 0.0


def test_mlm_head_is_tied_and_computes_dense_gelu_norm_decoder():
    torch.manual_seed(0)
    emb = torch.nn.Embedding(7, 4)
    head = mlm.MlmHead(emb)
    assert head.decoder.weight is emb.weight
    with torch.no_grad():
        head.bias.copy_(torch.arange(7.0))
    h = torch.randn(3, 4)
    x = torch.nn.functional.gelu(h @ head.dense.weight.T + head.dense.bias)
    x = (x - x.mean(-1, keepdim=True)) / torch.sqrt(x.var(-1, unbiased=False, keepdim=True) + 1e-5)
    expected = x @ emb.weight.T + torch.arange(7.0)
    assert torch.allclose(head(h), expected, atol=1e-5)
    # a gradient step on the head moves the embedding matrix itself
    head(h).sum().backward()
    assert emb.weight.grad is not None and emb.weight.grad.abs().sum() > 0


def test_entity_type_head_and_loss():
    logits = torch.tensor([[[0.0, 0.0, math.log(2.0)], [9.0, 9.0, 9.0]]])
    labels = torch.tensor([[2, -100]])
    assert entity_type.compute_loss_from_logits(logits, labels).item() == pytest.approx(
        math.log(2.0), rel=1e-6
    )
    head = entity_type.EntityTypeHead(4, 3)
    assert [type(m).__name__ for m in head.children()] == ["Linear", "GELU", "Linear"]
    assert head(torch.zeros(2, 5, 4)).shape == (2, 5, 3)
