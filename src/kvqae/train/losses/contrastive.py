"""In-batch contrastive loss (InfoNCE) with CLIP's learned temperature.

Row i of the query batch and row i of the target batch are a positive pair; every other row of the batch is a
negative. CLIP stores the inverse temperature as `logit_scale` (its log), so logits are
`exp(logit_scale) * cos(q_i, t_j)`; like CLIP we clamp the scale at 100.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

MAX_LOGIT_SCALE = math.log(100.0)


def similarity_logits(
    queries: torch.Tensor, targets: torch.Tensor, logit_scale: torch.Tensor | float
) -> torch.Tensor:
    """Cosine similarities scaled by `exp(logit_scale)` (clamped at 100): (n, d) x (m, d) -> (n, m)."""
    import torch
    import torch.nn.functional as F

    scale = torch.as_tensor(logit_scale, dtype=queries.dtype, device=queries.device)
    scale = scale.clamp(max=MAX_LOGIT_SCALE).exp()
    return scale * F.normalize(queries, dim=-1) @ F.normalize(targets, dim=-1).T


def compute_loss_from_logits(logits: torch.Tensor, symmetric: bool = True) -> torch.Tensor:
    """InfoNCE from a square logit matrix whose diagonal holds the positives.

    `logits[i, j]`: score of query i against target j (n, n). One-directional (`symmetric=False`) is the mean
    over rows of `-log softmax(logits[i])[i]` (query -> target, e.g. image -> text); symmetric averages it
    with the same loss on the transposed matrix (target -> query). Returns a scalar tensor.
    """
    import torch
    import torch.nn.functional as F

    if logits.ndim != 2 or logits.shape[0] != logits.shape[1]:
        raise ValueError(f"expected a square (n, n) logit matrix, got shape {tuple(logits.shape)}")
    labels = torch.arange(logits.shape[0], device=logits.device)
    loss = F.cross_entropy(logits.float(), labels)
    if symmetric:
        loss = (loss + F.cross_entropy(logits.float().T, labels)) / 2
    return loss


def compute_loss_from_embeddings(
    queries: torch.Tensor,
    targets: torch.Tensor,
    logit_scale: torch.Tensor | float,
    symmetric: bool = True,
) -> torch.Tensor:
    """InfoNCE from paired embeddings (n, d) and (n, d) (not necessarily normalised) and CLIP's
    `logit_scale`."""
    return compute_loss_from_logits(similarity_logits(queries, targets, logit_scale), symmetric=symmetric)


def in_batch_mrr(logits: torch.Tensor) -> float:
    """Mean reciprocal rank of the diagonal target in each row of a square logit matrix (ties count
    against)."""
    diag = logits.diagonal().unsqueeze(1)
    ranks = (logits > diag).sum(dim=1) + (logits == diag).sum(dim=1)  # 1-based, pessimistic on ties
    return float((1.0 / ranks.float()).mean())
