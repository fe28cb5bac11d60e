"""Text retrieval (and reading) on the hand-written natural-question dev set over the real Wikipedia sample.

Systems: dense (packaged MiniLM, the baseline), BM25, hybrid (dense + BM25), the trained retriever, and
trained + BM25. One `kvqae run` pipeline produces every single-system run for validation and test; each
hybrid's weights are fitted on validation (`grid_search`, MRR@100, z-score wsum: the seeds' fusion) and
applied to test once. Relevance: a passage of the gold entity containing an answer. Prints MRR@100 and P@1
per system with the ratio to the dense baseline and, with `--reader`, EM/F1 of the reader on each system's top
passages.

    python benchmarks/bench_wiki_devset.py [--split test] [--retriever artifacts/retriever-minilm]
        [--reader artifacts/reader-minilm] [--top-k 8]
Needs ../shared/ (the Wikipedia sample) unless --kb points at a built KB.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEVSET = ROOT / "data" / "devset"
WIKI_XML = ROOT.parent / "shared" / "data" / "wikipedia" / "enwiki-2016-sample.xml.bz2"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kb", type=Path, default=ROOT / "artifacts" / "wiki-kb")
    ap.add_argument("--split", default="test", choices=["test", "validation"])
    ap.add_argument("--retriever", type=Path, default=ROOT / "artifacts" / "retriever-minilm")
    ap.add_argument("--reader", type=Path, default=None)
    ap.add_argument("--top-k", type=int, default=8, help="passages read per question")
    ap.add_argument("--out", type=Path, default=ROOT / "bench-output" / "wiki-devset")
    args = ap.parse_args()

    from kvqae.data.kb import KnowledgeBase, build_kb
    from kvqae.data.questions import load_questions
    from kvqae.evaluate.metrics import evaluate_run
    from kvqae.evaluate.relevance import qrels_for_kb
    from kvqae.fusion.search import apply_weights, grid_search
    from kvqae.pipeline import KBSection, PipelineConfig, RetrievalSection, run_pipeline

    if not (args.kb / "meta.json").exists():
        if not WIKI_XML.exists():
            raise SystemExit(f"no KB at {args.kb} and no Wikipedia sample at {WIKI_XML}")
        build_kb(WIKI_XML, args.kb, progress=False)
    kb = KnowledgeBase.load(args.kb)
    retrieval = [RetrievalSection(mode="text-passage", encoder="st:minilm", name="dense"),
                 RetrievalSection(mode="text-passage", encoder="bm25", name="bm25")]
    if (args.retriever / "kvqae_retriever.json").exists():
        trained = RetrievalSection(mode="text-passage", encoder=f"st:{args.retriever}", name="trained")
        retrieval.append(trained)
    splits = {"validation": DEVSET / "wiki_questions_validation.jsonl",
              "test": DEVSET / "wiki_questions_test.jsonl"}
    cfg = PipelineConfig(output=args.out, kb=KBSection(source=args.kb), questions=splits, retrieval=retrieval,
                         eval_split=args.split, fit_split="validation", passage_requires_entity=True,
                         dataset="wiki-dev", metrics=["mrr@100", "p@1"])
    t0 = time.perf_counter()
    result = run_pipeline(cfg, progress=False, log=lambda _: None)
    runs = result["runs"]
    questions = {s: load_questions(p) for s, p in splits.items()}

    def fitted(names: list[str]):
        val = [runs["validation"][n] for n in names]
        qrels = qrels_for_kb(val, questions["validation"], kb, passage_requires_entity=True)
        grid = grid_search(val, qrels, step=0.1, query_ids=[q.id for q in questions["validation"]])
        fused = apply_weights(grid.to_dict(), [runs[args.split][n] for n in names], k=100,
                              name="+".join(names))
        return fused, dict(zip(names, grid.weights, strict=True))

    systems = {n: (runs[args.split][n], None) for n in [r.name for r in retrieval]}
    systems["dense+bm25"] = fitted(["dense", "bm25"])
    if "trained" in systems:
        systems["trained+bm25"] = fitted(["trained", "bm25"])
    eval_qs = questions[args.split]
    qrels = qrels_for_kb([r for r, _ in systems.values()], eval_qs, kb, passage_requires_entity=True)
    scores = {}
    for name, (run, _) in systems.items():
        mean, _ = evaluate_run(run, qrels, ["mrr@100", "p@1"], query_ids=[q.id for q in eval_qs])
        scores[name] = mean
    reading = {}
    if args.reader is not None:
        from kvqae.evaluate.predictions import load_predictions, score_answers
        from kvqae.read.model import Reader
        from kvqae.read.predict import read_questions

        reader = Reader.load(args.reader)
        for name, (run, _) in systems.items():
            pred = args.out / "predictions" / f"{name}.jsonl"
            read_questions(reader, kb, eval_qs, run, pred, top_k=args.top_k, progress=False)
            reading[name], _ = score_answers(load_predictions(pred), eval_qs)

    base = scores["dense"]
    print(f"\n{len(eval_qs)} {args.split} questions over {len(kb.passages)} passages "
          f"({time.perf_counter() - t0:.0f} s); relevance: a gold-entity passage containing an answer\n")
    head = "| system | MRR@100 | P@1 | MRR vs dense | fusion weights (fitted on validation) |"
    if reading:
        head += f" EM (top-{args.top_k}) | F1 |"
    print(head)
    print("|---|---:|---:|---:|---|" + ("---:|---:|" if reading else ""))
    for name, (_, weights) in systems.items():
        s = scores[name]
        w = ", ".join(f"{k} {v:g}" for k, v in weights.items()) if weights else "–"
        line = (f"| {name} | {100 * s['mrr@100']:.1f} | {100 * s['p@1']:.1f} | "
                f"{s['mrr@100'] / max(base['mrr@100'], 1e-9):.2f}x | {w} |")
        if reading:
            line += f" {100 * reading[name]['em']:.1f} | {100 * reading[name]['f1']:.1f} |"
        print(line)


if __name__ == "__main__":
    main()
