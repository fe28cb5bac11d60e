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
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from kvqae.ask.bundle import Bundle, BundleFusion, BundleReader, BundleRetrieval, save_bundle, spec_paths
from kvqae.config import parse_config, parse_yaml
from kvqae.io import path_stamp, read_json, write_json
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
from kvqae.safety import PIPELINE_MARKER, is_output_of_kind

__all__ = [
    "PIPELINE_WRITES", "FusionSection", "KBSection", "PipelineConfig", "PipelineResult", "ReaderSection",
    "RetrievalSection", "check_pipeline", "check_pipeline_output", "config_notes", "file_name",
    "fixed_weights", "fused_run_name", "load_pipeline_config", "load_pipeline_yaml", "pipeline_bundle",
    "pipeline_inputs", "remove_stale_outputs", "reranked_run_name", "rerank_pipeline_run", "resolve_paths",
    "resolve_set_paths", "run_command", "run_names", "run_pipeline", "write_pipeline_report",
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


def _input_state(cfg: PipelineConfig) -> dict:
    """What the stage outputs depend on: the config and the size and time of every input file and of every
    file in an input folder (a KB, a model), so an edited input (or a model retrained at the same path) never
    reuses stale outputs. Image files a KB or a question file names are not recorded."""
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
        "inputs": {str(p): path_stamp(p) for p in paths},
    }


class PipelineResult(dict):
    """What a pipeline run produced: paths by kind, the evaluated systems and stage timings (seconds)."""


@dataclass
class _Stages:
    """What the stages of one `run_pipeline` call share: the config, the output folder, the questions of the
    splits it needs, the KB once built, the runs made so far and the per-stage timings."""

    cfg: PipelineConfig
    out: Path
    questions: dict[str, list]
    force: bool
    progress: bool
    log: Callable[[str], None]
    timings: dict[str, float] = field(default_factory=dict)
    kb: Any = None
    runs: dict[str, dict[str, Run]] = field(default_factory=dict)
    index_dirs: dict[str, Path] = field(default_factory=dict)
    made: set[Path] = field(default_factory=set)  # outputs this call produced: `force` redoes each once
    encoders: dict[str, Any] = field(default_factory=dict)  # one loaded model per spec
    passage_table: Any = None

    @property
    def wanted(self) -> list[str]:
        return list(self.questions)

    def needs(self, path: Path) -> bool:
        """Whether the stage output at `path` is to be (re)computed: missing, or `force` and not yet made."""
        todo = path not in self.made and (self.force or not (path / "meta.json").exists())
        self.made.add(path)
        return todo

    def encoder(self, spec: str) -> Any:
        if spec not in self.encoders:
            from kvqae.encode.registry import load_encoder

            self.encoders[spec] = load_encoder(spec, device=self.cfg.device)
        return self.encoders[spec]

    def table(self) -> Any:
        """The KB's passage table, built once and shared by every entity-level mode and entity context."""
        if self.passage_table is None:
            from kvqae.search.passages import PassageTable

            self.passage_table = PassageTable.from_kb(self.kb)
        return self.passage_table

    def keep(self, split: str, run: Run) -> None:
        """Save `run` as `runs/<split>/<name>.json` and keep it for the later stages."""
        _save_run(run, self.out / "runs" / split / f"{run.name}.json")
        self.runs.setdefault(split, {})[run.name] = run


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
    from kvqae.data.questions import load_questions
    from kvqae.errors import InputError
    from kvqae.evaluate.predictions import unanswerable_note
    from kvqae.search.modes import get_mode

    check_pipeline(cfg)
    fixed = fixed_weights(cfg)
    fusing = cfg.fusion is not None and len(run_names(cfg.retrieval)) > 1
    fit_split = cfg.fit_split if fusing and fixed is None else None  # `check_pipeline` checked both splits
    wanted = [s for s in dict.fromkeys([cfg.eval_split, fit_split]) if s is not None]
    # the question files first, before the output folder is made: one of another kind (a run, articles) is
    # refused, and with an image mode every photo they name is found (a missing one failed at its encoding,
    # after the KB was built and other splits encoded, naming neither the file nor the line)
    photos = any(get_mode(r.mode).query_kind == "image" for r in cfg.retrieval if r.encoder != "bm25")
    questions = {s: load_questions(cfg.questions[s], check_images=photos) for s in wanted}
    # outputs older than this were written for another config (`remove_stale_outputs`); 2 s early, since
    # file systems stamp files with a coarser clock (some to the second): no file of this run is older
    started = time.time() - 2.0
    out = Path(cfg.output)
    earlier = earlier_outputs(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        _write_marker(out, earlier)
    except OSError as e:  # /proc, /sys, a name the file system refuses: one line, not a traceback
        raise InputError(f"cannot create the output folder ({e.strerror})", path=out,
                         field="output") from None

    # Stage outputs are reused only while the inputs they came from are unchanged. The state is written
    # before any stage runs: a run that fails or is interrupted half-way leaves the state its outputs were
    # made for (written at the end, a failed run's KB was reused by the next run with other inputs, or by
    # a rerun of the config before it). A folder with outputs but no state is recomputed.
    state = _input_state(cfg)
    state_path = out / "inputs.json"
    if not force:
        known = read_json(state_path) if state_path.exists() else None
        if known is not None and known != state:
            log("[run] inputs changed since the last run: recomputing every stage")
        elif known is None and (out / "kb" / "meta.json").exists():
            log("[run] no record of the inputs the outputs here were made from: recomputing every stage")
        force = known != state
    write_json(state_path, state)

    for note in config_notes(cfg, wanted):
        log(note)
    same_file = fit_split is not None and Path(cfg.questions[fit_split]).resolve() == Path(
        cfg.questions[cfg.eval_split]).resolve()
    if not same_file and (note := shared_ids_note(questions, fit_split, cfg.eval_split)):
        log(note)
    for split, qs in questions.items():
        if note := unanswerable_note(qs, split):
            log(f"[questions] {note}")
    st = _Stages(cfg, out, questions, force, progress, log, runs={s: {} for s in wanted})

    _knowledge_base(st)  # 1
    _retrieve(st)  # 2-4: encode, index, search; entity contexts
    grid = _fuse(st, fixed, fit_split)  # 5
    if cfg.rerank is not None:  # 5b. term-proximity re-ranking of the run answers come from
        t0 = time.perf_counter()
        st.keep(cfg.eval_split, rerank_pipeline_run(cfg, st.runs[cfg.eval_split], questions[cfg.eval_split],
                                                    st.kb))
        st.timings["rerank"] = time.perf_counter() - t0
    result = PipelineResult(output=out, timings=st.timings)
    systems, qrels = _evaluate(st)  # 6
    if cfg.reader is not None:  # 7
        _read(st, systems, qrels, result)

    remove_stale_outputs(out, started, log, earlier=earlier)
    written = {p.relative_to(out).as_posix() for p in _output_files(out) if p.stat().st_mtime >= started}
    _write_marker(out, written)
    # z-score statistics for the bundle: from the runs the weights were fitted on (given weights: the eval
    # split's runs, which `apply_weights` normalised with their own statistics above)
    stats_runs = st.runs[cfg.eval_split] if fixed is not None else st.runs.get(fit_split or "", {})
    save_bundle(pipeline_bundle(cfg, st.kb.path, st.index_dirs, grid, stats_runs), out)
    result["systems"] = systems
    result["weights"] = grid
    result["kb"] = st.kb
    result["runs"] = st.runs
    return result


def _knowledge_base(st: _Stages) -> None:
    """1. The KB: the built one `kb.source` names, or one built from its articles into `out/kb`."""
    from kvqae.data.kb import KnowledgeBase, build_kb, typed_entities, untyped_note

    t0 = time.perf_counter()
    cfg, source = st.cfg, Path(st.cfg.kb.source)
    if (source / "entities.parquet").exists():
        st.kb = KnowledgeBase.load(source)
    else:
        kb_dir = st.out / "kb"
        if st.force or not (kb_dir / "entities.parquet").exists():
            st.log(f"[kb] building {kb_dir} from {source}")
            build_kb(source, kb_dir, fmt=cfg.kb.format, words=cfg.kb.words,
                     sentence_aligned=cfg.kb.sentence_aligned, types_from=cfg.kb.types_from,
                     progress=st.progress)
        st.kb = KnowledgeBase.load(kb_dir)
        if cfg.kb.types_from is not None and not typed_entities(st.kb):  # as `kb build` notes it
            st.log(f"[kb] {untyped_note('kb.types_from', cfg.kb.types_from)}")
    st.timings["kb"] = time.perf_counter() - t0


def _retrieve(st: _Stages) -> None:
    """2-4. Each retrieval entry's passage-level run of every split (BM25, or encode + index + search), then
    the entity contexts of the entries that ask for them (derived runs, fused like the others)."""
    from kvqae.index.bm25_index import BM25_SPEC
    from kvqae.search.passages import entity_context_run

    for section in st.cfg.retrieval:
        t0 = time.perf_counter()
        name = section.name or section.mode
        if section.encoder == BM25_SPEC:
            _bm25_runs(st, name)
        else:
            _dense_runs(st, section, name)
        st.timings[f"retrieval:{name}"] = time.perf_counter() - t0
    for section in st.cfg.retrieval:
        if section.entity_context:
            for split in st.wanted:
                run = st.runs[split][section.name or section.mode]
                st.keep(split, entity_context_run(run, None, st.table(), st.cfg.k))


def _bm25_runs(st: _Stages, name: str) -> None:
    """A lexical entry: the KB's BM25 index (built once), searched with the question texts."""
    from kvqae.index.bm25_index import Bm25Index

    index_dir = st.out / "indexes" / "passage-bm25"
    if st.needs(index_dir):
        st.log(f"[index] {index_dir.name} (BM25)")
        Bm25Index.build(st.kb, index_dir)
    st.index_dirs[name] = index_dir
    lexical = Bm25Index.load(index_dir)
    for split in st.wanted:
        qs = st.questions[split]
        st.keep(split, lexical.search_run([q.id for q in qs], [q.question for q in qs], st.cfg.k, name=name))


def _dense_runs(st: _Stages, section: Any, name: str) -> None:
    """A dense entry: the KB field encoded and indexed (each cached under `out`), the questions encoded and
    searched; an entity-level mode's runs mapped to the entities' passages."""
    from kvqae.encode.store import encode_kb, encode_questions
    from kvqae.index.faiss_index import VectorIndex
    from kvqae.search.modes import get_mode, search_embeddings
    from kvqae.search.passages import entity_run_to_passages

    cfg, mode, enc = st.cfg, get_mode(section.mode), _slug(section.encoder)
    kb_emb = st.out / "embeddings" / f"kb-{mode.kb_field}-{enc}"
    index_dir = st.out / "indexes" / f"{mode.kb_field}-{enc}-{_slug(section.factory)}"
    if st.needs(kb_emb):
        st.log(f"[encode] KB {mode.kb_field} with {section.encoder}")
        encode_kb(st.kb, st.encoder(section.encoder), mode.kb_field, kb_emb, device=cfg.device,
                  batch_size=cfg.batch_size, progress=st.progress)
    if st.needs(index_dir):
        st.log(f"[index] {index_dir.name} ({section.factory})")
        VectorIndex.build(kb_emb, index_dir, section.factory)
    index = VectorIndex.load(index_dir)
    st.index_dirs[name] = index_dir
    q_field = "image" if mode.query_kind == "image" else "question"
    for split in st.wanted:
        q_emb = st.out / "embeddings" / f"{split}-{q_field}-{enc}"
        if st.needs(q_emb):
            st.log(f"[encode] {split} questions ({q_field}) with {section.encoder}")
            encode_questions(st.questions[split], st.encoder(section.encoder), q_field, q_emb,
                             device=cfg.device, batch_size=cfg.batch_size, progress=st.progress)
        run = search_embeddings(q_emb, index, mode.name, cfg.k, name=name, progress=st.progress,
                                nprobe=section.nprobe, ef_search=section.ef_search,
                                refine_factor=section.refine_factor)
        if run.level == "entity":
            run = entity_run_to_passages(run, st.table(), cfg.k, name=name)
        st.keep(split, run)


def _fuse(st: _Stages, fixed: Any, fit_split: str | None) -> Any:
    """5. Fusion weights read from `fusion.weights` or fitted on `fit_split`, applied to the evaluated
    split's runs (the fused run "fusion"); returns the weight grid (None when nothing is fused)."""
    from kvqae.fusion.search import apply_weights

    cfg, names = st.cfg, run_names(st.cfg.retrieval)
    if fixed is None and fit_split is None:
        return None
    t0 = time.perf_counter()
    if fixed is not None:
        from kvqae.fusion.search import weights_for_runs

        grid = weights_for_runs(fixed, names)
        how = f"from {fixed}, {grid.method}, norm {grid.norm}, default-minimum {grid.default_minimum}"
    else:
        from kvqae.evaluate.relevance import qrels_for_kb
        from kvqae.fusion.search import grid_search

        fit_runs = [st.runs[fit_split][n] for n in names]
        fit_qrels = qrels_for_kb(fit_runs, st.questions[fit_split], st.kb,
                                 passage_requires_entity=cfg.passage_requires_entity)
        grid = grid_search(fit_runs, fit_qrels, method=cfg.fusion.method, norm=cfg.fusion.norm,
                           metric=cfg.fusion.metric, step=cfg.fusion.step,
                           default_minimum=cfg.fusion.default_minimum,
                           query_ids=[q.id for q in st.questions[fit_split]])
        grid.extra = {"fit_split": fit_split}
        how = f"{cfg.fusion.metric} {grid.best_score:.3f} on {fit_split}"
    grid.save(st.out / "fusion_weights.json")
    st.log("[fusion] weights " + ", ".join(f"{n}={w:g}" for n, w in zip(names, grid.weights, strict=True))
           + f" ({how})")
    st.keep(cfg.eval_split, apply_weights(grid.to_dict(), [st.runs[cfg.eval_split][n] for n in names],
                                          k=cfg.k, name="fusion"))
    st.timings["fusion"] = time.perf_counter() - t0
    return grid


def _evaluate(st: _Stages) -> tuple[list, Any]:
    """6. Every run of the evaluated split against qrels judged over all of them (merged, as the seeds do);
    returns the systems and the qrels (saved as `report/qrels.json`)."""
    from kvqae.evaluate.metrics import evaluate_run
    from kvqae.evaluate.predictions import unknown_entity_note
    from kvqae.evaluate.relevance import qrels_for_kb, save_qrels
    from kvqae.evaluate.report import SystemScores

    t0 = time.perf_counter()
    cfg, eval_qs, eval_runs = st.cfg, st.questions[st.cfg.eval_split], st.runs[st.cfg.eval_split]
    if note := unknown_entity_note(eval_qs, st.kb.resolve, list(eval_runs.values()),
                                   cfg.passage_requires_entity, cfg.questions[cfg.eval_split]):
        st.log(f"[evaluate] note: {note}")  # those questions were judged otherwise without a word
    qrels = qrels_for_kb(list(eval_runs.values()), eval_qs, st.kb,
                         passage_requires_entity=cfg.passage_requires_entity)
    save_qrels(st.out / "report" / "qrels.json", qrels)
    systems = []
    for name, run in eval_runs.items():
        mean, per = evaluate_run(run, qrels, cfg.metrics, query_ids=[q.id for q in eval_qs], source=name)
        systems.append(SystemScores(name, cfg.dataset, mean, per))
    st.timings["evaluate"] = time.perf_counter() - t0
    return systems, qrels


def _read(st: _Stages, systems: list, qrels: Any, result: PipelineResult) -> None:
    """7. The reader over its run (the re-ranked one when there is one): predictions, EM / F1 on that run's
    row, and the read passages in the reader's order as a row of their own."""
    from kvqae.data.runs import Run
    from kvqae.errors import InputError
    from kvqae.evaluate.metrics import evaluate_run
    from kvqae.evaluate.predictions import load_predictions, score_answers
    from kvqae.evaluate.report import SystemScores
    from kvqae.read.predict import read_questions

    t0 = time.perf_counter()
    cfg, eval_qs, eval_runs = st.cfg, st.questions[st.cfg.eval_split], st.runs[st.cfg.eval_split]
    read_run = cfg.reader.run
    if read_run == fused_run_name(cfg) and reranked_run_name(cfg) in eval_runs:
        read_run = reranked_run_name(cfg)  # with `rerank`, the reader reads the re-ranked passages
    if read_run not in eval_runs:
        raise InputError(f"reader.run {cfg.reader.run!r} is not one of the runs {sorted(eval_runs)}",
                         field="reader.run")
    pred_path = st.out / "predictions" / f"{cfg.eval_split}.jsonl"
    ranked_path = st.out / "runs" / cfg.eval_split / f"{read_run}+reader.json"
    read_questions(cfg.reader.model, st.kb, eval_qs, eval_runs[read_run], pred_path, top_k=cfg.reader.top_k,
                   device=cfg.device, progress=st.progress, ranked_out=ranked_path)
    # the read passages as the reader orders them (kvqae.rerank.reader): its own line of the report
    reader_ranked = Run.load(ranked_path)
    rmean, rper = evaluate_run(reader_ranked, qrels, cfg.metrics, query_ids=[q.id for q in eval_qs],
                               source=reader_ranked.name)
    systems.append(SystemScores(reader_ranked.name, cfg.dataset, rmean, rper))
    result["reader_ranked"] = ranked_path
    mean, per = score_answers(load_predictions(pred_path), eval_qs)
    for system in systems:
        if system.name in (read_run, reader_ranked.name):
            system.mean.update(mean)
            system.per_query.update(per)
    result["predictions"] = pred_path
    st.timings["read"] = time.perf_counter() - t0


def shared_ids_note(questions: dict[str, list], fit_split: str | None, eval_split: str) -> str | None:
    """A warning when the fit split's questions include some of the evaluated split's (by id): fusion weights
    fitted on them overstate the evaluation. (One file given for both is warned about from the config.)"""
    if fit_split is None or fit_split == eval_split or fit_split not in questions:
        return None
    evaluated = {q.id for q in questions[eval_split]}
    shared = [q.id for q in questions[fit_split] if q.id in evaluated]
    if not shared:
        return None
    from kvqae.evaluate.predictions import first_ids

    return (f"[questions] warning: {len(shared)} of the {len(evaluated)} {eval_split} questions are also in "
            f"{fit_split} ({first_ids(shared)}): fusion weights fitted on them are evaluated on them")


def _output_files(out: Path) -> list[Path]:
    """The run files, fusion weights and predictions under `out` (what an earlier config may leave)."""
    candidates = [*sorted((out / "runs").glob("*/*.json")), out / "fusion_weights.json",
                  *sorted((out / "predictions").glob("*.jsonl"))]
    return [p for p in candidates if p.is_file()]


def earlier_outputs(out: Path) -> set[str] | None:
    """The outputs (paths relative to `out`) an earlier run wrote into `out`, from its marker: an empty set
    for a folder no run wrote (a folder given with --overwrite holds the user's own files), None (all of
    them) for a folder of a run from before the marker listed them."""
    from kvqae.errors import InputError

    if not is_output_of_kind(out, "pipeline"):
        return set()
    try:
        listed = read_json(out / PIPELINE_MARKER).get("outputs")
    except (InputError, AttributeError):  # no marker, an old plain-text one, or not an object
        return None
    return {str(p) for p in listed} if isinstance(listed, list) else None


def _write_marker(out: Path, outputs: set[str] | None) -> None:
    """Mark `out` as a `kvqae run` output folder, with the outputs a run wrote (None: not known)."""
    write_json(out / PIPELINE_MARKER, {"format": "kvqae-pipeline-output",
                                       "outputs": None if outputs is None else sorted(outputs)})


def remove_stale_outputs(
    out: Path, started: float, log: Callable[[str], None], *, earlier: set[str] | None = None
) -> list[Path]:
    """Remove the run files, fusion weights and predictions under `out` that this run (begun at `started`,
    `time.time()`) did not write and an earlier run did (`earlier`, paths relative to `out`; None: every
    older one): an earlier config's runs (a fused run after fusion was taken out, a renamed entry) lay beside
    a bundle that no longer used them, and read as this config's. Files no run wrote stay, and so do
    embeddings and indexes: they are caches, reused when a config needs them again. Returns the removed
    paths."""
    stale = [p for p in _output_files(out) if p.stat().st_mtime < started
             and (earlier is None or p.relative_to(out).as_posix() in earlier)]
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
                          lead=settings.lead, is_lead=lambda pid: kb.position_of(pid) == 0,
                          agreement=settings.agreement, article_of=kb.entity_of)
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


def resolve_set_paths(cfg: PipelineConfig, yaml_dir: Path, given: set[str], cwd: Path) -> PipelineConfig:
    """`cfg` with its relative paths resolved: those of the YAML file against its folder `yaml_dir`, those of
    the top-level keys `given` on the command line (`--set output=runs/x`) against the current folder `cwd`,
    as any path typed in a shell is (they landed beside the YAML file, far from where the user stood)."""
    from_yaml = resolve_paths(cfg, yaml_dir)
    if not given:
        return from_yaml
    typed = resolve_paths(cfg, cwd)
    return from_yaml.model_copy(update={key: getattr(typed, key) for key in given})


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
        if key in names:  # `--set k=5 --set k=7` kept the last without a word
            raise typer.BadParameter(f"{key!r} is set twice; give each key once", param_hint="--set")
        data[key] = parse_yaml(value, field=f"--set {key}")
        names[key] = f"--set {key}"
    cfg = resolve_set_paths(parse_config(PipelineConfig, data, path=config, names=names),
                            config.resolve().parent, set(names), Path.cwd())
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
