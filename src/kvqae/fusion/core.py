"""Score fusion over a dense queries x candidates matrix.

The runs are turned once into a `FusionMatrix`: for every query the union of the candidate ids of all runs
(sorted by id, so ties always break the same way as `Run.ranked`), padded to the longest union, with a
`(runs, queries, candidates)` score tensor in which NaN marks "this run did not retrieve this candidate".
Normalisations and fusion methods are then plain numpy over that tensor: no per-document Python loops.

Registries (string keys, used by the CLI and the weights file):
- normalisations `NORMALISATIONS`: "zscore" (global: mean/std of every score of the run, as the seeds' code),
  "zscore-query" (per query, = ranx "zmuv"), "minmax" (per query, = ranx "min-max"),
  "rank" (per query, 1 - rank/n, = ranx "rank"), "none".
- methods `METHODS`: "wsum" (S = sum_i a_i S_i), "rrf" (sum_i a_i / (k + rank_i)), "combsum" (sum_i S_i),
  "combmnz" (sum_i S_i times the number of runs that retrieved the candidate).
Default-minimum (`DEFAULT_MINIMUM_MODES`), for a candidate that a run did not retrieve for a query:
- "raw": that run's minimum *raw* score for the query, filled in *before* normalising, so the filled scores
  take part in the normalisation statistics: the seeds' code (meerqat `ir/fuse.py`, `defmin: true` in
  their fusion configs). Default for the z-score normalisations.
- "normalized": that run's minimum *normalised* score for the query, filled in after normalising (what
  `true` meant before the modes existed; still how `true` reads in saved weights and bundle files).
- "off": 0 after normalising, as ranx. Default for the other normalisations.
A run with no candidate at all for a query contributes 0 in every mode. RRF is rank-based and ignores the
mode (a run that missed the candidate adds 0); CombMNZ counts the runs that really retrieved the candidate.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from kvqae.data.provenance import common_digest, stamp
from kvqae.data.runs import Run
from kvqae.errors import InputError
from kvqae.fusion.modes import (  # noqa: F401  (re-exported: the mode names belong to the fusion API)
    DEFAULT_MINIMUM_MODES,
    DefaultMinimum,
    DefaultMinimumSetting,
    parse_default_minimum,
    resolve_default_minimum,
)

EPS = 1e-9  # same floor as ranx for a zero std / zero range


@dataclass
class FusionMatrix:
    """Runs aligned on a common candidate grid.

    `qids` (Q,), `cand_ids` (Q, C) object array ("" = padding), `valid` (Q, C) bool,
    `scores` (R, Q, C) float64 raw scores, NaN where run r did not retrieve the candidate.
    """

    qids: list[str]
    cand_ids: np.ndarray
    valid: np.ndarray
    scores: np.ndarray
    run_names: list[str]

    @property
    def present(self) -> np.ndarray:
        """(R, Q, C) bool: run r retrieved candidate c for query q."""
        return ~np.isnan(self.scores)

    def to_run(
        self,
        fused: np.ndarray,
        name: str = "fused",
        level: str = "passage",
        k: int | None = None,
        meta: dict | None = None,
    ) -> Run:
        """A Run from a (Q, C) fused score matrix (padding ignored); `k` keeps only the best k per query."""
        out: dict[str, dict[str, float]] = {}
        # stable sort on -score: ties keep candidate (= id) order, as Run.ranked does
        order = np.argsort(-np.where(self.valid, fused, -np.inf), axis=-1, kind="stable")
        n_valid = self.valid.sum(axis=1)
        for i, q in enumerate(self.qids):
            keep = order[i, : n_valid[i] if k is None else min(k, n_valid[i])]
            out[q] = dict(
                zip(self.cand_ids[i, keep].tolist(), fused[i, keep].astype(float).tolist(), strict=True)
            )
        return Run(out, name=name, level=level, meta=meta or {})


def _check_nonempty(run: Run, source: str) -> None:
    if not run.scores:
        raise InputError("run is empty (no queries)", path=source)


def _raise_not_finite(run: Run, source: str) -> None:
    for qid, docs in run.scores.items():
        for d, v in docs.items():
            if not np.isfinite(v):
                raise InputError(f"score of {d!r} is not finite ({v})", path=source, record=f"query {qid}")


def build_matrix(
    runs: Sequence[Run],
    *,
    sources: Sequence[str] | None = None,
    query_ids: Sequence[str] | None = None,
    allow_missing_queries: bool = False,
) -> FusionMatrix:
    """Align `runs` on the union of their candidates per query.

    `sources` names each run in error messages (file paths); `query_ids` fixes the query order/set (default:
    the first run's order). A query absent from a run (not merely with an empty result list) is an InputError
    naming the run and query, unless `allow_missing_queries` (then that run has no candidate for it).
    """
    if not runs:
        raise InputError("no runs given")
    sources = list(sources) if sources is not None else [r.name for r in runs]
    for run, src in zip(runs, sources, strict=True):
        _check_nonempty(run, src)
    qids = list(query_ids) if query_ids is not None else list(runs[0].scores)
    if not allow_missing_queries:
        wanted = set(qids)
        for run, src in zip(runs, sources, strict=True):
            for q in qids:
                if q not in run.scores:
                    raise InputError(
                        "query missing from this run (runs of different splits?)",
                        path=src,
                        record=f"query {q}",
                    )
            extra = set(run.scores) - wanted
            if extra:
                raise InputError(
                    "query not in the other runs / question set (runs of different splits?)",
                    path=src,
                    record=f"query {sorted(extra)[0]}",
                )
    # One pass per query with C-level set/dict/map operations (union, sort, id -> column), then a single numpy
    # scatter of every score: no per-document Python statement even for millions of entries.
    n_q, n_r = len(qids), len(runs)
    unions: list[list[str]] = []
    cols: list[int] = []
    values: list[float] = []
    q_of: list[int] = []
    r_of: list[int] = []
    sizes: list[int] = []
    for i, q in enumerate(qids):
        rows = [run.scores.get(q) or {} for run in runs]
        union = sorted(set().union(*rows))
        unions.append(union)
        pos = dict(zip(union, range(len(union)), strict=True))
        for r, row in enumerate(rows):
            if row:
                cols.extend(map(pos.__getitem__, row))
                values.extend(row.values())
                q_of.append(i)
                r_of.append(r)
                sizes.append(len(row))
    vals = np.asarray(values, dtype=np.float64)
    rr = np.repeat(np.asarray(r_of, dtype=np.int64), sizes)
    if not np.all(np.isfinite(vals)):
        _raise_not_finite(runs[int(rr[~np.isfinite(vals)][0])], sources[int(rr[~np.isfinite(vals)][0])])
    lengths = np.fromiter(map(len, unions), dtype=np.int64, count=n_q)
    n_c = max(int(lengths.max(initial=0)), 1)
    valid = np.arange(n_c) < lengths[:, None]
    cand = np.full((n_q, n_c), "", dtype=object)
    cand[valid] = list(itertools.chain.from_iterable(unions))
    scores = np.full((n_r, n_q, n_c), np.nan)
    scores[rr, np.repeat(np.asarray(q_of, dtype=np.int64), sizes), np.asarray(cols, dtype=np.int64)] = vals
    return FusionMatrix(qids, cand, valid, scores, [r.name for r in runs])


# ------------------------------------------------------------------------------------------- normalisations


def _rowwise(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    present = ~np.isnan(scores)
    return present, present.sum(axis=-1, keepdims=True)


def norm_zscore_global(scores: np.ndarray) -> np.ndarray:
    """(R, Q, C) -> z-score, one mean/std per run over all its scores (population std, floored at 1e-9;
    a run whose scores are all equal gives exactly 0)."""
    with warnings.catch_warnings():  # a run without any score ("Mean of empty slice"): it stays all NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(scores, axis=(1, 2), keepdims=True)
        std = np.nanstd(scores, axis=(1, 2), keepdims=True)
    return (scores - _exact_mean_if_constant(scores, mean, (1, 2))) / np.maximum(std, EPS)


def _exact_mean_if_constant(scores: np.ndarray, mean: np.ndarray, axis: tuple[int, ...] | int) -> np.ndarray:
    """`mean`, replaced by the common value where all present scores along `axis` are equal, so that such
    scores normalise to exactly 0 instead of a rounding error divided by the 1e-9 std floor (which happens
    e.g. when default-minimum fills a one-candidate run for a query with copies of its score)."""
    lo = np.min(np.where(np.isnan(scores), np.inf, scores), axis=axis, keepdims=True)
    hi = np.max(np.where(np.isnan(scores), -np.inf, scores), axis=axis, keepdims=True)
    return np.where(lo == hi, lo, mean)


def run_score_stats(run: Run) -> tuple[float, float]:
    """(mean, population std) of every score of `run`: the statistics "zscore" normalises that run with.

    Recorded from the fit split so one new question (which has no run-wide statistics of its own) can be
    normalised the same way later (`fuse(..., zscore_stats=...)`). InputError for a run without scores.
    """
    values = np.fromiter((v for docs in run.scores.values() for v in docs.values()), dtype=np.float64)
    if values.size == 0:
        raise InputError("run has no scores to take statistics of", path=run.name)
    return float(values.mean()), float(values.std())


def zscore_statistics(
    runs: Sequence[Run],
    default_minimum: bool | str | None = None,
    *,
    sources: Sequence[str] | None = None,
) -> list[tuple[float, float]]:
    """(mean, population std) per run that the "zscore" norm uses when fusing `runs` together: over the
    run's own scores, plus, in the "raw" default-minimum mode (the default for z-scores), the minimum raw
    scores filled in for the candidates it missed. Recorded on the fit split for `fuse(..., zscore_stats=)`,
    so one new question is normalised as the fitted weights expect. Outside the "raw" mode these are
    `run_score_stats` of each run (up to float rounding)."""
    matrix = build_matrix(runs, sources=sources, allow_missing_queries=True)
    scores = matrix.scores
    if resolve_default_minimum("zscore", default_minimum) == "raw":
        scores = fill_raw_minimum(scores, matrix.valid)
    out = []
    for r, run in enumerate(runs):
        values = scores[r][~np.isnan(scores[r])]
        if values.size == 0:
            raise InputError("run has no scores to take statistics of", path=run.name)
        out.append((float(values.mean()), float(values.std())))
    return out


def norm_zscore_fixed(scores: np.ndarray, stats: Sequence[tuple[float, float]]) -> np.ndarray:
    """(R, Q, C) -> z-score with given (mean, std) per run (e.g. recorded on the fit split)."""
    stats_arr = np.asarray(stats, dtype=np.float64).reshape(-1, 2)
    if len(stats_arr) != scores.shape[0]:
        raise InputError(
            f"{len(stats_arr)} z-score statistics for {scores.shape[0]} runs", field="zscore_stats"
        )
    mean = stats_arr[:, 0].reshape(-1, 1, 1)
    std = stats_arr[:, 1].reshape(-1, 1, 1)
    return (scores - mean) / np.maximum(std, EPS)


def norm_zscore_query(scores: np.ndarray) -> np.ndarray:
    """Per run and query z-score (ranx "zmuv"; all-equal scores give exactly 0)."""
    present, n = _rowwise(scores)
    safe_n = np.maximum(n, 1)
    filled = np.where(present, scores, 0.0)
    mean = filled.sum(axis=-1, keepdims=True) / safe_n
    var = (np.where(present, scores - mean, 0.0) ** 2).sum(axis=-1, keepdims=True) / safe_n
    return (scores - _exact_mean_if_constant(scores, mean, -1)) / np.maximum(np.sqrt(var), EPS)


def norm_minmax(scores: np.ndarray) -> np.ndarray:
    """Per run and query (s - min) / (max - min) (ranx "min-max")."""
    lo = np.min(np.where(np.isnan(scores), np.inf, scores), axis=-1, keepdims=True)
    hi = np.max(np.where(np.isnan(scores), -np.inf, scores), axis=-1, keepdims=True)
    return (scores - lo) / np.maximum(hi - lo, EPS)


def ranks(scores: np.ndarray) -> np.ndarray:
    """0-based rank of each present candidate within its run and query (best first, ties by candidate order,
    i.e. by id); NaN where absent."""
    key = np.where(np.isnan(scores), -np.inf, scores)
    order = np.argsort(-key, axis=-1, kind="stable")
    out = np.empty(scores.shape, dtype=np.float64)
    np.put_along_axis(
        out, order, np.broadcast_to(np.arange(scores.shape[-1], dtype=np.float64), scores.shape), axis=-1
    )
    return np.where(np.isnan(scores), np.nan, out)


def norm_rank(scores: np.ndarray) -> np.ndarray:
    """Per run and query 1 - rank/n, n = the run's number of candidates for the query (ranx "rank")."""
    _, n = _rowwise(scores)
    return 1.0 - ranks(scores) / np.maximum(n, 1)


def norm_none(scores: np.ndarray) -> np.ndarray:
    return scores.copy()


NORMALISATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "zscore": norm_zscore_global,
    "zscore-query": norm_zscore_query,
    "minmax": norm_minmax,
    "rank": norm_rank,
    "none": norm_none,
}


def normalize(scores: np.ndarray, norm: str) -> np.ndarray:
    """Apply the normalisation named `norm` to a (R, Q, C) NaN-padded score tensor."""
    if norm not in NORMALISATIONS:
        raise InputError(
            f"unknown normalisation {norm!r}; choose from {sorted(NORMALISATIONS)}", field="norm"
        )
    return NORMALISATIONS[norm](scores)


# ------------------------------------------------------------------------------------------- default-minimum

def fill_raw_minimum(scores: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(R, Q, C) raw scores with every missing real candidate (NaN where `valid`) set to that run's minimum
    raw score for the query, before any normalisation (the seeds' default-minimum). Padding, and a run with
    no candidate for the query, stay NaN."""
    lo = np.min(np.where(np.isnan(scores), np.inf, scores), axis=-1, keepdims=True)
    fill = np.isnan(scores) & valid[None] & np.isfinite(lo)
    return np.where(fill, lo, scores)


def fill_missing(normed: np.ndarray, default_minimum: bool) -> np.ndarray:
    """Replace NaN (candidate not retrieved by that run) by the run's minimum normalised score for the query
    (`default_minimum`, the "normalized" mode), or by 0. A run with no candidate at all for a query
    contributes 0."""
    if not default_minimum:
        return np.nan_to_num(normed, nan=0.0)
    lo = np.min(np.where(np.isnan(normed), np.inf, normed), axis=-1, keepdims=True)
    lo = np.where(np.isinf(lo), 0.0, lo)
    return np.where(np.isnan(normed), lo, normed)


# ------------------------------------------------------------------------------------------- methods


@dataclass
class Prepared:
    """Per-run transformed scores T (R, Q, C) and a per-candidate multiplier M (Q, C):
    fused = (sum_r w_r T_r) * M.
    Every method is of that form, so the weight search only needs one tensor product."""

    terms: np.ndarray
    multiplier: np.ndarray | None
    valid: np.ndarray

    @property
    def bias(self) -> np.ndarray:
        """(Q, C): 0 on real candidates, -inf on padding (added, so padding always ranks last)."""
        if getattr(self, "_bias", None) is None:
            self._bias = np.where(self.valid, 0.0, -np.inf)
        return self._bias

    def scaled_terms(self) -> np.ndarray:
        """(R, Q, C): the terms with the multiplier folded in, so the fused matrix is
        `weighted_sum(w, scaled_terms()) + bias` for every method."""
        return self.terms if self.multiplier is None else self.terms * self.multiplier


def prepare(
    matrix: FusionMatrix,
    method: str = "wsum",
    norm: str = "zscore",
    *,
    default_minimum: bool | str | None = None,
    rrf_k: float = 60.0,
    zscore_stats: Sequence[tuple[float, float]] | None = None,
) -> Prepared:
    """Turn a FusionMatrix into the (T, M) form of `method` (see `Prepared`).

    `default_minimum`: "off" | "raw" | "normalized" | None (the norm's default) | bool (legacy: True is
    "normalized"). `zscore_stats` (one (mean, std) per run) replaces the runs' own statistics under the
    "zscore" norm.
    """
    if method not in METHODS:
        raise InputError(f"unknown fusion method {method!r}; choose from {sorted(METHODS)}", field="method")
    check_rrf_k(rrf_k)
    terms, multiplier = METHODS[method](
        matrix, norm, resolve_default_minimum(norm, default_minimum), rrf_k, zscore_stats
    )
    terms = np.where(matrix.valid[None], terms, 0.0)
    return Prepared(terms, multiplier, matrix.valid)


# Each method maps (matrix, norm, default-minimum mode, rrf_k, zscore stats or None) to its per-run terms
# T (R, Q, C) and its per-candidate multiplier M (Q, C) or None; the weights are applied later
# (fused = (w . T) * M).
MethodFn = Callable[..., tuple[np.ndarray, "np.ndarray | None"]]


def _normalised_terms(matrix: FusionMatrix, norm: str, default_minimum: str, rrf_k: float, stats=None):
    scores = fill_raw_minimum(matrix.scores, matrix.valid) if default_minimum == "raw" else matrix.scores
    if stats is not None and norm == "zscore":
        normed = norm_zscore_fixed(scores, stats)
    else:
        normed = normalize(scores, norm)
    return fill_missing(normed, default_minimum == "normalized"), None


def _rrf_terms(matrix: FusionMatrix, norm: str, default_minimum: str, rrf_k: float, stats=None):
    # rank-based: the normalisation does not apply; a run that missed the candidate adds 0
    return np.nan_to_num(1.0 / (rrf_k + ranks(matrix.scores) + 1.0), nan=0.0), None


def _combmnz_terms(matrix: FusionMatrix, norm: str, default_minimum: str, rrf_k: float, stats=None):
    terms, _ = _normalised_terms(matrix, norm, default_minimum, rrf_k, stats)
    return terms, matrix.present.sum(axis=0).astype(np.float64)


METHODS: dict[str, MethodFn] = {
    "wsum": _normalised_terms,  # S = sum_i a_i S_i
    "rrf": _rrf_terms,  # sum_i a_i / (k + rank_i)
    "combsum": _normalised_terms,  # sum_i S_i (weights 1 by default)
    "combmnz": _combmnz_terms,  # (sum_i S_i) * number of runs that retrieved the candidate
}


def weighted_sum(weights: np.ndarray, terms: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """sum_r weights[..., r] * terms[r]: (R,) x (R, ...) -> (...), or (W, R) x (R, ...) -> (W, ...) (into
    `out` when given). Accumulated run by run, element by element, so every candidate's score is the same
    sequence of operations on its own values: candidates with equal terms get equal scores and keep their
    tie (a BLAS product rounded some positions one unit differently, and the fused run's order differed
    from the one the weights were fitted on: MRR 50 -> 100 on a tie)."""
    w = np.asarray(weights, dtype=np.float64)
    many = np.atleast_2d(w)
    shape = (many.shape[0], *terms.shape[1:])
    out = np.zeros(shape) if out is None else out
    out[...] = 0.0
    part = np.empty(shape)
    column = (-1,) + (1,) * (terms.ndim - 1)
    for r in range(terms.shape[0]):
        np.multiply(many[:, r].reshape(column), terms[r], out=part)
        out += part
    return out if w.ndim > 1 else out[0]


def combine(prep: Prepared, weights: np.ndarray) -> np.ndarray:
    """Fused scores for one weight vector (R,) -> (Q, C), or for many (W, R) -> (W, Q, C). Padding is -inf.
    The same arithmetic as the weight search's (`weighted_sum` of `Prepared.scaled_terms`)."""
    fused = weighted_sum(weights, prep.scaled_terms())
    fused += prep.bias
    return fused


MAX_WEIGHT = 1e6  # fitted weights lie in [0, 1]; hand-set ones have no use for more


def check_weights(weights: Sequence[float], *, path: str | None = None, field: str = "weights") -> None:
    """Fusion weights are finite, none negative, none above `MAX_WEIGHT` and not all 0 (all 0 scores
    every candidate 0: no ranking left); InputError naming `path` (a weights or bundle file) and `field`
    otherwise."""
    w = [float(x) for x in weights]
    if not all(np.isfinite(w)):
        raise InputError(f"weights must be finite numbers, got {w}", path=path, field=field)
    if any(x < 0 for x in w):
        raise InputError(f"weights must be >= 0, got {w}", path=path, field=field)
    if any(x > MAX_WEIGHT for x in w):  # 1e308 x a score overflows: infinite fused scores, no ranking
        raise InputError(f"weights must be at most {MAX_WEIGHT:g}, got {w}", path=path, field=field)
    if not any(w):
        raise InputError(f"weights are all 0, which scores every candidate 0; give at least one weight > 0, "
                         f"got {w}", path=path, field=field)


def check_rrf_k(rrf_k: float, *, path: str | None = None, field: str = "rrf_k") -> None:
    """The k of reciprocal rank fusion is a finite number >= 0 (0 is fine: ranks start at 1)."""
    if not (np.isfinite(rrf_k) and rrf_k >= 0):  # NaN fails both
        raise InputError(f"must be a finite number >= 0, got {rrf_k}", path=path, field=field)


def default_weights(method: str, n_runs: int) -> list[float]:
    """Equal weights: 1/n for wsum (grid weights sum to 1), 1 for the others (plain CombSUM/MNZ/RRF)."""
    return [1.0 / n_runs] * n_runs if method == "wsum" else [1.0] * n_runs


def fuse(
    runs: Sequence[Run],
    *,
    method: str = "wsum",
    norm: str = "zscore",
    weights: Sequence[float] | None = None,
    default_minimum: bool | str | None = None,
    rrf_k: float = 60.0,
    k: int | None = None,
    name: str | None = None,
    sources: Sequence[str] | None = None,
    allow_missing_queries: bool = False,
    zscore_stats: Sequence[tuple[float, float]] | None = None,
) -> Run:
    """Fuse `runs` into one Run (all candidates of the union, or the best `k` per query).

    `weights` has one weight per run (default: `default_weights`). `default_minimum`: "off" | "raw" |
    "normalized" | None (the norm's default: "raw" for z-scores, else "off") | bool (True = "normalized").
    `zscore_stats`: fixed (mean, std) per run for the "zscore" norm (see `zscore_statistics`), instead of
    the statistics of the runs given.
    Raises InputError on bad runs/weights.
    """
    levels = {r.level for r in runs}
    if len(levels) > 1:
        entity = next(r for r in runs if r.level == "entity")  # named: which of the runs to search again
        raise InputError(
            f"cannot fuse runs of different levels {sorted(levels)}: map entity runs to passages first "
            "(search them again with --kb KB --to-passages)",
            path=getattr(entity, "source", None) or getattr(entity, "name", None),
            field="level",
        )
    # passage runs of two KB builds name other passages by the same ids (kvqae.data.provenance)
    digest = common_digest(runs, sources if sources is not None else [r.name for r in runs])
    matrix = build_matrix(runs, sources=sources, allow_missing_queries=allow_missing_queries)
    if weights is None:
        weights = default_weights(method, len(runs))
    if len(weights) != len(runs):
        raise InputError(f"{len(weights)} weights for {len(runs)} runs", field="weights")
    check_weights(weights)
    if norm not in NORMALISATIONS:  # checked here too: rrf ignores the norm, but records it in the meta
        raise InputError(f"unknown normalisation {norm!r}; choose from {sorted(NORMALISATIONS)}",
                         field="norm")
    prep = prepare(
        matrix, method, norm, default_minimum=default_minimum, rrf_k=rrf_k, zscore_stats=zscore_stats
    )
    with np.errstate(over="ignore", invalid="ignore"):
        fused = combine(prep, np.asarray(weights, dtype=np.float64))
    if not np.isfinite(fused[prep.valid]).all():  # huge weights (1e308) times the scores: inf, NaN
        raise InputError(f"the weights {[float(w) for w in weights]} times the runs' scores overflow to an "
                         "infinite fused score; use smaller weights", field="weights")
    meta = {
        "fusion": {
            "method": method,
            "norm": norm,
            "weights": [float(w) for w in weights],
            "default_minimum": resolve_default_minimum(norm, default_minimum),
            "rrf_k": rrf_k,
            "runs": [r.name for r in runs],
        }
    }
    stamp(meta, digest)
    level = runs[0].level
    return matrix.to_run(
        fused, name=name or f"{method}({'+'.join(r.name for r in runs)})", level=level, k=k, meta=meta
    )
