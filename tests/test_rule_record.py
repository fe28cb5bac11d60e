"""The answer rules' track record (`kvqae.read.rule_record`): the file's checks by hand, the package's own
record, and what `kvqae ask`, its JSON and the API show beside a rule's answer."""

from __future__ import annotations

import json

import pytest

from kvqae.errors import InputError
from kvqae.read import rule_record as rr
from kvqae.read.rule_record import RECORD_FORMAT, RuleRecord, load_rule_records, parse_rule_records
from kvqae.read.settings import RULE_SAYS

GOOD = {"format": RECORD_FORMAT, "bundle": "wiki-output", "questions": 450,
        "source": "450 questions written blind", "rules": {"life_places": {"right": 26, "answered": 28},
                                                            "family": {"right": 0, "answered": 3}}}


def test_a_record_reads_by_hand():
    records = parse_rule_records(GOOD)
    assert records["life_places"] == RuleRecord(26, 28, 450, "450 questions written blind")
    assert records["life_places"].text() == "right 26 of 28 times on 450 questions written blind"
    assert records["family"].to_dict() == {"right": 0, "answered": 3, "questions": 450,
                                           "source": "450 questions written blind"}


@pytest.mark.parametrize(("change", "field"), [
    ({"format": "other/1"}, "format"),
    ({"questions": 0}, "questions"),
    ({"questions": True}, "questions"),
    ({"source": "  "}, "source"),
    ({"rules": []}, "rules"),
    ({"rules": {"family": {"right": 4, "answered": 3}}}, "rules.family"),  # more right than answered
    ({"rules": {"family": {"right": 0, "answered": 0}}}, "rules.family"),  # a rule that answered nothing
    ({"rules": {"family": {"right": True, "answered": 3}}}, "rules.family"),
    ({"rules": {"family": {"right": 1, "answered": 451}}}, "rules.family"),  # more than were asked
    ({"rules": {"family": [1, 3]}}, "rules.family"),
])
def test_a_malformed_record_is_refused_naming_the_field(change, field):
    with pytest.raises(InputError, match=f'field "{field}"'):
        parse_rule_records({**GOOD, **change}, "r.json")


def test_a_missing_record_is_empty_and_a_broken_one_an_error(tmp_path):
    assert load_rule_records(tmp_path / "none.json") == {}
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    with pytest.raises(InputError, match="bad.json.*invalid JSON"):
        load_rule_records(tmp_path / "bad.json")
    assert rr.rule_record(None, tmp_path / "none.json") is None


def test_the_package_record_names_known_rules():
    records = load_rule_records()
    assert records, "src/kvqae/read/rule_record.json is missing (benchmarks/bench_rule_record.py writes it)"
    assert set(records) <= set(RULE_SAYS)
    assert all(r.questions >= 300 and "blind" in r.source for r in records.values())


def _result(rule: str | None, confidence: float | None):
    from kvqae.ask.answer import AskResult

    return AskResult("Where was he born?", "Ulm", -1.0, 0.0, "E", "Albert Einstein", "E#0",
                     "Albert Einstein. born in Ulm.", 25, 28, {}, {}, {}, [],
                     {"method": "wsum", "norm": "zscore", "weights": {"bm25": 1.0}, "note": None}, {},
                     confidence=confidence, by_rule=rule is not None, rule=rule)


def test_ask_shows_the_rules_record_beside_its_answer(tmp_path, monkeypatch):
    from kvqae.ask.cli import format_result
    from kvqae.serve.schemas import AskResponse

    path = tmp_path / "record.json"
    path.write_text(json.dumps(GOOD), encoding="utf-8")
    monkeypatch.setattr(rr, "RECORD_PATH", path)
    says = RULE_SAYS["life_places"]
    plain = _result("life_places", None)
    assert format_result(plain).splitlines()[1] == (
        f"answer:   Ulm (by an answer rule, no confidence: {says}; right 26 of 28 times on 450 questions "
        "written blind)")
    ranked = _result("life_places", 0.19)  # the evidence ranking's confidence says little about a rule
    assert format_result(ranked).splitlines()[1] == (
        f"answer:   Ulm (by an answer rule: {says}; right 26 of 28 times on 450 questions written blind; "
        "the evidence ranking's confidence 0.19)")
    said = plain.to_dict()
    assert said["rule_record"] == {"right": 26, "answered": 28, "questions": 450,
                                   "source": "450 questions written blind"}
    assert AskResponse.model_validate(said).rule_record.answered == 28  # the API's typed response
    # a rule the record lacks, and a span answer: no record
    assert _result("teachers", None).to_dict()["rule_record"] is None
    assert _result(None, 0.5).to_dict()["rule_record"] is None
    assert format_result(_result(None, 0.5)).splitlines()[1] == "answer:   Ulm (confidence 0.50)"


def _bench():
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "benchmarks"
    spec = importlib.util.spec_from_file_location("bench_rule_record_s28", root / "bench_rule_record.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_writes_a_record_kvqae_reads_and_measures_calibration_by_hand():
    from collections import Counter

    bench = _bench()
    data = bench.record(Counter({"family": 3, "agents": 2}), Counter({"family": 1, "agents": 2}), 10,
                        "10 questions written blind", "out", ["q.tsv"])
    assert list(data["rules"]) == ["agents", "family"]  # name order
    assert parse_rule_records(data)["family"] == RuleRecord(1, 3, 10, "10 questions written blind")
    # buckets [0, 0.2), [0.4, 0.6), [0.9, 1]: |12.5 - 50| x 2/5 + |50 - 0| x 1/5 + |97.5 - 100| x 2/5 = 26
    rows, error = bench.calibration([(0.1, False), (0.15, True), (0.95, True), (1.0, True), (0.5, False)])
    assert rows == [("[0.0, 0.2)", 2, 12.5, 50.0), ("[0.4, 0.6)", 1, 50.0, 0.0),
                    ("[0.9, 1.0]", 2, 97.5, 100.0)]
    assert error == pytest.approx(26.0)
