"""The answer rules' track record: how often each rule's answers are right on questions written blind.

Asks every question of the `--questions` files (the TSV `question<TAB>answer|answer` of
`bench_everyday.py`, or kvqae questions JSONL) through the `kvqae ask` path of a bundle, and counts, per
answer rule (`kvqae.read.settings.RULE_SAYS`), the questions it answered and those it answered right (SQuAD
exact match). Prints a table per file and per rule, then how far the evidence ranking's confidence of the
other (span) answers can be trusted: per confidence bucket, the answers and how many were right, and the
expected calibration error. With `--out` it writes the record `kvqae ask`, the API
and the page show beside a rule's answer (`kvqae.read.rule_record`; the package's own is
`src/kvqae/read/rule_record.json`). Only questions nobody read while writing the rules make an honest
record: the blind sets of `data/devset/README.md`.

    python benchmarks/bench_rule_record.py wiki-output \\
        --questions data/devset/wiki_questions_blind.jsonl ... \\
        --questions data/devset/everyday_questions_blind8.tsv \\
        --questions data/devset/everyday_questions_blind10.tsv \\
        --questions data/devset/everyday_questions_blind13.tsv \\
        --questions data/devset/everyday_questions_blind14.tsv \\
        --source "670 questions written blind over the Wikipedia sample" \\
        --out src/kvqae/read/rule_record.json
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def read_questions(path: Path) -> list[tuple[str, list[str]]]:
    """(question, answers) of a TSV (`bench_everyday.load_questions`) or a kvqae questions file."""
    if path.suffix == ".tsv":
        from bench_everyday import load_questions as load_tsv

        return load_tsv(path)
    from kvqae.data.questions import load_questions

    return [(q.question, list(q.answers)) for q in load_questions(path)]


def record(answered: Counter, right: Counter, questions: int, source: str, bundle: str,
           files: list[str]) -> dict:
    """The record file's JSON (`kvqae.read.rule_record`), rules in name order."""
    from kvqae.read.rule_record import RECORD_FORMAT

    rules = {name: {"right": right[name], "answered": answered[name]} for name in sorted(answered)}
    return {"format": RECORD_FORMAT, "bundle": bundle, "questions": questions, "source": source,
            "files": files, "rules": rules}


EDGES = (0.0, 0.2, 0.4, 0.6, 0.8, 0.9, 1.0)


def calibration(spans: list[tuple[float, bool]]) -> tuple[list[tuple[str, int, float, float]], float]:
    """Rows (bucket, answers, mean confidence %, right %) over `EDGES` (the last bucket holds 1.0) and the
    expected calibration error in points (each bucket's |mean confidence - share right|, weighted by its
    share of the answers)."""
    rows, error = [], 0.0
    for i, (lo, hi) in enumerate(zip(EDGES, EDGES[1:], strict=False)):
        last = i == len(EDGES) - 2
        inside = [(c, ok) for c, ok in spans if lo <= c and (c <= hi if last else c < hi)]
        if not inside:
            continue
        mean = sum(c for c, _ in inside) / len(inside)
        right = sum(ok for _, ok in inside) / len(inside)
        rows.append((f"[{lo:.1f}, {hi:.1f}{']' if last else ')'}", len(inside), 100 * mean, 100 * right))
        error += abs(mean - right) * len(inside) / len(spans)
    return rows, 100 * error


def print_calibration(spans: list[tuple[float, bool]]) -> None:
    rows, error = calibration(spans)
    print(f"\n{len(spans)} answers no rule chose, by the evidence ranking's confidence:")
    print("| confidence | answers | mean confidence | right |\n|---|---:|---:|---:|")
    for bucket, n, mean, right in rows:
        print(f"| {bucket} | {n} | {mean:.0f}% | {right:.0f}% |")
    print(f"expected calibration error: {error:.1f} points")


def main() -> None:
    import torch

    from kvqae.ask.answer import Answerer
    from kvqae.errors import InputError
    from kvqae.evaluate.answers import exact_match
    from kvqae.io import write_json
    from kvqae.progress import track
    from kvqae.read.rule_record import parse_rule_records

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundle", type=Path, help="An answering bundle (`make wiki`'s wiki-output).")
    ap.add_argument("--questions", type=Path, action="append", required=True,
                    help="A question file (.tsv or kvqae .jsonl); repeat for several.")
    ap.add_argument("--source", help="What the questions are, as the record shows it after \"right 8 of 9 "
                    "times on\" (\"390 questions written blind ...\"); required with --out.")
    ap.add_argument("--out", type=Path, help="Write the record here (e.g. src/kvqae/read/rule_record.json).")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    if args.out is not None and not (args.source or "").strip():
        raise SystemExit("error: --out needs --source (what the questions were)")
    torch.set_num_threads(args.threads)
    try:
        files = [(path, read_questions(path)) for path in args.questions]
    except InputError as e:
        raise SystemExit(f"error: {e}") from None
    answerer = Answerer.load(args.bundle)
    spans: list[tuple[float, bool]] = []  # (confidence, right) of the answers no rule chose
    answered: Counter = Counter()
    right: Counter = Counter()
    print("| questions | asked | EM | answered by a rule | rule answers right |\n|---|---:|---:|---:|---:|")
    total = 0
    for path, questions in files:
        em = by_rule = rule_right = 0
        for question, golds in track(questions, f"asking {path.name}"):
            result = answerer.ask(question)
            ok = exact_match(result.answer or "", golds) > 0
            em += ok
            if result.answer and not result.by_rule and result.confidence is not None:
                spans.append((result.confidence, ok))
            if result.by_rule and result.rule and result.answer:
                by_rule += 1
                rule_right += ok
                answered[result.rule] += 1
                right[result.rule] += ok
        total += len(questions)
        share = 100 * em / len(questions)
        print(f"| {path.name} | {len(questions)} | {share:.1f} | {by_rule} | {rule_right} |")
    print("\n| rule | answered | right | share right |\n|---|---:|---:|---:|")
    for name in sorted(answered, key=lambda n: -answered[n]):
        print(f"| {name} | {answered[name]} | {right[name]} | {100 * right[name] / answered[name]:.0f}% |")
    print_calibration(spans)
    if args.out is not None:
        data = record(answered, right, total, args.source.strip(), str(args.bundle),
                      [str(path) for path in args.questions])
        parse_rule_records(data)  # what kvqae reads back
        write_json(args.out, data)
        print(f"\nrecord of {len(answered)} rules over {total} questions -> {args.out}")


if __name__ == "__main__":
    main()
