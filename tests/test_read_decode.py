"""Globally normalised span decoding, fed with hand-set logits (no model needed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kvqae.read.decode import decode_spans, global_log_softmax, retrieval_log_probs


def _mask(rows: int, length: int, first_context: int = 3) -> np.ndarray:
    """Rows laid out as [CLS] q q [SEP] ... : tokens before `first_context` and the last one are not
    context."""
    m = np.zeros((rows, length), dtype=bool)
    m[:, first_context + 1 : length - 1] = True
    return m


def test_global_softmax_sums_to_one_over_all_passages():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(4, 12)) * 3
    mask = _mask(4, 12)
    mask[2, :] = False  # a row with no context at all must simply not contribute
    lp = global_log_softmax(logits, mask)
    probs = np.exp(lp)
    assert probs[mask].sum() == pytest.approx(1.0, abs=1e-9)
    assert np.all(probs[~mask] == 0.0)
    # Per-row probabilities are NOT normalised one by one: each row gets its share of the single distribution.
    assert all(probs[r][mask[r]].sum() < 1.0 for r in (0, 1, 3))


def test_global_softmax_needs_some_context():
    with pytest.raises(ValueError):
        global_log_softmax(np.zeros((2, 3)), np.zeros((2, 3), dtype=bool))


def test_strong_span_in_passage_three_beats_weak_span_in_passage_one():
    rows, length = 3, 12
    mask = _mask(rows, length)
    start = np.zeros((rows, length))
    end = np.zeros((rows, length))
    start[0, 5], end[0, 6] = 2.0, 2.0  # weak span in passage 1
    start[2, 4], end[2, 7] = 5.0, 5.0  # strong span in passage 3
    best = decode_spans(start, end, mask, max_answer_tokens=10, top_n=2)
    assert (best[0].row, best[0].start, best[0].end) == (2, 4, 7)
    # Hand computation: Z = sum of exp(logit) over all context tokens of all rows (same for start and end
    # here).
    n_context = int(mask.sum())
    z = (n_context - 2) * 1.0 + math.exp(2.0) + math.exp(5.0)
    assert best[0].log_prob == pytest.approx(2 * (5.0 - math.log(z)), abs=1e-9)
    # Runner-up combines the strong start with an end of the same row, never an end of another row.
    assert best[1].row == 2


def test_spans_never_cross_passages_nor_touch_special_or_question_tokens():
    rows, length = 4, 16
    mask = _mask(rows, length)
    start = np.zeros((rows, length))
    end = np.zeros((rows, length))
    start[:, 0] = end[:, 0] = 50.0  # [CLS]
    start[:, 1:3] = end[:, 1:3] = 40.0  # question tokens
    start[:, -1] = end[:, -1] = 45.0  # final [SEP]
    start[1, 10] = 8.0  # start in passage 2 ...
    end[3, 5] = 8.0  # ... and end in passage 4: must not combine
    spans = decode_spans(start, end, mask, max_answer_tokens=4, top_n=50)
    assert len(spans) == 50
    for sp in spans:
        assert mask[sp.row, sp.start] and mask[sp.row, sp.end]
        assert sp.start <= sp.end < sp.start + 4
    top = spans[0]
    assert (top.row, top.start) in {(1, 10)} or (top.row, top.end) == (3, 5)
    assert not any(sp.row == 1 and sp.end == 5 and sp.start == 10 for sp in spans)


def test_max_answer_tokens_is_respected():
    mask = _mask(1, 20)
    start = np.zeros((1, 20))
    end = np.zeros((1, 20))
    start[0, 5] = 12.0
    end[0, 15] = 10.0  # the unconstrained best span would be 11 tokens long
    sp = decode_spans(start, end, mask, max_answer_tokens=3)[0]
    assert sp.end - sp.start < 3
    assert sp.start == 5  # keeps the stronger start, takes the best end within reach


def test_row_bias_from_retrieval_can_flip_the_winner():
    rows, length = 2, 10
    mask = _mask(rows, length)
    start = np.zeros((rows, length))
    end = np.zeros((rows, length))
    start[0, 5] = end[0, 5] = 3.0
    start[1, 5] = end[1, 5] = 2.5
    assert decode_spans(start, end, mask)[0].row == 0
    bias = 4.0 * retrieval_log_probs(np.array([0.0, 1.0]))  # the retriever prefers passage 2
    best = decode_spans(start, end, mask, row_bias=bias)[0]
    assert best.row == 1
    assert best.score == pytest.approx(best.log_prob + bias[1])


def test_retrieval_log_probs_is_a_distribution():
    lp = retrieval_log_probs(np.array([10.0, 11.0, 9.5]))
    assert np.exp(lp).sum() == pytest.approx(1.0)
    assert lp[1] - lp[0] == pytest.approx(1.0)
