"""Malformed inputs, sweep 7: `kvqae train clip --lr inf` (or `lr: .inf`) saved an all-NaN model with exit 0,
which `kvqae encode` then filed as 0 vectors and `kvqae index build` indexed; `kvqae train reader --lr -1`
ended in a torch traceback after the data was made; a weights file's malformed `step`, `n_queries`,
`best_score` or `extra` crashed `kvqae run`; a bad `--set` or `--epochs` was blamed on the YAML file; a
bundle's NaN mean or negative std was used, and `k: true` / `batch_size: on` passed as the number 1."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from cli_run import kvqae as _kvqae
from kvqae.ask.bundle import BUNDLE_FILE, load_bundle
from kvqae.config import parse_config
from kvqae.encode.store import encode_to_dir, partial_dir
from kvqae.errors import InputError
from kvqae.fusion.search import WEIGHTS_FORMAT, weights_for_runs
from kvqae.pipeline import PipelineConfig

# ------------------------------------------------------------------------- 1. train clip: finite numbers


def _train_yaml(folder: Path, **extra) -> Path:
    """A train clip config; model and data need not exist: the numbers are refused before they are read."""
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    spec = {"mode": "cross", "model": "no-such-model", "kb": "kb", "questions": "q.jsonl",
            "output_dir": str(folder / "out"), "lr": 1e-3, "max_steps": 2, "batch_size": 4, **extra}
    path = folder / "train.yaml"
    text = yaml.safe_dump(spec).replace("'.inf'", ".inf").replace("'.nan'", ".nan")  # YAML's, unquoted
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("extra,flags,message", [
    ({"lr": ".inf"}, [], 'train.yaml: field "lr": Input should be a finite number'),
    ({"weight_decay": ".inf"}, [], 'train.yaml: field "weight_decay": Input should be a finite number'),
    ({"max_grad_norm": ".nan"}, [], 'train.yaml: field "max_grad_norm": Input should be a finite number'),
    ({"entity": {"mlm_weight": ".inf"}}, [], 'field "entity.mlm_weight": Input should be a finite number'),
    ({}, ["--lr", "inf"], 'error: field "--lr": Input should be a finite number'),
    ({}, ["--lr", "nan"], 'error: field "--lr": Input should be a finite number'),
])
def test_train_clip_refuses_non_finite_numbers(monkeypatch, capsys, tmp_path, extra, flags, message):
    config = _train_yaml(tmp_path, **extra)
    code, err = _kvqae(monkeypatch, capsys, "train", "clip", config, *flags)
    assert code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def _nan_clip(tiny_clip: Path, folder: Path) -> Path:
    """The tiny CLIP with every weight NaN: what training with `lr: .inf` saved."""
    from safetensors.numpy import load_file, save_file

    shutil.copytree(tiny_clip, folder)
    weights = load_file(folder / "model.safetensors")
    save_file({k: np.full_like(v, np.nan) if v.dtype.kind == "f" else v for k, v in weights.items()},
              str(folder / "model.safetensors"), metadata={"format": "pt"})
    return folder


def test_encode_refuses_a_model_whose_every_embedding_is_nan(monkeypatch, capsys, tmp_path, tiny_clip,
                                                             prose_kb):
    model = _nan_clip(tiny_clip, tmp_path / "nan-clip")
    out = tmp_path / "emb"
    code, err = _kvqae(monkeypatch, capsys, "encode", "kb", prose_kb.path, "--encoder", f"clip:{model}",
                       "--field", "title", "--out", out, "--no-progress")
    assert code == 2
    # the last line: transformers may print its weight-loading bar first
    assert err.strip().splitlines()[-1] == (
        f"error: encoder 'clip:{model}' computed NaN for all 6 items: is the model broken "
        "(e.g. trained with a non-finite learning rate)? Nothing was written")
    assert not out.exists() and not partial_dir(out).exists()  # no NaN shards left to resume from


class _NanTexts:
    """An encoder whose every text vector is NaN."""

    dim, modalities, normalized, image_size = 4, ("text",), True, None

    def __init__(self, spec: str) -> None:
        self.spec = spec

    def encode_texts(self, texts, role="passage"):
        return np.full((len(texts), self.dim), np.nan, dtype=np.float32)


def test_a_face_encoder_that_finds_no_face_still_files_every_item_as_missing(tmp_path):
    with pytest.raises(InputError, match=r"^encoder 'stub:nan' computed NaN for all 2 items"):
        encode_to_dir(_NanTexts("stub:nan"), ["a", "b"], ["x", "y"], kind="text", field="title",
                      out_dir=tmp_path / "e1", progress=False)
    # face:'s NaN row means "no face" by design: 0 vectors and every item missing, as before
    out = encode_to_dir(_NanTexts("face:dlib"), ["a", "b"], ["x", "y"], kind="text", field="title",
                        out_dir=tmp_path / "e2", progress=False)
    assert json.loads((out / "meta.json").read_text())["missing"] == ["a", "b"]


@pytest.mark.parametrize("shards", [[], ["--shards", "2"]])
def test_index_build_refuses_embeddings_of_no_vectors(monkeypatch, capsys, tmp_path, shards):
    emb = tmp_path / "emb"
    emb.mkdir()
    np.save(emb / "vectors.npy", np.zeros((0, 8), dtype=np.float32))
    (emb / "ids.json").write_text("[]")
    (emb / "meta.json").write_text(json.dumps({"encoder": "clip:m", "field": "title", "kind": "text",
                                               "dim": 8, "count": 0, "missing": ["a", "b"]}))
    code, err = _kvqae(monkeypatch, capsys, "index", "build", emb, "--out", tmp_path / "idx", *shards)
    assert code == 2
    assert err.strip() == (f"error: {emb}: no vectors to index: all 2 items have no embedding "
                           "(meta.json: missing)")
    assert not (tmp_path / "idx").exists()


# ------------------------------------------------------------------------- 2. train reader: numbers first


@pytest.mark.parametrize("flag,value,message", [
    ("--lr", "-1", "Input should be greater than 0"),
    ("--lr", "nan", "Input should be a finite number"),
    ("--warmup", "nan", "Input should be a finite number"),
    ("--warmup", "2", "Input should be less than or equal to 1"),
    ("--max-minutes", "inf", "Input should be a finite number"),
    ("--val-fraction", "nan", "must be in [0, 1), got nan"),
])
def test_train_reader_checks_its_numbers_before_any_work(monkeypatch, capsys, tmp_path, flag, value, message):
    # --kb does not exist: the number is refused first, before the KB is read or questions are made
    code, err = _kvqae(monkeypatch, capsys, "train", "reader", "--kb", tmp_path / "no-kb", "--generate-cloze",
                       "6", "--out", tmp_path / "rd", "--no-progress", flag, value)
    assert code == 2 and err.strip() == f'error: field "{flag}": {message}'
    assert not (tmp_path / "rd").exists()


# ------------------------------------------------------------------------- 3. weights file: optional fields


def _weights(tmp_path: Path, **extra) -> Path:
    path = tmp_path / "w.json"
    path.write_text(json.dumps({"format": WEIGHTS_FORMAT, "weights": [0.5, 0.5], "method": "wsum",
                                "norm": "zscore", "default_minimum": "raw", "rrf_k": 60,
                                "run_names": ["dense", "bm25"], **extra}))
    return path


@pytest.mark.parametrize("field,value,message", [
    ("step", "abc", 'must be a number in (0, 1], got "abc"'),
    ("step", 0, "must be a number in (0, 1], got 0"),
    ("n_queries", None, "must be a whole number >= 0, got null"),
    ("n_queries", 2.5, "must be a whole number >= 0, got 2.5"),
    ("best_score", "x", 'must be a finite number or null, got "x"'),
    ("extra", [1], "must be an object or null, got [1]"),
    ("metric", 5, "must be a string, got 5"),
    ("sum_to_one", "no", 'must be true or false, got "no"'),
])
def test_weights_file_optional_fields_are_checked(tmp_path, field, value, message):
    path = _weights(tmp_path, **{field: value})
    with pytest.raises(InputError) as err:
        weights_for_runs(path, ["dense", "bm25"])
    assert str(err.value) == f'{path}: field "{field}": {message}'


def test_weights_file_with_well_formed_optional_fields_loads(tmp_path):
    path = _weights(tmp_path, step=0.25, n_queries=7, best_score=None, extra=None, metric="mrr@100",
                    sum_to_one=False)
    got = weights_for_runs(path, ["bm25", "dense"])
    assert (got.step, got.n_queries, got.best_score, got.sum_to_one) == (0.25, 7, None, False)
    assert got.extra == {"weights_file": str(path)}


def test_run_names_the_weights_file_and_field(monkeypatch, capsys, tmp_path):
    weights = _weights(tmp_path, extra=[1])
    for name in ("a.jsonl", "q.jsonl"):  # the inputs only need to exist: the weights are checked first
        (tmp_path / name).touch()
    (tmp_path / "p.yaml").write_text(
        "output: out\nkb: {source: a.jsonl}\nquestions: {test: q.jsonl}\n"
        "retrieval: [{mode: text-passage, encoder: bm25, name: dense}, {mode: text-passage, encoder: bm25, "
        f"name: bm25}}]\nfusion: {{weights: {weights}}}\n")
    code, err = _kvqae(monkeypatch, capsys, "run", tmp_path / "p.yaml", "--no-progress")
    assert code == 2 and err.strip() == f'error: {weights}: field "extra": must be an object or null, got [1]'


# ------------------------------------------------------------------------- 4. flags are blamed, not the file


def _pipeline_yaml(tmp_path: Path) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text("output: out\nkb: {source: a.jsonl}\nquestions: {test: q.jsonl}\n"
                    "retrieval: [{mode: text-passage, encoder: bm25}]\n")
    return path


@pytest.mark.parametrize("item,message", [
    ("fusion.method=rrf", "kvqae run: Invalid value for --set: 'fusion.method': --set replaces a top-level "
     "key only; edit p.yaml, or give the whole section (--set 'fusion={method: rrf}' replaces all of fusion) "
     "(see --help)"),
    ("=5", "kvqae run: Invalid value for --set: expected KEY=VALUE, got '=5' (see --help)"),
    ("nope=5", "kvqae run: Invalid value for --set: unknown key 'nope'; the top-level keys are output, kb, "
     "questions, retrieval, k, eval_split, fit_split, fusion, reader, rerank, metrics, "
     "passage_requires_entity, dataset, batch_size, device (see --help)"),
    ("k=", 'error: field "--set k": Input should be a valid integer'),
    ("k=0", 'error: field "--set k": Input should be greater than or equal to 1'),
    ("fusion={method: foo}", "error: field \"--set fusion.method\": Input should be 'wsum', 'rrf', 'combsum' "
     "or 'combmnz'"),
])
def test_run_blames_a_bad_set_on_the_set(monkeypatch, capsys, tmp_path, item, message):
    code, err = _kvqae(monkeypatch, capsys, "run", _pipeline_yaml(tmp_path), "--set", item)
    # (a usage error starts "error: <program> run:", the program being pytest here)
    assert code == 2 and err.startswith("error: ") and err.strip().endswith(message)
    assert "p.yaml:" not in err and not (tmp_path / "out").exists()


def test_run_still_blames_the_file_for_its_own_keys(monkeypatch, capsys, tmp_path):
    path = _pipeline_yaml(tmp_path)
    path.write_text(path.read_text() + "k: 0\n")
    code, err = _kvqae(monkeypatch, capsys, "run", path, "--set", "batch_size=8")
    assert err.strip() == f'error: {path}: field "k": Input should be greater than or equal to 1'


@pytest.mark.parametrize("flags,message", [
    (["--epochs", "0"], 'error: field "--epochs": Input should be greater than or equal to 1'),
    (["--batch-size", "1"], 'error: field "--batch-size": Input should be greater than or equal to 2'),
    (["--grad-cache-chunk", "0"],
     'error: field "--grad-cache-chunk": Input should be greater than or equal to 1'),
])
def test_train_clip_blames_a_bad_flag_on_the_flag(monkeypatch, capsys, tmp_path, flags, message):
    code, err = _kvqae(monkeypatch, capsys, "train", "clip", _train_yaml(tmp_path), *flags)
    assert code == 2 and err.strip() == message


def test_train_clip_blames_the_file_for_its_own_keys(monkeypatch, capsys, tmp_path):
    config = _train_yaml(tmp_path, epochs=0)
    code, err = _kvqae(monkeypatch, capsys, "train", "clip", config, "--lr", "0.01")
    assert err.strip() == f'error: {config}: field "epochs": Input should be greater than or equal to 1'


# ------------------------------------------------------------------------- 5. bundle numbers, booleans


def _bundle(tmp_path: Path, **fusion) -> Path:
    entry = {"mode": "text-passage", "encoder": "x", "index": "."}
    (tmp_path / BUNDLE_FILE).write_text(json.dumps({
        "kb": ".", "retrieval": [{**entry, "name": "a"}, {**entry, "name": "b"}],
        "fusion": {"weights": {"a": 0.5, "b": 0.5}, **fusion}}))
    return tmp_path


@pytest.mark.parametrize("stats,message", [
    ([float("nan"), 1.0], "the mean must be a finite number, got nan"),
    ([float("inf"), 1.0], "the mean must be a finite number, got inf"),
    ([0.3, -1.0], "the standard deviation must be a finite number >= 0, got -1"),
    ([0.3, float("nan")], "the standard deviation must be a finite number >= 0, got nan"),
])
def test_bundle_refuses_z_score_statistics_that_are_not_usable(tmp_path, stats, message):
    root = _bundle(tmp_path, zscore_stats={"a": [0.1, 0.2], "b": stats})
    with pytest.raises(InputError) as err:
        load_bundle(root)
    assert str(err.value) == f'{root / BUNDLE_FILE}: field "fusion.zscore_stats.b": {message}'


def test_bundle_with_usable_statistics_loads(tmp_path):
    bundle = load_bundle(_bundle(tmp_path, zscore_stats={"a": [0.1, 0.2], "b": [-3.0, 1e-3]}))
    assert bundle.fusion.zscore_stats["b"] == (-3.0, 1e-3)
    # `kvqae run` records a std of 0 for a run whose fit-split scores are all equal
    assert load_bundle(_bundle(tmp_path, zscore_stats={"a": [0.1, 0.2], "b": [1.0, 0.0]})).fusion
    # statistics a min-max bundle never uses are not its concern
    assert load_bundle(_bundle(tmp_path, norm="minmax", zscore_stats={"a": [0, 0], "b": [0, 0]})).fusion


BOOLEAN = "must be a number, not the boolean true (YAML reads yes/no/on/off as booleans too)"


HOLDS = BOOLEAN.replace("be a number", "hold numbers")  # a bool inside a list or mapping


@pytest.mark.parametrize("edit,field,message", [
    ({"k": True}, "k", BOOLEAN),
    ({"reader": {"model": ".", "top_k": True}}, "reader.top_k", BOOLEAN),
    ({"fusion": {"weights": {"a": 1, "b": True}}}, "fusion.weights", HOLDS),
    ({"fusion": {"weights": {"a": 1, "b": 1}, "zscore_stats": {"a": [0, 1], "b": [True, 1]}}},
     "fusion.zscore_stats", HOLDS),
])
def test_bundle_refuses_booleans_for_numbers(tmp_path, edit, field, message):
    entry = {"mode": "text-passage", "encoder": "x", "index": "."}
    retrieval = [{**entry, "name": "a"}, {**entry, "name": "b"}]
    (tmp_path / BUNDLE_FILE).write_text(json.dumps({"kb": ".", "retrieval": retrieval, **edit}))
    with pytest.raises(InputError) as err:
        load_bundle(tmp_path)
    assert str(err.value) == f'{tmp_path / BUNDLE_FILE}: field "{field}": {message}'


@pytest.mark.parametrize("line,field", [
    ("k: true", "k"),
    ("batch_size: on", "batch_size"),
    ("reader: {model: r, top_k: yes}", "reader.top_k"),
    ("fusion: {step: true}", "fusion.step"),
])
def test_pipeline_yaml_refuses_booleans_for_numbers(monkeypatch, capsys, tmp_path, line, field):
    path = _pipeline_yaml(tmp_path)
    path.write_text(path.read_text() + line + "\n")
    code, err = _kvqae(monkeypatch, capsys, "run", path)
    assert code == 2 and err.strip() == f'error: {path}: field "{field}": {BOOLEAN}'


def test_numbers_given_as_strings_still_convert_and_booleans_still_do_where_meant():
    base = {"output": "o", "kb": {"source": "a"}, "questions": {"test": "q"},
            "retrieval": [{"mode": "text-passage", "encoder": "bm25"}]}
    cfg = parse_config(PipelineConfig, {**base, "k": "5", "batch_size": 8.0, "passage_requires_entity": True,
                                        "fusion": {"default_minimum": True}})
    assert (cfg.k, cfg.batch_size, cfg.passage_requires_entity) == (5, 8, True)
    assert cfg.fusion.default_minimum == "normalized"  # `true` of older files, read by the field's validator
    with pytest.raises(InputError, match='field "--set k": must be a number'):
        parse_config(PipelineConfig, {**base, "k": False}, path="p.yaml", names={"k": "--set k"})
