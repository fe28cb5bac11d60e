"""Malformed or unusual inputs found by session 17's second sweep: YAML aliases, outputs that are links,
pipes or '.', JSON keys written twice, memory-hungry factories, huge re-ranking weights, '|' in report
tables, image paths that are pipes, and an images folder linked in."""

from __future__ import annotations

import json
import os

import pytest

from cli_run import kvqae
from kvqae.config import parse_yaml
from kvqae.errors import InputError


def test_recursive_and_exploding_yaml_aliases_are_refused():
    # the config's boolean check recursed without end on the first and ran for minutes on the second
    with pytest.raises(InputError, match="an alias refers to a structure that contains it"):
        parse_yaml("fusion: &a [*a]\n", path="p.yaml")
    laughs = "w: " + "".join(f"&{c} [" for c in "ihgfedcba") + "x,x,x,x,x,x,x,x,x]"
    for c in "abcdefgh":
        laughs += "".join(f",*{c}" for _ in range(8)) + "]"
    with pytest.raises(InputError, match="aliases expand to more than 1,000,000 values"):
        parse_yaml(laughs + "\n", path="p.yaml")
    # an alias used a few times is still fine
    assert parse_yaml("a: &x {b: 1}\nc: *x\n") == {"a": {"b": 1}, "c": {"b": 1}}


@pytest.mark.parametrize("make,message", [
    (lambda d: os.mkfifo(d / "out.json"), "is a named pipe, not a file or a folder"),
    (lambda d: (d / "out.json").symlink_to(d / "elsewhere.json"), "is a link to"),  # dangling
    (lambda d: ((d / "target.json").write_text("{}"), (d / "out.json").symlink_to(d / "target.json")),
     "is a symbolic link (to"),
])
def test_an_output_that_is_a_pipe_or_a_link_is_refused_before_any_work(tmp_path, monkeypatch, capsys, make,
                                                                       message):
    from kvqae.data.runs import Run

    run = tmp_path / "a.json"
    Run({"q1": {"a#0": 1.0}}, name="a", level="passage").save(run)
    make(tmp_path)
    code, err = kvqae(monkeypatch, capsys, "fuse", "combine", "--run", run, "--run", run, "--out",
                      tmp_path / "out.json", "--overwrite")
    assert code == 2 and message in err
    assert os.path.islink(tmp_path / "out.json") or not (tmp_path / "out.json").is_file()  # not replaced


@pytest.mark.parametrize("out", [".", "sub/.."])
def test_an_output_named_by_dots_is_refused(tmp_path, monkeypatch, capsys, out):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.jsonl").write_text('{"id": "a", "title": "A", "text": "one two"}\n')
    code, err = kvqae(monkeypatch, capsys, "kb", "build", "a.jsonl", "--out", out, "--overwrite")
    # with --overwrite it failed after the build, trying to rename the folder itself
    assert code == 2 and "names a folder by '.' or '..'" in err
    assert (tmp_path / "sub").is_dir() and (tmp_path / "a.jsonl").is_file()


def test_json_keys_written_twice_are_refused(tmp_path, monkeypatch, capsys):
    from kvqae.evaluate.relevance import load_qrels

    qrels = tmp_path / "qrels.json"
    qrels.write_text('{"q1": {"d#0": 1, "d#0": 0}}')  # the last one won: MRR 0 silently
    with pytest.raises(InputError, match="duplicate key 'd#0' in one object"):
        load_qrels(qrels)
    from kvqae.data.runs import Run

    run = tmp_path / "a.json"
    Run({"q1": {"a#0": 1.0}}, name="a", level="passage").save(run)
    weights = tmp_path / "w.json"
    weights.write_text('{"weights": [0.5, 0.5], "weights": [1, 0]}')  # the second list was used
    code, err = kvqae(monkeypatch, capsys, "fuse", "apply", "--weights", weights, "--run", run,
                      "--out", tmp_path / "f.json")
    assert code == 2 and "duplicate key 'weights'" in err
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"id": "q1", "question": "Who?", "question": "Where?", "answers": []}\n')
    code, err = kvqae(monkeypatch, capsys, "questions", "info", questions)
    assert code == 2 and "line 1: duplicate key 'question'" in err


def test_an_hnsw_factory_with_a_huge_m_is_refused():
    from kvqae.index.faiss_index import check_factory

    check_factory("HNSW32")
    check_factory("IVF64,Flat")
    with pytest.raises(InputError, match=r"HNSW neighbours M must be <= 512 \(got HNSW100000"):
        check_factory("HNSW100000")  # 1.6 GB for 2,000 vectors


@pytest.mark.parametrize("value", ["1e308", "nan", "-1"])
def test_rerank_weights_are_finite_and_bounded(tmp_path, monkeypatch, capsys, value):
    code, err = kvqae(monkeypatch, capsys, "rerank", "--run", tmp_path / "r.json", "--kb", tmp_path,
                      "--questions", tmp_path / "q.jsonl", "--out", tmp_path / "o.json", "--weight", value)
    # 1e308 overflowed to Infinity scores no run loader takes back; nan was called "less than 0"
    assert code == 2 and "--weight must be a finite number >= 0 and <= 1e+06" in err


def test_a_pipe_in_a_run_name_stays_in_its_report_cell():
    from kvqae.evaluate.report import SystemScores, markdown_table

    table = markdown_table([SystemScores("bm25|k1=1.5", "wiki|dev", {"mrr@100": 0.5})], ["mrr@100"])
    header, _, row = table.splitlines()
    assert row.startswith("| bm25\\|k1=1.5 |")
    assert header.count(" | ") == row.count(" | ")  # as many cells as the header


def test_an_image_that_is_a_pipe_is_refused_not_read(tmp_path):
    from kvqae.encode.loader import open_image

    os.mkfifo(tmp_path / "photo.png")  # reading it blocked `encode questions` forever
    with pytest.raises(InputError, match="expected an image file, got a device, pipe or socket"):
        open_image(tmp_path / "photo.png", item_id="q1", field="image")
    with pytest.raises(InputError, match="expected an image file, got a folder"):
        open_image(tmp_path, item_id="q1", field="image")


def test_an_images_folder_linked_in_is_the_articles_own(tmp_path):
    from PIL import Image

    from kvqae.data.articles import read_articles

    store = tmp_path / "bigdisk" / "images"
    store.mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(store / "a.png")
    data = tmp_path / "data"
    data.mkdir()
    (data / "images").symlink_to(store)
    (data / "a.jsonl").write_text(json.dumps({"id": "a", "title": "A", "text": "t", "image": "images/a.png"}))
    (article,) = read_articles(data / "a.jsonl")  # "escapes the folder" before
    assert article.image == str(data / "images" / "a.png")
    (data / "b.jsonl").write_text(json.dumps({"id": "b", "title": "B", "text": "t",
                                              "image": "../bigdisk/images/a.png"}))
    with pytest.raises(InputError, match="escapes the folder"):  # written as an escape: still one
        list(read_articles(data / "b.jsonl"))


def test_look_alike_titles_and_shared_wikidata_ids_are_refused(tmp_path):
    import unicodedata

    from kvqae.data.kb import build_kb

    text = "Paris is the capital of France. " * 5
    rows = [{"wikipedia_title": unicodedata.normalize("NFC", "Café"), "text": text},
            {"wikipedia_title": unicodedata.normalize("NFD", "Café"), "text": text}]
    source = tmp_path / "kb.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(InputError, match=r"'Cafe\\u0301' is 'Caf\\xe9' written in another Unicode"):
        build_kb(source, tmp_path / "kb", progress=False, check_images=False)
    rows = [{"wikipedia_title": "Paris", "text": text, "wikidata_info": {"wikidata_id": "Q90"}},
            {"wikipedia_title": "Paris (band)", "text": text, "wikidata_info": {"wikidata_id": "Q90"}}]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    # a question naming Q90 resolved to the first only: the band could never be a gold entity
    with pytest.raises(InputError, match="Wikidata id 'Q90' is already the id of entity 'Paris'"):
        build_kb(source, tmp_path / "kb", progress=False, check_images=False)
    assert not (tmp_path / "kb").exists()


def test_trec_qrels_and_infoseek_predictions_are_read(tmp_path):
    from kvqae.evaluate.predictions import load_predictions
    from kvqae.evaluate.relevance import load_qrels

    trec = tmp_path / "qrels.txt"
    trec.write_text("q1 0 a#0 1\nq1 0 b#0 0\n\nq2 0 c#1 2\n")  # was "invalid JSON (Expecting value ...)"
    assert load_qrels(trec) == {"q1": {"a#0": 1, "b#0": 0}, "q2": {"c#1": 2}}
    trec.write_text("q1 a#0 1\n")
    with pytest.raises(InputError, match="line 1: expected TREC qrels lines 'query 0 document relevance'"):
        load_qrels(trec)
    infoseek = tmp_path / "pred.jsonl"
    infoseek.write_text('{"data_id": "infoseek_val_0", "prediction": "Paris"}\n')  # InfoSeek's own layout
    assert load_predictions(infoseek)["infoseek_val_0"]["answer"] == "Paris"
    rows = tmp_path / "pred.json"
    rows.write_text('[{"id": "q1", "answer": "Ulm"}]')  # a JSON list, as questions may be
    assert load_predictions(rows)["q1"]["answer"] == "Ulm"
    rows.write_text('{"q1": "Ulm", "q2": "Bern"}')
    with pytest.raises(InputError, match=r"looks like one \{question id: answer\} object"):
        load_predictions(rows)
