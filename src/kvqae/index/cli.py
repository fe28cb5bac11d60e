"""`kvqae index ...`: build an index directory from embeddings, show it, measure approximate recall."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from kvqae.config import ConfigModel

index_app = typer.Typer(help="Build and inspect Faiss vector indexes.", no_args_is_help=True)


class IndexBuildConfig(ConfigModel):
    """Config for one index build (usable from a pipeline YAML)."""

    embeddings: Path
    out: Path
    factory: str = "Flat"
    nprobe: int | None = None


def build_index(cfg: IndexBuildConfig, *, progress: bool = False):
    """Build and save the index described by `cfg`; returns the `VectorIndex`."""
    from kvqae.index.faiss_index import VectorIndex

    return VectorIndex.build(cfg.embeddings, cfg.out, cfg.factory, nprobe=cfg.nprobe, progress=progress)


@index_app.command("build")
def build_cmd(
    source: Path = typer.Argument(
        ..., help="Embeddings directory (vectors.npy, ids.json, meta.json), or a KB directory with --bm25."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Index directory to write."),
    factory: str = typer.Option(
        "Flat", help='Faiss factory string, e.g. "Flat" (exact), "IVF256,Flat", "HNSW32".'),
    nprobe: int | None = typer.Option(None, help="Default lists visited per query (IVF indexes only)."),
    bm25: bool = typer.Option(False, "--bm25", help="Build a BM25 index of the KB's passages instead."),
    k1: float = typer.Option(1.5, "--k1", min=0.0, help="BM25 term-frequency saturation (with --bm25)."),
    b: float = typer.Option(0.75, "--b", min=0.0, max=1.0, help="BM25 length normalisation (with --bm25)."),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace an existing --out even when it is not an index folder."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Index an embeddings directory (inner product on L2-normalised vectors), or a KB's passages (--bm25)."""
    import time

    from kvqae.safety import check_out, check_range

    check_range(nprobe, "--nprobe", low=1)
    check_out(out, "index", {"SOURCE": source}, overwrite=overwrite)
    t0 = time.perf_counter()
    if bm25:
        from kvqae.index.bm25_index import Bm25Index

        lexical = Bm25Index.build(source, out, k1=k1, b=b)
        typer.echo(f"BM25-indexed {lexical.count} passages (k1 {k1:g}, b {b:g}) -> {out} "
                   f"in {time.perf_counter() - t0:.1f}s")
        return
    index = build_index(IndexBuildConfig(embeddings=source, out=out, factory=factory, nprobe=nprobe),
                        progress=progress)
    typer.echo(f"indexed {index.count} vectors (dim {index.dim}, {index.factory}) -> {out} "
               f"in {time.perf_counter() - t0:.1f}s")


@index_app.command("info")
def info_cmd(index_dir: Path = typer.Argument(..., help="Index directory.")) -> None:
    """Print an index directory's metadata as JSON."""
    from kvqae.index.bm25_index import Bm25Index, is_bm25_index
    from kvqae.index.faiss_index import VectorIndex

    if is_bm25_index(index_dir):
        typer.echo(json.dumps(Bm25Index.load(index_dir).meta, indent=2))
        return
    typer.echo(json.dumps(VectorIndex.load(index_dir).info(), indent=2))


@index_app.command("recall")
def recall_cmd(
    embeddings: Path = typer.Option(..., help="Embeddings directory to index."),
    queries: Path = typer.Option(..., help="Query embeddings directory (same encoder and dim)."),
    factory: str = typer.Option(..., help='Approximate Faiss factory string, e.g. "IVF256,Flat".'),
    nprobe: int | None = typer.Option(None, help="Lists visited per query (IVF indexes)."),
    k: int = typer.Option(100, help="Depth of the compared result lists."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Recall@k of an approximate index against exact inner-product search, with both search times."""
    from kvqae.index.recall import measure_recall_dirs
    from kvqae.safety import check_range

    check_range(k, "--k", low=1)
    check_range(nprobe, "--nprobe", low=1)

    res = measure_recall_dirs(embeddings, queries, factory, k, nprobe=nprobe)
    if json_out:
        typer.echo(json.dumps(res.as_dict()))
        return
    typer.echo(f"recall@{res.k}: {res.recall:.4f}  ({res.queries} queries, {factory}, nprobe={res.nprobe})")
    typer.echo(f"exact search: {res.exact_search_s:.3f}s  approximate search: {res.approx_search_s:.3f}s  "
               f"(approximate build {res.approx_build_s:.3f}s)")


def register(app: typer.Typer) -> None:
    """Add `kvqae index ...` to the CLI."""
    app.add_typer(index_app, name="index")
