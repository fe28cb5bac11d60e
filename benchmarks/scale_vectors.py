"""Synthetic passage embeddings that behave like real ones, for the ViQuAE-scale benchmark (P4).

Isotropic noise says nothing about IVF/PQ recall: real passage embeddings sit on many clusters of low
intrinsic dimension, and a collection that grows gets denser: a query's k-th nearest passage gets closer
(on the real Wikipedia sample, MiniLM's median top-100 cosine similarity is 0.15 / 0.21 / 0.27 on random
quarters / halves / all of its 4,406 passages). The generator is one fixed distribution, sampled n times:

- `topics` topics (a fixed number, not growing with n), each a centre `t` of norm ~`topic_norm` in one shared
  `global_rank`-dimensional space (so topics are more or less related, as subjects are) and its own random
  `rank`-dimensional subspace `B` (`rank` atoms of norm 1);
- an entity of topic t: centre `c = t + entity_spread * B u / sqrt(rank) + identity * d(g)`
  (u, g standard normal): where it sits in its topic, plus what only its own text shares;
  `passages_per_entity` passages on average (geometric counts, at least 1), stored entity after entity as a
  KB encodes them;
- a passage: `c + passage_spread * B v / sqrt(rank) + noise * d(g') + anisotropy * m`, L2-normalised (`m` one
  fixed direction: real sentence embeddings share a mean direction);
- a query: built like a passage of a random entity, with its own noise level (log-normal around `query_noise`:
  questions match their entity's text more or less well).

`d(g)` scales axis i of a standard normal vector by `sqrt((i + 1) ** -decay)` (normalised to an expected
squared norm of 1); the atoms get the same profile: real embeddings keep most of their variance in a few
hundred directions rather than spreading it evenly.

Since topics do not multiply with n, more passages fill the same topic subspaces more densely, as more
articles fill the same subjects. An earlier version (session 4) made one topic per 20 entities, each a new
random direction: at 11.9M a query's top-100 beyond its own entity were passages of unrelated topics, whose
similarity was decided by the noise, and its median top-100 similarity fell as n grew (0.27 at the sample's
shape, 0.14 at 100k): no inverted-list index can find such neighbours, and real text does not behave so.

The default parameters were fitted (random search, `python benchmarks/scale_vectors.py --fit`) at the real
sample's size and shape (4,406 passages of 106 articles) against all-MiniLM-L6-v2 on the natural-question dev
set over the shared Wikipedia sample: the quantiles of each query's top-1, top-10, top-100 and top-1000 cosine
similarities on all the passages, and of the top-1/10/100 on random halves and quarters of them (the growth
with n); the share of the top-1/10/100 that is the query's own article; and the share of the variance in the
first principal components (`main` prints both profiles side by side).
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

ENTITY_BLOCK = 1024
QUANTILES = (10, 50, 90)
RANKS = (1, 10, 100, 1000)
DEVSET = [Path(f"data/devset/wiki_questions_{split}.jsonl") for split in ("validation", "test")]


@dataclass(frozen=True)
class VectorModel:
    """Parameters of the generator (see the module docstring)."""

    dim: int = 768
    passages_per_entity: float = 8.0
    topics: int = 1024
    global_rank: int = 16
    topic_norm: float = 13.24
    rank: int = 16
    entity_spread: float = 1.17
    identity: float = 4.96
    passage_spread: float = 10.36
    noise: float = 14.44
    query_noise: float = 1.39
    query_noise_spread: float = 0.44
    anisotropy: float = 1.42
    decay: float = 0.51  # variance of axis i of every random direction proportional to (i + 1) ** -decay
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
        # the topics and their subspaces depend on the seed only, never on n: a larger n samples the same
        # distribution more densely
        topic_rng = np.random.default_rng((model.seed, 4))
        # topic centres share one `global_rank`-dimensional space, so that topics are more or less related
        # (real embeddings of unrelated texts spread around their mean, cosine std ~0.09, not ~0.04)
        basis, _ = np.linalg.qr(topic_rng.standard_normal((model.dim, model.global_rank)))
        w = topic_rng.standard_normal((model.topics, model.global_rank))
        self.topic_centre = (w @ basis.T * (model.topic_norm / np.sqrt(model.global_rank))).astype(np.float32)
        # per-axis scale of every other random direction (subspace atoms, identities, noise): a decaying
        # spectrum, as real embeddings put most of their variance in a few hundred directions; normalised
        # so that a direction's expected squared norm is 1
        variance = np.arange(1, model.dim + 1, dtype=np.float64) ** -model.decay
        self.noise_profile = np.sqrt(variance / variance.sum()).astype(np.float32)[None, :]
        atoms = topic_rng.standard_normal((model.topics * model.rank, model.dim), dtype=np.float32)
        self.dictionary = torch.from_numpy(_unit(atoms * self.noise_profile))  # row topic * rank + j
        self.mean_direction = _unit(topic_rng.standard_normal((1, model.dim), dtype=np.float32))[0]
        self.topic_of = rng.integers(0, model.topics, size=self.n_entities)

    def _subspace(self, entities: np.ndarray, coords: np.ndarray) -> np.ndarray:
        """Rows `coords @ B_topic` for each entity's topic (a weighted sum of its topic's `rank` atoms)."""
        rank = self.model.rank
        atoms = self.topic_of[entities][:, None] * rank + np.arange(rank)[None, :]
        # torch's embedding_bag does the weighted sum without a (rows x atoms) matrix
        return F.embedding_bag(torch.from_numpy(atoms), self.dictionary, mode="sum",
                               per_sample_weights=torch.from_numpy(np.ascontiguousarray(coords))).numpy()

    def _entity_centres(self, entities: np.ndarray) -> np.ndarray:
        """Centres of the given entities; offsets drawn per block of entities, so queries can rebuild them."""
        m = self.model
        out = self.topic_centre[self.topic_of[entities]].copy()
        coords = np.empty((len(entities), m.rank), dtype=np.float32)
        blocks = entities // ENTITY_BLOCK
        for b in np.unique(blocks).tolist():
            rows = np.flatnonzero(blocks == b)
            rng = np.random.default_rng((m.seed, 1, b))
            u = rng.standard_normal((ENTITY_BLOCK, m.rank), dtype=np.float32)
            g = rng.standard_normal((ENTITY_BLOCK, m.dim), dtype=np.float32)
            local = entities[rows] - b * ENTITY_BLOCK
            coords[rows] = u[local] * np.float32(m.entity_spread / np.sqrt(m.rank))
            out[rows] += g[local] * self.noise_profile * np.float32(m.identity)
        return out + self._subspace(entities, coords)

    def _around(self, entities: np.ndarray, centres: np.ndarray, noise: float | np.ndarray,
                rng: np.random.Generator) -> np.ndarray:
        """One vector per row of `entities` around its centre: subspace coordinates + isotropic noise."""
        m = self.model
        coords = rng.standard_normal((len(entities), m.rank), dtype=np.float32)
        coords *= np.float32(m.passage_spread / np.sqrt(m.rank))
        seed = int(rng.integers(0, 2**62))
        x = centres + self._subspace(entities, coords)
        scale = np.asarray(noise, dtype=np.float32).reshape(-1, 1) * self.noise_profile
        # torch draws the isotropic noise much faster than numpy
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


def top_similarities(queries: np.ndarray, passages: np.ndarray, ranks=RANKS) -> dict[int, np.ndarray]:
    """Each query's k-th highest cosine similarity for every k of `ranks` (exact, in memory: small n only)."""
    sims = queries @ passages.T
    top = -np.sort(-sims, axis=1)
    return {k: top[:, min(k, top.shape[1]) - 1] for k in ranks}


def describe(tops: dict[int, np.ndarray]) -> dict[str, list[float]]:
    """Quantiles (10/50/90 %) of each rank's similarity."""
    return {f"top{k}": [round(float(v), 3) for v in np.percentile(s, QUANTILES)] for k, s in tops.items()}


def own_share(queries: np.ndarray, passages: np.ndarray, owner: np.ndarray, about: np.ndarray,
              ranks=RANKS[:3]) -> dict[str, list[float]]:
    """Share of each query's top-k passages that belong to the entity it is about (`owner`: passage ->
    entity, `about`: query -> entity), averaged over the queries, for each k of `ranks`."""
    top = np.argsort(-(queries @ passages.T), axis=1)[:, : max(ranks)]
    own = owner[top] == about[:, None]
    return {f"top{k}": [round(float(own[:, :k].mean()), 3)] for k in ranks}


SPECTRUM_SHARES = (1 / 24, 1 / 12, 1 / 6, 1 / 3, 2 / 3)


def spectrum(passages: np.ndarray) -> dict[str, list[float]]:
    """Share of the passages' variance in their first principal components, for the first 1/24, 1/12, 1/6,
    1/3 and 2/3 of the dimensions (comparable between 384-d and 768-d vectors).

    n passages have at most min(n, dim) components (the SVD returns no more): a share reaching past them
    holds all of the variance (1.0), as does any share of passages without variance (one passage)."""
    centred = passages - passages.mean(axis=0)
    var = np.linalg.svd(centred.astype(np.float64), compute_uv=False) ** 2  # min(n, dim) values
    total = var.sum()
    cumulative = np.cumsum(var) / total if total > 0 else np.ones(max(1, len(var)))
    dim = passages.shape[1]
    return {"pca": [round(float(cumulative[min(max(1, round(dim * s)), len(cumulative)) - 1]), 3)
                    for s in SPECTRUM_SHARES]}


def profile(queries: np.ndarray, passages: np.ndarray, owner: np.ndarray, about: np.ndarray,
            seed: int = 0) -> dict[str, dict]:
    """The top-k quantiles on all passages, on a random half and quarter of them (how similarity grows
    with the collection's size), the share of the top-k that is the query's own entity ("own"), and how
    much of the passages' variance the first principal components hold ("spectrum")."""
    order = np.random.default_rng(seed).permutation(len(passages))
    out = {"all": describe(top_similarities(queries, passages))}
    for name, share in (("half", 2), ("quarter", 4)):
        part = order[: max(1, len(passages) // share)]  # at least one passage (a quarter of 3 is none)
        out[name] = describe(top_similarities(queries, passages[part], RANKS[:3]))
    out["own"] = own_share(queries, passages, owner, about)
    out["spectrum"] = spectrum(passages)
    return out


def real_distribution(passages_dir: Path, query_dirs: list[Path], question_files: list[Path]
                      ) -> tuple[dict, int, int]:
    """Top-k similarity profile of real embeddings directories (passages `Title#n`, and one or more query
    sets whose questions files name each question's `entity`), with the number of passages and articles."""
    from kvqae.data.questions import load_questions
    from kvqae.index.embeddings import read_embeddings

    emb = read_embeddings(passages_dir)
    entity = {q.id: q.entity for f in question_files for q in load_questions(f)}
    query_sets = [read_embeddings(d) for d in query_dirs]
    queries = np.concatenate([q.vectors for q in query_sets])
    about = np.array([entity[i] for q in query_sets for i in q.ids])
    owner = np.array([i.split("#", 1)[0] for i in emb.ids])
    return profile(queries, emb.vectors, owner, about), len(emb.vectors), _articles(emb.ids)


def _articles(ids: list[str]) -> int:
    return len({i.split("#", 1)[0] for i in ids})


def synthetic_distribution(model: VectorModel, n: int, queries: int = 1000) -> dict:
    gen = Generator(model, n)
    passages = np.concatenate(list(gen.chunks()))
    q, about = gen.queries(queries)
    return profile(q, passages, gen.owner, about)


OWN_WEIGHT = 4.0  # the own-entity shares are 3 numbers against 30 quantiles: weighted up so they count


def loss(a: dict, b: dict) -> float:
    """Squared differences between two profiles (quantiles and own-entity shares)."""
    return float(sum((OWN_WEIGHT if part == "own" else 1.0) * (x - y) ** 2 for part in a for k in a[part]
                     for x, y in zip(a[part][k], b[part][k], strict=True)))


FITTED = ("topic_norm", "entity_spread", "identity", "passage_spread", "noise", "query_noise",
          "query_noise_spread", "anisotropy", "decay")


def fit(real: dict, n: int, articles: int, trials: int, seed: int) -> VectorModel:
    """Random search over the spreads, noises and anisotropy, at the real sample's size and shape."""
    rng = np.random.default_rng(seed)
    best = VectorModel(passages_per_entity=n / articles)
    best_loss = loss(synthetic_distribution(best, n, 300), real)
    for _ in range(trials):
        scale = rng.uniform(0.7, 1.4, size=len(FITTED))
        cand = replace(best, **{f: float(np.clip(getattr(best, f) * x, 0.0, 30.0))
                                for f, x in zip(FITTED, scale, strict=True)})
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
    parser.add_argument("--questions", type=Path, action="append",
                        help="the queries' questions files (their `entity`; default: the dev set's)")
    parser.add_argument("--fit", action="store_true")
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    real, n, articles = real_distribution(args.passages, args.queries, args.questions or DEVSET)
    model = VectorModel(passages_per_entity=n / articles)  # the sample's shape: 106 articles of ~42 passages
    if args.fit:
        model = fit(real, n, articles, args.trials, args.seed)
    synth = synthetic_distribution(model, n)
    print(json.dumps({"real": real, "synthetic": synth, "model": asdict(model)}, indent=1))


if __name__ == "__main__":
    main()
