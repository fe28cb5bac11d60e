"""Session 28: hand-written inputs that were read wrong without a word, or crashed - TREC qrels relevance
that passed `str.isdigit`, TREC runs whose ranks and scores disagree, JSON run and qrels ids with spaces at
their ends, misspelt keys of question and article rows, question entities the KB lacks, YAML 1.1 octal and
base-60 numbers, and the everyday-questions TSV of `benchmarks/bench_everyday.py`."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from cli_run import kvqae
from kvqae.errors import InputError

ROOT = Path(__file__).resolve().parents[1]


def _write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------- TREC qrels


@pytest.mark.parametrize("relevance", ["--1", "\u00b2", "\uff11", "1.0"])
def test_trec_qrels_relevance_must_be_an_ascii_integer(tmp_path, relevance):
    # "--1" and "²" passed `lstrip("-").isdigit()`, then int() raised a ValueError traceback
    from kvqae.evaluate.relevance import load_qrels

    path = _write(tmp_path / "qrels.txt", f"q1 0 d1 1\nq1 0 d2 {relevance}\n")
    with pytest.raises(InputError, match=r"qrels.txt: line 2: expected TREC qrels lines"):
        load_qrels(path)
    assert load_qrels(_write(tmp_path / "ok.txt", "q1 0 d1 1\nq1 0 d2 -1\n")) == {"q1": {"d1": 1, "d2": -1}}


def test_trec_qrels_relevance_cli_says_error_not_traceback(tmp_path, monkeypatch, capsys):
    _write(tmp_path / "q.jsonl", '{"id": "q1", "question": "Who?", "answers": ["x"]}\n')
    _write(tmp_path / "r.json", json.dumps({"name": "r", "run": {"q1": {"d1": 1.0}}}))
    _write(tmp_path / "qrels.txt", "q1 0 d1 --1\n")
    code, err = kvqae(monkeypatch, capsys, "evaluate", "retrieval", "--run", tmp_path / "r.json",
                      "--questions", tmp_path / "q.jsonl", "--qrels", tmp_path / "qrels.txt",
                      "-o", tmp_path / "rep")
    assert code == 2 and "qrels.txt: line 1: expected TREC qrels lines" in err and "Traceback" not in err


# ---------------------------------------------------------------------------------------------- runs


def test_trec_run_whose_scores_rise_with_the_rank_is_refused(tmp_path):
    # a run of distances (lower is better) was read upside down: rank 1 became the last
    from kvqae.data.runs import Run

    path = _write(tmp_path / "dist.trec", "q1 Q0 d9 1 0.1 r\nq1 Q0 d1 2 0.2 r\nq1 Q0 d5 3 0.3 r\n")
    with pytest.raises(InputError, match=r"dist.trec: line 2: field \"score\": query 'q1': document 'd1' at "
                                         r"rank 2 scores 0.2, more than 'd9' at rank 1 \(0.1\)"):
        Run.load(path)
    # ties, repeated ranks (all 0), one query's order and a 5,000-digit rank stay valid
    ok = _write(tmp_path / "ok.trec", "q1 Q0 d9 1 1.0 r\nq1 Q0 d1 2 1.0 r\nq1 Q0 d5 2 0.7 r\n"
                "q1 Q0 d4 3 0.5 r\nq2 Q0 a 0 1 r\nq2 Q0 b 0 3 r\n"
                "q3 Q0 x " + "9" * 5000 + " 0.1 r\nq3 Q0 y 010 0.5 r\n")
    run = Run.load(ok)
    assert [d for d, _ in run.ranked("q1")] == ["d1", "d9", "d5", "d4"]
    assert run.scores["q2"] == {"a": 1, "b": 3}
    # a re-ranker that kept the first stage's ranks: some scores rise, others fall; read by score
    stale = _write(tmp_path / "stale.trec", "q1 Q0 a 1 0.2 r\nq1 Q0 b 2 0.9 r\nq1 Q0 c 3 0.1 r\n")
    assert [d for d, _ in Run.load(stale).ranked("q1")] == ["b", "a", "c"]
    # what kvqae writes reads back
    saved = Run({"q1": {"a": 0.5, "b": 0.5, "c": 2.0}}, "r").save(tmp_path / "saved.trec")
    assert Run.load(saved).scores == {"q1": {"a": 0.5, "b": 0.5, "c": 2.0}}


@pytest.mark.parametrize("run, where", [({" q1 ": {"d1": 1}}, "query"),
                                        ({"q1": {"d1\u00a0": 1}}, "document")])
def test_json_run_ids_with_spaces_at_their_ends_are_refused(tmp_path, run, where):
    # " d1" never matched the qrels' "d1": the run scored 0 with --qrels, silently
    from kvqae.data.runs import Run

    path = _write(tmp_path / "r.json", json.dumps({"name": "r", "run": run}))
    with pytest.raises(InputError, match=rf'field "{where}": id .* begins or ends with a space'):
        Run.load(path)


def test_json_qrels_ids_with_spaces_at_their_ends_are_refused(tmp_path):
    from kvqae.evaluate.relevance import load_qrels

    with pytest.raises(InputError, match=r"qrels.json: query q1: id 'd1 ' begins or ends with a space"):
        load_qrels(_write(tmp_path / "qrels.json", '{"q1": {"d1 ": 1}}'))


# ------------------------------------------------------------------------------ misspelt keys of rows


@pytest.mark.parametrize("key, meant", [("imgae", "image"), ("Image", "image"), ("entity_id", "entity"),
                                        ("question type", "question_type"), ("answer", "answers")])
def test_misspelt_question_keys_are_refused(tmp_path, key, meant):
    # {"imgae": "p.jpg"} was ignored: the question was asked without its photo
    from kvqae.data.questions import load_questions

    row = {"id": "a", "question": "Who is this?", "answers": ["x"],
           key: "p.jpg" if key != "answer" else ["x"]}
    if key == "answer":
        del row["answers"]
    path = _write(tmp_path / "q.jsonl", json.dumps(row) + "\n")
    with pytest.raises(InputError, match=rf'q.jsonl: line 1: field "{key}": not a field of kvqae questions, '
                                         rf"and '{meant}' is missing: did you mean '{meant}'"):
        load_questions(path)


def test_extra_question_keys_that_resemble_none_stay_allowed(tmp_path):
    from kvqae.data.questions import load_questions

    row = {"id": "a", "question": "Who?", "answers": ["x"], "names_entity": True, "entity": "E",
           "image_id": "i1", "passage_id": "E#0", "start": 0, "end": 1, "label": "PERSON"}
    (q,) = load_questions(_write(tmp_path / "q.jsonl", json.dumps(row) + "\n"))
    assert q.entity == "E"
    # a misspelt key beside the real one is extra data, not a typo
    row = {"id": "a", "question": "Who?", "answers": ["x"], "Image": "x", "image": "p.jpg"}
    (q,) = load_questions(_write(tmp_path / "q2.jsonl", json.dumps(row) + "\n"))
    assert q.image is not None and q.image.endswith("p.jpg")


def test_misspelt_article_keys_are_refused(tmp_path):
    # {"type": ["person"]} was ignored: the entity was built without its types
    from kvqae.data.articles import read_articles

    row = {"id": "A", "title": "A", "text": "t", "type": ["person"]}
    path = _write(tmp_path / "a.jsonl", json.dumps(row))
    with pytest.raises(InputError, match=r"a.jsonl: line 1: field \"type\": not a field of kvqae articles, "
                                         r"and 'types' is missing: did you mean 'types'"):
        list(read_articles(path, check_images=False))
    path = _write(tmp_path / "b.jsonl", json.dumps({"id": "A", "title": "A", "text": "t", "url": "u"}))
    assert [a.id for a in read_articles(path, check_images=False)] == ["A"]


# ------------------------------------------------------------------------- entities the KB lacks


@pytest.fixture
def small_kb(tmp_path, monkeypatch, capsys) -> Path:
    rows = [{"id": "Alpha", "title": "Alpha", "text": "Alpha was born in Paris. Alpha wrote books on Rome."},
            {"id": "Beta", "title": "Beta", "text": "Beta was born in Rome. Beta painted pictures of Paris."}]
    _write(tmp_path / "arts.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    code, err = kvqae(monkeypatch, capsys, "kb", "build", tmp_path / "arts.jsonl", "--out", tmp_path / "kb")
    assert code == 0, err
    return tmp_path / "kb"


def test_question_entities_the_kb_lacks_get_a_note(small_kb, tmp_path, monkeypatch, capsys):
    # "alpha" for "Alpha": the entity run was judged by the answer "Paris" (Beta's article mentions it, MRR
    # 100 for a run ranking the gold entity second) and the passage run scored 0 with
    # --passage-requires-entity, without a word
    _write(tmp_path / "q.jsonl", '{"id": "q1", "question": "Where was Alpha born?", "answers": ["Paris"], '
           '"entity": "alpha"}\n{"id": "q2", "question": "Where was Beta born?", "answers": ["Rome"], '
           '"entity": "Beta"}\n')
    _write(tmp_path / "ent.json", json.dumps({"name": "ent", "level": "entity", "run": {
        "q1": {"Beta": 2.0, "Alpha": 1.0}, "q2": {"Beta": 2.0, "Alpha": 1.0}}}))
    _write(tmp_path / "pas.json", json.dumps({"name": "pas", "level": "passage", "run": {
        "q1": {"Beta#0": 2.0, "Alpha#0": 1.0}, "q2": {"Beta#0": 2.0, "Alpha#0": 1.0}}}))
    base = ["evaluate", "retrieval", "--questions", tmp_path / "q.jsonl", "--kb", small_kb]
    code, err = kvqae(monkeypatch, capsys, *base, "--run", tmp_path / "ent.json", "-o", tmp_path / "r1")
    assert code == 0, err
    assert ("q.jsonl: 1 of 2 questions name an entity the KB lacks ('alpha' of 'q1'): an entity run judges "
            "them by their answers") in err
    code, err = kvqae(monkeypatch, capsys, *base, "--run", tmp_path / "pas.json", "-o", tmp_path / "r2",
                      "--passage-requires-entity")
    assert code == 0 and "none is relevant to them (they score 0)" in err
    # a passage run judged by the answers alone does not use the entity: no note
    code, err = kvqae(monkeypatch, capsys, *base, "--run", tmp_path / "pas.json", "-o", tmp_path / "r3")
    assert code == 0 and "entity the KB lacks" not in err
    # fuse fit judges the same way, and says so too
    _write(tmp_path / "ent2.json", json.dumps({"name": "ent2", "level": "entity", "run": {
        "q1": {"Alpha": 2.0, "Beta": 1.0}, "q2": {"Beta": 2.0, "Alpha": 1.0}}}))
    code, err = kvqae(monkeypatch, capsys, "fuse", "fit", "--run", tmp_path / "ent.json", "--run",
                      tmp_path / "ent2.json", "--questions", tmp_path / "q.jsonl", "--kb", small_kb,
                      "-o", tmp_path / "w.json")
    assert code == 0 and "1 of 2 questions name an entity the KB lacks ('alpha' of 'q1')" in err


# ------------------------------------------------------------------------------------------ YAML


@pytest.mark.parametrize("value, read", [("010", "the octal number 8"), ("0100", "the octal number 64"),
                                         ("1:30", "a base-60 number, 90")])
def test_yaml_octal_and_base60_numbers_are_refused(tmp_path, value, read):
    # `k: 010` was k = 8, `1:30` was 90, without a word (YAML 1.1)
    from kvqae.config import load_yaml

    path = _write(tmp_path / "p.yaml", f"output: out\nk: {value}\n")
    with pytest.raises(InputError, match=rf"p.yaml: line 2: '{value}' is read by YAML as {read}"):
        load_yaml(path)
    for fine, number in (("07", 7), ("'010'", "010"), ("0x0A", 10), ("1_000", 1000), ("0", 0), ("10", 10)):
        assert load_yaml(_write(tmp_path / "ok.yaml", f"k: {fine}\n"))["k"] == number


# ------------------------------------------------------------------------------ everyday questions TSV


def _bench_everyday():
    spec = importlib.util.spec_from_file_location("bench_everyday_s28", ROOT / "benchmarks/bench_everyday.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("data, message", [
    # "Paris<TAB>France" was the one answer "Paris\tFrance", which no reader's answer matches
    (b"Who?\tx\nWhere was X born?\tParis\tFrance\n", r"line 2: field \"answers\": a second tab"),
    (b"Who?   Paris\n", r"line 1: field \"answers\": no tab"),
    # the benchmark loaded the bundle, asked some questions, then stopped at these
    (b"\tParis\n", r"line 1: field \"question\": the question is empty"),
    (b"Who?\tx\n?!?\ty\n", r"line 2: field \"question\": the question holds no words"),
    (b"Who?\t\xe9t\xe9\n", r"line 1: not UTF-8 text"),  # a UnicodeDecodeError traceback
    (b"\xff\xfeW\x00\t\x00x\x00", r"line 1: not UTF-8 text: it is UTF-16"),
    (b"# only a comment\n\n", r"no questions"),
])
def test_everyday_questions_tsv(tmp_path, data, message):
    bench = _bench_everyday()
    path = _write(tmp_path / "ev.tsv", data)
    with pytest.raises(InputError, match=message):
        bench.load_questions(path)


def test_everyday_questions_tsv_reads_bom_and_crlf(tmp_path):
    bench = _bench_everyday()
    path = _write(tmp_path / "ev.tsv", b"\xef\xbb\xbfWho wrote Hamlet?\tShakespeare | W. Shakespeare\r\n\r\n")
    assert bench.load_questions(path) == [("Who wrote Hamlet?", ["Shakespeare", "W. Shakespeare"])]
    assert len(bench.load_questions(ROOT / "data/devset/everyday_questions.tsv")) == 126
