"""Text retrieval (and reading) on the hand-written natural-question dev set over the real Wikipedia sample.

Systems: dense (packaged MiniLM, the baseline), BM25, hybrid (dense + BM25), the trained retriever,
trained + BM25, and the best hybrid re-ranked by term proximity (`kvqae rerank`). One `kvqae run`
pipeline produces every single-system run for validation and test; each
hybrid's weights are fitted on validation (`grid_search`, MRR@100, z-score wsum: the seeds' fusion) and
applied to test once. Relevance: a passage of the gold entity containing an answer. Prints MRR@100 and P@1
per system with the ratio to the dense baseline and, with `--reader`, EM/F1 of the reader on each system's top
passages, with MRR@100 / P@1 of that system once the reader has ordered the passages it read by its evidence
(`kvqae.rerank.reader`).

    python benchmarks/bench_wiki_devset.py [--retriever artifacts/retriever-minilm]
        [--reader artifacts/reader-minilm --reader artifacts/reader-natural] [--top-k 8]
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
    ap.add_argument("--retriever", type=Path, default=ROOT / "artifacts" / "retriever-minilm")
    ap.add_argument("--reader", type=Path, action="append", default=[],
                    help="reader to score on the read systems' top passages (repeat for side by side)")
    ap.add_argument("--read-system", action="append", default=[],
                    help="systems whose top passages are read (default: dense and the best hybrid)")
    ap.add_argument("--top-k", type=int, default=8, help="passages read per question")
    ap.add_argument("--out", type=Path, default=ROOT / "bench-output" / "wiki-devset")
    args = ap.parse_args()

    from kvqae.data.kb import KnowledgeBase, build_kb
    from kvqae.data.questions import load_questions
    from kvqae.evaluate.relevance import qrels_for_kb
    from kvqae.fusion.search import apply_weights, grid_search
    from kvqae.pipeline import KBSection, PipelineConfig, RetrievalSection, run_pipeline
    from kvqae.search.passages import PassageTable, entity_context_run

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
                         eval_split="test", fit_split="validation", passage_requires_entity=True,
                         dataset="wiki-dev", metrics=["mrr@100", "p@1"])
    t0 = time.perf_counter()
    result = run_pipeline(cfg, progress=False, log=lambda _: None)
    runs = result["runs"]
    questions = {s: load_questions(p) for s, p in splits.items()}
    table = PassageTable.from_kb(kb)
    singles = [r.name for r in retrieval]
    for split in runs:  # each text run's entity context (the `entity_context: true` runs of `kvqae run`)
        for name in singles:
            derived = entity_context_run(runs[split][name], kb.entity_of, table, 100)
            runs[split][derived.name] = derived

    def fitted(names: list[str]) -> dict[str, tuple]:
        val = [runs["validation"][n] for n in names]
        qrels = qrels_for_kb(val, questions["validation"], kb, passage_requires_entity=True)
        grid = grid_search(val, qrels, step=0.1, query_ids=[q.id for q in questions["validation"]])
        weights = dict(zip(names, grid.weights, strict=True))
        return {split: (apply_weights(grid.to_dict(), [runs[split][n] for n in names], k=100,
                                      name="+".join(names)), weights) for split in ("validation", "test")}

    systems = {n: {split: (runs[split][n], None) for split in ("validation", "test")} for n in singles}
    combos = {"bm25 + entity context": ["bm25", "bm25@entity"],
              "dense + bm25": ["dense", "bm25"],
              "dense + bm25 + entity contexts": ["dense", "dense@entity", "bm25", "bm25@entity"]}
    if "trained" in singles:
        combos.update({"trained + entity context": ["trained", "trained@entity"],
                       "trained + bm25": ["trained", "bm25"],
                       "trained + bm25 + entity contexts": ["trained", "trained@entity", "bm25",
                                                            "bm25@entity"]})
    for label, names in combos.items():
        systems[label] = fitted(names)
    best = "trained + bm25 + entity contexts" if "trained" in singles else "dense + bm25 + entity contexts"
    systems[f"{best} + proximity"] = proximity_fitted(systems[best], questions, kb)
    print(f"\n{len(kb.passages)} passages; pipeline and fits {time.perf_counter() - t0:.0f} s; relevance: a "
          "gold-entity passage containing an answer; weights fitted on validation")
    for split in ("validation", "test"):  # every system's run, for reading experiments
        for name, by_split in systems.items():
            by_split[split][0].save(args.out / "systems" / split / f"{slug(name)}.json")
    from kvqae.read.model import Reader

    readers = {str(path): Reader.load(path) for path in args.reader}
    read_systems = args.read_system or ["dense", best, f"{best} + proximity"]
    for split in ("validation", "test"):
        report(split, systems, questions[split], kb, readers, read_systems, args)


def proximity_fitted(system: dict, questions: dict, kb) -> dict:
    """`system`'s runs re-ranked by term proximity (`kvqae rerank`), the weight and window width chosen on
    validation by MRR@100 over a small grid (ties: the first)."""
    from kvqae.evaluate.metrics import evaluate_run
    from kvqae.evaluate.relevance import qrels_for_kb
    from kvqae.rerank.proximity import rerank_run

    texts = {s: {q.id: q.question for q in questions[s]} for s in questions}
    val = system["validation"][0]
    qrels = qrels_for_kb([val], questions["validation"], kb, passage_requires_entity=True)
    best, best_mrr = (0.0, 30), -1.0
    for words in (20, 30, 40):
        for weight in (2.0, 4.0, 8.0, 12.0, 16.0):
            run = rerank_run(val, texts["validation"], kb.passage_text, weight=weight, words=words)
            mrr = evaluate_run(run, qrels, ["mrr@100"], query_ids=list(texts["validation"]))[0]["mrr@100"]
            if mrr > best_mrr + 1e-12:
                best, best_mrr = (weight, words), mrr
    weight, words = best
    return {split: (rerank_run(system[split][0], texts[split], kb.passage_text, weight=weight, words=words),
                    {"proximity": weight, "words": words}) for split in ("validation", "test")}


def slug(name: str) -> str:
    return name.replace(" + ", "+").replace(" ", "_")


def report(split: str, systems: dict, eval_qs: list, kb, readers: dict, read_systems: list, args) -> None:
    """Print one split's table: MRR@100, P@1 (ratio to dense), weights; then each reader's EM/F1 on the top
    passages of each read system."""
    from kvqae.evaluate.metrics import evaluate_run
    from kvqae.evaluate.relevance import qrels_for_kb

    qrels = qrels_for_kb([v[split][0] for v in systems.values()], eval_qs, kb, passage_requires_entity=True)
    rows = {}
    for name, by_split in systems.items():
        run, weights = by_split[split]
        mean, _ = evaluate_run(run, qrels, ["mrr@100", "p@1"], query_ids=[q.id for q in eval_qs])
        rows[name] = (mean, weights)
    base = rows["dense"][0]["mrr@100"]
    print(f"\n### {split}: {len(eval_qs)} questions\n")
    print("| system | MRR@100 | P@1 | MRR vs dense | weights |")
    print("|---|---:|---:|---:|---|")
    for name, (m, weights) in rows.items():
        w = ", ".join(f"{k} {v:g}" for k, v in weights.items()) if weights else "–"
        ratio = m["mrr@100"] / base
        print(f"| {name} | {100 * m['mrr@100']:.1f} | {100 * m['p@1']:.1f} | {ratio:.2f}x | {w} |")
    if not readers:
        return
    print(f"\n| reader | passages (top-{args.top_k}) | EM | F1 | s/question "
          "| MRR@100 / P@1 in the reader's order |")
    print("|---|---|---:|---:|---:|---:|")
    for path, reader in readers.items():
        for name in read_systems:
            m, ranked, secs = read_and_score(reader, kb, eval_qs, systems[name][split][0], args, split, path,
                                             name, qrels)
            print(f"| {path} | {name} | {100 * m['em']:.1f} | {100 * m['f1']:.1f} | {secs:.2f} | "
                  f"{100 * ranked['mrr@100']:.1f} / {100 * ranked['p@1']:.1f} |")


def read_and_score(reader, kb, eval_qs, run, args, split, reader_path, system, qrels
                   ) -> tuple[dict, dict, float]:
    """EM/F1 (SQuAD rules, fractions) of `reader` on `run`'s top passages, MRR@100 / P@1 of the run with
    the read passages in the reader's order (`kvqae.rerank.reader`), and seconds per question."""
    from kvqae.data.runs import Run
    from kvqae.evaluate.metrics import evaluate_run
    from kvqae.evaluate.predictions import load_predictions, score_answers
    from kvqae.read.predict import read_questions

    pred = args.out / "predictions" / split / slug(Path(reader_path).name) / f"{slug(system)}.jsonl"
    ranked_path = pred.with_suffix(".reader-ranked.json")
    t0 = time.perf_counter()
    read_questions(reader, kb, eval_qs, run, pred, top_k=args.top_k, progress=False, ranked_out=ranked_path)
    secs = (time.perf_counter() - t0) / max(len(eval_qs), 1)
    ranked, _ = evaluate_run(Run.load(ranked_path), qrels, ["mrr@100", "p@1"],
                             query_ids=[q.id for q in eval_qs])
    return score_answers(load_predictions(pred), eval_qs)[0], ranked, secs


if __name__ == "__main__":
    main()
