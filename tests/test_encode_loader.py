"""Image loader: draft decoding (size, geometry, faithfulness), in-place batches, order, bad files."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from kvqae.encode.loader import DRAFT_INFO, PrefetchingImageBatches, decoded_geometry, draft_size, open_image
from kvqae.encode.registry import load_encoder
from kvqae.encode.store import encode_to_dir
from kvqae.errors import InputError


@pytest.fixture(scope="module")
def clip_enc(tiny_clip):
    return load_encoder(f"clip:{tiny_clip}")  # 32 px input: shortest edge 32, center crop 32x32


def photo(path: Path, size: tuple[int, int], seed: int = 0) -> Path:
    """A photo-like JPEG (smooth colour field + noise, as the P3 benchmark makes them)."""
    rng = np.random.default_rng(seed)
    w, h = size
    coarse = (rng.random((h // 32 + 1, w // 32 + 1, 3)) * 255).astype(np.uint8)
    arr = np.asarray(Image.fromarray(coarse).resize((w, h), Image.Resampling.BICUBIC), dtype=np.float32)
    arr = np.clip(arr + rng.normal(0, 12, (h, w, 3)), 0, 255).astype(np.uint8)
    Image.fromarray(arr).save(path, quality=90)
    return path


def rectangles(path: Path, size: tuple[int, int], seed: int = 1) -> Path:
    """Sharp-edged coloured rectangles: any misplacement of the picture shows as large differences."""
    rng = np.random.default_rng(seed)
    w, h = size
    im = Image.new("RGB", size, (128, 128, 128))
    draw = ImageDraw.Draw(im)
    for _ in range(60):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        draw.rectangle([x, y, x + int(rng.integers(10, w // 3)), y + int(rng.integers(10, h // 3))],
                       fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    im.save(path, quality=95)
    return path


def grey_levels(ours: np.ndarray, ref: np.ndarray, std) -> np.ndarray:
    """|difference| of two normalised pixel batches, in 0-255 grey levels."""
    return np.abs(ours - ref) * np.asarray(std, dtype=np.float32).reshape(1, 3, 1, 1) * 255


def test_draft_sizes_and_geometry(tmp_path):
    assert draft_size((640, 480), 64) == (85, 64)  # 480 / 64 = 7.5: ask for 85x64, PIL picks 1/4
    assert draft_size((640, 480), 300) is None  # 1/2 would give 240 < 300
    p = photo(tmp_path / "a.jpg", (640, 480))
    cases = ((64, (160, 120), 4), (224, (320, 240), 2), (32, (80, 60), 8), (300, (640, 480), 1))
    for need, size, scale in cases:
        im = open_image(p, min_size=need)
        assert im.size == size and im.mode == "RGB"
        assert decoded_geometry(im) == ((640, 480), scale)
    # sides that are not multiples of the scale: ceil(997 / 8) = 125, ceil(763 / 8) = 96
    odd = open_image(rectangles(tmp_path / "odd.jpg", (997, 763)), min_size=32)
    assert odd.size == (125, 96) and decoded_geometry(odd) == ((997, 763), 8)
    assert DRAFT_INFO not in open_image(p).info  # no min_size: full decode, as the face encoder needs


@pytest.mark.parametrize("make,size,tol", [(photo, (640, 480), 1.0), (rectangles, (997, 763), 1.0),
                                          (rectangles, (763, 997), 1.0)])
def test_loader_batch_matches_processor_on_full_image(clip_enc, tmp_path, make, size, tol):
    """The loader's batch (draft decode + in-place preprocessing) ~= the processor on the full decode."""
    p = str(make(tmp_path / "x.jpg", size))
    (_, batch), = list(PrefetchingImageBatches([p], ["x"], 1, new_batch=clip_enc.new_image_batch,
                                               prepare_into=clip_enc.prepare_images_into,
                                               min_size=clip_enc.image_size))
    with Image.open(p) as full:
        ref = clip_enc.image_processor(images=[full.convert("RGB")], return_tensors="pt")["pixel_values"]
    assert tuple(batch.shape) == tuple(ref.shape) == (1, 3, 32, 32) and batch.dtype == ref.dtype
    diff = grey_levels(batch.numpy(), ref.numpy(), clip_enc.image_processor.image_std)
    # measured: 0.4-0.8 grey levels on average; placing the drafted picture by its pixel grid instead of
    # by the file's geometry (the loader before issue 15) gave 2.4-2.6 on the odd-sized rectangles
    assert diff.mean() < tol


def test_large_png_reducing_gap_stays_close(clip_enc, tmp_path):
    """A big non-JPEG (no draft) is box-reduced first (reducing_gap): close to the exact filter."""
    p = tmp_path / "big.png"
    Image.open(rectangles(tmp_path / "r.jpg", (1000, 800))).save(p)
    im = open_image(p, min_size=clip_enc.image_size)
    assert im.size == (1000, 800)  # PNG: decoded at full size
    ours = clip_enc.prepare_images([im]).numpy()
    ref = clip_enc.image_processor(images=[im], return_tensors="pt")["pixel_values"].numpy()
    assert grey_levels(ours, ref, clip_enc.image_processor.image_std).mean() < 1.0


class Recorder:
    """prepare_into that writes each image's top-left red value into its row, slower for earlier rows
    (so later chunks finish first), and counts the threads that did the work."""

    def __init__(self) -> None:
        self.threads: set[str] = set()

    def new_batch(self, n: int) -> np.ndarray:
        return np.full(n, -1)

    def prepare_into(self, images, batch, start) -> None:
        self.threads.add(threading.current_thread().name)
        time.sleep(0.02 / (start + 1))
        for k, im in enumerate(images):
            batch[start + k] = im.getpixel((0, 0))[0]


@pytest.mark.parametrize("in_place", [True, False])
def test_parallel_loader_keeps_input_order(tmp_path, in_place):
    reds = [10 * i for i in range(11)]
    paths = []
    for i, r in enumerate(reds):
        p = tmp_path / f"{i}.png"
        Image.new("RGB", (8, 8), (r, 0, 0)).save(p)
        paths.append(str(p))
    rec = Recorder()
    kwargs = ({"new_batch": rec.new_batch, "prepare_into": rec.prepare_into} if in_place
              else {"prepare": lambda ims: [im.getpixel((0, 0))[0] for im in ims]})
    loader = PrefetchingImageBatches(paths, [str(i) for i in range(11)], 4, batches=[2, 0, 1], workers=3,
                                     **kwargs)
    got = [(b, list(batch)) for b, batch in loader]
    assert got == [(2, reds[8:11]), (0, reds[0:4]), (1, reds[4:8])]
    if in_place:
        assert len(rec.threads) >= 2  # a batch of 4 over 3 threads: chunks of 2 decoded in parallel


@pytest.mark.parametrize("in_place", [True, False])
def test_corrupt_and_truncated_images_name_the_first_bad_file(clip_enc, tmp_path, in_place):
    good = [str(photo(tmp_path / f"g{i}.jpg", (160, 120), seed=i)) for i in range(5)]
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(Path(good[0]).read_bytes()[:2000])
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg")
    # one batch of 8 over 2 threads: the truncated file is in the second chunk, the broken one in the first
    paths = good[:2] + [str(broken)] + good[2:4] + [str(truncated)] + good[4:]
    ids = [f"e{i}" for i in range(len(paths))]
    kwargs = ({"new_batch": clip_enc.new_image_batch, "prepare_into": clip_enc.prepare_images_into}
              if in_place else {"prepare": clip_enc.prepare_images})
    with pytest.raises(InputError, match="unreadable image") as e:
        list(PrefetchingImageBatches(paths, ids, 8, workers=2, min_size=32, **kwargs))
    assert "broken.jpg" in str(e.value) and "id e2" in str(e.value)
    with pytest.raises(InputError, match="unreadable image") as e:
        encode_to_dir(clip_enc, ids[3:], paths[3:], kind="image", field="image", out_dir=tmp_path / "o",
                      batch_size=2, progress=False)
    assert "truncated.jpg" in str(e.value) and "id e5" in str(e.value)
    assert not (tmp_path / "o").exists()


def test_face_encoder_gets_full_resolution(tmp_path):
    """face:dlib declares no input size: the loader never draft-decodes, the arrays keep every pixel."""
    from kvqae.encode.face import DlibFaceEncoder

    assert DlibFaceEncoder.image_size is None
    enc = object.__new__(DlibFaceEncoder)  # preprocessing only: no dlib model files needed
    enc.max_side = 1024
    p = str(photo(tmp_path / "f.jpg", (640, 480)))
    (_, batch), = list(PrefetchingImageBatches([p, p], ["a", "b"], 2, new_batch=enc.new_image_batch,
                                               prepare_into=enc.prepare_images_into,
                                               min_size=DlibFaceEncoder.image_size))
    assert [a.shape for a in batch] == [(480, 640, 3)] * 2
    with Image.open(p) as full:
        np.testing.assert_array_equal(batch[0], np.asarray(full.convert("RGB")))


def test_cpu_model_leaves_a_core_to_the_loader(clip_enc, tmp_path):
    import os

    import torch

    from kvqae.encode.loader import model_threads_beside_loader

    before = torch.get_num_threads()
    torch.set_num_threads(4)
    try:
        expected = max(1, min(4, len(os.sched_getaffinity(0)) - 1))
        with model_threads_beside_loader(clip_enc) as n:
            assert n == expected == torch.get_num_threads()
        assert torch.get_num_threads() == 4  # restored
        with model_threads_beside_loader(object()) as n:  # no torch CPU device (dlib, a GPU): untouched
            assert n == 0 and torch.get_num_threads() == 4
        stats: dict[str, float] = {}
        p = str(photo(tmp_path / "a.jpg", (64, 48)))
        encode_to_dir(clip_enc, ["a"], [p], kind="image", field="image", out_dir=tmp_path / "o",
                      progress=False, stats=stats)
        assert stats["model_threads"] == expected and torch.get_num_threads() == 4
    finally:
        torch.set_num_threads(before)
