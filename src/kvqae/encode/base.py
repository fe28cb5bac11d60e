"""The protocol every encoder follows (`Encoder`) and the text roles they accept.

Kept apart from `kvqae.encode.registry` (which maps spec strings to encoder classes) so the encoder modules
and the registry never import each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from kvqae.errors import InputError
from kvqae.index.embeddings import l2_normalize  # noqa: F401  (re-exported for the encoders)

if TYPE_CHECKING:
    from PIL import Image

TEXT_ROLES = ("query", "passage", "title")


class Encoder:
    """Base of every encoder: `.spec`, `.dim`, `.modalities`, `.normalized` and the two encode methods.

    Image encoding is split in two so a background loader can run the CPU-side part ahead of the model:
    `prepare_images(list[PIL.Image]) -> batch` (resize/normalise, thread-safe, no model call) and
    `encode_prepared(batch) -> (n, dim) float32`. `encode_images` chains them.
    `image_size` (when not None) is the smallest side the encoder needs, so JPEG decoding may be done at a
    reduced scale (`PIL.Image.draft`) without changing what the model sees (None: full resolution, as
    for faces).
    Optionally `new_image_batch(n)` + `prepare_images_into(images, batch, start)` let loader threads fill one
    preallocated batch together, each writing its own rows (no per-image arrays stacked afterwards).
    """

    spec: str = ""
    dim: int = 0
    modalities: frozenset[str] = frozenset()
    normalized: bool = True
    image_size: int | None = None

    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        """Embed PIL images -> float32 array (n, dim); a NaN row means "no embedding" (e.g. no face)."""
        return self.encode_prepared(self.prepare_images(images))

    def prepare_images(self, images: Sequence[Image.Image]) -> Any:
        """CPU-side preprocessing of a batch of PIL images (runs in loader threads)."""
        raise self._unsupported("images")

    def encode_prepared(self, batch: Any) -> np.ndarray:
        """Run the model on a batch made by `prepare_images` -> float32 array (n, dim)."""
        raise self._unsupported("images")

    def new_image_batch(self, n: int) -> Any | None:
        """An empty batch for `n` images that `prepare_images_into` fills in place (what `encode_prepared`
        takes), or None when this encoder has no in-place path (the loader then calls `prepare_images`)."""
        return None

    def prepare_images_into(self, images: Sequence[Image.Image], batch: Any, start: int) -> None:
        """Write the preprocessing of `images` into rows `start:start+len(images)` of `batch` (made by
        `new_image_batch`). Threads filling disjoint rows of one batch must be safe."""
        raise self._unsupported("images")

    def encode_texts(self, texts: Sequence[str], role: str = "passage") -> np.ndarray:
        """Embed texts -> float32 array (n, dim). `role`: "query", "passage" or "title"."""
        raise self._unsupported("texts")

    def _unsupported(self, what: str) -> InputError:
        return InputError(f"encoder {self.spec!r} does not encode {what} "
                          f"(it encodes {sorted(self.modalities)})", field="encoder")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(spec={self.spec!r}, dim={self.dim})"


def check_role(role: str) -> None:
    if role not in TEXT_ROLES:
        raise InputError(f"unknown text role {role!r}; expected one of {list(TEXT_ROLES)}", field="role")
