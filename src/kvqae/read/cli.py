"""`kvqae read` (answer questions from retrieved passages), `kvqae reader-data` (cloze questions from a KB)
and `train_reader`, which `kvqae.train.cli` attaches as `kvqae train reader`.

Heavy imports (torch, transformers, spacy) stay inside the command functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kvqae.errors import InputError

if TYPE_CHECKING:
    from kvqae.data.runs import Run

OVERWRITE_HELP = "Replace an existing --out even when it is not an earlier output of this command."
# far above any useful weight, and low enough that weighted retrieval log-probabilities stay finite numbers
MAX_RETRIEVAL_WEIGHT = 1e6
# far past any machine's cores: 100,000 threads made the allocator fail and the process segfault
MAX_THREADS = 256
THREADS_HELP = "torch CPU threads (0: torch's default). 1 is much faster on a CPU shared with other jobs."


def _set_threads(threads: int) -> None:
    if threads > 0:
        import torch

        torch.set_num_threads(threads)


def _check_run(r: Run, path: Path, question_ids: set[str], *, user: str = "the reader", kb: Any = None,
               kb_source: Any = None) -> None:
    """What `kvqae evaluate` also requires of a run: queries, all of them questions of the file; and, for the
    reader (or `user`: the command that reads passages), passage-level ids, made over `kb` when given (a
    loaded KB or its folder; `kvqae.data.provenance`)."""
    if not r.scores:
        raise InputError("run is empty (no queries)", path=path)
    unknown = [q for q in r.scores if q not in question_ids]
    if unknown:
        more = f"; {len(unknown)} of the run's queries are not in it" if len(unknown) > 1 else ""
        raise InputError(
            f"query not in the questions file (mismatched splits?){more}",
            path=path,
            record=f"query {unknown[0]}",
        )
    if r.level != "passage":
        raise InputError(
            f"{user} needs a passage-level run, got level {r.level!r} (map its entities to their "
            "passages: search again with --kb KB --to-passages)",
            path=path,
            field="level",
        )
    if kb is not None:
        from kvqae.data.provenance import check_run_kb

        check_run_kb(r, kb, run_source=path, kb_source=kb_source)


def read_command(
    run: Annotated[Path, typer.Option("--run", help="Passage-level run (.json or .trec), e.g. a fused run.")],
    kb: Annotated[Path, typer.Option("--kb", help="Knowledge base directory (kvqae kb build).")],
    questions: Annotated[
        Path, typer.Option("--questions", help="Questions file (kvqae JSONL, ViQuAE, ...).")
    ],
    model: Annotated[str, typer.Option("--model", help="Reader directory or HF name (kvqae train reader).")],
    out: Annotated[Path, typer.Option("--out", help="Predictions JSONL to write.")],
    top_k: Annotated[int, typer.Option("--top-k", min=1, help="Passages read per question.")] = 24,
    retrieval_weight: Annotated[
        float | None,
        typer.Option(
            "--retrieval-weight",
            help="Weight of the retrieval log-probability (default: the reader's setting).",
        ),
    ] = None,
    max_answer_tokens: Annotated[
        int | None,
        typer.Option(
            "--max-answer-tokens", min=1, help="Longest answer in tokens (default: the reader's setting)."
        ),
    ] = None,
    batch_rows: Annotated[int, typer.Option("--batch-rows", min=1, help="Rows per forward pass.")] = 32,
    device: Annotated[str, typer.Option("--device", help="torch device, e.g. cpu or cuda.")] = "cpu",
    threads: Annotated[int, typer.Option("--threads", min=0, max=MAX_THREADS, help=THREADS_HELP)] = 0,
    ranked_out: Annotated[
        Path | None,
        typer.Option(
            "--ranked-out",
            help="Also write RUN with each question's read passages in the reader's order (its evidence, the "
            "reader's passage_weight; kvqae.rerank.reader).",
        ),
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help=OVERWRITE_HELP)] = False,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
) -> None:
    """Read the top-K passages of each question in RUN and write one prediction per question: {"id", "answer",
    "passage_id", "score", "start", "end", "confidence"} (start/end: char offsets in the passage text;
    confidence: the evidence ranking's probability of the answer, null without it)."""
    from kvqae.data.kb import KnowledgeBase
    from kvqae.data.questions import load_questions
    from kvqae.data.runs import Run
    from kvqae.evaluate.predictions import unranked_note
    from kvqae.read.predict import read_questions
    from kvqae.safety import check_device, check_out, check_range, check_reader_dir, local_path

    # NaN, +-inf or a weight that overflows the scores wrote null scores and confidences for every question
    check_range(retrieval_weight, "--retrieval-weight", low=0, high=MAX_RETRIEVAL_WEIGHT, finite=True)
    check_reader_dir(model, "--model")
    check_device(device)
    inputs = {"--run": run, "--kb": kb, "--questions": questions, "--model": local_path(model)}
    check_out(out, "predictions", inputs, overwrite=overwrite)
    if ranked_out is not None:
        check_out(ranked_out, "run", {**inputs, "--out": out}, overwrite=overwrite, flag="--ranked-out")
    _set_threads(threads)
    kbase = KnowledgeBase.load(kb)
    qs = load_questions(questions)
    r = Run.load(run)
    _check_run(r, run, {q.id for q in qs}, kb=kbase, kb_source=kb)
    if note := unranked_note(r, [q.id for q in qs], str(run)):  # their predictions are empty
        typer.echo(f"note: {note}", err=True)
    if ranked_out is not None:  # refused now, not after the predictions are written
        from kvqae.data.runs import check_saveable

        doc_ids = {d for docs in r.scores.values() for d in docs}
        check_saveable(ranked_out, f"{r.name}+reader", [q.id for q in qs], doc_ids)
    n = read_questions(
        model,
        kbase,
        qs,
        r,
        out,
        top_k=top_k,
        retrieval_weight=retrieval_weight,
        max_answer_tokens=max_answer_tokens,
        batch_rows=batch_rows,
        device=device,
        progress=progress,
        ranked_out=ranked_out,
    )
    also = f" and the reader's order to {ranked_out}" if ranked_out is not None else ""
    typer.echo(f"wrote {n} predictions to {out}{also}")


def reader_data_command(
    kb: Annotated[Path, typer.Option("--kb", help="Knowledge base directory.")],
    out: Annotated[Path, typer.Option("--out", help="Cloze questions JSONL to write.")],
    n: Annotated[int, typer.Option("-n", "--num-questions", min=1, help="How many questions.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed for passage order and span choice.")] = 0,
    per_passage: Annotated[int, typer.Option("--per-passage", min=1, help="Most questions per passage.")] = 2,
    style: Annotated[str, typer.Option("--style", help=STYLE_HELP)] = "natural",
    overwrite: Annotated[bool, typer.Option("--overwrite", help=OVERWRITE_HELP)] = False,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
) -> None:
    """Generate reader training questions from the KB's passages (spaCy NER span -> answer; the sentence
    turned into a question: wh-movement and entity descriptions with --style natural, the wh-word in place
    with --style cloze)."""
    from kvqae.data.kb import KnowledgeBase
    from kvqae.errors import InputError
    from kvqae.read.cloze import generate_cloze, save_cloze
    from kvqae.safety import check_out

    if out.suffix.lower() not in (".jsonl", ".json", ".txt", ""):
        # it writes JSON lines; a .csv name would later be read as CSV and fail (as `questions convert` says)
        raise InputError(f"--out {out} would hold kvqae JSONL, not {out.suffix}: name it .jsonl", field="out")
    check_out(out, "cloze", {"--kb": kb}, overwrite=overwrite)

    qs = generate_cloze(
        KnowledgeBase.load(kb), n, seed=seed, style=style, per_passage=per_passage, progress=progress
    )
    if not qs:  # an empty file would fail only later, in `train reader`
        raise InputError("no question could be generated: the KB's passages hold no named entity to ask "
                         "about (spaCy NER)", path=kb, field="kb")
    save_cloze(out, qs)
    short = (f" (of {n} asked: no more named entities to ask about, at most --per-passage {per_passage} per "
             "passage)") if len(qs) < n else ""
    typer.echo(f"wrote {len(qs)} {style} questions to {out}{short}")


STYLE_HELP = (
    "Question style: 'natural' (wh-movement, the entity named by title or description: 'Where was this "
    "physicist born?') or 'cloze' (wh-word in place: 'Einstein was born in where?')."
)


def train_reader(
    out: Annotated[Path, typer.Option("--out", help="Directory for the trained reader (best checkpoint).")],
    kb: Annotated[Path, typer.Option("--kb", help="Knowledge base directory (passages and distractors).")],
    generate_cloze: Annotated[
        int,
        typer.Option(
            "--generate-cloze", min=0, help="Generate this many questions from the KB to train on."
        ),
    ] = 0,
    style: Annotated[str | None, typer.Option("--style", help=STYLE_HELP + " With --generate-cloze.")] = None,
    hard_negatives: Annotated[
        float | None,
        typer.Option(
            "--hard-negatives",
            min=0.0,
            max=1.0,
            help="Share of irrelevant passages taken from the question's own article (without the answer; "
                 "cloze training data; default 0.5).",
        ),
    ] = None,
    cloze: Annotated[
        Path | None, typer.Option("--cloze", help="Cloze questions made before (kvqae reader-data).")
    ] = None,
    questions: Annotated[
        Path | None,
        typer.Option("--questions", help="Questions with answers (distant supervision over --run)."),
    ] = None,
    run: Annotated[Path | None, typer.Option("--run", help="Passage-level run for --questions.")] = None,
    init: Annotated[
        str,
        typer.Option(
            "--init", help="Encoder or reader to start from (HF name or path; 'minilm' = packaged MiniLM)."
        ),
    ] = "minilm",
    relevant: Annotated[
        int, typer.Option("--relevant", min=1, help="Passages with an answer per question.")
    ] = 2,
    irrelevant: Annotated[
        int, typer.Option("--irrelevant", min=0, help="Passages without per question.")
    ] = 4,
    epochs: Annotated[int, typer.Option("--epochs", min=1)] = 2,
    lr: Annotated[float, typer.Option("--lr", help="AdamW learning rate.")] = 5e-5,
    warmup: Annotated[float, typer.Option("--warmup", help="Fraction of steps of linear warm-up.")] = 0.1,
    batch_questions: Annotated[int, typer.Option("--batch-questions", min=1, help="Questions per step.")] = 4,
    max_length: Annotated[
        int, typer.Option("--max-length", min=32, help="Tokens per question+passage.")
    ] = 192,
    max_answer_tokens: Annotated[int, typer.Option("--max-answer-tokens", min=1)] = 30,
    layers: Annotated[
        int | None,
        typer.Option("--layers", min=1, help="Keep only the first N encoder layers of --init (faster)."),
    ] = None,
    windows_per_passage: Annotated[
        int | None,
        typer.Option(
            "--windows-per-passage",
            min=1,
            help="Read only the N windows of each passage sharing most question words (with a short "
            "--max-length: cheaper steps; saved with the reader and used when it reads).",
        ),
    ] = None,
    read_length: Annotated[
        int | None,
        typer.Option(
            "--read-length",
            min=32,
            help="Tokens per row when the saved reader reads (default: --max-length). With "
            "--windows-per-passage 1, a shorter row reads only the part of each passage around the "
            "question's words.",
        ),
    ] = None,
    read_windows: Annotated[
        int | None,
        typer.Option(
            "--read-windows",
            min=1,
            help="Windows of each passage the saved reader reads (default: --windows-per-passage). "
            "Training and its validation use --windows-per-passage; reading more windows finds answers "
            "outside the best one at some extra reading time.",
        ),
    ] = None,
    freeze_embeddings: Annotated[
        bool,
        typer.Option(
            "--freeze-embeddings/--train-embeddings", help="Keep word embeddings fixed (faster on CPU)."
        ),
    ] = False,
    val_fraction: Annotated[
        float,
        typer.Option(
            "--val-fraction", help="Share of articles (cloze) or questions held out for validation."
        ),
    ] = 0.1,
    eval_every: Annotated[
        int, typer.Option("--eval-every", min=0, help="Steps between validations (0: per epoch).")
    ] = 100,
    max_eval_questions: Annotated[int, typer.Option("--max-eval-questions", min=1)] = 300,
    eval_questions: Annotated[
        Path | None,
        typer.Option(
            "--eval-questions",
            help="Questions with answers (questions JSONL) to select the checkpoint on instead of the "
            "held-out training questions: each is read over its top --eval-top-k passages of --eval-run "
            "(default: BM25 over --kb), as the pipeline reads.",
        ),
    ] = None,
    eval_run: Annotated[
        Path | None,
        typer.Option("--eval-run", help="Passage-level run for --eval-questions (default: BM25 over --kb)."),
    ] = None,
    eval_top_k: Annotated[
        int | None,
        typer.Option("--eval-top-k", min=1, help="Passages read per --eval-questions question (default 8)."),
    ] = None,
    max_minutes: Annotated[
        float | None,
        typer.Option(
            "--max-minutes", help="Training time budget; stops gracefully and keeps the best checkpoint."
        ),
    ] = None,
    max_steps: Annotated[
        int | None,
        typer.Option(
            "--max-steps", min=1,
            help="Optimizer steps in all (the learning rate decays over them): the same run on any machine.",
        ),
    ] = None,
    ema: Annotated[
        float | None,
        typer.Option(
            "--ema", min=0.5, max=0.9999,
            help="Keep an exponential moving average of the weights with this decay (e.g. 0.98); validate "
            "and save the averaged weights.",
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", min=0)] = 0,
    device: Annotated[str, typer.Option("--device")] = "cpu",
    threads: Annotated[int, typer.Option("--threads", min=0, max=MAX_THREADS, help=THREADS_HELP)] = 0,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue from OUT.work/last if it exists.")
    ] = False,
    keep_work: Annotated[
        bool, typer.Option("--keep-work", help="Keep OUT.work/ (checkpoints) afterwards.")
    ] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help=OVERWRITE_HELP)] = False,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show progress bars.")] = True,
) -> None:
    """Train the multi-passage extractive reader (global softmax over all passages' tokens).

    Training data: cloze questions generated from the KB (--generate-cloze N), a cloze file (--cloze), or
    questions with answers plus a passage run (--questions + --run). Writes the best reader to OUT with
    training.json (history, EM/F1, wall time).
    """
    import time

    from kvqae.data.kb import KnowledgeBase
    from kvqae.read.train import split_examples, train_reader_model
    from kvqae.safety import check_device

    t0 = time.monotonic()
    _check_data_options(style=style, hard_negatives=hard_negatives, eval_top_k=eval_top_k,
                        generate_cloze=generate_cloze, questions=questions, eval_questions=eval_questions,
                        eval_run=eval_run)
    style = style or "natural"
    hard_negatives = 0.5 if hard_negatives is None else hard_negatives
    eval_top_k = 8 if eval_top_k is None else eval_top_k
    # the numbers first, named as typed: `--lr -1` / `--warmup nan` failed in torch after the data was made
    options = {"init_model": init, "relevant": relevant, "irrelevant": irrelevant, "epochs": epochs, "lr": lr,
               "warmup": warmup, "batch_questions": batch_questions, "eval_every": eval_every,
               "max_eval_questions": max_eval_questions, "eval_max_length": read_length,
               "max_minutes": max_minutes, "max_steps": max_steps, "ema": ema, "seed": seed, "device": device,
               "freeze_embeddings": freeze_embeddings, "layers": layers}
    cfg = _reader_train_config(options, max_length, max_answer_tokens, windows_per_passage)
    if not 0 <= val_fraction < 1:  # NaN included
        raise InputError(f"must be in [0, 1), got {val_fraction:g}", field="--val-fraction")
    check_device(device)  # before the data is made: torch failed at the first `.to(device)`
    _check_reader_out(out, {"--kb": kb, "--cloze": cloze, "--questions": questions, "--run": run,
                            "--init": init, "--eval-questions": eval_questions, "--eval-run": eval_run},
                      overwrite)
    _set_threads(threads)
    kbase = KnowledgeBase.load(kb)
    if sum([generate_cloze > 0, cloze is not None, questions is not None]) != 1:
        raise InputError(
            "give exactly one of --generate-cloze N, --cloze FILE, --questions FILE (with --run)",
            field="training data",
        )
    if note := _validates_on_training(eval_questions, {"--questions": questions, "--cloze": cloze}):
        typer.echo(f"note: {note}", err=True)
    meta: dict = {"kb": str(kb)}
    if questions is not None:
        examples, group = _question_examples(kbase, kb, questions, run, relevant, irrelevant, meta)
    else:
        examples, group = _cloze_training_examples(
            kbase, cloze, generate_cloze, style=style, hard_negatives=hard_negatives, relevant=relevant,
            irrelevant=irrelevant, seed=seed, progress=progress, meta=meta,
        )
    train_set, val_set = split_examples(examples, val_fraction, seed=seed, group_of=group)
    if eval_questions is not None:
        val_set = _eval_questions_set(kbase, eval_questions, eval_run, eval_top_k, meta)
    meta["data_seconds"] = round(time.monotonic() - t0, 1)
    typer.echo(
        f"{len(train_set)} training / {len(val_set)} validation questions "
        f"({relevant} relevant + {irrelevant} irrelevant passages each)"
    )
    result = train_reader_model(train_set, val_set, out, cfg, resume=resume, keep_work=keep_work,
                                progress=progress, extra_meta=meta, log=typer.echo)
    _save_read_options(out, read_length, max_length, read_windows, windows_per_passage)
    _report_reader_training(result, out)


def _check_data_options(*, style: str | None, hard_negatives: float | None, eval_top_k: int | None,
                        generate_cloze: int, questions: Path | None, eval_questions: Path | None,
                        eval_run: Path | None) -> None:
    """InputError for an option of another source of training data (they were ignored, silently; --style not
    even checked), or --eval-run without --eval-questions."""
    if eval_run is not None and eval_questions is None:
        raise InputError("--eval-run needs --eval-questions", field="eval_run")
    for flag, given, applies in (("--style", style is not None, generate_cloze > 0),
                                 ("--hard-negatives", hard_negatives is not None, questions is None),
                                 ("--eval-top-k", eval_top_k is not None, eval_questions is not None)):
        if given and not applies:
            needs = {"--style": "--generate-cloze N (it styles the questions generated)",
                     "--hard-negatives": "cloze questions (--generate-cloze or --cloze), not --questions",
                     "--eval-top-k": "--eval-questions"}[flag]
            raise InputError(f"{flag} applies to {needs}: drop it", field=flag)


def _reader_train_config(options: dict[str, Any], max_length: int, max_answer_tokens: int,
                         windows_per_passage: int | None) -> Any:
    """The `ReaderTrainConfig` of the command's options (`ReaderTrainConfig` field -> value), its errors
    naming the flags as typed."""
    from kvqae.config import parse_config
    from kvqae.read.settings import ReaderSettings, window_stride
    from kvqae.read.train import ReaderTrainConfig

    flags = {k: "--" + k.replace("_", "-") for k in options} | {"init_model": "--init",
                                                                 "eval_max_length": "--read-length"}
    settings = ReaderSettings(max_length=max_length, stride=window_stride(max_length),
                              max_answer_tokens=max_answer_tokens, windows_per_passage=windows_per_passage)
    return parse_config(ReaderTrainConfig, {**options, "settings": settings}, names=flags)


def _question_examples(kbase: Any, kb: Path, questions: Path, run: Path | None, relevant: int,
                       irrelevant: int, meta: dict) -> tuple[list, None]:
    """Training examples of questions with answers read over their passages in `run` (checked against the
    questions and the KB); records the questions file in `meta`. Returns (examples, no grouping)."""
    from kvqae.data.questions import load_questions
    from kvqae.data.runs import Run
    from kvqae.read.train import run_examples

    if run is None:
        raise InputError("--questions needs --run (a passage-level run)", field="run")
    train_qs, ranked = load_questions(questions), Run.load(run)
    # checked as --eval-run is: a run of another split, an entity run or one over another KB trained on
    # whatever its ids happened to match
    _check_run(ranked, run, {q.id for q in train_qs}, kb=kbase, kb_source=kb)
    examples = run_examples(kbase, train_qs, ranked, relevant=relevant, irrelevant=irrelevant)
    meta["questions"] = str(questions)
    return examples, None


def _cloze_training_examples(kbase: Any, cloze: Path | None, generate_cloze: int, *, style: str,
                             hard_negatives: float, relevant: int, irrelevant: int, seed: int, progress: bool,
                             meta: dict) -> tuple[list, Any]:
    """Training examples of cloze questions, read from `cloze` or `generate_cloze` of them made from the KB;
    records their source in `meta`. Returns (examples, the article each example is held out with)."""
    from kvqae.read.cloze import generate_cloze as make_cloze
    from kvqae.read.cloze import load_cloze
    from kvqae.read.train import cloze_examples

    if cloze is not None:
        items = load_cloze(cloze)
        meta["cloze"] = str(cloze)
    else:
        items = make_cloze(kbase, generate_cloze, seed=seed, style=style, progress=progress)
        meta["generated_cloze"] = len(items)
        meta["style"] = style
    examples = cloze_examples(
        kbase, items, relevant=relevant, irrelevant=irrelevant, seed=seed, hard_negatives=hard_negatives,
        source=cloze,
    )
    meta["hard_negatives"] = hard_negatives
    entity_of = {q.id: q.entity or q.passage_id for q in items}

    def group(e):  # hold out whole articles, so validation passages were never trained on
        return entity_of[e.qid]

    return examples, group


def _eval_questions_set(kbase: Any, eval_questions: Path, eval_run: Path | None, eval_top_k: int, meta: dict
                        ) -> list:
    """The validation examples of --eval-questions (over --eval-run, default BM25); records both in
    `meta`."""
    val_set = _eval_examples(kbase, eval_questions, eval_run, eval_top_k)
    meta["eval_questions"] = str(eval_questions)
    meta["eval_run"] = str(eval_run) if eval_run else "bm25"
    return val_set


def _save_read_options(out: Path, read_length: int | None, max_length: int, read_windows: int | None,
                       windows_per_passage: int | None) -> None:
    """Save --read-length / --read-windows with the trained reader where they differ from the training's."""
    if read_length is not None and read_length != max_length:
        set_read_length(out, read_length)
    if read_windows is not None and read_windows != windows_per_passage:
        set_read_windows(out, read_windows)


def _report_reader_training(result: Any, out: Path) -> None:
    """Say what the training reached: the best validation figures against the start's, steps and time."""
    start = result.history[0] if result.history else {}
    if not result.best.get("n"):  # --val-fraction 0: "EM 0.0" would read as measured
        typer.echo(f"no validation questions, nothing measured: the latest checkpoint is kept; "
                   f"{result.steps} steps in {result.wall_seconds / 60:.1f} min; reader written to {out}")
        return
    typer.echo(
        f"best: EM {result.best['em']:.1f} F1 {result.best['f1']:.1f} at step {result.best['step']} "
        f"(start: EM {start.get('em', 0):.1f} F1 {start.get('f1', 0):.1f}); {result.steps} steps in "
        f"{result.wall_seconds / 60:.1f} min; reader written to {out}"
    )


def _validates_on_training(eval_questions: Path | None, training: dict[str, Path | None]) -> str | None:
    """A note when --eval-questions is a training file (the same path, or another name of the same file):
    the checkpoint kept is then picked on the questions it was trained on."""
    if eval_questions is None:
        return None
    for flag, path in training.items():
        if path is not None and _same_file(eval_questions, path):
            return (f"--eval-questions {eval_questions} is the {flag} file: the validation EM/F1, which "
                    "picks the checkpoint kept, measures questions it was trained on")
    return None


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file: equal once resolved, or a hard link (or bind mount) of each other."""
    if a.resolve() == b.resolve():
        return True
    try:
        return a.samefile(b)
    except OSError:  # one of them missing: refused later, when it is read
        return False


def _eval_examples(kb, questions: Path, run: Path | None, top_k: int) -> list:
    """Validation examples from people's questions: their top `top_k` passages of `run`, or of BM25 over
    `kb` (an index built in a temporary folder) when no run is given."""
    import tempfile

    from kvqae.data.questions import load_questions
    from kvqae.data.runs import Run
    from kvqae.read.train import reading_examples

    qs = load_questions(questions)
    if run is not None:
        ranked = Run.load(run)
        _check_run(ranked, run, {q.id for q in qs}, kb=kb)
    else:
        from kvqae.index.bm25_index import Bm25Index

        with tempfile.TemporaryDirectory(prefix="kvqae-eval-bm25-") as tmp:
            index = Bm25Index.build(kb, Path(tmp) / "bm25")
            ranked = index.search_run([q.id for q in qs], [q.question for q in qs], k=top_k)
    examples = reading_examples(kb, qs, ranked, top_k=top_k)
    if not examples:
        raise InputError("no question with answers to validate on", path=questions)
    return examples


def set_read_length(reader_dir: Path, length: int) -> None:
    """Make a saved reader read rows of `length` tokens (stride a third of it), recording the length it
    was trained with."""
    from kvqae.read.settings import window_stride

    _update_saved_settings(reader_dir, "max_length", max_length=length, stride=window_stride(length))


def set_read_windows(reader_dir: Path, windows: int) -> None:
    """Make a saved reader read the `windows` best windows of each passage, recording how many it was
    trained with."""
    _update_saved_settings(reader_dir, "windows_per_passage", windows_per_passage=windows)


def _update_saved_settings(reader_dir: Path, trained_key: str, **updates: object) -> None:
    """Rewrite the settings of `kvqae_reader.json` atomically with `updates`, keeping its other keys
    (training figures) and the trained value of `trained_key` as `trained_<key>`."""
    import json

    from kvqae.io import atomic_path
    from kvqae.read.model import SETTINGS_FILE

    path = reader_dir / SETTINGS_FILE
    payload = json.loads(path.read_text(encoding="utf-8"))
    trained = f"trained_{trained_key}"
    payload[trained] = payload.get(trained, payload["settings"][trained_key])
    payload["settings"].update(updates)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


def _check_reader_out(out: Path, inputs: dict[str, Path | str | None], overwrite: bool) -> None:
    """Before training: the start model holds model files and --out (a reader folder) overwrites no input."""
    from kvqae.safety import check_model_dir, check_out, local_path

    init = str(inputs["--init"])
    check_model_dir(init, "--init", packaged=("minilm",))
    check_out(out, "reader", {**inputs, "--init": local_path(init)}, overwrite=overwrite)


def register(app: typer.Typer) -> None:
    """Add `kvqae read`, `kvqae read-fit` and `kvqae reader-data` (`kvqae train reader` is attached by
    kvqae.train.cli)."""
    from kvqae.read.fit import read_fit_command

    app.command("read")(read_command)
    app.command("read-fit")(read_fit_command)
    app.command("reader-data")(reader_data_command)
