"""Benchmark: scale-out on Ray against the single-process paths, on this machine.

Measures, in one process:
  - Ray start: `ray.init(num_cpus=C)` of a private local Ray, and its shutdown;
  - encoding N synthetic passages (about 60 words each) with the packaged MiniLM (`st:minilm`), batch B:
    single process (`encode_to_dir`, torch with T threads, model load included) vs `encode_to_dir_ray`
    (actors = C, one torch thread each; the driver's encoder load, actor start and model loads included),
    and checks that both give the same vectors;
  - search of Q random queries (dim 384) in M random vectors: unsharded Flat, sharded (S shards) in this
    process, and sharded with one Ray actor per shard (actor start + shard load timed apart).
The machine is shared: run the configurations back to back and compare within one run.

    .venv/bin/python benchmarks/bench_ray_scale.py [--n 512] [--batch-size 32] [--cpus 2] [--threads 2]
        [--m 200000] [--q 1000] [--shards 4] [--k 100] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np


def passages(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    vocab = ["river", "mountain", "city", "king", "queen", "battle", "museum", "painting", "church", "tower",
             "bridge", "island", "station", "football", "music", "film", "novel", "poet", "scientist",
             "university", "war", "empire", "village", "castle", "festival"]
    texts = [" ".join(rng.choice(vocab, size=60)) for _ in range(n)]
    return [f"p{i}" for i in range(n)], texts


def bench_encode(args, work: Path, ray) -> dict[str, float]:
    import torch

    from kvqae.encode.ray_encode import encode_to_dir_ray
    from kvqae.encode.registry import load_encoder
    from kvqae.encode.store import encode_to_dir

    ids, texts = passages(args.n)
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    enc = load_encoder("st:minilm")
    encode_to_dir(enc, ids, texts, kind="text", field="passage", out_dir=work / "local",
                  batch_size=args.batch_size, progress=False)
    local_s = time.perf_counter() - t0
    del enc
    stats: dict[str, float] = {}
    t0 = time.perf_counter()
    encode_to_dir_ray("st:minilm", ids, texts, kind="text", role="passage", field="passage",
                      out_dir=work / "ray", batch_size=args.batch_size, progress=False, stats=stats)
    ray_s = time.perf_counter() - t0
    local_v, ray_v = np.load(work / "local" / "vectors.npy"), np.load(work / "ray" / "vectors.npy")
    diff = float(np.abs(local_v - ray_v).max())
    return {"encode_local_s": local_s, "encode_ray_s": ray_s, "encode_max_abs_diff": diff,
            **{f"encode_ray_{k}": v for k, v in stats.items()}}


def bench_search(args, work: Path) -> dict[str, float]:
    from kvqae.index.faiss_index import VectorIndex
    from kvqae.index.shards import build_sharded
    from kvqae.io import write_json
    from kvqae.search.ray_search import ray_sharded_index

    rng = np.random.default_rng(1)
    emb = work / "kb"
    emb.mkdir()
    np.save(emb / "vectors.npy", rng.normal(size=(args.m, 384)).astype(np.float32))
    (emb / "ids.json").write_text(json.dumps([f"x{i}" for i in range(args.m)]))
    write_json(emb / "meta.json", {"encoder": "bench", "field": "passage", "kind": "text", "dim": 384,
                                   "count": args.m, "missing": []})
    q = rng.normal(size=(args.q, 384)).astype(np.float32)
    full = VectorIndex.build(emb, work / "full")
    sharded = build_sharded(emb, work / "sharded", args.shards)
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    s_full, l_full = full.search_labels(q, args.k)
    out["search_unsharded_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    s_sh, l_sh = sharded.search_labels(q, args.k)
    out["search_sharded_inprocess_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    with ray_sharded_index(work / "sharded", None) as idx:
        out["ray_actors_start_and_load_s"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        s_ray, l_ray = idx.search_labels(q, args.k)
        out["search_sharded_ray_s"] = time.perf_counter() - t1
    for name, (s_x, l_x) in (("inprocess", (s_sh, l_sh)), ("ray", (s_ray, l_ray))):
        out[f"search_{name}_max_abs_score_diff"] = float(np.abs(s_full - s_x).max())
        out[f"search_{name}_rows_with_other_labels"] = float((l_full != l_x).any(axis=1).sum())
        out[f"search_{name}_rows_differing_beyond_ties"] = float(beyond_ties(s_full, l_full, s_x, l_x))
    return out


def beyond_ties(sa: np.ndarray, la: np.ndarray, sb: np.ndarray, lb: np.ndarray, tol: float = 1e-6) -> int:
    """Rows whose results differ other than by float rounding (scores within `tol`) and the order, or at
    the cut the choice, of ids with (nearly) equal scores: Faiss does not order ties, and BLAS rounding
    moves with the number of threads and the matrix shapes."""
    bad = 0
    for row in np.flatnonzero((la != lb).any(axis=1)):
        if np.abs(sa[row] - sb[row]).max() > tol:
            bad += 1
            continue
        score = dict(zip(la[row].tolist(), sa[row].tolist(), strict=True))
        score.update(zip(lb[row].tolist(), sb[row].tolist(), strict=True))
        cut = min(sa[row, -1], sb[row, -1])
        bad += any(score[i] > cut + tol for i in set(la[row].tolist()) ^ set(lb[row].tolist()))
    return bad


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=512)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--m", type=int, default=200_000)
    ap.add_argument("--q", type=int, default=1000)
    ap.add_argument("--shards", type=int, default=4)
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    import ray

    work = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    try:
        res: dict[str, float] = {"loadavg_1m_start": os.getloadavg()[0]}
        t0 = time.perf_counter()
        ray.init(num_cpus=args.cpus, include_dashboard=False, logging_level="WARNING")
        res["ray_init_s"] = time.perf_counter() - t0
        res.update(bench_encode(args, work, ray))
        res.update(bench_search(args, work))
        t0 = time.perf_counter()
        ray.shutdown()
        res["ray_shutdown_s"] = time.perf_counter() - t0
        res["loadavg_1m_end"] = os.getloadavg()[0]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = json.dumps({k: round(v, 4) for k, v in res.items()}, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
