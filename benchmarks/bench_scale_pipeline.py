"""ViQuAE-scale steps after search: KB table loading, `--to-passages`, `fuse apply`, `evaluate retrieval`.

Writes a synthetic KB in build_kb's layout (entities.parquet + passages.parquet + meta.json, every column the
KB loader requires, texts short) of `--entities` entities (default 1.5M, ViQuAE's KB) and `--passages`
passages (default 11.9M): passage counts per entity are skewed (log-normal, mean passages/entities; 2% of the
entities forced to none, small draws round down to none too: ~5% without any passage), ids `Entity_0000123`
/ `Entity_0000123#j`, passage texts `"{title}. w{n}"`.
Then random inputs: an entity run (`--queries` x top `--top` entities, uniform over the KB), a passage run
("text-passage": `--top` passages per query, half from the query's entities), questions whose answer is
some `w{n}` (n < 500, so about 1 in 500 passages answers a question) and a weights file (wsum 0.5 / 0.5).

Each step runs in its own subprocess, which reports its wall and CPU time and its peak RSS (VmHWM of
/proc/self/status: the whole process, interpreter and imports included; the `idle` row is that floor):
- load:     new `PassageTable.load(kb)` (id columns only) | old `PassageTable.from_kb(KnowledgeBase.load(kb))`
            (the object-array table before this change, copied below);
- map:      new `kvqae.search.cli.map_to_passages` (what `kvqae search --to-passages` calls, table load
            included) | old `entity_run_to_passages(run, KnowledgeBase.load(kb))` (the command's code before);
- fuse:     `kvqae fuse apply` (its command function, run files in and out): unchanged by this work, run once;
- evaluate: `kvqae evaluate retrieval --kb` (the command, through typer's CliRunner in the step's process) on
            the fused and the text-passage runs | the same with the KB loaded whole (`KnowledgeBase.load`, as
            before) instead of `kb_for_runs`.
Old and new outputs are compared (run and qrels digests) and must be identical. A step that fails is shown
in the table as its error and makes the script exit with code 1.

Usage: .venv/bin/python benchmarks/bench_scale_pipeline.py [--entities 1500000] [--passages 11900000]
       [--queries 1000] [--top 100] [--work DIR] [--keep] [--no-old] [--steps idle,load,map,fuse,evaluate]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

STEPS = ("idle", "load", "map", "fuse", "evaluate")
_ENTITY_BATCH = 5_000  # entities per parquet row group, as build_kb writes them


# ------------------------------------------------------------------------------------------ synthetic data


def passage_counts(n_entities: int, n_passages: int, rng: np.random.Generator) -> np.ndarray:
    """Skewed passages-per-entity counts summing exactly to `n_passages` (log-normal, sigma 1; 2% zeros)."""
    raw = rng.lognormal(mean=0.0, sigma=1.0, size=n_entities)
    raw[rng.random(n_entities) < 0.02] = 0.0
    counts = np.floor(raw * (n_passages / raw.sum())).astype(np.int64)
    short = n_passages - int(counts.sum())  # floor lost less than one passage per entity
    nonzero = np.flatnonzero(raw > 0)
    counts[rng.choice(nonzero, size=short, replace=short > len(nonzero))] += 1
    if short > len(nonzero):  # only for tiny KBs: fix the total exactly
        counts[nonzero[0]] += n_passages - int(counts.sum())
    return counts


def write_kb(folder: Path, counts: np.ndarray, rng: np.random.Generator) -> None:
    """entities.parquet / passages.parquet / meta.json in build_kb's schema, written batch by batch."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from kvqae.data.kb import META_FILE, _schemas

    entity_schema, passage_schema = _schemas()
    folder.mkdir(parents=True)
    starts = np.cumsum(counts) - counts

    def strings(values: np.ndarray, prefix: str, width: int = 7):
        digits = pc.utf8_lpad(pc.cast(pa.array(values), pa.string()), width=width, padding="0")
        return pc.binary_join_element_wise(prefix, digits, "")

    with (pq.ParquetWriter(folder / "entities.parquet", entity_schema) as ents,
          pq.ParquetWriter(folder / "passages.parquet", passage_schema) as pas):
        for lo in range(0, len(counts), _ENTITY_BATCH):
            rows = np.arange(lo, min(lo + _ENTITY_BATCH, len(counts)))
            eid, title = strings(rows, "Entity_"), strings(rows, "Entity ")
            n = len(rows)
            ents.write_table(pa.table({
                "entity_id": eid, "title": title,
                "text": pc.binary_join_element_wise(title, " is a thing.", ""),
                "image": pa.nulls(n, pa.string()), "types": pa.array([[]] * n, pa.list_(pa.string())),
                "wikidata_id": pc.binary_join_element_wise("Q", pc.cast(pa.array(rows + 1), pa.string()), ""),
            }, schema=entity_schema))
            c = counts[rows]
            owner = np.repeat(np.arange(n), c)
            position = np.arange(len(owner)) - np.repeat(starts[rows] - starts[lo], c)
            p_eid, p_title = eid.take(pa.array(owner)), title.take(pa.array(owner))
            words = pc.cast(pa.array(rng.integers(0, 500, size=len(owner))), pa.string())
            pas.write_table(pa.table({
                "passage_id": pc.binary_join_element_wise(p_eid, pc.cast(pa.array(position), pa.string()),
                                                          "#"),
                "entity_id": p_eid, "position": pa.array(position, pa.int64()), "title": p_title,
                "text": pc.binary_join_element_wise(p_title, ". w", words, ""),
            }, schema=passage_schema))
    meta = {"kind": "kvqae-kb", "source": "synthetic (bench_scale_pipeline.py)", "source_format": "synthetic",
            "entities": int(len(counts)), "passages": int(counts.sum())}
    (folder / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")


def write_inputs(work: Path, counts: np.ndarray, n_queries: int, top: int, rng: np.random.Generator) -> None:
    """entity run, text-passage run, questions and weights file for the steps."""
    from kvqae.data.runs import Run
    from kvqae.fusion.search import GridSearchResult

    n_entities = len(counts)
    with_passages = np.flatnonzero(counts > 0)
    entity_run: dict[str, dict[str, float]] = {}
    passage_run: dict[str, dict[str, float]] = {}
    questions = []
    for i in range(n_queries):
        qid = f"q{i:04d}"
        ents = rng.choice(n_entities, size=top, replace=False)
        scores = np.sort(rng.random(top))[::-1]
        entity_run[qid] = {f"Entity_{e:07d}": float(s) for e, s in zip(ents.tolist(), scores.tolist(),
                                                                      strict=True)}
        own = ents[counts[ents] > 0][: top // 2]  # half the text run from the query's own entities
        picks = np.concatenate([own, rng.choice(with_passages, size=top - len(own))])
        docs = {f"Entity_{e:07d}#{rng.integers(counts[e])}": 0.0 for e in picks.tolist()}
        passage_run[qid] = dict(zip(docs, np.sort(rng.normal(size=len(docs)))[::-1].tolist(), strict=True))
        questions.append({"id": qid, "question": "What?", "answers": [f"w{rng.integers(500)}"],
                          "entity": f"Q{int(ents[0]) + 1}"})
    Run(entity_run, "image-title", "entity").save(work / "entity_run.json")
    Run(passage_run, "text-passage", "passage").save(work / "text_passage.json")
    (work / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions))
    GridSearchResult(weights=[0.5, 0.5], best_score=0.0, metric="mrr@100", method="wsum", norm="zscore",
                     default_minimum="raw", rrf_k=60.0, step=0.5, sum_to_one=True,
                     run_names=["image-title", "text-passage"], grid=[[0.5, 0.5]], scores=[0.0],
                     n_queries=n_queries, seconds=0.0).save(work / "weights.json")


# -------------------------------------------------------------------------------- the old implementation


def old_table_from_kb(kb):
    """`PassageTable.from_kb` before this change: object arrays of every entity id and passage id."""
    import pandas as pd

    entity_ids = kb.entities["entity_id"].to_numpy(dtype=object)
    passages = kb.passages
    index = pd.Index(entity_ids, dtype=object)
    rows = index.get_indexer(passages["entity_id"].to_numpy(dtype=object))
    order = np.lexsort((passages["position"].to_numpy(), rows))
    count = np.bincount(rows, minlength=len(entity_ids))
    return index, np.cumsum(count) - count, count, passages["passage_id"].to_numpy(dtype=object)[order]


# ------------------------------------------------------------------------------------------------- steps


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=False).encode()).hexdigest()[:16]


def run_step(step: str, side: str, work: Path) -> dict:
    """One step in this (fresh) process; returns what it measured plus a digest of its output."""
    import pandas  # noqa: F401  (imported before the clock, like the CLI does at startup)
    import pyarrow  # noqa: F401

    from kvqae.data.kb import KnowledgeBase
    from kvqae.data.runs import Run

    kb = work / "kb"
    info: dict = {}
    before = _status_kb("VmRSS")
    t0, c0 = time.perf_counter(), _cpu()
    if step == "load":
        if side == "new":
            from kvqae.search.passages import PassageTable

            info["table"] = repr(PassageTable.load(kb))
        else:
            info["passages"] = len(old_table_from_kb(KnowledgeBase.load(kb))[3])
    elif step == "map":
        run = Run.load(work / "entity_run.json")
        t0, c0 = time.perf_counter(), _cpu()  # run file reading is the same on both sides
        if side == "new":
            from kvqae.search.cli import map_to_passages

            out = map_to_passages(run, kb)
        else:
            from kvqae.search.passages import entity_run_to_passages

            out = entity_run_to_passages(run, KnowledgeBase.load(kb))
        seconds, cpu = time.perf_counter() - t0, _cpu() - c0
        out.save(work / f"mapped_{side}.json")
        info.update(digest=_digest(out.scores), hits=sum(map(len, out.scores.values())))
        return {**info, "seconds": seconds, "cpu": cpu, "rss_before_mb": before / 1024,
                "peak_mb": _status_kb("VmHWM") / 1024}
    elif step == "fuse":
        from kvqae.fusion.cli import fuse_apply

        fuse_apply(weights=work / "weights.json", run=[work / "mapped_new.json", work / "text_passage.json"],
                   out=work / "fused.json", k=None, name="fused", overwrite=True)
    elif step == "evaluate":
        _evaluate(side, work)
        info["digest"] = _digest(json.loads((work / f"report_{side}" / "qrels.json").read_text()))
        report = json.loads((work / f"report_{side}" / "report.json").read_text())
        info["mean"] = {s["name"]: s["mean"] for s in report["systems"]}
    return {**info, "seconds": time.perf_counter() - t0, "cpu": _cpu() - c0, "rss_before_mb": before / 1024,
            "peak_mb": _status_kb("VmHWM") / 1024}


def _evaluate(side: str, work: Path) -> None:
    """`kvqae evaluate retrieval` on the fused and text runs, in this process (CliRunner), so that the old
    side's stand-in for `kb_for_runs` applies; a non-zero exit raises (the step then fails)."""
    from typer.testing import CliRunner

    from kvqae.cli import app

    if side == "old":  # the command as it was: the whole KB loaded to judge relevance
        import kvqae.data.kb_subset as subset
        from kvqae.data.kb import KnowledgeBase

        subset.kb_for_runs = lambda path, runs, questions, **_: KnowledgeBase.load(path)
    # the command, not its function: called directly, a Typer command lacks its context (`ctx`) and the
    # defaults its options declare
    args = ["evaluate", "retrieval", "--run", str(work / "fused.json"), "--run",
            str(work / "text_passage.json"), "--questions", str(work / "questions.jsonl"),
            "--kb", str(work / "kb"), "--out", str(work / f"report_{side}"),
            "--metric", "mrr@100", "--metric", "p@1", "--test", "none", "--overwrite"]
    result = CliRunner().invoke(app, args)
    if result.exit_code != 0:
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        tail = result.output.strip()[-300:]
        raise RuntimeError(f"kvqae evaluate retrieval exited {result.exit_code}: {tail}")


def _status_kb(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child(step: str, side: str, work: Path, timeout: float) -> dict:
    """Run one step in a fresh interpreter; its last stdout line is the JSON result."""
    cmd = [sys.executable, __file__, "--step", step, "--side", side, "--work", str(work)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"over {timeout:.0f}s"}
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["?"]
        return {"error": f"exit {proc.returncode}: {tail[0][:120]}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -------------------------------------------------------------------------------------------------- main


def _cell(r: dict | None, key: str, fmt: str) -> str:
    if r is None:
        return "-"
    if "error" in r:
        return r["error"]
    return format(r[key], fmt)


def main(argv: list[str] | None = None) -> None:
    """Run the steps (each in a child process) and print the table; exit 1 when a step failed."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entities", type=int, default=1_500_000)
    ap.add_argument("--passages", type=int, default=11_900_000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--top", type=int, default=100, help="entities per query in the entity run")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", type=Path, help="folder for the KB and runs (default: a temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep --work (reused by a later call with it)")
    ap.add_argument("--no-old", action="store_true", help="skip the old implementation")
    ap.add_argument("--steps", default=",".join(STEPS), help="comma-separated steps to run (fuse needs map's "
                    "output, evaluate fuse's: run them once with --keep first)")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per step")
    ap.add_argument("--step", choices=STEPS[1:], help=argparse.SUPPRESS)
    ap.add_argument("--side", choices=("new", "old"), default="new", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.step:
        print(json.dumps(run_step(args.step, args.side, args.work)))
        return

    work = args.work or Path(tempfile.mkdtemp(prefix="kvqae-scale-"))
    results: dict = {}
    try:
        prepare(work, args)
        for step in [s for s in STEPS if s in args.steps.split(",")]:
            sides = ("new",) if step in ("idle", "fuse") or args.no_old else ("new", "old")
            for side in sides:
                r = child(step, side, work, args.timeout) if step != "idle" else idle(work)
                results[step, side] = r
                print(f"  {step:<9}{side:<4} {json.dumps(r)}", flush=True)
        report(results, args)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    failed = [f"{step} ({side}): {r['error']}" for (step, side), r in results.items() if "error" in r]
    if failed:  # a table of errors is not a measurement: say so to whatever ran the script
        print("failed steps: " + "; ".join(failed), file=sys.stderr)
        raise SystemExit(1)


def idle(work: Path) -> dict:
    """Peak RSS of a child that only imports what the steps import (the floor of every other row)."""
    code = ("import pandas, pyarrow, numpy; import kvqae.data.kb, kvqae.data.runs, kvqae.search.passages; "
            "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return {"seconds": 0.0, "cpu": 0.0, "rss_before_mb": 0.0, "peak_mb": int(out.stdout.split()[-1]) / 1024}


def prepare(work: Path, args) -> None:
    """Write the KB and the inputs unless `work` already holds them (same sizes)."""
    stamp = work / "inputs.json"
    wanted = {k: getattr(args, k) for k in ("entities", "passages", "queries", "top", "seed")}
    if stamp.is_file() and json.loads(stamp.read_text()) == wanted:
        print(f"reusing {work}")
        return
    shutil.rmtree(work / "kb", ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    counts = passage_counts(args.entities, args.passages, rng)
    write_kb(work / "kb", counts, rng)
    write_inputs(work, counts, args.queries, args.top, rng)
    size = sum(f.stat().st_size for f in (work / "kb").iterdir()) / 2**20
    print(f"wrote {args.entities:,} entities / {int(counts.sum()):,} passages "
          f"(max {counts.max()} per entity, "
          f"{int((counts == 0).sum()):,} without) in {time.perf_counter() - t0:.0f}s; KB {size:.0f} MiB; "
          f"{args.queries} queries x top {args.top} entities -> {work}", flush=True)
    stamp.write_text(json.dumps(wanted))


def report(results: dict, args) -> None:
    print(f"\n{args.entities:,} entities / {args.passages:,} passages, {args.queries} queries x top "
          f"{args.top}; {os.cpu_count()} CPUs")
    print("| step | new time (s) | new CPU (s) | new peak RSS (MiB) | old time (s) | old CPU (s) "
          "| old peak RSS (MiB) | same output |")
    print("|---|---|---|---|---|---|---|---|")
    for step in STEPS:
        new, old = results.get((step, "new")), results.get((step, "old"))
        same = "-"
        if new and old and "digest" in new and "digest" in old:
            same = "yes" if new["digest"] == old["digest"] else "**NO**"
        print(f"| {step} | {_cell(new, 'seconds', '.1f')} | {_cell(new, 'cpu', '.1f')} | "
              f"{_cell(new, 'peak_mb', ',.0f')} | {_cell(old, 'seconds', '.1f')} | "
              f"{_cell(old, 'cpu', '.1f')} | "
              f"{_cell(old, 'peak_mb', ',.0f')} | {same} |")


if __name__ == "__main__":
    main()
