"""Session 27: what the training commands did without a word - an ablation table over fewer test questions
than it stated, or left over from an earlier run beside newer models; a reader validated on its training
file or trained on a run of other questions; a bad validation file blamed on the training file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from cli_run import kvqae
from kvqae.errors import InputError

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _world_kb(world: Path, tmp_path: Path) -> Path:
    from kvqae.data.kb import build_kb

    if not (tmp_path / "kb").exists():
        build_kb(world / "articles.jsonl", tmp_path / "kb", progress=False)
    return tmp_path / "kb"


def _unknown_entities(world: Path, path: Path, keep: int) -> Path:
    """The world's test questions with all but the first `keep` naming an entity no KB has."""
    lines = (world / "questions_test.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    for row in rows:
        row["image"] = str(world / row["image"])  # relative to the world's folder
    for row in rows[keep:]:
        row["entity"] = "Qnowhere"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _ablation_yaml(tmp_path: Path, world: Path, clip: Path, test: Path, variants: list[str], **extra) -> Path:
    config = {"model": str(clip), "kb": str(_world_kb(world, tmp_path)), "output_dir": str(tmp_path / "abl"),
              "train_questions": str(world / "questions_validation.jsonl"), "test_questions": str(test),
              "variants": variants, "train": {"epochs": 1, "batch_size": 4}, **extra}
    path = tmp_path / "abl.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def test_ablation_notes_and_records_the_test_questions_it_scores(tiny_world_dir, tiny_clip, tmp_path,
                                                                monkeypatch, capsys):
    # test questions whose entity the KB lacks were dropped without a word: ablation.json said 24 test
    # questions for a table over 3
    test = _unknown_entities(tiny_world_dir, tmp_path / "test.jsonl", keep=3)
    total = len(test.read_text(encoding="utf-8").splitlines())
    config = _ablation_yaml(tmp_path, tiny_world_dir, tiny_clip, test, [])
    code, err = kvqae(monkeypatch, capsys, "train", "ablation", config, "--no-progress")
    assert code == 0, err
    left = total - 3
    assert (f"note: {left} of {total} test questions ({test}) are left out of the table: {left} name an "
            "entity the KB lacks (the first: 'Qnowhere'); it scores the other 3") in err
    result = json.loads((tmp_path / "abl" / "ablation.json").read_text(encoding="utf-8"))
    assert result["test_questions"] == 3 and result["test_questions_left_out"] == total - 3
    assert result["rows"][0]["questions"] == 3
    assert "over 3 test questions" in (tmp_path / "abl" / "ablation.md").read_text(encoding="utf-8")


def test_an_interrupted_ablation_rerun_leaves_no_earlier_table(tiny_world_dir, tiny_clip, tmp_path,
                                                               monkeypatch, capsys):
    # a rerun stopped while training left the earlier run's table beside the newer models, read as theirs
    import kvqae.train.trainer as trainer

    config = _ablation_yaml(tmp_path, tiny_world_dir, tiny_clip, tiny_world_dir / "questions_test.jsonl", [])
    code, err = kvqae(monkeypatch, capsys, "train", "ablation", config, "--no-progress")
    assert code == 0, err
    # and the variants' training questions get `train clip`'s notes
    _ablation_yaml(tmp_path, tiny_world_dir, tiny_clip, tiny_world_dir / "questions_test.jsonl", ["mono"],
                   validation_questions=str(tiny_world_dir / "questions_validation.jsonl"))

    def interrupted(cfg, **_):
        raise InputError("interrupted")

    monkeypatch.setattr(trainer, "train_clip", interrupted)
    code, err = kvqae(monkeypatch, capsys, "train", "ablation", config, "--no-progress")
    assert code == 2 and "error: interrupted" in err
    assert "note: removed the earlier run's table (ablation.md, ablation.json)" in err
    assert "note: the validation questions are the training questions" in err
    assert not any((tmp_path / "abl" / name).exists() for name in ("ablation.json", "ablation.md"))
    monkeypatch.undo()
    # the folder is still known as an ablation's: rerun without --overwrite
    _ablation_yaml(tmp_path, tiny_world_dir, tiny_clip, tiny_world_dir / "questions_test.jsonl", [])
    code, err = kvqae(monkeypatch, capsys, "train", "ablation", config, "--no-progress")
    assert code == 0, err
    assert (tmp_path / "abl" / "ablation.json").is_file() and "removed the earlier" not in err


def test_clip_validation_file_without_usable_questions_is_named(tiny_world_dir, tmp_path):
    # "field "questions": no usable training question": the training file was blamed for the validation file
    from kvqae.train.trainer import TrainClipConfig, load_pairs

    validation = _unknown_entities(tiny_world_dir, tmp_path / "val.jsonl", keep=0)
    cfg = TrainClipConfig(mode="cross", model="m", kb=str(_world_kb(tiny_world_dir, tmp_path)),
                          questions=str(tiny_world_dir / "questions_validation.jsonl"),
                          validation_questions=str(validation), output_dir=str(tmp_path / "out"))
    with pytest.raises(InputError) as caught:
        load_pairs(cfg)
    assert str(caught.value).startswith(f'{validation}: field "validation_questions": no usable validation '
                                        "question for mode 'cross'")


def _reader_data(kb, tmp_path: Path) -> tuple[Path, Path]:
    """Questions with answers and a passage-level run over `kb` for them."""
    from kvqae.data.runs import Run

    questions = tmp_path / "q.jsonl"
    rows = [{"id": "q1", "question": "Where was Marie Curie born?", "answers": ["Warsaw"]},
            {"id": "q2", "question": "When did Apollo 11 land?", "answers": ["1969"]}]
    questions.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    passages = list(kb.passage_ids)
    Run.from_mapping({r["id"]: {p: 1.0 / (i + 1) for i, p in enumerate(passages)} for r in rows},
                     level="passage").save(tmp_path / "run.json")
    return questions, tmp_path / "run.json"


def _no_training(monkeypatch) -> None:
    import kvqae.read.train as train

    def stop(*_, **__):
        raise InputError("stopped before training")

    monkeypatch.setattr(train, "train_reader_model", stop)


@pytest.mark.parametrize("alias", [False, True])
def test_train_reader_notes_eval_questions_that_are_the_training_file(prose_kb, tmp_path, monkeypatch, capsys,
                                                                      alias):
    questions, run = _reader_data(prose_kb, tmp_path)
    same = questions
    if alias:  # another name of the same file
        same = tmp_path / "link.jsonl"
        same.symlink_to(questions)
    _no_training(monkeypatch)
    code, err = kvqae(monkeypatch, capsys, "train", "reader", "--kb", prose_kb.path, "--out", tmp_path / "r",
                      "--questions", questions, "--run", run, "--eval-questions", same, "--no-progress")
    assert code == 2 and "stopped before training" in err
    assert (f"note: --eval-questions {same} is the --questions file: the validation EM/F1, which picks the "
            "checkpoint kept, measures questions it was trained on") in err


@pytest.mark.parametrize(("mapping", "said"), [
    ({"q1": 1, "q9": 1}, "query q9: query not in the questions file"),
    ({"q1": 1}, 'field "level": the reader needs a passage-level run'),
])
def test_train_reader_checks_its_run_against_its_questions(prose_kb, tmp_path, monkeypatch, capsys, mapping,
                                                          said):
    # --eval-run was checked, --run not: a run of other questions (or entities) trained on what matched
    from kvqae.data.runs import Run

    questions, run = _reader_data(prose_kb, tmp_path)
    level = "passage" if said.startswith("query") else "entity"
    ids = list(prose_kb.passage_ids) if level == "passage" else list(prose_kb.entity_ids)
    Run.from_mapping({q: {d: 1.0 for d in ids} for q in mapping}, level=level).save(run)
    _no_training(monkeypatch)
    code, err = kvqae(monkeypatch, capsys, "train", "reader", "--kb", prose_kb.path, "--out", tmp_path / "r",
                      "--questions", questions, "--run", run, "--no-progress")
    assert code == 2 and said in err and str(run) in err and "stopped before training" not in err
