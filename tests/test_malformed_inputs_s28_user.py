"""Session 28: a new user's own small data through the README's commands - a pipeline with only a test split,
photo URLs in articles and questions, a question photo that is missing, questions without known answers,
"the 24 read passages" over a KB of 3, and entity-level runs given where passages are needed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from PIL import Image

from cli_run import kvqae
from kvqae.errors import InputError

ARTICLES = [
    {"id": "Red_Gallery", "title": "Red Gallery", "image": "img/red.png",
     "text": "The Red Gallery is a museum in Lyon founded in 1987 by the painter Anne Morel."},
    {"id": "Blue_Bridge", "title": "Blue Bridge", "image": "img/blue.png",
     "text": "The Blue Bridge crosses the Loire in Nantes. It was designed by the engineer Paul Durand."},
    {"id": "Green_Tower", "title": "Green Tower", "image": "img/green.png",
     "text": "Green Tower is an office tower in Oslo completed in 2011 by the firm Nordbygg."},
]
QUESTIONS = [
    {"id": "q1", "question": "Who founded this museum?", "image": "img/red.png", "answers": ["Anne Morel"]},
    {"id": "q2", "question": "Who designed this bridge?", "image": "img/blue.png",
     "answers": ["Paul Durand"]},
]


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _data(folder: Path) -> Path:
    """Three articles with drawn pictures and two questions about them, as a user writes them."""
    (folder / "img").mkdir(parents=True, exist_ok=True)
    for name, colour in (("red", (200, 20, 20)), ("blue", (20, 20, 200)), ("green", (20, 160, 20))):
        im = Image.new("RGB", (40, 40), "white")
        im.paste(colour, (8, 8, 32, 32))
        im.save(folder / "img" / f"{name}.png")
    _jsonl(folder / "articles.jsonl", ARTICLES)
    _jsonl(folder / "questions.jsonl", QUESTIONS)
    return folder


def _pipeline(folder: Path, **extra) -> Path:
    spec = {"output": "out", "kb": {"source": "articles.jsonl"}, "questions": {"test": "questions.jsonl"},
            "retrieval": [{"mode": "text-passage", "encoder": "bm25", "name": "bm25"}], "k": 10, **extra}
    path = folder / "p.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def test_a_missing_default_split_says_what_to_write(tmp_path, monkeypatch, capsys):
    # two runs and only a test split: "fit_split 'validation' is not one of the question splits ['test']",
    # about a key the YAML never wrote, and nothing on what to do
    data = _data(tmp_path)
    two = [{"mode": "text-passage", "encoder": "bm25", "name": "a"},
           {"mode": "text-passage", "encoder": "bm25", "name": "b", "entity_context": True}]
    code, err = kvqae(monkeypatch, capsys, "run", _pipeline(data, retrieval=two))
    assert code == 2 and 'field "fit_split"' in err and "fit_split is 'validation' unless set" in err
    assert "add a validation questions file" in err and "fusion: null" in err
    assert not (data / "out").exists()
    # a questions split not named "test" and no eval_split
    path = _pipeline(data, questions={"dev": "questions.jsonl"})
    code, err = kvqae(monkeypatch, capsys, "run", path)
    assert code == 2 and "eval_split is 'test' unless set" in err and "eval_split: dev" in err
    # written in the YAML, the value is the user's own: no hint about a default
    code, err = kvqae(monkeypatch, capsys, "run", path, "--set", "eval_split=test")
    assert code == 2 and "unless set" not in err


def test_a_photo_address_is_named_as_one(tmp_path, monkeypatch, capsys, tiny_clip):
    data = _data(tmp_path)
    url = "https://upload.wikimedia.org/a.jpg"
    _jsonl(data / "articles.jsonl", [ARTICLES[0], {**ARTICLES[1], "image": url}])
    code, err = kvqae(monkeypatch, capsys, "kb", "build", data / "articles.jsonl", "--out", data / "kb")
    # was "image not found: <folder>/https:/upload.wikimedia.org/a.jpg"
    assert code == 2 and "articles.jsonl: line 2: field \"image\"" in err and f"'{url}' is an address" in err
    assert "https:/upload" not in err and not (data / "kb").exists()
    _jsonl(data / "q.jsonl", [QUESTIONS[0], {**QUESTIONS[1], "image": url}])
    code, err = kvqae(monkeypatch, capsys, "encode", "questions", data / "q.jsonl", "-e", f"clip:{tiny_clip}",
                      "-f", "image", "-o", data / "emb", "--no-progress")
    assert code == 2 and "q.jsonl: line 2: field \"image\"" in err and "is an address" in err
    assert not (data / "emb").exists()
    # a text encoding never opens the photo: the file is usable as it was
    code, err = kvqae(monkeypatch, capsys, "encode", "questions", data / "q.jsonl", "-e", f"clip:{tiny_clip}",
                      "-f", "question", "-o", data / "emb", "--no-progress")
    assert code == 0, err


def test_a_missing_question_photo_is_found_before_any_stage(tmp_path, monkeypatch, capsys, tiny_clip):
    data = _data(tmp_path)
    _jsonl(data / "questions.jsonl", [QUESTIONS[0], {**QUESTIONS[1], "image": "img/nope.png"}])
    # `kvqae run` built the KB and encoded, then failed naming the id, not the file or line
    path = _pipeline(data, retrieval=[{"mode": "image-image", "encoder": f"clip:{tiny_clip}"}])
    code, err = kvqae(monkeypatch, capsys, "run", path, "--no-progress")
    assert code == 2 and "questions.jsonl: line 2: field \"image\": image not found" in err
    assert "read from the questions file's folder" in err
    assert not (data / "out").exists()  # no output folder, no inputs.json
    code, err = kvqae(monkeypatch, capsys, "encode", "questions", data / "questions.jsonl", "-e",
                      f"clip:{tiny_clip}", "-f", "image", "-o", data / "emb", "--no-progress")
    assert code == 2 and "questions.jsonl: line 2: field \"image\": image not found" in err
    assert not (data / "emb").exists()
    # a text-only pipeline does not need the photos
    code, err = kvqae(monkeypatch, capsys, "run", _pipeline(data), "--no-progress")
    assert code == 0, err
    # a malformed questions file leaves no output folder behind either (it left inputs.json)
    _jsonl(data / "questions.jsonl", [QUESTIONS[0], {"id": "q2", "question": "Who?"}])
    code, err = kvqae(monkeypatch, capsys, "run", _pipeline(data, output="out2"), "--no-progress")
    assert code == 2 and 'line 2: field "answers": missing field' in err and not (data / "out2").exists()


def test_missing_answers_says_how_to_write_an_unknown_one(tmp_path):
    from kvqae.data.questions import load_questions

    path = _jsonl(tmp_path / "q.jsonl", [{"id": "q1", "question": "Who founded it?"}])
    with pytest.raises(InputError, match=r'"answers": missing field \(write "answers": \[\] for a question'):
        load_questions(path)
    _jsonl(path, [{"id": "q1", "question": "Who founded it?", "answers": []}])  # what the message says works
    assert load_questions(path)[0].answers == []


def test_the_read_passages_are_counted_as_read(tmp_path, monkeypatch, capsys, tiny_reader_dir):
    # a KB of 3 passages and the default top_k: "the 24 read passages ordered by ..." over a list of 2
    from kvqae.ask.answer import Answerer
    from kvqae.ask.cli import format_result

    data = _data(tmp_path)
    reader = {"model": str(tiny_reader_dir), "run": "bm25"}
    code, err = kvqae(monkeypatch, capsys, "run", _pipeline(data, reader=reader), "--no-progress")
    assert code == 0, err
    answerer = Answerer.load(data / "out")
    assert answerer.bundle.reader.top_k == 10  # the default 24, cut to k
    result = answerer.ask("Who designed the Blue Bridge over the Loire?")
    rank = result.fusion["reader_rank"]
    assert rank["top_k"] <= 3 and rank["top_k"] + rank["looked_up"] == len(result.read) > 0
    text = format_result(result)
    # "the 1 read passage" in the singular since session 31
    assert f"the {len(result.read)} read passage" in text or f"({rank['top_k']} retrieved" in text
    assert "the 10 read passages" not in text


def test_an_entity_run_where_passages_are_needed_says_how_to_map_it(tmp_path, monkeypatch, capsys,
                                                                    tiny_reader_dir):
    data = _data(tmp_path)
    code, err = kvqae(monkeypatch, capsys, "kb", "build", data / "articles.jsonl", "--out", data / "kb")
    assert code == 0, err
    entity = {"name": "ent", "level": "entity", "meta": {}, "run": {"q1": {"Red_Gallery": 1.0}}}
    passage = {"name": "pas", "level": "passage", "meta": {}, "run": {"q1": {"Red_Gallery#0": 1.0}}}
    (data / "e.json").write_text(json.dumps(entity), encoding="utf-8")
    (data / "p.json").write_text(json.dumps(passage), encoding="utf-8")
    code, err = kvqae(monkeypatch, capsys, "read", "--run", data / "e.json", "--kb", data / "kb",
                      "--questions", data / "questions.jsonl", "--model", tiny_reader_dir,
                      "--out", data / "pred.jsonl")
    assert code == 2 and "e.json" in err and "search again with --kb KB --to-passages" in err
    code, err = kvqae(monkeypatch, capsys, "fuse", "combine", "--run", data / "p.json",
                      "--run", data / "e.json", "--out", data / "f.json")
    # named no file: which of the runs was the entity one?
    assert code == 2 and "e.json" in err and "--to-passages" in err and not (data / "f.json").exists()
