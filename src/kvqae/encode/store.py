"""Embeddings directories: batched, resumable encoding to `vectors.npy` + `ids.json` + `meta.json`.

Layout (docs/ARCHITECTURE.md): `vectors.npy` float32 (n, dim), L2-normalised when `meta.normalized`;
`ids.json` the n ids in row order;
`meta.json` {encoder, field, kind, role, dim, dtype, normalized, count, missing}.
Only items that got an embedding have a row; `missing` lists the others (no image, no face).

While encoding, each finished batch is saved as a shard in `<out>.partial/`; an interrupted run started again
with the same inputs skips the shards already there. The final directory appears atomically.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from kvqae.config import ConfigModel
from kvqae.errors import InputError
from kvqae.index.embeddings import MODEL_FINGERPRINT, Embeddings, read_embeddings
from kvqae.io import atomic_dir, atomic_path, path_stamp, write_json
from kvqae.safety import spec_paths

if TYPE_CHECKING:
    from kvqae.encode.base import Encoder

KIND_OF_FIELD = {"image": "image", "title": "text", "passage": "text", "question": "text"}
MANIFEST = "manifest.json"


class EncodeConfig(ConfigModel):
    """Options of one encoding job (`kvqae encode kb|questions`, and the `encode` steps of `kvqae run`)."""

    encoder: str
    field: Literal["image", "title", "passage", "question"]
    out: str
    batch_size: int = 64
    resume: bool = True
    device: str = "cpu"


@dataclass
class EmbeddingStore(Embeddings):
    """A loaded embeddings directory (`kvqae.index.embeddings.Embeddings`) with lookup by id."""

    _row: dict[str, int] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.ids)

    def vector(self, item_id: str) -> np.ndarray | None:
        """The vector of `item_id`, or None when it has no embedding."""
        if not self._row:
            self._row = {i: r for r, i in enumerate(self.ids)}
        r = self._row.get(item_id)
        return None if r is None else self.vectors[r]

    @classmethod
    def load(cls, directory: str | Path, *, mmap: bool = False) -> EmbeddingStore:
        """Read and check an embeddings directory; any inconsistency is an InputError naming the file."""
        emb = read_embeddings(directory, mmap=mmap)
        return cls(emb.vectors, emb.ids, emb.meta, emb.path, emb.missing)


def partial_dir(out_dir: str | Path) -> Path:
    """The work directory of an unfinished encoding of `out_dir`."""
    out_dir = Path(out_dir)
    return out_dir.with_name(out_dir.name + ".partial")


def _fingerprint(values: Sequence[Any]) -> str:
    h = hashlib.sha1()
    for v in values:
        h.update(str(v).encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()


def _save_array(path: Path, arr: np.ndarray) -> None:
    with atomic_path(path, sweep=False) as tmp, tmp.open("wb") as f:
        np.save(f, arr)  # through a file handle: np.save on a path would append ".npy" to the temp name


def _shard_path(work: Path, b: int) -> Path:
    return work / f"shard-{b:06d}.npy"


def _shard_done(path: Path, rows: int, dim: int) -> bool:
    if not path.exists():
        return False
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError):
        return False
    return arr.shape == (rows, dim)


def _check_items(ids: Sequence[str], items: Sequence[Any], kind: str, field: str) -> list[int]:
    """Validate ids/items; return the indices of items to encode (None items are recorded as missing)."""
    if len(ids) != len(items):
        raise InputError(f"{len(ids)} ids but {len(items)} items", field=field)
    seen: set[str] = set()
    present = []
    for i, (item_id, item) in enumerate(zip(ids, items, strict=True)):
        if not isinstance(item_id, str) or not item_id:
            raise InputError("id must be a non-empty string", record=f"item {i}", field="id")
        if item_id in seen:
            raise InputError("duplicate id", record=f"id {item_id}", field="id")
        seen.add(item_id)
        if item is None:
            continue
        if kind == "text" and (not isinstance(item, str) or not item.strip()):
            raise InputError("expected a non-empty text", record=f"id {item_id}", field=field)
        if kind == "image" and not isinstance(item, (str, Path)):
            raise InputError(f"expected an image path, got {type(item).__name__}", record=f"id {item_id}",
                             field=field)
        present.append(i)
    return present


@dataclass
class EncodePlan:
    """An encoding job laid out in shards of `batch_size` items: what is done and what remains.

    Made by `plan_encoding`; shared by the local loop (`encode_to_dir`) and the Ray one
    (`kvqae.encode.ray_encode`), so both write the same shards and resume from each other's.
    """

    work: Path  # `<out>.partial/`
    out_dir: Path
    batch_size: int
    dim: int
    todo_ids: list[str]  # ids of the items that are encoded (None items excluded), in row order
    todo_items: list[Any]  # their texts / image paths (str)
    todo: list[int]  # shard numbers not done yet
    meta: dict[str, Any]  # meta.json of the result, less count and missing
    missing_items: list[str]  # ids whose item is None

    @property
    def n_batches(self) -> int:
        return (len(self.todo_ids) + self.batch_size - 1) // self.batch_size

    def rows(self, b: int) -> int:
        """Number of items in shard `b` (the last one may be short)."""
        return min(self.batch_size, len(self.todo_ids) - b * self.batch_size)

    def batch(self, b: int) -> tuple[list[str], list[Any]]:
        """The ids and items of shard `b`."""
        lo = b * self.batch_size
        return self.todo_ids[lo: lo + self.rows(b)], self.todo_items[lo: lo + self.rows(b)]

    def save_shard(self, b: int, vecs: np.ndarray) -> None:
        """Check the shape of shard `b`'s vectors and save it in the work directory."""
        vecs = np.asarray(vecs, dtype=np.float32)
        if vecs.shape != (self.rows(b), self.dim):  # e.g. a model folder whose pooling config has another dim
            raise InputError(f"encoder {self.meta['encoder']!r} returned vectors of shape {vecs.shape}, "
                             f"but it declares dim {self.dim} (expected {(self.rows(b), self.dim)}): is its "
                             "model folder consistent?", field="encoder")
        _save_array(_shard_path(self.work, b), vecs)

    def finish(self) -> Path:
        """Merge every shard into `out_dir` (atomically) and remove the work directory; returns `out_dir`."""
        _finalize(self.work, self.out_dir, self.n_batches, self.todo_ids, self.dim, meta=self.meta,
                  missing_items=self.missing_items)
        shutil.rmtree(self.work, ignore_errors=True)
        return self.out_dir


def fingerprint_of(spec: str) -> dict[str, str]:
    """`{"model_fingerprint": ...}` for a spec naming local model files (`registry.model_fingerprint`), {}
    for a hub name or a packaged model: the store's meta records the weights its vectors came from."""
    from kvqae.encode.registry import model_fingerprint

    found = model_fingerprint(spec)
    return {MODEL_FINGERPRINT: found} if found else {}


def plan_encoding(
    encoder: Any,
    ids: Sequence[str],
    items: Sequence[Any],
    *,
    kind: str,
    role: str,
    field: str,
    out_dir: str | Path,
    batch_size: int,
    resume: bool,
) -> EncodePlan:
    """Validate the inputs and prepare `<out_dir>.partial/` (kept when `resume` and the inputs are identical).

    `encoder`: an `Encoder`, or anything with the same `spec`, `dim`, `modalities` and `normalized`
    attributes (the Ray path plans with a description of an encoder that lives elsewhere).
    """
    if kind not in ("image", "text"):
        raise InputError(f"kind must be 'image' or 'text', got {kind!r}", field="kind")
    if kind not in encoder.modalities:
        raise InputError(f"encoder {encoder.spec!r} cannot encode {kind}s "
                         f"(it encodes {sorted(encoder.modalities)})", field="encoder")
    if batch_size < 1:
        raise InputError("batch size must be >= 1", field="batch_size")
    out_dir = Path(out_dir)
    present = _check_items(ids, items, kind, field)
    todo_ids = [ids[i] for i in present]
    todo_items = [str(items[i]) if kind == "image" else items[i] for i in present]
    dim = int(encoder.dim)

    work = partial_dir(out_dir)
    # a local model's files too: one retrained or replaced in place between the runs made a store of two
    # models' vectors
    manifest = {"encoder": encoder.spec, "field": field, "kind": kind, "role": role, "dim": dim,
                "batch_size": batch_size, "count": len(present),
                "ids_sha1": _fingerprint(todo_ids), "items_sha1": _fingerprint(todo_items),
                "model_files": [path_stamp(Path(p)) for p in spec_paths(encoder.spec)]}
    if work.exists():
        try:
            old = json.loads((work / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            old = None
        if not resume or old != manifest:  # different inputs: earlier shards are not reusable
            shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    write_json(work / MANIFEST, manifest)
    plan = EncodePlan(work, out_dir, batch_size, dim, todo_ids, todo_items, [],
                      meta={"encoder": encoder.spec, "field": field, "kind": kind, "role": role, "dim": dim,
                            "dtype": "float32", "normalized": bool(encoder.normalized),
                            **fingerprint_of(encoder.spec)},
                      missing_items=[ids[i] for i in range(len(ids)) if items[i] is None])
    plan.todo = [b for b in range(plan.n_batches)
                 if not _shard_done(_shard_path(work, b), plan.rows(b), dim)]
    return plan


def encode_to_dir(
    encoder: Encoder,
    ids: Sequence[str],
    items: Sequence[Any],
    *,
    kind: Literal["image", "text"] = "image",
    role: str = "passage",
    field: str,
    out_dir: str | Path,
    batch_size: int = 64,
    resume: bool = True,
    progress: bool = True,
    workers: int | None = None,
    stats: dict[str, float] | None = None,
) -> Path:
    """Encode `items` (image file paths when kind="image", texts when kind="text") into `out_dir`.

    ids: one unique string id per item. An item that is None has no embedding and goes to `meta.missing`, as
    does one the encoder returns a NaN row for (no face). role: text role passed to the encoder ("query",
    "passage", "title"). Each batch of `batch_size` items is saved as a shard in `<out_dir>.partial/`; with
    `resume`, shards of an earlier interrupted run with identical inputs are reused. Images are decoded
    and preprocessed in `workers` background threads. An unreadable image raises InputError naming the file
    and the id. `stats`, when given, is filled with seconds spent waiting for the image loader
    (`loader_wait_s`), in the model (`model_s`) and writing shards (`write_s`), and the batch count
    (images: also `model_threads`, the torch threads a CPU model ran with beside the loader, 0 on a GPU).
    Returns `out_dir`.
    """
    import time

    from kvqae.progress import track

    plan = plan_encoding(encoder, ids, items, kind=kind, role=role, field=field, out_dir=out_dir,
                         batch_size=batch_size, resume=resume)
    todo, todo_ids, todo_items, rows = plan.todo, plan.todo_ids, plan.todo_items, plan.rows
    timing = {"loader_wait_s": 0.0, "model_s": 0.0, "write_s": 0.0, "batches": 0.0}

    def batches() -> Iterator[tuple[int, np.ndarray]]:
        if kind == "text":
            for b in todo:
                t0 = time.perf_counter()
                vecs = encoder.encode_texts(todo_items[b * batch_size: b * batch_size + rows(b)], role=role)
                timing["model_s"] += time.perf_counter() - t0
                yield b, vecs
            return
        from kvqae.encode.loader import PrefetchingImageBatches, model_threads_beside_loader

        loader = iter(PrefetchingImageBatches(todo_items, todo_ids, batch_size, batches=todo,
                                              prepare=encoder.prepare_images,
                                              new_batch=encoder.new_image_batch,
                                              prepare_into=encoder.prepare_images_into, workers=workers,
                                              min_size=encoder.image_size, field=field))
        # a CPU model leaves one core to the decoding threads (its threads stall when one is preempted)
        with model_threads_beside_loader(encoder) as threads:
            timing["model_threads"] = float(threads)
            try:
                while True:
                    t0 = time.perf_counter()
                    nxt = next(loader, None)
                    t1 = time.perf_counter()
                    timing["loader_wait_s"] += t1 - t0  # > 0 only when the model had to wait for decoding
                    if nxt is None:
                        return
                    vecs = encoder.encode_prepared(nxt[1])
                    timing["model_s"] += time.perf_counter() - t1
                    yield nxt[0], vecs
            finally:
                loader.close()  # stops the background threads on an error or interruption

    desc = f"encoding {field} ({encoder.spec})"
    for b, vecs in track(batches(), desc, total=len(todo), enabled=progress):
        t0 = time.perf_counter()
        plan.save_shard(b, vecs)
        timing["write_s"] += time.perf_counter() - t0
        timing["batches"] += 1

    plan.finish()
    if stats is not None:
        stats.update(timing)
    return plan.out_dir


def _finalize(work: Path, out_dir: Path, n_batches: int, todo_ids: list[str], dim: int,
              meta: dict[str, Any], missing_items: list[str]) -> None:
    """Stream the shards into one `vectors.npy` (memory: one shard at a time), dropping NaN rows."""
    masks = []
    for b in range(n_batches):
        arr = np.load(_shard_path(work, b), mmap_mode="r", allow_pickle=False)
        masks.append(~np.isnan(arr).any(axis=1))
    keep = np.concatenate(masks) if masks else np.zeros(0, dtype=bool)
    spec = str(meta.get("encoder"))
    if len(keep) and not keep.any() and not spec.startswith("face:"):  # face: NaN = no face, by design
        # a broken model (one trained with `lr: .inf` is NaN throughout) wrote 0 vectors and "all missing";
        # its shards go too, or a resumed run with the model fixed in place would reuse them
        shutil.rmtree(work, ignore_errors=True)
        raise InputError(f"encoder {spec!r} computed NaN for all {len(keep)} items: is the model broken "
                         "(e.g. trained with a non-finite learning rate)? Nothing was written")
    kept_ids = [i for i, k in zip(todo_ids, keep, strict=True) if k]
    no_embedding = [i for i, k in zip(todo_ids, keep, strict=True) if not k]
    with atomic_dir(out_dir) as tmp:
        out = np.lib.format.open_memmap(tmp / "vectors.npy", mode="w+", dtype=np.float32,
                                        shape=(len(kept_ids), dim))
        row = 0
        for b in range(n_batches):
            arr = np.load(_shard_path(work, b), allow_pickle=False)[masks[b]]
            out[row: row + len(arr)] = arr
            row += len(arr)
        out.flush()
        del out
        (tmp / "ids.json").write_text(json.dumps(kept_ids, ensure_ascii=False), encoding="utf-8")
        meta = dict(meta, count=len(kept_ids), missing=missing_items + no_embedding)
        text = json.dumps(meta, indent=2, ensure_ascii=False) + "\n"
        (tmp / "meta.json").write_text(text, encoding="utf-8")


def _as_encoder(encoder: str | Encoder, device: str) -> Encoder:
    if isinstance(encoder, str):
        from kvqae.encode.registry import load_encoder

        return load_encoder(encoder, device=device)
    return encoder


def kb_items(kb: Any, field: str) -> tuple[list[str], list[Any], str, str]:
    """A KB (directory or `KnowledgeBase`) -> (ids, items, kind, text role) to encode for `field`.

    "image": one item per entity, its image path (None when it has none); "title": the entity titles (role
    "title"); "passage": one item per passage (role "passage")."""
    from kvqae.data.kb import KnowledgeBase

    if not hasattr(kb, "entities"):
        kb = KnowledgeBase.load(kb)
    if field not in ("image", "title", "passage"):
        raise InputError(f"KB field must be image, title or passage, got {field!r}", field="field")
    if field == "passage":
        ids = [str(x) for x in kb.passages["passage_id"]]
        items: list[Any] = list(kb.passages["text"])
    else:
        ids = [str(x) for x in kb.entities["entity_id"]]
        col = kb.entities["image" if field == "image" else "title"]
        items = [None if (v is None or (isinstance(v, float) and np.isnan(v))) else v for v in col]
    return ids, items, KIND_OF_FIELD[field], "title" if field == "title" else "passage"


def question_items(questions: Any, field: str) -> tuple[list[str], list[Any], str, str]:
    """Questions (a path read by `load_questions`, or a list of `Question`) -> (ids, items, kind, "query"):
    the question images (None when a question has none) or texts."""
    if field not in ("image", "question"):
        raise InputError(f"question field must be image or question, got {field!r}", field="field")
    if isinstance(questions, (str, Path)):
        from kvqae.data.questions import load_questions

        # every photo is found before the model loads, named by the file's line (a missing one stopped the
        # encoding part-way, naming only the question id)
        questions = load_questions(questions, check_images=field == "image")
    ids = [str(q.id) for q in questions]
    items = [q.image if field == "image" else q.question for q in questions]
    return ids, items, KIND_OF_FIELD[field], "query"


def _encode_items(encoder: str | Encoder, parts: tuple[list[str], list[Any], str, str], field: str,
                  out_dir: str | Path, *, device: str, batch_size: int, resume: bool, progress: bool,
                  ray: str | None, ray_actors: int | None) -> Path:
    """Encode in this process, or on Ray when `ray` (an address, see kvqae.ray_cluster) is given."""
    ids, items, kind, role = parts
    if ray is None:
        return encode_to_dir(_as_encoder(encoder, device), ids, items, kind=kind, role=role, field=field,
                             out_dir=out_dir, batch_size=batch_size, resume=resume, progress=progress)
    if not isinstance(encoder, str):
        raise InputError("encoding on Ray takes an encoder spec string (each worker loads its own copy)",
                         field="encoder")
    from kvqae.encode.ray_encode import encode_to_dir_ray

    return encode_to_dir_ray(encoder, ids, items, kind=kind, role=role, field=field, out_dir=out_dir,
                             address=ray, batch_size=batch_size, resume=resume, progress=progress,
                             actors=ray_actors)


def encode_kb(
    kb: Any,
    encoder: str | Encoder,
    field: Literal["image", "title", "passage"],
    out_dir: str | Path,
    *,
    device: str = "cpu",
    batch_size: int = 64,
    resume: bool = True,
    progress: bool = True,
    ray: str | None = None,
    ray_actors: int | None = None,
) -> Path:
    """Encode a knowledge base (a directory or a `KnowledgeBase`): entity images, entity titles or passages.

    field "image": one row per entity with an image (entities without one are `missing`); "title": one row per
    entity (text role "title"); "passage": one row per passage (text role "passage"). `ray`: a Ray address
    (kvqae.ray_cluster) to encode on a Ray cluster instead of in this process (`ray_actors` model copies,
    default one per GPU or CPU), with the same result. Returns `out_dir`.
    """
    out = _encode_items(encoder, kb_items(kb, field), field, out_dir, device=device, batch_size=batch_size,
                        resume=resume, progress=progress, ray=ray, ray_actors=ray_actors)
    if field == "passage":  # the KB its ids belong to, for the indexes and runs made from it
        from kvqae.data.provenance import KB_KEY, kb_digest
        from kvqae.io import read_json, write_json

        digest = kb_digest(kb)
        meta = read_json(Path(out) / "meta.json")
        if digest and meta.get(KB_KEY) != digest:
            write_json(Path(out) / "meta.json", {**meta, KB_KEY: digest})
    return out


def encode_questions(
    questions: Any,
    encoder: str | Encoder,
    field: Literal["image", "question"],
    out_dir: str | Path,
    *,
    device: str = "cpu",
    batch_size: int = 64,
    resume: bool = True,
    progress: bool = True,
    ray: str | None = None,
    ray_actors: int | None = None,
) -> Path:
    """Encode questions (a path read by `load_questions`, or a list of `Question`): images or texts.

    field "image": question images (questions without one are `missing`); "question": the question text with
    text role "query". `ray`, `ray_actors`: as in `encode_kb`. Returns `out_dir`.
    """
    return _encode_items(encoder, question_items(questions, field), field, out_dir, device=device,
                         batch_size=batch_size, resume=resume, progress=progress, ray=ray,
                         ray_actors=ray_actors)
