"""Session 27: what `kvqae run PIPELINE.yaml` did with a config it should have read otherwise or refused - `~`
paths written beside the YAML, model paths read from the current folder, fusion keys ignored beside a weights
file, encoders their mode cannot use and KB sources found wrong only after the output folder was made."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from cli_run import kvqae
from kvqae.errors import InputError


def _pipeline(folder: Path, world: Path, **extra) -> Path:
    """A BM25 PIPELINE.yaml over the tiny world in `folder`."""
    spec = {"output": "out", "kb": {"source": str(world / "articles.jsonl"), "words": 40},
            "questions": {"test": str(world / "questions_test.jsonl")},
            "retrieval": [{"mode": "text-passage", "encoder": "bm25", "name": "bm25"}],
            "k": 10, "fit_split": None, **extra}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "p.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def test_tilde_paths_are_the_home_folder(tiny_world_dir, tmp_path, monkeypatch, capsys):
    # `output: ~/runs/x` wrote into a folder named "~" beside the YAML; `~/...` inputs were "not found" there,
    # and a `~/...` model passed the checks, then failed to load after the KB and the searches
    from kvqae.pipeline import load_pipeline_config

    home = tmp_path / "home"
    (home / "models" / "m").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    rows = [json.loads(line) for line in (tiny_world_dir / "articles.jsonl").read_text().splitlines()]
    rows = [{k: v for k, v in r.items() if k != "image"} for r in rows]  # the images are elsewhere
    (home / "articles.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    config = _pipeline(tmp_path / "conf", tiny_world_dir, output="~/runs/x",
                       kb={"source": "~/articles.jsonl", "words": 40})
    code, err = kvqae(monkeypatch, capsys, "run", config, "--no-progress")
    assert code == 0, err
    assert (home / "runs/x/report/report.json").is_file() and not (tmp_path / "conf/~").exists()
    config = _pipeline(tmp_path / "conf", tiny_world_dir, reader={"model": "~/models/m", "run": "bm25"},
                       retrieval=[{"mode": "text-passage", "encoder": "st:~/models/m"}])
    cfg = load_pipeline_config(config)
    assert cfg.reader.model == str(home / "models/m") and cfg.retrieval[0].encoder == f"st:{home}/models/m"
    # an unknown user's "~nobody..." was a RuntimeError traceback of pathlib's expanduser
    config = _pipeline(tmp_path / "conf", tiny_world_dir, reader={"model": "~nobody-kvqae/r", "run": "bm25"})
    code, err = kvqae(monkeypatch, capsys, "run", config)
    assert code == 2 and "reader.model ~nobody-kvqae/r: model folder not found" in err


def test_model_paths_are_relative_to_the_yaml_not_the_current_folder(tiny_world_dir, tiny_reader_dir,
                                                                    tmp_path, monkeypatch, capsys):
    # `reader: {model: ./reader}` with no reader beside the YAML read ./reader of the current folder, silently
    from kvqae.pipeline import load_pipeline_config

    (tmp_path / "reader").symlink_to(tiny_reader_dir, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    conf = tmp_path / "conf"
    config = _pipeline(conf, tiny_world_dir, reader={"model": "./reader", "run": "bm25"})
    code, err = kvqae(monkeypatch, capsys, "run", config)
    assert code == 2 and f"reader.model {conf / 'reader'}: model folder not found" in err
    assert not (conf / "out").exists()
    config = _pipeline(conf, tiny_world_dir, reader={"model": "reader", "run": "bm25"},
                       retrieval=[{"mode": "text-passage", "encoder": "dpr:q/a/b,../c"},
                                  {"mode": "text-passage", "encoder": "st:minilm", "name": "st"},
                                  {"mode": "text-passage", "encoder": "st:org/hub-model", "name": "hub"}])
    cfg = load_pipeline_config(config)
    assert cfg.reader.model == str(conf / "reader")  # it exists only in the current folder
    # the two paths of a DPR pair were never resolved
    assert cfg.retrieval[0].encoder == f"dpr:{conf / 'q/a/b'},{conf / '../c'}"
    assert [r.encoder for r in cfg.retrieval[1:]] == ["st:minilm", "st:org/hub-model"]  # packaged, hub ids


def _weights(path: Path, **change) -> Path:
    path.write_text(json.dumps({"format": "kvqae-fusion-weights/1", "weights": [0.3, 0.7], "method": "wsum",
                                "norm": "none", "default_minimum": "raw", "rrf_k": 60,
                                "run_names": ["a", "b"], **change}), encoding="utf-8")
    return path


def test_fusion_keys_beside_a_weights_file(tiny_world_dir, tmp_path, monkeypatch, capsys):
    # the file's method, norm and default-minimum are applied: `method: rrf` or `norm: zscore` beside a joint
    # CLIP's weights (norm none) fused by the file's settings without a word; fitting keys are unused
    from kvqae.pipeline import config_notes, load_pipeline_config

    weights = _weights(tmp_path / "w.json")
    two = [{"mode": "text-passage", "encoder": "bm25", "name": "a"},
           {"mode": "text-passage", "encoder": "bm25", "name": "b"}]
    for key, value in [("method", "rrf"), ("norm", "zscore"), ("default_minimum", "off")]:
        fusion = {"weights": str(weights), key: value}
        config = _pipeline(tmp_path, tiny_world_dir, retrieval=two, fusion=fusion)
        code, err = kvqae(monkeypatch, capsys, "run", config)
        assert code == 2 and f'field "fusion.{key}": {value!r}, but the weights file {weights} fuses' in err
        assert not (tmp_path / "out").exists()
    config = _pipeline(tmp_path, tiny_world_dir, retrieval=two, fit_split="test",
                       fusion={"weights": str(weights), "norm": "none", "step": 0.25, "metric": "p@1"})
    assert config_notes(load_pipeline_config(config), ["test"]) == [
        f"[fusion] warning: fusion.step, fusion.metric, fit_split not used: the weights in {weights} are "
        "applied as they are, not fitted (drop fusion.weights to fit them)"]
    # `fusion: null` asks for no fusion: it was told "fit_split is null", which it was not
    config = _pipeline(tmp_path, tiny_world_dir, retrieval=two, fit_split="test", fusion=None)
    assert config_notes(load_pipeline_config(config), ["test"]) == []


@pytest.mark.parametrize(("entry", "message"), [
    ({"mode": "image-image", "encoder": "st:minilm"},
     "'st:minilm' encodes texts only, but mode image-image (question image -> entity image (mono-modal)) "
     "needs images encoded too"),
    ({"mode": "text-passage", "encoder": "face:dlib"},
     "'face:dlib' encodes images only, but mode text-passage"),
    ({"mode": "image-title", "encoder": "effnet-lite0"},
     "'effnet-lite0' encodes images only, but mode image-title"),
    ({"mode": "text-passage", "encoder": "dpr:q"}, "expected 'dpr:<question encoder>,<context encoder>'"),
    ({"mode": "image-image", "encoder": "effnet-lite0:x"}, "'effnet-lite0' takes no argument"),
])
def test_an_encoder_its_mode_cannot_use_is_refused_first(tiny_world_dir, tmp_path, monkeypatch, capsys, entry,
                                                         message):
    # found when the KB field was encoded, after the KB was built: `field "encoder": ...` (no file or entry)
    code, err = kvqae(monkeypatch, capsys, "run", _pipeline(tmp_path, tiny_world_dir, retrieval=[entry]))
    assert code == 2 and f'p.yaml: field "retrieval.0.encoder": {message}' in err, err
    assert not (tmp_path / "out").exists()


def test_a_kb_source_of_no_known_kind_is_refused_first(tiny_world_dir, tmp_path, monkeypatch, capsys):
    # found while building the KB, in an output folder already made
    config = _pipeline(tmp_path, tiny_world_dir, kb={"source": str(tiny_world_dir), "words": 40})
    code, err = kvqae(monkeypatch, capsys, "run", config)
    assert code == 2 and 'field "kb.source": is a folder but not a built KB (no entities.parquet)' in err
    config = _pipeline(tmp_path, tiny_world_dir, kb={"source": str(tiny_world_dir / "articles.jsonl"),
                                                     "format": "xml"})
    code, err = kvqae(monkeypatch, capsys, "run", config)
    assert code == 2 and "\"kb.format\": Input should be 'auto', 'jsonl', 'mediawiki' or 'viquae'" in err
    (tmp_path / "notes.txt").write_text("plain text\n", encoding="utf-8")
    config = _pipeline(tmp_path, tiny_world_dir, kb={"source": str(tmp_path / "notes.txt")})
    with pytest.raises(InputError, match='notes.txt: field "kb.source": cannot tell the articles format'):
        from kvqae.pipeline import check_pipeline, load_pipeline_config

        check_pipeline(load_pipeline_config(config))
    assert not (tmp_path / "out").exists()


def test_a_rerank_deeper_than_k_and_a_key_set_twice(tiny_world_dir, tmp_path, monkeypatch, capsys):
    # `rerank.top_n` over k re-ranked every passage a run keeps, and `--set k=5 --set k=7` kept 7, silently
    config = _pipeline(tmp_path, tiny_world_dir, rerank={"method": "proximity", "top_n": 50})
    code, err = kvqae(monkeypatch, capsys, "run", config)
    assert code == 2 and "\"rerank.top_n\": the re-ranking re-orders the top 50 but each run keeps 10" in err
    code, err = kvqae(monkeypatch, capsys, "run", _pipeline(tmp_path, tiny_world_dir), "--set", "k=5",
                      "--set", "k=7")
    assert code == 2 and "'k' is set twice; give each key once" in err, err
    assert not (tmp_path / "out").exists()
