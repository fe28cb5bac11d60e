"""Malformed inputs, sweep 5: each gave a traceback, a misleading error or a silent wrong result before and
now gets one error naming the place. The service took an empty `question` for a missing one ("Field required")
and a cut PNG/JPEG upload for "not an image"; a JSON syntax error said "Unterminated string starting at)"
and a pretty-printed object given for JSON lines said "invalid JSON" on its first line; a half-copied or
hand-edited BM25 index (no meta.json, a null or repeated id, ids of another KB) was called "not a BM25
index", taken for a vector index, or became a KeyError traceback at the first question; a `.bz2` export that
is not bzip2 said "Invalid data stream" (and `.XML.BZ2` was read as raw XML); `kvqae read --retrieval-weight
nan` wrote null scores; `kvqae serve` on a taken port failed in uvicorn after the models loaded (exit 3);
`kvqae run` built the KB before finding that a questions file was a run; a weights file with `"weights": []`
said "weights are all 0"."""

from __future__ import annotations

import bz2
import json
import shutil
import socket
from pathlib import Path

import pytest

import service_stand_in
from cli_run import kvqae as _kvqae
from image_bytes import png_bytes
from kvqae.ask.answer import Answerer
from kvqae.ask.images import decode_image
from kvqae.data.questions import load_questions
from kvqae.errors import InputError, UnsupportedInputError
from service_stand_in import service_error

asked, client = service_stand_in.asked, service_stand_in.client  # the service stand-in's fixtures

def _rows(*rows: dict) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


# ------------------------------------------------------------------------- the service


@pytest.mark.parametrize("form", [
    {"data": {"question": ""}},
    {"files": {"question": (None, "")}},
    {"data": {"question": ""}, "files": {"image": ("a.png", png_bytes(), "image/png")}},
], ids=["urlencoded", "multipart", "with-image"])
def test_service_calls_an_empty_question_empty_not_missing(client, asked, form):
    asked.clear()
    err = service_error(client.post("/api/ask", **form), 422)
    assert err == {"status": 422, "field": "question", "message": 'field "question": the question is empty'}
    assert asked == []
    # a form without the field is still "required"
    err = service_error(client.post("/api/ask", data={"other": "x"}), 422)
    assert err["field"] == "question" and "required" in err["message"]


def test_service_says_a_question_sent_as_a_file_must_be_text(client, asked):
    asked.clear()
    files = {"question": ("q.txt", b"Who is it?", "text/plain")}
    err = service_error(client.post("/api/ask", files=files), 422)
    assert err == {"status": 422, "field": "question",
                   "message": 'field "question": must be text (a form field), not an uploaded file'}
    assert asked == []


def _gif() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buf, "GIF")
    return buf.getvalue()


@pytest.mark.parametrize("data,kind", [
    (png_bytes((64, 64))[:20], "PNG"),  # cut inside the header
    (b"\x89PNG\r\n\x1a\n", "PNG"),  # the signature alone
    (b"\xff\xd8\xff" + b"\x00" * 100, "JPEG"),
    (_gif()[:12], "GIF"),
    (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "WebP"),
], ids=["png-header", "png-signature", "jpeg", "gif", "webp"])
def test_a_cut_image_of_a_known_format_is_truncated_not_an_unknown_kind(client, asked, data, kind):
    with pytest.raises(InputError) as err:
        decode_image(data, name="cut")  # was UnsupportedInputError "not an image (JPEG, PNG, ... expected)"
    assert not isinstance(err.value, UnsupportedInputError)
    assert str(err.value).startswith(f'cut: field "image": truncated or corrupt {kind} image (')
    asked.clear()
    err = service_error(client.post("/api/ask", data={"question": "Who?"}, files={"image": ("p.img", data)}),
                        400)
    assert err["field"] == "image" and f"truncated or corrupt {kind} image" in err["message"]
    assert asked == []


def test_text_and_unknown_bytes_are_still_not_an_image():
    for data in (b"plain text, not a photo", b"BM" + b"\xff" * 10, b"\x00\x01\x02\x03" * 8):
        with pytest.raises(UnsupportedInputError, match="not an image|unreadable image"):
            decode_image(data, name="x")


# ------------------------------------------------------------------------- JSON syntax errors


def test_a_json_syntax_error_says_where_on_the_line(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text(_rows({"id": "a", "question": "Who?", "answers": ["x"]},
                          {"id": "b", "question": "Where?", "answers": ["y"]}) + '{"id": "c", "quest')
    with pytest.raises(InputError) as err:
        load_questions(path)  # a trailing partial line (a copy cut short)
    assert str(err.value) == f"{path}: line 3: invalid JSON (Unterminated string starting at column 13)"
    path.write_text('{"id": "a", "question": "Who?", "answers": ["x"]} x\n')
    with pytest.raises(InputError, match=r"line 1: invalid JSON \(Extra data at column 51\)$"):
        load_questions(path)
    path = tmp_path / "w.json"
    path.write_text('{\n  "format": "kvqae-fusion-weights/1",\n  "weights": [1, 2,]\n}\n')
    with pytest.raises(InputError) as err:  # a whole-file JSON: the line and column of the file
        from kvqae.fusion.search import load_weights

        load_weights(path)
    assert str(err.value) == f"{path}: line 3: invalid JSON (Expecting value at column 20)"


def test_a_pretty_printed_object_given_for_json_lines_is_named(monkeypatch, capsys, tmp_path):
    path = tmp_path / "q.json"
    path.write_text(json.dumps({"id": "a", "question": "Who?", "answers": ["x"]}, indent=2))
    code, err = _kvqae(monkeypatch, capsys, "questions", "info", path)
    assert (code, err) == (2, f"error: {path}: one JSON object written over several lines; expected JSON "
                              "lines (one object per line) or a JSON list of objects\n")
    # a broken first line that is not such a file keeps its line error
    path.write_text('{"id": "a",\n"question": "Who?", "answers": ["x"]}\n{"id": 1\n')
    code, err = _kvqae(monkeypatch, capsys, "questions", "info", path)
    assert code == 2 and err.startswith(f"error: {path}: line 1: invalid JSON (Expecting property name "), err


# ------------------------------------------------------------------------- question files of another kind


@pytest.fixture(scope="module")
def bm25_bundle(tmp_path_factory, tiny_world_dir) -> Path:
    """The output folder of `kvqae run` with one BM25 mode on the tiny world (no models)."""
    from kvqae.pipeline import load_pipeline_config, run_pipeline

    folder = tmp_path_factory.mktemp("bm25")
    config = folder / "p.yaml"
    config.write_text(
        f"output: {folder / 'out'}\nkb: {{source: {tiny_world_dir / 'articles.jsonl'}}}\n"
        f"questions: {{test: {tiny_world_dir / 'questions_test.jsonl'}}}\n"
        "retrieval: [{mode: text-passage, encoder: bm25}]\nmetrics: [mrr@10]\n"
    )
    cfg = load_pipeline_config(config)
    run_pipeline(cfg, progress=False, log=lambda _: None)
    return Path(cfg.output)


def test_a_run_or_an_articles_file_given_as_questions_is_named(monkeypatch, capsys, tmp_path, bm25_bundle,
                                                              tiny_world_dir):
    articles = tiny_world_dir / "articles.jsonl"
    code, err = _kvqae(monkeypatch, capsys, "questions", "info", articles)
    assert (code, err) == (2, f'error: {articles}: not a questions file: its first row has neither '
                              '"question" nor "answers" (its keys: id, image, text, title, types); expected '
                              "kvqae, ViQuAE or InfoSeek rows, or an Encyclopedic-VQA .csv\n")
    run = bm25_bundle / "runs" / "test" / "text-passage.json"
    assert run.is_file()
    config = tmp_path / "p.yaml"
    config.write_text(
        f"output: {tmp_path / 'out'}\nkb: {{source: {articles}}}\nquestions: {{test: {run}}}\n"
        "retrieval: [{mode: text-passage, encoder: bm25}]\n"
    )
    code, err = _kvqae(monkeypatch, capsys, "run", config, "--no-progress")
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith(f'error: {run}: not a questions file: its first row has neither "question" nor '
                          '"answers" (its keys: level, meta, name, run)'), err
    assert not (tmp_path / "out" / "kb").exists()  # refused before the KB was built (it was built first)
    # a question row that only misses its question still names its line and field
    (tmp_path / "q.jsonl").write_text(_rows({"id": "a", "answers": ["x"]}))
    with pytest.raises(InputError, match=r'q\.jsonl: line 1: field "question": missing field$'):
        load_questions(tmp_path / "q.jsonl")


# ------------------------------------------------------------------------- half-copied or foreign BM25 index


def _copy(bundle: Path, tmp_path: Path) -> tuple[Path, Path]:
    out = tmp_path / "out"
    shutil.copytree(bundle, out)
    return out, out / "indexes" / "passage-bm25"


def test_a_bm25_index_without_meta_json_says_so(monkeypatch, capsys, tmp_path, bm25_bundle, tiny_world_dir):
    out, index = _copy(bm25_bundle, tmp_path)
    (index / "meta.json").unlink()
    code, err = _kvqae(monkeypatch, capsys, "ask", out, "-q", "Who is it?")
    assert (code, err) == (2, f"error: {index.resolve()}/meta.json: file not found\n")  # was "kind is not"
    code, err = _kvqae(monkeypatch, capsys, "search", "--questions", tiny_world_dir / "questions_test.jsonl",
                       "--index", index, "-o", tmp_path / "r.json")
    assert (code, err) == (2, f"error: {index}/meta.json: file not found\n")  # was "a vector index needs ..."
    (index / "meta.json").write_text('{"kind": "kvqae-bm25-index", "count"')  # cut short
    code, err = _kvqae(monkeypatch, capsys, "ask", out, "-q", "Who is it?")
    assert (code, err) == (2, f"error: {index.resolve()}/meta.json: line 1: invalid JSON (Expecting ':' "
                              "delimiter at column 37)\n")
    assert not (tmp_path / "r.json").exists()


@pytest.mark.parametrize("last,message", [
    (None, "id at row {row} is None, not a string"),
    ("FIRST", "duplicate id {first!r} (row {row})"),
], ids=["null", "duplicate"])
def test_a_bm25_index_with_a_null_or_repeated_id_is_refused(monkeypatch, capsys, tmp_path, bm25_bundle, last,
                                                            message):
    out, index = _copy(bm25_bundle, tmp_path)
    ids = json.loads((index / "ids.json").read_text())
    row, first = len(ids) - 1, ids[0]
    (index / "ids.json").write_text(json.dumps([*ids[:-1], first if last == "FIRST" else last]))
    code, err = _kvqae(monkeypatch, capsys, "ask", out, "-q", "Who is it?")
    assert (code, err) == (2, f"error: {index.resolve()}/ids.json: {message.format(row=row, first=first)}\n")


def test_an_index_of_another_kb_is_refused_when_the_bundle_loads(monkeypatch, capsys, tmp_path, bm25_bundle):
    out, index = _copy(bm25_bundle, tmp_path)
    ids = json.loads((index / "ids.json").read_text())
    row = len(ids) - 1
    (index / "ids.json").write_text(json.dumps([*ids[:-1], "Stranger#0"]))
    code, err = _kvqae(monkeypatch, capsys, "ask", out, "-q", "Who is it?")
    # was: answered until a question retrieved the stranger, then a KeyError traceback (an HTTP 500)
    assert (code, err) == (2, f"error: {index.resolve()}: passage id 'Stranger#0' (row {row}) is not in the "
                              f"bundle's KB ({(out / 'kb').resolve()}): the index was built from another KB; "
                              "rebuild it (kvqae run) or point the bundle at its KB\n")


def test_the_bm25_bundle_still_answers(bm25_bundle, tiny_world_dir):
    question = load_questions(tiny_world_dir / "questions_test.jsonl")[0]
    result = Answerer.load(bm25_bundle).ask(question.question)
    assert result.fused and result.modes["text-passage"]


# ------------------------------------------------------------------------- MediaWiki exports named .bz2

EXPORT = ('<mediawiki><page><title>Ada</title><ns>0</ns><id>1</id><revision><text>Ada was a writer of many '
          "books about the sea and the ships that sailed on it.</text></revision></page></mediawiki>\n")


def test_a_bz2_export_that_is_not_bzip2_is_named(monkeypatch, capsys, tmp_path):
    path = tmp_path / "dump.xml.bz2"
    path.write_text(EXPORT)
    code, err = _kvqae(monkeypatch, capsys, "kb", "build", path, "--out", tmp_path / "kb", "--no-progress")
    assert (code, err) == (2, f"error: {path}: named .bz2 but not bzip2-compressed (it does not start with "
                              "'BZh'); rename it to .xml if it is plain XML\n")  # was "Invalid data stream"
    assert not (tmp_path / "kb").exists()


def test_a_bzip2_export_is_read_whatever_the_case_of_its_name(monkeypatch, capsys, tmp_path):
    path = tmp_path / "dump.XML.BZ2"
    path.write_bytes(bz2.compress(EXPORT.encode()))
    code, err = _kvqae(monkeypatch, capsys, "kb", "build", path, "--out", tmp_path / "kb", "--no-progress")
    assert (code, err) == (0, "")  # was: read as raw XML, "malformed XML (not well-formed (invalid token)"
    assert json.loads((tmp_path / "kb" / "meta.json").read_text())["entities"] == 1


# ------------------------------------------------------------------------- command-line numbers and addresses


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-1", "-1e308", "1e308"])
def test_read_refuses_a_retrieval_weight_that_makes_scores_null(monkeypatch, capsys, tmp_path, value):
    out = tmp_path / "p.jsonl"
    # refused first: none of the inputs exist (the predictions held null scores and confidences)
    code, err = _kvqae(monkeypatch, capsys, "read", "--run", tmp_path / "r.json", "--kb", tmp_path / "kb",
                       "--questions", tmp_path / "q.jsonl", "--model", tmp_path / "m", "--out", out,
                       "--retrieval-weight", value)
    shown = f"{float(value):g}"
    assert (code, err) == (2, f"error: --retrieval-weight must be a finite number >= 0 and <= 1e+06, "
                              f"got {shown}\n")
    assert not out.exists()


def test_serve_refuses_a_taken_port_before_loading_anything(monkeypatch, capsys, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # tmp_path has no bundle: the port is checked first (was uvicorn's "ERROR: [Errno 98] ...", exit 3,
        # after the models loaded and "serving http://..." was printed)
        code, err = _kvqae(monkeypatch, capsys, "serve", tmp_path, "--port", port)
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith(f"error: --host 127.0.0.1 --port {port}: cannot listen there ("), err
    code, err = _kvqae(monkeypatch, capsys, "serve", tmp_path, "--host", "no such host.invalid")
    assert code == 2 and err.startswith("error: --host 'no such host.invalid' is not an address of this "
                                        "machine nor a name it can resolve ("), err


# ------------------------------------------------------------------------- weights files


def test_a_weights_file_with_no_weights_says_so(tmp_path):
    from kvqae.fusion.search import load_weights

    path = tmp_path / "w.json"
    path.write_text(json.dumps({"format": "kvqae-fusion-weights/1", "weights": [], "run_names": [],
                                "method": "wsum", "norm": "zscore", "default_minimum": "raw", "rrf_k": 60}))
    with pytest.raises(InputError) as err:
        load_weights(path)  # said "weights are all 0, which scores every candidate 0; ..., got []"
    assert str(err.value) == (f'{path}: field "weights": the list is empty: a weights file has one weight '
                              "per fused run")


def test_a_trained_reader_folder_without_its_settings_is_refused(tmp_path):
    """A reader folder `kvqae train reader` wrote (training.json) but copied without kvqae_reader.json loaded
    with default settings, silently dropping its fitted evidence weights; a plain model folder still loads."""
    from kvqae.read.model import Reader, ReaderSettings, build_tiny_reader, load_settings

    folder = build_tiny_reader(tmp_path / "tiny", seed=0)
    (folder / "kvqae_reader.json").unlink()
    assert load_settings(folder) == ReaderSettings()  # a plain Hugging Face model: defaults
    (folder / "training.json").write_text("{}", encoding="utf-8")
    with pytest.raises(InputError, match="kvqae_reader.json is missing beside training.json") as err:
        Reader.load(folder)
    assert str(folder) in str(err.value)
