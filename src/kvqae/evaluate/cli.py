"""`kvqae evaluate retrieval|answers`: metrics, reports and answer scoring."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from kvqae.evaluate.report import DEFAULT_METRICS, TABLE_METRICS

evaluate_app = typer.Typer(
    help="Evaluate retrieval runs and reader answers; write reports.", no_args_is_help=True
)


@evaluate_app.command("retrieval")
def evaluate_retrieval(
    ctx: typer.Context,
    run: list[Path] = typer.Option(
        ..., "--run", help="Run to evaluate (.json/.trec); repeat for several systems."
    ),
    questions: Path = typer.Option(..., "--questions", help="Questions of the split the runs answer."),
    kb: Path = typer.Option(None, "--kb", help="KB directory: relevance is judged from the runs against it."),
    qrels: Path = typer.Option(None, "--qrels", help="Qrels JSON {qid: {docid: rel}} instead of --kb."),
    out: Path = typer.Option(..., "--out", "-o", help="Report directory (report.json/.md/.tex)."),
    metric: list[str] = typer.Option(
        list(DEFAULT_METRICS), "--metric",
        help="Metric name; repeat. The tables show the metrics given here (by default MRR@100 and P@1; "
             "report.json holds every metric).",
    ),
    dataset: str = typer.Option("", "--dataset", help="Dataset name for the table's column group."),
    merge_qrels: bool = typer.Option(
        True,
        "--merge-qrels/--per-run-qrels",
        help="Judge relevance on the union of all runs' candidates (default), or each run on its own (with "
             "--kb).",
    ),
    passage_requires_entity: bool = typer.Option(
        False, "--passage-requires-entity", help="A relevant passage must belong to the gold entity."
    ),
    test: str = typer.Option("student", "--test", help="Significance test: student | fisher | none."),
    max_p: float = typer.Option(0.05, "--max-p", help="Significance level."),
    weights: Path = typer.Option(None, "--weights", help="A weights file: adds the weight-grid heat map."),
    save_qrels: bool = typer.Option(
        True, "--save-qrels/--no-save-qrels", help="Write the qrels used (qrels.json)."
    ),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Write into an existing --out even when it is not a report folder."
    ),
) -> None:
    """Evaluate runs against the questions; write JSON (per query + mean), Markdown and LaTeX tables,
    significance tests and (with --weights) the fusion-weight heat map."""
    from kvqae.data.questions import load_questions
    from kvqae.data.runs import Run
    from kvqae.errors import InputError
    from kvqae.evaluate.metrics import evaluate_run, parse_metric, unique_metrics
    from kvqae.evaluate.predictions import unjudged_note, unranked_note
    from kvqae.evaluate.relevance import check_relevance_source, load_qrels, merge_qrels, qrels_for_kb
    from kvqae.evaluate.relevance import save_qrels as write_qrels
    from kvqae.evaluate.report import SystemScores, check_weight_grid, write_report
    from kvqae.fusion.search import load_weights
    from kvqae.io import CONTROL_CHARS
    from kvqae.safety import check_distinct_files, check_out, check_range

    for m in metric:
        parse_metric(m)
    check_range(max_p, "--max-p", low=0, low_open=True, high=1)
    if found := CONTROL_CHARS.search(dataset):  # the table's header row split, as a run name's did
        raise InputError(f"the dataset name holds the control character {found.group()!r}", field="--dataset")
    check_relevance_source(kb, qrels)
    if qrels is not None:  # both judge relevance from a KB: with given qrels they were ignored, silently
        given = [flag for flag, on in (("--passage-requires-entity", passage_requires_entity),
                                       ("--merge-qrels/--per-run-qrels",
                                        ctx.get_parameter_source("merge_qrels").name != "DEFAULT")) if on]
        if given:
            raise InputError(f"{given[0]} applies to relevance judged from --kb; --qrels gives it "
                             "ready-made: drop it", field=given[0])
    inputs = {"--run": run, "--questions": questions, "--kb": kb, "--qrels": qrels, "--weights": weights}
    check_out(out, "report", inputs, overwrite=overwrite)
    runs = [Run.load(p) for p in run]  # first: each file is checked (a pipe, a folder) before the pair
    check_distinct_files(run, "--run")
    levels = {r.level: p for r, p in zip(runs, run, strict=True)}
    if len(levels) > 1:  # one table, bold "best" cells and significance tests across entities and passages
        raise InputError(f"{levels['entity']} ranks entities and {levels['passage']} passages: their scores "
                         "measure different things; evaluate them separately, or map the entity run to "
                         "passages first (kvqae search --to-passages)", field="--run")
    names = [r.name or p.stem for r, p in zip(runs, run, strict=True)]
    if len(set(names)) != len(names):  # two runs with the same name: fall back to file names
        twice = next(n for n in names if names.count(n) > 1)
        typer.echo(f"note: two runs are named {twice!r}: the report names every run by its file", err=True)
        names = [str(p) for p in run]
    qs = load_questions(questions)
    qids = [q.id for q in qs]
    if qrels is not None:
        per_run = [load_qrels(qrels)] * len(runs)
        if note := unjudged_note(per_run[0], qids, str(qrels)):  # trec_eval would leave them out
            typer.echo(f"note: {note}", err=True)
    elif kb is not None:
        from kvqae.data.kb_subset import kb_for_runs
        from kvqae.evaluate.predictions import unanswerable_note, unknown_entity_note

        if note := unanswerable_note(qs):  # relevance comes from the answers: these have none
            typer.echo(f"note: {note}", err=True)

        the_kb = kb_for_runs(kb, runs, qs)  # only the rows the runs and questions touch (ViQuAE-sized KBs)
        # judged otherwise without a word: an entity "alpha" for "Alpha" (entity runs: by the answers)
        if note := unknown_entity_note(qs, the_kb.resolve, runs, passage_requires_entity, str(questions)):
            typer.echo(f"note: {note}", err=True)
        per_run = [
            qrels_for_kb([r], qs, the_kb, passage_requires_entity=passage_requires_entity, sources=[str(p)])
            for r, p in zip(runs, run, strict=True)
        ]
        if merge_qrels:
            per_run = [merge_qrels(*per_run)] * len(runs)
    else:
        raise InputError("give --kb (to judge relevance) or --qrels", field="kb")
    systems = []
    for r, name, q, p in zip(runs, names, per_run, run, strict=True):
        if note := unranked_note(r, qids, str(p)):  # they score 0 and lower every mean
            typer.echo(f"note: {note}", err=True)
        mean, per = evaluate_run(r, q, metric, query_ids=qids, source=str(p))
        systems.append(SystemScores(name, dataset, mean, per))
    grid = load_weights(weights) if weights is not None else None
    if grid is not None:
        check_weight_grid(grid, weights)  # before any report file is written
    # the metrics asked for are the table's columns (they were MRR@100 and P@1 whatever was asked)
    table = TABLE_METRICS if list(metric) == list(DEFAULT_METRICS) else tuple(unique_metrics(metric))
    paths = write_report(out, systems, table_metrics=table,
                         significance_test=None if test == "none" else test, max_p=max_p, weight_grid=grid)
    if not save_qrels:  # an earlier evaluation's qrels in this folder would read as this one's
        (out / "qrels.json").unlink(missing_ok=True)
    else:
        write_qrels(
            out / "qrels.json", per_run[0] if (merge_qrels or qrels is not None) else merge_qrels(*per_run)
        )
    typer.echo(paths["markdown"].read_text(encoding="utf-8"))
    typer.echo(f"report -> {out}")


@evaluate_app.command("answers")
def evaluate_answers(
    predictions: Path = typer.Argument(
        ..., help="Predictions JSONL: {id, answer, passage_id, score, start, end}."
    ),
    questions: Path = typer.Option(..., "--questions", help="Questions with their gold answers."),
    scorer: str = typer.Option("em-f1", "--scorer", help="em-f1 | infoseek | bem:PATH (local classifier)."),
    infoseek_mode: str | None = typer.Option(
        None,
        "--infoseek-mode",
        help="InfoSeek rules (with --scorer infoseek): official (the official script's, row by row; default) "
             "| lenient (not comparable).",
    ),
    out: Path = typer.Option(None, "--out", "-o", help="Write {mean, per_query} JSON here."),
    device: str | None = typer.Option(None, "--device", help="Device of the BEM classifier (default cpu)."),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace an existing --out even when it is not an answer scores file."
    ),
) -> None:
    """Score reader predictions: EM/F1 (SQuAD), InfoSeek accuracy or BEM answer equivalence."""
    from kvqae.data.questions import load_questions
    from kvqae.errors import InputError
    from kvqae.evaluate.predictions import (
        infoseek_breakdown,
        load_predictions,
        score_answers,
        unanswerable_note,
    )
    from kvqae.io import write_json

    _check_answers_options(predictions, questions, scorer, out, overwrite)
    # options of one scorer given with another were ignored without a word
    if infoseek_mode is not None and scorer != "infoseek":
        raise InputError(f"--infoseek-mode applies to --scorer infoseek, not {scorer}",
                         field="--infoseek-mode")
    if device is not None and not scorer.startswith("bem:"):
        raise InputError(f"--device applies to a bem:PATH scorer, not {scorer}", field="--device")
    infoseek_mode, device = infoseek_mode or "official", device or "cpu"

    preds = load_predictions(predictions)
    qs = load_questions(questions)
    mean, per = score_answers(
        preds, qs, scorer=scorer, device=device, source=str(predictions), infoseek_mode=infoseek_mode,
        questions_source=str(questions),
    )
    missing = sum(1 for q in qs if q.id not in preds)
    if note := unanswerable_note(qs):
        typer.echo(f"note: {note}", err=True)
    if out is not None:
        extra = {}
        if scorer == "infoseek":
            extra = {"infoseek_mode": infoseek_mode, "infoseek": infoseek_breakdown(per["accuracy"], qs)}
        write_json(
            out,
            {
                "scorer": scorer,
                **extra,
                "n_questions": len(qs),
                "missing_predictions": missing,
                "mean": mean,
                "per_query": per,
            },
        )
    typer.echo(
        json.dumps(
            {
                "n_questions": len(qs),
                "missing_predictions": missing,
                **{k: round(v, 6) for k, v in mean.items()},
            }
        )
    )


def _check_answers_options(predictions: Path, questions: Path, scorer: str, out: Path | None,
                           overwrite: bool) -> None:
    """Before reading anything: a bem:PATH scorer holds model files, --out overwrites no input."""
    from kvqae.errors import InputError
    from kvqae.safety import check_model_dir, check_out

    bem = scorer.partition(":")[2] if scorer.startswith("bem:") else None
    if bem == "":
        raise InputError("bem: names no model folder; use --scorer bem:PATH", field="scorer")
    if bem:
        check_model_dir(bem, "--scorer")
    if out is not None:
        check_out(out, "scores", {"PREDICTIONS": predictions, "--questions": questions, "--scorer": bem},
                  overwrite=overwrite)


def register(app: typer.Typer) -> None:
    app.add_typer(evaluate_app, name="evaluate")
