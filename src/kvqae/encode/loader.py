"""Background image loading: decode + preprocess batches in a thread pool ahead of the model.

JPEG/PNG decoding and PIL resizing release the GIL, so a few threads keep batches ready while the model
(torch, in the main thread) runs on the previous one. JPEGs are decoded at a reduced scale (libjpeg DCT
scaling through `PIL.Image.draft`) when the encoder declares that it needs far fewer pixels than the file
has: entropy decoding is then the main cost left. When the encoder can fill a batch in place
(`Encoder.new_image_batch` / `prepare_images_into`), each batch is split into one chunk per thread and the
threads write their rows straight into the batch array: the first batch is ready after 1/threads of the
decoding time, and no per-image arrays are stacked or copied afterwards.
"""

from __future__ import annotations

import contextlib
import errno
import os
import warnings
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO

from kvqae.errors import InputError
from kvqae.io import not_found

DRAFT_INFO = "kvqae.draft"  # `Image.info` key set by `open_image` on draft-decoded images


def decoded_geometry(im: Any) -> tuple[tuple[int, int], int]:
    """`((width, height) of the picture in its file, scale)`: `im` holds it reduced `scale` times.

    After draft decoding, pixel i of `im` covers file pixels [i*scale, (i+1)*scale); when a side is not a
    multiple of the scale, the last pixel is only partly picture (`ceil(side / scale)` pixels in all), so
    resizing must work in file coordinates (`Image.resize(box=...)`) to put the picture where a full decode
    would. Scale 1 and `im.size` for an image decoded at full size (or not made by `open_image`).
    """
    return im.info.get(DRAFT_INFO, (im.size, 1))


def draft_size(size: tuple[int, int], min_size: int) -> tuple[int, int] | None:
    """The size to ask `Image.draft` for so that the decoded image keeps both sides >= `min_size`.

    libjpeg scales by 1/2, 1/4 or 1/8 only; PIL picks the largest of those that keeps the decoded image at
    least as large as the request. None when even 1/2 would go below `min_size` (decode at full size).
    """
    w, h = size
    scale = min(w, h) / min_size
    if scale < 2:
        return None
    return max(1, int(w / scale)), max(1, int(h / scale))


def declared_bits_of(im: Any) -> int:
    """The bits per sample a TIFF declares (its BitsPerSample tag), 0 when it declares none: a 32-bit
    TIFF whose values stay under 256 was read as 16-bit and became an all-black picture."""
    tags = getattr(im, "tag_v2", None)
    bits = tags.get(258) if tags is not None else None
    if isinstance(bits, tuple | list):
        bits = max(bits, default=0)
    return bits if isinstance(bits, int) else 0


# TIFF PhotometricInterpretation and SampleFormat values, to say what a TIFF PIL cannot decode holds
_PHOTOMETRIC = {0: "greyscale", 1: "greyscale", 2: "RGB", 3: "palette", 4: "mask", 5: "CMYK", 6: "YCbCr",
                8: "CIELab", 9: "ICC Lab", 10: "ITU Lab", 32844: "LogL", 32845: "LogLuv"}
_SAMPLE_FORMAT = {1: "", 2: "signed ", 3: "floating-point "}
TIFF_MAGIC = (b"II*\x00", b"MM\x00*")
# (photometric, bits, samples per pixel, sample format) of common layouts PIL decodes
_PIL_READS = {(photometric, bits, samples, (1,)) for photometric, bits, samples in (
    (0, 1, 1), (1, 1, 1), (0, 8, 1), (1, 8, 1), (1, 16, 1), (3, 8, 1), (2, 8, 3), (2, 8, 4), (2, 16, 3),
    (5, 8, 4), (6, 8, 3), (8, 8, 3))}


def tiff_layout(f: BinaryIO) -> str | None:
    """What the first picture of a TIFF file (`f`, binary and seekable) holds, e.g. "16-bit CIELab, 3 samples
    per pixel", read from its tags; None when `f` is no TIFF or its tags cannot be read. For the error on a
    TIFF whose header is sound but whose pixel layout PIL cannot decode (16-bit Lab, floating-point RGB):
    "cannot identify image file" or "truncated or corrupt TIFF" misled."""
    from PIL import TiffImagePlugin

    try:
        f.seek(0)
        ifd = TiffImagePlugin.ImageFileDirectory_v2(ifh=f.read(8))
        f.seek(ifd.next)
        with warnings.catch_warnings():  # "Corrupt EXIF data" on a cut header: None says it
            warnings.simplefilter("ignore")
            ifd.load(f)
    except Exception:  # PIL raises several error types for a damaged header
        return None
    photometric, bits = ifd.get(262), ifd.get(258, (1,))
    sample_format, samples = ifd.get(339, (1,)), ifd.get(277, 1)
    if photometric is None or not isinstance(bits, tuple) or not bits:
        return None
    if (photometric, max(bits), samples, sample_format[:1]) in _PIL_READS:  # a damaged TIFF, not an odd one
        return None
    kind = _PHOTOMETRIC.get(photometric, f"photometric {photometric}")
    number = _SAMPLE_FORMAT.get(sample_format[0] if isinstance(sample_format, tuple) and sample_format else 1,
                                "")
    return f"{max(bits)}-bit {number}{kind}, {samples} sample{'s' if samples != 1 else ''} per pixel"


def unsupported_tiff(layout: str) -> str:
    return (f"a TIFF of {layout}: a pixel layout PIL cannot decode; save it as an 8-bit RGB or greyscale "
            "TIFF, a PNG or a JPEG")


def _premultiplied_grey_on_white(im: Any) -> Any:
    """An `La` image (grey premultiplied by its alpha: a TIFF with associated alpha) laid on white, as RGB:
    PIL converts `La` to nothing else. Over white, a premultiplied value c*a/255 shows c*a/255 + 255 - a."""
    import numpy as np
    from PIL import Image

    grey, alpha = (np.asarray(band, dtype=np.int16) for band in im.split())
    return Image.fromarray(np.clip(grey + 255 - alpha, 0, 255).astype(np.uint8)).convert("RGB")


def rgb_image(im: Any, *, path: str | Path | None = None, record: str | None = None,
              field: str | None = None, declared_bits: int | None = None) -> Any:
    """A decoded PIL image as RGB. 16-bit greyscale (`I;16*`, and `I` within 0..65535: 16-bit PNG, TIFF,
    PGM) keeps its tones, mapped to 8 bits: `convert("RGB")` clips every value over 255, which made a 16-bit
    photo an all-white picture, silently; a 12-bit TIFF (`declared_bits`, else the TIFF tag of `im`) is
    mapped from 12 bits, not 16 (it was almost black). Pixels of unknown range (floating point, 32-bit
    integers beyond 16 bits or declared 32-bit, negative values) are an InputError rather than a guess, and
    so is a mode PIL cannot convert to RGB. Transparent pixels are laid on white (CMYK, Lab, YCbCr, palette
    and 1-bit images are converted by PIL)."""
    if im.mode.startswith("I;16") or im.mode == "I":
        import numpy as np
        from PIL import Image

        pixels = np.asarray(im)
        bits = declared_bits_of(im) if declared_bits is None else declared_bits
        if im.mode == "I" and (bits > 16 or pixels.size and int(pixels.max()) > 65535):
            raise InputError("32-bit integer pixels are not supported; save the image with 8 or 16 bits per "
                             "channel", path=path, record=record, field=field)
        if pixels.size and int(pixels.min()) < 0:  # a signed 16-bit TIFF: which value is black is unknown
            raise InputError("signed integer pixels (negative values) are not supported; save the image with "
                             "8 or 16 bits per channel, unsigned", path=path, record=record, field=field)
        shift = bits - 8 if 8 < bits < 16 and int(pixels.max(initial=0)) < 1 << bits else 8
        grey = Image.fromarray((pixels >> shift).astype(np.uint8))  # 16 -> 8 bits: 65535 -> 255
        key = im.info.get("transparency")  # a tRNS grey value: its pixels are transparent
        if isinstance(key, int):
            alpha = Image.fromarray(np.where(pixels == key, 0, 255).astype(np.uint8))
            grey = Image.merge("LA", (grey, alpha))
        im = grey
    elif im.mode == "F":
        raise InputError("floating-point pixels are not supported; save the image with 8 or 16 bits per "
                         "channel", path=path, record=record, field=field)
    if im.mode == "La":
        return _premultiplied_grey_on_white(im)
    if im.mode in ("RGBA", "LA", "PA", "RGBa") or "transparency" in im.info:
        # transparent pixels on white, as a viewer shows them: `convert("RGB")` keeps their hidden colour,
        # usually black, and a dark logo on a transparent background became an all-black picture
        from PIL import Image

        page = Image.new("RGBA", im.size, (255, 255, 255, 255))
        page.alpha_composite(im.convert("RGBA"))
        return page.convert("RGB")
    try:
        return im if im.mode == "RGB" else im.convert("RGB")
    except ValueError:  # "conversion from X to RGB not supported": a ValueError traceback in `kvqae ask`
        raise InputError(f"pixel mode {im.mode} cannot be converted to RGB; save the image as RGB or "
                         "greyscale", path=path, record=record, field=field) from None


def check_image_file(path: str | Path, *, record: str | None = None, field: str | None = None) -> None:
    """An image path must name a regular file: reading a named pipe blocked forever (`encode questions`,
    `kvqae run`), a folder or a device gave a decoder's message. A missing file is left to the opener."""
    import stat

    try:
        mode = os.stat(path).st_mode
    except OSError:
        return
    if stat.S_ISDIR(mode):
        raise InputError("expected an image file, got a folder", path=path, record=record, field=field)
    if not stat.S_ISREG(mode):
        raise InputError("expected an image file, got a device, pipe or socket", path=path, record=record,
                         field=field)


def open_image(path: str | Path, *, item_id: str | None = None, field: str | None = None,
               min_size: int | None = None):
    """Open and fully decode an image as RGB; any failure is an InputError naming the file and the id.

    `min_size`: smallest side the consumer needs (the encoder's `image_size`); JPEGs are then decoded at the
    largest power-of-two reduction that keeps both sides >= `min_size` (same model input after the encoder's
    resize, within a few grey levels, for a fraction of the decoding work; `decoded_geometry` tells the
    encoder the file's size and the scale). None: full resolution (faces).
    """
    from PIL import Image, UnidentifiedImageError

    record = None if item_id is None else f"id {item_id}"
    check_image_file(path, record=record, field=field)
    try:
        with warnings.catch_warnings():  # a corrupt EXIF block: PIL warns, and decodes all the same
            warnings.filterwarnings("ignore", "Corrupt EXIF data", UserWarning)
            # a photo over ~89 megapixels (Commons has many) is decoded all the same: PIL's two-line warning
            # about a "decompression bomb DOS attack" is noise here (the service's uploads refuse them)
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:  # leaving the block closes the file, the decoded pixels stay
                if min_size and im.format == "JPEG":
                    full, request = im.size, draft_size(im.size, min_size)
                    drafted = im.draft("RGB", request) if request is not None else None
                    if drafted is not None and drafted[1][2] < full[0]:  # box: (0, 0, w/scale, h/scale)
                        im.info[DRAFT_INFO] = (full, round(full[0] / drafted[1][2]))
                im.load()  # decode now (in this thread), also catches truncated files
                return rgb_image(im, path=path, record=record, field=field)
    except FileNotFoundError:
        raise InputError(not_found("image file", path), path=path, record=record, field=field) from None
    except InputError:  # `rgb_image`'s own, already naming the file: not wrapped in "unreadable image (...)"
        raise
    except Image.DecompressionBombError as e:
        raise InputError(f"image too large to decode ({e})", path=path, record=record, field=field) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        if isinstance(e, OSError) and e.errno == errno.ELOOP:  # a symbolic link that loops
            raise InputError(not_found("image file", path), path=path, record=record, field=field) from None
        if isinstance(e, UnidentifiedImageError) and (layout := _file_tiff_layout(path)) is not None:
            raise InputError(unsupported_tiff(layout), path=path, record=record, field=field) from None
        raise InputError(f"unreadable image ({e})", path=path, record=record, field=field) from None


def _file_tiff_layout(path: str | Path) -> str | None:
    """`tiff_layout` of the file at `path` (None when it is no TIFF or cannot be read)."""
    try:
        with open(path, "rb") as f:
            return tiff_layout(f) if f.read(4) in TIFF_MAGIC else None
    except OSError:
        return None


def default_workers() -> int:
    return max(1, min(4, (os.cpu_count() or 1)))


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the cores this process may run on (containers, taskset)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def model_threads_beside_loader(encoder: Any) -> Iterator[int]:
    """While the loader's threads decode on the CPU, run a CPU model on one core fewer (at least 1).

    torch's intra-op threads wait for each other at every operation: when a loader thread takes the core of
    one of them, the whole forward pass stalls. On the 2-core development machine, 2 torch threads + 2 loader
    threads encoded at 0.67-0.70x the 2-thread forward throughput, 1 torch thread + 2 loader threads at
    1.2-1.3x (both under load from other jobs). Models on another device are left alone. Yields the number of
    torch threads in effect; the previous setting is restored afterwards.
    """
    device = getattr(encoder, "device", None)
    if getattr(device, "type", None) != "cpu":
        yield 0
        return
    import torch

    before = torch.get_num_threads()
    n = max(1, min(before, _cores() - 1))
    if n == before:
        yield n
        return
    torch.set_num_threads(n)
    try:
        yield n
    finally:
        torch.set_num_threads(before)


class PrefetchingImageBatches:
    """Iterate over `(batch_number, prepared_batch)` for the requested batches, made in background threads.

    paths/ids: one image path and id per item; batches are `items[b*batch_size : (b+1)*batch_size]`.
    batches: which batch numbers to produce (in this order), e.g. only those not done yet when resuming.
    prepare: called on the decoded PIL images of one whole batch in a worker (e.g. `Encoder.prepare_images`).
    new_batch + prepare_into: the in-place path (`Encoder.new_image_batch` / `prepare_images_into`): when
      `new_batch(n)` returns a batch, the threads decode and prepare one chunk of it each, writing their rows
      in place; when it returns None, `prepare` is used on the whole batch.
    prefetch: how many batches may be in flight ahead of the consumer (bounds memory).
    Batches come out in the requested order; an unreadable image raises its InputError when its batch is
    reached (the first bad image of that batch, in item order).
    """

    def __init__(
        self,
        paths: Sequence[str | Path],
        ids: Sequence[str],
        batch_size: int,
        *,
        batches: Sequence[int] | None = None,
        prepare: Callable[[list[Any]], Any] | None = None,
        new_batch: Callable[[int], Any] | None = None,
        prepare_into: Callable[[list[Any], Any, int], None] | None = None,
        workers: int | None = None,
        prefetch: int | None = None,
        min_size: int | None = None,
        field: str | None = None,
    ) -> None:
        if len(paths) != len(ids):
            raise ValueError("paths and ids must have the same length")
        if (new_batch is None) != (prepare_into is None):
            raise ValueError("new_batch and prepare_into go together")
        self.paths, self.ids, self.batch_size = list(paths), list(ids), batch_size
        n_batches = (len(self.paths) + batch_size - 1) // batch_size
        self.batches = list(range(n_batches)) if batches is None else list(batches)
        self.prepare, self.new_batch, self.prepare_into = prepare, new_batch, prepare_into
        self.workers = workers or default_workers()
        self.prefetch = prefetch or self.workers + 1
        self.min_size = min_size
        self.field = field

    def __len__(self) -> int:
        return len(self.batches)

    def _open(self, lo: int, hi: int) -> list[Any]:
        return [open_image(self.paths[i], item_id=self.ids[i], field=self.field, min_size=self.min_size)
                for i in range(lo, hi)]

    def _load_batch(self, lo: int, hi: int) -> Any:
        images = self._open(lo, hi)
        return self.prepare(images) if self.prepare is not None else images

    def _fill_chunk(self, batch: Any, lo: int, hi: int, start: int) -> None:
        self.prepare_into(self._open(lo, hi), batch, start)  # type: ignore[misc]

    def _submit(self, pool: ThreadPoolExecutor, b: int) -> tuple[Any, list[Future]]:
        """Queue batch `b`: one task for the whole batch, or one per chunk when it can be filled in place."""
        lo, hi = b * self.batch_size, min((b + 1) * self.batch_size, len(self.paths))
        batch = self.new_batch(hi - lo) if self.new_batch is not None else None
        if batch is None:
            return None, [pool.submit(self._load_batch, lo, hi)]
        step = -(-(hi - lo) // self.workers)  # ceil: one chunk per thread
        return batch, [pool.submit(self._fill_chunk, batch, s, min(s + step, hi), s - lo)
                       for s in range(lo, hi, step)]

    def __iter__(self) -> Iterator[tuple[int, Any]]:
        pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="kvqae-images")
        pending: deque[tuple[int, Any, list[Future]]] = deque()
        todo = iter(self.batches)
        try:
            for b in todo:
                pending.append((b, *self._submit(pool, b)))
                if len(pending) >= self.prefetch:
                    break
            while pending:
                b, batch, futures = pending.popleft()
                results = [f.result() for f in futures]  # re-raises a worker's InputError here, in order
                nxt = next(todo, None)
                if nxt is not None:
                    pending.append((nxt, *self._submit(pool, nxt)))
                yield b, (results[0] if batch is None else batch)
        finally:
            # consumer stopped early or an error happened: drop queued work, don't wait for it
            for _, _, futures in pending:
                for fut in futures:
                    fut.cancel()
            pool.shutdown(wait=False, cancel_futures=True)
