"""Searching a sharded index on Ray (`kvqae search ... --ray ADDRESS`): one actor per shard.

Each actor (`ShardSearcher`) loads its shard directory once (`VectorIndex.load`) and answers searches; the
driver sends the query matrix once to the object store, every shard searches it in parallel, and the
per-shard top k lists are merged exactly as the in-process `kvqae.index.shards.ShardedIndex` merges them
(same scores and ids). On a multi-node cluster the index directory must be readable at the same path on
every node (a shared file system); actors are spread over the nodes (`SPREAD`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from kvqae.errors import InputError
from kvqae.index.shards import ShardedIndex, check_shard, is_sharded_index, read_sharded_meta, shard_ids


class ShardSearcher:
    """Ray actor body: one loaded shard. `meta()` -> its meta.json; `search(queries, k, params)` -> raw
    `(scores, labels)` with shard-local labels; `ids(labels)` -> the ids of shard-local rows."""

    def __init__(self, directory: str) -> None:
        from kvqae.index.faiss_index import VectorIndex

        self.index = VectorIndex.load(directory)

    def meta(self) -> dict[str, Any]:
        return dict(self.index.meta)

    def search(self, queries: np.ndarray, k: int, params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        return self.index.search_labels(queries, k, **params)

    def ids(self, labels: np.ndarray) -> np.ndarray:
        return shard_ids(self.index, labels)


def _gather(ray: Any, refs: list[Any], desc: str, progress: bool) -> list[Any]:
    """`ray.get(refs)` in order, with a bar advancing as each one finishes."""
    from kvqae.progress import track

    pending = {ref: i for i, ref in enumerate(refs)}
    out: list[Any] = [None] * len(refs)

    def finished() -> Iterator[None]:
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            out[pending.pop(done[0])] = ray.get(done[0])
            yield None

    for _ in track(finished(), desc, total=len(refs), enabled=progress):
        pass
    return out


def _first_error_line(text: str) -> str:
    """The InputError line of a Ray error's traceback text, else its first line."""
    for line in text.splitlines():
        if "InputError:" in line:
            return line.split("InputError:", 1)[1].strip()
    return text.strip().splitlines()[0] if text.strip() else "unknown error"


class RayShardedIndex(ShardedIndex):
    """A `ShardedIndex` whose shards live in Ray actors (one per shard); same search results."""

    def __init__(self, meta: dict[str, Any], path: Path, ray: Any, actors: list[Any]) -> None:
        super().__init__(meta, path)
        self.ray = ray
        self.actors = actors

    @classmethod
    def start(cls, ray: Any, directory: str | Path, *, progress: bool = False) -> RayShardedIndex:
        """Start one actor per shard of `directory` and wait until every shard is loaded and checked."""
        from kvqae.io import read_json

        directory = Path(directory).resolve()  # actors may run elsewhere: give them an absolute path
        meta = read_sharded_meta(directory)
        for entry in meta["shards"]:  # cheap checks here, so most faults are one InputError, not a dead actor
            check_shard(meta, entry, read_json(directory / entry["dir"] / "meta.json"), directory)
        cpus = float(ray.cluster_resources().get("CPU", 0.0))
        # Up to one CPU per actor, less when there are more shards than CPUs (all actors must fit at once).
        per_actor = min(1.0, cpus / len(meta["shards"])) if cpus else 0.0
        actor_cls = ray.remote(num_cpus=per_actor, scheduling_strategy="SPREAD")(ShardSearcher)
        actors = [actor_cls.remote(str(directory / e["dir"])) for e in meta["shards"]]
        index = cls(meta, directory, ray, actors)
        try:
            metas = _gather(ray, [a.meta.remote() for a in actors], "loading shards", progress)
        except ray.exceptions.RayActorError as e:  # a shard's files are unreadable (e.g. a corrupt index)
            index.close()
            raise InputError(f"a shard could not be loaded on Ray: {_first_error_line(str(e))}",
                             path=directory) from None
        except BaseException:
            index.close()
            raise
        for entry, shard_meta in zip(meta["shards"], metas, strict=True):
            check_shard(meta, entry, shard_meta, directory)
        return index

    def _search_shards(self, queries: np.ndarray, k: int, params: dict[str, Any],
                       progress: bool) -> list[tuple[np.ndarray, np.ndarray]]:
        qref = self.ray.put(queries)  # one copy in the object store, read by every actor
        return _gather(self.ray, [a.search.remote(qref, k, params) for a in self.actors], "searching shards",
                       progress)

    def _shard_ids(self, shard: int, local: np.ndarray) -> np.ndarray:
        return self.ray.get(self.actors[shard].ids.remote(local))

    def ids_of(self, labels: np.ndarray) -> np.ndarray:
        """The ids of global row `labels`, asking every shard concerned at once."""
        labels = np.asarray(labels, dtype=np.int64)
        out = np.empty(labels.shape, dtype=object)
        shard_of = np.searchsorted(np.asarray(self.offsets), labels, side="right") - 1
        shards = [int(s) for s in np.unique(shard_of)]
        masks = [shard_of == s for s in shards]
        refs = [self.actors[s].ids.remote(labels[m] - self.offsets[s]) for s, m in zip(shards, masks,
                                                                                        strict=True)]
        for mask, ids in zip(masks, self.ray.get(refs), strict=True):
            out[mask] = ids
        return out

    def close(self) -> None:
        """Stop the actors (their shards leave memory)."""
        for actor in self.actors:
            self.ray.kill(actor)
        self.actors = []


def check_ray_index(directory: str | Path, address: str | None) -> None:
    """`--ray` takes a well-formed address and a sharded index; InputError before anything else is read."""
    from kvqae.ray_cluster import parse_address

    parse_address(address)
    if not is_sharded_index(directory):
        raise InputError("--ray searches a sharded index (kvqae index build ... --shards S); this is not one",
                         path=directory, field="--ray")


@contextmanager
def ray_sharded_index(directory: str | Path, address: str | None, *,
                      progress: bool = False) -> Iterator[RayShardedIndex]:
    """Connect to Ray (`kvqae.ray_cluster.ray_session`), load the sharded index `directory` into one actor
    per shard, yield it, and stop the actors afterwards."""
    from kvqae.ray_cluster import ray_session

    check_ray_index(directory, address)
    with ray_session(address) as ray:
        index = RayShardedIndex.start(ray, directory, progress=progress)
        try:
            yield index
        finally:
            index.close()


def search_embeddings_ray(queries: str | Path, index: str | Path, address: str | None,
                          mode: str | None = None, k: int = 100, *, name: str | None = None,
                          progress: bool = False, **params: Any):
    """`kvqae.search.modes.search_embeddings` over a sharded index served by Ray actors -> a Run."""
    from kvqae.search.modes import search_embeddings

    with ray_sharded_index(index, address, progress=progress) as idx:
        return search_embeddings(queries, idx, mode, k, name=name, progress=progress, **params)
