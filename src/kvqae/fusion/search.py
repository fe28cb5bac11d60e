"""Fusion-weight search: every weight vector of a grid scored at once on a validation split.

The runs are normalised once into (R, Q, C) terms T (see `kvqae.fusion.core.prepare`); the fused scores of
all W weight vectors are one tensor product `weights (W, R) . T (R, Q, C) -> (W, Q, C)`, evaluated in chunks
of W so memory stays bounded. The chosen weights and their metadata go to a JSON "weights file" that
`kvqae fuse apply` (and `apply_weights`) uses on the test runs.
"""

from __future__ import annotations

import itertools
import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from kvqae.data.runs import Run
from kvqae.errors import InputError
from kvqae.evaluate.metrics import align_qrels, compute_metrics, parse_metric
from kvqae.fusion.core import (
    METHODS,
    NORMALISATIONS,
    build_matrix,
    check_rrf_k,
    check_weights,
    fuse,
    prepare,
    resolve_default_minimum,
    weighted_sum,
)
from kvqae.fusion.modes import DEFAULT_MINIMUM_MODES, parse_default_minimum
from kvqae.io import is_finite_number, read_json, write_json

WEIGHTS_FORMAT = "kvqae-fusion-weights/1"


MAX_GRID_POINTS = 100_000  # each point scores every question: more would run for hours


def check_grid(n_runs: int, step: float, *, sum_to_one: bool = True) -> int:
    """The number of steps in 1 (1 / `step`) after checking the grid `weight_grid` would build: at least one
    run, `step` in (0, 1] dividing 1, and at most MAX_GRID_POINTS weight vectors (4 runs at step 0.0001
    would be about 10^16 and never end); an InputError naming `step` otherwise."""
    if n_runs < 1:
        raise InputError("need at least one run", field="runs")
    if not 0 < step <= 1:
        raise InputError(f"must be in (0, 1], got {step:g}", field="step")
    n = round(1.0 / step)
    if n < 1 or abs(n * step - 1.0) > 1e-9:
        raise InputError(f"step {step} must divide 1 (e.g. 0.1, 0.05, 0.25)", field="step")
    points = math.comb(n + n_runs - 1, n_runs - 1) if sum_to_one else (n + 1) ** n_runs - 1
    if points > MAX_GRID_POINTS:
        raise InputError(f"step {step:g} over {n_runs} runs makes {points:.3g} weight vectors, more than the "
                         f"{MAX_GRID_POINTS:,} allowed; use a larger step (e.g. 0.1 or 0.05)", field="step")
    return n


def weight_grid(n_runs: int, step: float = 0.1, *, sum_to_one: bool = True) -> np.ndarray:
    """All weight vectors with entries in {0, step, 2 step, ..., 1}: (W, n_runs), in `itertools.product`
    order.

    With `sum_to_one` only the vectors summing to 1 (integer compositions, so no float round-off drops any:
    66 vectors for 3 runs at step 0.1); otherwise every vector but the all-zero one.
    """
    n = check_grid(n_runs, step, sum_to_one=sum_to_one)
    combos = [
        c for c in itertools.product(range(n + 1), repeat=n_runs) if (sum(c) == n if sum_to_one else any(c))
    ]
    return np.asarray(combos, dtype=np.float64) / n


@dataclass
class GridSearchResult:
    """Outcome of `grid_search`: the best weights, the score of every grid point and the settings used."""

    weights: list[float]
    best_score: float
    metric: str
    method: str
    norm: str
    default_minimum: str  # "off" | "raw" | "normalized" (see kvqae.fusion.core)
    rrf_k: float
    step: float
    sum_to_one: bool
    run_names: list[str]
    grid: list[list[float]]
    scores: list[float]
    n_queries: int
    seconds: float
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"format": WEIGHTS_FORMAT, **asdict(self)}

    def save(self, path: str | Path) -> Path:
        write_json(path, self.to_dict())
        return Path(path)


def grid_search(
    runs: Sequence[Run],
    qrels: Mapping[str, Mapping[str, float]],
    *,
    method: str = "wsum",
    norm: str = "zscore",
    metric: str = "mrr@100",
    step: float = 0.1,
    sum_to_one: bool = True,
    default_minimum: bool | str | None = None,
    rrf_k: float = 60.0,
    query_ids: Sequence[str] | None = None,
    sources: Sequence[str] | None = None,
    chunk: int | None = None,
    progress: bool = False,
) -> GridSearchResult:
    """Score every weight vector of `weight_grid` on the validation `runs`/`qrels`; keep the best by `metric`.

    The query set is `query_ids` (default: the first run's queries); queries without relevant documents count
    as 0, as in ranx. Ties: the last best vector in grid order wins (ranx's `optimize_fusion` rule).
    """
    t0 = time.perf_counter()
    parse_metric(metric)
    matrix = build_matrix(runs, sources=sources, query_ids=query_ids)
    prep = prepare(matrix, method, norm, default_minimum=default_minimum, rrf_k=rrf_k)
    aligned = align_qrels(matrix.qids, matrix.cand_ids, qrels)
    grid = weight_grid(len(runs), step, sum_to_one=sum_to_one)
    n_q, n_c = matrix.valid.shape
    # (W, Q, C) float64 blocks of at most ~4M values (32 MB): bounded memory, few Python round trips
    chunk = chunk or max(1, int(4_000_000 // max(1, n_q * n_c)))
    scores = np.empty(len(grid))
    starts = range(0, len(grid), chunk)
    if progress:
        from kvqae.progress import track

        starts = track(list(starts), "Weight grid", enabled=True)
    # `combine`'s arithmetic exactly (`weighted_sum`): a fused run written later keeps the ties scored here
    terms = prep.scaled_terms().reshape(len(runs), -1)
    bias = prep.bias.reshape(-1)
    buf = np.empty((min(chunk, len(grid)), terms.shape[1]))  # reused: no fresh 30 MB page faults per chunk
    for s in starts:
        n = len(grid[s : s + chunk])
        fused = weighted_sum(grid[s : s + chunk], terms, out=buf[:n])
        fused += bias
        per_query = compute_metrics(fused.reshape(n, n_q, n_c), aligned, [metric])[metric]
        scores[s : s + chunk] = per_query.mean(axis=-1)
    best = int(len(scores) - 1 - np.argmax(scores[::-1]))  # last maximum
    return GridSearchResult(
        weights=[float(round(w, 12)) for w in grid[best]],
        best_score=float(scores[best]),
        metric=metric,
        method=method,
        norm=norm,
        default_minimum=resolve_default_minimum(norm, default_minimum),
        rrf_k=rrf_k,
        step=step,
        sum_to_one=sum_to_one,
        run_names=[r.name for r in runs],
        grid=[[float(round(w, 12)) for w in g] for g in grid],
        scores=scores.tolist(),
        n_queries=n_q,
        seconds=time.perf_counter() - t0,
    )


def _check_settings(data: dict, path: Path) -> None:
    """The fusion settings of a weights file: known method and norm, finite rrf_k >= 0 (default_minimum: see
    `load_weights`)."""
    if not isinstance(data["method"], str) or data["method"] not in METHODS:
        raise InputError(f"must be one of {sorted(METHODS)}", path=path, field="method")
    if not isinstance(data["norm"], str) or data["norm"] not in NORMALISATIONS:
        raise InputError(f"must be one of {sorted(NORMALISATIONS)}", path=path, field="norm")
    if not is_finite_number(data["rrf_k"]):
        raise InputError("must be a finite number", path=path, field="rrf_k")
    check_rrf_k(data["rrf_k"], path=str(path))


def load_weights(path: str | Path) -> dict:
    """Read and check a weights file written by `GridSearchResult.save`."""
    path = Path(path)
    data = read_json(path, "weights file")
    if not isinstance(data, dict) or data.get("format") != WEIGHTS_FORMAT:
        raise InputError(
            f"not a kvqae fusion weights file (format != {WEIGHTS_FORMAT!r})", path=path, field="format"
        )
    for key in ("weights", "method", "norm", "default_minimum", "rrf_k"):
        if key not in data:
            raise InputError("missing", path=path, field=key)
    w = data["weights"]
    if not isinstance(w, list) or not all(is_finite_number(x) for x in w):
        raise InputError("must be a list of finite numbers", path=path, field="weights")
    if not w:  # said "weights are all 0, ..., got []"
        raise InputError("the list is empty: a weights file has one weight per fused run", path=path,
                         field="weights")
    check_weights(w, path=str(path))
    _check_settings(data, path)
    names = data.get("run_names")
    if names is not None and (
        not isinstance(names, list) or len(names) != len(w) or not all(isinstance(n, str) for n in names)
    ):
        raise InputError("must be a list of run names, one per weight", path=path, field="run_names")
    mode = data["default_minimum"]
    if not (mode is None or isinstance(mode, bool) or mode in DEFAULT_MINIMUM_MODES):
        raise InputError(
            f"must be one of {', '.join(DEFAULT_MINIMUM_MODES)}, true (= normalized), false (= off) or null",
            path=path,
            field="default_minimum",
        )
    data["default_minimum"] = parse_default_minimum(mode)  # `true` of files written before the modes
    _check_optional(data, path)
    return data


def _check_optional(data: dict, path: Path) -> None:
    """The optional fields `weights_for_runs` carries over, when present: a hand-edited `"step": "abc"`,
    `"n_queries": null` or `"extra": [1]` was a TypeError / ValueError from deep inside it."""
    checks = (
        ("step", lambda v: is_finite_number(v) and 0 < v <= 1, "a number in (0, 1]"),
        ("n_queries", lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
         "a whole number >= 0"),
        ("best_score", lambda v: v is None or is_finite_number(v), "a finite number or null"),
        ("metric", lambda v: isinstance(v, str), "a string"),
        ("sum_to_one", lambda v: isinstance(v, bool), "true or false"),
        ("extra", lambda v: v is None or isinstance(v, dict), "an object or null"),
    )
    for key, ok, what in checks:
        if key in data and not ok(data[key]):
            got = json.dumps(data[key])
            raise InputError(f"must be {what}, got {got if len(got) <= 60 else got[:57] + '...'}", path=path,
                             field=key)


def weights_for_runs(path: str | Path, names: Sequence[str]) -> GridSearchResult:
    """A weights file (from `kvqae fuse fit`, or a joint CLIP's `fusion_weights.json`) as a GridSearchResult
    whose weights and `run_names` follow `names` (the runs it will fuse), so it can be applied, saved and put
    in a bundle like a fitted one. InputError when its run names are not exactly `names` (a file without
    run names must have one weight per run, in that order). `grid`/`scores` are empty when the file has
    none; `extra.weights_file` records where the weights came from."""
    path = Path(path)
    data = load_weights(path)
    if len(data["weights"]) != len(names):
        raise InputError(
            f"the weights file has {len(data['weights'])} weights but the pipeline fuses {len(names)} runs "
            f"{list(names)}",
            path=path,
            field="weights",
        )
    file_names = data.get("run_names") or list(names)
    if sorted(file_names) != sorted(names):
        raise InputError(
            f"the weights are for runs named {file_names} but the runs to fuse are named {list(names)}",
            path=path,
            field="run_names",
        )
    by_name = dict(zip(file_names, data["weights"], strict=True))
    best = data.get("best_score")
    return GridSearchResult(
        weights=[float(by_name[n]) for n in names],
        best_score=None if best is None else float(best),  # type: ignore[arg-type]  (nothing was scored)
        metric=str(data.get("metric", "")),
        method=data["method"],
        norm=data["norm"],
        default_minimum=resolve_default_minimum(data["norm"], data["default_minimum"]),
        rrf_k=float(data["rrf_k"]),
        step=float(data.get("step", 0.1)),
        sum_to_one=bool(data.get("sum_to_one", True)),
        run_names=list(names),
        grid=[],
        scores=[],
        n_queries=int(data.get("n_queries", 0)),
        seconds=0.0,
        extra={**(data.get("extra") or {}), "weights_file": str(path)},
    )


def match_runs(
    run_names: Sequence[str] | None, runs: Sequence[Run], sources: Sequence[str] | None, where: Path | None
) -> tuple[list[Run], list[str] | None]:
    """`runs` (and their `sources`) in the order of the weights file's `run_names`, matched by run name.

    Without `run_names` (a hand-written weights file) the given order is kept. Runs whose names are not
    exactly the fitted ones are an InputError listing both.
    """
    if run_names is None:
        return list(runs), None if sources is None else list(sources)
    given = [r.name for r in runs]
    if sorted(given) != sorted(run_names):
        raise InputError(
            f"the weights were fitted on runs named {list(run_names)} but the runs given are named {given}",
            path=where,
            field="run_names",
        )
    order: list[int] = []
    for name in run_names:  # a repeated name keeps the given order among its runs
        order.append(next(i for i, g in enumerate(given) if g == name and i not in order))
    return [runs[i] for i in order], None if sources is None else [sources[i] for i in order]


def apply_weights(
    weights_file: str | Path | Mapping,
    runs: Sequence[Run],
    *,
    k: int | None = None,
    name: str | None = None,
    sources: Sequence[str] | None = None,
) -> Run:
    """Fuse `runs` with the settings of a weights file (path or loaded dict).

    The runs are matched to the weights by run name (the file's `run_names`), so their order does not
    matter; a run name the weights were not fitted on is an InputError.
    """
    data = load_weights(weights_file) if not isinstance(weights_file, Mapping) else dict(weights_file)
    where = None if isinstance(weights_file, Mapping) else Path(weights_file)
    if len(data["weights"]) != len(runs):
        raise InputError(
            f"the weights file has {len(data['weights'])} weights but {len(runs)} runs were given",
            path=where,
            field="weights",
        )
    runs, sources = match_runs(data.get("run_names"), runs, sources, where)
    return fuse(
        runs,
        method=data["method"],
        norm=data["norm"],
        weights=data["weights"],
        default_minimum=data["default_minimum"],
        rrf_k=data["rrf_k"],
        k=k,
        name=name,
        sources=sources,
    )
