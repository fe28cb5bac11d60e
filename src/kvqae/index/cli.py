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
    shards: int | None = None  # split into this many shard indexes (kvqae.index.shards)
    # streaming build (kvqae.index.build): default search settings, refine file, training sample, chunk size
    ef_search: int | None = None
    add_ef_search: int | None = None  # HNSW breadth while adding (IVF with an HNSW quantizer)
    refine: bool | None = None  # None: on when factory "auto" picks a compressed index
    refine_factor: int | None = None
    train_sample: int | None = None
    chunk_rows: int = 100_000


def build_index(cfg: IndexBuildConfig, *, progress: bool = False):
    """Build and save the index described by `cfg`; returns the `VectorIndex`."""
    from kvqae.index.faiss_index import VectorIndex

    options = {"ef_search": cfg.ef_search, "add_ef_search": cfg.add_ef_search, "refine": cfg.refine,
               "refine_factor": cfg.refine_factor,
               "train_sample": cfg.train_sample, "chunk_rows": cfg.chunk_rows}
    if cfg.shards is not None:  # S normal index directories under cfg.out, plus a meta.json listing them
        from kvqae.index.shards import build_sharded

        return build_sharded(cfg.embeddings, cfg.out, cfg.shards, cfg.factory, nprobe=cfg.nprobe,
                             progress=progress, **options)
    return VectorIndex.build(cfg.embeddings, cfg.out, cfg.factory, nprobe=cfg.nprobe, progress=progress,
                             **options)


@index_app.command("build")
def build_cmd(
    source: Path = typer.Argument(
        ..., help="Embeddings directory (vectors.npy, ids.json, meta.json), or a KB directory with --bm25."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Index directory to write."),
    factory: str | None = typer.Option(
        None, help='Faiss factory string, e.g. "Flat" (exact), "IVF256,Flat", "HNSW32", or "auto" (exact '
                     'below 200k vectors, else a compressed OPQ/IVF-HNSW/PQ index with --refine). Default: '
                     'Flat.'),
    nprobe: int | None = typer.Option(None, help="Default lists visited per query (IVF indexes only)."),
    ef_search: int | None = typer.Option(
        None, "--ef-search", help="Default HNSW search breadth (HNSW indexes, IVF with an HNSW quantizer)."),
    add_ef_search: int | None = typer.Option(
        None, "--add-ef-search", help="HNSW search breadth while adding, to find each vector's list (IVF "
                                      "with an HNSW quantizer; default Faiss's 16: faster, less exact)."),
    refine: bool | None = typer.Option(
        None, "--refine/--no-refine", help="Keep float16 vectors (refine.f16.npy) and re-rank candidates "
                                           "exactly (default: on when --factory auto compresses)."),
    refine_factor: int | None = typer.Option(
        None, "--refine-factor", help="Default candidates per result re-ranked with --refine (16)."),
    train_sample: int | None = typer.Option(
        None, "--train-sample", help="Vectors sampled (seeded) to train indexes that need training "
                                     "(default: 32 per IVF list, at least 65,536)."),
    chunk_rows: int | None = typer.Option(
        None, "--chunk-rows", help="Vectors read and added at a time (default 100,000)."),
    bm25: bool = typer.Option(False, "--bm25", help="Build a BM25 index of the KB's passages instead."),
    k1: float | None = typer.Option(None, "--k1", min=0.0,
                                    help="BM25 term-frequency saturation (with --bm25; default 1.5)."),
    b: float | None = typer.Option(None, "--b", min=0.0, max=1.0,
                                   help="BM25 length normalisation (with --bm25; default 0.75)."),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace an existing --out even when it is not an index folder."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    shards: int | None = typer.Option(
        None, "--shards", help="Split the index into this many shards (each a normal index directory under "
                               "--out), searchable in one process or with `kvqae search --ray`."),
) -> None:
    """Index an embeddings directory (inner product on L2-normalised vectors), or a KB's passages (--bm25)."""
    import time

    from kvqae.safety import MAX_SEARCH_BREADTH, check_out, check_range

    check_range(nprobe, "--nprobe", low=1, high=MAX_SEARCH_BREADTH)
    check_range(shards, "--shards", low=1)
    check_range(ef_search, "--ef-search", low=1, high=MAX_SEARCH_BREADTH)
    check_range(add_ef_search, "--add-ef-search", low=1, high=MAX_SEARCH_BREADTH)
    check_range(refine_factor, "--refine-factor", low=1, high=MAX_SEARCH_BREADTH)
    check_range(train_sample, "--train-sample", low=1)
    check_range(chunk_rows, "--chunk-rows", low=1)
    from kvqae.errors import InputError

    if shards is not None and bm25:
        raise InputError("--shards splits vector indexes; a BM25 index is not sharded", field="--shards")
    if not bm25 and (k1 is not None or b is not None):  # they were ignored, silently
        raise InputError("--k1 and --b set BM25's weighting: give --bm25 too, or leave them out",
                         field="--k1" if k1 is not None else "--b")
    vector_options = (("--factory", factory), ("--nprobe", nprobe), ("--ef-search", ef_search),
                      ("--add-ef-search", add_ef_search), ("--refine/--no-refine", refine),
                      ("--refine-factor", refine_factor), ("--train-sample", train_sample),
                      ("--chunk-rows", chunk_rows))
    ignored = [flag for flag, value in vector_options if value is not None]
    if bm25 and ignored:  # they were ignored, silently
        raise InputError(f"{', '.join(ignored)} build vector indexes; --bm25 indexes the KB's words: drop "
                         "them", field=ignored[0])
    if not bm25:
        from kvqae.index.faiss_index import folder_kind

        if (folder_kind(source) or "").startswith("a knowledge base"):  # was "field "encoder": missing key"
            raise InputError("this is a knowledge base, not an embeddings directory: give --bm25 to index "
                             "its passages' words, or encode it first (kvqae encode kb)", path=source)
    check_out(out, "index", {"SOURCE": source}, overwrite=overwrite)
    t0 = time.perf_counter()
    if bm25:
        from kvqae.index.bm25_index import Bm25Index

        k1, b = 1.5 if k1 is None else k1, 0.75 if b is None else b
        lexical = Bm25Index.build(source, out, k1=k1, b=b)
        typer.echo(f"BM25-indexed {lexical.count} passages (k1 {k1:g}, b {b:g}) -> {out} "
                   f"in {time.perf_counter() - t0:.1f}s")
        return
    factory, chunk_rows = factory or "Flat", chunk_rows or 100_000
    index = build_index(IndexBuildConfig(embeddings=source, out=out, factory=factory, nprobe=nprobe,
                                         shards=shards, ef_search=ef_search, add_ef_search=add_ef_search,
                                         refine=refine,
                                         refine_factor=refine_factor, train_sample=train_sample,
                                         chunk_rows=chunk_rows), progress=progress)
    typer.echo(f"indexed {index.count} vectors (dim {index.dim}, {index.factory}) -> {out} "
               f"in {time.perf_counter() - t0:.1f}s")
    build = index.meta.get("build") or {}
    if build.get("add_s"):
        typer.echo(f"  train {build.get('train_s', 0):.1f}s, add {build['add_s']:.1f}s "
                   f"({index.count / max(build['add_s'], 1e-9):,.0f} vectors/s); search defaults "
                   + json.dumps(index.search_params()))
    if shards is not None:
        typer.echo(f"  {index.n_shards} shards of {min(e['count'] for e in index.meta['shards'])} to "
                   f"{max(e['count'] for e in index.meta['shards'])} vectors")
    if zero := index.meta.get("zero_vectors"):  # indexed, not refused: but likely an encoder's failure
        typer.echo(f"note: {zero} of {index.count} vectors are all zero (an item the encoder gave nothing "
                   "for?): they score 0.0 against every query", err=True)


@index_app.command("info")
def info_cmd(index_dir: Path = typer.Argument(..., help="Index directory.")) -> None:
    """Print an index directory's metadata as JSON."""
    from kvqae.index.bm25_index import Bm25Index, is_bm25_index
    from kvqae.index.faiss_index import VectorIndex

    if is_bm25_index(index_dir):
        typer.echo(json.dumps(Bm25Index.load(index_dir).meta, indent=2))
        return
    from kvqae.index.shards import is_sharded_index, sharded_info

    if is_sharded_index(index_dir):
        typer.echo(json.dumps(sharded_info(index_dir), indent=2))
        return
    typer.echo(json.dumps(VectorIndex.load(index_dir).info(), indent=2))


@index_app.command("recall")
def recall_cmd(
    index_dir: Path | None = typer.Argument(
        None, help="A built index directory to measure (built from --embeddings). Without it, --factory is "
                   "built in memory next to an exact index."),
    embeddings: Path = typer.Option(..., help="Embeddings directory (the one indexed)."),
    queries: Path = typer.Option(..., help="Query embeddings directory (same encoder and dim)."),
    factory: str | None = typer.Option(
        None, help='Approximate Faiss factory string built in memory, e.g. "IVF256,Flat" (no INDEX_DIR).'),
    nprobe: int | None = typer.Option(None, help="Lists visited per query (IVF indexes)."),
    ef_search: int | None = typer.Option(None, "--ef-search", help="HNSW search breadth (with INDEX_DIR)."),
    refine_factor: int | None = typer.Option(
        None, "--refine-factor", help="Candidates re-ranked per result, 0 = none (INDEX_DIR with refine)."),
    sample: int | None = typer.Option(None, help="Measure on this many queries, drawn with --seed."),
    seed: int = typer.Option(0, help="Seed of the query sample."),
    k: int = typer.Option(100, help="Depth of the compared result lists."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar (exact scan)."),
) -> None:
    """Recall@k of an approximate index against exact inner-product search, with search times.

    With INDEX_DIR the exact top-k comes from a streaming scan of --embeddings (any size)."""
    from kvqae.errors import InputError
    from kvqae.index.recall import measure_index_recall, measure_recall_dirs
    from kvqae.safety import MAX_SEARCH_BREADTH, check_range

    check_range(k, "--k", low=1)
    check_range(nprobe, "--nprobe", low=1, high=MAX_SEARCH_BREADTH)
    check_range(ef_search, "--ef-search", low=1, high=MAX_SEARCH_BREADTH)
    check_range(refine_factor, "--refine-factor", low=0, high=MAX_SEARCH_BREADTH)
    check_range(sample, "--sample", low=1)
    check_range(seed, "--seed", low=0)
    if (index_dir is None) == (factory is None):
        raise InputError("give either INDEX_DIR (a built index) or --factory (built in memory)",
                         field="factory")
    if index_dir is not None:
        res = measure_index_recall(index_dir, embeddings, queries, k, sample=sample, seed=seed, nprobe=nprobe,
                                   ef_search=ef_search, refine_factor=refine_factor, progress=progress)
        if json_out:
            typer.echo(json.dumps(res.as_dict()))
            return
        typer.echo(f"recall@{res.k}: {res.recall:.4f}  ({res.queries} queries, {res.factory}, nprobe="
                   f"{res.nprobe}, ef_search={res.ef_search}, refine_factor={res.refine_factor})")
        typer.echo(f"index search: {res.search_s:.3f}s ({res.queries_per_s:,.0f} queries/s)  "
                   f"exact streaming scan: {res.exact_scan_s:.3f}s")
        return
    if ef_search is not None or refine_factor is not None or sample is not None:
        raise InputError("--ef-search, --refine-factor and --sample need INDEX_DIR", field="factory")
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
