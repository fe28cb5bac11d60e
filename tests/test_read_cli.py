"""`kvqae read`, `kvqae reader-data` and `kvqae train reader` through the one CLI app."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from kvqae.cli import app
from kvqae.data.runs import Run
from kvqae.errors import InputError
from kvqae.read.evidence import EvidenceSettings
from kvqae.read.model import build_tiny_reader

runner = CliRunner()



pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def kb(prose_kb):
    return prose_kb


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny_reader(tmp_path_factory.mktemp("cli-reader") / "tiny", seed=1)


def test_reader_data_writes_cloze_questions(kb, tmp_path):
    out = tmp_path / "cloze.jsonl"
    res = runner.invoke(
        app,
        ["reader-data", "--kb", str(kb.path), "--out", str(out), "-n", "10", "--seed", "4", "--no-progress"],
    )
    assert res.exit_code == 0, res.output
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(rows) == 10
    for r in rows:
        assert kb.passage_text(r["passage_id"])[r["start"] : r["end"]] == r["answers"][0]
    # a negative seed: a usage error naming the option (was a numpy traceback), nothing written
    for command in (["reader-data", "--kb", str(kb.path), "--out", str(tmp_path / "neg.jsonl")],
                    ["train", "reader", "--kb", str(kb.path), "--out", str(tmp_path / "neg-reader")]):
        res = runner.invoke(app, [*command, "--seed", "-5"])
        assert res.exit_code == 2 and "--seed" in res.output, res.output
    assert not (tmp_path / "neg.jsonl").exists() and not (tmp_path / "neg-reader").exists()


def test_read_writes_one_prediction_per_question(kb, tiny, tmp_path):
    qfile = tmp_path / "q.jsonl"
    qfile.write_text(
        json.dumps({"id": "q1", "question": "When did Apollo 11 land?", "answers": ["July 20, 1969"]})
        + "\n"
        + json.dumps({"id": "q2", "question": "Who designed the tower?", "answers": ["Gustave Eiffel"]})
        + "\n"
    )
    run = Run.from_mapping({"q1": {"Apollo_11#0": 3.0, "Apollo_11#1": 2.0, "Eiffel_Tower#0": 1.0}})
    run.save(tmp_path / "run.json")
    out = tmp_path / "pred.jsonl"
    args = [
        "read",
        "--run",
        str(tmp_path / "run.json"),
        "--kb",
        str(kb.path),
        "--questions",
        str(qfile),
        "--model",
        str(tiny),
        "--out",
        str(out),
        "--no-progress",
    ]
    res = runner.invoke(app, [*args, "--top-k", "2"])
    assert res.exit_code == 0, res.output
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["q1", "q2"]
    r1, r2 = rows
    assert set(r1) == {"id", "answer", "passage_id", "score", "start", "end", "confidence"}
    assert 0.0 < r1["confidence"] <= 1.0  # the evidence ranking's probability of the answer
    assert r1["passage_id"] in {"Apollo_11#0", "Apollo_11#1"}  # top-2 only
    assert kb.passage_text(r1["passage_id"])[r1["start"] : r1["end"]] == r1["answer"] != ""
    assert r2 == {"id": "q2", "answer": "", "passage_id": None, "score": None, "start": 0, "end": 0,
                  "confidence": None}
    res = runner.invoke(app, [*args, "--top-k", "1"])
    assert json.loads(out.read_text().splitlines()[0])["passage_id"] == "Apollo_11#0"
    # --ranked-out: the run with the 2 read passages in the reader's order; q2 (nothing retrieved) stays empty
    ranked = tmp_path / "ranked.json"
    res = runner.invoke(app, [*args, "--top-k", "2", "--overwrite", "--ranked-out", str(ranked)])
    assert res.exit_code == 0, res.output
    by_reader = Run.load(ranked)
    before = Run.load(tmp_path / "run.json")
    assert sorted(p for p, _ in by_reader.ranked("q1", 2)) == sorted(p for p, _ in before.ranked("q1", 2))
    assert [p for p, _ in by_reader.ranked("q1")][2:] == [p for p, _ in before.ranked("q1")][2:]
    assert by_reader.ranked("q2") == [] and by_reader.meta["reader_rank"]["top_k"] == 2
    # it may not replace an input
    res = runner.invoke(app, [*args, "--overwrite", "--ranked-out", str(tmp_path / "run.json")])
    assert res.exit_code != 0 and "choose another --ranked-out" in str(res.exception)


def test_read_rejects_an_entity_level_run(kb, tiny, tmp_path):
    Run.from_mapping({"q1": {"Apollo_11": 1.0}}, level="entity").save(tmp_path / "run.json")
    (tmp_path / "q.jsonl").write_text(json.dumps({"id": "q1", "question": "x?", "answers": ["y"]}) + "\n")
    res = runner.invoke(
        app,
        [
            "read",
            "--run",
            str(tmp_path / "run.json"),
            "--kb",
            str(kb.path),
            "--questions",
            str(tmp_path / "q.jsonl"),
            "--model",
            str(tiny),
            "--out",
            str(tmp_path / "p.jsonl"),
        ],
    )
    assert isinstance(res.exception, InputError) and "passage-level" in str(res.exception)
    assert not (tmp_path / "p.jsonl").exists()


def test_train_reader_command_from_generated_cloze(kb, tiny, tmp_path):
    import typer

    from kvqae.read.cli import train_reader

    # The train group is assembled by kvqae.train.cli; attach the command the same way here.
    train_app = typer.Typer()
    train_app.command("reader")(train_reader)
    train_app.command("noop")(lambda: None)  # two commands, so "reader" is addressed by name
    out = tmp_path / "reader"
    res = runner.invoke(
        train_app,
        [
            "reader",
            "--kb",
            str(kb.path),
            "--generate-cloze",
            "12",
            "--init",
            str(tiny),
            "--out",
            str(out),
            "--relevant",
            "1",
            "--irrelevant",
            "2",
            "--epochs",
            "1",
            "--batch-questions",
            "4",
            "--max-length",
            "96",
            "--read-length",
            "64",
            "--windows-per-passage",
            "1",
            "--read-windows",
            "2",
            "--val-fraction",
            "0.3",
            "--no-progress",
        ],
    )
    assert res.exit_code == 0, res.output
    meta = json.loads((out / "training.json").read_text())
    assert meta["generated_cloze"] == 12
    assert meta["train_questions"] + meta["val_questions"] == 12 and meta["val_questions"] > 0
    assert meta["history"][0]["step"] == 0 and meta["steps"] == -(-meta["train_questions"] // 4)
    saved = json.loads((out / "kvqae_reader.json").read_text())
    # trained on 96-token rows, reads 64-token rows (stride a third), the training length kept
    assert (saved["settings"]["max_length"], saved["settings"]["stride"]) == (64, 21)
    assert saved["trained_max_length"] == 96 and "training" in saved
    # trained (and validated) on each passage's best window, reads its best 2 (session 18)
    assert saved["settings"]["windows_per_passage"] == 2 and saved["trained_windows_per_passage"] == 1
    res = runner.invoke(train_app, ["reader", "--kb", str(kb.path), "--out", str(out)])
    assert isinstance(res.exception, InputError)


def test_read_fit_fits_and_saves_evidence_weights(kb, tiny, tmp_path):
    import shutil

    from kvqae.read.model import Reader

    rows = [("q1", "In which city was this physicist born?", "Warsaw", ["Marie_Curie#0", "Eiffel_Tower#0"]),
            ("q2", "Who designed the tower?", "Gustave Eiffel", ["Eiffel_Tower#0", "Apollo_11#0"]),
            ("q3", "When did the lunar module land?", "July 20, 1969", ["Apollo_11#0", "Marie_Curie#0"]),
            ("q4", "In which city was the composer born?", "Bonn", ["Ludwig_van_Beethoven#0", "Apollo_11#0"])]
    qfile = tmp_path / "q.jsonl"
    qfile.write_text("".join(json.dumps({"id": i, "question": q, "answers": [a]}) + "\n"
                             for i, q, a, _ in rows))
    run = Run.from_mapping({i: {p: 2.0 - k for k, p in enumerate(ps)} for i, _, _, ps in rows})
    run.save(tmp_path / "r.json")
    reader = tmp_path / "reader"
    shutil.copytree(tiny, reader)
    args = ["read-fit", "--model", str(reader), "--run", str(tmp_path / "r.json"), "--kb", str(kb.path),
            "--questions", str(qfile), "--top-k", "2", "--no-progress"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "4 questions, 4 with a correct candidate" in res.output
    fitted = json.loads(res.output.strip().splitlines()[-1])["evidence"]
    # an untrained span model: the answers are told apart by being entities of the asked-for kind and
    # standing near the question's words
    assert fitted["entity"] > 0 and fitted["window"] > 0
    assert Reader.load(reader).settings.evidence == EvidenceSettings()  # not saved without --save
    res = runner.invoke(app, [*args, "--save"])
    assert res.exit_code == 0, res.output
    saved = Reader.load(reader).settings.evidence
    assert saved.window == pytest.approx(fitted["window"]) and saved.span == pytest.approx(fitted["span"])
    # questions without answers cannot be fitted on: one clear error naming the record and field
    qfile.write_text(json.dumps({"id": "q1", "question": "Who?", "answers": []}) + "\n")
    res = runner.invoke(app, args)
    assert isinstance(res.exception, InputError)
    assert "q1" in str(res.exception) and 'field "answers"' in str(res.exception)


def test_read_cuts_a_long_question_to_fit_the_window(kb, tmp_path):
    """A question of more tokens than max_length - stride - special tokens leaves used to crash the fast
    tokenizer (a Rust panic: stride must be less than the passage's share of a row); it is cut to fit."""
    from kvqae.read.model import PassageInput, Reader, ReaderSettings

    settings = ReaderSettings(max_length=96, stride=32, max_question_tokens=64, evidence=None,
                              entity_spans=False)
    reader_dir = build_tiny_reader(tmp_path / "short-rows", seed=1, settings=settings)
    question = "Which engineer " + "and which architect " * 20 + "designed the tower?"
    (tmp_path / "q.jsonl").write_text(json.dumps({"id": "q1", "question": question, "answers": ["x"]}) + "\n")
    Run.from_mapping({"q1": {"Eiffel_Tower#0": 2.0, "Apollo_11#0": 1.0}}).save(tmp_path / "run.json")
    out = tmp_path / "pred.jsonl"
    res = runner.invoke(app, ["read", "--run", str(tmp_path / "run.json"), "--kb", str(kb.path),
                              "--questions", str(tmp_path / "q.jsonl"), "--model", str(reader_dir),
                              "--out", str(out), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == ["q1"]
    reader = Reader.load(reader_dir)
    # 96 tokens - 3 special - stride 32 - 1 = 60 question tokens at most (the settings allow 64)
    cut = reader._cut_question(question)
    assert len(reader.tokenizer(cut, add_special_tokens=False)["input_ids"]) == 60
    assert question.startswith(cut)
    reader.settings = ReaderSettings(max_length=40, stride=36)  # the stride fills the whole row
    with pytest.raises(InputError, match="max_length 40 leave no room for a question"):
        reader.predict(question, [PassageInput("p", "A passage.", 1.0)])


def test_train_reader_selects_on_peoples_questions_over_bm25(kb, tiny, tmp_path):
    import typer

    from kvqae.read.cli import train_reader

    train_app = typer.Typer()
    train_app.command("reader")(train_reader)
    train_app.command("noop")(lambda: None)
    questions = tmp_path / "natural.jsonl"
    rows = [{"id": "n1", "question": "In which city was this physicist born?", "answers": ["Warsaw"]},
            {"id": "n2", "question": "When was the Eiffel Tower completed?", "answers": ["1889"]}]
    questions.write_text("".join(json.dumps(r) + "\n" for r in rows))
    base = ["reader", "--kb", str(kb.path), "--generate-cloze", "8", "--init", str(tiny), "--relevant", "1",
            "--irrelevant", "1", "--epochs", "1", "--max-length", "64", "--no-progress"]
    out = tmp_path / "reader"
    res = runner.invoke(train_app, [*base, "--out", str(out), "--eval-questions", str(questions),
                                    "--eval-top-k", "3"])
    assert res.exit_code == 0, res.output
    meta = json.loads((out / "training.json").read_text())
    # validated on the 2 given questions (not on held-out generated ones), each over BM25's passages
    assert meta["val_questions"] == 2 and meta["eval_run"] == "bm25"
    assert meta["eval_questions"] == str(questions) and all(h["n"] == 2 for h in meta["history"])
    res = runner.invoke(train_app, [*base, "--out", str(tmp_path / "r2"), "--eval-run", str(questions)])
    assert isinstance(res.exception, InputError) and "--eval-questions" in str(res.exception)
    assert not (tmp_path / "r2").exists()


def test_training_without_validation_says_nothing_was_measured(kb, tiny, tmp_path):
    # "best: EM 0.0 F1 0.0" read as a measured reader that learned nothing (session 17)
    res = runner.invoke(app, ["train", "reader", "--kb", str(kb.path), "--init", str(tiny),
                              "--generate-cloze", "8", "--val-fraction", "0", "--max-steps", "1",
                              "--max-length", "64", "--out", str(tmp_path / "r"), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "no validation questions, nothing measured" in res.output and "best: EM" not in res.output
    assert (tmp_path / "r" / "kvqae_reader.json").is_file()
