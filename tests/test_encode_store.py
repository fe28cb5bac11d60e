"""Embeddings directories: alignment, meta, resume, bad inputs, KB and question helpers, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kvqae.encode.registry import Encoder, load_encoder
from kvqae.encode.store import EmbeddingStore, encode_to_dir, partial_dir
from kvqae.errors import InputError


@pytest.fixture(scope="module")
def clip_enc(tiny_clip):
    return load_encoder(f"clip:{tiny_clip}")


@pytest.fixture()
def images(tmp_path) -> tuple[list[str], list[str]]:
    """Ten small images with distinct colours (JPEG and PNG)."""
    ids, paths = [], []
    for i in range(10):
        im = Image.new("RGB", (40, 36), (25 * i, 255 - 20 * i, (70 * i) % 256))
        im.paste((255, 255, 255), (i * 3, 5, i * 3 + 8, 20))
        p = tmp_path / f"img{i}.{'jpg' if i % 2 else 'png'}"
        im.save(p)
        ids.append(f"e{i}")
        paths.append(str(p))
    return ids, paths


class Counting(Encoder):
    """Wraps a real encoder, counts model calls and can raise after `fail_after` calls (a simulated crash)."""

    def __init__(self, inner: Encoder, fail_after: int | None = None) -> None:
        self.inner, self.fail_after, self.calls = inner, fail_after, 0
        self.spec, self.dim, self.modalities = inner.spec, inner.dim, inner.modalities
        self.normalized, self.image_size = inner.normalized, inner.image_size

    def _tick(self) -> None:
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise KeyboardInterrupt("simulated interruption")
        self.calls += 1

    def prepare_images(self, images):
        return self.inner.prepare_images(images)

    def encode_prepared(self, batch):
        self._tick()
        return self.inner.encode_prepared(batch)

    def encode_texts(self, texts, role="passage"):
        self._tick()
        return self.inner.encode_texts(texts, role)


def test_image_dir_rows_aligned_and_meta(clip_enc, images, tmp_path):
    ids, paths = images
    stats: dict[str, float] = {}
    out = encode_to_dir(clip_enc, ids, paths, kind="image", field="image", out_dir=tmp_path / "emb",
                        batch_size=3, progress=False, stats=stats)
    assert stats["batches"] == 4 and stats["model_s"] > 0
    store = EmbeddingStore.load(out)
    assert store.ids == ids
    assert store.vectors.shape == (10, 32) and store.vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(store.vectors, axis=1), 1.0, atol=1e-5)
    # each row is the embedding of its own file, encoded alone
    for i in (0, 4, 9):
        single = clip_enc.encode_images([Image.open(paths[i])])[0]
        np.testing.assert_allclose(store.vector(ids[i]), single, atol=1e-5)
    from kvqae.encode.registry import model_fingerprint

    # the weights the vectors came from (a local model): an index built from them checks its queries'
    fingerprint = model_fingerprint(clip_enc.spec)
    assert fingerprint is not None and len(fingerprint) == 40
    assert store.meta == {"encoder": clip_enc.spec, "field": "image", "kind": "image", "role": "passage",
                          "dim": 32, "dtype": "float32", "normalized": True, "count": 10, "missing": [],
                          "model_fingerprint": fingerprint}
    assert not partial_dir(out).exists()


def test_none_items_are_missing(clip_enc, tmp_path):
    out = encode_to_dir(clip_enc, ["a", "b", "c"], ["the moon", None, "a rocket"], kind="text", role="title",
                        field="title", out_dir=tmp_path / "t", batch_size=2, progress=False)
    store = EmbeddingStore.load(out)
    assert store.ids == ["a", "c"] and store.missing == ["b"] and store.meta["count"] == 2
    np.testing.assert_allclose(store.vectors, clip_enc.encode_texts(["the moon", "a rocket"]), atol=1e-5)
    assert store.vector("b") is None


@pytest.mark.parametrize("kind", ["text", "image"])
def test_resume_encodes_only_remaining_batches(clip_enc, images, tmp_path, kind):
    ids, paths = images
    items = paths if kind == "image" else [f"entity number {i}" for i in range(10)]
    out = tmp_path / "emb"
    crashing = Counting(clip_enc, fail_after=2)  # 10 items / batch 3 = 4 batches; dies on the 3rd
    with pytest.raises(KeyboardInterrupt):
        encode_to_dir(crashing, ids, items, kind=kind, field="f", out_dir=out, batch_size=3, progress=False)
    assert not out.exists()
    shards = sorted(p.name for p in partial_dir(out).glob("shard-*.npy"))
    assert shards == ["shard-000000.npy", "shard-000001.npy"]

    again = Counting(clip_enc)
    encode_to_dir(again, ids, items, kind=kind, field="f", out_dir=out, batch_size=3, progress=False)
    assert again.calls == 2  # only batches 2 and 3
    fresh = Counting(clip_enc)
    ref = tmp_path / "ref"
    encode_to_dir(fresh, ids, items, kind=kind, field="f", out_dir=ref, batch_size=3, progress=False)
    assert fresh.calls == 4
    np.testing.assert_allclose(EmbeddingStore.load(out).vectors, EmbeddingStore.load(ref).vectors, atol=1e-6)
    assert not partial_dir(out).exists()


def test_no_resume_or_changed_inputs_start_over(clip_enc, tmp_path):
    ids, texts = [f"p{i}" for i in range(6)], [f"passage {i}" for i in range(6)]
    out = tmp_path / "emb"
    with pytest.raises(KeyboardInterrupt):
        encode_to_dir(Counting(clip_enc, fail_after=1), ids, texts, kind="text", field="passage", out_dir=out,
                      batch_size=2, progress=False)
    enc = Counting(clip_enc)
    encode_to_dir(enc, ids, texts, kind="text", field="passage", out_dir=out, batch_size=2, resume=False,
                  progress=False)
    assert enc.calls == 3
    with pytest.raises(KeyboardInterrupt):
        encode_to_dir(Counting(clip_enc, fail_after=1), ids, texts, kind="text", field="passage", out_dir=out,
                      batch_size=2, progress=False)
    changed = texts[:5] + ["a different passage"]
    enc = Counting(clip_enc)
    encode_to_dir(enc, ids, changed, kind="text", field="passage", out_dir=out, batch_size=2, progress=False)
    assert enc.calls == 3  # the shard of the old inputs is not reused
    np.testing.assert_allclose(EmbeddingStore.load(out).vectors[5], clip_enc.encode_texts(changed[5:])[0],
                               atol=1e-5)


def test_unreadable_image_names_file_and_id(clip_enc, images, tmp_path):
    ids, paths = images
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg")
    with pytest.raises(InputError) as e:
        encode_to_dir(clip_enc, ids + ["zz"], paths + [str(bad)], kind="image", field="image",
                      out_dir=tmp_path / "o", batch_size=4, progress=False)
    assert "broken.jpg" in str(e.value) and "id zz" in str(e.value)
    with pytest.raises(InputError, match="image file not found"):
        encode_to_dir(clip_enc, ["x"], [str(tmp_path / "gone.png")], kind="image", field="image",
                      out_dir=tmp_path / "o", progress=False)
    assert not (tmp_path / "o").exists()


def test_bad_inputs(clip_enc, tmp_path):
    with pytest.raises(InputError, match="duplicate id"):
        encode_to_dir(clip_enc, ["a", "a"], ["x", "y"], kind="text", field="t", out_dir=tmp_path / "o",
                      progress=False)
    with pytest.raises(InputError, match="non-empty text") as e:
        encode_to_dir(clip_enc, ["a", "b"], ["x", "  "], kind="text", field="title", out_dir=tmp_path / "o",
                      progress=False)
    assert "id b" in str(e.value)
    st = load_encoder("st:minilm")
    with pytest.raises(InputError, match="cannot encode images"):
        encode_to_dir(st, ["a"], ["x.jpg"], kind="image", field="image", out_dir=tmp_path / "o",
                      progress=False)


def test_encoder_returning_another_dim_is_input_error(clip_enc, tmp_path):
    """A model folder whose pooling config declares another dim: one InputError (was a RuntimeError)."""

    class WrongDim(Counting):
        def __init__(self, inner):
            super().__init__(inner)
            self.dim = inner.dim + 1

    with pytest.raises(InputError, match=r'field "encoder": .*returned vectors of shape \(2, 32\), but it '
                                         r"declares dim 33"):
        encode_to_dir(WrongDim(clip_enc), ["a", "b"], ["x", "y"], kind="text", field="t",
                      out_dir=tmp_path / "o", progress=False)
    assert not (tmp_path / "o").exists()


def test_store_load_checks(clip_enc, tmp_path):
    out = encode_to_dir(clip_enc, ["a", "b"], ["x", "y"], kind="text", field="t", out_dir=tmp_path / "o",
                        progress=False)
    meta = json.loads((out / "meta.json").read_text())
    (out / "meta.json").write_text(json.dumps(dict(meta, dim=64)))
    with pytest.raises(InputError, match="dim"):
        EmbeddingStore.load(out)
    (out / "ids.json").write_text(json.dumps(["a"]))
    with pytest.raises(InputError, match="1 ids for 2 vectors"):
        EmbeddingStore.load(out)
    with pytest.raises(InputError, match="not found"):
        EmbeddingStore.load(tmp_path / "nothing")


def test_faces_without_a_face_are_missing(shared_dir, tmp_path):
    photos = shared_dir / "data" / "photos"
    blank = tmp_path / "blank.png"
    Image.new("RGB", (120, 120), (90, 90, 90)).save(blank)
    enc = load_encoder("face:dlib")
    items = [photos / "obama.jpg", blank, photos / "biden.jpg"]
    out = encode_to_dir(enc, ["obama", "nobody", "biden"], items, kind="image", field="image",
                        out_dir=tmp_path / "faces", batch_size=2, progress=False)
    store = EmbeddingStore.load(out)
    assert store.ids == ["obama", "biden"] and store.missing == ["nobody"]
    assert store.meta["normalized"] is False and store.dim == 128
    assert np.linalg.norm(store.vectors[0] - store.vectors[1]) > 0.6


# ------------------------------------------------------------------------------------------ KB / questions


@pytest.fixture()
def kb_dir(tmp_path, images) -> Path:
    """A 4-entity KB built with `kvqae.data.kb.build_kb` from JSON-lines articles (entity e3 has no image)."""
    kb_mod = pytest.importorskip("kvqae.data.kb")
    _, paths = images
    rows = []
    for i, name in enumerate(["Eiffel Tower", "Mount Fuji", "Big Ben", "Nile"]):
        row = {"id": f"e{i}", "title": name, "text": f"{name} is a famous place. " * 30}
        if i < 3:
            row["image"] = Path(paths[i]).name
        rows.append(row)
    src = tmp_path / "articles.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    kb_mod.build_kb(src, tmp_path / "kb", progress=False)
    return tmp_path / "kb"


def test_encode_kb_fields(clip_enc, kb_dir, tmp_path):
    from kvqae.data.kb import KnowledgeBase
    from kvqae.encode.store import encode_kb

    kb = KnowledgeBase.load(kb_dir)
    img = EmbeddingStore.load(encode_kb(kb_dir, clip_enc, "image", tmp_path / "img", progress=False))
    assert img.ids == ["e0", "e1", "e2"] and img.missing == ["e3"]
    titles = EmbeddingStore.load(encode_kb(kb, clip_enc, "title", tmp_path / "title", progress=False))
    assert titles.ids == kb.entity_ids and titles.meta["role"] == "title"
    np.testing.assert_allclose(titles.vectors[1], clip_enc.encode_texts(["Mount Fuji"])[0], atol=1e-5)
    passages = EmbeddingStore.load(encode_kb(kb, "st:minilm", "passage", tmp_path / "pas", batch_size=3,
                                             progress=False))
    assert passages.ids == kb.passage_ids and passages.dim == 384 and passages.meta["encoder"] == "st:minilm"
    assert len(kb.passage_ids) > 4  # 150-word articles -> 2 passages each


def test_encode_questions(clip_enc, images, tmp_path):
    questions_mod = pytest.importorskip("kvqae.data.questions")
    from kvqae.encode.store import encode_questions

    _, paths = images
    qfile = tmp_path / "q.jsonl"
    qfile.write_text(
        json.dumps({"id": "q1", "question": "what is this tower?", "image": Path(paths[0]).name,
                    "answers": ["Paris"]}) + "\n"
        + json.dumps({"id": "q2", "question": "where is this river?", "answers": ["Egypt"]}) + "\n")
    qs = questions_mod.load_questions(qfile)
    text = EmbeddingStore.load(encode_questions(qfile, clip_enc, "question", tmp_path / "qt", progress=False))
    assert text.ids == ["q1", "q2"] and text.meta["role"] == "query"
    img = EmbeddingStore.load(encode_questions(qs, clip_enc, "image", tmp_path / "qi", progress=False))
    assert img.ids == ["q1"] and img.missing == ["q2"]
    np.testing.assert_allclose(img.vectors[0], clip_enc.encode_images([Image.open(paths[0])])[0], atol=1e-5)

    from typer.testing import CliRunner

    from kvqae.cli import app

    res = CliRunner().invoke(app, ["encode", "questions", str(qfile), "--encoder", clip_enc.spec, "--field",
                                   "question", "--out", str(tmp_path / "cli-q"), "--no-progress"])
    assert res.exit_code == 0, res.output
    np.testing.assert_allclose(EmbeddingStore.load(tmp_path / "cli-q").vectors, text.vectors, atol=1e-6)


def test_cli_encode_kb(tiny_clip, kb_dir, tmp_path):
    from typer.testing import CliRunner

    from kvqae.cli import app

    runner = CliRunner()
    out = tmp_path / "cli-emb"
    res = runner.invoke(app, ["encode", "kb", str(kb_dir), "--encoder", f"clip:{tiny_clip}", "--field",
                              "title", "--out", str(out), "--batch-size", "2", "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "4 vectors of dim 32" in res.output
    assert EmbeddingStore.load(out).meta["field"] == "title"
    res = runner.invoke(app, ["encode", "kb", str(kb_dir), "--encoder", "nope:x", "--field", "title",
                              "--out", str(out)])
    assert isinstance(res.exception, InputError) and "known prefixes" in str(res.exception)
    res = runner.invoke(app, ["encode", "kb", str(kb_dir), "--encoder", "st:minilm", "--field", "question",
                              "--out", str(out)])
    assert isinstance(res.exception, InputError)


def test_jpeg_draft_decoding_keeps_enough_pixels(tmp_path):
    from kvqae.encode.loader import open_image

    p = tmp_path / "big.jpg"
    Image.new("RGB", (640, 480), (10, 200, 30)).save(p)
    assert open_image(p).size == (640, 480)
    assert open_image(p, min_size=64).size == (160, 120)  # 1/4 scale: 1/8 would be 60 px < 64
    assert open_image(p, min_size=300).size == (640, 480)  # a 1/2 scale would be 240 px < 300
    png = tmp_path / "big.png"
    Image.new("L", (640, 480), 7).save(png)
    im = open_image(png, min_size=64)
    assert im.size == (640, 480) and im.mode == "RGB"  # draft is JPEG-only; grey converted to RGB


def test_a_model_changed_in_place_starts_over(clip_enc, tmp_path):
    # the manifest named the encoder only: batches of a model retrained at the same path were kept, and the
    # store held two models' vectors
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").write_bytes(b"old")
    ids, texts = [f"p{i}" for i in range(6)], [f"passage {i}" for i in range(6)]
    out = tmp_path / "emb"
    crashing = Counting(clip_enc, fail_after=1)
    crashing.spec = f"clip:{model}"
    with pytest.raises(KeyboardInterrupt):
        encode_to_dir(crashing, ids, texts, kind="text", field="passage", out_dir=out, batch_size=2,
                      progress=False)
    (model / "weights.bin").write_bytes(b"retrained")
    enc = Counting(clip_enc)
    enc.spec = f"clip:{model}"
    encode_to_dir(enc, ids, texts, kind="text", field="passage", out_dir=out, batch_size=2, progress=False)
    assert enc.calls == 3  # every batch again
