"""`kvqae read-fit`: fit the reader's evidence weights (`kvqae.read.evidence`) on questions with answers.

Each question is read over its top-K passages of a run; every candidate answer (the reader's spans and the
entities of an asked-for label) gets its features and is correct when it matches a gold answer (SQuAD
exact match); `kvqae.read.evidence.fit_weights` fits a conditional logit on them. The figures printed are
in-sample (the fitted questions themselves): fit on a validation split, judge on another. `--save` writes
the weights into the reader's `kvqae_reader.json` (atomically, other keys kept); it is refused when no
question has a correct candidate, as the fit then learns nothing (all-zero weights).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer


@dataclass
class FitResult:
    """Weights before and after, and in-sample EM/F1 (%) of the best candidate under each."""

    before: dict[str, float]
    after: dict[str, float]
    em_before: float
    f1_before: float
    em_after: float
    f1_after: float
    questions: int
    with_correct_candidate: int


def candidate_tables(
    reader: Any, kb: Any, questions: list[Any], run: Any, *, top_k: int, progress: bool = True
) -> list[tuple[list[Any], list[str]]]:
    """Per question: its candidates' features (`evidence_table`) and their answer texts."""
    from kvqae.progress import track
    from kvqae.read.predict import ranked_passages

    tables = []
    for q in track(questions, "reading", enabled=progress):
        passages = ranked_passages(kb, run.ranked(q.id, top_k), query=q.id, source=run)
        rows = reader.evidence_table(q.question, passages)
        texts = [passages[r.candidate.passage].text[r.candidate.start : r.candidate.end] for r in rows]
        tables.append((rows, texts))
    return tables


def best_answers(tables: list[tuple[list[Any], list[str]]], weights: np.ndarray) -> list[str]:
    """The best-scoring candidate's text per question under `weights` (first on ties; "" when none)."""
    out = []
    for rows, texts in tables:
        if not rows:
            out.append("")
            continue
        scores = np.array([r.values for r in rows], dtype=np.float64) @ weights
        out.append(texts[int(np.argmax(scores))])
    return out


def fit_evidence(
    reader: Any, kb: Any, questions: list[Any], run: Any, *, top_k: int = 8, l2: float = 0.001,
    progress: bool = True,
) -> FitResult:
    """Fit evidence weights for `reader` on `questions` over `run` (see the module doc)."""
    from kvqae.evaluate.answers import exact_match, f1_score
    from kvqae.read.evidence import FEATURES, EvidenceSettings, fit_weights

    tables = candidate_tables(reader, kb, questions, run, top_k=top_k, progress=progress)
    groups = [
        (np.array([r.values for r in rows], dtype=np.float64).reshape(len(rows), len(FEATURES)),
         np.array([bool(exact_match(t, q.answers)) for t in texts], dtype=bool))
        for (rows, texts), q in zip(tables, questions, strict=True)
    ]
    current = reader.settings.evidence or EvidenceSettings()
    fitted = fit_weights(groups, l2=l2)

    def scores(weights: np.ndarray) -> tuple[float, float]:
        answers = best_answers(tables, weights)
        n = max(len(questions), 1)
        em = sum(exact_match(a, q.answers) for a, q in zip(answers, questions, strict=True))
        f1 = sum(f1_score(a, q.answers) for a, q in zip(answers, questions, strict=True))
        return 100 * em / n, 100 * f1 / n

    em_b, f1_b = scores(current.weights())
    em_a, f1_a = scores(fitted)
    return FitResult(
        before={n: float(v) for n, v in zip(FEATURES, current.weights(), strict=True)},
        after={n: round(float(v), 4) for n, v in zip(FEATURES, fitted, strict=True)},
        em_before=em_b, f1_before=f1_b, em_after=em_a, f1_after=f1_a, questions=len(questions),
        with_correct_candidate=sum(bool(g.any()) for _, g in groups),
    )


def save_evidence(reader_dir: Path, weights: dict[str, float]) -> None:
    """Write `weights` into the `evidence` settings of `reader_dir/kvqae_reader.json`, atomically, keeping
    its other keys (the window width stays)."""
    from kvqae.io import atomic_path
    from kvqae.read.evidence import EvidenceSettings
    from kvqae.read.model import SETTINGS_FILE

    path = reader_dir / SETTINGS_FILE
    payload = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"settings": {}}
    settings = payload.setdefault("settings", {})
    evidence = EvidenceSettings(**{**(settings.get("evidence") or {}), **weights})
    settings["evidence"] = evidence.model_dump()
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


def read_fit_command(
    model: Annotated[Path, typer.Option("--model", help="Reader directory (kvqae train reader).")],
    run: Annotated[Path, typer.Option("--run", help="Passage-level run of the questions.")],
    kb: Annotated[Path, typer.Option("--kb", help="Knowledge base directory (kvqae kb build).")],
    questions: Annotated[Path, typer.Option("--questions", help="Questions with answers (validation).")],
    top_k: Annotated[int, typer.Option("--top-k", min=1, help="Passages read per question.")] = 8,
    l2: Annotated[float, typer.Option("--l2", min=0.0, help="L2 penalty on the weights.")] = 0.001,
    save: Annotated[bool, typer.Option("--save", help="Write the fitted weights into the reader.")] = False,
    threads: Annotated[int, typer.Option("--threads", min=0, max=256,
                                         help="torch CPU threads (0: default).")] = 0,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
) -> None:
    """Fit the weights that rank the reader's candidate answers (span score, asked-for entity, echo of the
    question or title, question words nearby) on QUESTIONS read over RUN; print them with in-sample EM/F1."""
    from kvqae.data.kb import KnowledgeBase
    from kvqae.data.questions import load_questions
    from kvqae.data.runs import Run
    from kvqae.errors import InputError
    from kvqae.read.cli import _check_run, _set_threads
    from kvqae.read.model import SETTINGS_FILE, Reader
    from kvqae.safety import check_model_dir

    check_model_dir(str(model), "--model")
    if not math.isfinite(l2):
        raise InputError(f"--l2 must be a finite number >= 0, got {l2}", field="l2")
    if save and not (model / SETTINGS_FILE).exists() and not (model / "config.json").exists():
        raise InputError("--save needs a reader directory", path=model)
    _set_threads(threads)
    kbase = KnowledgeBase.load(kb)
    qs = load_questions(questions)
    unanswered = [q.id for q in qs if not q.answers]
    if unanswered:
        raise InputError("question without answers: fitting needs gold answers", path=questions,
                         record=unanswered[0], field="answers")
    r = Run.load(run)
    _check_run(r, run, {q.id for q in qs}, kb=kbase, kb_source=kb)
    qs = [q for q in qs if q.id in r.scores]
    result = fit_evidence(Reader.load(model), kbase, qs, r, top_k=top_k, l2=l2, progress=progress)
    if save and not result.with_correct_candidate:  # `fit_weights` then returns zeros: nothing was learnt
        raise InputError(f"no question has a correct candidate answer in the top {top_k} passages (0 of "
                         f"{result.questions} usable): the fit would save all-zero weights; nothing saved "
                         "(a larger --top-k or a better --run?)", path=questions)
    if not all(math.isfinite(v) for v in result.after.values()):  # never printed, never saved
        raise InputError(f"the fit gave weights that are not finite numbers (--l2 {l2:g} too large?)",
                         field="l2")
    typer.echo(f"{result.questions} questions, {result.with_correct_candidate} with a correct candidate "
               f"in the top {top_k} passages")
    typer.echo("| weights | " + " | ".join(result.after) + " | EM | F1 |")
    typer.echo("|---|" + "---:|" * (len(result.after) + 2))
    for label, w, em, f1 in (("reader's", result.before, result.em_before, result.f1_before),
                             ("fitted (in-sample)", result.after, result.em_after, result.f1_after)):
        typer.echo(f"| {label} | " + " | ".join(f"{v:.3g}" for v in w.values()) + f" | {em:.1f} | {f1:.1f} |")
    if save:
        save_evidence(model, result.after)
        typer.echo(f"saved the fitted weights into {model / SETTINGS_FILE}")
    else:
        typer.echo(json.dumps({"evidence": result.after}))
