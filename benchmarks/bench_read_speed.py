"""Reading speed: seconds per question for the top 8 passages on this machine, before/after side by side.

Each question of the natural-question dev set (data/devset) is read over its top `--top-k` BM25 passages
from the Wikipedia-sample KB (BM25 so that no dense model shares the CPU). Every configuration reads the
same questions and passages; the table gives s/question (median of `--repeats` passes), the ratio to the
baseline (the first reader as trained: every window of every passage, 1 thread) and EM/F1 on those
passages, so that a faster setting that reads worse shows it.

Configurations, per reader: as trained without the named-entity answer choice (`entity_spans` off and no
evidence ranking, 2 threads), with the entity tiers but no evidence ranking (`evidence` None), as trained
with 1 and 2 threads; then, for a reader saved to read every window, `windows_per_passage=1` with a shorter
`max_length` (only the window of each passage sharing most question words is read), and for one saved to read
several best windows (`kvqae train reader --read-windows 2`), its best window only. spaCy's NER cache is
emptied before each pass.

    python benchmarks/bench_read_speed.py --reader artifacts/reader-minilm [--reader artifacts/reader-l4]
        [--top-k 8] [--max-length 96] [--limit 40] [--repeats 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEVSET = ROOT / "data" / "devset"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kb", type=Path, default=ROOT / "artifacts" / "wiki-kb")
    ap.add_argument("--reader", type=Path, action="append", required=True)
    ap.add_argument("--top-k", type=int, default=8)
    ap.add_argument("--max-length", type=int, default=96, help="row length with windows_per_passage=1")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0, help="first N dev-set questions (0: all 97)")
    args = ap.parse_args()

    import torch

    from kvqae.data.kb import KnowledgeBase
    from kvqae.data.questions import load_questions
    from kvqae.index.bm25_index import Bm25Index
    from kvqae.read.model import Reader

    if not (args.kb / "meta.json").exists():
        raise SystemExit(f"no KB at {args.kb}: run `make reader` (builds it from ../shared) first")
    kb = KnowledgeBase.load(args.kb)
    questions = [q for split in ("validation", "test")
                 for q in load_questions(DEVSET / f"wiki_questions_{split}.jsonl")]
    questions = questions[: args.limit or None]
    with tempfile.TemporaryDirectory() as tmp:
        bm25 = Bm25Index.build(kb, Path(tmp) / "bm25")
        ranked = bm25.search([q.question for q in questions], args.top_k)
    cases = [(q, [(pid, kb.passage_text(pid), score, kb.title_of(kb.entity_of(pid))) for pid, score in r])
             for q, r in zip(questions, ranked, strict=True)]
    print(f"{len(cases)} dev-set questions, top {args.top_k} BM25 passages each, "
          f"{torch.get_num_threads()} threads available\n")
    print("| reader | setting | threads | s/question | vs baseline | EM | F1 |")
    print("|---|---|---:|---:|---:|---:|---:|")
    baseline = None
    for path in args.reader:
        reader = Reader.load(path)
        trained = reader.settings
        window = trained.model_copy(update={"windows_per_passage": 1, "max_length": args.max_length,
                                            "stride": args.max_length // 3})
        plain = trained.model_copy(update={"entity_spans": False, "evidence": None})
        tiers = trained.model_copy(update={"evidence": None})
        reader.entities_of("Paris.")  # load spaCy's NER before timing
        configs = [("as trained, no entity choice", plain, 2), ("as trained, entity tiers only", tiers, 2),
                   ("as trained", trained, 1), ("as trained", trained, 2)]
        if trained.windows_per_passage is None:
            configs.append((f"best window, {args.max_length} tokens", window, 2))
        elif trained.windows_per_passage > 1:  # `--read-windows 2` (session 18) against one window
            one = trained.model_copy(update={"windows_per_passage": 1})
            configs.insert(2, ("as trained, best window only", one, 2))
        for label, settings, threads in configs:
            torch.set_num_threads(threads)
            reader.settings = settings
            secs, em, f1 = time_reading(reader, cases, args.repeats)
            baseline = baseline or secs
            print(f"| {path.name} | {label} | {threads} | {secs:.3f} | {baseline / secs:.2f}x | "
                  f"{em:.1f} | {f1:.1f} |")


def time_reading(reader, cases, repeats: int) -> tuple[float, float, float]:
    """Median seconds per question over `repeats` passes, and EM/F1 (%) of the answers."""
    from kvqae.evaluate.answers import exact_match, f1_score
    from kvqae.read.model import PassageInput

    passes = []
    answers = []
    for _ in range(repeats):
        if reader._entities is not None:  # every pass runs the NER again, as new questions would
            reader._entities = type(reader._entities)(reader._entities.nlp)
        answers = []
        t0 = time.perf_counter()
        for q, passages in cases:
            pred = reader.predict(q.question, [PassageInput(*p) for p in passages])[0]
            answers.append((pred.answer, q.answers))
        passes.append((time.perf_counter() - t0) / len(cases))
    em = 100 * sum(exact_match(a, gold) for a, gold in answers) / len(answers)
    f1 = 100 * sum(f1_score(a, gold) for a, gold in answers) / len(answers)
    return statistics.median(passes), em, f1


if __name__ == "__main__":
    main()
