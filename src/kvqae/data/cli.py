"""`kvqae kb build|info` and `kvqae questions convert|info`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import typer

from kvqae.config import ConfigModel
from kvqae.errors import InputError


class KBBuildConfig(ConfigModel):
    """Options of `kvqae kb build` (also usable as a pipeline YAML section)."""

    source: Path
    out: Path
    format: Literal["auto", "jsonl", "mediawiki", "viquae"] = "auto"
    words: int = 100
    sentence_aligned: bool = False
    types_from: Path | None = None
    limit: int | None = None
    images_dir: Path | None = None
    check_images: bool = True


def build_kb_from_config(cfg: KBBuildConfig, *, progress: bool = True):
    """Run `build_kb` with a `KBBuildConfig`; returns the KnowledgeBase."""
    from kvqae.data.kb import build_kb

    return build_kb(
        cfg.source,
        cfg.out,
        fmt=cfg.format,
        words=cfg.words,
        sentence_aligned=cfg.sentence_aligned,
        types_from=cfg.types_from,
        limit=cfg.limit,
        images_dir=cfg.images_dir,
        check_images=cfg.check_images,
        progress=progress,
    )


OVERWRITE_HELP = "Replace an existing --out even when it is not an earlier output of this command."

kb_app = typer.Typer(
    help="Build and inspect knowledge bases (entities + 100-word passages).", no_args_is_help=True
)
questions_app = typer.Typer(
    help="Read and convert question files (kvqae, ViQuAE, InfoSeek, Encyclopedic-VQA).", no_args_is_help=True
)


@kb_app.command("build")
def kb_build(
    source: Path = typer.Argument(
        ..., help="Articles: kvqae JSONL, MediaWiki XML (.xml/.xml.bz2) or ViQuAE KB rows."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="KB directory to write (replaced atomically)."),
    format: str = typer.Option("auto", "--format", "-f", help="auto | jsonl | mediawiki | viquae."),
    words: int = typer.Option(100, "--words", help="Words per passage."),
    sentence_aligned: bool = typer.Option(
        False, "--sentence-aligned", help="End passages at sentence boundaries."
    ),
    types_from: Path | None = typer.Option(
        None,
        "--types-from",
        help="Entity types file: viquae_entities.json, or a JSON object mapping QID or entity id to labels.",
    ),
    limit: int | None = typer.Option(None, "--limit", help="Keep only the first N articles."),
    images_dir: Path | None = typer.Option(None, "--images-dir", help="Folder of ViQuAE KB image files."),
    check_images: bool = typer.Option(
        True, "--check-images/--no-check-images", help="Open every entity image."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Build a KB directory: entities.parquet, passages.parquet, meta.json."""
    from kvqae.config import parse_config
    from kvqae.data.kb import typed_entities, untyped_note
    from kvqae.safety import check_not_file, check_out

    check_not_file(images_dir, "--images-dir")
    check_out(out, "kb", {"SOURCE": source, "--types-from": types_from}, overwrite=overwrite,
              folders={"--images-dir": images_dir})
    if images_dir is not None:  # only ViQuAE rows name images by file name; the others ignored the folder
        from kvqae.data.articles import detect_article_format

        fmt = detect_article_format(source) if format == "auto" else format
        if fmt != "viquae":
            raise InputError(f"--images-dir resolves the image names of ViQuAE KB rows; {fmt} articles give "
                             "each image as a path of their own (relative to the file): drop it",
                             field="--images-dir")

    cfg = parse_config(
        KBBuildConfig,
        {
            "source": source,
            "out": out,
            "format": format,
            "words": words,
            "sentence_aligned": sentence_aligned,
            "types_from": types_from,
            "limit": limit,
            "images_dir": images_dir,
            "check_images": check_images,
        },
    )
    kb = build_kb_from_config(cfg, progress=progress)
    with_image = int(kb.entities["image"].notna().sum())
    with_types = typed_entities(kb)
    typer.echo(
        f"wrote {kb.path}: {len(kb.entities)} entities "
        f"({with_image} with an image, {with_types} with types), "
        f"{len(kb.passages)} passages"
    )
    if types_from is not None and not with_types:  # a file keyed by QIDs over articles without any: no word
        typer.echo(untyped_note("--types-from", types_from), err=True)


@kb_app.command("info")
def kb_info(
    kb_dir: Path = typer.Argument(..., help="KB directory."),
    sample: int = typer.Option(2, "--sample", min=0, help="Number of sample passages to print."),
) -> None:
    """Print a KB's counts, meta and a few passages."""
    import json

    from kvqae.data.kb import KnowledgeBase

    kb = KnowledgeBase.load(kb_dir)
    n_pass = kb.passages["text"].str.split().map(len)
    typer.echo(f"{kb.path}")
    typer.echo(
        f"entities: {len(kb.entities)}  passages: {len(kb.passages)}  "
        f"with image: {int(kb.entities['image'].notna().sum())}"
    )
    if len(kb.passages):
        typer.echo(f"words per passage (with title): mean {n_pass.mean():.1f}, max {int(n_pass.max())}")
    typer.echo("meta: " + json.dumps(kb.meta, ensure_ascii=False))
    for pid in kb.passage_ids[: max(sample, 0)]:
        text = kb.passage_text(pid)
        typer.echo(f"- {pid}: {text[:200]}{'...' if len(text) > 200 else ''}")


@questions_app.command("convert")
def questions_convert(
    source: Path = typer.Argument(..., help="Questions file (JSONL, JSON list or CSV)."),
    out: Path = typer.Option(..., "--out", "-o", help="kvqae JSONL file to write."),
    format: str = typer.Option("auto", "--format", "-f", help="auto | kvqae | viquae | infoseek | evqa."),
    images_dir: Path | None = typer.Option(
        None, "--images-dir", help="Folder where question image names/ids are."
    ),
    check_images: bool = typer.Option(
        False, "--check-images", help="Fail on a question image that does not exist."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
) -> None:
    """Normalise any supported question layout to kvqae JSONL."""
    from kvqae.data.questions import load_questions, save_questions
    from kvqae.safety import check_not_file, check_out

    check_not_file(images_dir, "--images-dir")
    if out.suffix.lower() not in (".jsonl", ".json", ".txt", ""):
        # it writes JSON lines; a .csv (or .tsv, .parquet) name would later be read as that format and fail
        raise InputError(f"--out {out} would hold kvqae JSONL, not {out.suffix}: name it .jsonl", field="out")
    check_out(out, "questions", {"SOURCE": source}, overwrite=overwrite, folders={"--images-dir": images_dir})
    if check_images and images_dir is None:
        from kvqae.data.questions import detect_question_format

        fmt = detect_question_format(source) if format == "auto" else format
        if fmt in ("infoseek", "evqa"):  # image ids, resolved only under --images-dir: nothing was checked
            raise InputError(f"{fmt} rows name their images by id, found under --images-dir: give it, or "
                             "drop --check-images", field="--check-images")

    questions = load_questions(source, format, images_dir=images_dir, check_images=check_images)
    save_questions(out, questions)
    with_image = sum(q.image is not None for q in questions)
    with_entity = sum(q.entity is not None for q in questions)
    typer.echo(
        f"wrote {out}: {len(questions)} questions ({with_image} with an image, {with_entity} with an entity)"
    )


@questions_app.command("info")
def questions_info(
    source: Path = typer.Argument(..., help="Questions file."),
    format: str = typer.Option("auto", "--format", "-f", help="auto | kvqae | viquae | infoseek | evqa."),
) -> None:
    """Print counts per question type and one sample question."""
    from collections import Counter

    from kvqae.data.questions import load_questions

    questions = load_questions(source, format)
    types = Counter(q.question_type or "-" for q in questions)
    typer.echo(
        f"{source}: {len(questions)} questions; types: "
        + ", ".join(f"{t} {n}" for t, n in types.most_common())
    )
    if questions:
        q = questions[0]
        typer.echo(f"- {q.id}: {q.question} -> {q.answers[:3]} (entity {q.entity})")


def register(app: typer.Typer) -> None:
    """Add `kb` and `questions` command groups to the kvqae CLI."""
    app.add_typer(kb_app, name="kb")
    app.add_typer(questions_app, name="questions")
