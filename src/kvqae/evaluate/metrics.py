"""Ranking metrics by string name, vectorised over queries (and over many fused runs at once).

Names: `"mrr@K"`, `"p@K"`, `"hit@K"`, `"recall@K"`, `"ndcg@K"` (and the same without `@K` = whole list).
Definitions are ranx's (checked against `ranx.evaluate` in the tests):
- mrr@K: 1 / rank of the first relevant candidate within the top K, else 0.
- p@K: relevant candidates in the top K / K (K, not the list length, even for short lists).
- hit@K: 1 if a relevant candidate is in the top K.
- recall@K: relevant candidates in the top K / all relevant documents of the query in the qrels.
- ndcg@K: DCG with linear gains rel / log2(i + 1) over the top K, divided by the ideal DCG computed from the
  qrels (all the query's judged documents, retrieved or not).
A query with no relevant document scores 0 on every metric. Ranking: score descending, ties broken by
candidate id (as `Run.ranked`).
Qrels: `{qid: {docid: relevance}}` (int relevance, relevant when >= 1).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from kvqae.data.runs import Run
from kvqae.errors import InputError

Qrels = dict[str, dict[str, int]]
NO_RANK = 2**62  # rank of "no relevant candidate": past any cut-off
PADDING_BELOW = -1e299  # scores at or below this are padding (-inf, or the weight search's -1e300)

_KINDS = {
    "mrr": "mrr",
    "p": "p",
    "precision": "p",
    "hit": "hit",
    "hit_rate": "hit",
    "recall": "recall",
    "ndcg": "ndcg",
}
_METRIC = re.compile(r"^([a-z_]+)(?:@([0-9]+))?$")  # ASCII digits: "p@٣" is no cut-off


def parse_metric(name: str) -> tuple[str, int | None]:
    """`"mrr@100"` -> ("mrr", 100); `"recall"` -> ("recall", None). Unknown names raise InputError."""
    m = _METRIC.match(name.strip().lower())
    if m and m.group(1) in _KINDS and m.group(2) is not None and int(m.group(2)) < 1:
        raise InputError(f"metric {name!r}: the cutoff K of {m.group(1)}@K must be >= 1", field="metric")
    if not m or m.group(1) not in _KINDS:
        raise InputError(f"unknown metric {name!r}; use mrr@K, p@K, hit@K, recall@K or ndcg@K (K >= 1), or "
                         "the name alone for the whole run (mrr, recall)", field="metric")
    return _KINDS[m.group(1)], None if m.group(2) is None else int(m.group(2))


def unique_metrics(names: Sequence[str]) -> list[str]:
    """`names` without repeats of one metric, however written ("mrr@10", "MRR@10", "mrr@010" are one): the
    first spelling of each is kept. Unknown names are kept as they are, for `parse_metric` to refuse."""
    seen: dict[Any, str] = {}
    for name in names:
        try:
            key: Any = parse_metric(name)
        except InputError:
            key = name
        seen.setdefault(key, name)
    return list(seen.values())


@dataclass
class AlignedQrels:
    """Qrels laid on a (Q, C) candidate grid: `gains` (Q, C) relevance of each candidate (0 if not relevant),
    `ideal` (Q, G) every relevant document's relevance of the query, sorted descending (0-padded),
    `n_rel` (Q,) number of relevant documents of the query."""

    gains: np.ndarray
    ideal: np.ndarray
    n_rel: np.ndarray
    columns: tuple[np.ndarray, np.ndarray] | None = None  # cached `relevant_columns(gains)`
    # (Q,) candidates each query really has (not padding): the whole list's `p` denominator
    n_candidates: np.ndarray | None = None


def align_qrels(
    qids: Sequence[str], cand_ids: np.ndarray, qrels: Mapping[str, Mapping[str, float]], *, min_rel: int = 1
) -> AlignedQrels:
    """Align `qrels` with the candidate grid `cand_ids` (Q, C) of the queries `qids`."""
    n_q, n_c = cand_ids.shape
    gains = np.zeros((n_q, n_c))
    rel_lists = []
    for i, q in enumerate(qids):
        judged = {d: float(r) for d, r in qrels.get(q, {}).items() if r >= min_rel}
        rel_lists.append(sorted(judged.values(), reverse=True))
        if judged:
            row = cand_ids[i]
            gains[i] = [judged.get(d, 0.0) for d in row.tolist()]
    width = max((len(r) for r in rel_lists), default=0) or 1
    ideal = np.zeros((n_q, width))
    for i, r in enumerate(rel_lists):
        ideal[i, : len(r)] = r
    n_rel = np.array([len(r) for r in rel_lists], dtype=np.float64)
    n_candidates = (cand_ids != "").sum(axis=-1).astype(np.float64)  # "" pads the shorter runs' rows
    return AlignedQrels(gains, ideal, n_rel, relevant_columns(gains), n_candidates)


def _discounts(n: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, n + 2, dtype=np.float64))


def relevant_columns(gains: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Columns of the relevant candidates of each query: (Q, M) indices (padded with 0) and (Q, M) mask."""
    rel = gains > 0
    width = max(int(rel.sum(axis=-1).max(initial=0)), 1)
    idx = np.argsort(~rel, axis=-1, kind="stable")[:, :width]
    return idx, np.take_along_axis(rel, idx, axis=-1)


def first_relevant_rank(
    scores: np.ndarray, gains: np.ndarray, columns: tuple[np.ndarray, np.ndarray] | None = None
) -> np.ndarray:
    """0-based rank of the best-ranked relevant candidate, per query, without sorting:
    (..., Q, C) -> (..., Q);
    a query with no relevant candidate gets NO_RANK (past any cut-off). Padding must be -inf (or <= -1e299)
    in `scores`.

    rank = #candidates scored higher + #candidates tied with it that come first (lower index = smaller id).
    """
    n_c = scores.shape[-1]
    idx, ok = columns if columns is not None else relevant_columns(gains)
    rel_scores = np.take_along_axis(scores, np.broadcast_to(idx, scores.shape[:-1] + idx.shape[-1:]), axis=-1)
    rel_scores = np.where(ok, rel_scores, -np.inf)
    best = rel_scores.max(axis=-1)
    first = np.where(ok & (rel_scores == best[..., None]), idx, n_c).min(axis=-1)
    rank = np.count_nonzero(scores > best[..., None], axis=-1)
    # Ties with the best relevant score are rare: count them, and only for the rows that have some
    # (besides the relevant candidate itself) add the tied candidates that come before it.
    n_tied = np.count_nonzero(scores == best[..., None], axis=-1)
    rows = np.nonzero(n_tied > 1)
    if rows[0].size:
        sub = scores[rows]
        before = (sub == best[rows][:, None]) & (np.arange(n_c) < first[rows][:, None])
        rank[rows] += np.count_nonzero(before, axis=-1)
    return np.where(ok.any(axis=-1), rank, NO_RANK)


def compute_metrics(
    scores: np.ndarray, aligned: AlignedQrels, metrics: Sequence[str]
) -> dict[str, np.ndarray]:
    """Per-query values of each metric: `scores` (..., Q, C) with -inf (or <= -1e299) for padding
    -> {name: (..., Q)}.

    mrr / hit / p@1 use a sort-free path (first relevant rank) so many weight vectors can be scored at once;
    the others sort each row once.
    """
    parsed = {m: parse_metric(m) for m in metrics}
    n_c = scores.shape[-1]
    out: dict[str, np.ndarray] = {}
    need_sort = any(kind in ("recall", "ndcg") or (kind == "p" and k != 1) for kind, k in parsed.values())
    fr = None
    if any(kind in ("mrr", "hit") or (kind == "p" and k == 1) for kind, k in parsed.values()):
        fr = first_relevant_rank(scores, aligned.gains, aligned.columns)
    sorted_gains = None
    if need_sort:
        order = np.argsort(-scores, axis=-1, kind="stable")
        sorted_gains = np.take_along_axis(np.broadcast_to(aligned.gains, scores.shape), order, axis=-1)
        # padding sorts last and has gain 0, so it never counts
    for name, (kind, k) in parsed.items():
        kk = n_c if k is None else k
        if kind == "mrr":
            out[name] = np.where(fr < kk, 1.0 / (fr + 1.0), 0.0)
        elif kind == "hit":
            out[name] = (fr < kk).astype(np.float64)
        elif kind == "p" and k == 1:
            out[name] = (fr == 0).astype(np.float64)
        elif kind == "p":
            # the whole list: its real candidates (a real score of -1e300 is one; padding is not)
            counted = aligned.n_candidates if aligned.n_candidates is not None else (
                scores > PADDING_BELOW).sum(axis=-1)
            denom = kk if k is not None else np.maximum(counted, 1)
            out[name] = (sorted_gains[..., :kk] > 0).sum(axis=-1) / denom
        elif kind == "recall":
            hits = (sorted_gains[..., :kk] > 0).sum(axis=-1)
            out[name] = np.where(aligned.n_rel > 0, hits / np.maximum(aligned.n_rel, 1), 0.0)
        elif kind == "ndcg":
            top = sorted_gains[..., :kk]
            dcg = (top * _discounts(top.shape[-1])).sum(axis=-1)
            # the whole list (no cut-off): every relevant document of the query, not as many as the widest
            # run has candidates (a query's value depended on the other queries' run lengths)
            ideal = aligned.ideal if k is None else aligned.ideal[:, :kk]
            idcg = (ideal * _discounts(ideal.shape[-1])).sum(axis=-1)
            out[name] = dcg / np.where(idcg == 0, 1.0, idcg)
    return out


def evaluate_run(
    run: Run | Mapping[str, Mapping[str, float]],
    qrels: Mapping[str, Mapping[str, float]],
    metrics: Sequence[str],
    *,
    query_ids: Sequence[str] | None = None,
    source: str | None = None,
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Evaluate one run: returns (mean per metric, {metric: {qid: value}}).

    The query set is `query_ids` (default: the qrels' queries). A query of the set missing from the run
    scores 0;
    a run query outside the set is an InputError (runs and qrels of different splits).
    """
    from kvqae.fusion.core import build_matrix

    r = run if isinstance(run, Run) else Run.from_mapping(run)
    qids = list(query_ids) if query_ids is not None else list(qrels)
    if not qids:
        raise InputError("no queries to evaluate (empty qrels)", path=source)
    wanted = set(qids)
    extra = [q for q in r.scores if q not in wanted]
    if extra:
        raise InputError(
            "query of the run not in the qrels/questions (mismatched splits?)",
            path=source or r.name,
            record=f"query {extra[0]}",
        )
    missing_qrels = [q for q in qids if q not in qrels]
    if query_ids is not None and missing_qrels and len(missing_qrels) == len(qids):
        raise InputError("none of the queries has relevance judgements", path=source)
    matrix = build_matrix([r], sources=[source or r.name], query_ids=qids, allow_missing_queries=True)
    aligned = align_qrels(qids, matrix.cand_ids, qrels)
    scores = np.where(matrix.valid, np.nan_to_num(matrix.scores[0], nan=-np.inf), -np.inf)
    per = compute_metrics(scores, aligned, metrics)
    per_query = {m: dict(zip(qids, v.astype(float).tolist(), strict=True)) for m, v in per.items()}
    means = {m: float(np.mean(v)) for m, v in per.items()}
    return means, per_query
