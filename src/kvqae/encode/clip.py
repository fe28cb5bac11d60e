"""`clip:<HF name or path>`: transformers CLIPModel; image tower for images, text tower for any text role."""

from __future__ import annotations

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
    if name_or_path.startswith(("/", "./", "../", "~")) and not Path(name_or_path).expanduser().exists():
        raise InputError(f"{what} directory not found", path=name_or_path)


def load_pretrained(loader: Any, name_or_path: str, what: str, **kwargs: Any) -> Any:
    """`loader.from_pretrained(name_or_path)`, turning "not found / not a model" into an InputError."""
    check_local(name_or_path, what)
    try:
        return loader.from_pretrained(name_or_path, **kwargs)
    except (OSError, ValueError) as e:
        raise InputError(f"cannot load {what} ({e.__class__.__name__}: {str(e).splitlines()[0]})",
                         path=name_or_path) from None


def _fast_preprocessing(ip: Any) -> tuple | None:
    """Parameters of the standard CLIP image recipe, or None when the processor does something else."""
    try:
        size, crop = ip.size, ip.crop_size
        standard = (ip.do_resize and ip.do_center_crop and ip.do_rescale and ip.do_normalize
                    and not getattr(ip, "do_pad", False) and size["shortest_edge"]
                    and not size["longest_edge"] and crop["height"] and crop["width"])
        if not standard:
            return None
        mean = np.asarray(ip.image_mean, dtype=np.float32).reshape(1, 1, 1, 3)
        std = np.asarray(ip.image_std, dtype=np.float32).reshape(1, 1, 1, 3)
        return (int(size["shortest_edge"]), (int(crop["height"]), int(crop["width"])), int(ip.resample),
                float(ip.rescale_factor), mean, std)
    except (AttributeError, KeyError, TypeError):
        return None


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
        PIL resize per image and one vectorised normalisation per batch: the same numbers as the transformers
        image processor for less CPU, which matters when loader threads share cores with the model.
        """
        import torch

        rgb = [im if im.mode == "RGB" else im.convert("RGB") for im in images]
        if self._fast is None:
            return self.image_processor(images=rgb, return_tensors="pt")["pixel_values"]
        short, (ch, cw), resample, scale, mean, std = self._fast
        crops = []
        for im in rgb:
            w, h = im.size
            # same output size rule as transformers' get_resize_output_image_size(default_to_square=False)
            size = (short, int(short * h / w)) if w <= h else (int(short * w / h), short)
            arr = np.asarray(im.resize(size, resample=resample))
            top, left = (arr.shape[0] - ch) // 2, (arr.shape[1] - cw) // 2
            if top < 0 or left < 0:  # crop larger than the image: the processor pads, let it do so
                return self.image_processor(images=rgb, return_tensors="pt")["pixel_values"]
            crops.append(arr[top:top + ch, left:left + cw])
        batch = np.stack(crops).astype(np.float32) * np.float32(scale)
        batch = (batch - mean) / std
        return torch.from_numpy(np.ascontiguousarray(batch.transpose(0, 3, 1, 2)))

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
