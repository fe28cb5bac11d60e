"""`face:dlib`: 128-d dlib ResNet face descriptor of the largest detected face.

Uses dlib's HOG frontal face detector, the 5-point shape predictor (for alignment) and the ResNet face
recognition model, read by path from the face_recognition_models package. An image with no detectable face
gets a NaN row: a missing query, never a crash. Descriptors are kept raw (`normalized=False`) so dlib's
Euclidean convention holds (same person: distance < 0.6); their norms are about 1.4, nearly constant,
so inner-product ranking is close to Euclidean ranking.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kvqae.encode.base import Encoder
from kvqae.errors import InputError

if TYPE_CHECKING:
    from PIL import Image

SHAPE_PREDICTOR = "shape_predictor_5_face_landmarks.dat"
RECOGNITION_MODEL = "dlib_face_recognition_resnet_model_v1.dat"


def models_dir() -> Path:
    """Folder of the face_recognition_models .dat files (found without importing the package, whose
    `__init__` needs the removed `pkg_resources`)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise InputError("face_recognition_models is not installed (pip install face-recognition-models)")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


class DlibFaceEncoder(Encoder):
    """Largest-face dlib descriptor (128-d); NaN row when no face is found."""

    modalities = frozenset({"image"})
    normalized = False
    dim = 128

    def __init__(self, upsample: int = 1, max_side: int = 1024) -> None:
        import dlib

        self.spec = "face:dlib"
        folder = models_dir()
        for name in (SHAPE_PREDICTOR, RECOGNITION_MODEL):
            if not (folder / name).exists():
                raise InputError("dlib model file not found", path=folder / name)
        self.upsample = upsample  # upsampling once finds faces down to ~40 px
        # descriptors come from a 150x150 aligned chip: shrink big photos first (detection speed)
        self.max_side = max_side
        self.detector = dlib.get_frontal_face_detector()
        self.shape_predictor = dlib.shape_predictor(str(folder / SHAPE_PREDICTOR))
        self.recognizer = dlib.face_recognition_model_v1(str(folder / RECOGNITION_MODEL))

    def prepare_images(self, images: Sequence[Image.Image]) -> Any:
        """PIL images -> list of contiguous uint8 RGB arrays (what dlib takes)."""
        batch = self.new_image_batch(len(images))
        self.prepare_images_into(images, batch, 0)
        return batch

    def new_image_batch(self, n: int) -> list[Any]:
        return [None] * n

    def prepare_images_into(self, images: Sequence[Image.Image], batch: Any, start: int) -> None:
        """Put one uint8 RGB array per image into `batch[start:]` (full resolution up to `max_side`:
        `image_size` stays None, so the loader never draft-decodes what the face detector looks at)."""
        from PIL import Image as PILImage

        for k, im in enumerate(images):
            im = im if im.mode == "RGB" else im.convert("RGB")
            if max(im.size) > self.max_side:
                scale = self.max_side / max(im.size)
                size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
                im = im.resize(size, PILImage.Resampling.BILINEAR)
            batch[start + k] = np.ascontiguousarray(np.asarray(im, dtype=np.uint8))

    def encode_prepared(self, batch: Any) -> np.ndarray:
        out = np.full((len(batch), self.dim), np.nan, dtype=np.float32)
        for i, arr in enumerate(batch):
            faces = self.detector(arr, self.upsample)
            if len(faces) == 0:
                continue
            largest = max(faces, key=lambda r: r.width() * r.height())
            shape = self.shape_predictor(arr, largest)
            out[i] = np.asarray(self.recognizer.compute_face_descriptor(arr, shape), dtype=np.float32)
        return out
