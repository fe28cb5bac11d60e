"""Text-retriever loss: in-batch negatives plus hard negatives (multiple-negatives ranking, DPR-style).

Query i's positive is passage i of the batch; the candidates of every query are all B positives of the batch
(the other queries' positives are its in-batch negatives) followed by all hard negatives of the batch
(e.g. BM25 passages of other entities). Logits are `scale * cos(q_i, d_j)`; the loss is the mean over queries
of `-log softmax(logits[i])[i]`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

DEFAULT_SCALE = 20.0  # inverse temperature for cosine similarities (the usual sentence-embedding choice)


def compute_loss_from_embeddings(
    queries: torch.Tensor,
    positives: torch.Tensor,
    hard_negatives: torch.Tensor | None = None,
    scale: float = DEFAULT_SCALE,
) -> torch.Tensor:
    """queries (B, d), positives (B, d), hard_negatives (H, d) or None -> scalar loss (see module doc)."""
    import torch
    import torch.nn.functional as F

    if queries.shape != positives.shape:
        raise ValueError(f"queries {tuple(queries.shape)} and positives {tuple(positives.shape)} differ")
    docs = positives
    if hard_negatives is not None and len(hard_negatives):
        docs = torch.cat([positives, hard_negatives])
    logits = scale * F.normalize(queries, dim=-1) @ F.normalize(docs, dim=-1).T
    labels = torch.arange(len(queries), device=queries.device)
    return F.cross_entropy(logits, labels)
