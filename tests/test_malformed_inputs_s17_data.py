"""Malformed or unusual inputs found by session 17's sweep: silently wrong cache reuse in `kvqae run`, runs
that share a name in `kvqae fuse fit`, and KBs with empty or control-character ids."""

from __future__ import annotations

import os

from kvqae.pipeline import PipelineConfig, _input_state, _slug


def test_long_encoder_specs_that_differ_early_get_their_own_cache_folders():
    a = "st:exp1/checkpoints/text-retriever-minilm-finetuned-on-wiki-questions/final"
    b = "st:exp2/checkpoints/text-retriever-minilm-finetuned-on-wiki-questions/final"
    assert _slug(a) != _slug(b)  # both ended "..._final" after keeping the last 60 characters
    assert len(_slug(a)) <= 60 and _slug(a).endswith(_slug(a)[-8:]) and "final" in _slug(a)
    # a short spec keeps its readable name (and the caches made before this change)
    assert _slug("st:../artifacts/retriever-minilm") == "st_.._artifacts_retriever-minilm"
    assert _slug(a) == _slug(a)  # stable: the same spec finds its cache again


def test_a_model_rewritten_in_place_changes_the_recorded_inputs(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    weights = model / "model.safetensors"
    weights.write_bytes(b"0" * 100)
    kb = tmp_path / "kb"
    kb.mkdir()
    questions = tmp_path / "q.jsonl"
    questions.write_text("")
    cfg = PipelineConfig.model_validate({
        "output": str(tmp_path / "out"), "kb": {"source": str(kb)}, "questions": {"test": str(questions)},
        "retrieval": [{"mode": "text-passage", "encoder": f"st:{model}"}], "fit_split": None,
        "fusion": None})
    before = _input_state(cfg)
    folder_time = model.stat().st_mtime_ns
    weights.write_bytes(b"1" * 120)  # `cp` over it or `save_pretrained` into the same folder
    os.utime(model, ns=(folder_time, folder_time))  # the folder's own time does not tell
    assert _input_state(cfg) != before


def test_fuse_fit_and_apply_refuse_two_runs_of_one_name(tmp_path, monkeypatch, capsys):
    from cli_run import kvqae
    from kvqae.data.runs import Run

    dense, lexical = tmp_path / "text.json", tmp_path / "bm25.json"
    Run({"q1": {"a#0": 2.0, "b#0": 1.0}}, name="text-passage", level="passage").save(dense)
    Run({"q1": {"b#0": 9.0, "a#0": 3.0}}, name="text-passage", level="passage").save(lexical)
    qrels = tmp_path / "qrels.json"
    qrels.write_text('{"q1": {"a#0": 1}}')
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"id": "q1", "question": "Who?", "answers": ["x"]}\n')
    out = tmp_path / "w.json"
    code, err = kvqae(monkeypatch, capsys, "fuse", "fit", "--run", dense, "--run", lexical, "--questions",
                      questions, "--qrels", qrels, "--out", out)
    # the weights go to run names: with two runs of one name, `fuse apply` gave each run's weight by position
    assert code == 2 and not out.exists()
    assert "both runs named 'text-passage'" in err and "--name" in err and str(lexical) in err
    out.write_text('{"weights": [0.5, 0.5], "run_names": ["text-passage", "text-passage"]}')
    fused = tmp_path / "fused.json"
    code, err = kvqae(monkeypatch, capsys, "fuse", "apply", "--weights", out, "--run", dense,
                      "--run", lexical, "--out", fused)
    assert code == 2 and not fused.exists() and "both runs named 'text-passage'" in err


def test_a_utf16_file_is_named_as_such(tmp_path, monkeypatch, capsys):
    from cli_run import kvqae

    # Windows Notepad's "Unicode" and PowerShell's `>` write UTF-16: "not UTF-8 text (byte 0)" did not say so
    text = '{"id": "q1", "question": "Who?", "answers": ["x"]}\n'
    questions = tmp_path / "q.jsonl"
    questions.write_bytes(text.encode("utf-16"))
    code, err = kvqae(monkeypatch, capsys, "questions", "info", questions)
    assert code == 2 and "it is UTF-16" in err and "save it as UTF-8" in err
    config = tmp_path / "p.yaml"
    config.write_bytes("output: out\n".encode("utf-16"))
    code, err = kvqae(monkeypatch, capsys, "run", config)
    assert code == 2 and f"{config}: not UTF-8 text: it is UTF-16" in err
    articles = tmp_path / "a.jsonl"
    articles.write_bytes('{"id": "a", "title": "A", "text": "t"}\n'.encode("utf-16"))
    code, err = kvqae(monkeypatch, capsys, "kb", "build", articles, "--out", tmp_path / "kb")
    assert code == 2 and "it is UTF-16" in err and not (tmp_path / "kb").exists()
    plain = tmp_path / "latin1.jsonl"
    plain.write_bytes(text.replace("Who", "Qu\xe9").encode("latin-1"))
    code, err = kvqae(monkeypatch, capsys, "questions", "info", plain)
    assert code == 2 and "not UTF-8 text (byte" in err and "UTF-16" not in err


def test_passage_requires_entity_is_not_dropped_for_entities_the_kb_lacks():
    import pytest

    from kvqae.data.questions import Question
    from kvqae.data.runs import Run
    from kvqae.errors import InputError
    from kvqae.evaluate.relevance import qrels_from_run

    texts = {"a#0": "Ulm is a city", "b#0": "born in Ulm"}
    run = Run({"q1": {"a#0": 2.0, "b#0": 1.0}, "q2": {"a#0": 2.0, "b#0": 1.0}}, name="r", level="passage")
    questions = [Question("q1", "Where?", answers=["Ulm"], entity="a"),
                 Question("q2", "Where?", answers=["Ulm"], entity="Q42")]
    kb = {"a": "a", "b": "b"}

    def judge(qs, **kw):
        asked = Run({q.id: run.scores[q.id] for q in qs}, name="r", level="passage")
        return qrels_from_run(asked, qs, texts.__getitem__, entity_of=lambda p: p.split("#")[0],
                              resolve_entity=kb.get, **kw)

    # q2's entity is no entity of the KB: no passage belongs to it (it was judged as if the flag were off)
    assert judge(questions, passage_requires_entity=True) == {"q1": {"a#0": 1}, "q2": {}}
    assert judge(questions)["q2"] == {"a#0": 1, "b#0": 1}
    with pytest.raises(InputError, match=r"none of the 1 questions' entities \(such as 'Q42'\)"):
        judge(questions[1:], passage_requires_entity=True)


def test_st_refuses_a_clip_model_and_a_reader(tiny_clip, tmp_path):
    import pytest

    from kvqae.encode.sentence import SentenceEncoder
    from kvqae.errors import InputError

    # sentence-transformers loads both, mean-pooling CLIP's text tower: a run of meaningless 96-d vectors
    with pytest.raises(InputError, match=f"a CLIP model, not a sentence-transformers one: use the encoder "
                                         f"clip:{tiny_clip}"):
        SentenceEncoder(str(tiny_clip))
    reader = tmp_path / "reader"
    reader.mkdir()
    (reader / "config.json").write_text('{"model_type": "bert"}')
    (reader / "model.safetensors").write_bytes(b"")
    (reader / "kvqae_reader.json").write_text("{}")
    with pytest.raises(InputError, match="a kvqae reader .* not a sentence encoder"):
        SentenceEncoder(str(reader))


def test_search_refuses_an_empty_or_trec_unsafe_name_before_searching(tmp_path, monkeypatch, capsys):
    from cli_run import kvqae

    # the index is not even read: the name is wrong whatever the search finds
    missing, queries = tmp_path / "no-index", tmp_path / "q-emb"
    queries.mkdir()
    code, err = kvqae(monkeypatch, capsys, "search", "--queries", queries, "--index", missing,
                      "--out", tmp_path / "r.json", "--name", " ")
    assert code == 2 and 'field "--name": an empty run name' in err  # was replaced by the mode's name
    code, err = kvqae(monkeypatch, capsys, "search", "--queries", queries, "--index", missing,
                      "--out", tmp_path / "r.trec", "--name", "my run")
    assert code == 2 and "run name 'my run' is empty or holds whitespace" in err


def test_fusing_a_run_without_any_result_prints_no_numpy_warning():
    import warnings

    import numpy as np

    from kvqae.fusion.core import norm_zscore_global

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # `fuse combine` printed "Mean of empty slice" raw
        out = norm_zscore_global(np.array([[[np.nan, np.nan]], [[2.0, 1.0]]]))
    assert np.isnan(out[0]).all() and out[1].tolist() == [[1.0, -1.0]]
