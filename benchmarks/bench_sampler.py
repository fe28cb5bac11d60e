"""Entity-centric batch sampler: time per epoch plan and share of items used, at the seeds' scale.

N pairs over E entities (entity sizes: a Zipf draw clipped at `--cap`, scaled so that they sum to N, every
entity at least one pair). Builds `EntityCentricBatchSampler` once (grouping by entity), then times
`--epochs` epoch plans and checks each: every batch has distinct entities, share of items used. Then the
old greedy sampler (rescans every pending item for each batch) and the new one side by side on
`--old-pairs` pairs (batch 256), for the ratio.

    python benchmarks/bench_sampler.py [--pairs 12000000] [--entities 2000000] [--batch 1000]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Sequence

import numpy as np


def entity_sizes(pairs: int, entities: int, cap: int, seed: int = 0) -> np.ndarray:
    """Skewed entity sizes summing to `pairs`, each at least 1."""
    rng = np.random.default_rng(seed)
    raw = np.clip(rng.zipf(2.0, size=entities), 1, cap).astype(np.float64) - 1
    extra = pairs - entities
    sizes = 1 + np.floor(extra * raw / max(raw.sum(), 1.0)).astype(np.int64)
    short = pairs - int(sizes.sum())
    np.add.at(sizes, rng.integers(0, entities, size=short), 1)
    return sizes


def entity_list(sizes: np.ndarray, seed: int = 0) -> list[str]:
    names = [f"Q{k}" for k in range(len(sizes))]
    codes = np.random.default_rng(seed).permutation(np.repeat(np.arange(len(sizes)), sizes))
    return [names[c] for c in codes.tolist()]


def old_batches(
    entities: Sequence[str], batch_size: int, seed: int = 0, min_size: int = 2
) -> list[list[int]]:
    """The sampler before issue 15 (quadratic: one pass over every pending item per batch)."""
    order = list(range(len(entities)))
    random.Random(seed).shuffle(order)
    batches: list[list[int]] = []
    pending = order
    while pending:
        batch: list[int] = []
        seen: set[str] = set()
        deferred: list[int] = []
        for i in pending:
            if len(batch) < batch_size and entities[i] not in seen:
                batch.append(i)
                seen.add(entities[i])
            else:
                deferred.append(i)
        batches.append(batch)
        pending = deferred
    return [b for b in batches if len(b) >= min_size]


def check(entities: Sequence[str], batches: list[list[int]]) -> float:
    """Share of items used; asserts that no batch repeats an entity."""
    codes = np.asarray(entities)
    used = 0
    for b in batches:
        assert len(set(codes[b].tolist())) == len(b), "a batch repeats an entity"
        used += len(b)
    return used / len(entities)


def timed_new(entities: list[str], batch: int, epochs: int) -> tuple[float, float, list[float], float, int]:
    from kvqae.train.data import EntityCentricBatchSampler

    t0 = time.perf_counter()
    sampler = EntityCentricBatchSampler(entities, batch, seed=0)
    build = time.perf_counter() - t0
    times, share = [], 0.0
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        t0 = time.perf_counter()
        batches = sampler.batches()
        times.append(time.perf_counter() - t0)
        share = check(entities, batches) if epoch == 0 else share
    return build, share, times, float(np.mean([len(b) for b in batches])), len(batches)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=12_000_000)
    ap.add_argument("--entities", type=int, default=2_000_000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--cap", type=int, default=1000, help="largest entity size before scaling")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--old-pairs", type=int, default=50_000, help="size of the old/new comparison (0: skip)")
    args = ap.parse_args()

    sizes = entity_sizes(args.pairs, args.entities, args.cap)
    entities = entity_list(sizes)
    print(
        f"{args.pairs:,} pairs over {args.entities:,} entities (largest {sizes.max():,}), batch {args.batch}"
    )
    build, share, times, mean_size, n_batches = timed_new(entities, args.batch, args.epochs)
    print(
        f"new: grouping {build:.1f} s; epoch plan {', '.join(f'{t:.1f}' for t in times)} s; "
        f"{n_batches:,} batches of {mean_size:.1f} on average; items used {100 * share:.2f} %"
    )
    del entities
    if args.old_pairs:
        small = entity_list(entity_sizes(args.old_pairs, max(args.old_pairs // 6, 2), args.cap))
        t0 = time.perf_counter()
        old = old_batches(small, 256)
        t_old = time.perf_counter() - t0
        _, share_new, t_new, _, _ = timed_new(small, 256, 1)
        print(
            f"{args.old_pairs:,} pairs, batch 256: old {t_old:.2f} s ({100 * check(small, old):.1f} % used), "
            f"new {t_new[0]:.3f} s ({100 * share_new:.1f} % used), {t_old / t_new[0]:.0f}x"
        )


if __name__ == "__main__":
    main()
