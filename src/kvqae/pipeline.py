"""`kvqae run PIPELINE.yaml`: KB -> encode -> index -> search -> fuse -> evaluate -> read, from one YAML file
(its config and checks: `kvqae.pipeline_config`).

Every stage writes its files under `output/` (the same files the stage-by-stage commands write), so a run
can be inspected, resumed or continued by hand:

```
output/kb/                          the knowledge base (entities, passages)
output/embeddings/<name>/           KB and question embeddings, one directory per (encoder, field, split)
output/indexes/<name>/              one Faiss index per (encoder, KB field)
output/runs/<split>/<mode>.json     one passage-level run per retrieval mode (entity runs mapped to passages)
output/runs/<split>/fusion.json     the fused run (weights fitted on `fit_split`, or `fusion.weights`)
output/runs/<split>/fusion+proximity.json   that run re-ranked by term proximity (with `rerank:`)
output/fusion_weights.json          the chosen weights and the whole grid (or a copy of `fusion.weights`)
output/predictions/<split>.jsonl    reader answers (when a reader is configured)
output/report/                      report.json / .md / .tex, weights_heatmap.png
output/bundle.json                  how to answer a new question with all this (`kvqae ask` / `kvqae serve`)
```

Relative paths in the YAML are relative to the YAML file's folder.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from kvqae.ask.bundle import Bundle, BundleFusion, BundleReader, BundleRetrieval, save_bundle, spec_paths
from kvqae.config import parse_config, parse_yaml
from kvqae.io import read_json, write_json
from kvqae.pipeline_config import (  # re-exported: `kvqae.pipeline` is where users import the config from
    PIPELINE_WRITES,
    FusionSection,
    KBSection,
    PipelineConfig,
    ReaderSection,
    RetrievalSection,
    check_pipeline,
    check_pipeline_output,
    config_notes,
    file_name,
    fixed_weights,
    fused_run_name,
    load_pipeline_config,
    load_pipeline_yaml,
    pipeline_inputs,
    reranked_run_name,
    resolve_paths,
    run_names,
)

__all__ = [
    "PIPELINE_WRITES", "FusionSection", "KBSection", "PipelineConfig", "PipelineResult", "ReaderSection",
    "RetrievalSection", "check_pipeline", "check_pipeline_output", "config_notes", "file_name",
    "fixed_weights", "fused_run_name", "load_pipeline_config", "load_pipeline_yaml", "pipeline_bundle",
    "pipeline_inputs", "remove_stale_outputs", "reranked_run_name", "rerank_pipeline_run", "resolve_paths",
    "run_command", "run_names", "run_pipeline", "write_pipeline_report",
]

if TYPE_CHECKING:
    from kvqae.data.runs import Run


def _save_run(run: Run, path: Path) -> None:
    """Save `run` and remember the file, so that a later error about it (a passage the KB lacks) names it."""
    run.save(path)
    run.source = str(path)


_SLUG_CHARS = 60


def _slug(text: str) -> str:
    """A file-name-safe, readable slug of an encoder spec. A long one keeps its end and gains a hash of the
    whole spec, so that two models whose paths differ only early ("exp1/.../final", "exp2/.../final") never
    share a cache folder."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")
    if len(slug) <= _SLUG_CHARS:
        return slug
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]
    return f"{slug[-(_SLUG_CHARS - 9):].lstrip('_-.')}-{digest}"


_STAMPED_FILES = 2000  # the most files of one input folder (a KB, a model) whose size and time are recorded


def _input_state(cfg: PipelineConfig) -> dict:
    """What the stage outputs depend on: the config and the size and time of every input file and of every
    file in an input folder (a KB, a model), so an edited input (or a model retrained at the same path) never
    reuses stale outputs. Image files a KB or a question file names are not recorded."""

    def stamp(path: Path) -> list | None:
        if not path.exists():
            return None
        if path.is_dir():  # a model's weights are rewritten in place: the folder's own time stays the same
            files = sorted(f for f in path.rglob("*") if f.is_file())[:_STAMPED_FILES]
            return [[str(f.relative_to(path)), f.stat().st_size, f.stat().st_mtime_ns] for f in files]
        return [path.stat().st_size, path.stat().st_mtime_ns]

    paths = [Path(cfg.kb.source), *cfg.questions.values()]
    if cfg.kb.types_from is not None:
        paths.append(Path(cfg.kb.types_from))
    if cfg.fusion is not None and cfg.fusion.weights is not None:
        paths.append(Path(cfg.fusion.weights))
    for section in cfg.retrieval:
        arg = section.encoder.partition(":")[2]
        paths.extend(Path(a) for a in arg.split(",") if a and Path(a).exists())
    return {
        # the reader, the metrics and the re-ranking are recomputed on every run: they invalidate nothing
        "config": cfg.model_dump(mode="json", exclude={"reader", "metrics", "dataset", "rerank"}),
        "inputs": {str(p): stamp(p) for p in paths},
    }


class PipelineResult(dict):
    """What a pipeline run produced: paths by kind, the evaluated systems and stage timings (seconds)."""


def run_pipeline(
    cfg: PipelineConfig,
    *,
    progress: bool = True,
    log: Callable[[str], None] = print,
    force: bool = False,
) -> PipelineResult:
    """Run every stage of `cfg`; existing stage outputs are reused unless `force` (stages are deterministic).

    Returns a PipelineResult with the evaluated systems, the fusion grid, the runs and per-stage timings.
    """
    from kvqae.data.kb import KnowledgeBase, build_kb
    from kvqae.data.questions import load_questions
    from kvqae.data.runs import Run
    from kvqae.encode.store import encode_kb, encode_questions
    from kvqae.errors import InputError
    from kvqae.evaluate.predictions import unanswerable_note
    from kvqae.index.bm25_index import BM25_SPEC, Bm25Index
    from kvqae.index.faiss_index import VectorIndex
    from kvqae.search.modes import get_mode, search_embeddings
    from kvqae.search.passages import PassageTable, entity_context_run, entity_run_to_passages

    check_pipeline(cfg)
    # outputs older than this were written for another config (`remove_stale_outputs`); 2 s early, since
    # file systems stamp files with a coarser clock (some to the second): no file of this run is older
    started = time.time() - 2.0
    out = Path(cfg.output)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:  # /proc, /sys, a name the file system refuses: one line, not a traceback
        raise InputError(f"cannot create the output folder ({e.strerror})", path=out,
                         field="output") from None
    timings: dict[str, float] = {}
    splits = dict(cfg.questions)
    fixed = fixed_weights(cfg)
    fusing = cfg.fusion is not None and len(run_names(cfg.retrieval)) > 1
    fit_split = cfg.fit_split if fusing and fixed is None else None  # `check_pipeline` checked both splits
    wanted = [s for s in dict.fromkeys([cfg.eval_split, fit_split]) if s is not None]
    names = [r.name or r.mode for r in cfg.retrieval]

    # Stage outputs are reused only while the inputs they came from are unchanged.
    state = _input_state(cfg)
    state_path = out / "inputs.json"
    if not force and state_path.exists() and read_json(state_path) != state:
        log("[run] inputs changed since the last run: recomputing every stage")
        force = True

    for note in config_notes(cfg, wanted):
        log(note)
    # the question files first: one of another kind (a run, articles) is refused before the KB is built
    questions = {s: load_questions(splits[s]) for s in wanted}
    for split, qs in questions.items():
        if note := unanswerable_note(qs, split):
            log(f"[questions] {note}")

    # 1. knowledge base
    t0 = time.perf_counter()
    source = Path(cfg.kb.source)
    if (source / "entities.parquet").exists():
        kb = KnowledgeBase.load(source)
    else:
        kb_dir = out / "kb"
        if force or not (kb_dir / "entities.parquet").exists():
            log(f"[kb] building {kb_dir} from {source}")
            build_kb(
                source,
                kb_dir,
                fmt=cfg.kb.format,
                words=cfg.kb.words,
                sentence_aligned=cfg.kb.sentence_aligned,
                types_from=cfg.kb.types_from,
                progress=progress,
            )
        kb = KnowledgeBase.load(kb_dir)
    timings["kb"] = time.perf_counter() - t0

    # 2-4. encode, index, search (each mode -> a passage-level run per split)
    runs: dict[str, dict[str, Run]] = {s: {} for s in wanted}
    index_dirs: dict[str, Path] = {}
    passage_table = None
    made: set[Path] = set()  # outputs produced by this call: `force` recomputes each only once

    def needs(path: Path) -> bool:
        todo = path not in made and (force or not (path / "meta.json").exists())
        made.add(path)
        return todo

    encoders: dict[str, object] = {}  # one loaded model per spec, shared by the modes that use it

    def encoder(spec: str):
        if spec not in encoders:
            from kvqae.encode.registry import load_encoder

            encoders[spec] = load_encoder(spec, device=cfg.device)
        return encoders[spec]

    for section, name in zip(cfg.retrieval, names, strict=True):
        t0 = time.perf_counter()
        mode = get_mode(section.mode)
        if section.encoder == BM25_SPEC:  # lexical: no embeddings, the question texts are the queries
            index_dir = out / "indexes" / "passage-bm25"
            if needs(index_dir):
                log(f"[index] {index_dir.name} (BM25)")
                Bm25Index.build(kb, index_dir)
            index_dirs[name] = index_dir
            lexical = Bm25Index.load(index_dir)
            for split in wanted:
                qs = questions[split]
                run = lexical.search_run([q.id for q in qs], [q.question for q in qs], cfg.k, name=name)
                _save_run(run, out / "runs" / split / f"{name}.json")
                runs[split][name] = run
            timings[f"retrieval:{name}"] = time.perf_counter() - t0
            continue
        enc = _slug(section.encoder)
        kb_emb = out / "embeddings" / f"kb-{mode.kb_field}-{enc}"
        index_dir = out / "indexes" / f"{mode.kb_field}-{enc}-{_slug(section.factory)}"
        if needs(kb_emb):
            log(f"[encode] KB {mode.kb_field} with {section.encoder}")
            encode_kb(
                kb,
                encoder(section.encoder),
                mode.kb_field,
                kb_emb,
                device=cfg.device,
                batch_size=cfg.batch_size,
                progress=progress,
            )
        if needs(index_dir):
            log(f"[index] {index_dir.name} ({section.factory})")
            VectorIndex.build(kb_emb, index_dir, section.factory)
        index = VectorIndex.load(index_dir)
        index_dirs[name] = index_dir
        q_field = "image" if mode.query_kind == "image" else "question"
        for split in wanted:
            q_emb = out / "embeddings" / f"{split}-{q_field}-{enc}"
            if needs(q_emb):
                log(f"[encode] {split} questions ({q_field}) with {section.encoder}")
                encode_questions(
                    questions[split],
                    encoder(section.encoder),
                    q_field,
                    q_emb,
                    device=cfg.device,
                    batch_size=cfg.batch_size,
                    progress=progress,
                )
            run = search_embeddings(q_emb, index, mode.name, cfg.k, name=name, progress=progress,
                                    nprobe=section.nprobe, ef_search=section.ef_search,
                                    refine_factor=section.refine_factor)
            if run.level == "entity":
                if passage_table is None:  # built once, shared by every entity-level mode
                    passage_table = PassageTable.from_kb(kb)
                run = entity_run_to_passages(run, passage_table, cfg.k, name=name)
            _save_run(run, out / "runs" / split / f"{name}.json")
            runs[split][name] = run
        timings[f"retrieval:{name}"] = time.perf_counter() - t0

    # entity contexts of passage-level runs (derived runs, fused like the others)
    for section, name in zip(cfg.retrieval, names, strict=True):
        if section.entity_context:
            if passage_table is None:
                passage_table = PassageTable.from_kb(kb)
            for split in wanted:
                derived = entity_context_run(runs[split][name], None, passage_table, cfg.k)
                _save_run(derived, out / "runs" / split / f"{derived.name}.json")
                runs[split][derived.name] = derived
    names = run_names(cfg.retrieval)

    # 5. fusion: fit on the fit split (or read `fusion.weights`), apply to the eval split
    result = PipelineResult(output=out, timings=timings)
    grid = None
    if fixed is not None:
        from kvqae.fusion.search import apply_weights, weights_for_runs

        t0 = time.perf_counter()
        grid = weights_for_runs(fixed, names)
        grid.save(out / "fusion_weights.json")
        log(
            "[fusion] weights "
            + ", ".join(f"{n}={w:g}" for n, w in zip(names, grid.weights, strict=True))
            + f" (from {fixed}, {grid.method}, norm {grid.norm}, default-minimum {grid.default_minimum})"
        )
        fused = apply_weights(
            grid.to_dict(), [runs[cfg.eval_split][n] for n in names], k=cfg.k, name="fusion"
        )
        _save_run(fused, out / "runs" / cfg.eval_split / "fusion.json")
        runs[cfg.eval_split]["fusion"] = fused
        timings["fusion"] = time.perf_counter() - t0
    if fit_split is not None:
        from kvqae.evaluate.relevance import qrels_for_kb
        from kvqae.fusion.search import apply_weights, grid_search

        t0 = time.perf_counter()
        fit_runs = [runs[fit_split][n] for n in names]
        fit_qrels = qrels_for_kb(
            fit_runs, questions[fit_split], kb, passage_requires_entity=cfg.passage_requires_entity
        )
        grid = grid_search(
            fit_runs,
            fit_qrels,
            method=cfg.fusion.method,
            norm=cfg.fusion.norm,
            metric=cfg.fusion.metric,
            step=cfg.fusion.step,
            default_minimum=cfg.fusion.default_minimum,
            query_ids=[q.id for q in questions[fit_split]],
        )
        grid.extra = {"fit_split": fit_split}
        grid.save(out / "fusion_weights.json")
        log(
            "[fusion] weights "
            + ", ".join(f"{n}={w:g}" for n, w in zip(names, grid.weights, strict=True))
            + f" ({cfg.fusion.metric} {grid.best_score:.3f} on {fit_split})"
        )
        fused = apply_weights(
            grid.to_dict(), [runs[cfg.eval_split][n] for n in names], k=cfg.k, name="fusion"
        )
        _save_run(fused, out / "runs" / cfg.eval_split / "fusion.json")
        runs[cfg.eval_split]["fusion"] = fused
        timings["fusion"] = time.perf_counter() - t0

    # 5b. term-proximity re-ranking of the run answers come from
    if cfg.rerank is not None:
        t0 = time.perf_counter()
        reranked = rerank_pipeline_run(cfg, runs[cfg.eval_split], questions[cfg.eval_split], kb)
        _save_run(reranked, out / "runs" / cfg.eval_split / f"{reranked.name}.json")
        runs[cfg.eval_split][reranked.name] = reranked
        timings["rerank"] = time.perf_counter() - t0

    # 6. evaluation of every run of the eval split (relevance merged across runs, as the seeds do)
    from kvqae.evaluate.metrics import evaluate_run
    from kvqae.evaluate.relevance import qrels_for_kb, save_qrels
    from kvqae.evaluate.report import SystemScores

    t0 = time.perf_counter()
    eval_qs = questions[cfg.eval_split]
    eval_runs = runs[cfg.eval_split]
    qrels = qrels_for_kb(
        list(eval_runs.values()), eval_qs, kb, passage_requires_entity=cfg.passage_requires_entity
    )
    save_qrels(out / "report" / "qrels.json", qrels)
    systems = []
    for name, run in eval_runs.items():
        mean, per = evaluate_run(run, qrels, cfg.metrics, query_ids=[q.id for q in eval_qs], source=name)
        systems.append(SystemScores(name, cfg.dataset, mean, per))
    timings["evaluate"] = time.perf_counter() - t0

    # 7. reader
    if cfg.reader is not None:
        from kvqae.evaluate.predictions import load_predictions, score_answers
        from kvqae.read.predict import read_questions

        t0 = time.perf_counter()
        read_run = cfg.reader.run
        if read_run == fused_run_name(cfg) and reranked_run_name(cfg) in eval_runs:
            read_run = reranked_run_name(cfg)  # with `rerank`, the reader reads the re-ranked passages
        if read_run not in eval_runs:
            raise InputError(
                f"reader.run {cfg.reader.run!r} is not one of the runs {sorted(eval_runs)}",
                field="reader.run",
            )
        pred_path = out / "predictions" / f"{cfg.eval_split}.jsonl"
        ranked_path = out / "runs" / cfg.eval_split / f"{read_run}+reader.json"
        read_questions(
            cfg.reader.model,
            kb,
            eval_qs,
            eval_runs[read_run],
            pred_path,
            top_k=cfg.reader.top_k,
            device=cfg.device,
            progress=progress,
            ranked_out=ranked_path,
        )
        # the read passages as the reader orders them (kvqae.rerank.reader): its own line of the report
        reader_ranked = Run.load(ranked_path)
        rmean, rper = evaluate_run(reader_ranked, qrels, cfg.metrics, query_ids=[q.id for q in eval_qs],
                                   source=reader_ranked.name)
        systems.append(SystemScores(reader_ranked.name, cfg.dataset, rmean, rper))
        result["reader_ranked"] = ranked_path
        mean, per = score_answers(load_predictions(pred_path), eval_qs)
        for s in systems:
            if s.name in (read_run, reader_ranked.name):
                s.mean.update(mean)
                s.per_query.update(per)
        result["predictions"] = pred_path
        timings["read"] = time.perf_counter() - t0

    write_json(state_path, state)
    remove_stale_outputs(out, started, log)
    # z-score statistics for the bundle: from the runs the weights were fitted on (given weights: the eval
    # split's runs, which `apply_weights` normalised with their own statistics above)
    stats_runs = runs[cfg.eval_split] if fixed is not None else runs.get(fit_split or "", {})
    save_bundle(pipeline_bundle(cfg, kb.path, index_dirs, grid, stats_runs), out)
    result["systems"] = systems
    result["weights"] = grid
    result["kb"] = kb
    result["runs"] = runs
    return result


def remove_stale_outputs(out: Path, started: float, log: Callable[[str], None]) -> list[Path]:
    """Remove the run files, fusion weights and predictions under `out` that this run (begun at `started`,
    `time.time()`) did not write: an earlier config's runs (a fused run after fusion was taken out, a renamed
    entry) lay beside a bundle that no longer used them, and read as this config's. Embeddings and indexes
    stay: they are caches, reused when a config needs them again. Returns the removed paths."""
    candidates = [*sorted((out / "runs").glob("*/*.json")), out / "fusion_weights.json",
                  *sorted((out / "predictions").glob("*.jsonl"))]
    stale = [p for p in candidates if p.is_file() and p.stat().st_mtime < started]
    for path in stale:
        path.unlink()
    for folder in {p.parent for p in stale}:
        if folder != out and not any(folder.iterdir()):  # a split no longer evaluated
            folder.rmdir()
    if stale:
        shown = ", ".join(str(p.relative_to(out)) for p in stale[:4]) + (", ..." if len(stale) > 4 else "")
        log(f"[run] removed {len(stale)} outputs of an earlier config: {shown}")
    return stale


def rerank_pipeline_run(cfg: PipelineConfig, runs: dict, questions: list, kb) -> Any:
    """The `rerank` step: the fused (or only) run of `runs` re-ranked, named `<base>+proximity`."""
    from kvqae.rerank.proximity import rerank_run

    base = fused_run_name(cfg)
    settings = cfg.rerank
    reranked = rerank_run(runs[base], {q.id: q.question for q in questions}, kb.passage_text,
                          weight=settings.weight, words=settings.words, top_n=settings.top_n,
                          lead=settings.lead, is_lead=lambda pid: kb.position_of(pid) == 0)
    reranked.name = base + settings.suffix()
    return reranked


def pipeline_bundle(
    cfg: PipelineConfig,
    kb_dir: Path,
    index_dirs: dict[str, Path],
    grid,
    fit_runs: dict,
    *,
    created_by: str = "kvqae run",
) -> Bundle:
    """The answering manifest of a pipeline run: KB, each retrieval entry's encoder and index, the fitted
    fusion (with each run's z-score statistics on the fit split) and the reader."""
    from kvqae.fusion.core import zscore_statistics

    names = run_names(cfg.retrieval)
    fusion = None
    if grid is not None:
        fusion = BundleFusion(
            method=grid.method,
            norm=grid.norm,
            default_minimum=grid.default_minimum,
            rrf_k=grid.rrf_k,
            weights=dict(zip(names, grid.weights, strict=True)),
            # the statistics the fit used: in the "raw" default-minimum mode they include the filled scores
            zscore_stats=dict(
                zip(names, zscore_statistics([fit_runs[n] for n in names], grid.default_minimum), strict=True)
            )
            if fit_runs
            else None,
            fit_split=grid.extra.get("fit_split"),
        )
    reader = None
    if cfg.reader is not None:
        is_path = Path(cfg.reader.model).exists()
        # the reader reads the fused (or only) run unless the config names another: `ask` must read that one
        other = cfg.reader.run if cfg.reader.run != fused_run_name(cfg) else None
        reader = BundleReader(model=cfg.reader.model, model_is_path=is_path,
                              top_k=min(cfg.reader.top_k, cfg.k), run=other)
    return Bundle(
        created_by=created_by,
        kb=str(kb_dir),
        k=cfg.k,
        retrieval=[
            BundleRetrieval(name=r.name or r.mode, mode=r.mode, encoder=r.encoder,
                            encoder_paths=spec_paths(r.encoder), index=str(index_dirs[r.name or r.mode]),
                            entity_context=r.entity_context)
            for r in cfg.retrieval
        ],
        fusion=fusion,
        rerank=cfg.rerank if reranked_run_name(cfg) is not None else None,
        reader=reader,
        examples=str(cfg.questions[cfg.eval_split]),
        eval_split=cfg.eval_split,
    )


def write_pipeline_report(
    result: PipelineResult, out_dir: Path, *, extra_metrics: tuple[str, ...] = (),
    metrics: tuple[str, ...] = ("mrr@100", "p@1"),
) -> dict:
    """Write report.json/.md/.tex (tables of `metrics`, then EM and F1) and the fusion heat map of a
    pipeline run."""
    from kvqae.evaluate.report import write_report

    metrics = (*metrics, "em", "f1", *extra_metrics)
    grid = result.get("weights")
    return write_report(
        out_dir,
        result["systems"],
        table_metrics=metrics,
        weight_grid=grid.to_dict() if grid is not None and grid.grid else None,  # given weights: no grid
    )


def run_command(
    config: Path = typer.Argument(
        ..., help="PIPELINE.yaml describing KB, questions, retrieval modes, fusion, reader."
    ),
    set_: list[str] = typer.Option([], "--set", help="Override a top-level key: --set k=50 (YAML value)."),
    force: bool = typer.Option(False, "--force", help="Recompute every stage even when its outputs exist."),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Write into an existing `output` folder that is not a pipeline output."
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars."),
) -> None:
    """Run the whole pipeline described by PIPELINE.yaml and write the report under its `output` folder."""
    from kvqae.errors import InputError

    data = load_pipeline_yaml(config)
    names: dict[str, str] = {}  # a bad --set value is blamed on the --set, not on PIPELINE.yaml
    for item in set_:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise typer.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--set")
        if "." in key and key.split(".")[0] in PipelineConfig.model_fields:
            top, rest = key.split(".", 1)
            raise typer.BadParameter(
                f"{key!r}: --set replaces a top-level key only; edit {config.name}, or give the whole "
                f"section (--set '{top}={{{rest}: {value}}}' replaces all of {top})", param_hint="--set")
        if key not in PipelineConfig.model_fields:
            raise typer.BadParameter(f"unknown key {key!r}; the top-level keys are "
                                     f"{', '.join(PipelineConfig.model_fields)}", param_hint="--set")
        data[key] = parse_yaml(value, field=f"--set {key}")
        names[key] = f"--set {key}"
    cfg = parse_config(PipelineConfig, data, path=config, names=names)
    cfg = resolve_paths(cfg, config.resolve().parent)
    try:  # run_pipeline checks again; here a config error can name the YAML (or the --set) it came from
        check_pipeline(cfg)
    except InputError as e:
        if e.path is not None or e.field is None:
            raise
        top = e.field.split(".")[0]
        raise InputError(e.reason, path=names.get(top, config), field=e.field) from None
    check_pipeline_output(cfg, {"PIPELINE.yaml": config}, overwrite=overwrite)
    result = run_pipeline(cfg, progress=progress, force=force, log=typer.echo)
    # the metrics written in the YAML are the table's columns (MRR@100 and P@1 when none are)
    shown = tuple(cfg.metrics) if "metrics" in cfg.model_fields_set else ("mrr@100", "p@1")
    paths = write_pipeline_report(result, Path(cfg.output) / "report", metrics=shown)
    typer.echo(Path(paths["markdown"]).read_text(encoding="utf-8"))
    typer.echo("timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in result["timings"].items()))
    typer.echo(f"report -> {Path(cfg.output) / 'report'}")


def register(app: typer.Typer) -> None:
    app.command("run")(run_command)
