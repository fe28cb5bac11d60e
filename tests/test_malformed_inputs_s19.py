"""Malformed or unusual inputs met in session 19's sweep: named pipes, file names too long for the OS,
questions without a word, fusion grids too large to search."""

from __future__ import annotations

import json
import os

import pytest

from cli_run import kvqae


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this OS")
def test_a_named_pipe_as_input_is_refused_not_read_forever(tmp_path, monkeypatch, capsys):
    # `questions info`, `fuse combine` and `kvqae run` blocked on a FIFO until killed
    for name in ("q.jsonl", "r.json", "p.yaml"):
        os.mkfifo(tmp_path / name)
    code, err = kvqae(monkeypatch, capsys, "questions", "info", tmp_path / "q.jsonl")
    assert code == 2 and "q.jsonl: file is not a regular file (a named pipe" in err
    code, err = kvqae(monkeypatch, capsys, "fuse", "combine", "--run", tmp_path / "r.json", "--run",
                      tmp_path / "r.json", "--out", tmp_path / "out.json")
    assert code == 2 and "r.json: run file is not a regular file" in err
    assert not (tmp_path / "out.json").exists()
    code, err = kvqae(monkeypatch, capsys, "run", tmp_path / "p.yaml")
    assert code == 2 and "p.yaml: expected a YAML file, got a named pipe" in err


def test_a_file_name_too_long_is_one_line(tmp_path, monkeypatch, capsys):
    # OSError [Errno 36] came out as a traceback wherever the name was first touched
    long_name = tmp_path / ("a" * 300 + ".jsonl")
    code, err = kvqae(monkeypatch, capsys, "questions", "info", long_name)
    assert code == 2 and "file name too long" in err and "Traceback" not in err
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"id": "q1", "question": "Who?", "answers": ["Ada"]}) + "\n",
                         encoding="utf-8")
    code, err = kvqae(monkeypatch, capsys, "questions", "convert", questions, "--out", long_name)
    assert code == 2 and "file name too long" in err


@pytest.mark.parametrize("question", ["?!?...,;", "🦉 ❓ 🧪🧪", " - ", "«»"])
def test_a_question_without_a_word_is_refused(question):
    # it was answered from whatever retrieval ranked first ("Arthur Schopenhauer" for "?!?...,;")
    from kvqae.ask.answer import check_question
    from kvqae.errors import InputError

    with pytest.raises(InputError, match="holds no words"):
        check_question(question)
    assert check_question(" 第一 ?") == "第一 ?" and check_question("1066?") == "1066?"  # any script, digits


def test_a_fusion_grid_too_large_is_refused_before_any_search(tmp_path, prose_kb):
    # 4 runs at step 0.0001 (about 10^16 grid points) ran until killed; a step not dividing 1 failed only
    # at the pipeline's fusion stage, after every search
    from kvqae.errors import InputError
    from kvqae.fusion.search import MAX_GRID_POINTS, check_grid, weight_grid
    from kvqae.pipeline import PipelineConfig, check_pipeline

    assert len(weight_grid(3, 0.1)) == 66 and check_grid(3, 0.1) == 10  # 66 vectors summing to 1
    with pytest.raises(InputError, match="more than the 100,000 allowed"):
        weight_grid(4, 0.0001)
    assert MAX_GRID_POINTS == 100_000 and check_grid(2, 0.001) == 1000
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"id": "a", "question": "Who?", "answers": ["x"]}) + "\n",
                         encoding="utf-8")
    for step, message in ((0.3, "must divide 1"), (0.0001, "weight vectors")):
        cfg = PipelineConfig.model_validate({
            "output": str(tmp_path / "out"), "kb": {"source": str(prose_kb.path)},
            "questions": {"validation": str(questions), "test": str(questions)},
            "retrieval": [{"mode": "text-passage", "encoder": "bm25", "entity_context": True},
                          {"mode": "text-passage", "encoder": "bm25", "name": "b2", "entity_context": True}],
            "fusion": {"step": step}, "fit_split": "validation"})
        with pytest.raises(InputError, match=message) as caught:
            check_pipeline(cfg)
        assert caught.value.field == "fusion.step"


@pytest.mark.parametrize(("extra", "field", "words"), [
    ({"question_type": "Numeric", "answer_eval": [{"range": [90, 110]}]}, "question_type", "unknown"),
    ({"question_type": "Numerical", "answer_eval": None}, "answer_eval", "got missing"),
    ({"question_type": "Numerical", "answer_eval": [{"range": [110, 90]}]}, "answer_eval", "low first"),
    ({"question_type": "Numerical", "answer_eval": ["100"]}, "answer_eval", "two numbers"),
])
def test_infoseek_gold_the_scorer_cannot_use_is_refused(tmp_path, monkeypatch, capsys, extra, field, words):
    # a misspelled type was scored as a string, an unusable Numerical range scored every prediction 0
    questions = tmp_path / "q.jsonl"
    row = {"id": "n1", "question": "How tall is it?", "answers": ["100"], **extra}
    questions.write_text(json.dumps(row) + "\n", encoding="utf-8")
    predictions = tmp_path / "p.jsonl"
    predictions.write_text(json.dumps({"id": "n1", "answer": "100"}) + "\n", encoding="utf-8")
    code, err = kvqae(monkeypatch, capsys, "evaluate", "answers", predictions, "--questions", questions,
                      "--scorer", "infoseek")
    assert code == 2 and f'q.jsonl: id n1: field "{field}"' in err and words in err
    # the lenient rules read a list of values: only the type is checked there
    if field == "answer_eval":
        code, _ = kvqae(monkeypatch, capsys, "evaluate", "answers", predictions, "--questions", questions,
                        "--scorer", "infoseek", "--infoseek-mode", "lenient")
        assert code == 0


def test_questions_a_run_does_not_rank_are_named(tmp_path, monkeypatch, capsys, prose_kb):
    # one question more than the run ranks lowered MRR without a word (fuse combine refused the same)
    from conftest import PROSE_ARTICLES
    from kvqae.data.runs import Run

    passages = list(prose_kb.passages_of(PROSE_ARTICLES[0][0]))
    questions = tmp_path / "q.jsonl"
    questions.write_text("".join(json.dumps({"id": i, "question": "Who?", "answers": ["x"]}) + "\n"
                                 for i in ("a", "b")), encoding="utf-8")
    run = Run({"a": {passages[0]: 1.0}}, name="r", level="passage").save(tmp_path / "r.json")
    code, err = kvqae(monkeypatch, capsys, "evaluate", "retrieval", "--run", run, "--questions", questions,
                      "--kb", prose_kb.path, "--out", tmp_path / "rep")
    assert code == 0 and "r.json: 1 of 2 questions have no ranking in this run ('b')" in err


def test_transparent_pixels_are_laid_on_white(tmp_path):
    # `convert("RGB")` kept the hidden colour of transparent pixels (black): a dark logo on a transparent
    # background became an all-black picture
    from PIL import Image

    from kvqae.encode.loader import open_image

    logo = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    logo.putpixel((0, 0), (10, 20, 30, 255))
    logo.putpixel((1, 1), (200, 0, 0, 128))  # half transparent: half way to white
    logo.save(tmp_path / "logo.png")
    im = open_image(tmp_path / "logo.png")
    assert im.mode == "RGB" and im.getpixel((0, 0)) == (10, 20, 30) and im.getpixel((5, 5)) == (255, 255, 255)
    r, g, b = im.getpixel((1, 1))
    assert 226 <= r <= 229 and 126 <= g <= 129 and g == b
    grey = Image.new("LA", (4, 4), (0, 0))
    grey.save(tmp_path / "grey.png")
    assert open_image(tmp_path / "grey.png").getpixel((2, 2)) == (255, 255, 255)


@pytest.mark.parametrize(("encoding", "name"), [("utf-32", "UTF-32"), ("utf-16", "UTF-16")])
def test_a_utf32_file_is_called_utf32(tmp_path, monkeypatch, capsys, encoding, name):
    # its byte-order mark opens like UTF-16's, and it was called UTF-16
    questions = tmp_path / "q.jsonl"
    row = json.dumps({"id": "a", "question": "Who?", "answers": ["x"]}) + "\n"
    questions.write_bytes(row.encode(encoding))
    code, err = kvqae(monkeypatch, capsys, "questions", "info", questions)
    assert code == 2 and f"it is {name} (it opens with a {name} byte-order mark)" in err
