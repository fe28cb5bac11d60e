"""Malformed inputs that used to pass silently, each now refused with one InputError naming the place:
duplicate YAML keys, --kb with --qrels, negative / all-zero fusion weights and a bad RRF k, embeddings of
dimension 0, a KB whose meta.json counts disagree with its tables, and control characters in ids. Also
refused before anything is written: a `kvqae read --ranked-out` that the run cannot be saved to, a
`read-fit --l2` that gives non-finite weights, a bundle without z-score statistics for a run or whose reader
folder holds no model. And: a passage the KB lacks names the run's file (not its name), a bundle's unknown
fusion method or norm, infinite run scores (refused at load like NaN), `read-fit --save` with nothing to
learn from. Sweep 2: question photos (16-bit tones, EXIF orientation, no EPS/Ghostscript, float pixels),
`kvqae ask --image` of a device or an oversized file, hand-edited index folders, colliding run names."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from typer.testing import CliRunner

from kvqae.ask.bundle import BUNDLE_FILE, load_bundle
from kvqae.cli import app
from kvqae.config import load_yaml
from kvqae.data.articles import read_articles
from kvqae.data.kb import KnowledgeBase, build_kb
from kvqae.data.kb_subset import load_kb_subset
from kvqae.data.questions import load_questions
from kvqae.data.runs import Run
from kvqae.errors import InputError
from kvqae.fusion.core import fuse
from kvqae.fusion.search import WEIGHTS_FORMAT, load_weights
from kvqae.index.embeddings import read_embeddings

runner = CliRunner()
A = Run({"q1": {"x": 3.0, "y": 2.0}}, name="a", level="passage")
B = Run({"q1": {"y": 5.0, "z": 1.0}}, name="b", level="passage")


def _invoke(*args) -> InputError:
    res = runner.invoke(app, [str(a) for a in args])
    assert isinstance(res.exception, InputError), res.output
    return res.exception


# ------------------------------------------------------------------------- 1. duplicate keys in YAML


def test_duplicate_yaml_keys_are_refused_with_the_key_and_line(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("k: 5\noutput: out\nk: 10\n")
    with pytest.raises(InputError, match=r"p\.yaml: line 3: duplicate key 'k' \(first at line 1\)"):
        load_yaml(path)
    path.write_text("retrieval:\n  - mode: text-passage\n    index: a\n    index: b\n")  # nested too
    with pytest.raises(InputError, match=r"line 4: duplicate key 'index' \(first at line 3\)"):
        load_yaml(path)
    path.write_text("base: &b {x: 1}\nthing:\n  <<: *b\n  x: 2\n")  # a merge key may be overridden
    assert load_yaml(path)["thing"] == {"x": 2}
    path.write_text("output: out\n")
    err = _invoke("run", path, "--set", "k={a: 1, a: 2}")
    assert str(err) == "line 1: field \"--set k\": duplicate key 'a' (first at line 1); write each key once"
    assert "invalid YAML" in str(_invoke("run", path, "--set", "k=["))  # was a yaml traceback


# ------------------------------------------------------------------------- 2. --kb and --qrels together


@pytest.mark.parametrize("command", [["evaluate", "retrieval"], ["fuse", "fit"]])
def test_kb_and_qrels_together_are_refused(tmp_path, command):
    out = tmp_path / "out"
    err = _invoke(*command, "--run", tmp_path / "a.json", "--run", tmp_path / "b.json", "--questions",
                  tmp_path / "q.jsonl", "--kb", tmp_path / "kb", "--qrels", tmp_path / "qrels.json",
                  "--out", out)
    assert str(err).startswith("give --kb (to judge relevance from the runs against the KB) or --qrels")
    assert str(err).endswith("not both") and not out.exists()


# ------------------------------------------------------------------------- 3. fusion weights and RRF k


def test_negative_or_all_zero_weights_and_bad_rrf_k_are_refused(tmp_path):
    with pytest.raises(InputError, match=r'field "weights": weights must be >= 0, got \[-1.0, 2.0\]'):
        fuse([A, B], method="wsum", weights=[-1, 2])
    with pytest.raises(InputError, match=r'field "weights": weights are all 0'):
        fuse([A, B], method="combsum", weights=[0, 0.0])
    for k in (float("inf"), -1.0, float("nan")):
        with pytest.raises(InputError, match=r'field "rrf_k": must be a finite number >= 0'):
            fuse([A, B], method="rrf", rrf_k=k)
    assert fuse([A, B], method="rrf", rrf_k=0).scores["q1"] == pytest.approx({"y": 1.5, "x": 1.0, "z": 0.5})
    args = ["fuse", "combine", "--run", tmp_path / "a.json", "--run", tmp_path / "b.json", "--out",
            tmp_path / "f.json"]
    assert str(_invoke(*args, "--rrf-k", "inf")) == (
        "--rrf-k must be a finite number >= 0 and <= 1e+06, got inf")


@pytest.mark.parametrize("change,message", [
    ({"weights": [-0.5, 1.0]}, r'w\.json: field "weights": weights must be >= 0'),
    ({"weights": [0, 0]}, r'w\.json: field "weights": weights are all 0'),
    ({"rrf_k": -5}, r'w\.json: field "rrf_k": must be a finite number >= 0, got -5'),
])
def test_weights_file_refuses_negative_or_zero_weights_and_rrf_k(tmp_path, change, message):
    data = {"format": WEIGHTS_FORMAT, "weights": [0.3, 0.7], "method": "wsum", "norm": "zscore",
            "default_minimum": None, "rrf_k": 60, "run_names": ["a", "b"], **change}
    (tmp_path / "w.json").write_text(json.dumps(data))
    with pytest.raises(InputError, match=message):
        load_weights(tmp_path / "w.json")


@pytest.mark.parametrize("fusion,message", [
    ({"weights": {"a": -1.0, "b": 2.0}}, 'field "fusion.weights": weights must be >= 0'),
    ({"weights": {"a": 0.0, "b": 0.0}}, 'field "fusion.weights": weights are all 0'),
    ({"weights": {"a": 1.0, "b": 1.0}, "rrf_k": -1}, 'field "fusion.rrf_k": must be a finite number >= 0'),
])
def test_bundle_refuses_negative_or_zero_weights_and_rrf_k(tmp_path, fusion, message):
    entry = {"mode": "text-passage", "encoder": "x", "index": "."}
    (tmp_path / BUNDLE_FILE).write_text(json.dumps({
        "kb": ".", "retrieval": [{**entry, "name": "a"}, {**entry, "name": "b"}], "fusion": fusion}))
    with pytest.raises(InputError, match=message) as err:
        load_bundle(tmp_path)
    assert BUNDLE_FILE in str(err.value)


# ------------------------------------------------------------------------- 4. embeddings of dimension 0


def test_embeddings_of_dimension_zero_are_refused(tmp_path):
    emb = tmp_path / "emb"
    emb.mkdir()
    np.save(emb / "vectors.npy", np.zeros((2, 0), dtype=np.float32))
    (emb / "ids.json").write_text('["a", "b"]')
    (emb / "meta.json").write_text(json.dumps({"encoder": "x", "field": "image", "kind": "image", "dim": 0,
                                               "count": 2}))
    message = "emb/vectors.npy: vectors have dimension 0 (shape (2, 0)): nothing to index or search"
    err = _invoke("index", "build", emb, "--out", tmp_path / "idx", "--no-progress")
    assert str(err).endswith(message) and not (tmp_path / "idx").exists()
    with pytest.raises(InputError, match=r"vectors have dimension 0") as e:
        read_embeddings(emb)  # query embeddings too
    assert str(e.value).endswith(message)


# ------------------------------------------------------------------------- 5. KB meta.json counts


def test_kb_meta_counts_must_match_the_tables(tmp_path):
    (tmp_path / "a.jsonl").write_text(json.dumps({"id": "E1", "title": "T", "text": "one two three"}) + "\n")
    kb = build_kb(tmp_path / "a.jsonl", tmp_path / "kb", progress=False).path
    meta = json.loads((kb / "meta.json").read_text())
    for key, value, message in (("passages", 7, "says 7 passages but passages.parquet has 1 rows"),
                                ("entities", 0, "says 0 entities but entities.parquet has 1 rows"),
                                ("entities", "1", "must be an integer, got '1'")):
        (kb / "meta.json").write_text(json.dumps({**meta, key: value}))
        for load in (KnowledgeBase.load, load_kb_subset):
            with pytest.raises(InputError) as err:
                load(kb)
            assert str(err.value) == f'{kb / "meta.json"}: field "{key}": {message}'
    (kb / "meta.json").write_text(json.dumps({k: v for k, v in meta.items() if k != "passages"}))
    assert len(KnowledgeBase.load(kb).passages) == 1  # a count not recorded is not checked


# ------------------------------------------------------------------------- 6. control characters in ids


@pytest.mark.parametrize("qid", ["q\x001", "q\x1f1", "q\t1", "q\u20281", "q\x851"])
def test_control_characters_in_question_ids_are_refused(tmp_path, qid):
    rows = [{"id": i, "question": "Who?", "answers": ["x"]} for i in ("q0", qid)]
    path = tmp_path / "q.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(InputError) as err:
        load_questions(path)
    assert str(err.value).startswith(f'{path}: line 2: field "id": id {qid!r} holds the control character')
    assert str(err.value).endswith("which run files cannot carry")


def test_control_characters_in_article_ids_are_refused(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({"id": "E\x001", "title": "T", "text": "words"}) + "\n")
    with pytest.raises(InputError, match=r"a\.jsonl: line 1: field \"id\": id 'E\\x001' holds the control"):
        list(read_articles(path))
    path = tmp_path / "kb.jsonl"
    path.write_text(json.dumps({"wikipedia_title": "T\x00x", "text": {"paragraph": ["words"]}}) + "\n")
    with pytest.raises(InputError, match=r'field "wikipedia_title": id .* holds the control character'):
        list(read_articles(path, "viquae"))


# ------------------------------------------------------------------------- 7. outputs refused before work


def _model_like(folder):
    folder.mkdir(exist_ok=True)  # looks like a model folder: the checks run before any model loads
    (folder / "config.json").write_text("{}")
    return folder


@pytest.mark.parametrize("name,qid,ranked,message", [
    ("r", "q1", "rr.csv", "rr.csv: unknown run format: use .json, or .trec, .txt or .run for a TREC run"),
    ("my run", "q1", "rr.trec", "run name 'my run+reader' is empty or holds whitespace"),
    ("r", "q 1", "rr.trec", "query id 'q 1' is empty or holds whitespace"),
])
def test_read_refuses_a_ranked_out_it_cannot_save_before_writing_predictions(prose_kb, tmp_path, name, qid,
                                                                             ranked, message):
    """--ranked-out was written after the predictions: an unsavable one left predictions and an error."""
    row = {"id": qid, "question": "When?", "answers": ["1969"]}
    (tmp_path / "q.jsonl").write_text(json.dumps(row) + "\n")
    Run({qid: {"Apollo_11#0": 1.0}}, name=name).save(tmp_path / "run.json")
    out = tmp_path / "p.jsonl"
    err = _invoke("read", "--run", tmp_path / "run.json", "--kb", prose_kb.path, "--questions",
                  tmp_path / "q.jsonl", "--model", _model_like(tmp_path / "model"), "--out", out,
                  "--ranked-out", tmp_path / ranked, "--no-progress")
    assert str(err).startswith(f"{tmp_path / ranked}: ") and message in str(err)
    assert not out.exists() and not (tmp_path / ranked).exists()


def test_read_fit_refuses_an_l2_that_gives_non_finite_weights(prose_kb, tmp_path, one_torch_thread):
    """--l2 inf (or one so large the fit overflows) printed NaN weights, and --save wrote them (as NaN, not
    JSON) into the reader's settings."""
    import shutil

    from kvqae.read.model import SETTINGS_FILE, build_tiny_reader

    reader = tmp_path / "reader"
    shutil.copytree(build_tiny_reader(tmp_path / "tiny", seed=0), reader)
    row = {"id": "q1", "question": "When did the module land?", "answers": ["July 20, 1969"]}
    (tmp_path / "q.jsonl").write_text(json.dumps(row) + "\n")
    Run({"q1": {"Apollo_11#0": 2.0, "Marie_Curie#0": 1.0}}).save(tmp_path / "run.json")
    before = (reader / SETTINGS_FILE).read_text()
    args = ["read-fit", "--model", reader, "--run", tmp_path / "run.json", "--kb", prose_kb.path,
            "--questions", tmp_path / "q.jsonl", "--top-k", "2", "--no-progress", "--save"]
    assert str(_invoke(*args, "--l2", "inf")) == 'field "l2": --l2 must be a finite number >= 0, got inf'
    err = _invoke(*args, "--l2", "1e308")
    assert err.field == "l2" and "not finite numbers (--l2 1e+308 too large?)" in str(err)
    assert (reader / SETTINGS_FILE).read_text() == before


def _bundle(tmp_path, **extra):
    entry = {"mode": "text-passage", "encoder": "x", "index": "."}
    (tmp_path / BUNDLE_FILE).write_text(json.dumps({
        "kb": ".", "retrieval": [{**entry, "name": "a"}, {**entry, "name": "b"}], **extra}))
    return tmp_path


def test_bundle_needs_zscore_stats_for_every_fused_run(tmp_path):
    """A run without (mean, std) was a KeyError when a question was asked."""
    fusion = {"weights": {"a": 0.5, "b": 0.5}, "zscore_stats": {"a": [0.0, 1.0]}}
    with pytest.raises(InputError) as err:
        load_bundle(_bundle(tmp_path, fusion=fusion))
    message = "no (mean, std) for run 'b'"
    assert str(err.value) == f'{tmp_path / BUNDLE_FILE}: field "fusion.zscore_stats": {message}'
    load_bundle(_bundle(tmp_path, fusion={**fusion, "norm": "minmax"}))  # not used by other norms


def test_bundle_reader_must_be_a_model_folder(tmp_path):
    """A reader folder without model files was a transformers ValueError (a traceback) at load time."""
    (tmp_path / "reader").mkdir()
    with pytest.raises(InputError) as err:
        load_bundle(_bundle(tmp_path, reader={"model": "reader"}))
    assert str(err.value).startswith(f'{tmp_path / BUNDLE_FILE}: field "reader.model": reader is not a model')
    _model_like(tmp_path / "reader")
    assert load_bundle(tmp_path).reader.model == str((tmp_path / "reader").resolve())


# ------------------------------------------------------------------------- 8. runs, bundle fusion, read-fit


def test_a_passage_the_kb_lacks_is_named_with_the_run_file_query_and_id(prose_kb, tmp_path, tiny_reader_dir,
                                                                         one_torch_thread):
    """`kvqae read` named the run's *name* ('myrun'), which is no file anyone can find."""
    from kvqae.read.train import run_examples

    row = {"id": "q1", "question": "When?", "answers": ["1969"]}
    (tmp_path / "q.jsonl").write_text(json.dumps(row) + "\n")
    run = tmp_path / "r.json"
    Run({"q1": {"Apollo_11#0": 2.0, "NoSuch#1": 1.0}}, name="myrun").save(run)
    message = f"{run}: query q1: passage id 'NoSuch#1' is not in the KB (run 'myrun')"
    common = ["--run", run, "--kb", prose_kb.path, "--questions", tmp_path / "q.jsonl"]
    err = _invoke("read", *common, "--model", tiny_reader_dir, "--out", tmp_path / "p.jsonl", "--no-progress")
    assert str(err) == message and not (tmp_path / "p.jsonl").exists()
    err = _invoke("rerank", *common, "--out", tmp_path / "rr.json")  # named the file, not the query
    assert str(err) == message and not (tmp_path / "rr.json").exists()
    with pytest.raises(InputError) as e:  # `kvqae train reader --run`: was a KeyError traceback
        run_examples(prose_kb, load_questions(tmp_path / "q.jsonl"), Run.load(run), relevant=2, irrelevant=4)
    assert str(e.value) == message
    assert Run.load(run).source == str(run)
    assert Run.load(run) == Run({"q1": {"Apollo_11#0": 2.0, "NoSuch#1": 1.0}}, name="myrun")  # not compared
    in_memory = Run({"q1": {"NoSuch#1": 1.0}}, name="myrun")  # not from a file: its name is all there is
    with pytest.raises(InputError, match=r"^myrun: query q1: passage id 'NoSuch#1' is not in the KB$"):
        run_examples(prose_kb, load_questions(tmp_path / "q.jsonl"), in_memory)


@pytest.mark.parametrize("fusion,field,message", [
    ({"method": "wsumm"}, "fusion.method", "unknown fusion method 'wsumm'; choose from ['combmnz', "),
    ({"norm": "z"}, "fusion.norm", "unknown normalisation 'z'; choose from ['minmax', 'none', 'rank', "),
])
def test_bundle_refuses_an_unknown_fusion_method_or_norm(tmp_path, fusion, field, message):
    """It was loaded, and the first question failed in `fuse` with no bundle.json path."""
    _bundle(tmp_path, fusion={"weights": {"a": 0.5, "b": 0.5}, "zscore_stats": {"a": [0, 1], "b": [0, 1]},
                              **fusion})
    with pytest.raises(InputError) as err:
        load_bundle(tmp_path)
    assert str(err.value).startswith(f'{tmp_path / BUNDLE_FILE}: field "{field}": {message}')
    assert str(_invoke("ask", tmp_path, "-q", "Who?")) == str(err.value)  # before any model loads


@pytest.mark.parametrize("name,text,message", [
    ("r.json", '{"run": {"q1": {"d1": 1.0, "d2": Infinity}}}',
     "query q1: field \"score\": score of 'd2' is not finite (inf)"),
    ("r.json", '{"run": {"q1": {"d1": -Infinity}}}',
     "query q1: field \"score\": score of 'd1' is not finite (-inf)"),
    # a number too large for a float: "overflows a float" since session 30 (it was "not finite (inf)")
    ("r.json", '{"run": {"q1": {"d1": 1e999}}}',
     "query q1: field \"score\": score of 'd1' (1e999) overflows"),
    ("r.trec", "q1 Q0 d1 1 2.0 r\nq1 Q0 d2 2 -inf r\n",
     "line 2: field \"score\": score of 'd2' for query 'q1' is not finite (-inf)"),
    ("r.trec", "q1 Q0 d1 1 1e999 r\n", "line 1: field \"score\": score of 'd1' (1e999) overflows a float"),
])
def test_infinite_run_scores_are_refused_at_load_without_warnings(prose_kb, tmp_path, name, text, message):
    """+-inf passed the reader like a score, then z-scores (fusion, rerank) subtracted it: numpy printed
    'invalid value encountered in subtract' and `kvqae rerank` ranked a -inf passage first. NaN was already
    refused at load; infinities now are too."""
    path = tmp_path / name
    path.write_text(text)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning would fail the test
        with pytest.raises(InputError) as err:
            Run.load(path)
        assert str(err.value).startswith(f"{path}: {message}")
        row = {"id": "q1", "question": "When?", "answers": ["x"]}
        (tmp_path / "q.jsonl").write_text(json.dumps(row) + "\n")
        cli = _invoke("rerank", "--run", path, "--kb", prose_kb.path, "--questions", tmp_path / "q.jsonl",
                      "--out", tmp_path / "rr.json")
    assert str(cli) == str(err.value) and not (tmp_path / "rr.json").exists()


def test_read_fit_refuses_to_save_when_no_question_has_a_correct_candidate(prose_kb, tmp_path,
                                                                          tiny_reader_dir, one_torch_thread):
    """With no correct candidate the fit has nothing to learn: `--save` wrote all-zero weights."""
    import shutil

    from kvqae.read.model import SETTINGS_FILE

    reader = tmp_path / "reader"
    shutil.copytree(tiny_reader_dir, reader)
    row = {"id": "q1", "question": "When did the module land?", "answers": ["Zanzibar"]}  # in no passage
    (tmp_path / "q.jsonl").write_text(json.dumps(row) + "\n")
    Run({"q1": {"Apollo_11#0": 2.0, "Marie_Curie#0": 1.0}}).save(tmp_path / "run.json")
    before = (reader / SETTINGS_FILE).read_bytes()
    err = _invoke("read-fit", "--model", reader, "--run", tmp_path / "run.json", "--kb", prose_kb.path,
                  "--questions", tmp_path / "q.jsonl", "--top-k", "2", "--no-progress", "--save")
    assert str(err) == (f"{tmp_path / 'q.jsonl'}: no question has a correct candidate answer in the top 2 "
                        "passages (0 of 1 usable): the fit would save all-zero weights; nothing saved "
                        "(a larger --top-k or a better --run?)")
    assert (reader / SETTINGS_FILE).read_bytes() == before


# ------------------------------------------------------------------------- 9. question photos, index folders,
# ------------------------------------------------------------------------- run names (session 12, sweep 2)


def _encoded(im, fmt, **kw) -> bytes:
    import io

    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def test_question_photos_keep_16_bit_tones_stand_upright_and_never_reach_ghostscript():
    """A 16-bit greyscale PNG became all white, an EXIF-rotated phone photo was read on its side, an EPS
    upload was handed to Ghostscript (and said "truncated or corrupt" without it)."""
    from PIL import Image

    from kvqae.ask.images import decode_image
    from kvqae.errors import UnsupportedInputError

    grey16 = Image.fromarray(np.full((10, 10), 30000, dtype=np.uint16))
    assert np.asarray(decode_image(_encoded(grey16, "PNG"))).mean() == 117  # 30000 >> 8, not 255
    # session 24: its transparent grey value (a tRNS chunk) is laid on white too, not drawn in that grey
    keyed = np.full((2, 2), 0x1234, dtype=np.uint16)
    keyed[0, 0] = 60000
    png = decode_image(_encoded(Image.fromarray(keyed), "PNG", transparency=0x1234))
    assert np.asarray(png)[0, 0].tolist() == [234, 234, 234] and np.asarray(png)[1, 1].tolist() == [255] * 3
    photo = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = photo.getexif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to view
    assert decode_image(_encoded(photo, "JPEG", exif=exif)).size == (48, 64)
    with pytest.raises(UnsupportedInputError, match=r'^p\.eps: field "image": not an image \(JPEG, PNG, '):
        decode_image(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", name="p.eps")
    floats = _encoded(Image.fromarray(np.full((4, 4), 0.5, dtype=np.float32)), "TIFF")
    with pytest.raises(InputError, match=r'^f\.tif: field "image": floating-point pixels are not supported'):
        decode_image(floats, name="f.tif")


def test_ask_refuses_a_device_or_an_oversized_photo_before_reading_it(tmp_path, monkeypatch):
    """`/dev/zero` was "got a folder"; an 11 MB file was read whole into memory before its size was
    checked."""
    from pathlib import Path

    from kvqae.ask.cli import load_image_file
    from kvqae.errors import TooLargeError

    with pytest.raises(InputError, match=r'^/dev/zero: field "image": expected an image file, got a device'):
        load_image_file(Path("/dev/zero"))
    big = tmp_path / "video.jpg"
    with big.open("wb") as f:
        f.truncate(11 * 2**20)  # sparse: no disk used

    def no_read(self):
        raise AssertionError("read before its size was checked")

    monkeypatch.setattr(Path, "read_bytes", no_read)
    with pytest.raises(TooLargeError, match=r'field "image": the image is 11\.0 MB, more than the 10 MB'):
        load_image_file(big)


@pytest.mark.parametrize("file,edit,message", [
    ("meta.json", lambda m: {**m, "dim": None}, 'field "dim": expected a whole number >= 0, got None'),
    ("meta.json", lambda m: {**m, "count": [3]}, 'field "count": expected a whole number >= 0, got [3]'),
    ("meta.json", lambda m: {**m, "nprobe": "4"}, "field \"nprobe\": expected a whole number >= 0, got '4'"),
    ("ids.json", lambda ids: [ids[0], ids[0], ids[2]], "duplicate id 'a' (row 1)"),
    ("ids.json", lambda ids: [ids[0], None, ids[2]], "id at row 1 is None, not a string"),
])
def test_a_hand_edited_index_folder_is_refused_at_load(tmp_path, file, edit, message):
    """None or a list in meta.json was a TypeError traceback; a null or repeated id in ids.json became the
    id "None" or lost a row from every run, silently."""
    from kvqae.index.faiss_index import VectorIndex

    vectors = np.eye(3, 4, dtype=np.float32)
    VectorIndex.from_vectors(vectors, ["a", "b", "c"], encoder="x").save(tmp_path / "ix")
    path = tmp_path / "ix" / file
    path.write_text(json.dumps(edit(json.loads(path.read_text()))))
    with pytest.raises(InputError) as err:
        VectorIndex.load(tmp_path / "ix")
    assert str(err.value) == f"{path}: {message}"


@pytest.mark.parametrize("entries,message", [
    ([{"name": "fusion"}, {}], 'field "retrieval.0.name": run name \'fusion\' is taken by the fused run'),
    ([{}, {"mode": "text-passage"}],
     'field "retrieval.1.name": run name \'text-passage\' is taken by retrieval entry 0'),
])
def test_pipeline_run_names_must_not_collide(tmp_path, tiny_world_dir, tiny_clip, entries, message):
    """A retrieval entry named "fusion" was overwritten by the fused run: its run file and report row lost."""
    from conftest import write_tiny_pipeline

    spec = write_tiny_pipeline(tmp_path, tiny_world_dir, tiny_clip, None)
    import yaml

    data = yaml.safe_load(spec.read_text())
    base = {"mode": "image-title", "encoder": f"clip:{tiny_clip}"}
    data["retrieval"] = [{**base, "mode": "text-passage", **entries[0]}, {**base, **entries[1]}]
    spec.write_text(yaml.safe_dump(data))
    err = _invoke("run", spec, "--no-progress")
    # named in the YAML it came from (session 20)
    assert str(err).startswith(f"{spec}: {message}") and not (tmp_path / "out").exists()


@pytest.mark.parametrize(("article", "message"), [
    ({"id": "A\u200b", "title": "Alpha", "text": "x y"}, 'field "id": id \'A\\u200b\' holds the invisible '
                                                         "character U+200B (at character 2)"),
    ({"id": "\u202eA", "title": "Alpha", "text": "x y"}, "invisible character U+202E"),
    ({"id": "A", "title": "Al\x00pha", "text": "x y"}, "field \"title\": must not hold the control character "
                                                      "'\\x00' (at character 3"),
    ({"id": "A", "title": "Alpha", "text": "x\x07 y"}, "field \"text\": must not hold the control character"),
])
def test_a_kb_refuses_invisible_ids_and_control_characters_in_its_text(tmp_path, article, message):
    """Session 24: "A" and "A" + a zero-width space were two entities that print alike; a NUL in a title
    reached `kvqae kb info`'s output."""
    source = tmp_path / "a.jsonl"
    source.write_text(json.dumps(article) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        build_kb(source, tmp_path / "kb", progress=False)
    assert message in str(err.value) and not (tmp_path / "kb").exists()


def test_a_question_id_with_an_invisible_character_is_refused(tmp_path):
    from kvqae.data.questions import load_questions

    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"id": "q\u200b1", "question": "Who?"}) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r'line 1: field "id": .* invisible character U\+200B'):
        load_questions(path)
