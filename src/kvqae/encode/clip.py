"""`clip:<HF name or path>`: transformers CLIPModel; image tower for images, text tower for any text role."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kvqae.encode.base import Encoder, check_role, l2_normalize
from kvqae.errors import InputError

if TYPE_CHECKING:
    from PIL import Image


def check_local(name_or_path: str, what: str) -> None:
    """An argument written as a path (absolute, ./, ../, ~) must exist: fail now, without asking the hub."""
    written_as_path = name_or_path.startswith(("/", "./", "../", "~"))
    if written_as_path and not Path(os.path.expanduser(name_or_path)).exists():  # Path's raises on "~nouser"
        raise InputError(f"{what} directory not found", path=name_or_path)


def load_errors() -> tuple[type[Exception], ...]:
    """What loading a model folder raises for a bad folder: not found or not a model (OSError, ValueError), a
    truncated or corrupt weights file (SafetensorError), weights of other shapes than its config
    (RuntimeError)."""
    from safetensors import SafetensorError

    return OSError, ValueError, RuntimeError, SafetensorError


def load_pretrained(loader: Any, name_or_path: str, what: str, **kwargs: Any) -> Any:
    """`loader.from_pretrained(name_or_path)`, turning "not found / not a model" into an InputError."""
    check_local(name_or_path, what)
    try:
        return loader.from_pretrained(name_or_path, **kwargs)
    except load_errors() as e:
        raise InputError(f"cannot load {what} ({e.__class__.__name__}: {(str(e).splitlines() or [''])[0]})",
                         path=name_or_path) from None


def _fast_preprocessing(ip: Any) -> tuple | None:
    """Parameters of the standard CLIP image recipe, or None when the processor does something else.

    Returns (shortest_edge, (crop_h, crop_w), resample, gain, offset): rescale + normalise folded into one
    multiply-add per channel, `pixel * gain - offset` with gain = rescale / std, offset = mean / std.
    """
    try:
        size, crop = ip.size, ip.crop_size
        standard = (ip.do_resize and ip.do_center_crop and ip.do_rescale and ip.do_normalize
                    and not getattr(ip, "do_pad", False) and size["shortest_edge"]
                    and not size["longest_edge"] and crop["height"] and crop["width"])
        if not standard:
            return None
        short, ch, cw = int(size["shortest_edge"]), int(crop["height"]), int(crop["width"])
        if ch > short or cw > short:  # the crop would be larger than the resized image: the processor pads
            return None
        mean = np.asarray(ip.image_mean, dtype=np.float32).reshape(3, 1, 1)
        std = np.asarray(ip.image_std, dtype=np.float32).reshape(3, 1, 1)
        return short, (ch, cw), int(ip.resample), np.float32(ip.rescale_factor) / std, mean / std
    except (AttributeError, KeyError, TypeError):
        return None


def resize_center_crop(im: Image.Image, short: int, crop: tuple[int, int], resample: int) -> Image.Image:
    """Shortest side resized to `short`, then the central `crop` = (height, width): the CLIP processor's
    geometry. Only the region that survives the crop is resampled (`box`): the same pixels for less work.
    `reducing_gap` only acts on a reduction of 6x or more (never after draft decoding, which leaves < 2x):
    a box reduction first, then the filter, within a grey level or two of the exact filter."""
    from kvqae.encode.loader import decoded_geometry

    (w, h), scale = decoded_geometry(im)  # geometry of the picture in its file, even when draft-decoded
    # same output size rule as transformers' get_resize_output_image_size(default_to_square=False)
    rw, rh = (short, int(short * h / w)) if w <= h else (int(short * w / h), short)
    ch, cw = crop
    top, left = (rh - ch) // 2, (rw - cw) // 2
    sx, sy = w / rw / scale, h / rh / scale  # resized pixels -> pixels of `im`
    box = (left * sx, top * sy, (left + cw) * sx, (top + ch) * sy)
    return im.resize((cw, ch), resample=resample, box=box, reducing_gap=3.0)


class ClipEncoder(Encoder):
    """CLIP dual encoder. Outputs are the projected embeddings, L2-normalised (cosine = inner product).

    Texts longer than the text tower's `max_position_embeddings` tokens are truncated, never rejected.
    """

    modalities = frozenset({"image", "text"})
    normalized = True

    def __init__(self, name_or_path: str, device: str = "cpu") -> None:
        check_local(name_or_path, "CLIP model")  # before the slow imports
        import torch
        from transformers import AutoImageProcessor, AutoTokenizer, CLIPModel

        self.spec = f"clip:{name_or_path}"
        self.device = torch.device(device)
        self.model = load_pretrained(CLIPModel, name_or_path, "CLIP model").eval().to(self.device)
        self.tokenizer = load_pretrained(AutoTokenizer, name_or_path, "CLIP tokenizer")
        self.image_processor = load_pretrained(AutoImageProcessor, name_or_path, "CLIP image processor")
        cfg = self.model.config
        self.dim = int(cfg.projection_dim)
        self.max_length = int(cfg.text_config.max_position_embeddings)
        self.image_size = int(cfg.vision_config.image_size)
        self._fast = _fast_preprocessing(self.image_processor)

    def prepare_images(self, images: Sequence[Image.Image]) -> Any:
        """PIL images -> pixel tensor (n, 3, H, W) with the checkpoint's own resize/crop/normalisation.

        The usual CLIP recipe (shortest-edge resize, center crop, rescale, normalise) is done here with one
        PIL resize of the cropped region per image and one multiply-add per pixel, written straight into the
        batch tensor: the same numbers as the transformers image processor for far less CPU, which matters
        when loader threads share cores with the model. Other recipes go through the processor.
        """
        batch = self.new_image_batch(len(images))
        if batch is None:
            rgb = [im if im.mode == "RGB" else im.convert("RGB") for im in images]
            return self.image_processor(images=rgb, return_tensors="pt")["pixel_values"]
        self.prepare_images_into(images, batch, 0)
        return batch

    def new_image_batch(self, n: int) -> Any | None:
        """An uninitialised float32 tensor (n, 3, H, W), or None when the processor's recipe is not the
        standard one (then only `prepare_images` is used)."""
        if self._fast is None:
            return None
        import torch

        ch, cw = self._fast[1]
        return torch.empty((n, 3, ch, cw), dtype=torch.float32)

    def prepare_images_into(self, images: Sequence[Image.Image], batch: Any, start: int) -> None:
        """Fill rows `start:start+len(images)` of a `new_image_batch` tensor (thread-safe: disjoint rows)."""
        short, crop, resample, gain, offset = self._fast
        out = batch.numpy()  # a view: writes land in the tensor
        for k, im in enumerate(images):
            rgb = im if im.mode == "RGB" else im.convert("RGB")
            pixels = np.asarray(resize_center_crop(rgb, short, crop, resample))
            row = out[start + k]
            np.multiply(pixels.transpose(2, 0, 1), gain, out=row)  # HWC uint8 -> CHW float32, rescaled
            row -= offset

    def encode_prepared(self, batch: Any) -> np.ndarray:
        import torch

        with torch.inference_mode():
            out = self.model.get_image_features(pixel_values=batch.to(self.device))
        # transformers 5 returns a model output whose pooler_output is the projected embedding
        emb = out.pooler_output if hasattr(out, "pooler_output") else out
        return l2_normalize(emb.float().cpu().numpy())

    def encode_texts(self, texts: Sequence[str], role: str = "passage") -> np.ndarray:
        import torch

        check_role(role)
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        enc = self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_length,
                             return_tensors="pt")
        enc.pop("token_type_ids", None)  # CLIP's text tower takes none (WordPiece tokenizers produce them)
        with torch.inference_mode():
            out = self.model.get_text_features(**{k: v.to(self.device) for k, v in enc.items()})
        emb = out.pooler_output if hasattr(out, "pooler_output") else out
        return l2_normalize(emb.float().cpu().numpy())
