"""Encoders loaded by spec string: tiny CLIP / DPR built locally, packaged MiniLM, EfficientNet, dlib."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kvqae.encode.registry import ENCODERS, load_encoder
from kvqae.errors import InputError


@pytest.fixture(scope="module")
def clip_enc(tiny_clip):
    return load_encoder(f"clip:{tiny_clip}")


@pytest.fixture(scope="module")
def tiny_dpr(tmp_path_factory, minilm_path) -> tuple[Path, Path]:
    """A tiny DPR question/context encoder pair saved like real checkpoints, MiniLM WordPiece vocabulary."""
    import torch
    from transformers import BertTokenizer, DPRConfig, DPRContextEncoder, DPRQuestionEncoder

    root = tmp_path_factory.mktemp("dpr")
    tok = BertTokenizer.from_pretrained(str(minilm_path))
    cfg = DPRConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                    intermediate_size=64, max_position_embeddings=64, projection_dim=0)
    paths = []
    for seed, cls in ((0, DPRQuestionEncoder), (1, DPRContextEncoder)):
        torch.manual_seed(seed)
        out = root / cls.__name__
        cls(cfg).save_pretrained(out)
        tok.save_pretrained(out)
        paths.append(out)
    return paths[0], paths[1]


def test_unknown_spec_lists_known_prefixes():
    with pytest.raises(InputError) as e:
        load_encoder("bert:foo")
    for prefix in ENCODERS:
        assert prefix in str(e.value)
    with pytest.raises(InputError, match="needs an argument"):
        load_encoder("clip:")
    with pytest.raises(InputError, match="dpr:<question encoder>,<context encoder>"):
        load_encoder("dpr:only-one")


def test_clip_missing_checkpoint_is_input_error(tmp_path):
    with pytest.raises(InputError) as e:
        load_encoder(f"clip:{tmp_path / 'nope'}")
    assert "nope" in str(e.value)


@pytest.mark.parametrize("prefix", ["clip", "st"])
def test_corrupt_weights_or_config_are_input_errors(tmp_path, tiny_clip, minilm_path, prefix):
    """A truncated model.safetensors (SafetensorError) or a config whose sizes do not fit the weights
    (RuntimeError) was a traceback."""
    import json
    import shutil

    source = tiny_clip if prefix == "clip" else minilm_path
    truncated = Path(shutil.copytree(source, tmp_path / "truncated"))
    weights = truncated / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(InputError, match=r"truncated: cannot load .*(header|deserializ)"):
        load_encoder(f"{prefix}:{truncated}")
    resized = Path(shutil.copytree(source, tmp_path / "resized"))
    config = json.loads((resized / "config.json").read_text())
    if prefix == "clip":
        config["projection_dim"] *= 2
    else:
        config["hidden_size"] *= 2
    (resized / "config.json").write_text(json.dumps(config))
    with pytest.raises(InputError, match=r"resized: cannot load"):
        load_encoder(f"{prefix}:{resized}")


def test_clip_matches_model_and_is_normalised(clip_enc, tiny_clip):
    import torch
    from transformers import AutoTokenizer, CLIPModel

    assert clip_enc.dim == 32 and clip_enc.modalities == {"image", "text"} and clip_enc.normalized
    texts = ["a dog on a beach", "the eiffel tower"]
    got = clip_enc.encode_texts(texts, role="query")
    # reference: the same checkpoint run directly, then L2-normalised by hand
    model = CLIPModel.from_pretrained(tiny_clip).eval()
    tok = AutoTokenizer.from_pretrained(tiny_clip)
    enc = tok(texts, padding=True, return_tensors="pt")
    enc.pop("token_type_ids", None)
    with torch.no_grad():
        ref = model.get_text_features(**enc).pooler_output.numpy()
    ref = ref / np.linalg.norm(ref, axis=1, keepdims=True)
    np.testing.assert_allclose(got, ref, atol=1e-5)
    # one text tower: the role does not change CLIP text embeddings
    np.testing.assert_allclose(clip_enc.encode_texts(texts, role="title"), got, atol=1e-6)

    red, blue = Image.new("RGB", (50, 40), (220, 20, 20)), Image.new("RGB", (50, 40), (20, 20, 220))
    img = clip_enc.encode_images([red, blue, red])
    assert img.shape == (3, 32) and img.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(img, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(img[0], img[2], atol=1e-6)
    assert np.abs(img[0] - img[1]).max() > 1e-3


def test_clip_fast_preprocessing_matches_image_processor(clip_enc):
    rng = np.random.default_rng(0)
    sizes = [(160, 120), (120, 160), (32, 32), (33, 150), (150, 33), (49, 50)]
    ims = [Image.fromarray((rng.random((h, w, 3)) * 255).astype(np.uint8)) for w, h in sizes]
    ims.append(Image.new("L", (40, 70), 90))  # grey-scale input is converted to RGB first
    assert clip_enc._fast is not None
    ours = clip_enc.prepare_images(ims)
    rgb = [im.convert("RGB") for im in ims]
    ref = clip_enc.image_processor(images=rgb, return_tensors="pt")["pixel_values"]
    assert tuple(ours.shape) == (7, 3, 32, 32)
    # Only the cropped region is resampled (PIL `box`): its filter weights are computed from slightly
    # different float coordinates, so a rare pixel rounds to the neighbouring grey level; all others match.
    diff = np.abs(ours.numpy() - ref.numpy())
    one_level = 1 / 255 / min(clip_enc.image_processor.image_std)
    assert diff.max() <= one_level + 1e-5
    assert (diff <= 1e-5).mean() > 0.999


def test_clip_truncates_long_text_to_max_positions(clip_enc):
    words = ["cat", "sat", "on", "the", "mat"] * 100  # 500 single-token words; the tiny CLIP has 77 positions
    long = clip_enc.encode_texts([" ".join(words)])
    # [CLS] + 75 words + [SEP] = 77 tokens: the truncated text is exactly the first 75 words
    head = clip_enc.encode_texts([" ".join(words[:75])])
    other = clip_enc.encode_texts([" ".join(words[:60])])
    assert np.isfinite(long).all()
    np.testing.assert_allclose(long, head, atol=1e-5)
    assert np.abs(long - other).max() > 1e-4


def test_clip_rejects_unknown_role(clip_enc):
    with pytest.raises(InputError, match="role"):
        clip_enc.encode_texts(["x"], role="document")


def test_dpr_roles_use_their_encoder(tiny_dpr):
    import torch
    from transformers import AutoTokenizer, DPRContextEncoder, DPRQuestionEncoder

    q_path, c_path = tiny_dpr
    enc = load_encoder(f"dpr:{q_path},{c_path}")
    assert enc.dim == 32 and enc.modalities == {"text"} and enc.normalized is False
    texts = ["who painted the mona lisa", "leonardo da vinci painted it. " * 60]  # second: > 64 tokens
    q, p = enc.encode_texts(texts, "query"), enc.encode_texts(texts, "passage")
    t = enc.encode_texts(texts, "title")
    tok = AutoTokenizer.from_pretrained(q_path)
    batch = tok(texts, padding=True, truncation=True, max_length=64, return_tensors="pt")
    with torch.no_grad():
        q_ref = DPRQuestionEncoder.from_pretrained(q_path).eval()(**batch).pooler_output.numpy()
        c_ref = DPRContextEncoder.from_pretrained(c_path).eval()(**batch).pooler_output.numpy()
    np.testing.assert_allclose(q, q_ref, atol=1e-5)
    np.testing.assert_allclose(p, c_ref, atol=1e-5)
    np.testing.assert_allclose(t, c_ref, atol=1e-5)
    assert np.abs(q - p).max() > 1e-3  # different weights for questions and contexts
    assert np.abs(np.linalg.norm(q, axis=1) - 1).max() > 1e-2  # left unnormalised (inner-product model)
    with pytest.raises(InputError, match="does not encode images"):
        enc.encode_images([Image.new("RGB", (8, 8))])


def test_packaged_minilm_semantics(minilm_path):
    enc = load_encoder("st:minilm")
    assert enc.dim == 384 and enc.normalized
    v = enc.encode_texts(["a dog", "a puppy", "a spreadsheet"], role="query")
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.1
    # the same model named by path gives the same vectors
    np.testing.assert_allclose(load_encoder(f"st:{minilm_path}").encode_texts(["a dog"]), v[:1], atol=1e-5)


@pytest.fixture(scope="module")
def photos(shared_dir) -> Path:
    return shared_dir / "data" / "photos"


def test_effnet_lite0_features(photos):
    from kvqae.encode.effnet import EffNetLite0Encoder

    enc = load_encoder("effnet-lite0")
    assert isinstance(enc, EffNetLite0Encoder) and enc.dim == 1280
    rocket = Image.open(photos / "rocket.jpg").convert("RGB")
    # packaged ImageNet weights + our preprocessing: the launch is a missile/projectile/space shuttle
    top2 = np.argsort(enc.classify(enc.prepare_images([rocket]))[0])[-2:]
    assert set(top2.tolist()) & {657, 744, 812}
    china = Image.open(photos / "china.jpg").convert("RGB")
    w, h = china.size
    left, right = china.crop((0, 0, int(w * 0.8), h)), china.crop((int(w * 0.2), 0, w, h))
    hopper = Image.open(photos / "grace_hopper.jpg").convert("RGB")
    v = enc.encode_images([left, right, hopper])
    assert v.shape == (3, 1280) and np.isfinite(v).all()
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.1


def test_dlib_faces(photos):
    enc = load_encoder("face:dlib")
    assert enc.dim == 128 and enc.modalities == {"image"}
    obama = Image.open(photos / "obama.jpg")
    mirrored = obama.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    biden = Image.open(photos / "biden.jpg")
    blank = Image.new("RGB", (200, 200), (128, 128, 128))
    v = enc.encode_images([obama, mirrored, biden, blank])
    assert v.shape == (4, 128)
    assert np.isfinite(v[:3]).all() and np.isnan(v[3]).all()
    # dlib convention: same person < 0.6 <= different people
    assert np.linalg.norm(v[0] - v[1]) < 0.6 < np.linalg.norm(v[0] - v[2])
    with pytest.raises(InputError, match="does not encode texts"):
        enc.encode_texts(["obama"])
