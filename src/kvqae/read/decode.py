"""Globally normalised span decoding over several passages (pure numpy, unit-testable without a model).

Every row is one encoded (question, passage window) pair. A boolean `context_mask` marks the tokens that
belong to the passage text (not [CLS], the question, [SEP] or padding). Start and end logits of *all* rows
are normalised together by one softmax each, so spans from different passages compete on one probability
scale (the "shared normalisation" multi-passage reader). A span is a (start, end) pair in one row with
start <= end, both context tokens, and at most `max_answer_tokens` tokens long; its log-probability is log
p_start + log p_end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Span:
    """One candidate answer span: row index, token positions (inclusive) and scores.

    `log_prob` is log p_start + log p_end under the global normalisation; `score` adds the row bias (e.g.
    weighted retrieval log-probability) and is what candidates are ranked by.
    """

    row: int
    start: int
    end: int
    log_prob: float
    score: float


def global_log_softmax(logits: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Log-softmax over every masked-in entry of a (rows, length) array at once; masked-out entries get -inf.

    Raises ValueError when nothing is masked in (there is no distribution to take).
    """
    logits = np.asarray(logits, dtype=np.float64)
    mask = np.asarray(mask, dtype=bool)
    if logits.shape != mask.shape:
        raise ValueError(f"logits shape {logits.shape} != mask shape {mask.shape}")
    if not mask.any():
        raise ValueError("no context token to normalise over")
    masked = np.where(mask, logits, -np.inf)
    top = masked.max()
    log_z = top + np.log(np.exp(masked - top).sum())
    return masked - log_z


def decode_spans(
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    context_mask: np.ndarray,
    *,
    max_answer_tokens: int = 30,
    top_n: int = 1,
    row_bias: np.ndarray | None = None,
) -> list[Span]:
    """Best `top_n` spans across all rows, highest score first.

    In: start/end logits (rows, length), `context_mask` (rows, length) bool, optional `row_bias` (rows,)
    added to each span's log-probability of that row. Out: list of `Span` (never crossing rows, never on
    masked tokens).
    """
    if max_answer_tokens < 1:
        raise ValueError("max_answer_tokens must be >= 1")
    mask = np.asarray(context_mask, dtype=bool)
    log_ps = global_log_softmax(start_logits, mask)
    log_pe = global_log_softmax(end_logits, mask)
    rows, length = mask.shape
    bias = np.zeros(rows) if row_bias is None else np.asarray(row_bias, dtype=np.float64)
    if bias.shape != (rows,):
        raise ValueError(f"row_bias must have shape ({rows},)")
    # Allowed (start, end) pairs within one row: end >= start and end - start < max_answer_tokens.
    offsets = np.arange(length)
    band = (offsets[None, :] >= offsets[:, None]) & (offsets[None, :] - offsets[:, None] < max_answer_tokens)
    candidates: list[Span] = []
    for r in range(rows):
        if not mask[r].any():
            continue
        pair = log_ps[r][:, None] + log_pe[r][None, :]
        pair = np.where(band & mask[r][:, None] & mask[r][None, :], pair, -np.inf)
        flat = pair.ravel()
        k = min(top_n, int(np.isfinite(flat).sum()))
        if k == 0:
            continue
        best = np.argpartition(-flat, k - 1)[:k]
        for idx in best:
            s, e = divmod(int(idx), length)
            lp = float(flat[idx])
            candidates.append(Span(r, s, e, lp, lp + float(bias[r])))
    candidates.sort(key=lambda c: (-c.score, c.row, c.start, c.end))
    return candidates[:top_n]


def retrieval_log_probs(scores: np.ndarray) -> np.ndarray:
    """Log-softmax of raw retrieval scores of one question's passages (a distribution over its K passages)."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.size == 0:
        return scores
    top = scores.max()
    return scores - (top + np.log(np.exp(scores - top).sum()))
