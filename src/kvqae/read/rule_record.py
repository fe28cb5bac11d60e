"""How often each answer rule's answers were right on questions nobody tuned the rules on.

An answer a rule chose (a date from the lead's lifespan, a relative stated about the subject; the rules of
`kvqae.read.settings.RULE_SAYS`) has no probability of its own: the evidence ranking's confidence, when the
span is among its candidates, says little about it (19% for a right "Hodgenville"). What a person can weigh
instead is the rule's track record: of the questions written blind (never read while the rules were written)
that the rule answered, how many it answered right.

The record is `rule_record.json` beside this module, measured by `benchmarks/bench_rule_record.py` through
the `kvqae ask` path of one bundle over question files:

    {"format": "kvqae-rule-record/1", "bundle": "wiki-output", "questions": 390,
     "source": "390 questions written blind over the Wikipedia sample",
     "files": ["data/devset/wiki_questions_blind.jsonl", ...],
     "rules": {"life_places": {"right": 8, "answered": 9}, ...}}

It belongs to the code and the bundle that measured it: rerun the benchmark when the rules change.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from kvqae.errors import InputError

RECORD_FORMAT = "kvqae-rule-record/1"
RECORD_PATH = Path(__file__).with_name("rule_record.json")


@dataclass(frozen=True)
class RuleRecord:
    """One rule's record: `right` of the `answered` questions it answered, out of `questions` asked."""

    right: int
    answered: int
    questions: int
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {"right": self.right, "answered": self.answered, "questions": self.questions,
                "source": self.source}

    def text(self) -> str:
        """"right 26 of 28 times on 450 questions written blind ..." (the record's own source words)."""
        return f"right {self.right} of {self.answered} times on {self.source}"


def parse_rule_records(data: Any, path: str | Path | None = None) -> dict[str, RuleRecord]:
    """Rule name -> RuleRecord of a record file's JSON; anything malformed is an InputError naming the
    field (a record that says more right than answered would print a false figure)."""
    if not isinstance(data, dict) or data.get("format") != RECORD_FORMAT:
        raise InputError(f"not a rule record (format {RECORD_FORMAT!r} expected)", path=path, field="format")
    questions, source, rules = data.get("questions"), data.get("source"), data.get("rules")
    if not isinstance(questions, int) or isinstance(questions, bool) or questions < 1:
        raise InputError("must be a whole number >= 1", path=path, field="questions")
    if not isinstance(source, str) or not source.strip():
        raise InputError("must say what the questions were", path=path, field="source")
    if not isinstance(rules, dict):
        raise InputError("must map rule names to {right, answered}", path=path, field="rules")
    out = {}
    for name, counts in rules.items():
        right = counts.get("right") if isinstance(counts, dict) else None
        answered = counts.get("answered") if isinstance(counts, dict) else None
        numbers = (right, answered)
        if not all(isinstance(n, int) and not isinstance(n, bool) for n in numbers) or not (
                0 <= right <= answered <= questions) or answered == 0:
            raise InputError(f"must be {{right, answered}} with 0 <= right <= answered (>= 1) <= {questions}",
                             path=path, field=f"rules.{name}")
        out[str(name)] = RuleRecord(right, answered, questions, source.strip())
    return out


def load_rule_records(path: str | Path | None = None) -> dict[str, RuleRecord]:
    """The records of `path` (None: the package's own, `RECORD_PATH`); {} when the file is absent (no
    record measured), an InputError when it is malformed."""
    return _load(str(RECORD_PATH if path is None else path))


@lru_cache(maxsize=8)
def _load(path: str) -> dict[str, RuleRecord]:
    from kvqae.io import is_file, read_json

    return parse_rule_records(read_json(path, "rule record"), path) if is_file(path) else {}


def rule_record(rule: str | None, path: str | Path | None = None) -> RuleRecord | None:
    """The record of `rule` (a `RULE_SAYS` name) in `path` (None: the package's own), None for no rule or a
    rule the record lacks."""
    if not rule:
        return None
    return load_rule_records(path).get(rule)
