"""Synthetic passage embeddings that behave like real ones, for the ViQuAE-scale benchmark (P4).

Isotropic noise says nothing about IVF/PQ recall: real passage embeddings sit on many clusters of low
intrinsic dimension. The generator is hierarchical, like an encyclopedia:

- `topics` (about one per `entities_per_topic` entities), each a random unit centre `t` and a random
  `rank`-dimensional subspace (`rank` columns of one shared random dictionary: small memory at 75k topics);
- entities: centre `c = t + entity_spread * g / sqrt(dim)` (g standard normal), `passages_per_entity`
  passages on average (geometric counts, at least 1), stored entity after entity as a KB encodes them;
- a passage: `c + passage_spread * (subspace coords) + noise * g' / sqrt(dim) + anisotropy * m`,
  L2-normalised (`m` one fixed direction: real sentence embeddings share a mean direction);
- a query: built like a passage of a random entity, with its own noise level (log-normal around `query_noise`:
  questions match their entity's text more or less well).

The default parameters were fitted (random search, `python benchmarks/scale_vectors.py --fit`) so that, at the
real sample's size and shape (4,406 passages of 106 articles), the distribution of each query's top-1,
top-10 and top-100 cosine similarities matches all-MiniLM-L6-v2 on the natural-question dev set over the
shared Wikipedia sample (`main` prints both distributions side by side).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

DICTIONARY_ATOMS = 4096
ENTITY_BLOCK = 1024
QUANTILES = (10, 50, 90)


@dataclass(frozen=True)
class VectorModel:
    """Parameters of the generator (see the module docstring)."""

    dim: int = 768
    passages_per_entity: float = 8.0
    entities_per_topic: int = 20
    rank: int = 16
    entity_spread: float = 2.38
    passage_spread: float = 2.70
    noise: float = 1.07
    query_noise: float = 1.61
    query_noise_spread: float = 0.32
    anisotropy: float = 0.53
    seed: int = 0


class Generator:
    """Deterministic generator of `n` passage vectors (chunk by chunk) and of queries for a `VectorModel`."""

    def __init__(self, model: VectorModel, n: int) -> None:
        self.model = model
        self.n = int(n)
        rng = np.random.default_rng(model.seed)
        p = 1.0 / max(model.passages_per_entity, 1.0)
        counts: list[np.ndarray] = []
        total = 0
        while total < self.n:  # geometric passage counts until n passages are covered
            c = rng.geometric(p, size=max(1024, int((self.n - total) * p * 1.1)))
            counts.append(c)
            total += int(c.sum())
        count = np.concatenate(counts)
        cut = int(np.searchsorted(np.cumsum(count), self.n)) + 1
        count = count[:cut]
        count[-1] -= int(count.sum()) - self.n
        self.count = count.astype(np.int64)
        self.owner = np.repeat(np.arange(len(count)), count)  # passage row -> entity
        self.n_entities = len(count)
        n_topics = max(1, self.n_entities // model.entities_per_topic)
        self.topic_of = rng.integers(0, n_topics, size=self.n_entities)
        self.topic_centre = _unit(rng.standard_normal((n_topics, model.dim), dtype=np.float32))
        self.topic_atoms = np.stack([rng.choice(DICTIONARY_ATOMS, model.rank, replace=False)
                                     for _ in range(n_topics)])
        self.dictionary = _unit(rng.standard_normal((DICTIONARY_ATOMS, model.dim), dtype=np.float32))
        self.mean_direction = _unit(rng.standard_normal((1, model.dim), dtype=np.float32))[0]

    def _entity_centres(self, entities: np.ndarray) -> np.ndarray:
        """Centres of the given entities; offsets drawn per block of entities, so queries can rebuild them."""
        m = self.model
        out = self.topic_centre[self.topic_of[entities]].copy()
        blocks = entities // ENTITY_BLOCK
        for b in np.unique(blocks).tolist():
            rows = np.flatnonzero(blocks == b)
            g = np.random.default_rng((m.seed, 1, b)).standard_normal((ENTITY_BLOCK, m.dim), dtype=np.float32)
            out[rows] += g[entities[rows] - b * ENTITY_BLOCK] * np.float32(m.entity_spread / np.sqrt(m.dim))
        return out

    def _around(self, entities: np.ndarray, centres: np.ndarray, noise: float | np.ndarray,
                rng: np.random.Generator) -> np.ndarray:
        """One vector per row of `entities` around its centre: subspace coordinates + isotropic noise."""
        m = self.model
        x = centres
        coords = rng.standard_normal((len(entities), m.rank), dtype=np.float32)
        coords *= np.float32(m.passage_spread / np.sqrt(m.rank))
        atoms = self.topic_atoms[self.topic_of[entities]]  # (rows, rank)
        # subspace part: a weighted sum of `rank` dictionary atoms per row (torch's embedding_bag does it in
        # place of a (rows x atoms) product); torch also draws the isotropic noise, much faster than numpy
        seed = int(rng.integers(0, 2**62))
        x = x + F.embedding_bag(torch.from_numpy(atoms), torch.from_numpy(self.dictionary), mode="sum",
                                per_sample_weights=torch.from_numpy(coords)).numpy()
        scale = np.asarray(noise, dtype=np.float32).reshape(-1, 1) / np.float32(np.sqrt(m.dim))
        noise_draw = torch.randn(x.shape, generator=torch.Generator().manual_seed(seed)).numpy()
        x += noise_draw * scale
        x += np.float32(m.anisotropy) * self.mean_direction
        return _unit(x)

    def chunks(self, rows: int = 100_000) -> Iterator[np.ndarray]:
        """The n passage vectors, in entity order, `rows` at a time (float32, L2-normalised)."""
        for start in range(0, self.n, rows):
            stop = min(self.n, start + rows)
            rng = np.random.default_rng((self.model.seed, 2, start))
            owners = self.owner[start:stop]
            uniq, inverse = np.unique(owners, return_inverse=True)
            centres = self._entity_centres(uniq)[inverse]
            yield self._around(owners, centres, self.model.noise, rng)

    def queries(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """`count` query vectors, each about a random entity (returned too)."""
        rng = np.random.default_rng((self.model.seed, 3))
        entities = rng.integers(0, self.n_entities, size=count)
        # questions differ in how well they match their entity's text: a log-normal noise level per query
        noise = self.model.query_noise * np.exp(self.model.query_noise_spread * rng.standard_normal(count))
        return self._around(entities, self._entity_centres(entities), noise, rng), entities


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True).clip(1e-12)


def top_similarities(queries: np.ndarray, passages: np.ndarray, ranks=(1, 10, 100)) -> dict[int, np.ndarray]:
    """Each query's k-th highest cosine similarity for every k of `ranks` (exact, in memory: small n only)."""
    sims = queries @ passages.T
    top = -np.sort(-sims, axis=1)
    return {k: top[:, min(k, top.shape[1]) - 1] for k in ranks}


def describe(tops: dict[int, np.ndarray]) -> dict[str, list[float]]:
    """Quantiles (10/50/90 %) of each rank's similarity."""
    return {f"top{k}": [round(float(v), 3) for v in np.percentile(s, QUANTILES)] for k, s in tops.items()}


def real_distribution(passages_dir: Path, query_dirs: list[Path]) -> tuple[dict, int, int]:
    """Top-k similarity quantiles of real embeddings directories (passages, and one or more query sets)."""
    from kvqae.index.embeddings import read_embeddings

    emb = read_embeddings(passages_dir)
    passages = emb.vectors
    queries = np.concatenate([read_embeddings(d).vectors for d in query_dirs])
    return describe(top_similarities(queries, passages)), len(passages), len(emb.ids) and _articles(emb.ids)


def _articles(ids: list[str]) -> int:
    return len({i.split("#", 1)[0] for i in ids})


def synthetic_distribution(model: VectorModel, n: int, queries: int = 1000) -> dict:
    gen = Generator(model, n)
    passages = np.concatenate(list(gen.chunks()))
    q, _ = gen.queries(queries)
    return describe(top_similarities(q, passages))


def loss(a: dict, b: dict) -> float:
    return float(sum((x - y) ** 2 for k in a for x, y in zip(a[k], b[k], strict=True)))


def fit(real: dict, n: int, articles: int, trials: int, seed: int) -> VectorModel:
    """Random search over the spreads, noises and anisotropy, at the real sample's size and shape."""
    rng = np.random.default_rng(seed)
    base = VectorModel(passages_per_entity=n / articles)
    best, best_loss = base, loss(synthetic_distribution(base, n, 300), real)
    for _ in range(trials):
        scale = rng.uniform(0.7, 1.4, size=6)
        cand = replace(best, entity_spread=best.entity_spread * scale[0],
                       passage_spread=best.passage_spread * scale[1],
                       noise=best.noise * scale[2], query_noise=best.query_noise * scale[3],
                       anisotropy=float(np.clip(best.anisotropy * scale[4], 0.0, 2.0)),
                       query_noise_spread=float(np.clip(best.query_noise_spread * scale[5], 0.0, 2.0)))
        value = loss(synthetic_distribution(cand, n, 300), real)
        if value < best_loss:
            best, best_loss = cand, value
            print(f"loss {value:.4f} {asdict(best)}", flush=True)
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fit / compare the synthetic passage-vector generator.")
    parser.add_argument("--passages", type=Path, required=True, help="real passage embeddings directory")
    parser.add_argument("--queries", type=Path, action="append", required=True,
                        help="real query embeddings dir(s)")
    parser.add_argument("--fit", action="store_true")
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    real, n, articles = real_distribution(args.passages, args.queries)
    model = VectorModel(passages_per_entity=n / articles)  # the sample's shape: 106 articles of ~42 passages
    if args.fit:
        model = fit(real, n, articles, args.trials, args.seed)
    synth = synthetic_distribution(model, n)
    print(json.dumps({"real": real, "synthetic": synth, "model": asdict(model)}, indent=1))


if __name__ == "__main__":
    main()
