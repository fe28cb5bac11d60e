"""Malformed or unusual inputs met in session 18: a questions file given to `kb build`, and those of the
session's sweep."""

from __future__ import annotations

import json

import pytest

from cli_run import kvqae


def test_a_questions_file_given_as_articles_is_named_as_such(tmp_path, monkeypatch, capsys):
    # it said 'field "title": missing field', which does not say that the whole file is the wrong one
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"id": "q1", "question": "Who?", "answers": ["Ada"]}) + "\n",
                         encoding="utf-8")
    code, err = kvqae(monkeypatch, capsys, "kb", "build", questions, "--out", tmp_path / "kb")
    assert code == 2
    assert 'line 1: field "title": this is a questions file' in err and "not articles" in err
    assert not (tmp_path / "kb").exists()


def _questions(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_a_device_this_machine_lacks_is_refused_before_any_work(tmp_path, monkeypatch, capsys, prose_kb):
    """`train clip` (YAML or flag), `train reader` and `kvqae run`'s `device:` failed in torch, the pipeline
    after its retrieval and fusion had run."""
    config = tmp_path / "c.yaml"
    config.write_text("model: x\nmode: mono\noutput_dir: out\ndevice: bogus\n", encoding="utf-8")
    code, err = kvqae(monkeypatch, capsys, "train", "clip", config)
    assert code == 2 and "c.yaml: device 'bogus' is not a torch device" in err
    code, err = kvqae(monkeypatch, capsys, "train", "clip", config, "--device", "cuda:7")
    assert code == 2 and "--device cuda:7: this machine has" in err
    code, err = kvqae(monkeypatch, capsys, "train", "reader", "--kb", prose_kb.path, "--generate-cloze", "5",
                      "--device", "bogus", "--out", tmp_path / "reader")
    assert code == 2 and "--device 'bogus' is not a torch device" in err
    assert not (tmp_path / "reader").exists()

    from kvqae.errors import InputError
    from kvqae.pipeline import PipelineConfig, check_pipeline

    cfg = PipelineConfig.model_validate({
        "output": str(tmp_path / "out"), "kb": {"source": str(prose_kb.path)},
        "questions": {"test": str(_questions(tmp_path / "q.jsonl", [{"id": "a", "question": "?",
                                                                      "answers": ["x"]}]))},
        "retrieval": [{"mode": "text-passage", "encoder": "bm25"}], "device": "cuda:9"})
    with pytest.raises(InputError, match="device cuda:9: this machine has"):
        check_pipeline(cfg)


def test_an_entity_run_naming_entities_the_kb_lacks_is_refused(tmp_path, prose_kb):
    # a passage run with an unknown id was refused; an entity run scored 0 silently
    from kvqae.data.questions import load_questions
    from kvqae.data.runs import Run
    from kvqae.errors import InputError
    from kvqae.evaluate.relevance import qrels_for_kb

    entity = prose_kb.entity_ids[0]
    qs = load_questions(_questions(tmp_path / "q.jsonl", [{"id": "a", "question": "?", "answers": ["x"],
                                                           "entity": entity}]))
    good = Run({"a": {entity: 2.0}}, name="e", level="entity")
    assert qrels_for_kb([good], qs, prose_kb) == {"a": {entity: 1}}
    bad = Run({"a": {entity: 2.0, "No_such_entity": 1.0}}, name="e", level="entity")
    with pytest.raises(InputError, match="unknown entity id 'No_such_entity'"):
        qrels_for_kb([bad], qs, prose_kb)


def test_fusion_weights_that_overflow_are_refused(tmp_path, monkeypatch, capsys):
    """1e308 weights wrote infinite scores that no command could read back; huge scores times legal weights
    overflow too."""
    from kvqae.data.runs import Run

    for name, top in (("a", 1e305), ("b", 1e305)):
        Run({"q1": {"x#0": top, "y#0": 2.0}}, name=name, level="passage").save(tmp_path / f"{name}.json")
    runs = ["--run", tmp_path / "a.json", "--run", tmp_path / "b.json", "--method", "wsum", "--norm", "none"]
    code, err = kvqae(monkeypatch, capsys, "fuse", "combine", *runs, "--weights", "1e308,1e308",
                      "-o", tmp_path / "f.json")
    assert code == 2 and "weights must be at most 1e+06" in err
    code, err = kvqae(monkeypatch, capsys, "fuse", "combine", *runs, "--weights", "1e5,1e5",
                      "-o", tmp_path / "f.json")
    assert code == 2 and "overflow to an infinite fused score" in err and not (tmp_path / "f.json").exists()


def test_a_report_folder_keeps_no_earlier_evaluations_files(tmp_path, monkeypatch, capsys, prose_kb):
    from kvqae.data.runs import Run

    questions = _questions(tmp_path / "q.jsonl", [{"id": "a", "question": "?", "answers": ["the"]}])
    passage = prose_kb.passage_ids[0]
    Run({"a": {passage: 1.0}}, name="r", level="passage").save(tmp_path / "r.json")
    report = tmp_path / "rep"
    args = ["evaluate", "retrieval", "--run", tmp_path / "r.json", "--questions", questions, "--kb",
            prose_kb.path, "-o", report]
    assert kvqae(monkeypatch, capsys, *args)[0] == 0 and (report / "qrels.json").exists()
    (report / "weights_heatmap.png").write_bytes(b"\x89PNG old")  # as an earlier run with --weights left
    assert kvqae(monkeypatch, capsys, *args, "--no-save-qrels")[0] == 0
    assert (report / "report.md").exists()
    assert not (report / "qrels.json").exists() and not (report / "weights_heatmap.png").exists()


def test_small_silent_acceptances_are_refused(tmp_path, monkeypatch, capsys):
    """`fuse fit --plot x.pdf` wrote PNG bytes to x.pdf; `serve --port 0` printed ':0' as its address;
    `metrics: []` wrote a report without a column."""
    from kvqae.data.runs import Run
    from kvqae.pipeline import PipelineConfig

    Run({"q1": {"x#0": 1.0}}, name="a", level="passage").save(tmp_path / "a.json")
    (tmp_path / "qrels.json").write_text(json.dumps({"q1": {"x#0": 1}}))
    questions = _questions(tmp_path / "q.jsonl", [{"id": "q1", "question": "?", "answers": ["x"]}])
    code, err = kvqae(monkeypatch, capsys, "fuse", "fit", "--run", tmp_path / "a.json", "--questions",
                      questions, "--qrels", tmp_path / "qrels.json", "--out", tmp_path / "w.json",
                      "--plot", tmp_path / "grid.pdf")
    assert code == 2 and "name it *.png, not 'grid.pdf'" in err and not (tmp_path / "w.json").exists()
    code, err = kvqae(monkeypatch, capsys, "serve", tmp_path, "--port", "0")
    assert code == 2 and "--port" in err
    with pytest.raises(Exception, match="at least 1 item"):
        PipelineConfig.model_validate({"output": "o", "kb": {"source": "kb"}, "questions": {"test": "q"},
                                       "retrieval": [{"mode": "text-passage", "encoder": "bm25"}],
                                       "metrics": []})


def test_generators_that_make_nothing_say_so(tmp_path, monkeypatch, capsys):
    """`reader-data` on a KB without entities wrote an empty file (exit 0); `train retriever` on a
    one-passage KB trained 0 steps and saved the start model as if trained."""
    articles = tmp_path / "a.jsonl"
    articles.write_text(json.dumps({"id": "x", "title": "x", "text": "it is here and it is there."}) + "\n")
    assert kvqae(monkeypatch, capsys, "kb", "build", articles, "--out", tmp_path / "kb")[0] == 0
    code, err = kvqae(monkeypatch, capsys, "reader-data", "--kb", tmp_path / "kb", "--out",
                      tmp_path / "c.jsonl", "-n", "5", "--no-progress")
    assert code == 2 and "no question could be generated" in err and not (tmp_path / "c.jsonl").exists()
    articles.write_text(json.dumps({"id": "ada", "title": "Ada Lovelace",
                                    "text": "Ada Lovelace was born in London."}) + "\n")
    assert kvqae(monkeypatch, capsys, "kb", "build", articles, "--out", tmp_path / "kb1")[0] == 0
    code, err = kvqae(monkeypatch, capsys, "train", "retriever", "--kb", tmp_path / "kb1", "--out",
                      tmp_path / "st", "--questions", "10", "--no-progress")
    assert code == 2 and "too few to train on" in err and not (tmp_path / "st").exists()


def test_rerank_names_itself_when_given_an_entity_run(tmp_path, monkeypatch, capsys, prose_kb):
    # it said "the reader needs a passage-level run" from `kvqae rerank`
    from kvqae.data.runs import Run

    questions = _questions(tmp_path / "q.jsonl", [{"id": "a", "question": "?", "answers": ["x"]}])
    Run({"a": {prose_kb.entity_ids[0]: 1.0}}, name="e", level="entity").save(tmp_path / "e.json")
    code, err = kvqae(monkeypatch, capsys, "rerank", "--run", tmp_path / "e.json", "--kb", prose_kb.path,
                      "--questions", questions, "--out", tmp_path / "r.json")
    assert code == 2 and "re-ranking needs a passage-level run, got level 'entity'" in err


def test_an_empty_image_option_is_named_as_empty(tmp_path, monkeypatch, capsys):
    # `--image ""` became Path("."): "error: .: field "image": expected an image file, got a folder"
    code, err = kvqae(monkeypatch, capsys, "ask", tmp_path, "-q", "Who is this?", "--image", "")
    assert code == 2 and "error: --image is empty" in err
