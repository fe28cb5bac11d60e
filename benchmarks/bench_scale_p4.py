"""Benchmark P4: ViQuAE-scale passage retrieval (11.9M x 768 vectors) on one machine.

Steps, each in its own process so that peak memory (VmHWM) is measured separately:
1. write:  N x 768 float32 vectors from `scale_vectors.Generator` (clusters of low intrinsic dimension
           fitted to real all-MiniLM-L6-v2 similarities) as an embeddings directory (vectors.npy, ids.json,
           meta.json),
           and 1,000 query vectors as a second one. Kept and reused when the same N and seed are asked again.
2. build:  `kvqae.index.build.build_streaming` (what `kvqae index build --factory auto` runs): train on a
           sample, add chunk by chunk, float16 refine file beside the index.
3. exact:  exact top-100 of the queries by a streaming scan (`kvqae.index.stream.exact_search_stream`), the
           ground truth for recall.
4. search: load the index, search the 1,000 queries batched on 2 threads and one query at a time;
           recall@100 against the exact top-100. The refine file's rows are read from the page cache or the
           disk: `--cache cold` drops the page cache before each search step (root only), `--cache warm`
           reads the refine file once first (timed), `--cache as-is` (default) leaves it.
Then it prints the similarity distributions of real MiniLM embeddings (when the dev-set embeddings made by
`benchmarks/bench_wiki_devset.py` are there) and of the generator, side by side, and the figures as a table.

Usage: python benchmarks/bench_scale_p4.py [--n 11900000] [--work bench-output/scale-p4] [--keep]
`--skip-build` reuses the index in --work only when it was built for the same N, seed, dimension, factory and
generator parameters (`index_built_for.json`, written after each build); otherwise it stops with exit 1
(scoring a stale index against new vectors gave recall 0.002).
Disk: N x 768 x 4 bytes of vectors (36.6 GB at 11.9M) + N x 768 x 2 bytes of refine file + the index.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

GOAL_RSS_GB, GOAL_RECALL, GOAL_QPS = 6.0, 0.95, 100.0
REAL_PASSAGES = Path("bench-output/wiki-dev/embeddings/kb-passage-st_minilm")
REAL_QUERIES = [Path(f"bench-output/wiki-dev/embeddings/{s}-question-st_minilm")
                for s in ("validation", "test")]


def peak_rss_gb() -> float:
    """This process's peak resident memory (VmHWM), in GB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024 / 1e9
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9


def _write_embeddings_header(path: Path, rows: int, dim: int):
    f = open(path, "wb")  # noqa: SIM115 - closed by the caller
    header = {"descr": "<f4", "fortran_order": False, "shape": (rows, dim)}
    np.lib.format.write_array_header_1_0(f, header)
    return f


def _write_meta(directory: Path, ids: list[str], dim: int, role: str, generator: dict) -> None:
    (directory / "ids.json").write_text(json.dumps(ids), encoding="utf-8")
    meta = {"encoder": "synthetic:scale_vectors", "field": "passage" if role == "kb" else "question",
            "kind": "text", "role": role, "dim": dim, "dtype": "float32", "normalized": True,
            "count": len(ids), "missing": [], "generator": generator}
    (directory / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")


def parse_generator(text: str) -> dict[str, float]:
    """`--generator "identity=5,noise=6"` -> {"identity": 5.0, "noise": 6.0} (VectorModel fields)."""
    from dataclasses import fields

    from scale_vectors import VectorModel

    known = {f.name for f in fields(VectorModel)} - {"dim", "seed"}
    out = {}
    for item in filter(None, text.split(",")):
        key, sep, value = item.partition("=")
        if not sep or key.strip() not in known:
            raise SystemExit(f"--generator: expected FIELD=NUMBER, FIELD in {sorted(known)}; got {item!r}")
        out[key.strip()] = float(value)
    return out


def step_write(work: Path, n: int, queries: int, seed: int, overrides: dict[str, float]) -> dict:
    """Write the passage and query embeddings directories (skipped when already written like this)."""
    from dataclasses import asdict, replace

    from kvqae.progress import track
    from scale_vectors import Generator, VectorModel

    model = replace(VectorModel(), seed=seed, **{k: type(getattr(VectorModel(), k))(v)
                                                  for k, v in overrides.items()})
    generator = dict(asdict(model), n=n, queries=queries)
    emb, qdir = work / "passages", work / "queries"
    done = (emb / "meta.json").exists() and json.loads((emb / "meta.json").read_text()).get("generator")
    if done == generator:
        return {"write_s": 0.0, "reused": True}
    t0 = time.perf_counter()
    gen = Generator(model, n)
    for d in (emb, qdir):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
    for stale in work.glob("exact_top*.npz"):  # ground truth of other vectors
        stale.unlink()
    chunk_rows = 100_000
    with _write_embeddings_header(emb / "vectors.npy", n, model.dim) as f:
        for chunk in track(gen.chunks(chunk_rows), "writing vectors", total=-(-n // chunk_rows)):
            f.write(np.ascontiguousarray(chunk, dtype="<f4").tobytes())
    owner = gen.owner
    position = np.arange(n) - np.repeat(np.cumsum(gen.count) - gen.count, gen.count)
    ids = [f"E{o}#{p}" for o, p in zip(owner.tolist(), position.tolist(), strict=True)]
    _write_meta(emb, ids, model.dim, "kb", generator)
    del ids
    q, about = gen.queries(queries)
    np.save(qdir / "vectors.npy", q.astype(np.float32))
    np.save(work / "query_entities.npy", about)  # which entity each query is about (own-entity share)
    np.save(work / "passage_entities.npy", gen.owner.astype(np.int32))
    _write_meta(qdir, [f"q{i}" for i in range(queries)], model.dim, "questions", generator)
    return {"write_s": time.perf_counter() - t0, "reused": False}


def step_build(work: Path, factory: str, threads: int) -> dict:
    import faiss

    from kvqae.index.build import build_streaming

    faiss.omp_set_num_threads(threads)
    out = work / "index"
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    index = build_streaming(work / "passages", out, factory, progress=True)
    build_s = time.perf_counter() - t0
    sizes = {p.name: p.stat().st_size for p in out.iterdir()}
    return {"build_s": build_s, "build_rss_gb": peak_rss_gb(), "factory": index.meta.get("factory"),
            "params": {k: index.meta.get(k) for k in ("nprobe", "ef_search", "refine_factor")},
            "sizes": sizes}


def step_exact(work: Path, k: int, threads: int) -> dict:
    import faiss

    from kvqae.index.embeddings import read_embeddings
    from kvqae.index.stream import exact_search_stream, open_vectors

    faiss.omp_set_num_threads(threads)
    target = work / f"exact_top{k}.npz"
    if target.exists():
        return {"exact_s": 0.0, "reused": True}
    queries = read_embeddings(work / "queries").vectors
    t0 = time.perf_counter()
    scores, labels = exact_search_stream(open_vectors(work / "passages" / "vectors.npy"), queries, k,
                                         progress=True)
    np.savez(target, scores=scores, labels=labels)
    return {"exact_s": time.perf_counter() - t0, "exact_rss_gb": peak_rss_gb()}


def step_search(work: Path, k: int, threads: int, single: int, overrides: dict) -> dict:
    import faiss

    from kvqae.index.embeddings import read_embeddings
    from kvqae.index.faiss_index import VectorIndex
    from kvqae.index.recall import recall_at_k

    faiss.omp_set_num_threads(threads)
    t0 = time.perf_counter()
    index = VectorIndex.load(work / "index")
    load_s = time.perf_counter() - t0
    queries = read_embeddings(work / "queries").vectors
    exact = np.load(work / f"exact_top{k}.npz")["labels"]
    index.search_labels(queries[:8], k, **overrides)  # warm the caches the first search fills
    t0 = time.perf_counter()
    _, labels = index.search_labels(queries, k, **overrides)
    batched_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(single):
        index.search_labels(queries[i:i + 1], k, **overrides)
    single_s = time.perf_counter() - t0
    ids = index.ids_for(labels[:2]) if hasattr(index, "ids_for") else None  # string ids of the hits work too
    return {"load_s": load_s, "recall": recall_at_k(exact, labels), "qps_batched": len(queries) / batched_s,
            "qps_single": single / single_s, "search_rss_gb": peak_rss_gb(), "params": index.search_params(
                **overrides), "sample_ids": None if ids is None else [list(r[:3]) for r in ids]}


def drop_page_cache() -> None:
    """Empty the kernel's page cache (root only), so the refine file is read from the disk."""
    os.sync()
    Path("/proc/sys/vm/drop_caches").write_text("1\n")


def warm_page_cache(path: Path) -> float:
    """Read `path` once from start to end (into the page cache); returns seconds taken."""
    t0 = time.perf_counter()
    with path.open("rb", buffering=0) as f:
        while f.readinto(WARM_BUFFER):
            pass
    return time.perf_counter() - t0


WARM_BUFFER = bytearray(64 << 20)


BUILT_FOR = "index_built_for.json"  # in --work: what the index there was built for


def build_key(args: argparse.Namespace) -> dict:
    """What the index depends on: the vectors (N, seed, dimension, generator parameters) and the factory."""
    from scale_vectors import VectorModel

    return {"n": args.n, "seed": args.seed, "dim": VectorModel().dim, "factory": args.factory,
            "generator": parse_generator(args.generator)}


def check_skip_build(work: Path, key: dict) -> None:
    """`--skip-build` is refused (SystemExit, exit 1) unless the index in `work` was built for `key`."""
    path = work / BUILT_FOR
    built = json.loads(path.read_text()) if path.is_file() else None
    if not (work / "index").is_dir() or built is None:
        raise SystemExit(f"--skip-build: no index recorded in {work} ({BUILT_FOR} missing): run without "
                         "--skip-build first")
    if built != key:
        differ = ", ".join(f"{k} {built.get(k)!r} -> {v!r}" for k, v in key.items() if built.get(k) != v)
        raise SystemExit(f"--skip-build: the index in {work} was built for other vectors or settings "
                         f"({differ}): run without --skip-build to build it again")


def record_build(work: Path, key: dict) -> None:
    """Say what the index just built in `work` was built for (read by `check_skip_build`)."""
    (work / BUILT_FOR).write_text(json.dumps(key, indent=1))


def run_step(args: argparse.Namespace, step: str, extra: list[str] | None = None) -> dict:
    """Run one step in a child process (fresh peak-memory counter); its last stdout line is its result."""
    cmd = [sys.executable, __file__, "--step", step, "--n", str(args.n), "--work", str(args.work),
           "--queries", str(args.queries), "--k", str(args.k), "--threads", str(args.threads),
           "--factory", args.factory, "--single", str(args.single), "--seed", str(args.seed),
           "--generator", args.generator] + (extra or [])
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def own_entity_share(work: Path, k: int) -> dict[str, float] | None:
    """Share of the exact top-1 / top-10 / top-100 that belong to the query's own entity (None when the
    entity files were not written by this version)."""
    if not (work / "query_entities.npy").exists() or not (work / "passage_entities.npy").exists():
        return None
    labels = np.load(work / f"exact_top{k}.npz")["labels"]
    owner = np.load(work / "passage_entities.npy", mmap_mode="r")
    about = np.load(work / "query_entities.npy")
    own = np.asarray(owner[labels.ravel()]).reshape(labels.shape) == about[:, None]
    return {f"top{r}": float(own[:, :r].mean()) for r in (1, 10, 100) if r <= labels.shape[1]}


def distributions(work: Path, k: int, overrides: dict[str, float]) -> dict:
    """Quantiles of top-1/10/100/1000 cosine similarity: real MiniLM (if present) and the generator at the
    sample's shape, each on all of the sample's passages and on a random half and quarter of them (how
    similarity grows with the collection), then the generator at N (from the exact scan)."""
    from dataclasses import replace

    from scale_vectors import DEVSET, VectorModel, describe, real_distribution, synthetic_distribution

    out: dict[str, dict] = {}
    if REAL_PASSAGES.exists() and all(q.exists() for q in REAL_QUERIES):
        real, n_real, articles = real_distribution(REAL_PASSAGES, REAL_QUERIES, DEVSET)
        model = replace(VectorModel(), passages_per_entity=n_real / articles,
                        **{key: type(getattr(VectorModel(), key))(v) for key, v in overrides.items()})
        synth = synthetic_distribution(model, n_real)
        for share, rows in (("all", n_real), ("half", n_real // 2), ("quarter", n_real // 4)):
            out[f"real MiniLM ({rows:,} passages)"] = real[share]
            out[f"generator ({rows:,}, sample's shape)"] = synth[share]
    scores = np.load(work / f"exact_top{k}.npz")["scores"]
    out["generator (this N)"] = describe({r: scores[:, r - 1] for r in (1, 10, 100) if r <= scores.shape[1]})
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=11_900_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--single", type=int, default=200, help="queries timed one at a time")
    parser.add_argument("--factory", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--generator", default="",
                        help='generator parameters other than the fitted defaults, e.g. "identity=5" '
                             "(a sensitivity check)")
    parser.add_argument("--work", type=Path, default=Path("bench-output/scale-p4"))
    parser.add_argument("--keep", action="store_true", help="keep the vectors and index afterwards")
    parser.add_argument("--skip-build", action="store_true", help="reuse the index already in --work")
    parser.add_argument("--sweep", default="",
                        help='extra search settings, e.g. "nprobe=16,refine_factor=4;nprobe=64"')
    parser.add_argument("--cache", choices=["as-is", "cold", "warm"], default="as-is",
                        help="page cache before each search step: left as is, dropped (root), or holding "
                             "the refine file")
    parser.add_argument("--step", choices=["write", "build", "exact", "search"], help=argparse.SUPPRESS)
    parser.add_argument("--override", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    if args.step:
        result = {"write": lambda: step_write(args.work, args.n, args.queries, args.seed,
                                              parse_generator(args.generator)),
                  "build": lambda: step_build(args.work, args.factory, args.threads),
                  "exact": lambda: step_exact(args.work, args.k, args.threads),
                  "search": lambda: step_search(args.work, args.k, args.threads, args.single,
                                                json.loads(args.override))}[args.step]()
        print(json.dumps(result))
        return result
    args.work.mkdir(parents=True, exist_ok=True)
    key = build_key(args)
    if args.skip_build:  # before writing: new vectors under an old index scored recall 0.002, exit 0
        check_skip_build(args.work, key)
    res = {"n": args.n, "dim": key["dim"], "k": args.k, "threads": args.threads}
    res["write"] = run_step(args, "write")
    if not args.skip_build:
        (args.work / BUILT_FOR).unlink(missing_ok=True)  # a failed build leaves no claim behind
        res["build"] = run_step(args, "build")
        record_build(args.work, key)
    res["exact"] = run_step(args, "exact")
    settings = [{}] + [dict((kv.split("=")[0], int(kv.split("=")[1])) for kv in s.split(",") if kv)
                       for s in args.sweep.split(";") if s]
    res["search"] = []
    for o in settings:
        if args.cache == "cold":
            drop_page_cache()
        elif args.cache == "warm" and (args.work / "index" / "refine.f16.npy").exists():
            res.setdefault("warm_s", warm_page_cache(args.work / "index" / "refine.f16.npy"))
        res["search"].append({**run_step(args, "search", ["--override", json.dumps(o)]), "cache": args.cache})
    res["distributions"] = distributions(args.work, args.k, parse_generator(args.generator))
    res["own_entity_share"] = own_entity_share(args.work, args.k)
    res["generator_overrides"] = args.generator
    report(res)
    (args.work / "result.json").write_text(json.dumps(res, indent=1))
    if not args.keep:
        shutil.rmtree(args.work / "passages", ignore_errors=True)
        shutil.rmtree(args.work / "index", ignore_errors=True)
        (args.work / BUILT_FOR).unlink(missing_ok=True)
    return res


def report(res: dict) -> None:
    """The figures as text: build, exact scan, one table row per search setting (recall at the real k)."""
    k, threads = res.get("k", 100), res.get("threads", 2)
    print(f"\nP4 at N = {res['n']:,} x {res.get('dim', 768)} ({threads} thread{'s' * (threads != 1)})")
    if "build" in res:
        b = res["build"]
        print(f"build: {b['factory']}  {b['build_s'] / 60:.1f} min  peak RSS {b['build_rss_gb']:.2f} GB  "
              f"default search params {b['params']}")
        print("files: " + ", ".join(f"{k} {v / 1e9:.2f} GB" for k, v in sorted(b["sizes"].items())
                                    if v > 1e6))
    e = res["exact"]
    if e.get("exact_s"):
        print(f"exact streaming scan of the queries: {e['exact_s'] / 60:.1f} min")
    if res.get("warm_s"):
        print(f"refine file read into the page cache once: {res['warm_s']:.0f} s")
    print(f"\n| search settings | page cache | recall@{k} | q/s batched | q/s one at a time "
          "| search peak RSS (GB) | goal |")
    print("|---|---|---:|---:|---:|---:|---|")
    for s in res["search"]:
        ok = (s["recall"] >= GOAL_RECALL and s["qps_batched"] >= GOAL_QPS
              and s["search_rss_gb"] <= GOAL_RSS_GB)
        goal = ("met" if ok else "not met") if k == 100 else "- (the goal is at k = 100)"
        print(f"| {s['params']} | {s.get('cache', 'as-is')} | {s['recall']:.3f} | {s['qps_batched']:.0f} | "
              f"{s['qps_single']:.0f} | "
              f"{s['search_rss_gb']:.2f} | {goal} |")
    print(f"(goals: recall@100 >= {GOAL_RECALL}, >= {GOAL_QPS:.0f} q/s batched, "
          f"search RSS <= {GOAL_RSS_GB} GB{'' if k == 100 else f'; measured here at k = {k}'})")
    if res.get("own_entity_share"):
        print("\nshare of the exact top-k that is the query's own entity at this N: "
              + ", ".join(f"{top} {v:.3f}" for top, v in res["own_entity_share"].items())
              + " (real MiniLM on the 4,406-passage sample: see the 'own' row of scale_vectors.py)")
    if res.get("generator_overrides"):
        print(f"generator parameters changed from the fitted ones: {res['generator_overrides']}")
    print("\ncosine similarity of each query's k-th neighbour, quantiles 10 / 50 / 90 %:")
    print("| vectors | top-1 | top-10 | top-100 | top-1000 |")
    print("|---|---|---|---|---|")
    for name, d in res["distributions"].items():
        print(f"| {name} | " + " | ".join(" / ".join(f"{v:.2f}" for v in d.get(f"top{r}", [])) or "–"
                                        for r in (1, 10, 100, 1000)) + " |")


if __name__ == "__main__":
    main()
