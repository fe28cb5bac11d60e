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
