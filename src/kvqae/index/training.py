"""Training large compressed indexes cheaply on a 2-core machine: transforms, then two-level k-means.

`train_index(index, sample)` trains a Faiss index built from a factory string in three steps:

1. pre-transforms (`PCAR256`, `OPQ...`) on the sample. A PCA's mean subtraction is dropped afterwards for
   inner-product indexes: with it the index would rank by `(x - mean) . (q - mean)`, which adds a per-vector
   term `-mean . x` to every score; without it the transform is a plain projection (orthonormal rows), so
   inner products are those of the vectors' principal components.
2. the coarse quantizer of an IVF index with many lists, by two-level k-means. Plain k-means costs `sample x
   nlist x dim` per iteration: 131k x 4,096 x 256 took 206 s of CPU on the 2-core machine, and 524k x 16,384
   would take about an hour. Two levels cut the `nlist` factor to about `2 sqrt(nlist)`: k-means into
   `sqrt(nlist)` coarse groups, then, inside each group, k-means into a share of the lists proportional to the
   group's size (the shares sum to `nlist`). Centres are spherical (unit length), matching inner-product
   assignment of L2-normalised vectors.
3. the rest (PQ codebooks) by Faiss's own `index.train`, which skips what is already trained.

Faiss's polysemous PQ training, which the factory turns on for `PQ` / `IVF..,PQ` codes, is turned off
(`configure_training`): a simulated annealing that reorders PQ codes for Hamming filtering, which kvqae never
uses; it took minutes even for 5,000 32-d vectors.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

TWO_LEVEL_MIN_NLIST = 1024  # below this, Faiss's own one-level k-means is cheap enough


def allocate(sizes: np.ndarray, total: int) -> np.ndarray:
    """Split `total` lists over groups of `sizes` points: proportional (largest remainders first), no group
    more lists than points. Requires `total <= sizes.sum()`."""
    sizes = np.asarray(sizes, dtype=np.int64)
    if total > sizes.sum():
        raise ValueError(f"{total} lists for {sizes.sum()} points")
    exact = sizes * total / max(1, sizes.sum())
    alloc = np.minimum(np.floor(exact).astype(np.int64), sizes)
    order = np.argsort(-(exact - np.floor(exact)), kind="stable")
    i = 0
    while alloc.sum() < total:  # hand out what rounding (and capping) left, to groups with room
        g = order[i % len(order)]
        if alloc[g] < sizes[g]:
            alloc[g] += 1
        i += 1
    return alloc


def two_level_centroids(x: np.ndarray, nlist: int, *, seed: int = 0, niter: int = 10) -> np.ndarray:
    """`nlist` unit-length centres `(nlist, d)` of the rows of `x` (float32, at least `nlist` rows)."""
    import faiss

    x = np.ascontiguousarray(x, dtype=np.float32)
    n, d = x.shape
    c1 = max(1, min(n, int(round(math.sqrt(nlist)))))
    coarse = faiss.Kmeans(d, c1, niter=niter, seed=seed, spherical=True, min_points_per_centroid=1)
    coarse.train(x)  # on at most 256 points per group (Faiss subsamples): rough groups are enough
    _, group = coarse.index.search(x, 1)
    group = group.ravel()
    sizes = np.bincount(group, minlength=c1)
    alloc = allocate(sizes, nlist)
    order = np.argsort(group, kind="stable")
    starts = np.concatenate(([0], np.cumsum(sizes)))
    parts = []
    for g in np.flatnonzero(alloc):
        members = x[order[starts[g]:starts[g + 1]]]
        k = int(alloc[g])
        if k == len(members):  # as many lists as points: the points are the centres
            parts.append(members / np.linalg.norm(members, axis=1, keepdims=True).clip(1e-12))
            continue
        km = faiss.Kmeans(d, k, niter=niter, seed=seed + int(g), spherical=True, min_points_per_centroid=1)
        km.train(members)
        parts.append(km.centroids)
    return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)


def configure_training(index: Any, seed: int | None = 0, niter: int | None = 10) -> None:
    """Seed k-means, cap its iterations (None: keep Faiss's) and turn off polysemous PQ training."""
    import faiss

    inner = faiss.downcast_index(index)
    if isinstance(inner, faiss.IndexPreTransform):
        inner = faiss.downcast_index(inner.index)
    try:
        ivf = faiss.extract_index_ivf(index)
        if niter is not None:
            ivf.cp.niter = int(niter)
        if seed is not None:
            ivf.cp.seed = int(seed)
        inner = faiss.downcast_index(ivf)
    except RuntimeError:  # no inverted lists (Flat, PQ, HNSW): nothing to configure
        pass
    if hasattr(inner, "do_polysemous_training"):
        inner.do_polysemous_training = False


def train_transforms(index: Any, sample: np.ndarray) -> np.ndarray:
    """Train the pre-transforms of `index` on `sample` (step 1 of the module docstring); returns the sample
    as the inner index sees it."""
    import faiss

    x = np.ascontiguousarray(sample, dtype=np.float32)
    outer = faiss.downcast_index(index)
    if not isinstance(outer, faiss.IndexPreTransform):
        return x
    for i in range(outer.chain.size()):
        vt = faiss.downcast_VectorTransform(outer.chain.at(i))
        if not vt.is_trained:
            vt.train(x)
            if isinstance(vt, faiss.PCAMatrix) and index.metric_type == faiss.METRIC_INNER_PRODUCT:
                vt.have_bias = False  # a projection, not a shift: inner products keep their ranking terms
        x = vt.apply(x)
    return x


def pretrain_ivf(index: Any, x: np.ndarray, *, seed: int = 0, niter: int = 10) -> bool:
    """Fill the coarse quantizer of `index` with two-level centres of `x` (already through the
    pre-transforms); returns False (doing nothing) when `index` has no IVF part or too few lists."""
    import faiss

    try:
        ivf = faiss.extract_index_ivf(index)
    except RuntimeError:
        return False
    if ivf.nlist < TWO_LEVEL_MIN_NLIST or ivf.quantizer.ntotal or len(x) < ivf.nlist:
        return False
    ivf.quantizer.add(two_level_centroids(x, ivf.nlist, seed=seed, niter=niter))
    return True


def train_index(index: Any, sample: np.ndarray, *, seed: int = 0, niter: int = 10) -> None:
    """Train `index` on `sample` (float32, L2-normalised rows) in the three steps of the module docstring."""
    configure_training(index, seed, niter)
    pretrain_ivf(index, train_transforms(index, sample), seed=seed, niter=niter)
    index.train(np.ascontiguousarray(sample, dtype=np.float32))
