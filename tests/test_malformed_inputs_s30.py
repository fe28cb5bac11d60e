"""Session 30: KB columns of pandas `category` dtype, passage ids that differ from their entity's, the types
note inside `kvqae run`, run scores that overflow a float, question photos in unusual PIL modes (Lab, CMYK,
16-bit, premultiplied alpha, TIFF layouts PIL cannot decode), and question files with numbers or blanks for
answers or a tab-separated layout."""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from cli_run import kvqae
from kvqae.ask.images import decode_image
from kvqae.data.kb import KnowledgeBase, build_kb
from kvqae.data.kb_subset import load_kb_subset
from kvqae.data.questions import load_questions
from kvqae.data.runs import Run
from kvqae.encode.loader import open_image
from kvqae.errors import InputError, UnsupportedInputError
from kvqae.search.passage_table import PassageTable
from service_stand_in import asked, client  # noqa: F401  (fixtures)
from test_malformed_inputs_s27_run import _pipeline  # the BM25 PIPELINE.yaml over the tiny world


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture()
def kb_dir(tmp_path) -> Path:
    """A built KB of 3 articles (A, B, C) of 3 passages each."""
    rows = [{"id": e, "title": f"Title {e}", "text": f"{e} is a place with a river. " * 20} for e in "ABC"]
    source = _write(tmp_path / "a.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    return build_kb(source, tmp_path / "kb", words=50, progress=False).path


# ----------------------------------------------------------------------------------- KB tables


def _as_categories(kb: Path, name: str, columns: list[str], values: dict | None = None) -> None:
    frame = pd.read_parquet(kb / name)
    for column in columns:
        frame[column] = pd.Categorical((values or {}).get(column, frame[column]))
    frame.to_parquet(kb / name)


def test_kb_columns_of_category_dtype_are_read_as_their_strings(kb_dir):
    # a KB saved by pandas after astype("category") was refused: 'field "title": must hold strings, the
    # column has type dictionary<values=string, indices=int8, ordered=0>'
    before = KnowledgeBase.load(kb_dir)
    _as_categories(kb_dir, "entities.parquet", ["entity_id", "title", "text", "image", "wikidata_id"])
    _as_categories(kb_dir, "passages.parquet", ["passage_id", "entity_id", "title", "text"])
    assert pa.types.is_dictionary(pq.read_schema(kb_dir / "entities.parquet").field("title").type)
    kb = KnowledgeBase.load(kb_dir)
    assert kb.passage_ids == before.passage_ids and kb.resolve("Title B") == "B"
    assert kb.passage_text("B#1") == before.passage_text("B#1")
    assert kb.passages_of("C") == ["C#0", "C#1", "C#2"]
    assert not any(isinstance(dtype, pd.CategoricalDtype) for dtype in kb.passages.dtypes)
    subset = load_kb_subset(kb_dir, passage_ids=["B#1"], entity_keys=["Title C"])
    assert subset.passage_text("B#1") == before.passage_text("B#1") and subset.resolve("Title C") == "C"
    assert PassageTable.load(kb_dir).entity_of("B#1") == "B"


def test_a_null_in_a_category_column_still_names_its_row(kb_dir):
    _as_categories(kb_dir, "entities.parquet", ["text"], {"text": ["x", None, "z"]})
    for load in (KnowledgeBase.load, lambda kb: load_kb_subset(kb, entity_keys=["B"])):
        with pytest.raises(InputError) as err:
            load(kb_dir)
        assert str(err.value) == f'{kb_dir / "entities.parquet"}: row 2: field "text": missing value (null)'


def test_passage_ids_that_name_another_entity_are_opaque_keys_every_reader_agrees_on(kb_dir):
    # "A#0" stored under entity B and "B#0" under A: ids are keys, never parsed when they are not the
    # "{entity_id}#{position}" that build_kb writes, so every reader maps them by the entity_id column
    table = pq.read_table(kb_dir / "passages.parquet")
    ids = table.column("passage_id").to_pylist()
    ids[0], ids[3] = ids[3], ids[0]
    i = table.schema.get_field_index("passage_id")
    pq.write_table(table.set_column(i, table.schema.field(i), pa.array(ids)), kb_dir / "passages.parquet")
    kb, passages = KnowledgeBase.load(kb_dir), PassageTable.load(kb_dir)
    subset = load_kb_subset(kb_dir, passage_ids=["A#0", "B#0", "A#1"])
    for reader in (kb, passages, subset):
        assert (reader.entity_of("B#0"), reader.entity_of("A#0"), reader.entity_of("A#1")) == ("A", "B", "A")
    assert kb.passages_of("A") == passages.passages_of("A") == ["B#0", "A#1", "A#2"]


# ----------------------------------------------------------------------------------- kvqae run


def test_a_types_file_that_types_nothing_is_noted_by_kvqae_run(tiny_world_dir, tmp_path):
    from kvqae.pipeline import load_pipeline_config, run_pipeline

    # the world's articles without their own types (and images, which are elsewhere), typed by QIDs they lack
    rows = [json.loads(line) for line in (tiny_world_dir / "articles.jsonl").read_text().splitlines()]
    rows = [{k: v for k, v in r.items() if k not in ("types", "image", "wikidata_id")} for r in rows]
    articles = _write(tmp_path / "articles.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    types = _write(tmp_path / "types.json", json.dumps({"Q90": ["city"]}))
    config = _pipeline(tmp_path / "conf", tiny_world_dir,
                       kb={"source": str(articles), "words": 40, "types_from": str(types)})
    lines: list[str] = []
    run_pipeline(load_pipeline_config(config), progress=False, log=lines.append)
    notes = [line for line in lines if "gave no entity a type" in line]
    assert notes == [f"[kb] note: kb.types_from {types} gave no entity a type: none of its keys is the "
                     "Wikidata id, the id or the title of an article here (or those it names have no "
                     "labels); a file keyed by QIDs needs articles with a wikidata_id or its records' "
                     "wikipedia_title"]


# ----------------------------------------------------------------------------------- run scores


@pytest.mark.parametrize(("name", "text", "shown"), [
    ("r.json", '{"run": {"q1": {"d1": ' + "1" * 400 + "}}}", "111111111111..., 400 characters"),
    ("r.json", '{"run": {"q1": {"d1": -1e400}}}', "-1e400"),
    ("r.trec", "q1 Q0 d1 1 " + "9" * 400 + " r\n", "999999999999..., 400 characters"),
    ("r.trec", "q1 Q0 d1 1 1e999 r\n", "1e999"),
])
def test_a_score_beyond_float_range_is_said_to_overflow(tmp_path, name, text, shown):
    # a 400-digit integer was "not a number"; 1e400 in JSON was "not finite (inf)"
    path = _write(tmp_path / name, text)
    with pytest.raises(InputError) as err:
        Run.load(path)
    assert f"score of 'd1' ({shown}) overflows a float: its magnitude is beyond the largest float" in str(
        err.value)


def test_infinite_and_large_finite_scores_keep_their_reading(tmp_path):
    with pytest.raises(InputError, match=r"is not finite \(-inf\)"):
        Run.load(_write(tmp_path / "r.trec", "q1 Q0 d1 1 -inf r\n"))
    with pytest.raises(InputError, match=r"is not finite \(-inf\)"):
        Run.load(_write(tmp_path / "r.json", '{"run": {"q1": {"d1": -Infinity}}}'))
    big = "1" + "0" * 300 + ".5"
    assert Run.load(_write(tmp_path / "b.json", '{"run": {"q1": {"d1": ' + big + "}}}")).scores == {
        "q1": {"d1": 1e300}}


# ----------------------------------------------------------------------------------- photos


def _saved(im: Image.Image, fmt: str, **kwargs) -> bytes:
    data = io.BytesIO()
    im.save(data, fmt, **kwargs)
    return data.getvalue()


def _tiff(photometric: int, bits: int, samples: int, *, extra: int | None = None, sample_format: int = 1,
          pixels: bytes | None = None, size: tuple[int, int] = (8, 6)) -> bytes:
    """An uncompressed little-endian TIFF of one strip with the layout tags given (PIL writes few layouts)."""
    width, height = size
    n = (width * samples * bits + 7) // 8 * height
    pixels = bytes((i * 37) % 256 for i in range(n)) if pixels is None else pixels
    tags = [(256, [width]), (257, [height]), (258, [bits] * samples), (259, [1]), (262, [photometric]),
            (273, [0]), (277, [samples]), (278, [height]), (279, [n]), (339, [sample_format] * samples)]
    if extra is not None:
        tags.append((338, [extra]))
    tags.sort()
    ifd_end = 8 + 2 + 12 * len(tags) + 4
    blobs, entries = b"", []
    for code, values in tags:
        kind, raw = (4, struct.pack("<I", values[0])) if code in (273, 279) else (
            3, struct.pack(f"<{len(values)}H", *values))
        if len(raw) > 4:
            entries.append([code, kind, len(values), struct.pack("<I", ifd_end + len(blobs))])
            blobs += raw
        else:
            entries.append([code, kind, len(values), raw.ljust(4, b"\0")])
    for entry in entries:
        if entry[0] == 273:
            entry[3] = struct.pack("<I", ifd_end + len(blobs))
    ifd = struct.pack("<H", len(tags)) + b"".join(struct.pack("<HHI", c, k, m) + v for c, k, m, v in entries)
    return b"II*\0" + struct.pack("<I", 8) + ifd + b"\0\0\0\0" + blobs + pixels


def _transparent_palette() -> Image.Image:
    """A palette image whose every pixel is colour 1 (black), which the file marks transparent."""
    image = Image.new("P", (16, 12), 1)
    image.putpalette([200, 30, 30, 0, 0, 0])
    return image


RED = Image.new("RGB", (16, 12), (200, 30, 30))
CONVERTED = {  # name: (file bytes, the colour of its first pixel once RGB, within 3 levels)
    "lab.tiff": (_saved(RED.convert("LAB"), "TIFF"), (200, 30, 30)),
    "cmyk.tiff": (_saved(RED.convert("CMYK"), "TIFF"), (200, 30, 30)),
    "cmyk.jpg": (_saved(RED.convert("CMYK"), "JPEG", quality=95), (200, 30, 30)),
    "i16.png": (_saved(Image.fromarray(np.full((12, 16), 40000, dtype=np.uint16)), "PNG"), (156, 156, 156)),
    "p-transparent.png": (_saved(_transparent_palette(), "PNG", transparency=1), (255, 255, 255)),
    "la.png": (_saved(Image.new("LA", (16, 12), (100, 255)), "PNG"), (100, 100, 100)),
    "1-bit.tiff": (_saved(Image.new("1", (16, 12), 1), "TIFF"), (255, 255, 255)),
    # grey 100 at alpha 128, premultiplied (50): on white 50 + 255 - 128 = 177 (a ValueError traceback before)
    "premultiplied.tiff": (_tiff(1, 8, 2, extra=1, pixels=bytes([50, 128]) * 48), (177, 177, 177)),
    # 12-bit grey 2048 of 4095: mid grey, not the 8 of 255 that a 16-bit reading gave
    "12-bit.tiff": (_tiff(1, 12, 1, pixels=b"\x80\x08\x00" * 24), (128, 128, 128)),
}


@pytest.mark.parametrize("name", sorted(CONVERTED))
def test_question_photos_in_unusual_modes_become_rgb(tmp_path, name):
    data, colour = CONVERTED[name]
    (tmp_path / name).write_bytes(data)
    for image in (decode_image(data, name=name), open_image(tmp_path / name)):
        assert image.mode == "RGB"
        assert max(abs(a - b) for a, b in zip(image.getpixel((0, 0)), colour, strict=True)) <= 3, name


@pytest.mark.parametrize(("tiff", "layout"), [
    (_tiff(8, 16, 3), "16-bit CIELab, 3 samples per pixel"),
    (_tiff(2, 32, 3, sample_format=3), "32-bit floating-point RGB, 3 samples per pixel"),
    (_tiff(2, 8, 3, sample_format=2), "8-bit signed RGB, 3 samples per pixel"),
])
def test_a_tiff_layout_pil_cannot_decode_is_named(tmp_path, tiff, layout):
    # was "truncated or corrupt TIFF image (its header cannot be read)" for the upload, "unreadable image
    # (cannot identify image file ...)" for `kvqae encode`
    message = f"a TIFF of {layout}: a pixel layout PIL cannot decode; save it as an 8-bit RGB or greyscale"
    with pytest.raises(UnsupportedInputError, match=message):
        decode_image(tiff, name="p.tiff")
    (tmp_path / "p.tiff").write_bytes(tiff)
    with pytest.raises(InputError, match=message):
        open_image(tmp_path / "p.tiff")
    with pytest.raises(InputError, match="truncated or corrupt TIFF image"):  # a cut header: as before
        decode_image(tiff[:30], name="p.tiff")


def test_signed_16_bit_pixels_are_not_called_32_bit():
    tiff = _tiff(1, 16, 1, sample_format=2, pixels=struct.pack("<h", -5) * 48)
    with pytest.raises(InputError, match=r"signed integer pixels \(negative values\) are not supported"):
        decode_image(tiff, name="p.tiff")


def test_the_service_takes_a_premultiplied_tiff_and_names_an_undecodable_one(client, asked):  # noqa: F811
    # the premultiplied TIFF was an HTTP 500 (ValueError: conversion from La to L not supported)
    data = CONVERTED["premultiplied.tiff"][0]
    client.post("/api/ask", data={"question": "Who is this?"},
                files={"image": ("p.tiff", data, "image/tiff")})
    assert asked[-1] == ("Who is this?", True)
    resp = client.post("/api/ask", data={"question": "Who is this?"},
                       files={"image": ("lab.tiff", _tiff(8, 16, 3), "image/tiff")})
    assert resp.status_code == 415 and "a TIFF of 16-bit CIELab" in resp.json()["error"]["message"]


def test_training_images_are_read_as_the_encoders_read_them(tmp_path):
    from kvqae.train.data import open_image as training_image

    path = tmp_path / "p.tiff"
    path.write_bytes(CONVERTED["premultiplied.tiff"][0])
    assert training_image(str(path)).getpixel((0, 0)) == (177, 177, 177)  # a ValueError traceback before
    i16 = Image.open(io.BytesIO(CONVERTED["i16.png"][0]))
    assert training_image(i16).getpixel((0, 0)) == (156, 156, 156)  # all white (255) before


# ----------------------------------------------------------------------------------- question files


@pytest.mark.parametrize(("answers", "message"), [
    ("[1889]", 'item 1 is not a string: 1889 (integer); write it as a string: "1889"'),
    ('["x", null]', "item 2 is not a string: null (null)"),
    ("1889", 'must be a list of strings, got integer (write ["1889"] for one answer)'),
    ('[""]', 'every answer is empty (write "answers": [] for a question whose answer is not known)'),
    ('["  ", " "]', "every answer is empty"),
])
def test_answers_that_are_not_strings_or_are_blank_are_named(tmp_path, answers, message):
    # a number said only "must be a list of strings"; [""] was read as [] (a question that scores 0), silently
    path = _write(tmp_path / "q.jsonl", '{"id": "q1", "question": "When?", "answers": ' + answers + "}\n")
    with pytest.raises(InputError) as err:
        load_questions(path)
    assert str(err.value).startswith(f'{path}: line 1: field "answers": ') and message in str(err.value)


def test_bom_crlf_and_empty_answer_lists_still_read(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"id": "q1", "question": "Who?", "answers": []}\r\n'
                     b'{"id": "q2", "question": "When?", "answers": ["1889", ""]}\r\n')
    assert [(q.id, q.answers) for q in load_questions(path)] == [("q1", []), ("q2", ["1889"])]


def test_a_tab_separated_questions_file_is_named(tmp_path, monkeypatch, capsys):
    path = tmp_path / "q.tsv"
    path.write_bytes(b"\xef\xbb\xbfquestion\tanswer\r\nWho built it?\tEiffel\r\n")
    code, err = kvqae(monkeypatch, capsys, "questions", "info", path)
    assert code == 2 and err.strip() == (
        f"error: {path}: a tab-separated file is not a questions layout kvqae reads: write JSON lines (one "
        '{"id", "question", "answers": [...]} object per line), a JSON list of them, or an Encyclopedic-VQA '
        ".csv")
    _write(path, '{"id": "q1", "question": "Who?", "answers": ["x"]}\n')  # JSON lines named .tsv: read
    assert load_questions(path)[0].answers == ["x"]


def test_ablation_reads_16_bit_photos_with_their_tones(tiny_clip, tmp_path):
    """`train ablation` embeds images as training and `kvqae encode` read them: a plain RGB conversion
    clipped a 16-bit photo to an all-white picture, so it embedded another picture than its 8-bit copy."""
    from PIL import Image

    from kvqae.train.ablation import _embed

    tones = np.arange(64 * 64, dtype=np.uint32).reshape(64, 64) * 16  # 0 .. 65520
    sixteen, eight = tmp_path / "p16.png", tmp_path / "p8.png"
    Image.fromarray(tones.astype(np.uint16)).save(sixteen)
    Image.fromarray((tones >> 8).astype(np.uint8)).convert("RGB").save(eight)
    white = tmp_path / "white.png"
    Image.new("RGB", (64, 64), (255, 255, 255)).save(white)
    images, entity_images, _ = _embed(str(tiny_clip), [str(sixteen)], [str(eight), str(white)], ["t"], "cpu")
    assert np.allclose(images[0], entity_images[0], atol=1e-5)
    assert not np.allclose(images[0], entity_images[1], atol=1e-3)
