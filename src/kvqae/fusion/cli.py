"""`kvqae fuse fit|apply|combine`: fit fusion weights on a validation split, apply them to test runs."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import typer
from pydantic import Field

from kvqae.config import ConfigModel
from kvqae.fusion.modes import DefaultMinimumSetting

OVERWRITE_HELP = "Replace an existing output even when it is not an earlier output of this kind."


class FuseFitConfig(ConfigModel):
    """Options of `kvqae fuse fit` (also usable as a pipeline YAML section)."""

    runs: list[Path]
    questions: Path
    kb: Path | None = None
    qrels: Path | None = None
    out: Path
    method: Literal["wsum", "rrf", "combsum", "combmnz"] = "wsum"
    norm: Literal["zscore", "zscore-query", "minmax", "rank", "none"] = "zscore"
    step: float = Field(default=0.1, gt=0, le=1)
    metric: str = "mrr@100"
    sum_to_one: bool = True
    default_minimum: DefaultMinimumSetting = None  # "off" | "raw" | "normalized"; None: by norm
    rrf_k: float = Field(default=60.0, ge=0)
    passage_requires_entity: bool = False
    plot: Path | None = None


def check_distinct_names(runs: list, paths: list[Path]) -> None:
    """Refuse runs that share a name: the weights file gives each run name its weight, so `fuse apply` could
    not tell which of them gets which (`kvqae search` names its dense and BM25 text runs alike)."""
    from kvqae.errors import InputError

    seen: dict[str, Path] = {}
    for run, path in zip(runs, paths, strict=True):
        if run.name in seen:
            raise InputError(
                f"{seen[run.name]} and {path} are both runs named {run.name!r}: the weights are matched to "
                "runs by name, so give each run its own (`kvqae search --name`)", field="--run")
        seen[run.name] = path


def fit_from_config(cfg: FuseFitConfig, *, progress: bool = True):
    """Load runs, questions and qrels (given, or judged from the runs against the KB), search the weight grid,
    save the weights file (and the heat map when `cfg.plot`). Returns the GridSearchResult."""
    from kvqae.data.questions import load_questions
    from kvqae.data.runs import Run
    from kvqae.errors import InputError
    from kvqae.evaluate.relevance import check_relevance_source, load_qrels, qrels_for_kb
    from kvqae.fusion.search import grid_search

    check_relevance_source(cfg.kb, cfg.qrels)
    if len(cfg.runs) < 2:
        raise InputError("give at least two runs (--run A --run B)", field="runs")
    runs = [Run.load(p) for p in cfg.runs]
    check_distinct_names(runs, cfg.runs)
    questions = load_questions(cfg.questions)
    if cfg.qrels is not None:
        qrels = load_qrels(cfg.qrels)
    elif cfg.kb is not None:
        from kvqae.data.kb_subset import kb_for_runs
        from kvqae.evaluate.predictions import unknown_entity_note

        the_kb = kb_for_runs(cfg.kb, runs, questions)  # only the rows the runs and questions touch
        if note := unknown_entity_note(questions, the_kb.resolve, runs, cfg.passage_requires_entity,
                                       str(cfg.questions)):
            typer.echo(f"note: {note}", err=True)
        qrels = qrels_for_kb(
            runs,
            questions,
            the_kb,
            passage_requires_entity=cfg.passage_requires_entity,
            sources=[str(p) for p in cfg.runs],
        )
    else:
        raise InputError("give --kb (to judge relevance) or --qrels", field="kb")
    result = grid_search(
        runs,
        qrels,
        method=cfg.method,
        norm=cfg.norm,
        metric=cfg.metric,
        step=cfg.step,
        sum_to_one=cfg.sum_to_one,
        default_minimum=cfg.default_minimum,
        rrf_k=cfg.rrf_k,
        query_ids=[q.id for q in questions],
        sources=[str(p) for p in cfg.runs],
        progress=progress,
    )
    result.extra = {"runs": [str(p) for p in cfg.runs], "questions": str(cfg.questions)}
    result.save(cfg.out)
    if cfg.plot is not None:
        from kvqae.evaluate.report import plot_weight_grid

        plot_weight_grid(result, cfg.plot)
    return result


DEFAULT_MINIMUM_HELP = (
    "Score of a candidate a run missed: raw (the run's minimum raw score for the query, filled in before "
    "normalising: the seeds' code) | normalized (its minimum after normalising) | off (0, as ranx). "
    "Default: raw for the z-scores, off otherwise."
)
NO_DEFAULT_MINIMUM_HELP = "Same as --default-minimum off."

fuse_app = typer.Typer(
    help="Fuse retrieval runs: fit weights on validation, apply them to test.", no_args_is_help=True
)


def check_method_options(method: str, norm: str | None, rrf_k: float | None, default_minimum: str | None,
                         no_default_minimum: bool) -> tuple[str, float]:
    """The options of another fusion method than `method`, or two that contradict each other, are refused
    (they were ignored, and still recorded in the weights file or run as if applied); returns (norm, rrf_k)
    with their defaults."""
    from kvqae.errors import InputError

    if default_minimum is not None and no_default_minimum:
        raise InputError(f"--default-minimum {default_minimum} and --no-default-minimum contradict each "
                         "other: give one", field="--no-default-minimum")
    if method == "rrf":
        given = [flag for flag, on in (("--norm", norm is not None), ("--default-minimum", default_minimum),
                                       ("--no-default-minimum", no_default_minimum)) if on]
        if given:
            raise InputError(f"{given[0]} does not apply to --method rrf, which fuses ranks, not scores: "
                             "drop it", field=given[0])
    elif rrf_k is not None:
        raise InputError(f"--rrf-k applies to --method rrf, not {method}", field="--rrf-k")
    return norm or "zscore", 60.0 if rrf_k is None else rrf_k


@fuse_app.command("fit")
def fuse_fit(
    run: list[Path] = typer.Option(
        ..., "--run", help="Validation run (.json/.trec); repeat, in a fixed order."
    ),
    questions: Path = typer.Option(..., "--questions", help="Validation questions (any supported format)."),
    kb: Path = typer.Option(None, "--kb", help="KB directory: relevance is judged from the runs against it."),
    qrels: Path = typer.Option(None, "--qrels", help="Qrels JSON {qid: {docid: rel}} instead of --kb."),
    out: Path = typer.Option(..., "--out", "-o", help="Weights file (JSON) to write."),
    method: str = typer.Option("wsum", "--method", help="wsum | rrf | combsum | combmnz."),
    norm: str | None = typer.Option(
        None, "--norm", help="zscore | zscore-query | minmax | rank | none (default zscore; not with rrf)."),
    step: float = typer.Option(0.1, "--step", help="Grid step of each weight."),
    metric: str = typer.Option("mrr@100", "--metric", help="Metric to maximise (mrr@K, p@K, hit@K, ...)."),
    sum_to_one: bool = typer.Option(True, "--sum-to-one/--free-weights", help="Only weights summing to 1."),
    default_minimum: str = typer.Option(None, "--default-minimum", help=DEFAULT_MINIMUM_HELP),
    no_default_minimum: bool = typer.Option(False, "--no-default-minimum", help=NO_DEFAULT_MINIMUM_HELP),
    rrf_k: float | None = typer.Option(
        None, "--rrf-k", help="k of reciprocal rank fusion (--method rrf; default 60)."),
    plot: Path = typer.Option(None, "--plot", help="Also write the weight-grid heat map (PNG) here."),
    overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Grid-search fusion weights on a validation split and save them (with the settings) to a JSON file."""
    from kvqae.config import parse_config
    from kvqae.errors import InputError
    from kvqae.evaluate.metrics import parse_metric
    from kvqae.safety import check_out, check_range, overlap

    check_range(step, "--step", low=0, low_open=True, high=1)
    check_range(rrf_k, "--rrf-k", low=0, high=1e6, finite=True)  # larger: rounding ties every score
    norm, rrf_k = check_method_options(method, norm, rrf_k, default_minimum, no_default_minimum)
    parse_metric(metric)
    inputs = {"--run": run, "--questions": questions, "--kb": kb, "--qrels": qrels}
    check_out(out, "weights", inputs, overwrite=overwrite)
    if plot is not None:
        if plot.suffix.lower() != ".png":  # it wrote PNG bytes to x.pdf / x.svg
            raise InputError(f"the heat map is a PNG image: name it *.png, not {plot.name!r}", field="--plot")
        if overlap(plot, out) is not None:  # two outputs in one place; "--out" is no input
            raise InputError(f"--plot {plot} and --out {out} name the same path: the weights file and the "
                             "heat map need two", field="--plot")
        check_out(plot, "png", inputs, overwrite=overwrite, flag="--plot")

    cfg = parse_config(
        FuseFitConfig,
        dict(
            runs=run,
            questions=questions,
            kb=kb,
            qrels=qrels,
            out=out,
            method=method,
            norm=norm,
            step=step,
            metric=metric,
            sum_to_one=sum_to_one,
            default_minimum="off" if no_default_minimum else default_minimum,
            rrf_k=rrf_k,
            plot=plot,
        ),
    )
    result = fit_from_config(cfg, progress=progress)
    names = ", ".join(f"{n}={w:g}" for n, w in zip(result.run_names, result.weights, strict=True))
    typer.echo(
        f"best {result.metric} = {result.best_score:.4f} with {names} "
        f"({len(result.grid)} weight vectors, {result.n_queries} queries, {result.seconds:.2f} s) -> {out}"
    )


@fuse_app.command("apply")
def fuse_apply(
    weights: Path = typer.Option(..., "--weights", help="Weights file written by `kvqae fuse fit`."),
    run: list[Path] = typer.Option(
        ..., "--run", help="Test run; repeat. Matched to the weights by run name (the names at fit time)."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Fused run to write (.json or .trec)."),
    k: int = typer.Option(None, "--k", help="Keep the best k candidates per query (default: all)."),
    name: str = typer.Option(None, "--name", help="Name of the fused run."),
    overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
) -> None:
    """Fuse test runs with the weights and settings of a weights file; each run gets the weight fitted for the
    run of the same name, and runs named otherwise than at fit time are refused."""
    from kvqae.data.runs import Run
    from kvqae.fusion.search import apply_weights
    from kvqae.safety import check_out, check_range

    check_range(k, "--k", low=1)
    check_out(out, "run", {"--weights": weights, "--run": run}, overwrite=overwrite)

    runs = [Run.load(p) for p in run]
    check_distinct_names(runs, run)
    fused = apply_weights(weights, runs, k=k, name=name, sources=[str(p) for p in run])
    fused.save(out)
    typer.echo(f"fused {len(runs)} runs over {len(fused)} queries -> {out}")


@fuse_app.command("combine")
def fuse_combine(
    run: list[Path] = typer.Option(..., "--run", help="Run to fuse; repeat."),
    out: Path = typer.Option(..., "--out", "-o", help="Fused run to write (.json or .trec)."),
    method: str = typer.Option("rrf", "--method", help="wsum | rrf | combsum | combmnz."),
    norm: str | None = typer.Option(
        None, "--norm", help="zscore | zscore-query | minmax | rank | none (default zscore; not with rrf)."),
    weights: str = typer.Option(
        None, "--weights", help="Comma-separated weights, one per run (default equal)."
    ),
    default_minimum: str = typer.Option(None, "--default-minimum", help=DEFAULT_MINIMUM_HELP),
    no_default_minimum: bool = typer.Option(False, "--no-default-minimum", help=NO_DEFAULT_MINIMUM_HELP),
    rrf_k: float | None = typer.Option(
        None, "--rrf-k", help="k of reciprocal rank fusion (--method rrf; default 60)."),
    k: int = typer.Option(None, "--k", help="Keep the best k candidates per query."),
    overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
) -> None:
    """Fuse runs with fixed settings (no fitting): e.g. RRF, or a weighted sum with given weights."""
    from kvqae.data.runs import Run
    from kvqae.errors import InputError
    from kvqae.fusion.core import fuse
    from kvqae.safety import check_distinct_files, check_out, check_range

    check_range(k, "--k", low=1)
    check_range(rrf_k, "--rrf-k", low=0, high=1e6, finite=True)  # larger: rounding ties every score
    norm, rrf_k = check_method_options(method, norm, rrf_k, default_minimum, no_default_minimum)
    check_out(out, "run", {"--run": run}, overwrite=overwrite)

    w = None
    if weights is not None and not weights.strip():  # an unset shell variable: it fused with equal weights
        raise InputError("--weights is empty: give comma-separated weights, or leave --weights out for equal "
                         "ones", field="weights")
    if weights:
        try:
            w = [float(x) for x in weights.split(",")]
        except ValueError:
            raise InputError(f"not a comma-separated list of numbers: {weights!r}", field="weights") from None
    runs = [Run.load(p) for p in run]  # first: each file is checked (a pipe, a folder) before the pair
    check_distinct_files(run, "--run")
    fused = fuse(
        runs,
        method=method,
        norm=norm,
        weights=w,
        default_minimum="off" if no_default_minimum else default_minimum,
        rrf_k=rrf_k,
        k=k,
        sources=[str(p) for p in run],
    )
    fused.save(out)
    typer.echo(f"fused {len(runs)} runs ({method}) over {len(fused)} queries -> {out}")


def register(app: typer.Typer) -> None:
    app.add_typer(fuse_app, name="fuse")
