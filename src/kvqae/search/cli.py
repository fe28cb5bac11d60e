"""`kvqae search`: query embeddings against an index directory -> a run file (optionally as passages)."""

from __future__ import annotations

from pathlib import Path

import typer
from pydantic import Field

from kvqae.config import ConfigModel


class SearchConfig(ConfigModel):
    """One retrieval (usable from a pipeline YAML): query embeddings vs an index, optional passage mapping."""

    queries: Path | None = None  # query embeddings directory (vector indexes)
    questions: Path | None = None  # questions file (BM25 indexes search the question texts)
    index: Path
    mode: str | None = None
    k: int = 100
    kb: Path | None = None
    to_passages: bool = False
    passages_k: int | None = None
    out: Path | None = None
    name: str | None = None
    ray: str | None = None  # Ray address: search a sharded index with one actor per shard
    # vector indexes: override the search settings saved with the index (kvqae index info shows them)
    nprobe: int | None = Field(default=None, ge=1)
    ef_search: int | None = Field(default=None, ge=1)
    refine_factor: int | None = Field(default=None, ge=0)

    def search_params(self) -> dict[str, int]:
        """The search-setting overrides that are set (nprobe, ef_search, refine_factor)."""
        return {key: v for key, v in (("nprobe", self.nprobe), ("ef_search", self.ef_search),
                                      ("refine_factor", self.refine_factor)) if v is not None}


def run_search(cfg: SearchConfig, *, progress: bool = False):
    """Search as `cfg` says; returns the Run (entity or passage level), saved to `cfg.out` when given."""
    from kvqae.data.runs import check_saveable
    from kvqae.errors import InputError
    from kvqae.index.bm25_index import is_bm25_index
    from kvqae.io import CONTROL_CHARS
    from kvqae.search.modes import search_embeddings

    if cfg.name is not None and not cfg.name.strip():  # was replaced by the mode's name, silently
        raise InputError("an empty run name: give a name or leave --name out", field="--name")
    if cfg.name is not None and (found := CONTROL_CHARS.search(cfg.name)):  # a run file no reader takes
        raise InputError(f"the run name holds the control character {found.group()!r}", field="--name")
    if cfg.kb is not None and not cfg.to_passages:  # read by nothing else
        raise InputError("--kb is read by --to-passages (entities mapped to their passages): add "
                         "--to-passages or drop --kb", field="--kb")
    if cfg.to_passages and cfg.kb is None:  # found after the whole search before
        raise InputError("--to-passages needs --kb", field="kb")
    if cfg.passages_k is not None and not cfg.to_passages:  # was ignored: the run kept its own k
        raise InputError("--passages-k applies to --to-passages (entities mapped to their passages): add "
                         "--to-passages or drop --passages-k", field="--passages-k")
    if cfg.out is not None and cfg.name is not None:  # a TREC run name has no space: say so before the search
        check_saveable(cfg.out, cfg.name, (), ())
    if is_bm25_index(cfg.index):
        run = search_bm25(cfg, progress=progress)
    elif cfg.queries is None:
        from kvqae.index.faiss_index import folder_kind
        from kvqae.io import read_json
        from kvqae.safety import expect_folder

        # a missing or cut meta.json (a half-copied BM25 index) is named, not taken for a vector index
        read_json(expect_folder(cfg.index, "index directory") / "meta.json")
        if (other := folder_kind(Path(cfg.index))) is not None:  # a KB given as --index
            raise InputError(f"not an index folder: it is {other}", path=cfg.index, field="index")
        raise InputError("a vector index needs --queries (an embeddings directory)", field="queries")
    elif cfg.questions is not None:  # a vector index searches --queries' vectors; the texts were ignored
        raise InputError("--questions are searched by a BM25 index; a vector index searches --queries (their "
                         "embeddings, kvqae encode questions): drop --questions", field="--questions")
    elif cfg.ray is not None:  # a sharded index, one Ray actor per shard (kvqae.search.ray_search)
        from kvqae.search.ray_search import search_embeddings_ray

        run = search_embeddings_ray(cfg.queries, cfg.index, cfg.ray, cfg.mode, cfg.k, name=cfg.name,
                                    progress=progress, **cfg.search_params())
    else:
        run = search_embeddings(cfg.queries, cfg.index, cfg.mode, cfg.k, name=cfg.name, progress=progress,
                                **cfg.search_params())
    if cfg.to_passages:
        if cfg.kb is None:
            raise InputError("--to-passages needs --kb", field="kb")
        if run.level != "entity":
            raise InputError(f"mode {run.meta.get('mode')} already returns passages; drop --to-passages",
                             field="to_passages")
        run = map_to_passages(run, cfg.kb, cfg.passages_k, progress=progress)
    if cfg.out is not None:
        run.save(cfg.out)
    return run


def map_to_passages(run, kb: Path, passages_k: int | None = None, *, progress: bool = False):
    """`--to-passages`: an entity run -> its entities' passages, through a `PassageTable` read from the KB's
    id columns only (no passage text, no Python object per KB passage: fits a ViQuAE-sized KB)."""
    from kvqae.search.passages import PassageTable, entity_run_to_passages

    return entity_run_to_passages(run, PassageTable.load(kb, progress=progress), passages_k)


def search_bm25(cfg: SearchConfig, *, progress: bool = False):
    """Search a BM25 index with the question texts of `cfg.questions` -> a passage-level Run."""
    from kvqae.data.questions import load_questions
    from kvqae.errors import InputError
    from kvqae.index.bm25_index import Bm25Index

    if cfg.questions is None:
        raise InputError("a BM25 index searches question texts: give --questions", field="questions")
    # options of vector indexes would be ignored here: refuse them rather than let a user think they applied
    vector_options = (("--queries", cfg.queries), ("--nprobe", cfg.nprobe), ("--ef-search", cfg.ef_search),
                      ("--refine-factor", cfg.refine_factor), ("--ray", cfg.ray))
    ignored = [flag for flag, value in vector_options if value is not None]
    if ignored:
        raise InputError(f"{', '.join(ignored)} apply to vector indexes; a BM25 index searches --questions' "
                         "texts: drop them", field=ignored[0])
    if cfg.mode not in (None, "text-passage"):
        raise InputError(f"a BM25 index only serves mode text-passage, not {cfg.mode}", field="mode")
    questions = load_questions(cfg.questions)
    index = Bm25Index.load(cfg.index)
    return index.search_run([q.id for q in questions], [q.question for q in questions], cfg.k,
                            name=cfg.name or "bm25", progress=progress)  # not the dense run's name


def search_cmd(
    queries: Path | None = typer.Option(
        None, help="Query embeddings directory (vectors.npy, ids.json, meta.json) for a vector index."),
    questions: Path | None = typer.Option(
        None, help="Questions file whose texts are searched (for a BM25 index)."),
    index: Path = typer.Option(..., help="Index directory from `kvqae index build` (vectors or --bm25)."),
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
    name: str | None = typer.Option(None, help="Run name (default: the mode; bm25 for a BM25 index)."),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace an existing --out even when it is not a run file."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    ray: str | None = typer.Option(
        None, "--ray", metavar="ADDRESS",
        help="Search a sharded index (index build --shards) with one Ray actor per shard: local, auto, "
             "HOST:PORT or ray://HOST:PORT. Same results as without --ray."),
    nprobe: int | None = typer.Option(None, help="Lists visited per query (IVF; default: the index's)."),
    ef_search: int | None = typer.Option(
        None, "--ef-search", help="HNSW search breadth (default: the index's)."),
    refine_factor: int | None = typer.Option(
        None, "--refine-factor", help="Candidates re-ranked exactly per result, 0 = off (indexes built with "
                                      "--refine; default: the index's)."),
) -> None:
    """Retrieve for every query; the query encoder spec and dim must match the index."""
    from kvqae.safety import MAX_SEARCH_BREADTH, check_out, check_range

    check_range(k, "--k", low=1)
    check_range(passages_k, "--passages-k", low=1)
    check_range(nprobe, "--nprobe", low=1, high=MAX_SEARCH_BREADTH)
    check_range(ef_search, "--ef-search", low=1, high=MAX_SEARCH_BREADTH)
    check_range(refine_factor, "--refine-factor", low=0, high=MAX_SEARCH_BREADTH)
    check_out(out, "run", {"--queries": queries, "--questions": questions, "--index": index, "--kb": kb},
              overwrite=overwrite)
    if ray is not None:
        from kvqae.search.ray_search import check_ray_index

        check_ray_index(index, ray)
    cfg = SearchConfig(queries=queries, questions=questions, index=index, mode=mode, k=k, kb=kb,
                       to_passages=to_passages, passages_k=passages_k, out=out, name=name, ray=ray,
                       nprobe=nprobe, ef_search=ef_search, refine_factor=refine_factor)
    run = run_search(cfg, progress=progress)
    if zero := run.meta.get("zero_queries"):  # they used to get k arbitrary passages at score 0.0
        typer.echo(f"note: {zero} of {len(run)} queries have an all-zero vector (no direction to search): "
                   "they get no results, like queries without an embedding", err=True)
    n_results = sum(len(v) for v in run.scores.values())
    empty = sum(1 for v in run.scores.values() if not v)
    typer.echo(f"{len(run)} queries ({empty} without results), {n_results} {run.level} results -> {out}")


def register(app: typer.Typer) -> None:
    """Add `kvqae search` to the CLI."""
    app.command("search")(search_cmd)
