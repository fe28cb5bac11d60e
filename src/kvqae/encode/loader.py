"""Background image loading: decode + preprocess batches in a thread pool ahead of the model.

JPEG/PNG decoding and PIL resizing release the GIL, so a few threads keep batches ready while the model
(torch, in the main thread) runs on the previous one: the model never waits on disk or decoding.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from kvqae.errors import InputError


def open_image(path: str | Path, *, item_id: str | None = None, field: str | None = None,
               min_size: int | None = None):
    """Open and fully decode an image as RGB; any failure is an InputError naming the file and the id.

    `min_size`: smallest side the consumer needs; JPEGs are then decoded at the largest power-of-two
    reduction that keeps both sides >= `min_size` (PIL draft mode, much faster, same result after resizing).
    """
    from PIL import Image, UnidentifiedImageError

    record = None if item_id is None else f"id {item_id}"
    try:
        with Image.open(path) as im:
            if min_size and im.format == "JPEG":
                w, h = im.size
                scale = min(w, h) / min_size
                if scale >= 2:
                    im.draft("RGB", (max(1, int(w / scale)), max(1, int(h / scale))))
            im.load()  # decode now (in this thread), also catches truncated files
            return im.convert("RGB") if im.mode != "RGB" else im.copy()
    except FileNotFoundError:
        raise InputError("image file not found", path=path, record=record, field=field) from None
    except Image.DecompressionBombError as e:
        raise InputError(f"image too large to decode ({e})", path=path, record=record, field=field) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise InputError(f"unreadable image ({e})", path=path, record=record, field=field) from None


def default_workers() -> int:
    return max(1, min(4, (os.cpu_count() or 1)))


class PrefetchingImageBatches:
    """Iterate over `(batch_number, prepared_batch)` for the requested batches, made in background threads.

    paths/ids: one image path and id per item; batches are `items[b*batch_size : (b+1)*batch_size]`.
    batches: which batch numbers to produce (in this order), e.g. only those not done yet when resuming.
    prepare: called on the decoded PIL images of one batch in the worker (e.g. the encoder's preprocessing).
    prefetch: how many batches may be in flight ahead of the consumer (bounds memory).
    """

    def __init__(
        self,
        paths: Sequence[str | Path],
        ids: Sequence[str],
        batch_size: int,
        *,
        batches: Sequence[int] | None = None,
        prepare: Callable[[list[Any]], Any] | None = None,
        workers: int | None = None,
        prefetch: int | None = None,
        min_size: int | None = None,
        field: str | None = None,
    ) -> None:
        if len(paths) != len(ids):
            raise ValueError("paths and ids must have the same length")
        self.paths, self.ids, self.batch_size = list(paths), list(ids), batch_size
        n_batches = (len(self.paths) + batch_size - 1) // batch_size
        self.batches = list(range(n_batches)) if batches is None else list(batches)
        self.prepare = prepare
        self.workers = workers or default_workers()
        self.prefetch = prefetch or self.workers + 1
        self.min_size = min_size
        self.field = field

    def __len__(self) -> int:
        return len(self.batches)

    def _load_batch(self, b: int) -> Any:
        lo, hi = b * self.batch_size, min((b + 1) * self.batch_size, len(self.paths))
        images = [open_image(self.paths[i], item_id=self.ids[i], field=self.field, min_size=self.min_size)
                  for i in range(lo, hi)]
        return self.prepare(images) if self.prepare is not None else images

    def __iter__(self) -> Iterator[tuple[int, Any]]:
        pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="kvqae-images")
        pending: deque[tuple[int, Future]] = deque()
        todo = iter(self.batches)
        try:
            for b in todo:
                pending.append((b, pool.submit(self._load_batch, b)))
                if len(pending) >= self.prefetch:
                    break
            while pending:
                b, fut = pending.popleft()
                result = fut.result()  # re-raises the worker's InputError here, in order
                nxt = next(todo, None)
                if nxt is not None:
                    pending.append((nxt, pool.submit(self._load_batch, nxt)))
                yield b, result
        finally:
            # consumer stopped early or an error happened: drop queued work, don't wait for it
            for _, fut in pending:
                fut.cancel()
            pool.shutdown(wait=False, cancel_futures=True)
