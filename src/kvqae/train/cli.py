"""`kvqae train clip CONFIG.yaml`, `kvqae train ablation CONFIG.yaml`, `kvqae train reader` (kvqae.read)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

train_app = typer.Typer(
    help="Train models: CLIP fine-tuning / entity-aware pretraining, ablations, the reader.",
    no_args_is_help=True,
)


OVERWRITE_HELP = "Replace an existing output folder even when it is not an earlier output of this command."


def _overrides(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _check_out(out: str | Path, kind: str, inputs: dict[str, Any], model: tuple[str, str] | None,
               overwrite: bool, flag: str = "--out") -> None:
    """Before training: the start model (flag, name) holds model files; the output overwrites no input."""
    from kvqae.safety import check_model_dir, check_out, local_path

    if model is not None:
        name = model[1].removeprefix("clip:").removeprefix("st:")
        check_model_dir(name, model[0], packaged=("minilm",))
        inputs = {**inputs, model[0]: local_path(name)}
    check_out(out, kind, inputs, overwrite=overwrite, flag=flag)


@train_app.command("clip")
def train_clip_command(
    config: Path = typer.Argument(
        ..., help="YAML file with TrainClipConfig keys (mode, model, kb, questions, ...)."
    ),
    mode: str | None = typer.Option(
        None, "--mode", help="mono | cross | joint | entity (overrides the file)."
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Output model directory (overrides output_dir)."
    ),
    model: str | None = typer.Option(None, "--model", help="Start CLIP: HF name, path or clip:<path>."),
    kb: Path | None = typer.Option(None, "--kb", help="Knowledge base directory."),
    questions: Path | None = typer.Option(None, "--questions", help="Training questions file."),
    epochs: int | None = typer.Option(None, "--epochs", help="Number of epochs."),
    lr: float | None = typer.Option(None, "--lr", help="Learning rate of the CLIP (and heads) parameters."),
    batch_size: int | None = typer.Option(None, "--batch-size", help="Contrastive batch size."),
    grad_cache_chunk: int | None = typer.Option(
        None, "--grad-cache-chunk", help="Gradient-cache chunk size."
    ),
    device: str | None = typer.Option(None, "--device", help="cpu, cuda, cuda:1, ..."),
    precision: str | None = typer.Option(
        None,
        "--precision",
        help="fp32 | bf16 (torch.autocast bf16 on CUDA; refused on other devices). Default: the file's "
        "bf16 key (true: bf16 on CUDA, fp32 elsewhere).",
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars."),
) -> None:
    """Fine-tune a CLIP (mono / cross / joint) or run entity-aware pretraining (entity); save it with
    save_pretrained so `clip:<out>` loads it."""
    from kvqae.config import load_yaml, parse_config
    from kvqae.safety import check_device
    from kvqae.train.trainer import TrainClipConfig, check_precision, train_clip

    data = load_yaml(config)
    flags = _overrides(
        mode=mode,
        output_dir=None if out is None else str(out),
        model=model,
        kb=None if kb is None else str(kb),
        questions=None if questions is None else str(questions),
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        grad_cache_chunk=grad_cache_chunk,
        device=device,
    )
    data.update(flags)
    if not progress:
        data["progress"] = False
    # a bad value given as a flag is blamed on the flag, not on the YAML file ("--epochs", not train.yaml)
    cfg = parse_config(TrainClipConfig, data, path=config,
                       names={k: "--out" if k == "output_dir" else "--" + k.replace("_", "-") for k in flags})
    check_device(cfg.device, "--device" if device is not None else f"{config}: device")
    if precision is not None:  # explicit: checked against the device before anything is loaded
        cfg = cfg.model_copy(update={"bf16": check_precision(precision, cfg.device)})
    _check_out(cfg.output_dir, "clip", {"kb": cfg.kb, "questions": cfg.questions,
                                        "validation_questions": cfg.validation_questions},
               ("model", cfg.model), overwrite, flag="--out (output_dir)")
    from kvqae.train.trainer import question_notes

    for note in question_notes(cfg):
        typer.echo(f"note: {note}", err=True)
    result = train_clip(cfg)
    best = "n/a" if result.best_val_mrr is None else f"{result.best_val_mrr:.4f}"
    typer.echo(
        f"{cfg.mode}: {result.steps} steps, selected epoch {result.best_epoch + 1} "
        f"(validation in-batch MRR {best}) -> {result.output_dir}"
    )
    if result.resumed_after_epoch is not None:
        typer.echo(f"resumed from the checkpoint after epoch {result.resumed_after_epoch + 1}")
    if result.joint_weights is not None:
        typer.echo(f"joint weights (mono, cross): {result.joint_weights}")
        if result.fusion_weights is not None:
            typer.echo(f"fusion weights file (kvqae fuse apply --weights): {result.fusion_weights}")


@train_app.command("ablation")
def train_ablation_command(
    config: Path = typer.Argument(
        ..., help="YAML file with AblationConfig keys (model, kb, questions, ...)."
    ),
    out: Path | None = typer.Option(None, "--out", "-o", help="Output directory (overrides output_dir)."),
    variants: str | None = typer.Option(
        None, "--variants", help="Comma-separated subset, e.g. mono,cross,ea."
    ),
    device: str | None = typer.Option(None, "--device", help="cpu, cuda, ..."),
    overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars."),
) -> None:
    """Train mono, cross, joint and the EA variants from one start model; print image->image, image->title and
    fused MRR@k / P@1 on the test questions (also written to OUT/ablation.md and OUT/ablation.json)."""
    from kvqae.config import load_yaml, parse_config
    from kvqae.safety import check_device
    from kvqae.train.ablation import AblationConfig, markdown_table, run_ablation

    data = load_yaml(config)
    flags = _overrides(
        output_dir=None if out is None else str(out),
        device=device,
        variants=None if variants is None else [v.strip() for v in variants.split(",")],
    )
    data.update(flags)
    if not progress:
        data["progress"] = False
    cfg = parse_config(AblationConfig, data, path=config,
                       names={k: "--out" if k == "output_dir" else "--" + k for k in flags})
    inputs = {k: getattr(cfg, k) for k in ("world", "kb", "train_questions", "validation_questions",
                                           "test_questions")}
    check_device(cfg.device, "--device" if device is not None else f"{config}: device")
    model = None if cfg.model.startswith("preset:") else ("model", cfg.model)
    _check_out(cfg.output_dir, "ablation", inputs, model, overwrite, flag="--out (output_dir)")
    rows = run_ablation(cfg, note=lambda text: typer.echo(f"note: {text}", err=True))
    typer.echo(markdown_table(rows, cfg.k))


@train_app.command("retriever")
def train_retriever_command(
    kb: Path = typer.Option(..., "--kb", help="Knowledge base to generate the training questions from."),
    out: Path = typer.Option(..., "--out", "-o", help="Output model directory (loadable as st:<dir>)."),
    init: str = typer.Option("minilm", "--init", help="Start model: sentence-transformers name or path."),
    n_questions: int = typer.Option(2000, "--questions", min=10, help="Questions to generate."),
    style: str = typer.Option("cloze", "--style",
                              help="Question generator: cloze, or natural (wh-movement rewrites)."),
    epochs: int = typer.Option(2, "--epochs", min=1),
    batch_size: int = typer.Option(32, "--batch-size", min=2),
    lr: float = typer.Option(3e-5, "--lr"),
    hard_negatives: int = typer.Option(1, "--hard-negatives", min=0,
                                      help="BM25 negatives per question (at most 10)."),
    same_entity_negatives: int = typer.Option(
        0, "--same-entity-negatives", min=0,
        help="BM25 negatives per question from the question's own entity (passages without the answer)."),
    max_minutes: float = typer.Option(None, "--max-minutes", help="Training time budget."),
    threads: int = typer.Option(0, "--threads", help="torch CPU threads (0: torch's default)."),
    seed: int = typer.Option(0, "--seed"),
    overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars."),
) -> None:
    """Fine-tune the st: text encoder for question -> passage retrieval on questions generated from a KB
    (in-batch + BM25 hard negatives); `kvqae encode ... --encoder st:<out>` uses it."""
    from kvqae.errors import InputError
    from kvqae.read.cloze import STYLES
    from kvqae.safety import check_range
    from kvqae.train.retriever import MAX_NEGATIVES, TrainRetrieverConfig, train_retriever

    check_range(lr, "--lr", low=0, low_open=True)
    check_range(hard_negatives, "--hard-negatives", low=0, high=MAX_NEGATIVES)
    check_range(same_entity_negatives, "--same-entity-negatives", low=0, high=MAX_NEGATIVES)
    check_range(max_minutes, "--max-minutes", low=0, low_open=True)
    check_range(threads, "--threads", low=0, high=256)  # 100,000 segfaulted
    check_range(seed, "--seed", low=0)
    if style not in STYLES:
        raise InputError(f"--style must be one of {', '.join(STYLES)}, got {style!r}")
    _check_out(out, "retriever", {"--kb": kb}, ("--init", init), overwrite)
    if threads:
        import torch

        torch.set_num_threads(threads)
    cfg = TrainRetrieverConfig(kb=kb, out=out, init=init, n_questions=n_questions, style=style, epochs=epochs,
                               batch_size=batch_size, lr=lr, hard_negatives=hard_negatives,
                               same_entity_negatives=same_entity_negatives,
                               max_minutes=max_minutes, seed=seed)
    summary = train_retriever(cfg, progress=progress, log=typer.echo)
    best = summary["best_val_mrr"]
    typer.echo(f"best epoch {summary['best_epoch']} (validation MRR@100 {best:.3f}) -> {out}")


def register(app: typer.Typer) -> None:
    """Add `kvqae train ...` (clip, ablation, retriever, reader)."""
    from kvqae.read.cli import train_reader

    train_app.command("reader")(train_reader)
    app.add_typer(train_app, name="train")
