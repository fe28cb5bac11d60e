"""`kvqae encode kb|questions`: write embeddings directories. Heavy imports stay inside the commands."""

from __future__ import annotations

from pathlib import Path

import typer

encode_app = typer.Typer(
    help="Encode a knowledge base or questions into an embeddings directory "
    "(vectors.npy, ids.json, meta.json).",
    no_args_is_help=True,
)

OVERWRITE_HELP = "Replace an existing --out even when it is not an embeddings folder."
ENCODER_HELP = ("Encoder spec: clip:<name-or-path>, dpr:<question-enc>,<context-enc>, st:<name-or-path> "
                "(st:minilm = packaged all-MiniLM-L6-v2), effnet-lite0, face:dlib.")
RAY_HELP = ("Encode on Ray: local (start or join a Ray on this machine), auto (the cluster of this machine, "
            "after `ray start`), HOST:PORT or ray://HOST:PORT. One model actor per GPU (else per CPU); same "
            "output, resumable. --device is not used: actors take a GPU when the cluster has one.")
RAY_ACTORS_HELP = "With --ray: number of model actors (default one per GPU, else one per CPU of the cluster)."


def _done(out: Path) -> None:
    import json

    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    typer.echo(f"wrote {out}: {meta['count']} vectors of dim {meta['dim']} ({meta['encoder']}, field "
               f"{meta['field']}), {len(meta['missing'])} missing")


# the fields each source has (a KB's questions field or a question's passage would be refused later, after
# the model loaded, and the option's message listed all four for either command)
KB_FIELDS = ("image", "title", "passage")
QUESTION_FIELDS = ("image", "question")


def _encode(encode, source: Path, encoder: str, field: str, out: Path, batch_size: int, resume: bool,
            device: str, progress: bool, overwrite: bool, ray: str | None = None,
            ray_actors: int | None = None, *, fields: tuple[str, ...] = KB_FIELDS) -> None:
    """Validate the options (EncodeConfig), encode (which refuses a field the source lacks) and report."""
    from kvqae.config import parse_config
    from kvqae.encode.store import EncodeConfig
    from kvqae.errors import InputError
    from kvqae.safety import check_device, check_out, check_range, spec_paths

    if field not in fields:
        raise InputError(f"--field must be {', '.join(fields[:-1])} or {fields[-1]} here, got {field!r}",
                         field="--field")
    check_range(batch_size, "--batch-size", low=1)
    if ray is None:
        check_device(device)
    check_range(ray_actors, "--ray-actors", low=1)
    if ray_actors is not None and ray is None:
        raise InputError("--ray-actors needs --ray", field="--ray-actors")
    if ray is not None:
        from kvqae.ray_cluster import parse_address

        parse_address(ray)  # a malformed address fails here, before anything is read
    check_out(out, "embeddings", {"SOURCE": source, "--encoder": spec_paths(encoder)}, overwrite=overwrite)
    cfg = parse_config(EncodeConfig, {"encoder": encoder, "field": field, "out": str(out),
                                      "batch_size": batch_size, "resume": resume, "device": device})
    _done(encode(source, cfg.encoder, cfg.field, cfg.out, device=cfg.device, batch_size=cfg.batch_size,
                 resume=cfg.resume, progress=progress, ray=ray, ray_actors=ray_actors))


@encode_app.command("kb")
def encode_kb_cmd(
    kb: Path = typer.Argument(..., help="Knowledge base directory (from `kvqae kb build`)."),
    encoder: str = typer.Option(..., "--encoder", "-e", help=ENCODER_HELP),
    field: str = typer.Option(..., "--field", "-f", help="What to encode: image, title or passage."),
    out: Path = typer.Option(..., "--out", "-o", help="Output embeddings directory."),
    batch_size: int = typer.Option(64, "--batch-size", help="Items per model call and per shard."),
    resume: bool = typer.Option(True, "--resume/--no-resume", help="Reuse shards of an interrupted run."),
    device: str = typer.Option("cpu", "--device", help="torch device, e.g. cpu or cuda."),
    overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    ray: str | None = typer.Option(None, "--ray", metavar="ADDRESS", help=RAY_HELP),
    ray_actors: int | None = typer.Option(None, "--ray-actors", help=RAY_ACTORS_HELP),
) -> None:
    """Encode entity images, entity titles or passages of a KB."""
    from kvqae.encode.store import encode_kb

    _encode(encode_kb, kb, encoder, field, out, batch_size, resume, device, progress, overwrite, ray,
            ray_actors)


@encode_app.command("questions")
def encode_questions_cmd(
    questions: Path = typer.Argument(..., help="Questions file (kvqae/ViQuAE/InfoSeek JSONL, EVQA CSV)."),
    encoder: str = typer.Option(..., "--encoder", "-e", help=ENCODER_HELP),
    field: str = typer.Option(..., "--field", "-f", help="What to encode: image or question."),
    out: Path = typer.Option(..., "--out", "-o", help="Output embeddings directory."),
    batch_size: int = typer.Option(64, "--batch-size", help="Items per model call and per shard."),
    resume: bool = typer.Option(True, "--resume/--no-resume", help="Reuse shards of an interrupted run."),
    device: str = typer.Option("cpu", "--device", help="torch device, e.g. cpu or cuda."),
    overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    ray: str | None = typer.Option(None, "--ray", metavar="ADDRESS", help=RAY_HELP),
    ray_actors: int | None = typer.Option(None, "--ray-actors", help=RAY_ACTORS_HELP),
) -> None:
    """Encode question images or question texts (text role "query")."""
    from kvqae.encode.store import encode_questions

    _encode(encode_questions, questions, encoder, field, out, batch_size, resume, device, progress, overwrite,
            ray, ray_actors, fields=QUESTION_FIELDS)


def register(app: typer.Typer) -> None:
    """Add `kvqae encode ...` to the main CLI."""
    app.add_typer(encode_app, name="encode")
