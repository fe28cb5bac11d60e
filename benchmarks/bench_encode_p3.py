"""Benchmark P3: end-to-end image encoding through `encode_to_dir` vs the model's own forward throughput.

Both sides use the same CLIP (built locally from the "small" preset), the same batch size and the same
torch threads. "model" times only `encode_prepared` on pixel tensors decoded and preprocessed beforehand;
"end-to-end" times `encode_to_dir` on the JPEG files (decode + preprocess in the background loader, model,
shard writes, final vectors.npy). Goal: end-to-end >= 0.9x model throughput. Trials alternate the two
measurements so a noisy machine affects both alike; the median of per-trial ratios is reported.

    .venv/bin/python benchmarks/bench_encode_p3.py [--n 512] [--batch-size 64] [--size 640x480] [--trials 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def make_images(folder: Path, n: int, size: tuple[int, int], seed: int = 0) -> list[str]:
    """Write `n` photo-like JPEGs (smooth random colour fields with noise) of `size` = (width, height)."""
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


def model_only(encoder, paths: list[str], batch_size: int) -> tuple[float, float]:
    """(images/s, CPU ms per image) of `encode_prepared` alone on batches prepared in advance."""
    from kvqae.encode.loader import open_image

    batches = [encoder.prepare_images([open_image(p, min_size=encoder.image_size)
                                       for p in paths[i:i + batch_size]])
               for i in range(0, len(paths), batch_size)]
    encoder.encode_prepared(batches[0])  # warm-up
    t0, c0 = time.perf_counter(), time.process_time()
    for b in batches:
        encoder.encode_prepared(b)
    return len(paths) / (time.perf_counter() - t0), (time.process_time() - c0) * 1e3 / len(paths)


def end_to_end(encoder, paths: list[str], batch_size: int, out: Path, workers: int | None
               ) -> tuple[float, float, float]:
    """(images/s, CPU ms per image, fraction of time the model waited for the loader) of `encode_to_dir`
    from JPEG files to a finished embeddings directory."""
    from kvqae.encode.store import encode_to_dir

    ids = [f"i{k}" for k in range(len(paths))]
    stats: dict[str, float] = {}
    t0, c0 = time.perf_counter(), time.process_time()
    encode_to_dir(encoder, ids, paths, kind="image", field="image", out_dir=out, batch_size=batch_size,
                  resume=False, progress=False, workers=workers, stats=stats)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    shutil.rmtree(out)
    return len(paths) / elapsed, cpu * 1e3 / len(paths), stats["loader_wait_s"] / elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=512, help="number of JPEG files")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--size", default="640x480", help="JPEG size WxH")
    ap.add_argument("--preset", default="small", help="CLIP preset of kvqae.encode.small_clip")
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--workers", type=int, default=None, help="loader threads (default: min(4, cpus))")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    args = ap.parse_args()

    import torch

    from kvqae.encode.loader import default_workers
    from kvqae.encode.registry import load_encoder
    from kvqae.encode.small_clip import build_small_clip

    w, h = (int(x) for x in args.size.lower().split("x"))
    with tempfile.TemporaryDirectory(prefix="kvqae-bench-p3-") as tmp:
        root = Path(tmp)
        model_dir = build_small_clip(root / "clip", args.preset, seed=0)
        encoder = load_encoder(f"clip:{model_dir}", device=args.device)
        paths = make_images(root / "images", args.n, (w, h))
        model_tp, e2e_tp, ratios, model_cpu, e2e_cpu, waits = [], [], [], [], [], []
        end_to_end(encoder, paths[: args.batch_size], args.batch_size, root / "warm", args.workers)  # warm-up
        for t in range(args.trials):
            m, mc = model_only(encoder, paths, args.batch_size)
            e, ec, wait = end_to_end(encoder, paths, args.batch_size, root / "emb", args.workers)
            model_tp.append(m)
            e2e_tp.append(e)
            ratios.append(e / m)
            model_cpu.append(mc)
            e2e_cpu.append(ec)
            waits.append(wait)
            print(f"trial {t + 1}: model {m:7.1f} img/s ({mc:5.1f} CPU ms/img)   end-to-end {e:7.1f} img/s "
                  f"({ec:5.1f} CPU ms/img, model waited {wait:.1%} of the time)   ratio {e / m:.3f}")
    result = {
        "images": args.n, "image_size": f"{w}x{h}", "batch_size": args.batch_size, "preset": args.preset,
        "device": args.device, "torch_threads": torch.get_num_threads(),
        "loader_workers": args.workers or default_workers(),
        "model_img_per_s": statistics.median(model_tp), "end_to_end_img_per_s": statistics.median(e2e_tp),
        "ratio_median": statistics.median(ratios), "ratios": ratios,
        "model_cpu_ms_per_img": statistics.median(model_cpu),
        "end_to_end_cpu_ms_per_img": statistics.median(e2e_cpu),
        "model_wait_fraction": statistics.median(waits),
    }
    print(f"\n{'':24}{'images/s':>10}")
    print(f"{'model forward only':24}{result['model_img_per_s']:10.1f}")
    print(f"{'end-to-end (files)':24}{result['end_to_end_img_per_s']:10.1f}")
    print(f"CPU ms/img: model {result['model_cpu_ms_per_img']:.2f}, end-to-end "
          f"{result['end_to_end_cpu_ms_per_img']:.2f}; model waited for the loader "
          f"{result['model_wait_fraction']:.1%} of the end-to-end time (median)")
    print(f"ratio end-to-end / model (median of {args.trials} trials): {result['ratio_median']:.3f}  "
          f"(goal >= 0.9)  [{args.n} JPEGs {w}x{h}, batch {args.batch_size}, CLIP preset {args.preset}, "
          f"{args.device}, torch threads {result['torch_threads']}, "
          f"loader workers {result['loader_workers']}]")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
