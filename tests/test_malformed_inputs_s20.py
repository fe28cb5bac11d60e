"""Inputs session 19's sweep left alone, fixed in session 20: pipeline settings that ran but measured or did
something other than written, UTF-16 text without a byte-order mark, symbolic links that lead nowhere, a NaN
re-ranking weight, a BM25 bundle entry of another mode, TREC files holding two runs, corrupt EXIF blocks."""

from __future__ import annotations

import io
import json
import struct
import warnings

import pytest
import yaml

from cli_run import kvqae
from kvqae.errors import InputError


def _pipeline(tmp_path, **extra) -> object:
    """A PIPELINE.yaml whose inputs exist (a built-KB folder is not needed for the checks made first)."""
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"id": "q1", "question": "Who?", "answers": ["Ada"]}) + "\n",
                         encoding="utf-8")
    spec = {"output": "out", "kb": {"source": str(questions)}, "questions": {"test": "q.jsonl"},
            "retrieval": [{"mode": "text-passage", "encoder": "bm25"}], "k": 10, **extra}
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def test_a_metric_deeper_than_k_is_refused_naming_the_yaml(tmp_path, monkeypatch, capsys):
    # p@1000 with k 10 was labelled p@1000 in the report and computed from the top 10
    code, err = kvqae(monkeypatch, capsys, "run", _pipeline(tmp_path, metrics=["mrr@10", "p@1000"]))
    assert code == 2
    assert 'pipeline.yaml: field "metrics": p@1000 looks deeper than the 10 passages' in err
    code, err = kvqae(monkeypatch, capsys, "run", _pipeline(tmp_path), "--set", "metrics=[ndcg@50]")
    assert code == 2 and '--set metrics: field "metrics": ndcg@50' in err


def test_default_metrics_stay_usable_with_a_small_k(tmp_path):
    from kvqae.pipeline import check_pipeline, load_pipeline_config

    cfg = load_pipeline_config(_pipeline(tmp_path))  # mrr@100 and recall@100 by default, k 10
    check_pipeline(cfg)
    assert cfg.k == 10 and "mrr@100" in cfg.metrics


def test_a_reader_reading_more_than_k_is_refused(tmp_path, monkeypatch, capsys):
    reader = {"model": str(tmp_path), "top_k": 20, "run": "text-passage"}
    code, err = kvqae(monkeypatch, capsys, "run", _pipeline(tmp_path, reader=reader))
    assert code == 2
    assert 'field "reader.top_k": the reader reads the top 20 but each run keeps 10 passages' in err


def test_an_empty_output_is_refused(tmp_path, monkeypatch, capsys):
    # "" was read as the YAML's own folder, which then received every stage's files
    code, err = kvqae(monkeypatch, capsys, "run", _pipeline(tmp_path, output=""))
    assert code == 2 and 'field "output": is empty' in err


def test_notes_on_a_config_that_runs_but_misleads(tmp_path):
    from kvqae.pipeline import config_notes, load_pipeline_config

    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "entities.parquet").write_bytes(b"")  # only its presence tells a built KB here
    path = _pipeline(tmp_path, kb={"source": "kb", "words": 50},
                     questions={"validation": "q.jsonl", "test": "q.jsonl"})
    notes = config_notes(load_pipeline_config(path), ["test", "validation"])
    assert len(notes) == 2
    assert notes[0].startswith("[questions] warning: test and validation are the same file")
    assert notes[1].startswith("[kb] warning: kb.words ignored:") and "is a built KB" in notes[1]
    # unset keys (defaults) and distinct files give no note
    path = _pipeline(tmp_path, kb={"source": "kb"})
    assert config_notes(load_pipeline_config(path), ["test"]) == []
    path = _pipeline(tmp_path, kb={"source": "kb"}, fusion={"step": 0.5})  # one retrieval entry
    assert config_notes(load_pipeline_config(path), ["test"]) == [
        "[fusion] note: one run, nothing to fuse: the fusion settings are not used"]


def test_utf16_without_a_byte_order_mark_is_named(tmp_path, monkeypatch, capsys):
    # NUL is a valid UTF-8 character, so the bytes decoded and the JSON parser said "invalid JSON"
    from kvqae.io import looks_utf16

    row = json.dumps({"id": "q1", "question": "Who?", "answers": ["Ada"]}) + "\n"
    for codec in ("utf-16-le", "utf-16-be"):
        path = tmp_path / f"q-{codec}.jsonl"
        path.write_bytes((row * 2).encode(codec))
        code, err = kvqae(monkeypatch, capsys, "questions", "info", path)
        assert code == 2 and "looks like UTF-16 saved without a byte-order mark" in err
    config = tmp_path / "p.yaml"
    config.write_bytes("output: out\nk: 3\n".encode("utf-16-le"))
    code, err = kvqae(monkeypatch, capsys, "run", config)
    assert code == 2 and "p.yaml: not UTF-8 text: it looks like UTF-16" in err
    assert not looks_utf16(b'{"a": "one NUL"}' + b"\x00")
    assert not looks_utf16(row.encode("utf-8"))


def test_a_symbolic_link_that_leads_nowhere_is_named(tmp_path, monkeypatch, capsys):
    # a link loop was "not found" though the name is right there
    from kvqae.encode.loader import open_image
    from kvqae.io import read_json

    (tmp_path / "a.json").symlink_to(tmp_path / "b.json")
    (tmp_path / "b.json").symlink_to(tmp_path / "a.json")
    (tmp_path / "gone.yaml").symlink_to(tmp_path / "missing.yaml")
    with pytest.raises(InputError, match="symbolic link whose target is missing or that loops"):
        read_json(tmp_path / "a.json")
    with pytest.raises(InputError, match="image file not found: it is a symbolic link"):
        open_image(tmp_path / "a.json")
    code, err = kvqae(monkeypatch, capsys, "run", tmp_path / "gone.yaml")
    assert code == 2 and "config file not found: it is a symbolic link" in err
    with pytest.raises(InputError, match=r"file not found$"):
        read_json(tmp_path / "nothing.json")


@pytest.mark.parametrize("value", [float("nan"), "nan", "-inf"])
def test_a_nan_rerank_weight_is_not_called_too_large(value):
    from pydantic import ValidationError

    from kvqae.rerank.settings import RerankSettings

    with pytest.raises(ValidationError, match="must be a finite number") as info:
        RerankSettings(weight=value)
    assert "less than or equal" not in str(info.value)


def test_a_bm25_bundle_entry_of_another_mode_is_blamed_on_the_entry(tmp_path):
    # the mismatch surfaced as passage ids the KB did not hold
    from kvqae.ask.bundle import Bundle
    from kvqae.config import parse_config

    data = {"kb": "kb", "retrieval": [{"name": "b", "mode": "image-title", "encoder": "bm25", "index": "i"}]}
    with pytest.raises(InputError, match=r'retrieval.0.*encoder bm25 only serves mode text-passage, not '
                                         r'image-title'):
        parse_config(Bundle, data, path=tmp_path / "bundle.json")


def test_a_trec_file_of_two_runs_is_refused(tmp_path):
    # the run took the last line's name, and a concatenation of two runs read as one
    from kvqae.data.runs import Run

    path = tmp_path / "r.trec"
    path.write_text("q1 Q0 d1 1 2.0 runA\nq1 Q0 d2 2 1.0 runA\nq2 Q0 d1 1 2.0 runB\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"r.trec: line 3: field \"name\": run name 'runB' differs from "
                                         r"'runA' of line 1"):
        Run.load(path)
    path.write_text("q1 Q0 d1 1 2.0 runA\nq2 Q0 d1 1 2.0 runA\n", encoding="utf-8")
    assert Run.load(path).name == "runA"


def _jpeg_with_corrupt_exif() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(buf, "JPEG")
    jpeg = buf.getvalue()
    # an EXIF block whose first directory claims 5 entries and holds part of one
    tiff = b"II*\x00\x08\x00\x00\x00" + struct.pack("<H", 5) + b"\x12\x01\x03\x00"
    app1 = b"Exif\x00\x00" + tiff
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + jpeg[2:]


def test_a_corrupt_exif_block_decodes_without_a_warning(tmp_path):
    # PIL printed "UserWarning: Corrupt EXIF data" on stderr beside the answer or in the server log
    from kvqae.ask.images import decode_image
    from kvqae.encode.loader import open_image

    data = _jpeg_with_corrupt_exif()
    (tmp_path / "x.jpg").write_bytes(data)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        photo, kb_image = decode_image(data), open_image(tmp_path / "x.jpg")
    assert photo.size == kb_image.size == (8, 8)
    red, green, _ = photo.getpixel((4, 4))
    assert red > 150 and green < 60  # the pixels are the picture's
    assert not [w for w in caught if "EXIF" in str(w.message)]


# ---------------------------------------------------------------- session 20's own sweep (601 probes)

def test_an_argument_that_is_not_utf8_is_one_line(tmp_path, monkeypatch, capsys):
    # a Latin-1 terminal's "Où": Python keeps the bytes as lone surrogates, which crashed the tokenizer
    # (kvqae ask) or the writer of a run's name (fuse apply --name) with a traceback
    latin1 = "O\udcf9 est n\udce9 Einstein?"  # what os.fsdecode makes of b"O\xf9 est n\xe9 Einstein?"
    code, err = kvqae(monkeypatch, capsys, "ask", tmp_path, "-q", latin1)
    assert code == 2 and "argument -q 'O\\xf9 est n\\xe9 Einstein?' is not UTF-8 text" in err
    code, err = kvqae(monkeypatch, capsys, "fuse", "apply", "--name", "n\udce9")
    assert code == 2 and "argument --name 'n\\xe9' is not UTF-8 text" in err and "Traceback" not in err


def test_a_lone_surrogate_in_a_json_run_is_refused(tmp_path):
    # the escape passed into a run's name and ids; evaluating the run then crashed while writing its report
    from kvqae.data.runs import Run

    for text in ('{"name": "bm\\ud800", "run": {"q1": {"d1": 1.0}}}',
                 '{"name": "bm", "run": {"q1": {"d\\ud800#0": 1.0}}}'):
        (tmp_path / "r.json").write_text(text, encoding="utf-8")
        with pytest.raises(InputError, match="lone UTF-16 surrogate"):
            Run.load(tmp_path / "r.json")


def test_a_thread_count_past_any_machine_is_refused(tmp_path, monkeypatch, capsys):
    # --threads 100000 made the allocator fail and the process segfault
    code, err = kvqae(monkeypatch, capsys, "read", "--run", "r.json", "--kb", "kb", "--questions", "q.jsonl",
                      "--model", "m", "--out", tmp_path / "p.jsonl", "--threads", "100000")
    assert code == 2 and "'--threads'" in err and "less than or equal to 256" in err


def test_an_output_folder_that_cannot_be_made_is_one_line(tmp_path, monkeypatch, capsys):
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    inside_a_file = str(tmp_path / "a-file" / "out")
    code, err = kvqae(monkeypatch, capsys, "run", _pipeline(tmp_path, output=inside_a_file))
    assert code == 2 and "Traceback" not in err
    assert "a-file" in err and "cannot be written" in err  # checked before any stage, naming the file
    from kvqae.pipeline import load_pipeline_config, run_pipeline

    cfg = load_pipeline_config(_pipeline(tmp_path, output=inside_a_file))
    with pytest.raises(InputError, match='field "output": cannot create the output folder'):
        run_pipeline(cfg, progress=False, log=lambda _: None)  # the library's own guard (/proc, /sys)


def test_a_local_folder_before_the_slash_makes_a_model_name_a_path(tmp_path, monkeypatch):
    # "artifacts/reader-minlm" (a typo) went to the hub, retried for a minute, then blamed the connection
    from kvqae.safety import check_model_dir, looks_like_path

    monkeypatch.chdir(tmp_path)
    (tmp_path / "artifacts").mkdir()
    assert looks_like_path("artifacts/reader-minlm")
    assert not looks_like_path("sentence-transformers/all-MiniLM-L6-v2")  # no such folder here: a hub id
    with pytest.raises(InputError, match="--model artifacts/reader-minlm: model folder not found"):
        check_model_dir("artifacts/reader-minlm", "--model")


def test_a_run_name_too_long_for_a_file_is_refused_before_any_stage(tmp_path, monkeypatch, capsys):
    # 300 characters passed; the KB and BM25 stages ran, then writing runs/test/<name>.json failed
    retrieval = [{"mode": "text-passage", "encoder": "bm25", "name": "n" * 300}]
    code, err = kvqae(monkeypatch, capsys, "run", _pipeline(tmp_path, retrieval=retrieval))
    assert code == 2 and 'field "retrieval.0.name": is 300 bytes long' in err
    assert not (tmp_path / "out").exists()


def test_the_default_reader_run_is_explained(tmp_path):
    from kvqae.pipeline import check_pipeline, load_pipeline_config

    cfg = load_pipeline_config(_pipeline(tmp_path, reader={"model": "org/reader", "top_k": 8}))
    with pytest.raises(InputError, match=r"'fusion' is not one of the runs \['text-passage'\] \(reader.run "
                                         r"is 'fusion' unless set, and nothing is fused here"):
        check_pipeline(cfg)


def test_no_note_before_an_error_about_the_same_run(tmp_path, monkeypatch, capsys):
    # "note: ... they score 0 on every measure" came before "error: run is empty": a promise not kept
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"id": "a", "question": "Who?", "answers": ["x"]}) + "\n", "utf-8")
    (tmp_path / "qrels.json").write_text('{"a": {"d": 1}}', encoding="utf-8")
    for run in ('{"name": "e", "run": {}}', '{"name": "e", "run": {"zz": {"d": 1.0}}}'):
        (tmp_path / "r.json").write_text(run, encoding="utf-8")
        args = ["--run", tmp_path / "r.json", "--questions", questions, "--qrels", tmp_path / "qrels.json"]
        code, err = kvqae(monkeypatch, capsys, "evaluate", "retrieval", *args, "-o", tmp_path / "rep")
        assert code == 2 and err.count("\n") == 1 and err.startswith("error:") and "note:" not in err
        assert not (tmp_path / "rep").exists()


def test_trec_suffixes_in_any_case(tmp_path):
    from kvqae.data.runs import Run

    (tmp_path / "r.TREC").write_text("q1 Q0 d1 1 2.0 sys\n", encoding="utf-8")
    assert Run.load(tmp_path / "r.TREC").scores == {"q1": {"d1": 2.0}}
    (tmp_path / "r.tsv").write_text("q1 Q0 d1 1 2.0 sys\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"use .json, or .trec, .txt or .run for a TREC run"):
        Run.load(tmp_path / "r.tsv")


def test_the_report_shows_the_metrics_asked_for(tmp_path, monkeypatch, capsys):
    # --metric hit@20 --metric recall@100 showed a table of MRR@100 alone
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"id": "a", "question": "Who?", "answers": ["x"]}) + "\n", "utf-8")
    (tmp_path / "qrels.json").write_text('{"a": {"e": 1}}', encoding="utf-8")
    (tmp_path / "r.json").write_text('{"name": "r", "run": {"a": {"d": 2.0, "e": 1.0}}}', encoding="utf-8")
    common = ["evaluate", "retrieval", "--run", tmp_path / "r.json", "--questions", questions,
              "--qrels", tmp_path / "qrels.json"]
    assert kvqae(monkeypatch, capsys, *common, "-o", tmp_path / "a", "--metric", "hit@20", "--metric",
                 "mrr@10")[0] == 0
    table = (tmp_path / "a" / "report.md").read_text(encoding="utf-8").splitlines()
    assert table[0] == "| System | Hit@20 | MRR@10 |" and table[2] == "| r | 100.0 | 50.0 |"
    assert kvqae(monkeypatch, capsys, *common, "-o", tmp_path / "b")[0] == 0
    assert (tmp_path / "b" / "report.md").read_text(encoding="utf-8").startswith("| System | MRR@100 | P@1 |")


def test_outputs_of_an_earlier_config_are_removed(tmp_path):
    # a fused run and its weights stayed beside a bundle of one unfused run, and read as this config's
    import os
    import time

    from kvqae.pipeline import remove_stale_outputs

    out = tmp_path / "out"
    files = ["runs/test/bm25.json", "runs/test/fusion.json", "runs/validation/bm25.json",
             "fusion_weights.json", "predictions/test.jsonl", "embeddings/kb-passage-x/meta.json"]
    for name in files:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text("{}", encoding="utf-8")
    started = time.time() - 30  # this run began 30 s ago
    old = started - 60
    for name in files[1:]:
        os.utime(out / name, (old, old))  # written by an earlier run; bm25.json of the test split by this one
    removed = remove_stale_outputs(out, started, log=lambda _: None)
    assert sorted(p.relative_to(out).as_posix() for p in removed) == sorted(files[1:5])
    assert (out / "runs/test/bm25.json").is_file() and not (out / "runs/validation").exists()
    assert (out / "embeddings/kb-passage-x/meta.json").is_file()  # caches stay


def test_question_ids_alike_in_another_normalisation_are_refused(tmp_path):
    import unicodedata

    from kvqae.data.questions import load_questions

    rows = [{"id": unicodedata.normalize(form, "café"), "question": "Who?", "answers": ["x"]}
            for form in ("NFC", "NFD")]
    path = tmp_path / "q.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_questions(path)
    expected = "line 2: field \"id\": id 'cafe\\u0301' is 'caf\\xe9' (at line 1) written in another Unicode"
    assert expected in str(info.value)


def test_the_same_run_file_twice_is_refused(tmp_path, monkeypatch, capsys):
    # fuse combine counted it twice; evaluate retrieval collapsed its two rows into one
    (tmp_path / "r.json").write_text('{"name": "r", "run": {"a": {"d": 1.0}}}', encoding="utf-8")
    (tmp_path / "link.json").symlink_to(tmp_path / "r.json")
    code, err = kvqae(monkeypatch, capsys, "fuse", "combine", "--run", tmp_path / "r.json", "--run",
                      tmp_path / "link.json", "--out", tmp_path / "f.json")
    assert code == 2 and "are the same file, given twice" in err and not (tmp_path / "f.json").exists()


def test_a_bundle_reading_more_than_it_retrieves_is_refused(tmp_path):
    from kvqae.ask.bundle import Bundle
    from kvqae.config import parse_config

    data = {"kb": "kb", "k": 100, "reader": {"model": "m", "top_k": 1000},
            "retrieval": [{"name": "b", "mode": "text-passage", "encoder": "bm25", "index": "i"}]}
    with pytest.raises(InputError, match="reader.top_k 1000 is more than the 100 passages retrieval keeps"):
        parse_config(Bundle, data, path=tmp_path / "bundle.json")
    data["reader"]["top_k"] = 100
    assert parse_config(Bundle, data, path=tmp_path / "bundle.json").reader.top_k == 100


@pytest.mark.parametrize(("key", "value", "said"), [
    ("fusion", {"weights": [0.7, 0.3]},
     'field "fusion.weights": must be a file or folder path (a string), got a list'),
    ("output", 5, 'field "output": must be a file or folder path (a string), got the number 5'),
    ("output", None, 'field "output": must be a file or folder path (a string), got null'),
])
def test_a_path_key_given_something_else_says_so(tmp_path, key, value, said):
    # pydantic's "Input is not a valid path for <class 'pathlib.Path'>" reached the user
    from kvqae.pipeline import load_pipeline_config

    with pytest.raises(InputError) as info:
        load_pipeline_config(_pipeline(tmp_path, **{key: value}))
    assert said in str(info.value) and "class" not in str(info.value)


def test_a_web_address_as_the_photo_is_named(tmp_path, monkeypatch, capsys):
    code, err = kvqae(monkeypatch, capsys, "ask", tmp_path, "-q", "Who is this?", "--image",
                      "https://example.com/a.jpg")
    assert code == 2 and "--image https://example.com/a.jpg: an address, not a file path" in err
    code, err = kvqae(monkeypatch, capsys, "ask", tmp_path, "-q", "Who?", "--image", "file:///tmp/a.png")
    assert code == 2 and "for file:///x.png give /x.png" in err


def test_bm25_weighting_without_bm25_is_refused(tmp_path, monkeypatch, capsys):
    # --k1 / --b were ignored without a word when building a vector index
    code, err = kvqae(monkeypatch, capsys, "index", "build", tmp_path, "--out", tmp_path / "ix", "--k1", "2")
    assert code == 2 and 'field "--k1": --k1 and --b set BM25\'s weighting: give --bm25 too' in err
    code, err = kvqae(monkeypatch, capsys, "kb", "info", tmp_path, "--sample", "-1")
    assert code == 2 and "'--sample'" in err


@pytest.mark.parametrize(("fields", "said"), [
    ({"confidence": "high"}, 'field "confidence": must be a probability between 0 and 1'),
    ({"confidence": 2.0}, 'field "confidence": must be a probability between 0 and 1 (or null), got 2.0'),
    ({"start": -3, "end": 2}, 'field "start": must be a character offset (an integer >= 0), got -3'),
    ({"start": 9, "end": 2}, 'field "start": start 9 is after end 2'),
])
def test_prediction_fields_are_checked(tmp_path, fields, said):
    from kvqae.evaluate.predictions import load_predictions

    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps({"id": "q1", "answer": "Ada", **fields}) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_predictions(path)
    assert str(info.value).startswith(f"{path}: line 1: {said}")
    path.write_text(json.dumps({"id": "q1", "answer": "", "confidence": None, "start": 0, "end": 0}) + "\n",
                    encoding="utf-8")
    assert load_predictions(path)["q1"]["answer"] == ""  # what `kvqae read` writes for no answer


def test_a_kb_table_that_is_a_folder_is_called_that(tmp_path):
    from kvqae.data.kb import KnowledgeBase

    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "meta.json").write_text('{"kind": "kvqae-kb"}', encoding="utf-8")
    (kb / "entities.parquet").mkdir()
    with pytest.raises(InputError, match="entities.parquet is a folder, not a file"):
        KnowledgeBase.load(kb)
    (kb / "entities.parquet").rmdir()
    with pytest.raises(InputError, match="entities.parquet is missing"):
        KnowledgeBase.load(kb)


def test_metric_names_and_empty_weights_are_explained(tmp_path, monkeypatch, capsys):
    from kvqae.evaluate.metrics import parse_metric

    with pytest.raises(InputError, match=r"metric 'mrr@0': the cutoff K of mrr@K must be >= 1"):
        parse_metric("mrr@0")  # it was called an unknown metric
    with pytest.raises(InputError, match=r"or the name alone for the whole run \(mrr, recall\)"):
        parse_metric("map@10")  # the message said mrr@K only, and "mrr" alone is accepted
    assert parse_metric("mrr") == ("mrr", None)
    (tmp_path / "a.json").write_text('{"name": "a", "run": {"q": {"d": 1.0}}}', encoding="utf-8")
    (tmp_path / "b.json").write_text('{"name": "b", "run": {"q": {"d": 1.0}}}', encoding="utf-8")
    code, err = kvqae(monkeypatch, capsys, "fuse", "combine", "--run", tmp_path / "a.json", "--run",
                      tmp_path / "b.json", "--weights", "", "--out", tmp_path / "f.json")
    assert code == 2 and "--weights is empty" in err and not (tmp_path / "f.json").exists()


# ---------------------------------------------------------------- the second sweep (330 probes)

@pytest.mark.parametrize("device", ["meta", "xpu"])
def test_a_device_kvqae_cannot_run_on_is_refused(device):
    # a traceback after loading (meta: "Tensor.item() cannot be called on meta tensors")
    from kvqae.safety import check_device

    with pytest.raises(InputError, match=f"--device {device}: kvqae runs on cpu, cuda or mps, not {device}"):
        check_device(device)


def test_questions_are_read_as_plain_text():
    # a zero-width space ("w\u200brote") or full-width letters from an input method changed the answer
    from kvqae.ask.answer import check_question, plain_text

    assert check_question("Who w\u200brote Animal Farm?") == "Who wrote Animal Farm?"
    assert check_question("What is the capital of \uff21\uff4c\uff47\uff45\uff52\uff49\uff41?") == (
        "What is the capital of Algeria?")
    assert plain_text("\u216b ﬁsh\u00ad") == "XII fish"
    assert plain_text("می\u200cخواهم") == "می\u200cخواهم"  # the joiners scripts need stay


def test_config_notes_and_checks_of_the_second_sweep(tmp_path):
    from kvqae.pipeline import check_pipeline, config_notes, load_pipeline_config

    two = [{"mode": "text-passage", "encoder": "bm25"},
           {"mode": "text-passage", "encoder": "bm25", "name": "b"}]
    path = _pipeline(tmp_path, retrieval=two, questions={"test": "q.jsonl"}, fit_split="test")
    assert config_notes(load_pipeline_config(path), ["test"]) == [
        "[fusion] warning: the weights are fitted on 'test', the split evaluated: the report overstates the "
        "fusion (fit on another split)"]
    path = _pipeline(tmp_path, retrieval=two, fusion={"metric": "p@1000"}, questions={"test": "q.jsonl"},
                     fit_split="test")
    with pytest.raises(InputError, match=r'field "fusion.metric": p@1000 looks deeper than the 10 passages'):
        check_pipeline(load_pipeline_config(path))
    cfg = load_pipeline_config(_pipeline(tmp_path, metrics=["mrr@10", "p@1", "mrr@10"]))
    assert cfg.metrics == ["mrr@10", "p@1"]  # a duplicate column in the report before



def test_pipeline_split_and_encoder_errors_name_the_yaml(tmp_path, monkeypatch, capsys):
    # these were raised once the run had begun, without the YAML's name; "BM25" listed every prefix but bm25
    code, err = kvqae(monkeypatch, capsys, "run", _pipeline(tmp_path, questions={}))
    assert code == 2 and "pipeline.yaml: field \"eval_split\": eval_split 'test' is not one of the" in err
    entry = [{"mode": "text-passage", "encoder": "BM25"}]
    code, err = kvqae(monkeypatch, capsys, "run", _pipeline(tmp_path, retrieval=entry))
    assert code == 2 and 'field "retrieval.0.encoder": unknown encoder spec' in err and "or bm25" in err


def test_one_message_for_an_image_too_large_and_a_missing_bundle(tmp_path, monkeypatch, capsys):
    # past PIL's own bomb limit (~179 MP) the message was PIL's ("could be decompression bomb DOS attack")
    import zlib

    from kvqae.ask.images import decode_image
    from kvqae.errors import TooLargeError

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0))
           + chunk(b"IEND", b""))
    with pytest.raises(TooLargeError, match="the image is 10000.0 megapixels, more than the 40 allowed"):
        decode_image(png)
    code, err = kvqae(monkeypatch, capsys, "ask", tmp_path / "nowhere", "-q", "Who?")
    assert code == 2 and "nowhere: answering folder not found" in err  # it said "not a folder"
