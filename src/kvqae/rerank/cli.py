"""`kvqae rerank`: re-rank a passage run by term proximity (`kvqae.rerank.proximity`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kvqae.rerank.settings import (
    DEFAULT_AGREEMENT,
    DEFAULT_LEAD,
    DEFAULT_TOP_N,
    DEFAULT_WEIGHT,
    DEFAULT_WORDS,
)


def rerank_command(
    run: Annotated[Path, typer.Option("--run", help="Passage-level run (kvqae search / fuse).")],
    kb: Annotated[Path, typer.Option("--kb", help="Knowledge base directory (kvqae kb build).")],
    questions: Annotated[Path, typer.Option("--questions", help="The run's questions (their texts).")],
    out: Annotated[Path, typer.Option("--out", help="Output run: .json, or .trec / .txt / .run for TREC.")],
    weight: Annotated[
        float, typer.Option("--weight", help="Weight of the proximity share (0: only standardise).")
    ] = DEFAULT_WEIGHT,
    words: Annotated[int, typer.Option("--words", min=1, help="Window width in words.")] = DEFAULT_WORDS,
    top_n: Annotated[
        int, typer.Option("--top-n", min=1, help="Passages re-scored per query.")
    ] = DEFAULT_TOP_N,
    lead: Annotated[
        float, typer.Option("--lead", help="Added to an article's first passage (its lead; 0: off).")
    ] = DEFAULT_LEAD,
    agreement: Annotated[
        float, typer.Option("--agreement", help="Times the share of the top-N passages from the passage's "
                            "article (0: off).")
    ] = DEFAULT_AGREEMENT,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Write over an existing --out that is not an earlier run.")
    ] = False,
) -> None:
    """Re-rank the top passages of each query of RUN: standardised run score + WEIGHT x the largest
    IDF-weighted share of the question's words within WORDS consecutive words of the passage (+ LEAD for
    an article's first passage, + AGREEMENT x the share of the top-N passages from the passage's
    article). The weight, window and depth were fitted on the natural-question dev set's validation half."""
    from kvqae.data.kb import KnowledgeBase
    from kvqae.data.questions import load_questions
    from kvqae.data.runs import Run, unknown_passage
    from kvqae.read.cli import _check_run
    from kvqae.rerank.proximity import rerank_run
    from kvqae.rerank.settings import MAX_RERANK_WEIGHT
    from kvqae.safety import check_out, check_range

    for flag, value in (("--weight", weight), ("--lead", lead), ("--agreement", agreement)):
        # 1e308 overflowed to scores of Infinity, which no run loader takes back
        check_range(value, flag, low=0, high=MAX_RERANK_WEIGHT, finite=True)
    check_out(out, "run", {"--run": run, "--kb": kb, "--questions": questions}, overwrite=overwrite)
    kbase = KnowledgeBase.load(kb)
    qs = load_questions(questions)
    r = Run.load(run)
    _check_run(r, run, {q.id for q in qs}, user="re-ranking", kb=kbase, kb_source=kb)

    for qid, scores in r.scores.items():  # every id, not only the re-scored top: the output must be usable
        for passage_id in scores:
            try:
                kbase.position_of(passage_id)
            except KeyError:  # the error names the run file, the query and the id
                raise unknown_passage(r, qid, passage_id) from None
    reranked = rerank_run(r, {q.id: q.question for q in qs}, kbase.passage_text, weight=weight,
                          words=words, top_n=top_n, lead=lead,
                          is_lead=lambda passage_id: kbase.position_of(passage_id) == 0,
                          agreement=agreement, article_of=kbase.entity_of)
    reranked.save(out)
    typer.echo(f"{len(reranked)} queries re-ranked (top {top_n}, weight {weight:g}, {words}-word windows, "
               f"lead {lead:g}, agreement {agreement:g}) -> {out}")


def register(app: typer.Typer) -> None:
    """Add `kvqae rerank`."""
    app.command("rerank")(rerank_command)
