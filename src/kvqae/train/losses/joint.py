"""Joint mono-modal + cross-modal training.

Two ways to combine them (`fusion`):
- "score" (default): one InfoNCE on the fused similarity
  `exp(logit_scale) * (w_mono * cos(q_img, e_img) + w_cross * cos(q_img, e_title))`, the same linear fusion
  as at   search time; the weights may be learned (a `LossWeights` module trained at its own learning rate).
- "loss": `w_mono * InfoNCE(mono) + w_cross * InfoNCE(cross)` with fixed weights (learned loss weights would
  simply shrink to zero, so they are not offered).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from kvqae.train.losses.contrastive import MAX_LOGIT_SCALE
from kvqae.train.losses.contrastive import compute_loss_from_logits as info_nce


class LossWeights(nn.Module):
    """Fusion weights `(w_mono, w_cross)`.

    Fixed (`learn=False`): a buffer holding the given weights. Learned: a softmax over two logits, so the
    weights stay positive and sum to 1 — unconstrained weights could go negative or grow and so bypass the
    temperature cap (`MAX_LOGIT_SCALE`). Learning starts from the given weights normalised to sum to 1.
    """

    def __init__(self, weights: Sequence[float] = (1.0, 1.0), learn: bool = False) -> None:
        super().__init__()
        value = torch.tensor([float(w) for w in weights])
        if value.shape != (2,):
            raise ValueError(f"expected two weights (mono, cross), got {list(weights)}")
        self.learn = learn
        if learn:
            if not bool((value > 0).all()):
                raise ValueError(f"learned weights start from positive values, got {list(weights)}")
            self.logits = nn.Parameter(torch.log(value / value.sum()))
        else:
            self.register_buffer("weights", value)

    def forward(self) -> torch.Tensor:
        return torch.softmax(self.logits, dim=0) if self.learn else self.weights


def fused_logits(
    question_images: torch.Tensor,
    entity_images: torch.Tensor,
    entity_titles: torch.Tensor,
    weights: torch.Tensor,
    logit_scale: torch.Tensor | float,
) -> torch.Tensor:
    """`exp(logit_scale) * (w0 * cos(q, e_img) + w1 * cos(q, e_title))` for every (question, entity)
    pair: (n, n)."""
    import torch.nn.functional as F

    q = F.normalize(question_images, dim=-1)
    mono = q @ F.normalize(entity_images, dim=-1).T
    cross = q @ F.normalize(entity_titles, dim=-1).T
    scale = torch.as_tensor(logit_scale, dtype=q.dtype, device=q.device).clamp(max=MAX_LOGIT_SCALE).exp()
    return scale * (weights[0] * mono + weights[1] * cross)


def compute_loss_from_embeddings(
    question_images: torch.Tensor,
    entity_images: torch.Tensor,
    entity_titles: torch.Tensor,
    weights: torch.Tensor,
    logit_scale: torch.Tensor | float,
    fusion: str = "score",
    symmetric: bool = True,
) -> torch.Tensor:
    """Joint loss for n (question image, entity image, entity title) triples, embeddings (n, d) each."""
    from kvqae.train.losses.contrastive import similarity_logits

    if fusion == "score":
        return info_nce(
            fused_logits(question_images, entity_images, entity_titles, weights, logit_scale),
            symmetric=symmetric,
        )
    if fusion == "loss":
        mono = info_nce(similarity_logits(question_images, entity_images, logit_scale), symmetric=symmetric)
        cross = info_nce(similarity_logits(question_images, entity_titles, logit_scale), symmetric=symmetric)
        return weights[0] * mono + weights[1] * cross
    raise ValueError(f"unknown joint fusion {fusion!r}; expected 'score' or 'loss'")
