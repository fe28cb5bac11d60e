"""Evaluation reports: JSON (per query and mean), Markdown and LaTeX tables in the seeds' layout, significance
tests between systems (ranx's paired t-test / Fisher randomisation test on our per-query scores) and the
fusion-weight heat map.

Table layout (as in the seeds' papers): one row per system (a retrieval mode or a fusion), one group of
columns per dataset, inside it one column per metric (by default MRR@100 and P@1 for retrieval; EM and F1
for a reader).
The best value of each column is bold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from kvqae.data.runs import Run
from kvqae.errors import InputError
from kvqae.evaluate.metrics import evaluate_run
from kvqae.io import atomic_path, is_finite_number, write_json

DEFAULT_METRICS = ("mrr@100", "p@1", "p@20", "hit@20", "recall@100", "ndcg@10")
TABLE_METRICS = ("mrr@100", "p@1")
LABELS = {
    "mrr": "MRR",
    "p": "P",
    "hit": "Hit",
    "recall": "R",
    "ndcg": "nDCG",
    "em": "EM",
    "f1": "F1",
    "accuracy": "Acc",
    "bem": "BEM",
}


@dataclass
class SystemScores:
    """One system evaluated on one dataset: mean and per-query value of each metric (metric -> qid -> v)."""

    name: str
    dataset: str
    mean: dict[str, float]
    per_query: dict[str, dict[str, float]] = field(default_factory=dict)


def evaluate_systems(
    runs: Mapping[str, Run],
    qrels: Mapping[str, Mapping[str, int]],
    *,
    metrics: Sequence[str] = DEFAULT_METRICS,
    dataset: str = "",
    query_ids: Sequence[str] | None = None,
) -> list[SystemScores]:
    """Evaluate each named run against the same qrels (and query set)."""
    out = []
    for name, run in runs.items():
        mean, per = evaluate_run(run, qrels, metrics, query_ids=query_ids, source=name)
        out.append(SystemScores(name, dataset, mean, per))
    return out


def randomization_p(x: np.ndarray, y: np.ndarray, n_permutations: int = 1000, seed: int = 42,
                    chunk: int = 256) -> float:
    """Two-sided paired randomisation (Fisher) test of per-query scores `x` and `y`: the share of random sign
    flips of the differences whose mean is at least as far from 0 as the observed one, the observed one
    counted ((hits + 1) / (n + 1)). Means that equal the observed one up to rounding count as hits: ranx's
    test compared sums made in another order, so where every flip gives the same mean (one query differs) it
    said p = 0, "significant", for an exact p of 1. Deterministic for a `seed` (numpy's generator; ranx's
    varied from run to run); `chunk` flips at a time bound the memory."""
    d = np.asarray(x, dtype=np.float64) - np.asarray(y, dtype=np.float64)
    if d.size == 0:
        return 1.0
    observed = abs(d.sum())
    tolerance = 1e-9 * max(1.0, float(np.abs(d).sum()))
    rng = np.random.default_rng(seed)
    hits = 0
    for start in range(0, n_permutations, chunk):
        signs = rng.choice((-1.0, 1.0), size=(min(chunk, n_permutations - start), d.size))
        hits += int((np.abs((signs * d).sum(axis=1)) >= observed - tolerance).sum())
    return (hits + 1) / (n_permutations + 1)


def significance(
    systems: Sequence[SystemScores],
    metrics: Sequence[str],
    *,
    test: str = "student",
    max_p: float = 0.05,
    n_permutations: int = 1000,
    seed: int = 42,
) -> list[dict]:
    """Pairwise significance tests between systems of the same dataset, per metric, on per-query scores.

    Returns rows `{"dataset", "a", "b", "metric", "mean_a", "mean_b", "p_value", "significant"}`.
    `test`: "student" (paired t-test, ranx's) or "fisher" (`randomization_p`, a paired randomisation test).
    """
    from ranx.statistical_tests import paired_student_t_test

    if test not in ("student", "fisher"):
        raise InputError(f"unknown significance test {test!r}: use student or fisher", field="test")
    rows = []
    by_ds: dict[str, list[SystemScores]] = {}
    for s in systems:
        by_ds.setdefault(s.dataset, []).append(s)
    for ds, group in by_ds.items():
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                for m in metrics:
                    if m not in a.per_query or m not in b.per_query:
                        continue
                    qids = [q for q in a.per_query[m] if q in b.per_query[m]]
                    if len(qids) < 2:
                        continue
                    x = np.array([a.per_query[m][q] for q in qids])
                    y = np.array([b.per_query[m][q] for q in qids])
                    if test == "student":
                        p, sig = paired_student_t_test(x, y, max_p)
                    else:
                        p = randomization_p(x, y, n_permutations, seed)
                        sig = p <= max_p
                    p = float(p) if np.isfinite(p) else 1.0  # identical scores: no difference
                    rows.append(
                        {
                            "dataset": ds,
                            "a": a.name,
                            "b": b.name,
                            "metric": m,
                            "mean_a": a.mean[m],
                            "mean_b": b.mean[m],
                            "p_value": p,
                            "significant": bool(sig) and p <= max_p,
                        }
                    )
    return rows


def metric_label(metric: str) -> str:
    """ "mrr@100" -> "MRR@100"."""
    base, _, k = metric.partition("@")
    label = LABELS.get(base, base)
    return f"{label}@{k}" if k else label


def _table(
    systems: Sequence[SystemScores], metrics: Sequence[str]
) -> tuple[list[str], list[tuple[str, str]], dict[str, dict]]:
    datasets = list(dict.fromkeys(s.dataset for s in systems))
    names = list(dict.fromkeys(s.name for s in systems))
    cols = [
        (ds, m) for ds in datasets for m in metrics if any(s.dataset == ds and m in s.mean for s in systems)
    ]
    cells = {n: {} for n in names}
    for s in systems:
        for ds, m in cols:
            if s.dataset == ds and m in s.mean:
                cells[s.name][(ds, m)] = s.mean[m]
    return names, cols, cells


def _best(cells: dict, col) -> float | None:
    vals = [row[col] for row in cells.values() if col in row]
    return max(vals) if vals else None


def md_cell(text: str) -> str:
    """`text` as one Markdown table cell: a "|" in a run name or a dataset ("bm25|k1=1.5") split its row."""
    return str(text).replace("|", "\\|")


def markdown_table(
    systems: Sequence[SystemScores],
    metrics: Sequence[str] = TABLE_METRICS,
    *,
    scale: float = 100.0,
    digits: int = 1,
) -> str:
    """Markdown table: rows = systems, columns = dataset x metric (values x `scale`, best in bold)."""
    names, cols, cells = _table(systems, metrics)
    head = ["System"] + [md_cell(f"{ds} {metric_label(m)}".strip()) for ds, m in cols]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * len(cols)) + "|"]
    for n in names:
        row = [md_cell(n)]
        for col in cols:
            v = cells[n].get(col)
            if v is None:
                row.append("–")
            else:
                txt = f"{v * scale:.{digits}f}"
                row.append(f"**{txt}**" if v == _best(cells, col) and len(names) > 1 else txt)
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


_TEX = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "_": r"\_",
    "#": r"\#",
    "$": r"\$",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    # under LaTeX's default OT1 font encoding these print as other glyphs (an em dash, inverted marks)
    "|": r"\textbar{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
}


def _tex_escape(s: str) -> str:
    return "".join(_TEX.get(ch, ch) for ch in s)


def latex_table(
    systems: Sequence[SystemScores],
    metrics: Sequence[str] = TABLE_METRICS,
    *,
    scale: float = 100.0,
    digits: int = 1,
    caption: str = "",
    label: str = "tab:results",
) -> str:
    """LaTeX (booktabs) table in the same layout; a dataset header row with \\multicolumn over its metrics."""
    names, cols, cells = _table(systems, metrics)
    datasets = list(dict.fromkeys(ds for ds, _ in cols))
    out = [r"\begin{table}[t]", r"\centering", r"\begin{tabular}{l" + "r" * len(cols) + "}", r"\toprule"]
    if any(datasets):
        groups, rules, start = [], [], 2
        for ds in datasets:
            width = sum(1 for d, _ in cols if d == ds)
            groups.append(rf"\multicolumn{{{width}}}{{c}}{{{_tex_escape(ds)}}}")
            rules.append(rf"\cmidrule(lr){{{start}-{start + width - 1}}}")
            start += width
        out += [" & " + " & ".join(groups) + r" \\", " ".join(rules)]
    out.append("System & " + " & ".join(_tex_escape(metric_label(m)) for _, m in cols) + r" \\")
    out.append(r"\midrule")
    for n in names:
        row = [_tex_escape(n)]
        for col in cols:
            v = cells[n].get(col)
            if v is None:
                row.append("--")
            else:
                txt = f"{v * scale:.{digits}f}"
                row.append(rf"\textbf{{{txt}}}" if v == _best(cells, col) and len(names) > 1 else txt)
        out.append(" & ".join(row) + r" \\")
    out += [r"\bottomrule", r"\end{tabular}"]
    if caption:
        out.append(rf"\caption{{{_tex_escape(caption)}}}")
    out += [rf"\label{{{label}}}", r"\end{table}"]
    return "\n".join(out) + "\n"


def best_by_weight(grid: np.ndarray, scores: np.ndarray, run: int) -> tuple[np.ndarray, np.ndarray]:
    """For each distinct weight of `run` in the `grid` (points x runs), the best score among the grid points
    giving it that weight: (weights ascending, best scores)."""
    weights = np.unique(np.round(grid[:, run], 9))
    top = np.array([scores[np.isclose(grid[:, run], w)].max() for w in weights])
    return weights, top


def check_weight_grid(d: Mapping, source: str | Path | None = None) -> None:
    """A weights file's grid can be drawn: `grid` (one row of >= 2 finite weights per point, as many as
    `weights`), `scores` (one finite number per row) and weights summing to 1; InputError naming the file
    otherwise. Checked before a report is written (a joint CLIP's weights file has no grid, and the report
    files were left without their qrels after a KeyError)."""
    grid, scores = d.get("grid"), d.get("scores")
    if grid is None or scores is None:
        raise InputError("this weights file has no weight grid (given weights, e.g. a joint CLIP's, are not "
                         "searched): there is no heat map to draw; drop --weights", path=source, field="grid")
    width = len(d.get("weights") or [])
    rows_ok = isinstance(grid, list) and grid and all(
        isinstance(row, list) and len(row) == width and all(is_finite_number(x) for x in row) for row in grid)
    if not rows_ok:
        raise InputError(f"must be a non-empty list of rows of {width} finite weights (one per run)",
                         path=source, field="grid")
    if not isinstance(scores, list) or len(scores) != len(grid) or not all(
            is_finite_number(x) for x in scores):
        raise InputError(f"must be a list of {len(grid)} finite numbers, one per grid row", path=source,
                         field="scores")
    if not d.get("sum_to_one", True) or width < 2:
        raise InputError("the weight plot needs 2 or more runs with weights summing to 1", path=source,
                         field="grid")


def plot_weight_grid(result: Mapping | object, path: str | Path) -> Path:
    """PNG of a fusion-weight search (a `GridSearchResult` or its saved dict): validation score per
    grid point.

    2 runs: the score against a0 (a1 = 1 - a0). 3 runs: a heat map over (a0, a1), a2 = 1 - a0 - a1 (cells
    with a0 + a1 > 1 left blank); the best point is marked. More runs (a pipeline with entity contexts fuses
    4 or 6): one line per run, the best score over the grid at each of its weights (`best_by_weight`).
    Needs weights that sum to 1 and at least 2 runs.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = result if isinstance(result, Mapping) else result.to_dict()
    check_weight_grid(d)
    grid = np.asarray(d["grid"], dtype=np.float64)
    scores = np.asarray(d["scores"], dtype=np.float64)
    names = d.get("run_names") or [f"run{i}" for i in range(grid.shape[1])]
    metric = metric_label(d.get("metric", "score"))
    best = np.asarray(d["weights"])
    fig, ax = plt.subplots(figsize=(5.2, 4.2), dpi=120)
    if grid.shape[1] > 3:
        for i, name in enumerate(names):
            weights, top = best_by_weight(grid, scores, i)
            ax.plot(weights, top, marker="o", markersize=3, label=f"{name} (best {best[i]:g})")
        ax.set_xlabel("weight of the run (the other weights at their best)")
        ax.set_ylabel(f"best validation {metric}")
        ax.legend(fontsize=7)
    elif grid.shape[1] == 2:
        order = np.argsort(grid[:, 0])
        ax.plot(grid[order, 0], scores[order], marker="o")
        ax.axvline(best[0], color="red", linestyle="--", linewidth=1)
        ax.set_xlabel(f"a0 ({names[0]});  a1 ({names[1]}) = 1 - a0")
        ax.set_ylabel(f"validation {metric}")
    else:
        n = round(1.0 / d.get("step", 0.1))
        heat = np.full((n + 1, n + 1), np.nan)
        idx = np.rint(grid[:, :2] * n).astype(int)
        heat[idx[:, 1], idx[:, 0]] = scores
        im = ax.imshow(
            heat,
            origin="lower",
            extent=(-0.5 / n, 1 + 0.5 / n, -0.5 / n, 1 + 0.5 / n),
            cmap="viridis",
            aspect="equal",
        )
        fig.colorbar(im, ax=ax, label=f"validation {metric}")
        ax.plot(best[0], best[1], marker="*", color="red", markersize=14, markeredgecolor="white")
        ax.set_xlabel(f"a0 ({names[0]})")
        ax.set_ylabel(f"a1 ({names[1]})")
        ax.set_title(f"a2 ({names[2]}) = 1 - a0 - a1", fontsize=9)
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path


def write_report(
    out_dir: str | Path,
    systems: Sequence[SystemScores],
    *,
    table_metrics: Sequence[str] = TABLE_METRICS,
    significance_test: str | None = "student",
    max_p: float = 0.05,
    weight_grid: Mapping | object | None = None,
    caption: str = "",
    per_query: bool = True,
) -> dict[str, Path]:
    """Write `report.json`, `report.md`, `report.tex` (and `weights_heatmap.png` when `weight_grid` is given)
    into `out_dir`; returns the written paths by kind.

    `systems` may mix datasets and retrieval/reader metrics: a table column appears where a system has it.
    """
    out_dir = Path(out_dir)
    if not systems:
        raise InputError("no systems to report")
    metrics = list(dict.fromkeys(m for s in systems for m in s.mean))
    sig = significance(systems, metrics, test=significance_test, max_p=max_p) if significance_test else []
    payload = {
        "systems": [asdict(s) if per_query else {**asdict(s), "per_query": {}} for s in systems],
        "significance": {"test": significance_test, "max_p": max_p, "pairs": sig},
    }
    paths = {
        "json": out_dir / "report.json",
        "markdown": out_dir / "report.md",
        "latex": out_dir / "report.tex",
    }
    write_json(paths["json"], payload)
    cols = [m for m in table_metrics if m in metrics] or metrics[:2]
    md = markdown_table(systems, cols)
    if sig:
        md += (
            f"\nSignificance ({significance_test}, p <= {max_p}):\n\n| Dataset | A | B | Metric | p | |\n"
            "|---|---|---|---|---:|---|\n"
        )
        for r in sig:
            if r["metric"] in cols:
                md += (
                    f"| {md_cell(r['dataset'])} | {md_cell(r['a'])} | {md_cell(r['b'])} | "
                    f"{metric_label(r['metric'])} | "
                    f"{r['p_value']:.3g} | {'*' if r['significant'] else ''} |\n"
                )
    with atomic_path(paths["markdown"]) as tmp:
        tmp.write_text(md, encoding="utf-8")
    with atomic_path(paths["latex"]) as tmp:
        tmp.write_text(latex_table(systems, cols, caption=caption), encoding="utf-8")
    if weight_grid is not None:
        paths["heatmap"] = plot_weight_grid(weight_grid, out_dir / "weights_heatmap.png")
    else:  # an earlier report's heatmap in this folder would read as this report's
        (out_dir / "weights_heatmap.png").unlink(missing_ok=True)
    return paths
