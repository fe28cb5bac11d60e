"""How far to trust the reader's confidence: answers bucketed by confidence against how often they are right.

Each reader reads each question's top `--top-k` passages of `--run` (e.g. `make wiki`'s
`wiki-output/runs/test/fusion+proximity.json` over `data/devset/wiki_questions_test.jsonl`); per reader the
table gives, for confidence buckets [0, 0.25), [0.25, 0.5), [0.5, 0.75), [0.75, 1], the answers in the
bucket, their mean confidence and their EM; then the expected calibration error (the buckets' |confidence -
EM| weighted by their share), and the AUROC of the confidence and of the span probability for telling right
answers from wrong ones (0.5: no better than chance).

    python benchmarks/bench_confidence.py --run wiki-output/runs/test/fusion+proximity.json \\
        --questions data/devset/wiki_questions_test.jsonl --reader artifacts/reader-minilm [--reader ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EDGES = (0.0, 0.25, 0.5, 0.75, 1.0)


def auroc(scores: np.ndarray, right: np.ndarray) -> float:
    """Probability that a right answer scores above a wrong one (ties count half); NaN without both."""
    pos, neg = scores[right], scores[~right]
    if not len(pos) or not len(neg):
        return float("nan")
    above = (pos[:, None] > neg[None, :]).mean()
    ties = (pos[:, None] == neg[None, :]).mean()
    return float(above + 0.5 * ties)


def buckets(confidence: np.ndarray, right: np.ndarray) -> tuple[list[tuple[str, int, float, float]], float]:
    """Rows (bucket, n, mean confidence %, EM %) and the expected calibration error in points."""
    rows, ece = [], 0.0
    for i, (lo, hi) in enumerate(zip(EDGES, EDGES[1:], strict=False)):
        last = i == len(EDGES) - 2
        inside = (confidence >= lo) & ((confidence <= hi) if last else (confidence < hi))
        if not inside.any():
            continue
        c, e = confidence[inside].mean(), right[inside].mean()
        ece += inside.mean() * abs(c - e)
        rows.append((f"[{lo:.2f}, {hi:.2f}{']' if last else ')'}", int(inside.sum()), 100 * c, 100 * e))
    return rows, 100 * ece


def main() -> None:
    import torch

    from kvqae.data.kb import KnowledgeBase
    from kvqae.data.questions import load_questions
    from kvqae.data.runs import Run
    from kvqae.evaluate.answers import exact_match
    from kvqae.progress import track
    from kvqae.read.model import Reader
    from kvqae.read.predict import ranked_passages

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kb", type=Path, default=ROOT / "artifacts" / "wiki-kb")
    ap.add_argument("--run", type=Path, required=True)
    ap.add_argument("--questions", type=Path, required=True)
    ap.add_argument("--reader", type=Path, action="append", required=True)
    ap.add_argument("--top-k", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    kb = KnowledgeBase.load(args.kb)
    questions = [q for q in load_questions(args.questions) if q.answers]
    run = Run.load(args.run)
    print(f"{len(questions)} questions, top {args.top_k} passages of {args.run}")
    for path in args.reader:
        reader = Reader.load(path)
        conf, prob, right = [], [], []
        for q in track(questions, f"reading ({path.name})"):
            passages = ranked_passages(kb, run.ranked(q.id, args.top_k), query=q.id, source=run)
            pred = reader.predict(q.question, passages)[0]
            conf.append(np.nan if pred.confidence is None else pred.confidence)
            prob.append(pred.probability)
            right.append(bool(exact_match(pred.answer, q.answers)))
        c, p, r = np.array(conf), np.array(prob), np.array(right)
        known = ~np.isnan(c)
        print(f"\n{path}: EM {100 * r.mean():.1f}; {int((~known).sum())} answers without a confidence")
        rows, ece = buckets(c[known], r[known])
        print("| confidence | answers | mean confidence | EM |\n|---|---:|---:|---:|")
        for name, n, mc, em in rows:
            print(f"| {name} | {n} | {mc:.1f} | {em:.1f} |")
        print(f"expected calibration error {ece:.1f} points; AUROC confidence "
              f"{auroc(c[known], r[known]):.3f}, span probability {auroc(p, r):.3f}")


if __name__ == "__main__":
    main()
