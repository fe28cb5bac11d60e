"""Answer scorers: SQuAD v1.1 exact match and token F1, and InfoSeek accuracy.

The SQuAD functions follow the official v1.1 evaluation script's definitions:
normalisation lower-cases, strips ASCII punctuation, drops the articles a/an/the and collapses whitespace;
F1 is the harmonic mean of token precision and recall over the bag of normalised tokens; both take the
maximum over the gold answers (aliases). (SQuAD v2.0 differs only when both sides normalise to the empty
string: v2.0 gives F1 = 1 there, v1.1 and we give 0.) One departure from the script: a gold answer that
normalises to nothing ("A" for a blood group, "The" for a band, "!!!") is compared without dropping
articles and punctuation (lower case, single spaces), so that an empty prediction does not match it with EM 1
(the script's result) and the right one gets F1 1, not 0. A gold answer holding "&&" is a list
(Encyclopedic-VQA's multi_answer questions): it is matched item by item (`list_match`).

InfoSeek accuracy has two modes (`INFOSEEK_MODES`):
- `"official"` (default): equal, row by row, to the official InfoSeek evaluation script
  (`infoseek_eval.py` of github.com/edchengg/infoseek_eval); rules in `infoseek_official_accuracy`.
- `"lenient"`: an earlier, more forgiving variant kept for comparison (any number of the prediction inside the
  range, any overlap of a predicted range, years extracted from dates); rules in `infoseek_lenient_accuracy`.
  Its figures are NOT comparable with published InfoSeek results.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

from kvqae.errors import InputError

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


def _normalized_pair(prediction: str, gold: str) -> tuple[str, str]:
    """Both normalised (`normalize_answer`), or, when the gold answer normalises to nothing ("A", "The"),
    both lower-cased with single spaces and no punctuation, articles kept: there the SQuAD rules would let
    an empty prediction match."""
    normal = normalize_answer(gold)
    if normal:
        return normalize_answer(prediction), normal
    return _without_punctuation(prediction), _without_punctuation(gold)


def _without_punctuation(text: str) -> str:
    """Lower case, single spaces and no punctuation, unless that leaves nothing ("A." -> "a" like "A"; a
    gold "." stays "."): the fallback of an answer that is only an article."""
    lower = " ".join(text.lower().split())
    bare = " ".join("".join(ch for ch in lower if ch not in _PUNCT).split())
    return bare or lower


# Encyclopedic-VQA writes the answer of a multi_answer question as one gold "yellow&&white".
LIST_MARK = "&&"
_LIST_SPLIT = re.compile(r"&&|,|;|&|\band\b", re.IGNORECASE)
LIST_IOU = 0.5


def list_match(prediction: str, gold: str) -> float:
    """A list answer (`gold` "a&&b&&c", E-VQA's multi_answer): 1.0 when the set of the prediction's items
    (split at commas, semicolons, "&" and "and") and the gold's items, each normalised, overlap by
    intersection over union at least `LIST_IOU` (E-VQA's rule); "yellow and white" matches "yellow&&white",
    "yellow" alone does too (1 of 2), "yellow, red and blue" does not (1 of 4)."""
    golds = {normalize_answer(g) for g in gold.split(LIST_MARK)} - {""}
    items = {normalize_answer(x) for x in _LIST_SPLIT.split(prediction)} - {""}
    return float(bool(golds) and len(golds & items) / len(golds | items) >= LIST_IOU)


def _exact(prediction: str, gold: str) -> float:
    if LIST_MARK in gold:
        return list_match(prediction, gold)
    pred, ref = _normalized_pair(prediction, gold)
    return float(bool(ref) and pred == ref)


def _f1(prediction: str, gold: str) -> float:
    if LIST_MARK in gold:  # a list's tokens are its items' on both sides ("yellow and white": 2 tokens)
        prediction, gold = " ".join(_LIST_SPLIT.split(prediction)), gold.replace(LIST_MARK, " ")
    pred, ref = _normalized_pair(prediction, gold)
    pred_tokens, gold_tokens = pred.split(), ref.split()
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


# ------------------------------------------------------------------------------------ InfoSeek, lenient

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


def infoseek_lenient_accuracy(
    prediction: str,
    question_type: str | None,
    answer_eval: Sequence[object] | None,
    answers: Sequence[str] = (),
    *,
    rel_tol: float = 0.1,
) -> float:
    """Lenient InfoSeek accuracy (1.0 or 0.0): NOT the official rules (see `infoseek_official_accuracy`).

    - "String": alias match (SQuAD normalisation) against `answer_eval` (or `answers` when absent).
    - "Numerical": any number of the prediction (or the middle of a predicted range "a-b") within the
      `answer_eval` range, or within `rel_tol` of an accepted value.
    - "Time": one of the accepted years appears in the prediction (InfoSeek lists the answer year +- 1).
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


# ----------------------------------------------------------------------------------- InfoSeek, official

INFOSEEK_MODES = ("official", "lenient")

# A number as the official script reads it: sign, optional leading point, digits, ",ddd" thousands groups,
# optional fraction, optional exponent ("1.350e+02" is 135; "135,00" is 135 then 0).
_OFFICIAL_NUMBER = re.compile(
    r"""
    [-+]?              # sign
    \.?\d+             # digits, possibly after a leading point
    (?:,\d\d\d)*        # thousands groups
    \.?\d*             # fraction
    (?:[eE][-+]?\d+)?   # exponent
    """,
    re.VERBOSE,
)
_IOU_EPS = 1e-12


def _space_range_dashes(text: str) -> str:
    """"9-10" -> "9 - 10": a hyphen right after a digit is a range dash, not the sign of the next number."""
    return "".join(
        " - " if ch == "-" and i > 0 and text[i - 1].isdigit() else ch for i, ch in enumerate(text)
    )


def official_numbers(text: str) -> list[float]:
    """Every number of `text` read as the official InfoSeek script reads them, in order.

    Range dashes are spaced out first; in each match the commas are dropped and leading/trailing points
    stripped (so ".5" reads 5.0, as in the official script); a match left with two points keeps what is
    before the first one. A match that is then only a sign ("-.5.3" -> "-"), on which the official script
    raises, is skipped.

    >>> official_numbers("1.350e+02 m, 135,00 m, 9-10")
    [135.0, 135.0, 0.0, 9.0, 10.0]
    """
    out: list[float] = []
    for raw in _OFFICIAL_NUMBER.findall(_space_range_dashes(text)):
        token = raw.replace(",", "").strip(".")
        if token.count(".") > 1:
            token = token.split(".")[0]
        try:
            out.append(float(token))
        except ValueError:
            continue
    return out


def parse_numerical_prediction(prediction: str) -> float | tuple[float, float]:
    """The official reading of a Numerical prediction: its first two numbers `a, b` are the range (a, b)
    when a <= b, else the single number a; one number is that number; no number is the range (0, 0).

    >>> parse_numerical_prediction("between 12 and 15 cm, 3 m")
    (12.0, 15.0)
    >>> parse_numerical_prediction("15 or 12")
    15.0
    """
    nums = official_numbers(prediction)[:2]
    if len(nums) == 2:
        return (nums[0], nums[1]) if nums[0] <= nums[1] else nums[0]
    if len(nums) == 1:
        return nums[0]
    return (0.0, 0.0)


def official_numerical_range(answer_eval: object) -> tuple[float, float] | None:
    """The gold `(low, high)` of a Numerical question as the official script builds it, or None when it
    cannot (the official script raises there).

    `[{"wikidata": v, "range": [low, high]}, ...]` (training rows; the first entry counts) or
    `{"range": [low, high]}` give that range; a list of values (validation rows, e.g. `["6.5", "7.0"]`) gives
    its first two values. The order is kept as given (the official script does not sort it).
    """
    values: object = answer_eval
    if isinstance(values, dict):
        values = values.get("range")
    elif isinstance(values, (list, tuple)) and values and isinstance(values[0], dict):
        values = values[0].get("range")
    if not isinstance(values, (list, tuple)) or len(values) < 2:
        return None
    try:
        low, high = (float(str(v)) for v in values[:2])
    except ValueError:
        return None
    return low, high


def range_iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Intersection over union of two ranges as the official script computes it: each length is padded by
    1e-12, and the result is 0 when the union is 0."""
    lo_a, hi_a = min(a), max(a)
    lo_b, hi_b = min(b), max(b)
    overlap = max(0.0, min(hi_a, hi_b) - max(lo_a, lo_b))
    len_a = (hi_a - lo_a) + _IOU_EPS
    len_b = (hi_b - lo_b) + _IOU_EPS
    union = len_a + len_b - overlap
    return overlap / union if union != 0 else 0.0


def infoseek_official_numerical(prediction: str, answer_eval: object) -> bool:
    """Official Numerical rule: a single predicted number must lie in the gold range (inclusive); a predicted
    range counts when both its ends lie in the gold range, or when its IoU with the gold range is >= 0.5
    (to 1e-12). Only the first two numbers of the prediction are read (`parse_numerical_prediction`)."""
    gold = official_numerical_range(answer_eval)
    if gold is None:
        return False
    low, high = gold
    pred = parse_numerical_prediction(prediction)
    if isinstance(pred, float):
        return low <= pred <= high
    if low <= pred[0] <= high and low <= pred[1] <= high:
        return True
    return range_iou(pred, gold) >= 0.5 - _IOU_EPS


def infoseek_official_accuracy(
    prediction: str,
    question_type: str | None,
    answer_eval: object,
    answers: Sequence[str] = (),
) -> float:
    """InfoSeek accuracy of one prediction (1.0 or 0.0) by the official script's rules.

    - "Time": exact match (SQuAD normalisation) with one of the `answer_eval` strings: the accepted years
      (answer +- 1) and date spellings; a year inside a longer text does not count.
    - "Numerical": `infoseek_official_numerical` against the gold range of `answer_eval`.
    - "String" and any other type: exact match with one of the `answer_eval` aliases.
    Where the official script needs `answer_eval` and raises without it, we fall back to `answers` (String,
    Time) or score 0 (Numerical).
    """
    kind = (question_type or "").strip().lower()
    if kind == "numerical":
        return float(infoseek_official_numerical(prediction, answer_eval))
    accepted = list(answer_eval) if isinstance(answer_eval, (list, tuple)) and answer_eval else list(answers)
    # the script's own comparison, also where a gold answer normalises to nothing (`_normalized_pair`)
    pred = normalize_answer(prediction)
    return float(any(pred == normalize_answer(str(a)) for a in accepted))


def infoseek_accuracy(
    prediction: str,
    question_type: str | None,
    answer_eval: Sequence[object] | None,
    answers: Sequence[str] = (),
    *,
    mode: str = "official",
    rel_tol: float = 0.1,
) -> float:
    """InfoSeek accuracy of one prediction (1.0 or 0.0).

    `mode="official"` (default): the official script's rules (`infoseek_official_accuracy`), equal row by row.
    `mode="lenient"`: the forgiving variant (`infoseek_lenient_accuracy`, which alone uses `rel_tol`).
    """
    if mode == "official":
        return infoseek_official_accuracy(prediction, question_type, answer_eval, answers)
    if mode == "lenient":
        return infoseek_lenient_accuracy(prediction, question_type, answer_eval, answers, rel_tol=rel_tol)
    raise InputError(f"unknown InfoSeek mode {mode!r}: use one of {', '.join(INFOSEEK_MODES)}", field="mode")
