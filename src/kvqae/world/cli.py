"""`kvqae world`: generate a synthetic entity world (articles, KB images, questions per split)."""

from __future__ import annotations

from pathlib import Path

import typer


def world(
    out: Path = typer.Option(
        ..., "--out", help="output directory (an earlier world there is replaced atomically)"
    ),
    entities: int = typer.Option(200, "--entities", help="number of entities"),
    depictions: int = typer.Option(4, "--depictions", help="question-style images per entity"),
    questions: int = typer.Option(4, "--questions", help="questions per entity (at most 6)"),
    held_out: int = typer.Option(
        1,
        "--held-out",
        help="questions each entity asks in each evaluation split it is in (seen: test and validation)",
    ),
    style_shift: float = typer.Option(
        0.5,
        "--style-shift",
        help="0..1: how far question images drift from the KB "
        "image (statue/sketch styles, rotation, crop, clutter, occlusion)",
    ),
    cue_share: float = typer.Option(
        0.7, "--cue-share", help="0..1: share of names spelling colour + pattern"
    ),
    distractor_share: float = typer.Option(
        0.3, "--distractor-share", help="0..1: share of entities that are look-alikes of another"
    ),
    distractor_similarity: float = typer.Option(
        0.5, "--distractor-similarity", help="0..1: how many attributes a look-alike shares"
    ),
    unseen_share: float = typer.Option(
        0.2, "--unseen-share", help="0..1: share of entities with no training questions"
    ),
    image_size: int = typer.Option(64, "--image-size", help="image side in pixels"),
    seed: int = typer.Option(0, "--seed", help="random seed (same seed -> identical files)"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="show a progress bar"),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="replace an existing --out that is not an earlier world"
    ),
) -> None:
    """Generate a synthetic entity world in the pipeline's formats (deterministic by seed)."""
    from kvqae.config import parse_config
    from kvqae.safety import check_out
    from kvqae.world.generate import WorldConfig, generate_world

    check_out(out, "world", {}, overwrite=overwrite)

    config = parse_config(
        WorldConfig,
        {
            "n_entities": entities,
            "depictions_per_entity": depictions,
            "questions_per_entity": questions,
            "held_out_per_entity": held_out,
            "style_shift": style_shift,
            "cue_name_share": cue_share,
            "distractor_share": distractor_share,
            "distractor_similarity": distractor_similarity,
            "unseen_share": unseen_share,
            "image_size": image_size,
            "seed": seed,
        },
        names={"n_entities": "--entities", "depictions_per_entity": "--depictions",
               "questions_per_entity": "--questions", "held_out_per_entity": "--held-out",
               "style_shift": "--style-shift", "cue_name_share": "--cue-share",
               "distractor_share": "--distractor-share", "distractor_similarity": "--distractor-similarity",
               "unseen_share": "--unseen-share", "image_size": "--image-size", "seed": "--seed"},
    )
    path = generate_world(out, config, progress=progress)
    import json

    counts = json.loads((path / "world.json").read_text(encoding="utf-8"))["counts"]
    q = counts["questions"]
    typer.echo(
        f"world written to {path}: {counts['entities']} entities, questions "
        f"train {q['train']} / validation {q['validation']} / test {q['test']}"
    )
    empty = [split for split in ("train", "validation", "test") if not q[split]]
    if empty:  # a world the pipeline cannot fit or evaluate on, written without a word
        typer.secho(f"warning: no {' / '.join(empty)} questions: with --depictions {depictions} and "
                    f"--held-out {held_out} every depiction goes to the other splits; raise --depictions",
                    err=True, fg=typer.colors.YELLOW)


def register(app: typer.Typer) -> None:
    """Add `kvqae world` to the CLI."""
    app.command("world")(world)
