"""Benchmark P3: end-to-end image encoding through `encode_to_dir` vs the model's own forward throughput.

Two model sizes, both CLIP image towers built locally with random weights (no download): the "small"
preset (64 px input, patch 8, 4 layers, width 128) and a ViT-B/32-sized tower ("vit-b32": 224 px, patch 32,
12 layers, width 768, the vision config of openai/clip-vit-base-patch32). For each, with the same batch size
and torch threads, it measures
  - model forward only: `encode_prepared` on pixel tensors prepared beforehand,
  - decode only: the image loader alone (decode + preprocess JPEG files into batches, no model): the limit,
  - end-to-end: `encode_to_dir` on the JPEG files (loader in background threads, model, shard writes, final
    vectors.npy); the goal is end-to-end >= 0.9x model forward,
for the current loader ("new") and the loader as it was before issue 15 ("old": whole batches per thread,
a copy per decoded image, one stacked + normalised array per batch, resize of the whole image then crop, draft
decoding without the partial-block geometry, the model keeping all its torch threads beside the loader). The
old path exists only here, to compare. Every trial measures all configurations back to back (in a rotating
order) so a busy machine affects them alike; per-trial ratios and their medians are reported, with the
CPU-time ratio (model CPU ms per image / end-to-end CPU ms per image), which is what the wall-clock ratio
approaches on a dedicated machine whose cores both runs keep busy, and which moves far less when others share
the machine. On a CPU the new end-to-end runs the model on one core fewer (see
`kvqae.encode.loader.model_threads_beside_loader`); the model alone at that thread count is measured too.

    .venv/bin/python benchmarks/bench_encode_p3.py [--models small,vit-b32] [--n 512] [--n-vit 32]
        [--batch-size 64] [--batch-size-vit 16] [--trials 5] [--threads 2] [--workers N] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

# ViT-B/32 image tower (openai/clip-vit-base-patch32 vision config) with a tiny text tower: only images are
# encoded here, and a small text tower keeps building and saving the checkpoint quick.
VIT_B32: dict[str, Any] = {
    "projection_dim": 512,
    "vision": {"image_size": 224, "patch_size": 32, "hidden_size": 768, "intermediate_size": 3072,
               "num_hidden_layers": 12, "num_attention_heads": 12},
    "text": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 1, "num_attention_heads": 2,
             "max_position_embeddings": 77},
}
MODELS = {"small": "small", "vit-b32": VIT_B32}


def make_images(folder: Path, n: int, size: tuple[int, int], seed: int = 0) -> list[str]:
    """Write `n` photo-like JPEGs (smooth random colour fields with noise) of `size` = (width, height).

    At quality 90 they take about 3.2 bits per pixel (121 KB at 640x480), inside the range of real photos
    (1.3-5.8 bpp for the photos in shared/data/photos): JPEG decoding cost grows with the compressed size.
    """
    from PIL import Image

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    w, h = size
    paths = []
    for i in range(n):
        coarse = (rng.random((h // 32 + 1, w // 32 + 1, 3)) * 255).astype(np.uint8)
        im = Image.fromarray(coarse).resize((w, h), Image.Resampling.BICUBIC)
        noise = rng.normal(0, 12, (h, w, 3))
        arr = np.clip(np.asarray(im, dtype=np.float32) + noise, 0, 255).astype(np.uint8)
        p = folder / f"img{i:05d}.jpg"
        Image.fromarray(arr).save(p, quality=90)
        paths.append(str(p))
    return paths


# --------------------------------------------------------------------------------------------- old loader


def old_open_image(path: str | Path, *, item_id: str | None = None, field: str | None = None,
                   min_size: int | None = None):
    """The loader's `open_image` before issue 15 (draft without geometry, a copy per image)."""
    from PIL import Image

    with Image.open(path) as im:
        if min_size and im.format == "JPEG":
            w, h = im.size
            scale = min(w, h) / min_size
            if scale >= 2:
                im.draft("RGB", (max(1, int(w / scale)), max(1, int(h / scale))))
        im.load()
        return im.convert("RGB") if im.mode != "RGB" else im.copy()


class OldClip:
    """A ClipEncoder seen through its pre-issue-15 preprocessing: whole batches, resize then crop, stack,
    normalise the stacked array; no in-place batch (so the loader uses one thread per batch)."""

    def __init__(self, enc: Any) -> None:
        from kvqae.encode.clip import _fast_preprocessing

        self.enc = enc
        self.spec, self.dim, self.modalities = enc.spec, enc.dim, enc.modalities
        self.normalized, self.image_size = enc.normalized, enc.image_size
        short, crop, resample, _, _ = _fast_preprocessing(enc.image_processor)
        ip = enc.image_processor
        self.recipe = (short, crop, resample, np.float32(ip.rescale_factor),
                       np.asarray(ip.image_mean, dtype=np.float32).reshape(1, 1, 1, 3),
                       np.asarray(ip.image_std, dtype=np.float32).reshape(1, 1, 1, 3))

    def prepare_images(self, images: Sequence[Any]) -> Any:
        import torch

        short, (ch, cw), resample, scale, mean, std = self.recipe
        crops = []
        for im in images:
            w, h = im.size
            size = (short, int(short * h / w)) if w <= h else (int(short * w / h), short)
            arr = np.asarray(im.resize(size, resample=resample))
            top, left = (arr.shape[0] - ch) // 2, (arr.shape[1] - cw) // 2
            crops.append(arr[top:top + ch, left:left + cw])
        batch = np.stack(crops).astype(np.float32) * scale
        batch = (batch - mean) / std
        return torch.from_numpy(np.ascontiguousarray(batch.transpose(0, 3, 1, 2)))

    def new_image_batch(self, n: int) -> None:
        return None

    def prepare_images_into(self, images: Sequence[Any], batch: Any, start: int) -> None:
        raise NotImplementedError

    def encode_prepared(self, batch: Any) -> np.ndarray:
        return self.enc.encode_prepared(batch)


@contextlib.contextmanager
def same_model_threads(encoder: Any) -> Iterator[int]:
    """The old policy: the model keeps all its torch threads beside the loader."""
    import torch

    yield torch.get_num_threads()


@contextlib.contextmanager
def loader_version(old: bool) -> Iterator[None]:
    """Within the block, `encode_to_dir` decodes with the old `open_image` and keeps the model's torch
    threads when `old`."""
    from kvqae.encode import loader

    saved = loader.open_image, loader.model_threads_beside_loader
    if old:
        loader.open_image, loader.model_threads_beside_loader = old_open_image, same_model_threads
    try:
        yield
    finally:
        loader.open_image, loader.model_threads_beside_loader = saved


# ---------------------------------------------------------------------------------------------- measures


def model_only(encoder: Any, batches: list[Any], n: int, threads: int) -> tuple[float, float]:
    """(images/s, CPU ms per image) of `encode_prepared` alone, with `threads` torch threads, on batches
    prepared in advance."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        for b in batches:
            encoder.encode_prepared(b)
        return n / (time.perf_counter() - t0), (time.process_time() - c0) * 1e3 / n
    finally:
        torch.set_num_threads(before)


def decode_only(encoder: Any, paths: list[str], batch_size: int, workers: int | None, old: bool
                ) -> tuple[float, float]:
    """(images/s, CPU ms per image) of the loader alone: batches made in its threads, no model."""
    from kvqae.encode.loader import PrefetchingImageBatches

    ids = [f"i{k}" for k in range(len(paths))]
    with loader_version(old):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in PrefetchingImageBatches(paths, ids, batch_size, prepare=encoder.prepare_images,
                                         new_batch=encoder.new_image_batch,
                                         prepare_into=encoder.prepare_images_into, workers=workers,
                                         min_size=encoder.image_size):
            pass
        return len(paths) / (time.perf_counter() - t0), (time.process_time() - c0) * 1e3 / len(paths)


def end_to_end(encoder: Any, paths: list[str], batch_size: int, out: Path, workers: int | None, old: bool
               ) -> tuple[float, float, float]:
    """(images/s, CPU ms per image, fraction of time the model waited for the loader) of `encode_to_dir`
    from JPEG files to a finished embeddings directory."""
    from kvqae.encode.store import encode_to_dir

    ids = [f"i{k}" for k in range(len(paths))]
    stats: dict[str, float] = {}
    with loader_version(old):
        t0, c0 = time.perf_counter(), time.process_time()
        encode_to_dir(encoder, ids, paths, kind="image", field="image", out_dir=out, batch_size=batch_size,
                      resume=False, progress=False, workers=workers, stats=stats)
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    shutil.rmtree(out)
    return len(paths) / elapsed, cpu * 1e3 / len(paths), stats["loader_wait_s"] / elapsed


def bench_model(name: str, root: Path, paths: list[str], batch_size: int, trials: int, workers: int | None,
                loaders: list[str], device: str) -> dict[str, Any]:
    """All measures of one model size: `trials` rounds, each running every configuration once."""
    from kvqae.encode.loader import open_image
    from kvqae.encode.registry import load_encoder
    from kvqae.encode.small_clip import build_small_clip

    enc = load_encoder(f"clip:{build_small_clip(root / name, MODELS[name], seed=0)}", device=device)
    encoders = {"new": enc, "old": OldClip(enc)}
    batches = [enc.prepare_images([open_image(p, min_size=enc.image_size) for p in paths[i:i + batch_size]])
               for i in range(0, len(paths), batch_size)]
    enc.encode_prepared(batches[0])  # warm-up
    for v in loaders:  # warm-up of each loader (thread pool, first-call costs)
        end_to_end(encoders[v], paths[:batch_size], batch_size, root / "warm", workers, v == "old")
    import torch

    from kvqae.encode.loader import model_threads_beside_loader

    threads = torch.get_num_threads()
    with model_threads_beside_loader(enc) as beside:  # what the new end-to-end gives the model
        pass
    jobs: list[tuple[str, Any]] = [("model", lambda: model_only(enc, batches, len(paths), threads))]
    if beside != threads:  # for reference: the model alone at the thread count it gets end-to-end
        jobs.append(("model_beside", lambda: model_only(enc, batches, len(paths), beside)))
    for v in loaders:
        jobs.append((f"decode_{v}", lambda v=v: decode_only(encoders[v], paths, batch_size, workers,
                                                            v == "old")))
        jobs.append((f"e2e_{v}", lambda v=v: end_to_end(encoders[v], paths, batch_size, root / "emb", workers,
                                                        v == "old")))
    runs: dict[str, list[tuple[float, ...]]] = {k: [] for k, _ in jobs}
    for t in range(trials):
        for k, job in jobs[t % len(jobs):] + jobs[:t % len(jobs)]:  # rotate the order between trials
            runs[k].append(job())
        line = "  ".join(f"{k} {runs[k][-1][0]:7.1f}" for k, _ in jobs)
        ratios = "  ".join(f"{v} {runs[f'e2e_{v}'][-1][0] / runs['model'][-1][0]:.3f}" for v in loaders)
        print(f"[{name}] trial {t + 1}: img/s  {line}   ratio e2e/model: {ratios}", flush=True)
    res: dict[str, Any] = {"model": name, "image_size": enc.image_size, "images": len(paths),
                           "batch_size": batch_size, "torch_threads": threads,
                           "new_e2e_model_threads": beside, "runs": runs}
    med = statistics.median
    res["model_img_per_s"] = med(r[0] for r in runs["model"])
    res["model_cpu_ms_per_img"] = med(r[1] for r in runs["model"])
    if "model_beside" in runs:
        res["model_beside_img_per_s"] = med(r[0] for r in runs["model_beside"])
    for v in loaders:
        res[v] = {
            "decode_img_per_s": med(r[0] for r in runs[f"decode_{v}"]),
            "decode_cpu_ms_per_img": med(r[1] for r in runs[f"decode_{v}"]),
            "e2e_img_per_s": med(r[0] for r in runs[f"e2e_{v}"]),
            "e2e_cpu_ms_per_img": med(r[1] for r in runs[f"e2e_{v}"]),
            "model_wait_fraction": med(r[2] for r in runs[f"e2e_{v}"]),
            "ratios": [e[0] / m[0] for e, m in zip(runs[f"e2e_{v}"], runs["model"], strict=True)],
        }
        res[v]["ratio_median"] = med(res[v]["ratios"])
        # CPU seconds per image, model alone vs end-to-end: what the wall-clock ratio tends to on a dedicated
        # machine whose cores both runs keep busy; steadier than wall-clock ratios when others share the cores
        res[v]["cpu_ratio_median"] = med(m[1] / e[1] for e, m in zip(runs[f"e2e_{v}"], runs["model"],
                                                                         strict=True))
    return res


def print_table(res: dict[str, Any], loaders: list[str]) -> None:
    print(f"\n{res['model']} ({res['image_size']} px input, {res['images']} JPEGs, "
          f"batch {res['batch_size']}); medians over trials")
    print(f"{'':34}" + "".join(f"{v + ' loader':>16}" for v in loaders))
    print(f"{'model forward only, img/s':34}" + "".join(f"{res['model_img_per_s']:16.1f}" for _ in loaders))
    for key, label in (("decode_img_per_s", "decode only (loader alone), img/s"),
                       ("e2e_img_per_s", "end-to-end, img/s"), ("ratio_median", "ratio end-to-end / model"),
                       ("cpu_ratio_median", "CPU-time ratio model / end-to-end")):
        print(f"{label:34}" + "".join(f"{res[v][key]:16.3f}" if "ratio" in key else
                                      f"{res[v][key]:16.1f}" for v in loaders))
    print(f"{'CPU ms/img: loader alone':34}" + "".join(f"{res[v]['decode_cpu_ms_per_img']:16.2f}"
                                                        for v in loaders))
    print(f"{'CPU ms/img: end-to-end':34}" + "".join(f"{res[v]['e2e_cpu_ms_per_img']:16.2f}"
                                                      for v in loaders))
    print(f"CPU ms/img of the model forward: {res['model_cpu_ms_per_img']:.2f}")
    if "model_beside_img_per_s" in res:
        print(f"the new end-to-end runs the model with {res['new_e2e_model_threads']} torch thread(s) beside "
              f"the loader (old: {res['torch_threads']}); model forward only at that count: "
              f"{res['model_beside_img_per_s']:.1f} img/s")
    for v in loaders:
        print(f"{v}: per-trial ratios " + ", ".join(f"{r:.3f}" for r in res[v]["ratios"]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="small,vit-b32", help=f"comma-separated, from {sorted(MODELS)}")
    ap.add_argument("--n", type=int, default=512, help="number of JPEG files (small model)")
    ap.add_argument("--n-vit", type=int, default=32, help="number of JPEG files for vit-b32 (a slow model)")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--batch-size-vit", type=int, default=16)
    ap.add_argument("--size", default="640x480", help="JPEG size WxH")
    ap.add_argument("--trials", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2, help="torch threads")
    ap.add_argument("--workers", type=int, default=None, help="loader threads (default: min(4, cpus))")
    ap.add_argument("--loaders", default="old,new", help="which loaders to measure: old,new | new | old")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    args = ap.parse_args()

    import torch

    from kvqae.encode.loader import default_workers

    torch.set_num_threads(args.threads)
    loaders = [v for v in args.loaders.split(",") if v]
    w, h = (int(x) for x in args.size.lower().split("x"))
    results = []
    with tempfile.TemporaryDirectory(prefix="kvqae-bench-p3-") as tmp:
        root = Path(tmp)
        all_paths = make_images(root / "images", max(args.n, args.n_vit), (w, h))
        for name in args.models.split(","):
            vit = name == "vit-b32"
            n, bs = (args.n_vit, args.batch_size_vit) if vit else (args.n, args.batch_size)
            results.append(bench_model(name, root, all_paths[:n], bs, args.trials, args.workers, loaders,
                                       args.device))
    for res in results:
        print_table(res, loaders)
    setup = {"image_size": f"{w}x{h}", "device": args.device, "torch_threads": torch.get_num_threads(),
             "loader_workers": args.workers or default_workers(), "trials": args.trials}
    print(f"\n[{w}x{h} JPEGs, {args.device}, torch threads {setup['torch_threads']}, "
          f"loader threads {setup['loader_workers']}; goal: ratio >= 0.9]")
    if args.json:
        args.json.write_text(json.dumps({"setup": setup, "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
