"""Encoding on Ray (`kvqae encode kb|questions ... --ray ADDRESS`): the same embeddings directory as a
local run, computed by model actors spread over a Ray cluster.

How it runs:

- the driver loads the encoder once on CPU to learn its spec, dimension and modalities, then plans the job
  exactly as `encode_to_dir` does (`kvqae.encode.store.plan_encoding`): shards of
  `batch_size` items, `<out>.partial/` kept from an interrupted run (local or Ray) when the inputs match, so
  only the shards not done yet are sent;
- a Ray Data dataset holds one row per shard to do (its number, ids and texts / image paths);
  `map_batches` runs `ShardEncoder`, a callable class that builds the encoder once per actor, over a pool of
  actors: one per GPU when the cluster has GPUs (`num_gpus=1`, device cuda), else one per CPU;
- each encoded shard streams back to the driver, which writes it to `<out>.partial/` as it arrives (so an
  interrupted Ray run resumes too) and finally merges the shards into `vectors.npy`, `ids.json`,
  `meta.json` like the local path.

Workers read image files themselves: on a multi-node cluster the image paths must be readable on every node
(a shared file system), as must a model path given in the encoder spec.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kvqae.encode.store import EncodePlan, plan_encoding
from kvqae.errors import InputError


@dataclass(frozen=True)
class EncoderInfo:
    """What the driver needs to know about an encoder that only the workers load."""

    spec: str
    dim: int
    modalities: frozenset[str]
    normalized: bool
    image_size: int | None


def describe_encoder(spec: str, device: str = "cpu") -> EncoderInfo:
    """Load the encoder `spec` once and describe it.

    Runs in the driver, on CPU: a Ray task would cost one more worker process importing torch (about as
    long as the load itself) and could need a GPU just to read a dimension."""
    from kvqae.encode.registry import load_encoder

    enc = load_encoder(spec, device=device)
    return EncoderInfo(enc.spec, int(enc.dim), frozenset(enc.modalities), bool(enc.normalized),
                       enc.image_size)


class ShardEncoder:
    """Ray Data callable class: one per actor, holds one encoder; encodes whole shards.

    In: a batch `{"batch": shard numbers, "ids": per shard an array of ids, "items": per shard an array of
    texts or image paths}`. Out: `{"batch", "vectors": per shard the float32 `(rows, dim)` array as bytes,
    "error": "" or a JSON InputError}` (an unreadable image travels back as data, so the driver raises the
    same InputError a local run would, naming the file and the id).
    """

    def __init__(self, spec: str, device: str, kind: str, role: str, field: str, threads: int | None) -> None:
        if threads:
            import torch

            torch.set_num_threads(threads)  # the CPUs Ray gave this actor, no more: actors share nodes
        from kvqae.encode.registry import load_encoder

        self.encoder = load_encoder(spec, device=device)
        self.kind, self.role, self.field = kind, role, field

    def _encode(self, ids: list[str], items: list[str]) -> np.ndarray:
        if self.kind == "text":
            return self.encoder.encode_texts(items, role=self.role)
        from kvqae.encode.loader import open_image

        size = self.encoder.image_size
        images = [open_image(p, item_id=i, field=self.field, min_size=size) for i, p in zip(ids, items,
                                                                                            strict=True)]
        return self.encoder.encode_prepared(self.encoder.prepare_images(images))

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import json

        vectors, errors = [], []
        for ids, items in zip(batch["ids"], batch["items"], strict=True):
            try:
                vecs = np.asarray(self._encode([str(i) for i in ids], [str(x) for x in items]), np.float32)
                vectors.append(np.ascontiguousarray(vecs).tobytes())
                errors.append("")
            except InputError as e:
                vectors.append(b"")
                errors.append(json.dumps({"reason": e.reason, "path": e.path, "record": e.record,
                                          "field": e.field}))
        return {"batch": np.asarray(batch["batch"], dtype=np.int64),
                "vectors": np.array(vectors, dtype=object), "error": np.array(errors, dtype=object)}


def _raise_worker_error(text: str) -> None:
    import json

    err = json.loads(text)
    raise InputError(err["reason"], path=err["path"], record=err["record"], field=err["field"])


def _pool(ray: Any, n_shards: int, actors: int | None, use_gpu: bool | None) -> tuple[int, bool]:
    """(number of actors, whether each takes a GPU): one per GPU if the cluster has GPUs, else one per CPU;
    never more than there are shards."""
    from kvqae.ray_cluster import cluster_resources

    res = cluster_resources(ray)
    gpu = res["GPU"] >= 1 if use_gpu is None else use_gpu
    if gpu and res["GPU"] < 1:
        raise InputError("GPUs were asked for but the Ray cluster has none", field="--ray")
    slots = int(res["GPU"] if gpu else res["CPU"])
    if actors is not None and actors < 1:
        raise InputError("must be >= 1", field="--ray-actors")
    n = actors if actors is not None else max(1, slots)
    return max(1, min(n, n_shards)), gpu


def encode_to_dir_ray(
    encoder: str,
    ids: Sequence[str],
    items: Sequence[Any],
    *,
    kind: str,
    role: str,
    field: str,
    out_dir: str | Path,
    address: str | None = "local",
    batch_size: int = 64,
    resume: bool = True,
    progress: bool = True,
    actors: int | None = None,
    use_gpu: bool | None = None,
    stats: dict[str, float] | None = None,
) -> Path:
    """`encode_to_dir` on Ray: encode `items` with the encoder spec `encoder` into `out_dir`.

    Same inputs, shards, resume and output as `kvqae.encode.store.encode_to_dir`. `address`: see
    `kvqae.ray_cluster` (a process already connected to Ray keeps its connection). `actors`: model copies
    (default one per GPU, else one per CPU of the cluster, at most one per shard); `use_gpu`: None = when
    the cluster has GPUs. `stats`, when given, gets `describe_s` (encoder loaded in the driver + plan),
    `connect_s`, `encode_s` (the Ray Data run, shards written included), `finalize_s`, `actors`, `batches`
    (shards encoded) and `skipped` (shards reused). Nothing left to encode: Ray is not started at all.
    Returns `out_dir`.
    """
    from kvqae.ray_cluster import parse_address, ray_session

    parse_address(address)  # a malformed address fails before any work
    t0 = time.perf_counter()
    info = describe_encoder(encoder)
    # Planning first: bad inputs fail, and a finished job ends, before any Ray process starts.
    plan = plan_encoding(info, ids, items, kind=kind, role=role, field=field, out_dir=out_dir,
                         batch_size=batch_size, resume=resume)
    timing = {"describe_s": time.perf_counter() - t0, "batches": float(len(plan.todo)),
              "skipped": float(plan.n_batches - len(plan.todo)), "actors": 0.0, "connect_s": 0.0,
              "encode_s": 0.0}
    if plan.todo:
        t1 = time.perf_counter()
        with ray_session(address) as ray:
            timing["connect_s"] = time.perf_counter() - t1
            n_actors, gpu = _pool(ray, len(plan.todo), actors, use_gpu)
            timing["actors"] = float(n_actors)
            t2 = time.perf_counter()
            _run_shards(ray, plan, info, spec=encoder, kind=kind, role=role, field=field,
                        device="cuda" if gpu else "cpu", gpu=gpu, n_actors=n_actors, progress=progress)
            timing["encode_s"] = time.perf_counter() - t2
    t3 = time.perf_counter()
    plan.finish()
    timing["finalize_s"] = time.perf_counter() - t3
    if stats is not None:
        stats.update(timing)
    return plan.out_dir


def _run_shards(ray: Any, plan: EncodePlan, info: EncoderInfo, *, spec: str, kind: str, role: str,
                field: str, device: str, gpu: bool, n_actors: int, progress: bool) -> None:
    """Encode the shards `plan.todo` with a pool of `n_actors` ShardEncoder actors; save each as it comes."""
    import ray.data

    from kvqae.progress import track
    from kvqae.ray_cluster import quiet_ray_data

    quiet_ray_data()
    rows = []
    for b in plan.todo:
        b_ids, b_items = plan.batch(b)
        rows.append({"batch": b, "ids": b_ids, "items": [str(x) for x in b_items]})
    # One block per shard (up to a few per actor in flight): a shard is the unit of work and of resume.
    ds = ray.data.from_items(rows, override_num_blocks=len(rows))
    encoded = ds.map_batches(
        ShardEncoder,
        batch_size=1,
        compute=ray.data.ActorPoolStrategy(size=n_actors),
        fn_constructor_kwargs={"spec": spec, "device": device, "kind": kind, "role": role,
                               "field": field, "threads": None if gpu else 1},
        num_gpus=1 if gpu else 0,
        num_cpus=0 if gpu else 1,
    )
    for row in track(encoded.iter_rows(), f"encoding {field} on Ray ({info.spec})", total=len(rows),
                     enabled=progress):
        if row["error"]:
            _raise_worker_error(row["error"])
        b = int(row["batch"])
        vecs = np.frombuffer(row["vectors"], dtype=np.float32)
        if vecs.size != plan.rows(b) * plan.dim:
            raise RuntimeError(f"encoder {info.spec!r} returned {vecs.size} numbers for shard {b}, expected "
                               f"{plan.rows(b)} x {plan.dim}")
        plan.save_shard(b, vecs.reshape(plan.rows(b), plan.dim))
