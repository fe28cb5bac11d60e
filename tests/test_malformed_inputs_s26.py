"""Inputs session 26's sweep found mishandled: a `kvqae run` that failed half-way left stage outputs the next
run reused for other inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from kvqae.errors import InputError


def _articles(world: Path, path: Path, n: int) -> Path:
    """The first `n` articles of the world, without their images (so the file can live anywhere)."""
    rows = [json.loads(line) for line in (world / "articles.jsonl").read_text(encoding="utf-8").splitlines()]
    path.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "image"}) + "\n"
                            for r in rows[:n]), encoding="utf-8")
    return path


def _run(config: dict, tmp_path: Path, monkeypatch=None, fail: bool = False) -> list[str]:
    """Run the pipeline `config`; with `fail`, the retrieval stage (after the KB) fails as an interrupted
    run would. Returns the log lines."""
    from kvqae import pipeline

    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    lines: list[str] = []
    if fail:
        def boom(st):
            raise InputError("interrupted")

        monkeypatch.setattr(pipeline, "_retrieve", boom)
        with pytest.raises(InputError, match="interrupted"):
            pipeline.run_pipeline(pipeline.load_pipeline_config(path), progress=False, log=lines.append)
        monkeypatch.undo()
    else:
        pipeline.run_pipeline(pipeline.load_pipeline_config(path), progress=False, log=lines.append)
    return lines


def _config(tmp_path: Path, world: Path, articles: Path, words: int = 100) -> dict:
    return {"output": str(tmp_path / "out"), "kb": {"source": str(articles), "words": words},
            "questions": {"test": str(world / "questions_test.jsonl")},
            "retrieval": [{"mode": "text-passage", "encoder": "bm25", "name": "bm25"}],
            "k": 10, "eval_split": "test", "fit_split": None}


def test_a_failed_run_leaves_no_kb_for_other_inputs(tiny_world_dir, tmp_path, monkeypatch):
    # the state was written only at the end: a run that failed after building the KB left none, and the
    # next run, over other articles, reused that KB (6 entities for 12) without a word
    from kvqae.data.kb import KnowledgeBase

    articles = _articles(tiny_world_dir, tmp_path / "articles.jsonl", 6)
    _run(_config(tmp_path, tiny_world_dir, articles), tmp_path, monkeypatch, fail=True)
    assert len(KnowledgeBase.load(tmp_path / "out/kb").entity_ids) == 6
    _articles(tiny_world_dir, articles, 12)
    log = _run(_config(tmp_path, tiny_world_dir, articles), tmp_path)
    assert "inputs changed" in "\n".join(log) and any(line.startswith("[kb] building") for line in log)
    assert len(KnowledgeBase.load(tmp_path / "out/kb").entity_ids) == 12


def test_rerunning_the_config_before_a_failed_run_rebuilds(tiny_world_dir, tmp_path, monkeypatch):
    # a good run, a failed run with 20-word passages (its KB built), then the first config again: the state
    # still described the good run, so its 20-word KB was reused
    from kvqae.data.kb import KnowledgeBase

    articles = _articles(tiny_world_dir, tmp_path / "articles.jsonl", 12)
    _run(_config(tmp_path, tiny_world_dir, articles), tmp_path)
    good = len(KnowledgeBase.load(tmp_path / "out/kb").passage_ids)
    _run(_config(tmp_path, tiny_world_dir, articles, words=20), tmp_path, monkeypatch, fail=True)
    assert len(KnowledgeBase.load(tmp_path / "out/kb").passage_ids) > good
    log = _run(_config(tmp_path, tiny_world_dir, articles), tmp_path)
    assert any(line.startswith("[kb] building") for line in log)
    assert len(KnowledgeBase.load(tmp_path / "out/kb").passage_ids) == good
    # and a rerun of an unchanged config after a run that failed reuses what that run made
    _run(_config(tmp_path, tiny_world_dir, articles), tmp_path, monkeypatch, fail=True)
    log = _run(_config(tmp_path, tiny_world_dir, articles), tmp_path)
    assert not any(line.startswith("[kb]") for line in log), log


def test_outputs_without_a_recorded_state_are_recomputed(tiny_world_dir, tmp_path):
    articles = _articles(tiny_world_dir, tmp_path / "articles.jsonl", 12)
    _run(_config(tmp_path, tiny_world_dir, articles), tmp_path)
    (tmp_path / "out/inputs.json").unlink()
    log = _run(_config(tmp_path, tiny_world_dir, articles), tmp_path)
    assert "no record of the inputs" in "\n".join(log) and any(x.startswith("[kb] building") for x in log)


def test_kilt_markup_is_cleaned_like_mediawiki(tmp_path):
    # KILT paragraphs start with the title and carry "Section::::" and "BULLET::::- " lines: all went into
    # the passages, "See also" lists included
    from kvqae.data.articles import kilt_prose, read_articles

    paragraphs = ["Eiffel Tower\n", "The Eiffel Tower is a tower in Paris.\n", "Section::::History.\n",
                  "It was built in 1889.\n", "BULLET::::- Gustave Eiffel designed it.\n",
                  "Section::::History:::Later years.\n", "It was repainted.\n", "Section::::See also.\n",
                  "BULLET::::- Statue of Liberty\n", "Section::::See also:::Towers.\n",
                  "BULLET::::- Tokyo Tower\n",
                  "Section::::Legacy.\n", "It inspired towers.\n"]
    assert kilt_prose(paragraphs, "Eiffel Tower") == (
        "The Eiffel Tower is a tower in Paris.\nIt was built in 1889.\nGustave Eiffel designed it.\n"
        "It was repainted.\nIt inspired towers.")
    rows = [{"wikipedia_title": "Eiffel Tower", "text": {"paragraph": paragraphs}},
            {"wikipedia_title": "Paris", "text": ["Paris\n", "Paris is a city.\n"]},  # KILT's own layout
            {"wikipedia_title": "Stub", "text": "Stub\nSection::::References.\nBULLET::::- a book"},
            {"wikipedia_title": "Plain", "text": "A plain text about Plain."}]
    path = tmp_path / "kb.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    texts = {a.id: a.text for a in read_articles(path)}
    assert texts == {"Eiffel_Tower": kilt_prose(paragraphs, "Eiffel Tower"), "Paris": "Paris is a city.",
                     "Stub": "Stub", "Plain": "A plain text about Plain."}
    path.write_text(json.dumps({"wikipedia_title": "X", "text": ["", " "]}) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match='field "text": must not be empty'):
        list(read_articles(path))


def test_c1_mojibake_in_a_dump_is_repaired_not_fatal(tmp_path):
    # one "October\x96" (Windows-1252 en dash read as Latin-1) in a real dump stopped the whole KB build
    from kvqae.data.articles import read_articles
    from kvqae.data.kb import KnowledgeBase, build_kb
    from kvqae.data.wikitext import repair_c1

    assert repair_c1("October\x96November, Mary\x92s \x81x") == "October\u2013November, Mary\u2019s x"
    xml = tmp_path / "dump.xml"
    xml.write_text(
        '<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/"><page><title>Mon Khmer</title>'
        "<ns>0</ns>"
        "<id>1</id><revision><text>The languages were described in October\x961890 by Mary\x92s team.</text>"
        "</revision></page></mediawiki>", encoding="utf-8")
    build_kb(xml, tmp_path / "kb", progress=False)
    kb = KnowledgeBase.load(tmp_path / "kb")
    assert "October\u20131890 by Mary\u2019s team" in kb.text_of("Mon_Khmer")
    rows = tmp_path / "kb.jsonl"
    rows.write_text(json.dumps({"wikipedia_title": "X", "text": {"paragraph": ["X\n", "A\x97B\n"]}}) + "\n",
                    encoding="utf-8")
    assert [a.text for a in read_articles(rows)] == ["A\u2014B"]
    # a NUL is still a damaged text, not mojibake
    xml.write_text(xml.read_text(encoding="utf-8").replace("\x96", "\x00"), encoding="utf-8")
    with pytest.raises(InputError):
        build_kb(xml, tmp_path / "kb2", progress=False)


@pytest.mark.parametrize(("prediction", "em", "f1"), [
    ("yellow and white", 1.0, 1.0), ("White & Yellow", 1.0, 1.0), ("yellow", 1.0, 2 / 3),
    ("yellow, red and blue", 0.0, 2 * (1 / 3) * (1 / 2) / (1 / 3 + 1 / 2)), ("Africa, Europe", 0.0, 0.0),
    ("", 0.0, 0.0)])
def test_evqa_list_answers_are_matched_item_by_item(prediction, em, f1):
    # E-VQA writes a multi_answer gold as "yellow&&white": the whole string was one answer, EM 0 for all
    from kvqae.evaluate.answers import exact_match, f1_score

    assert exact_match(prediction, ["yellow&&white"]) == em
    assert f1_score(prediction, ["yellow&&white"]) == pytest.approx(f1)


def test_evqa_multi_answer_rows_score_through_evaluate(tmp_path):
    from kvqae.data.questions import load_questions
    from kvqae.evaluate.predictions import score_answers

    csv = tmp_path / "q.csv"
    csv.write_text("id,question,answer,question_type\n"
                   "m1,What colours are the flowers?,yellow&&white,multi_answer\n"
                   "s1,Where is it?,Paris|Paris France,templated\n", encoding="utf-8")
    questions = load_questions(csv)
    means, per = score_answers({"m1": "white and yellow", "s1": "Paris, France"}, questions)
    assert per["em"] == {"m1": 1.0, "s1": 1.0}


def test_evqa_header_with_spaces_and_gzip_dumps(tmp_path):
    import gzip

    from kvqae.data.articles import read_articles
    from kvqae.data.questions import load_questions

    csv = tmp_path / "q.csv"
    csv.write_text("id, question, answer\nq1, Where is it?, Paris\n", encoding="utf-8")
    assert [(q.id, q.answers) for q in load_questions(csv)] == [("q1", ["Paris"])]
    # a gzip export (Fandom's) said "cannot tell the articles format", or "malformed XML" with --format
    xml = ('<mediawiki><page><title>Paris</title><ns>0</ns><id>1</id><revision><text>Paris is the capital '
           "of France.</text></revision></page></mediawiki>")
    dump = tmp_path / "wiki.xml.gz"
    dump.write_bytes(gzip.compress(xml.encode()))
    assert [a.text for a in read_articles(dump)] == ["Paris is the capital of France."]
    rows = tmp_path / "kb.jsonl.gz"
    rows.write_bytes(gzip.compress(b'{"id": "a", "title": "A", "text": "t"}\n'))
    with pytest.raises(InputError, match="gzip-compressed: decompress it first"):
        list(read_articles(rows))


def test_evqa_kb_file_is_named_without_reading_it_whole(tmp_path):
    from kvqae.data.articles import detect_article_format

    path = tmp_path / "encyclopedic_kb_wiki.json"
    path.write_text('{"https://en.wikipedia.org/wiki/Paris": {"title": "Paris", "section_titles": ["Intro"], '
                    '"section_texts": ["Paris is a city."]}}', encoding="utf-8")
    with pytest.raises(InputError, match="Encyclopedic-VQA's KB"):
        detect_article_format(path)


def test_kb_build_refuses_the_images_encode_would(tmp_path):
    # a floating-point TIFF built fine and stopped `encode` hours later
    from PIL import Image

    from kvqae.data.articles import read_articles

    Image.new("F", (8, 8)).save(tmp_path / "f32.tif")
    Image.new("RGB", (8, 8)).save(tmp_path / "ok.png")
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({"id": "a", "title": "A", "text": "t", "image": "ok.png"}) + "\n"
                    + json.dumps({"id": "b", "title": "B", "text": "t", "image": "f32.tif"}) + "\n",
                    encoding="utf-8")
    with pytest.raises(InputError, match=r'line 2: field "image": unreadable image .*f32.tif \(floating'):
        list(read_articles(path))


def _retrain_in_place(model: Path) -> None:
    """What `train ... --out MODEL` over the same folder does to its weights: every tensor changes."""
    from safetensors.torch import load_file, save_file

    weights = load_file(model / "model.safetensors")
    save_file({k: v + 0.01 if v.is_floating_point() else v for k, v in weights.items()},
              model / "model.safetensors", metadata={"format": "pt"})


def test_a_model_retrained_in_place_is_not_searched_against_its_old_index(tiny_world_dir, tiny_clip,
                                                                         tmp_path, monkeypatch, capsys):
    # neither the store nor the index recorded the model's files: queries of the retrained model searched
    # the old vectors (MRR@10 31.7 -> 13.0), by `kvqae search` and by `ask` / `serve`, without a word
    import shutil

    from cli_run import kvqae
    from conftest import write_tiny_pipeline
    from kvqae.ask.answer import Answerer
    from kvqae.pipeline import load_pipeline_config, run_pipeline

    clip = tmp_path / "clip"
    shutil.copytree(tiny_clip, clip)
    config = write_tiny_pipeline(tmp_path / "p", tiny_world_dir, clip, None, fusion=None,
                                 retrieval=[{"mode": "text-passage", "encoder": f"clip:{clip}"}])
    cfg = load_pipeline_config(config)
    run_pipeline(cfg, progress=False, log=lambda _: None)
    out = Path(cfg.output)
    index = next(p.parent for p in (out / "indexes").rglob("meta.json"))
    built = json.loads((index / "meta.json").read_text())["model_fingerprint"]
    assert len(built) == 40
    copied = out.parent / "copied"  # copying the bundle changes every file time, not the weights
    shutil.copytree(out, copied, copy_function=shutil.copy)
    assert Answerer.load(copied).ask("Who is this?").answer is not None

    questions = tiny_world_dir / "questions_test.jsonl"
    _retrain_in_place(clip)
    code, err = kvqae(monkeypatch, capsys, "encode", "questions", questions, "-e", f"clip:{clip}", "-f",
                      "question", "-o", tmp_path / "q", "--no-progress")
    assert code == 0, err
    code, err = kvqae(monkeypatch, capsys, "search", "--queries", tmp_path / "q", "--index", index, "--out",
                      tmp_path / "run.json")
    assert code == 2 and "changed since the index was built" in err and not (tmp_path / "run.json").exists()
    with pytest.raises(InputError, match="the model files of .* changed since the index was built"):
        Answerer.load(out)


def test_fit_and_apply_keep_the_same_ties(tmp_path):
    # a BLAS product rounded "d" and "e" (equal in both runs) one unit apart in the fused run `apply` wrote,
    # and it evaluated MRR 100 where the weights were fitted at 50
    from kvqae.data.runs import Run
    from kvqae.evaluate.metrics import evaluate_run
    from kvqae.fusion.core import build_matrix, combine, prepare
    from kvqae.fusion.search import grid_search

    a = Run({"q": {"a": 0.0, "b": 0.0, "c": 2.0, "d": 1.0, "e": 1.0}}, "A")
    b = Run({"q": {"a": 1.0, "b": 1.0, "c": 1.0, "d": 2.0, "e": 2.0}}, "B")
    qrels = {"q": {"e": 1}}
    fit = grid_search([a, b], qrels)
    fused = combine(prepare(build_matrix([a, b])), np.array(fit.weights))
    assert fused[0, 3] == fused[0, 4]  # d and e: one score
    matrix = build_matrix([a, b])
    run = Run({"q": {d: float(s) for d, s in zip(matrix.cand_ids[0], fused[0], strict=True) if d}}, "f")
    assert evaluate_run(run, qrels, ["mrr@100"])[0]["mrr@100"] == pytest.approx(fit.best_score) == 0.5
    # five candidates equal in both runs, weights whose products round differently: still one score
    same = [Run({"q": {d: 1.0 for d in "abcde"}}, n) for n in ("A", "B")]
    assert len(set(combine(prepare(build_matrix(same), norm="none"), np.array([0.3, 0.7]))[0])) == 1


def test_ndcg_without_cutoff_and_empty_qrels_ids(tmp_path):
    # the whole list's ideal DCG was cut to the widest run's length: q1's nDCG depended on q2's run
    from kvqae.evaluate.metrics import evaluate_run
    from kvqae.evaluate.relevance import load_qrels

    qrels = {"q1": {"d1": 1, "d2": 1}, "q2": {"x": 1}}
    short = {"q1": {"d1": 1.0}, "q2": {"x": 1.0}}
    long = {"q1": {"d1": 1.0}, "q2": {"x": 1.0, "y": 0.5, "z": 0.2}}
    expected = 1.0 / (1.0 + 1.0 / np.log2(3))  # d1 found at rank 1 of two relevant documents
    for run in (short, long):
        assert evaluate_run(run, qrels, ["ndcg"])[1]["ndcg"]["q1"] == pytest.approx(expected)
    # an empty document id matched the padding of shorter runs (R@5 150.0)
    path = tmp_path / "qrels.json"
    path.write_text('{"q1": {"": 1}}', encoding="utf-8")
    with pytest.raises(InputError, match='qrels.json: query q1: a document id is empty'):
        load_qrels(path)


def test_the_randomisation_test_counts_equal_means_and_is_reproducible():
    # 68 queries, one differing: every sign flip gives the observed |mean| (exact p = 1); ranx said p = 0,
    # "significant", and its p-values moved between identical runs
    from kvqae.evaluate.report import randomization_p

    x, y = np.zeros(68), np.zeros(68)
    x[5] = 0.25
    assert randomization_p(x, y) == 1.0
    # by hand: 3 queries, differences (1, 1, 1): |sum| 3 is reached by 2 of the 8 sign patterns
    d = np.ones(3)
    p = randomization_p(d, np.zeros(3), n_permutations=20_000, seed=0)
    assert p == pytest.approx(0.25, abs=0.01)
    assert randomization_p(d, np.zeros(3), seed=1) == randomization_p(d, np.zeros(3), seed=1)
    assert randomization_p(np.zeros(4), np.zeros(4)) == 1.0


def test_whole_list_precision_counts_real_scores_at_minus_1e300():
    # the whole list's denominator counted scores above -1e299 as candidates: real ones below were padding
    from kvqae.evaluate.metrics import evaluate_run

    assert evaluate_run({"q": {"a": -1e300, "b": -1e300, "c": -1e300}}, {"q": {"a": 1}}, ["p"])[0]["p"] == (
        pytest.approx(1 / 3))
    per = evaluate_run({"q": {"a": 1.0, "b": 0.5}, "r": {"a": 1.0, "x": 0.3, "y": 0.1}},
                       {"q": {"a": 1}, "r": {"x": 1}}, ["p"])[1]["p"]
    assert per == {"q": pytest.approx(1 / 2), "r": pytest.approx(1 / 3)}  # padding of q's row not counted


def test_train_retriever_refuses_a_clip_start_model(tiny_world_dir, tiny_clip, tmp_path, monkeypatch, capsys):
    # a CLIP folder loaded as a sentence-transformers model and failed deep in training with a traceback
    from cli_run import kvqae

    code, err = kvqae(monkeypatch, capsys, "kb", "build", tiny_world_dir / "articles.jsonl", "--out",
                      tmp_path / "kb", "--no-progress")
    assert code == 0, err
    code, err = kvqae(monkeypatch, capsys, "train", "retriever", "--kb", tmp_path / "kb", "--init", tiny_clip,
                      "--out", tmp_path / "r", "--questions", "10", "--epochs", "1")
    assert code == 2 and "a CLIP model, not a sentence-transformers one" in err and "Traceback" not in err


def test_clip_training_notes_unknown_entities_and_validating_on_training(tiny_world_dir, tmp_path):
    # 28 of 32 training questions naming entities the KB lacks were dropped without a word, and a validation
    # file equal to the training file picked the epoch on training data
    from kvqae.data.kb import build_kb
    from kvqae.train.trainer import TrainClipConfig, question_notes

    build_kb(tiny_world_dir / "articles.jsonl", tmp_path / "kb", progress=False)
    rows = [json.loads(line) for line in
            (tiny_world_dir / "questions_test.jsonl").read_text(encoding="utf-8").splitlines()]
    for row in rows[1:]:
        row["entity"] = "Qnowhere"
    questions = tmp_path / "q.jsonl"
    questions.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    cfg = TrainClipConfig(mode="cross", model="m", kb=str(tmp_path / "kb"), questions=str(questions),
                          validation_questions=str(questions), output_dir=str(tmp_path / "out"))
    notes = question_notes(cfg)
    assert notes[0] == (f"{len(rows) - 1} of {len(rows)} training questions ({questions}) name an entity the "
                        "KB lacks (the first: 'Qnowhere'); they are skipped")
    assert any("the validation questions are the training questions" in n for n in notes)
    good = cfg.model_copy(update={"questions": str(tiny_world_dir / "questions_test.jsonl"),
                                  "validation_questions": str(tiny_world_dir / "questions_validation.jsonl")})
    assert question_notes(good) == []
