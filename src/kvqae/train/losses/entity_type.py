"""Entity-type prediction for masked tokens: two linear layers with GELU, cross-entropy over types."""

from __future__ import annotations

import torch
from torch import nn

IGNORE_INDEX = -100


class EntityTypeHead(nn.Module):
    """Hidden states (..., hidden) -> type logits (..., num_types): Linear -> GELU -> Linear."""

    def __init__(self, hidden_size: int, num_types: int) -> None:
        super().__init__()
        if num_types < 1:
            raise ValueError("the entity-type head needs at least one type")
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.act = nn.GELU()
        self.classifier = nn.Linear(hidden_size, num_types)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.act(self.dense(hidden_states)))


def compute_loss_from_logits(
    logits: torch.Tensor, labels: torch.Tensor, reduction: str = "mean"
) -> torch.Tensor:
    """Cross-entropy of type logits (batch, seq, num_types) against labels (batch, seq): type index at masked
    positions, -100 elsewhere. `reduction`: "mean" over labelled tokens (0 when none) or "sum"."""
    import torch.nn.functional as F

    flat_logits = logits.reshape(-1, logits.shape[-1]).float()
    flat_labels = labels.reshape(-1)
    if not bool((flat_labels != IGNORE_INDEX).any()):
        return flat_logits.sum() * 0.0
    return F.cross_entropy(flat_logits, flat_labels, ignore_index=IGNORE_INDEX, reduction=reduction)
