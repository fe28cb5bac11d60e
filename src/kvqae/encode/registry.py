"""Encoders keyed by spec strings, and the protocol they all follow.

Spec strings (the `encoder` recorded in every embeddings and index directory):

- `clip:<HF name or path>`          CLIP image tower for images, text tower for texts (L2-normalised)
- `dpr:<question enc>,<context enc>` DPR: role "query" -> question encoder, other roles -> context encoder
- `st:<name or path>`                sentence-transformers; `st:minilm` is the packaged all-MiniLM-L6-v2
- `effnet-lite0`                     packaged ImageNet EfficientNet-Lite0, pooled 1280-d features
- `face:dlib`                        dlib 128-d face descriptor of the largest face (NaN row when no face)

Heavy libraries are imported by the factories, never at import time of this module.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
    reduced scale (`PIL.Image.draft`) without changing what the model sees.
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


def _clip(arg: str, device: str) -> Encoder:
    from kvqae.encode.clip import ClipEncoder

    return ClipEncoder(arg, device=device)


def _dpr(arg: str, device: str) -> Encoder:
    from kvqae.encode.dpr import DprEncoder

    parts = [p.strip() for p in arg.split(",")]
    if len(parts) != 2 or not all(parts):
        raise InputError(f"expected 'dpr:<question encoder>,<context encoder>', got 'dpr:{arg}'",
                         field="encoder")
    return DprEncoder(parts[0], parts[1], device=device)


def _st(arg: str, device: str) -> Encoder:
    from kvqae.encode.sentence import SentenceEncoder

    return SentenceEncoder(arg, device=device)


def _effnet(arg: str, device: str) -> Encoder:
    from kvqae.encode.effnet import EffNetLite0Encoder

    if arg:
        raise InputError(f"'effnet-lite0' takes no argument, got 'effnet-lite0:{arg}'", field="encoder")
    return EffNetLite0Encoder(device=device)


def _face(arg: str, device: str) -> Encoder:
    from kvqae.encode.face import DlibFaceEncoder

    if arg != "dlib":
        raise InputError(f"unknown face encoder 'face:{arg}'; the only one is 'face:dlib'", field="encoder")
    return DlibFaceEncoder()


# prefix -> factory(argument after the colon, device). A spec without a colon is its own prefix.
ENCODERS: dict[str, Callable[[str, str], Encoder]] = {
    "clip": _clip,
    "dpr": _dpr,
    "st": _st,
    "effnet-lite0": _effnet,
    "face": _face,
}


def parse_spec(spec: str) -> tuple[str, str]:
    """Split `"prefix:argument"` -> (prefix, argument); InputError on unknown prefix or missing argument."""
    if not isinstance(spec, str) or not spec.strip():
        raise InputError("encoder spec must be a non-empty string", field="encoder")
    prefix, _, arg = spec.strip().partition(":")
    if prefix not in ENCODERS:
        known = ", ".join(f"{p}:" if p not in ("effnet-lite0",) else p for p in ENCODERS)
        raise InputError(f"unknown encoder spec {spec!r}; known prefixes: {known}", field="encoder")
    if prefix in ("clip", "dpr", "st", "face") and not arg:
        raise InputError(f"encoder spec {spec!r} needs an argument after '{prefix}:'", field="encoder")
    return prefix, arg


def load_encoder(spec: str, device: str = "cpu") -> Encoder:
    """Build the encoder named by `spec` on `device`; its `.spec` is the normalised spec string."""
    prefix, arg = parse_spec(spec)
    encoder = ENCODERS[prefix](arg, device)
    encoder.spec = spec.strip()
    return encoder
