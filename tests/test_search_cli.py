"""`kvqae search` through the real CLI app, including --to-passages on a KB built by `build_kb`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from kvqae.cli import app
from kvqae.data.runs import Run
from kvqae.errors import InputError

runner = CliRunner()


def write_embeddings(directory: Path, vectors, ids, *, encoder="clip:m", field="title", kind="text") -> Path:
    vectors = np.asarray(vectors, dtype=np.float32)
    directory.mkdir(parents=True)
    np.save(directory / "vectors.npy", vectors)
    (directory / "ids.json").write_text(json.dumps(list(ids)))
    (directory / "meta.json").write_text(json.dumps({
        "encoder": encoder, "field": field, "kind": kind, "dim": int(vectors.shape[1]), "dtype": "float32",
        "normalized": False, "count": len(ids), "missing": []}))
    return directory


@pytest.fixture()
def setup(tmp_path):
    """A 3-entity KB (5-word passages), a title index and two image queries."""
    from kvqae.data.kb import build_kb

    words = " ".join(f"w{i}" for i in range(60))  # 60 words -> passages "#0".."#11" for Alpha
    articles = [{"id": "Alpha", "title": "Alpha", "text": words},
                {"id": "Beta", "title": "Beta", "text": "one two three four five six seven"},
                {"id": "Gamma", "title": "Gamma", "text": "short text"}]
    src = tmp_path / "articles.jsonl"
    src.write_text("".join(json.dumps(a) + "\n" for a in articles))
    kb = build_kb(src, tmp_path / "kb", words=5, progress=False)
    vecs = np.array([[1, 0, 0], [0.6, 0.8, 0], [0, 0, 1]])
    titles = write_embeddings(tmp_path / "titles", vecs, ["Alpha", "Beta", "Gamma"])
    res = runner.invoke(app, ["index", "build", str(titles), "--out", str(tmp_path / "idx")])
    assert res.exit_code == 0, res.output
    queries = write_embeddings(tmp_path / "q", [[0.1, 1, 0], [0, 0, 1]], ["q1", "q2"], field="image",
                               kind="image")
    return tmp_path, kb, queries


def test_search_entity_run(setup):
    tmp, _, queries = setup
    res = runner.invoke(app, ["search", "--queries", str(queries), "--index", str(tmp / "idx"),
                              "--mode", "image-title", "--k", "2", "--out", str(tmp / "run.json"),
                              "--no-progress"])
    assert res.exit_code == 0, res.output
    run = Run.load(tmp / "run.json")
    assert run.level == "entity" and run.name == "image-title"
    assert [d for d, _ in run.ranked("q1")] == ["Beta", "Alpha"]  # Gamma scores 0
    assert run.scores["q1"]["Beta"] == pytest.approx(0.86 / np.sqrt(1.01), abs=1e-6)
    assert run.scores["q1"]["Alpha"] == pytest.approx(0.1 / np.sqrt(1.01), abs=1e-6)
    assert run.ranked("q2")[0] == ("Gamma", pytest.approx(1.0))


def test_search_to_passages(setup):
    tmp, kb, queries = setup
    alpha = kb.passages_of("Alpha")
    assert len(alpha) == 12
    res = runner.invoke(app, ["search", "--queries", str(queries), "--index", str(tmp / "idx"), "--k", "2",
                              "--kb", str(tmp / "kb"), "--to-passages", "--passages-k", "13",
                              "--out", str(tmp / "run.trec"), "--no-progress"])
    assert res.exit_code == 0, res.output
    run = Run.load(tmp / "run.trec")
    assert [d for d, _ in run.ranked("q1")] == kb.passages_of("Beta") + alpha[:11]
    assert len(run.scores["q1"]) == 13


def test_search_refuses_mismatched_encoder(setup):
    tmp, _, _ = setup
    other = write_embeddings(tmp / "q2", [[0, 1, 0]], ["q1"], encoder="clip:other", field="image",
                             kind="image")
    res = runner.invoke(app, ["search", "--queries", str(other), "--index", str(tmp / "idx"),
                              "--out", str(tmp / "r.json")])
    assert isinstance(res.exception, InputError)
    assert res.exception.field == "encoder" and str(tmp / "idx") in str(res.exception)
    assert not (tmp / "r.json").exists()


def test_to_passages_needs_kb_and_entity_mode(setup):
    tmp, _, queries = setup
    res = runner.invoke(app, ["search", "--queries", str(queries), "--index", str(tmp / "idx"),
                              "--to-passages", "--out", str(tmp / "r.json")])
    assert isinstance(res.exception, InputError) and res.exception.field == "kb"


def test_end_to_end_with_tiny_clip_embeddings(setup, tiny_clip):
    """KB titles and question images encoded by the real encode stage, indexed and searched (image-title)."""
    from PIL import Image

    from kvqae.data.questions import Question
    from kvqae.encode.store import EmbeddingStore, encode_kb, encode_questions

    tmp, kb, _ = setup
    spec = f"clip:{tiny_clip}"
    encode_kb(kb, spec, "title", tmp / "emb-titles", progress=False)
    questions = []
    for i, color in enumerate([(200, 30, 30), (20, 180, 60)]):
        Image.new("RGB", (40, 40), color).save(tmp / f"img{i}.png")
        questions.append(Question(id=f"q{i}", question="who?", image=str(tmp / f"img{i}.png")))
    questions.append(Question(id="q-noimg", question="who?"))
    encode_questions(questions, spec, "image", tmp / "emb-q", progress=False)

    res = runner.invoke(app, ["index", "build", str(tmp / "emb-titles"), "--out", str(tmp / "clip-idx")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["search", "--queries", str(tmp / "emb-q"), "--index", str(tmp / "clip-idx"),
                              "--k", "3", "--out", str(tmp / "run.json"), "--no-progress"])
    assert res.exit_code == 0, res.output
    run = Run.load(tmp / "run.json")
    assert run.meta["mode"] == "image-title" and run.scores["q-noimg"] == {}
    titles, qs = EmbeddingStore.load(tmp / "emb-titles"), EmbeddingStore.load(tmp / "emb-q")
    q_unit = qs.vectors / np.linalg.norm(qs.vectors, axis=1, keepdims=True)
    t_unit = titles.vectors / np.linalg.norm(titles.vectors, axis=1, keepdims=True)
    cos = q_unit @ t_unit.T  # the expected cosine scores, computed directly
    for row, qid in enumerate(qs.ids):
        expected = {titles.ids[j]: float(cos[row, j]) for j in range(len(titles.ids))}
        assert run.scores[qid].keys() == expected.keys()
        for eid, score in run.scores[qid].items():
            assert score == pytest.approx(expected[eid], abs=1e-5)


def test_trec_run_refuses_whitespace_in_names_and_ids(tmp_path):
    """A name or id with a space shifted the TREC columns: the file written was unreadable (7 columns)."""
    with pytest.raises(InputError, match="run name 'a b' is empty or holds whitespace"):
        Run({"q1": {"d1": 1.0}}, name="a b").save(tmp_path / "r.trec")
    with pytest.raises(InputError, match="query id 'q 1' is empty or holds whitespace"):
        Run({"q 1": {"d1": 1.0}}, name="bm25").save(tmp_path / "r.trec")
    assert not (tmp_path / "r.trec").exists()
    Run({"q 1": {"d1": 1.0}}, name="a b").save(tmp_path / "r.json")  # JSON stores any string
    assert Run.load(tmp_path / "r.json").scores == {"q 1": {"d1": 1.0}}
