"""`kvqae search`: query embeddings against an index directory -> a run file (optionally as passages)."""

from __future__ import annotations

from pathlib import Path

import typer

from kvqae.config import ConfigModel


class SearchConfig(ConfigModel):
    """One retrieval (usable from a pipeline YAML): query embeddings vs an index, optional passage mapping."""

    queries: Path
    index: Path
    mode: str | None = None
    k: int = 100
    kb: Path | None = None
    to_passages: bool = False
    passages_k: int | None = None
    out: Path | None = None
    name: str | None = None


def run_search(cfg: SearchConfig, *, progress: bool = False):
    """Search as `cfg` says; returns the Run (entity or passage level), saved to `cfg.out` when given."""
    from kvqae.errors import InputError
    from kvqae.search.modes import search_embeddings
    from kvqae.search.passages import entity_run_to_passages

    run = search_embeddings(cfg.queries, cfg.index, cfg.mode, cfg.k, name=cfg.name, progress=progress)
    if cfg.to_passages:
        if cfg.kb is None:
            raise InputError("--to-passages needs --kb", field="kb")
        if run.level != "entity":
            raise InputError(f"mode {run.meta.get('mode')} already returns passages; drop --to-passages",
                             field="to_passages")
        from kvqae.data.kb import KnowledgeBase

        run = entity_run_to_passages(run, KnowledgeBase.load(cfg.kb), cfg.passages_k)
    if cfg.out is not None:
        run.save(cfg.out)
    return run


def search_cmd(
    queries: Path = typer.Option(..., help="Query embeddings directory (vectors.npy, ids.json, meta.json)."),
    index: Path = typer.Option(..., help="Index directory from `kvqae index build`."),
    mode: str | None = typer.Option(
        None, help="image-image | image-title | text-passage | image-passage (default: inferred from the "
                   "query kind and the index field)."),
    k: int = typer.Option(100, help="Results per query (entities or passages, per the mode)."),
    kb: Path | None = typer.Option(None, help="Knowledge base directory (for --to-passages)."),
    to_passages: bool = typer.Option(False, "--to-passages",
                                     help="Map an entity run to the entities' passages."),
    passages_k: int | None = typer.Option(None,
                                          help="Passages kept per query after mapping (default all)."),
    out: Path = typer.Option(..., "--out", "-o", help="Run file to write: .json or .trec."),
    name: str | None = typer.Option(None, help="Run name (default: the mode)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Retrieve for every query; the query encoder spec and dim must match the index."""
    cfg = SearchConfig(queries=queries, index=index, mode=mode, k=k, kb=kb, to_passages=to_passages,
                       passages_k=passages_k, out=out, name=name)
    run = run_search(cfg, progress=progress)
    n_results = sum(len(v) for v in run.scores.values())
    empty = sum(1 for v in run.scores.values() if not v)
    typer.echo(f"{len(run)} queries ({empty} without results), {n_results} {run.level} results -> {out}")


def register(app: typer.Typer) -> None:
    """Add `kvqae search` to the CLI."""
    app.command("search")(search_cmd)
