"""Question readers (kvqae, ViQuAE, InfoSeek, Encyclopedic-VQA), the writer and `kvqae questions`."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from kvqae.data.questions import Question, detect_question_format, load_questions, save_questions
from kvqae.errors import InputError


def _jsonl(path: Path, rows: list) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8"
    )
    return path


def test_kvqae_roundtrip_keeps_every_field(tmp_path: Path):
    (tmp_path / "data" / "img").mkdir(parents=True)
    (tmp_path / "data" / "img" / "q1.jpg").write_bytes(b"x")
    src = _jsonl(
        tmp_path / "data" / "q.jsonl",
        [
            {
                "id": "q1",
                "question": "Who is this?",
                "image": "img/q1.jpg",
                "answers": ["Ada", "Ada Lovelace"],
                "entity": "Ada_Lovelace",
                "question_type": "String",
                "answer_eval": ["Ada"],
                "meta": {"split": "dev"},
            },
            {"id": 7, "question": "How tall is it?", "answers": []},
        ],
    )
    qs = load_questions(src, check_images=True)
    assert qs[0] == Question(
        id="q1",
        question="Who is this?",
        image=str(tmp_path / "data" / "img" / "q1.jpg"),
        answers=["Ada", "Ada Lovelace"],
        entity="Ada_Lovelace",
        question_type="String",
        answer_eval=["Ada"],
        meta={"split": "dev"},
    )
    assert (qs[1].id, qs[1].image, qs[1].answers, qs[1].entity) == ("7", None, [], None)
    out = save_questions(tmp_path / "data" / "copy.jsonl", qs)
    first = json.loads(out.read_text().splitlines()[0])
    assert first["image"] == "img/q1.jpg"  # inside the output's folder -> written relative
    assert load_questions(out) == qs
    # Saved elsewhere, the image stays absolute and still resolves.
    other = save_questions(tmp_path / "elsewhere" / "q.jsonl", qs)
    assert json.loads(other.read_text().splitlines()[0])["image"] == str(tmp_path / "data" / "img" / "q1.jpg")
    assert load_questions(other) == qs


BAD = {
    "missing question": ({"id": "b", "answers": []}, "question", "missing field"),
    "missing answers": ({"id": "b", "question": "Q?"}, "answers", "missing field"),
    "answers wrong type": ({"id": "b", "question": "Q?", "answers": "Ada"}, "answers", "list of strings"),
    "question wrong type": ({"id": "b", "question": 3, "answers": []}, "question", "must be a string"),
    "id wrong type": ({"id": ["b"], "question": "Q?", "answers": []}, "id", "string or integer"),
    "duplicate id": ({"id": "a", "question": "Q?", "answers": []}, "id", "duplicate"),
    "answer_eval wrong type": (
        {"id": "b", "question": "Q?", "answers": [], "answer_eval": "x"},
        "answer_eval",
        "must be a list",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_kvqae_questions_name_file_line_and_field(case: str, tmp_path: Path):
    row, field, reason = BAD[case]
    path = _jsonl(tmp_path / "q.jsonl", [{"id": "a", "question": "Q?", "answers": ["x"]}, row])
    with pytest.raises(InputError) as info:
        load_questions(path, "kvqae")
    assert (info.value.path, info.value.record, info.value.field) == (str(path), 2, field)
    assert reason in str(info.value)


def test_missing_image_is_an_error_only_when_checked(tmp_path: Path):
    path = _jsonl(
        tmp_path / "q.jsonl", [{"id": "a", "question": "Q?", "answers": ["x"], "image": "nope.jpg"}]
    )
    assert load_questions(path)[0].image == str(tmp_path / "nope.jpg")
    with pytest.raises(InputError) as info:
        load_questions(path, check_images=True)
    assert (info.value.record, info.value.field) == (1, "image")


def test_viquae_rows(tmp_path: Path):
    rows = [
        {
            "id": "v1",
            "input": "What is the name of this tower?",
            "image": "512px-Eiffel.jpg",
            "output": {
                "original_answer": "Eiffel Tower",
                "answer": ["Eiffel Tower", "La tour Eiffel"],
                "normalized_aliases": ["eiffel tower", "la tour eiffel"],
            },
            "wikidata_id": "Q243",
        },
        {
            "id": "v2",
            "input": "Who?",
            "image": "b.jpg",
            "output": {"original_answer": "Ada"},
            "wikidata_id": "Q7259",
        },
    ]
    path = tmp_path / "viquae.json"
    path.write_text(json.dumps(rows))
    assert detect_question_format(path) == "viquae"
    qs = load_questions(path, images_dir=tmp_path / "images")
    assert qs[0].answers == ["Eiffel Tower", "La tour Eiffel"]
    assert qs[0].entity == "Q243" and qs[0].image == str(tmp_path / "images" / "512px-Eiffel.jpg")
    assert qs[0].meta == {
        "original_answer": "Eiffel Tower",
        "normalized_aliases": ["eiffel tower", "la tour eiffel"],
    }
    assert qs[1].answers == ["Ada"]
    # Without images_dir the names resolve against the file's folder.
    assert load_questions(path)[1].image == str(tmp_path / "b.jpg")
    bad = _jsonl(tmp_path / "bad.jsonl", [rows[0], {"id": "v3", "input": "Q?", "output": {"answer": 3}}])
    with pytest.raises(InputError) as info:
        load_questions(bad)
    assert (info.value.record, info.value.field) == (2, "output.answer")


def test_infoseek_rows_tmp(tmp_path: Path):
    rows = [
        {
            "data_id": "s1",
            "image_id": "oven_1",
            "question": "How tall?",
            "answer": ["300"],
            "answer_eval": [{"range": [290, 310]}],
            "question_type": "Numerical",
            "entity_id": "Q243",
            "entity_text": "Eiffel Tower",
            "data_split": "val",
        },
        {"data_id": "s1", "image_id": "oven_2", "question": "Q?", "answer": ["x"], "answer_eval": ["x"]},
    ]
    path = _jsonl(tmp_path / "infoseek.jsonl", rows)
    with pytest.raises(InputError) as info:
        load_questions(path)
    assert (info.value.record, info.value.field) == (2, "data_id")
    path = _jsonl(tmp_path / "infoseek.jsonl", rows[:1])
    q = load_questions(path, images_dir=tmp_path / "imgs")[0]
    assert (q.id, q.entity, q.question_type, q.image) == (
        "s1",
        "Q243",
        "Numerical",
        str(tmp_path / "imgs" / "oven_1.jpg"),
    )
    assert q.answer_eval == [{"range": [290, 310]}]
    assert q.meta == {"image_id": "oven_1", "data_split": "val", "entity_text": "Eiffel Tower"}
    assert load_questions(path)[0].image is None  # no images_dir: OVEN images are not shipped


@pytest.mark.shared
def test_real_infoseek_rows(shared_dir: Path):
    folder = shared_dir / "data" / "infoseek"
    val = load_questions(folder / "infoseek_val_first1000.jsonl")
    assert len(val) == 1000 and val[0].id == "infoseek_val_00000000"
    assert val[0].answers == ["energy transformation"]
    assert val[0].answer_eval == ["energy conversion", "energy transformation", "conversion"]
    assert val[2].question_type == "Numerical" and val[2].answer_eval == ["6.5", "7.0"]
    assert {q.question_type for q in val} == {"String", "Numerical", "Time"}
    assert all(q.entity is None for q in val)
    train = load_questions(folder / "infoseek_trainsub_withkb_1000.jsonl", "infoseek")
    assert len(train) == 1000
    assert (train[1].entity, train[1].meta["entity_text"], train[1].answers) == (
        "Q202878",
        "Mae West",
        ["Brooklyn"],
    )


def test_evqa_csv(tmp_path: Path):
    path = tmp_path / "evqa.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(
            [
                "question",
                "answer",
                "dataset_image_ids",
                "wikipedia_title",
                "wikipedia_url",
                "question_type",
                "dataset_name",
            ]
        )
        writer.writerow(
            [
                "Where is this bridge?",
                "San Francisco|SF",
                "img1|img2",
                "Golden Gate Bridge",
                "https://en.wikipedia.org/wiki/Golden_Gate_Bridge",
                "templated",
                "landmarks",
            ]
        )
        writer.writerow(["What does it eat?", "insects", "", "Aardvark", "", "automatic", "inaturalist"])
    assert detect_question_format(path) == "evqa"
    qs = load_questions(path, images_dir=tmp_path)
    assert [q.id for q in qs] == ["0", "1"]
    assert qs[0].answers == ["San Francisco", "SF"] and qs[0].entity == "Golden_Gate_Bridge"
    assert qs[0].image == str(tmp_path / "img1.jpg") and qs[1].image is None
    assert qs[0].question_type == "templated" and qs[0].meta["dataset_image_ids"] == ["img1", "img2"]
    with pytest.raises(InputError) as info:
        load_questions(path, images_dir=tmp_path, check_images=True)
    assert (info.value.record, info.value.field) == (2, "dataset_image_ids")
    bad = tmp_path / "bad.csv"
    bad.write_text("question,answer\nQ1?,a\n,b\n")
    with pytest.raises(InputError) as info:
        load_questions(bad)
    assert (info.value.record, info.value.field) == (3, "question")
    no_answer = tmp_path / "noans.csv"
    no_answer.write_text("question,wikipedia_title\nQ?,X\n")
    with pytest.raises(InputError, match='field "answer": missing column'):
        load_questions(no_answer)


def test_cli_questions_convert(tmp_path: Path):
    from typer.testing import CliRunner

    from kvqae.cli import app

    src = _jsonl(
        tmp_path / "infoseek.jsonl",
        [
            {
                "data_id": "s1",
                "image_id": "oven_1",
                "question": "How tall?",
                "answer": ["300"],
                "answer_eval": ["300"],
                "question_type": "Numerical",
            },
            {
                "data_id": "s2",
                "image_id": "oven_2",
                "question": "Where?",
                "answer": ["Paris"],
                "answer_eval": ["Paris"],
                "question_type": "String",
                "entity_id": "Q243",
            },
        ],
    )
    out = tmp_path / "out" / "q.jsonl"
    result = CliRunner().invoke(
        app,
        ["questions", "convert", str(src), "--out", str(out), "--images-dir", str(tmp_path / "out" / "imgs")],
    )
    assert result.exit_code == 0, result.output
    assert "2 questions (2 with an image, 1 with an entity)" in result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows[0]["image"] == "imgs/oven_1.jpg" and rows[1]["entity"] == "Q243"
    assert [q.id for q in load_questions(out, "kvqae")] == ["s1", "s2"]
    result = CliRunner().invoke(app, ["questions", "info", str(out)])
    assert "2 questions; types: Numerical 1, String 1" in result.output
