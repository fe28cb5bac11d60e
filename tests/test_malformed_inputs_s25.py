"""Inputs session 25's sweep found mishandled: `kvqae run` into a project folder holding a KB (it removed the
user's own run files as an earlier config's), pipeline settings its index cannot use (ignored, or refused
after the encode and index stages), search breadths Faiss overflows on, a huge RRF k, `index recall` without
`index build`'s guards, a 32-bit TIFF read as 16-bit (an all-black picture), a long question's tokenizer
warning."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from cli_run import kvqae
from kvqae.errors import InputError
from test_index_cli import write_embeddings


def _write_pipeline(path: Path, world: Path, output: Path, kb: Path, **retrieval) -> Path:
    spec = {"output": str(output), "kb": {"source": str(kb)},
            "questions": {"validation": str(world / "questions_validation.jsonl"),
                          "test": str(world / "questions_test.jsonl")},
            "retrieval": [{"mode": "text-passage", "encoder": "bm25", **retrieval}]}
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def _age(*paths: Path) -> None:
    old = time.time() - 3600
    for p in paths:
        os.utime(p, (old, old))


def test_run_never_removes_files_it_did_not_write(tiny_world_dir, tmp_path, monkeypatch, capsys):
    # a project folder with its KB in kb/ passed for an earlier pipeline output, and the run removed the
    # user's run, weights and predictions there as "outputs of an earlier config"
    proj = tmp_path / "proj"
    code, err = kvqae(monkeypatch, capsys, "kb", "build", tiny_world_dir / "articles.jsonl", "--out",
                      proj / "kb", "--no-progress")
    assert code == 0, err
    mine = [proj / "runs/test/my-best-run.json", proj / "predictions/my-reader.jsonl",
            proj / "fusion_weights.json"]
    for path in mine:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('{"mine": true}\n', encoding="utf-8")
    _age(*mine)
    config = _write_pipeline(tmp_path / "p.yaml", tiny_world_dir, proj, proj / "kb")
    code, err = kvqae(monkeypatch, capsys, "run", config)
    assert code == 2 and "is not a pipeline output folder (kvqae run); pass --overwrite" in err
    code, err = kvqae(monkeypatch, capsys, "run", config, "--overwrite")
    assert code == 0, err
    assert all(p.read_text(encoding="utf-8") == '{"mine": true}\n' for p in mine)
    marker = json.loads((proj / ".kvqae-pipeline").read_text(encoding="utf-8"))
    assert marker["outputs"] == ["runs/test/text-passage.json"]  # what this run wrote, not the user's files
    # the next config's run removes what the earlier run wrote, and only that
    _age(proj / "runs/test/text-passage.json")
    renamed = _write_pipeline(tmp_path / "p2.yaml", tiny_world_dir, proj, proj / "kb", name="b2")
    code, err = kvqae(monkeypatch, capsys, "run", renamed)
    assert code == 0, err
    assert not (proj / "runs/test/text-passage.json").exists()
    assert (proj / "runs/test/b2.json").is_file() and all(p.is_file() for p in mine)


def test_earlier_outputs_by_marker(tmp_path):
    from kvqae.pipeline import earlier_outputs

    folder = tmp_path / "out"
    folder.mkdir()
    assert earlier_outputs(folder) == set()  # no run wrote it
    (folder / "inputs.json").write_text("{}", encoding="utf-8")
    assert earlier_outputs(folder) is None  # a run from before the marker: all its older outputs
    (folder / ".kvqae-pipeline").write_text('{"outputs": ["runs/test/a.json"]}', encoding="utf-8")
    assert earlier_outputs(folder) == {"runs/test/a.json"}


@pytest.mark.parametrize(
    ("retrieval", "fusion", "needle"),
    [
        ({"encoder": "bm25", "factory": "IVF100,PQ8", "nprobe": 5}, None,
         'field "retrieval.0": factory, nprobe: a bm25 entry searches the question texts'),
        ({"encoder": "st:model", "nprobe": 5}, None, "nprobe applies to IVF indexes, not factory 'Flat'"),
        ({"encoder": "st:model", "factory": "IVF4,Flat", "ef_search": 16}, None,
         "ef_search applies to HNSW indexes"),
        ({"encoder": "st:model", "refine_factor": 5}, None,
         "refine_factor needs an index built with a refine"),
        ({"encoder": "st:model", "factory": "HNSW8", "ef_search": 3_000_000_000}, None,
         'field "retrieval.0.ef_search": Input should be less than or equal to 2147483647'),
        ({"encoder": "bm25"}, {"method": "rrf", "norm": "minmax"},
         'field "fusion": norm does not apply to method rrf'),
    ],
)
def test_pipeline_settings_its_index_cannot_use_are_refused_first(tiny_world_dir, tmp_path, monkeypatch,
                                                                 capsys, retrieval, fusion, needle):
    spec = {"output": str(tmp_path / "out"), "kb": {"source": str(tiny_world_dir / "articles.jsonl")},
            "questions": {"validation": str(tiny_world_dir / "questions_validation.jsonl"),
                          "test": str(tiny_world_dir / "questions_test.jsonl")},
            "retrieval": [{"mode": "text-passage", **retrieval},
                          {"mode": "text-passage", "encoder": "bm25", "name": "b2"}]}
    if fusion is not None:
        spec["fusion"] = fusion
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    code, err = kvqae(monkeypatch, capsys, "run", tmp_path / "p.yaml")
    assert code == 2 and "p.yaml: " in err and needle in err, err
    assert not (tmp_path / "out").exists()  # before any stage


@pytest.fixture()
def dirs(tmp_path):
    rng = np.random.default_rng(0)
    emb = write_embeddings(tmp_path / "emb", rng.normal(size=(60, 8)), [f"E{i}" for i in range(60)])
    qemb = write_embeddings(tmp_path / "q", rng.normal(size=(5, 8)), [f"q{i}" for i in range(5)])
    return tmp_path, emb, qemb


def test_search_breadths_faiss_overflows_on_are_refused(dirs, monkeypatch, capsys):
    tmp, emb, qemb = dirs
    code, err = kvqae(monkeypatch, capsys, "index", "build", emb, "--out", tmp / "ix", "--factory", "HNSW8")
    assert code == 0, err
    code, err = kvqae(monkeypatch, capsys, "search", "--queries", qemb, "--index", tmp / "ix",
                      "--ef-search", "3000000000", "-o", tmp / "r.json")
    assert (code, err) == (2, "error: --ef-search must be >= 1 and <= 2147483647, got 3000000000\n")
    code, err = kvqae(monkeypatch, capsys, "index", "recall", tmp / "ix", "--embeddings", emb, "--queries",
                      qemb, "--ef-search", "99999999999")
    assert (code, err) == (2, "error: --ef-search must be >= 1 and <= 2147483647, got 99999999999\n")
    code, err = kvqae(monkeypatch, capsys, "index", "recall", tmp / "ix", "--embeddings", emb, "--queries",
                      qemb, "--sample", "3", "--seed", "-1")
    assert (code, err) == (2, "error: --seed must be >= 0, got -1\n")
    assert not (tmp / "r.json").exists()


def test_a_saved_breadth_faiss_cannot_hold_is_refused():
    from kvqae.index.faiss_index import VectorIndex, set_search_params

    index = VectorIndex.from_vectors(np.eye(4, dtype=np.float32), list("abcd"), factory="HNSW8")
    with pytest.raises(InputError, match="ef_search.*between 1 and 2147483647, got 3000000000"):
        set_search_params(index.index, ef_search=3_000_000_000)


@pytest.mark.parametrize("factory", ["IDMap,Flat", "NSG32"])
def test_recall_in_memory_refuses_factories_faiss_cannot_add_to(dirs, monkeypatch, capsys, factory):
    # `index build` named them; `index recall --factory` was a RuntimeError traceback
    _, emb, qemb = dirs
    code, err = kvqae(monkeypatch, capsys, "index", "recall", "--embeddings", emb, "--queries", qemb,
                      "--factory", factory)
    assert code == 2 and f"Faiss cannot add vectors to {factory!r}" in err and len(err.splitlines()) == 1


def test_a_huge_rrf_k_is_refused(tmp_path, monkeypatch, capsys):
    # 1e17 left 7 distinct scores per query (ties in passage-id order), 1e308 with tiny weights all 0.0
    for name in ("a", "b"):
        (tmp_path / f"{name}.json").write_text(json.dumps(
            {"name": name, "level": "passage", "run": {"q": {"d1": 1.0, "d2": 0.5}}}), encoding="utf-8")
    code, err = kvqae(monkeypatch, capsys, "fuse", "combine", "--run", tmp_path / "a.json", "--run",
                      tmp_path / "b.json", "--method", "rrf", "--rrf-k", "1e17", "-o", tmp_path / "f.json")
    assert (code, err) == (2, "error: --rrf-k must be a finite number >= 0 and <= 1e+06, got 1e+17\n")


def test_a_32_bit_tiff_is_refused_and_a_16_bit_one_read():
    from PIL import Image

    from kvqae.ask.images import decode_image

    pixels = np.tile(np.arange(0, 256, 4, dtype=np.int32), (8, 1))  # 8-bit values in a 32-bit image
    data = io.BytesIO()
    Image.fromarray(pixels, mode="I").save(data, format="TIFF")
    with pytest.raises(InputError, match='photo.tif: field "image": 32-bit integer pixels are not supported'):
        decode_image(data.getvalue(), name="photo.tif")
    data16 = io.BytesIO()
    Image.fromarray((pixels * 256).astype(np.uint16)).save(data16, format="TIFF")
    grey = np.asarray(decode_image(data16.getvalue(), name="photo16.tif"))[..., 0]
    assert grey.max() == 252 and grey.min() == 0  # tones kept, mapped to 8 bits


def test_a_long_question_is_cut_without_the_tokenizers_warning(tiny_reader_dir):
    # the tokenizer warned that a 1,000-token question "will result in indexing errors"; it is cut first
    code = (
        "from kvqae.read.model import Reader\n"
        f"reader = Reader.load({str(tiny_reader_dir)!r})\n"
        "cut = reader._cut_question('word ' * 1000)\n"
        "print(len(cut.split()))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert 0 < int(done.stdout.strip()) < 1000
    assert "Token indices sequence length" not in done.stderr


def test_encode_names_the_fields_of_its_source(tmp_path, monkeypatch, capsys):
    # the option's message listed image, title, passage and question for either command
    row = '{"id": "q1", "question": "Who?", "answers": ["a"]}\n'
    (tmp_path / "q.jsonl").write_text(row, encoding="utf-8")
    code, err = kvqae(monkeypatch, capsys, "encode", "questions", tmp_path / "q.jsonl", "-e", "st:x", "-f",
                      "passage", "-o", tmp_path / "e")
    assert (code, err) == (
        2, "error: field \"--field\": --field must be image or question here, got 'passage'\n")
    code, err = kvqae(monkeypatch, capsys, "encode", "kb", tmp_path, "-e", "st:x", "-f", "question", "-o",
                      tmp_path / "e")
    assert code == 2 and "--field must be image, title or passage here, got 'question'" in err
    assert not (tmp_path / "e").exists()


def test_fuse_fit_plot_and_out_on_one_path_say_so(tmp_path, monkeypatch, capsys):
    # "--plot fw.png is the input --out": --out is an output
    for name in ("a", "b"):
        (tmp_path / f"{name}.json").write_text(json.dumps(
            {"name": name, "level": "passage", "run": {"q": {"d1": 1.0}}}), encoding="utf-8")
    row = '{"id": "q", "question": "Who?", "answers": ["a"]}\n'
    (tmp_path / "q.jsonl").write_text(row, encoding="utf-8")
    code, err = kvqae(monkeypatch, capsys, "fuse", "fit", "--run", tmp_path / "a.json", "--run",
                      tmp_path / "b.json", "--questions", tmp_path / "q.jsonl", "--qrels",
                      tmp_path / "a.json", "-o", tmp_path / "fw.png", "--plot", tmp_path / "fw.png")
    assert code == 2 and "name the same path: the weights file and the heat map need two" in err


def test_sigterm_removes_temporary_outputs_like_ctrl_c(tmp_path):
    # `timeout`, `docker stop` and Slurm send SIGTERM: a killed `kb build` left .kbi.*.tmp behind each time
    code = (
        "import os, signal, sys, time\n"
        "from pathlib import Path\n"
        "from kvqae.cli import stop_on_sigterm\n"
        "from kvqae.io import atomic_dir\n"
        "stop_on_sigterm()\n"
        "try:\n"
        "    with atomic_dir(Path(sys.argv[1])) as tmp:\n"
        "        (tmp / 'half.txt').write_text('half')\n"
        "        os.kill(os.getpid(), signal.SIGTERM)\n"
        "        time.sleep(30)\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted')\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "out")], capture_output=True, text=True,
                          timeout=60)
    assert done.stdout.strip() == "interrupted", done.stderr
    assert list(tmp_path.iterdir()) == []  # neither the output nor its temporary


# ------------------------------------------------------------------ evaluation, reports, dataset rows


def _runs_and_questions(tmp_path) -> tuple[Path, Path]:
    run = tmp_path / "r.json"
    scores = {"q1": {"d1": 2.0, "d2": 1.0}, "q2": {"d3": 1.0}}
    run.write_text(json.dumps({"name": "r", "level": "passage", "run": scores}), encoding="utf-8")
    questions = tmp_path / "q.jsonl"
    questions.write_text("".join(json.dumps({"id": q, "question": "Who?", "answers": ["x"]}) + "\n"
                                 for q in ("q1", "q2")), encoding="utf-8")
    return run, questions


def test_weights_without_a_grid_are_refused_before_any_report_file(tmp_path, monkeypatch, capsys):
    # a joint CLIP's fusion_weights.json has no grid: a KeyError traceback after report.md was written
    run, questions = _runs_and_questions(tmp_path)
    (tmp_path / "qrels.json").write_text('{"q1": {"d2": 1}, "q2": {"d3": 1}}', encoding="utf-8")
    weights = {"format": "kvqae-fusion-weights/1", "weights": [0.5, 0.5], "method": "wsum",
               "norm": "zscore", "default_minimum": None, "rrf_k": 60.0, "run_names": ["a", "b"]}
    (tmp_path / "fw.json").write_text(json.dumps(weights), encoding="utf-8")
    code, err = kvqae(monkeypatch, capsys, "evaluate", "retrieval", "--run", run, "--questions", questions,
                      "--qrels", tmp_path / "qrels.json", "-o", tmp_path / "rep", "--weights",
                      tmp_path / "fw.json")
    assert code == 2 and 'fw.json: field "grid": this weights file has no weight grid' in err, err
    assert not (tmp_path / "rep").exists()


def test_unjudged_questions_are_named(tmp_path, monkeypatch, capsys):
    # trec_eval leaves them out; here they score 0: MRR (1/2 + 0) / 2 is said to include q2
    run, questions = _runs_and_questions(tmp_path)
    (tmp_path / "qrels.json").write_text('{"q1": {"d2": 1}}', encoding="utf-8")
    code, err = kvqae(monkeypatch, capsys, "evaluate", "retrieval", "--run", run, "--questions", questions,
                      "--qrels", tmp_path / "qrels.json", "-o", tmp_path / "rep", "--metric", "mrr@100")
    assert code == 0
    assert "qrels.json: 1 of 2 questions have no relevant document in these judgements ('q2')" in err
    assert json.loads((tmp_path / "rep/report.json").read_text())["systems"][0]["mean"]["mrr@100"] == 0.25


def test_a_run_name_with_a_line_break_is_refused(tmp_path, monkeypatch, capsys):
    # it split the report's Markdown rows; a NUL went raw into report.md and report.tex
    run, questions = _runs_and_questions(tmp_path)
    data = json.loads(run.read_text())
    data["name"] = "line1\nline2"
    run.write_text(json.dumps(data), encoding="utf-8")
    from kvqae.data.runs import Run

    with pytest.raises(InputError, match=r"field \"name\": run name 'line1\\nline2' holds the character"):
        Run.load(run)


def test_answer_eval_is_checked_in_every_layout(tmp_path):
    # [null] in the kvqae layout scored the prediction "None" as right; NaN scored "nan"
    from kvqae.data.questions import load_questions

    for value, shown in (("[null]", "got null"), ('[["Roma"]]', "got list"), ("[NaN]", "got nan")):
        path = tmp_path / "q.jsonl"
        row = '{"id": "n1", "question": "City?", "answers": ["Paris"], "answer_eval": ' + value + "}\n"
        path.write_text(row, encoding="utf-8")
        with pytest.raises(InputError, match=f'line 1: field "answer_eval": item 0 must be .*{shown}'):
            load_questions(path)


def test_a_reader_given_as_the_bem_scorer_is_refused(tiny_reader_dir):
    # its classifier was initialised at random: BEM 1.0 on one run, 0.0 on the next
    from kvqae.evaluate.bem import BemScorer

    with pytest.raises(InputError, match="not a sequence classifier"):
        BemScorer(tiny_reader_dir)


def test_kilt_paragraphs_must_be_strings(tmp_path):
    # the 324 of "The tower is ", 324, " metres tall." was dropped and the text read wrong
    from kvqae.data.articles import read_articles

    path = tmp_path / "kb.jsonl"
    path.write_text(json.dumps({"wikipedia_title": "Eiffel Tower",
                                "text": {"paragraph": ["The tower is ", 324, " metres tall."]}}) + "\n",
                    encoding="utf-8")
    with pytest.raises(InputError, match=r'field "text.paragraph": item 1 must be a string, got'):
        list(read_articles(path, fmt="viquae", check_images=False))


def test_standardise_keeps_the_order_of_huge_and_tiny_scores():
    from kvqae.rerank.scores import standardise

    for scale in (1e200, 1e-310):
        z = standardise(np.array([4.0, 3.0, 2.0, 1.0]) * scale)
        assert list(np.argsort(-z)) == [0, 1, 2, 3] and np.isfinite(z).all()
    np.testing.assert_allclose(standardise(np.array([4.0, 3.0, 2.0, 1.0]) * 1e200),
                               standardise(np.array([4.0, 3.0, 2.0, 1.0])))


def test_an_answer_of_one_article_matches_with_its_punctuation():
    from kvqae.evaluate.answers import exact_match, f1_score

    assert exact_match("A.", ["A"]) == 1.0 and f1_score("A.", ["A"]) == 1.0  # blood group A
    assert exact_match("", ["A"]) == 0.0 and exact_match("B", ["A"]) == 0.0


def test_a_dataset_name_with_a_line_break_and_two_runs_of_one_name(tmp_path, monkeypatch, capsys):
    run, questions = _runs_and_questions(tmp_path)
    (tmp_path / "qrels.json").write_text('{"q1": {"d2": 1}, "q2": {"d3": 1}}', encoding="utf-8")
    base = ["evaluate", "retrieval", "--questions", questions, "--qrels", tmp_path / "qrels.json"]
    code, err = kvqae(monkeypatch, capsys, *base, "--run", run, "-o", tmp_path / "a", "--dataset", "a\nb")
    assert (code, err) == (
        2, "error: field \"--dataset\": the dataset name holds the control character '\\n'\n")
    twin = tmp_path / "twin.json"
    twin.write_text(run.read_text(), encoding="utf-8")
    code, err = kvqae(monkeypatch, capsys, *base, "--run", run, "--run", twin, "-o", tmp_path / "b")
    assert code == 0 and "note: two runs are named 'r': the report names every run by its file" in err


def test_fit_questions_shared_with_the_evaluated_ones_are_warned_about():
    from dataclasses import dataclass

    from kvqae.pipeline import shared_ids_note

    @dataclass
    class Q:
        id: str

    questions = {"validation": [Q("a"), Q("b"), Q("c")], "test": [Q("c"), Q("d"), Q("b")]}
    note = shared_ids_note(questions, "validation", "test")
    assert note == ("[questions] warning: 2 of the 3 test questions are also in validation ('b', 'c'): "
                    "fusion weights fitted on them are evaluated on them")
    assert shared_ids_note({"validation": [Q("a")], "test": [Q("d")]}, "validation", "test") is None
    assert shared_ids_note(questions, None, "test") is None


def test_an_infoseek_prediction_is_named_by_its_own_field(tmp_path):
    from kvqae.evaluate.predictions import load_predictions

    path = tmp_path / "p.jsonl"
    path.write_text('{"data_id": "q1", "prediction": 5}\n', encoding="utf-8")
    with pytest.raises(InputError, match='line 1: field "prediction": must be a string'):
        load_predictions(path)


# ------------------------------------------------------------------ model folders copied or edited by hand


def _reader_copy(tiny_reader_dir, tmp_path) -> Path:
    import shutil

    folder = tmp_path / "reader"
    shutil.copytree(tiny_reader_dir, folder)
    return folder


def test_a_reader_without_its_tokenizer_files_is_refused(tiny_reader_dir, tmp_path):
    # a 5-token vocabulary: every word became [UNK] and the answers went on, silently
    from kvqae.read.model import Reader

    folder = _reader_copy(tiny_reader_dir, tmp_path)
    for name in ("tokenizer.json", "vocab.txt"):
        (folder / name).unlink(missing_ok=True)
    with pytest.raises(InputError, match="tokens and the model a vocabulary of .*tokenizer files"):
        Reader.load(folder)


def test_a_truncated_reader_weights_file_is_one_line(tiny_reader_dir, tmp_path):
    # a SafetensorError traceback in `ask` and at `serve`'s start
    from kvqae.read.model import Reader

    folder = _reader_copy(tiny_reader_dir, tmp_path)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(InputError, match="unreadable model weights"):
        Reader.load(folder)


def test_a_bundle_reader_that_is_no_reader_is_refused(tmp_path):
    from kvqae.safety import check_reader_dir

    folder = tmp_path / "retriever"
    folder.mkdir()
    (folder / "config.json").write_text('{"architectures": ["BertModel"]}', encoding="utf-8")
    (folder / "model.safetensors").write_bytes(b"x")
    with pytest.raises(InputError, match=r"reader.model .*retriever: not a reader model \(config.json's "
                                         r"architectures \['BertModel'\] have no QuestionAnswering head\)"):
        check_reader_dir(folder, "reader.model")
    (folder / "kvqae_reader.json").write_text("{}", encoding="utf-8")
    check_reader_dir(folder, "reader.model")  # a kvqae reader, whatever its config says


@pytest.mark.parametrize(
    ("keys", "needle"),
    [
        ({"joint": {"weights": [-1, 2]}}, "joint.weights.0"),
        ({"joint": {"weights": [1e308, 1e308]}}, "less than or equal to 1000000"),
        ({"entity": {"contrastive_weight": 0, "mlm_weight": 0, "type_weight": 0}},
         "nothing would be trained"),
        ({"seed": -3}, "seed"),
        ({"seed": 5_000_000_000}, "less than or equal to 4294967295"),
    ],
)
def test_clip_training_settings_that_train_nothing_or_overflow_are_refused(keys, needle):
    from kvqae.config import parse_config
    from kvqae.train.trainer import TrainClipConfig

    with pytest.raises(InputError, match=needle):
        parse_config(TrainClipConfig, {"model": "m", "output_dir": "o", **keys})


def test_an_ablation_folder_reuses_only_its_own_world_and_start_model(tiny_world_dir, tmp_path):
    # an earlier config's KB (another world, the same entity ids) and start model (another preset) were
    # reused: wrong figures, exit 0
    import shutil

    from kvqae.data.kb import KnowledgeBase
    from kvqae.train.ablation import AblationConfig, resolve_inputs

    other = tmp_path / "other"
    shutil.copytree(tiny_world_dir, other)
    articles = [json.loads(line) for line in (other / "articles.jsonl").read_text().splitlines()][:4]
    (other / "articles.jsonl").write_text("".join(json.dumps(a) + "\n" for a in articles))
    out = tmp_path / "abl"
    first = resolve_inputs(AblationConfig(model="preset:tiny", world=str(tiny_world_dir),
                                          output_dir=str(out)))
    assert len(KnowledgeBase.load(first.kb).entity_ids) == 12
    again = resolve_inputs(AblationConfig(model="preset:tiny", world=str(other), output_dir=str(out),
                                          seed=7))
    assert len(KnowledgeBase.load(again.kb).entity_ids) == 4  # rebuilt from the other world
    stamp = json.loads((out / "start-model/kvqae_start.json").read_text())
    assert stamp == {"model": "preset:tiny", "seed": 7}
