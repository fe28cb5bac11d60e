"""Encoders keyed by spec strings (the protocol they follow is `kvqae.encode.base.Encoder`).

Spec strings (the `encoder` recorded in every embeddings and index directory):

- `clip:<HF name or path>`          CLIP image tower for images, text tower for texts (L2-normalised)
- `dpr:<question enc>,<context enc>` DPR: role "query" -> question encoder, other roles -> context encoder
- `st:<name or path>`                sentence-transformers; `st:minilm` is the packaged all-MiniLM-L6-v2
- `effnet-lite0`                     packaged ImageNet EfficientNet-Lite0, pooled 1280-d features
- `face:dlib`                        dlib 128-d face descriptor of the largest face (NaN row when no face)

Heavy libraries are imported by the factories, never at import time of this module.
"""

from __future__ import annotations

from collections.abc import Callable

from kvqae.encode.base import TEXT_ROLES, Encoder, check_role  # noqa: F401  (public names of the registry)
from kvqae.errors import InputError


def _clip(arg: str, device: str) -> Encoder:
    from kvqae.encode.clip import ClipEncoder

    return ClipEncoder(arg, device=device)


def _dpr(arg: str, device: str) -> Encoder:
    from kvqae.encode.dpr import DprEncoder

    check_argument("dpr", arg)
    question, context = (p.strip() for p in arg.split(","))
    return DprEncoder(question, context, device=device)


def _st(arg: str, device: str) -> Encoder:
    from kvqae.encode.sentence import SentenceEncoder

    return SentenceEncoder(arg, device=device)


def _effnet(arg: str, device: str) -> Encoder:
    from kvqae.encode.effnet import EffNetLite0Encoder

    check_argument("effnet-lite0", arg)
    return EffNetLite0Encoder(device=device)


def _face(arg: str, device: str) -> Encoder:
    from kvqae.encode.face import DlibFaceEncoder

    check_argument("face", arg)
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


# what each encoder encodes (its `modalities`), known without loading it
SPEC_MODALITIES: dict[str, frozenset[str]] = {
    "clip": frozenset({"image", "text"}),
    "dpr": frozenset({"text"}),
    "st": frozenset({"text"}),
    "effnet-lite0": frozenset({"image"}),
    "face": frozenset({"image"}),
}


def check_argument(prefix: str, arg: str) -> None:
    """The argument after `prefix:` has the shape the encoder takes (InputError otherwise): DPR's two models,
    no argument for EfficientNet, `dlib` for faces."""
    parts = [p.strip() for p in arg.split(",")]
    if prefix == "dpr" and (len(parts) != 2 or not all(parts)):
        raise InputError(f"expected 'dpr:<question encoder>,<context encoder>', got 'dpr:{arg}'",
                         field="encoder")
    if prefix == "effnet-lite0" and arg:
        raise InputError(f"'effnet-lite0' takes no argument, got 'effnet-lite0:{arg}'", field="encoder")
    if prefix == "face" and arg != "dlib":
        raise InputError(f"unknown face encoder 'face:{arg}'; the only one is 'face:dlib'", field="encoder")


def load_encoder(spec: str, device: str = "cpu") -> Encoder:
    """Build the encoder named by `spec` on `device`; its `.spec` is the normalised spec string."""
    prefix, arg = parse_spec(spec)
    encoder = ENCODERS[prefix](arg, device)
    encoder.spec = spec.strip()
    return encoder


def model_fingerprint(spec: str) -> str | None:
    """`kvqae.io.weights_digest` of the local model files an encoder spec names (`st:DIR`, `dpr:Q,C`), or
    None for a hub name, a packaged model or BM25. Embedding stores and indexes record it, so queries
    encoded after the model was retrained in place are not searched against an index of the old model's
    vectors."""
    from pathlib import Path

    from kvqae.io import weights_digest
    from kvqae.safety import spec_paths

    paths = spec_paths(spec)
    return weights_digest([Path(p) for p in paths]) if paths else None
