"""Session 21: options that were silently ignored in some combinations, and empty arguments, are refused with
one line naming the option."""

from __future__ import annotations

import json

import pytest

from cli_run import kvqae


@pytest.fixture(scope="module")
def bm25_index(tmp_path_factory, prose_kb):
    from kvqae.index.bm25_index import Bm25Index

    out = tmp_path_factory.mktemp("bm25") / "index"
    Bm25Index.build(prose_kb, out)
    return out


@pytest.fixture
def questions(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"id": "q1", "question": "Where was she born?", "answers": ["Paris"]}) + "\n")
    return path


@pytest.mark.parametrize(("extra", "said"), [
    (["--nprobe", "4"], "--nprobe apply to vector indexes"),
    (["--ef-search", "8", "--refine-factor", "2"], "--ef-search, --refine-factor apply to vector indexes"),
])
def test_vector_index_options_with_a_bm25_index_are_refused(bm25_index, questions, tmp_path, monkeypatch,
                                                            capsys, extra, said):
    out = tmp_path / "r.json"
    code, err = kvqae(monkeypatch, capsys, "search", "--questions", questions, "--index", bm25_index,
                      "--out", out, *extra)
    assert code == 2 and said in err and not out.exists()  # the search ran with the index's own settings
    code, _ = kvqae(monkeypatch, capsys, "search", "--questions", questions, "--index", bm25_index,
                    "--out", out)
    assert code == 0 and out.is_file()


def test_queries_with_a_bm25_index_are_refused(bm25_index, questions, tmp_path, monkeypatch, capsys):
    queries = tmp_path / "emb"
    queries.mkdir()
    code, err = kvqae(monkeypatch, capsys, "search", "--questions", questions, "--queries", queries,
                      "--index", bm25_index, "--out", tmp_path / "r.json")
    assert code == 2 and 'field "--queries": --queries apply to vector indexes' in err


def test_passages_k_without_to_passages_is_refused(bm25_index, questions, tmp_path, monkeypatch, capsys):
    code, err = kvqae(monkeypatch, capsys, "search", "--questions", questions, "--index", bm25_index,
                      "--out", tmp_path / "r.json", "--passages-k", "5")
    assert code == 2 and "--passages-k applies to --to-passages" in err  # k was used, without a word


@pytest.mark.parametrize(("extra", "said"), [
    (["--infoseek-mode", "lenient"], "--infoseek-mode applies to --scorer infoseek, not em-f1"),
    (["--device", "cuda"], "--device applies to a bem:PATH scorer, not em-f1"),
])
def test_options_of_another_scorer_are_refused(questions, tmp_path, monkeypatch, capsys, extra, said):
    preds = tmp_path / "p.jsonl"
    preds.write_text(json.dumps({"id": "q1", "answer": "Paris"}) + "\n")
    code, err = kvqae(monkeypatch, capsys, "evaluate", "answers", preds, "--questions", questions, *extra)
    assert code == 2 and said in err
    code, _ = kvqae(monkeypatch, capsys, "evaluate", "answers", preds, "--questions", questions)
    assert code == 0


@pytest.mark.parametrize(("args", "said"), [
    (["ask", "", "-q", "Who?"], "error: argument 2 is empty (an unset shell variable?)"),
    (["search", "--index", "", "--out", "r.json"], "error: --index is empty"),
    (["search", "--out=", "--index", "i"], "error: --out is empty"),
])
def test_an_empty_argument_is_named_not_read_as_the_current_folder(monkeypatch, capsys, args, said):
    code, err = kvqae(monkeypatch, capsys, *args)
    assert code == 2 and said in err and len(err.strip().splitlines()) == 1


def test_a_trec_score_in_python_syntax_is_refused(tmp_path):
    from kvqae.data.runs import Run
    from kvqae.errors import InputError

    path = tmp_path / "r.trec"
    path.write_text("q1 Q0 d1 1 1_000 bm25\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"score '1_000' is not a number"):  # read as 1000.0 before
        Run.load(path)
    path.write_text("q1 Q0 d1 1 1e3 bm25\n", encoding="utf-8")
    assert Run.load(path).scores == {"q1": {"d1": 1000.0}}


@pytest.mark.parametrize("value", ["-1", "nan", "inf"])
def test_a_demo_clip_budget_must_be_a_finite_number(tmp_path, monkeypatch, capsys, value):
    code, err = kvqae(monkeypatch, capsys, "demo", "--out", tmp_path / "d", "--clip-minutes", value)
    assert code == 2 and "--clip-minutes must be a finite number >= 0" in err
    assert not (tmp_path / "d").exists()
