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
