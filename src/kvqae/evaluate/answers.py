"""Answer scorers: SQuAD v1.1 exact match and token F1, and InfoSeek accuracy.

The SQuAD functions follow the official v1.1 evaluation script's definitions:
normalisation lower-cases, strips ASCII punctuation, drops the articles a/an/the and collapses whitespace;
F1 is the harmonic mean of token precision and recall over the bag of normalised tokens; both take the
maximum over the gold answers (aliases).
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

_PUNCT = set(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(s: str) -> str:
    """SQuAD v1.1 normalisation: lower case, no punctuation, no articles (a, an, the), single spaces.

    >>> normalize_answer("  The  Eiffel-Tower!")
    'eiffeltower'
    """
    s = s.lower()
    s = "".join(ch for ch in s if ch not in _PUNCT)
    s = _ARTICLES.sub(" ", s)
    return " ".join(s.split())


def _exact(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def _f1(prediction: str, gold: str) -> float:
    pred_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
    common = Counter(pred_tokens) & Counter(gold_tokens)
    same = sum(common.values())
    if same == 0:  # as in SQuAD v1.1, also when both are empty
        return 0.0
    precision = same / len(pred_tokens)
    recall = same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    """1.0 if the normalised prediction equals any normalised gold answer, else 0.0 (also for no golds)."""
    return max((_exact(prediction, g) for g in golds), default=0.0)


def f1_score(prediction: str, golds: Sequence[str]) -> float:
    """Best token F1 of the prediction against any gold answer (0.0 when `golds` is empty)."""
    return max((_f1(prediction, g) for g in golds), default=0.0)


# ----------------------------------------------------------------------------------------------- InfoSeek

# A leading minus only when it is not a range dash ("4.75-5.5" is 4.75 and 5.5, not 4.75 and -5.5).
_NUMBER = re.compile(r"(?<![\d.])-?\d[\d,]*(?:\.\d+)?|(?<![\d.])-?\.\d+")
_YEAR = re.compile(r"(?<!\d)(\d{3,4})(?!\d)")


def _numbers(text: str) -> list[float]:
    """All numbers written in `text` ("1,234.5" -> 1234.5)."""
    out = []
    for m in _NUMBER.findall(text):
        try:
            out.append(float(m.replace(",", "")))
        except ValueError:
            continue
    return out


def _single_number(x: object) -> float | None:
    if isinstance(x, bool):
        return None
    if isinstance(x, (int, float)):
        return float(x)
    if isinstance(x, str):
        nums = _numbers(x)
        return nums[0] if len(nums) == 1 else None
    return None


def numerical_targets(answer_eval: Sequence[object], *, rel_tol: float = 0.1) -> list[tuple[float, float]]:
    """The accepted `[low, high]` intervals of a Numerical InfoSeek question.

    InfoSeek stores either `[{"wikidata": v, "range": [low, high]}]` (training rows), or two numbers
    `[low, high]` (validation rows, e.g. `["6.5", "7.0"]` for the answer "6.5-7.0"; the range already holds
    InfoSeek's +-10%). Anything else is a list of accepted values, each widened by `rel_tol` (relative).
    """
    intervals: list[tuple[float, float]] = []
    values: list[float] = []
    for x in answer_eval:
        if isinstance(x, dict):
            rng = x.get("range")
            if isinstance(rng, (list, tuple)) and len(rng) == 2:
                lo, hi = _single_number(rng[0]), _single_number(rng[1])
                if lo is not None and hi is not None:
                    intervals.append((min(lo, hi), max(lo, hi)))
                    continue
            v = _single_number(x.get("wikidata"))
            if v is not None:
                values.append(v)
        else:
            v = _single_number(x)
            if v is not None:
                values.append(v)
    if not intervals and len(values) == 2 and values[0] <= values[1] and len(answer_eval) == 2:
        return [(values[0], values[1])]
    intervals += [(v - rel_tol * abs(v), v + rel_tol * abs(v)) for v in values]
    return intervals


def infoseek_numerical_match(prediction: str, answer_eval: Sequence[object], *, rel_tol: float = 0.1) -> bool:
    """Numerical InfoSeek answer: correct when a number written in `prediction` (or the middle of a predicted
    range "a-b") falls inside an accepted interval (see `numerical_targets`)."""
    preds = _numbers(prediction)
    if not preds:
        return False
    if len(preds) >= 2:
        preds.append((preds[0] + preds[1]) / 2)
    targets = numerical_targets(answer_eval, rel_tol=rel_tol)
    eps = 1e-9
    return any(
        lo - eps * max(1.0, abs(lo)) <= p <= hi + eps * max(1.0, abs(hi)) for p in preds for lo, hi in targets
    )


def infoseek_time_match(prediction: str, answer_eval: Sequence[object]) -> bool:
    """Time InfoSeek answer: correct when a year written in `prediction` is one of the accepted years
    (InfoSeek lists the answer's year +- 1, and full dates from which the years are taken)."""
    accepted = {int(y) for x in answer_eval for y in _YEAR.findall(str(x))}
    years = {int(y) for y in _YEAR.findall(prediction)}
    return bool(years & accepted)


def infoseek_string_match(prediction: str, answer_eval: Sequence[object]) -> bool:
    """String InfoSeek answer: correct when the normalised prediction equals a normalised accepted alias."""
    return exact_match(prediction, [str(a) for a in answer_eval]) == 1.0


def infoseek_accuracy(
    prediction: str,
    question_type: str | None,
    answer_eval: Sequence[object] | None,
    answers: Sequence[str] = (),
    *,
    rel_tol: float = 0.1,
) -> float:
    """InfoSeek accuracy of one prediction (1.0 or 0.0), by question type.

    - "String": alias match (SQuAD normalisation) against `answer_eval` (or `answers` when absent).
    - "Numerical": within the `answer_eval` range, or within `rel_tol` of an accepted value.
    - "Time": one of the accepted years (InfoSeek lists the answer year +- 1).
    Unknown or missing type: string match against `answer_eval` + `answers`.
    """
    accepted: list[object] = list(answer_eval) if answer_eval else list(answers)
    kind = (question_type or "").strip().lower()
    if kind == "numerical":
        ok = infoseek_numerical_match(prediction, accepted, rel_tol=rel_tol)
    elif kind == "time":
        ok = infoseek_time_match(prediction, accepted) or infoseek_string_match(prediction, list(answers))
    elif kind == "string":
        ok = infoseek_string_match(prediction, accepted)
    else:
        ok = infoseek_string_match(prediction, accepted + list(answers))
    return float(ok)
