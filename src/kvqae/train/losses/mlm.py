"""Entity-level masked language modelling: a head tied to CLIP's token embeddings, and its cross-entropy.

The head is BERT's: dense -> GELU -> LayerNorm -> decoder, where the decoder weight IS the text tower's token
embedding matrix (one shared `Parameter`), plus its own bias.
"""

from __future__ import annotations

import torch
from torch import nn

IGNORE_INDEX = -100


class MlmHead(nn.Module):
    """Hidden states (..., hidden) -> vocabulary logits (..., vocab), output layer tied to
    `token_embedding`."""

    def __init__(self, token_embedding: nn.Embedding, layer_norm_eps: float = 1e-5) -> None:
        super().__init__()
        vocab, hidden = token_embedding.weight.shape
        self.dense = nn.Linear(hidden, hidden)
        self.act = nn.GELU()
        self.layer_norm = nn.LayerNorm(hidden, eps=layer_norm_eps)
        self.decoder = nn.Linear(hidden, vocab, bias=False)
        self.bias = nn.Parameter(torch.zeros(vocab))
        self.tie_to(token_embedding)

    def tie_to(self, token_embedding: nn.Embedding) -> None:
        """Share the decoder weight with `token_embedding` (call again after resizing the embeddings)."""
        if token_embedding.weight.shape[0] != self.bias.shape[0]:
            old = self.bias.data
            new = torch.zeros(token_embedding.weight.shape[0], dtype=old.dtype, device=old.device)
            n = min(len(old), len(new))
            new[:n] = old[:n]
            self.bias = nn.Parameter(new)
        self.decoder.weight = token_embedding.weight

    def is_tied(self, token_embedding: nn.Embedding) -> bool:
        return self.decoder.weight is token_embedding.weight

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.layer_norm(self.act(self.dense(hidden_states)))) + self.bias


def compute_loss_from_logits(
    logits: torch.Tensor, labels: torch.Tensor, reduction: str = "mean"
) -> torch.Tensor:
    """Cross-entropy over masked positions.

    `logits`: (batch, seq, vocab); `labels`: (batch, seq) holding the original token id at masked positions
    and -100 elsewhere. `reduction="mean"` averages over masked tokens (0 when none is masked), `"sum"` sums
    them (used by the gradient cache to average over a whole batch split in chunks).
    """
    import torch.nn.functional as F

    flat_logits = logits.reshape(-1, logits.shape[-1]).float()
    flat_labels = labels.reshape(-1)
    if not bool((flat_labels != IGNORE_INDEX).any()):
        return flat_logits.sum() * 0.0  # keeps the graph connected, contributes nothing
    return F.cross_entropy(flat_logits, flat_labels, ignore_index=IGNORE_INDEX, reduction=reduction)
