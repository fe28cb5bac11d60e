"""The `kvqae run` config: PIPELINE.yaml's sections as pydantic models, loading (relative paths resolved
against the YAML's folder) and every check made before a stage runs (`check_pipeline`,
`check_pipeline_output`, the warnings of `config_notes`). The runner is `kvqae.pipeline`."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from kvqae.ask.bundle import ModeName
from kvqae.config import ConfigModel, load_yaml, parse_config
from kvqae.fusion.modes import DefaultMinimumSetting
from kvqae.io import not_found
from kvqae.rerank.settings import RerankSettings
from kvqae.safety import MAX_SEARCH_BREADTH


class KBSection(ConfigModel):
    source: Path  # articles JSONL, MediaWiki XML(.bz2) or ViQuAE KB, or an already built KB directory
    format: Literal["auto", "jsonl", "mediawiki", "viquae"] = "auto"  # the articles' (`kb build --format`)
    words: int = Field(default=100, ge=1)
    sentence_aligned: bool = False
    types_from: Path | None = None


class RetrievalSection(ConfigModel):
    mode: ModeName
    # encoder spec, e.g. "clip:path/to/model", "st:minilm", "face:dlib"; "bm25": a BM25 index (text-passage)
    encoder: str
    factory: str = "Flat"  # Faiss factory string, or "auto" (kvqae.index.build.auto_factory)
    # search settings overriding those saved with the index (None: the index's own)
    nprobe: int | None = Field(default=None, ge=1, le=MAX_SEARCH_BREADTH)
    ef_search: int | None = Field(default=None, ge=1, le=MAX_SEARCH_BREADTH)
    refine_factor: int | None = Field(default=None, ge=0, le=MAX_SEARCH_BREADTH)
    name: str | None = None  # run name (default: the mode)
    # passage-level modes: also fuse the run's "entity context" (`<name>@entity`: every passage of a retrieved
    # entity at the score of its best passage), so a description of the entity lifts its other passages
    entity_context: bool = False

    @field_validator("name")
    @classmethod
    def _name_is_a_file_name(cls, value: str | None) -> str | None:
        return None if value is None else file_name(value)

    @model_validator(mode="after")
    def _bm25_is_text_passage(self) -> RetrievalSection:
        if self.encoder == "bm25" and self.mode != "text-passage":
            raise ValueError(f"encoder bm25 only serves mode text-passage, not {self.mode}")
        if self.entity_context and self.mode not in ("text-passage", "image-passage"):
            raise ValueError(f"entity_context applies to passage-level modes, not {self.mode}")
        self._check_index_settings()
        return self

    def _check_index_settings(self) -> None:
        """Settings the entry's index cannot use are refused before any stage runs (a BM25 entry ignored
        them silently; a Flat index's nprobe failed after the KB was encoded and indexed)."""
        given = [k for k in ("factory", "nprobe", "ef_search", "refine_factor") if k in self.model_fields_set
                 and getattr(self, k) is not None]
        if self.encoder == "bm25":
            if given:
                raise ValueError(f"{', '.join(given)}: a bm25 entry searches the question texts with a BM25 "
                                 "index, which has no such setting; drop them")
            return
        factory = self.factory.upper()
        if factory == "AUTO":  # the index is chosen by the KB's size: the search settings are checked then
            return
        if self.nprobe is not None and "IVF" not in factory:
            raise ValueError(f"nprobe applies to IVF indexes, not factory {self.factory!r}")
        if self.ef_search is not None and "HNSW" not in factory:
            raise ValueError("ef_search applies to HNSW indexes (and IVF with an HNSW quantizer), not "
                             f"factory {self.factory!r}")
        if self.refine_factor:
            raise ValueError("refine_factor needs an index built with a refine file (`kvqae index build "
                             "--refine`), which the pipeline does not build; drop it")


def file_name(value: str) -> str:
    """A run or split name, which names files under `output/runs/`: no path separators, "." or "..", so a
    name can never write outside the output folder."""
    if not value.strip() or value in (".", "..") or any(c in value for c in "/\\\0"):
        raise ValueError(f"{value!r} is not a plain name (it names files: no '/', '\\', '..' or empty names)")
    if len(value.encode("utf-8")) > MAX_NAME_BYTES:  # "<name>@entity+proximity+reader.json" must fit
        raise ValueError(f"is {len(value.encode('utf-8'))} bytes long; a name (it names files) is at most "
                         f"{MAX_NAME_BYTES} bytes")
    return value


# a file name holds at most 255 bytes; run files add "@entity", "+proximity+reader" and ".json" to the name
MAX_NAME_BYTES = 200


def run_names(retrieval: list[RetrievalSection]) -> list[str]:
    """Every run a pipeline fuses, in order: each entry's name, followed by `<name>@entity` when it has an
    entity context."""
    names = []
    for r in retrieval:
        name = r.name or r.mode
        names += [name, f"{name}@entity"] if r.entity_context else [name]
    return names


class FusionSection(ConfigModel):
    method: Literal["wsum", "rrf", "combsum", "combmnz"] = "wsum"
    norm: Literal["zscore", "zscore-query", "minmax", "rank", "none"] = "zscore"
    step: float = Field(default=0.1, gt=0, le=1)
    metric: str = "mrr@100"
    default_minimum: DefaultMinimumSetting = None  # "off" | "raw" | "normalized"; None: by norm
    # a weights file (`kvqae fuse fit`, or a joint CLIP's fusion_weights.json) applied as it is instead of
    # fitting on `fit_split`: its run names, method, norm and default-minimum replace the keys above
    weights: Path | None = None

    @model_validator(mode="after")
    def _rrf_takes_no_score_settings(self) -> FusionSection:
        # recorded in the bundle as if applied; `kvqae fuse` refuses them too
        if self.method == "rrf":
            given = [k for k in ("norm", "default_minimum") if k in self.model_fields_set
                     and getattr(self, k) not in (None, "none")]  # "none" claims nothing untrue
            if given:
                raise ValueError(f"{given[0]} does not apply to method rrf, which fuses ranks, not scores: "
                                 "drop it")
        return self


def fixed_weights(cfg: PipelineConfig) -> Path | None:
    """The weights file the pipeline applies without fitting, when there is one and more than one run."""
    if cfg.fusion is None or cfg.fusion.weights is None or len(run_names(cfg.retrieval)) < 2:
        return None
    return Path(cfg.fusion.weights)


class ReaderSection(ConfigModel):
    model: str  # reader checkpoint: path or HF name
    top_k: int = Field(default=24, ge=1)
    run: str = "fusion"  # which run feeds the reader: "fusion" or a retrieval run name


class PipelineConfig(ConfigModel):
    """The whole pipeline, as written in PIPELINE.yaml."""

    output: Path
    kb: KBSection
    questions: dict[str, Path]  # split name -> questions file
    retrieval: list[RetrievalSection] = Field(min_length=1)
    k: int = Field(default=100, ge=1)
    eval_split: str = "test"
    fit_split: str | None = "validation"  # split on which fusion weights are fitted (None: no fusion)
    fusion: FusionSection | None = FusionSection()
    reader: ReaderSection | None = None
    # term-proximity re-ranking of the run that `kvqae ask` reads (the fused run, or the only run); the
    # reader then reads the re-ranked passages when its `run` is that run
    rerank: RerankSettings | None = None
    metrics: list[str] = Field(default=["mrr@100", "p@1", "p@20", "hit@20", "recall@100", "ndcg@10"],
                               min_length=1)  # none: a report without a column
    passage_requires_entity: bool = False  # a relevant passage must also belong to the gold entity
    dataset: str = ""
    batch_size: int = Field(default=64, ge=1)
    device: str = "cpu"

    @field_validator("output", mode="before")
    @classmethod
    def _output_is_named(cls, value: Any) -> Any:
        """`output: ""` was read as the YAML's own folder, which then received every stage's files."""
        if isinstance(value, str) and not value.strip():
            raise ValueError("is empty: name the folder the pipeline writes its files to")
        return value

    @field_validator("metrics")
    @classmethod
    def _each_metric_once(cls, value: list[str]) -> list[str]:
        """A metric written twice ("mrr@10", "MRR@10") was a duplicate column in the report."""
        from kvqae.evaluate.metrics import unique_metrics

        return unique_metrics(value)

    @field_validator("questions")
    @classmethod
    def _splits_are_file_names(cls, value: dict[str, Path]) -> dict[str, Path]:
        for split in value:
            file_name(split)
        return value

    @field_validator("eval_split", "fit_split")
    @classmethod
    def _names_a_split(cls, value: str | None, info: ValidationInfo) -> str | None:
        """An eval_split / fit_split given in the YAML must be one of the `questions` splits (the default
        fit_split "validation" is only required when fusion runs: see `run_pipeline`)."""
        splits = info.data.get("questions")
        if value is not None and splits is not None and value not in splits:
            raise ValueError(f"{value!r} is not one of the question splits {sorted(splits)}")
        return value


def fused_run_name(cfg: PipelineConfig) -> str | None:
    """The run a pipeline's answers come from: "fusion" when runs are fused, the run itself when there is
    only one, None when several runs are not fused."""
    names = run_names(cfg.retrieval)
    fused = fixed_weights(cfg) is not None or (
        cfg.fusion is not None and cfg.fit_split is not None and len(names) > 1
    )
    if fused:
        return "fusion"
    return names[0] if len(names) == 1 else None


def reranked_run_name(cfg: PipelineConfig) -> str | None:
    """Name of the re-ranked run (`<base>+proximity`), None without `rerank`."""
    base = fused_run_name(cfg)
    if cfg.rerank is None or base is None:
        return None
    return base + cfg.rerank.suffix()


def resolve_path(path: Path, base: Path) -> Path:
    """A path of the YAML: `~` is the home folder (it was a folder named "~" beside the YAML, which then
    received the outputs), and a relative path is relative to `base`."""
    path = Path(os.path.expanduser(path))  # Path.expanduser raises on an unknown "~user"; this leaves it
    return path if path.is_absolute() else base / path


# model names that are not paths: the packaged MiniLM (`st:minilm`) and dlib's face model (`face:dlib`)
PACKAGED_MODELS = ("minilm", "dlib")


def resolve_model(name: str, base: Path) -> str:
    """A model argument of the YAML (`reader.model`, the paths of an encoder spec), resolved like a path when
    it is one: a folder there, a name written as a path (`./m`, `../m`, `a/b/c`, `~/m`), or one that exists
    only relative to the current folder (read from there, silently, not from beside the YAML); a hub id
    (`org/name`) or a packaged name stays as written."""
    path = Path(os.path.expanduser(name))
    here = path.exists() and name not in PACKAGED_MODELS  # relative to the current folder
    if path.is_absolute() or (base / path).exists() or _written_as_path(name, base) or here:
        return str(resolve_path(path, base))
    return name


def _written_as_path(name: str, base: Path) -> bool:
    """`name` reads as a path, not a hub id: `./m`, `../m`, `a/b/c`, a backslash, or `org/name` where `org`
    is a folder in `base`."""
    if name.startswith(("./", "../", ".\\")) or name.count("/") > 1 or "\\" in name:
        return True
    org, sep, _ = name.partition("/")
    return bool(sep and org) and (base / org).is_dir()


def resolve_paths(cfg: PipelineConfig, base: Path) -> PipelineConfig:
    def fix(p: Path | None) -> Path | None:
        return None if p is None else resolve_path(Path(p), base)

    def fix_spec(spec: str) -> str:
        # encoder specs may hold model paths ("clip:models/x", "dpr:q,c"): each resolved as a model argument
        prefix, sep, arg = spec.partition(":")
        if not sep or not arg:
            return spec
        return f"{prefix}:" + ",".join(resolve_model(a, base) if a else a for a in arg.split(","))

    data = cfg.model_dump(exclude_unset=True)  # defaults stay unset: validators see only what was given
    data["output"] = fix(cfg.output)
    data["kb"]["source"] = fix(cfg.kb.source)
    if cfg.kb.types_from:  # left unset when not given: `config_notes` tells given keys from defaults
        data["kb"]["types_from"] = fix(cfg.kb.types_from)
    data["questions"] = {k: fix(v) for k, v in cfg.questions.items()}
    for section in data["retrieval"]:
        section["encoder"] = fix_spec(section["encoder"])
    if cfg.fusion is not None and cfg.fusion.weights is not None:
        data["fusion"]["weights"] = fix(cfg.fusion.weights)
    if cfg.reader is not None:
        data["reader"]["model"] = resolve_model(cfg.reader.model, base)
    return PipelineConfig.model_validate(data)


def load_pipeline_config(path: str | Path) -> PipelineConfig:
    """Read PIPELINE.yaml and resolve its relative paths against the file's folder."""
    path = Path(path)
    cfg = parse_config(PipelineConfig, load_pipeline_yaml(path), path=path)
    return resolve_paths(cfg, path.resolve().parent)


def load_pipeline_yaml(path: Path) -> dict:
    """The mapping of PIPELINE.yaml; a blank file is an InputError ("file is empty"), not missing keys."""
    from kvqae.errors import InputError
    from kvqae.io import first_byte

    if path.is_file() and not first_byte(path):
        raise InputError("file is empty", path=path)
    return load_yaml(path)


def check_pipeline(cfg: PipelineConfig) -> None:
    """Everything that can be checked before a stage runs: splits, metrics, the reader's run and model, and
    that the input files and model folders exist (a typo fails now, not after an hour of encoding)."""
    from kvqae.errors import InputError
    from kvqae.evaluate.metrics import parse_metric
    from kvqae.safety import check_device, check_reader_dir

    metrics = {"metrics": cfg.metrics, "fusion.metric": [cfg.fusion.metric] if cfg.fusion else []}
    for key, names in metrics.items():
        for name in names:
            try:
                parse_metric(name)
            except InputError as e:
                raise InputError(e.reason, field=key) from None
    given = {"metrics": cfg.metrics if "metrics" in cfg.model_fields_set else [],
             "fusion.metric": [cfg.fusion.metric] if cfg.fusion and "metric" in cfg.fusion.model_fields_set
             else []}  # the defaults (mrr@100, ...) stay usable with a small k
    for key, names in given.items():
        deep = [m for m in names if (parse_metric(m)[1] or 0) > cfg.k]
        if deep:  # it was labelled @1000 and computed from the top k
            raise InputError(f"{', '.join(deep)} looks deeper than the {cfg.k} passages each run keeps (k: "
                             f"{cfg.k}); raise k or use a cutoff of at most {cfg.k}", field=key)
    # the default top_k (24) with a small k reads what the run holds; a top_k written in the YAML means it
    if cfg.reader is not None and "top_k" in cfg.reader.model_fields_set and cfg.reader.top_k > cfg.k:
        raise InputError(f"the reader reads the top {cfg.reader.top_k} but each run keeps {cfg.k} passages "
                         f"(k: {cfg.k}); use a top_k of at most {cfg.k}", field="reader.top_k")
    if cfg.rerank is not None and "top_n" in cfg.rerank.model_fields_set and cfg.rerank.top_n > cfg.k:
        # accepted, it re-ranked every passage a run keeps: not what a top_n says
        raise InputError(f"the re-ranking re-orders the top {cfg.rerank.top_n} but each run keeps {cfg.k} "
                         f"passages (k: {cfg.k}); use a top_n of at most {cfg.k}", field="rerank.top_n")
    _check_splits(cfg)
    check_device(cfg.device, "device")  # the reader failed in torch after retrieval and fusion had run
    _check_shell_variables(cfg)
    _check_inputs_exist(cfg)
    # Run names name files (runs/<split>/<name>.json) and report rows: a retrieval entry named "fusion"
    # (or "x@entity" beside an "x" with entity_context) was overwritten by the fused run and lost, silently.
    # ... and so was one named like the re-ranked run ("fusion+proximity") or the reader's ("a+reader")
    derived = {"fusion": "the fused run"} if fused_run_name(cfg) == "fusion" else {}
    if reranked_run_name(cfg) is not None:
        derived[reranked_run_name(cfg)] = "the re-ranked run"
    if cfg.reader is not None:  # with `rerank`, the reader reads the re-ranked run (`run_pipeline`)
        read = cfg.reader.run
        read = reranked_run_name(cfg) if read == fused_run_name(cfg) and cfg.rerank is not None else read
        derived[f"{read}+reader"] = "the reader's order of the run it reads"
    taken: dict[str, int | str] = dict(derived)
    for i, section in enumerate(cfg.retrieval):
        name = section.name or section.mode
        for run in [name, f"{name}@entity"] if section.entity_context else [name]:
            if run in taken:
                other = taken[run] if isinstance(taken[run], str) else f"retrieval entry {taken[run]}"
                raise InputError(f"run name {run!r} is taken by {other}; give this entry another `name`",
                                 field=f"retrieval.{i}.name")
            taken[run] = i
    if cfg.fusion is not None and cfg.fusion.weights is None and len(run_names(cfg.retrieval)) >= 2:
        from kvqae.fusion.search import check_grid

        try:  # a step that does not divide 1 failed at the fusion stage, after every search
            check_grid(len(run_names(cfg.retrieval)), cfg.fusion.step)
        except InputError as e:
            raise InputError(e.reason, field="fusion.step") from None
    if fixed_weights(cfg) is not None:  # a file for other runs fails now, not after the searches
        _check_given_weights(cfg)
    for i, section in enumerate(cfg.retrieval):
        if section.encoder != "bm25":
            _check_encoder(i, section)
    if cfg.rerank is not None and fused_run_name(cfg) is None:
        raise InputError("re-ranking needs one run to re-rank: fuse the runs (fusion, fit_split) or keep one "
                         "retrieval entry", field="rerank")
    if cfg.reader is not None:
        runs = [n for n in dict.fromkeys([*run_names(cfg.retrieval), fused_run_name(cfg)]) if n]
        runs += [reranked_run_name(cfg)] if cfg.rerank is not None else []
        if cfg.reader.run not in runs:
            # the user wrote no run: say where 'fusion' came from
            hint = (" (reader.run is 'fusion' unless set, and nothing is fused here; set it to one of them)"
                    if "run" not in cfg.reader.model_fields_set else "")
            raise InputError(f"{cfg.reader.run!r} is not one of the runs {runs}{hint}", field="reader.run")
        check_reader_dir(cfg.reader.model, "reader.model")
    _check_kb_source(cfg.kb)  # last: it reads the file's first record


def _check_encoder(i: int, section: RetrievalSection) -> None:
    """A dense entry's encoder spec is known and well formed, its model folders exist, and it encodes what the
    entry's mode needs, the questions and the KB field (`st:minilm` for image-image, `dpr:q` or `face:dlib`
    for text-passage failed after the KB was built and encoded, naming neither the file nor the entry)."""
    from kvqae.encode.registry import SPEC_MODALITIES, check_argument, parse_spec
    from kvqae.errors import InputError
    from kvqae.safety import check_model_dir
    from kvqae.search.modes import get_mode

    field = f"retrieval.{i}.encoder"
    try:
        prefix, arg = parse_spec(section.encoder)
    except InputError as e:  # named "encoder", and the lexical index (bm25) not among the choices
        raise InputError(f"{e.reason}, or bm25 (lexical)", field=field) from None
    try:
        check_argument(prefix, arg)
    except InputError as e:
        raise InputError(e.reason, field=field) from None
    mode = get_mode(section.mode)
    needs = {mode.query_kind, "image" if mode.kb_field == "image" else "text"}
    if missing := sorted(needs - SPEC_MODALITIES[prefix]):
        encodes = " and ".join(f"{m}s" for m in sorted(SPEC_MODALITIES[prefix]))
        raise InputError(f"{section.encoder!r} encodes {encodes} only, but mode {mode.name} "
                         f"({mode.description}) needs {' and '.join(m + 's' for m in missing)} encoded too",
                         field=field)
    for name in filter(None, arg.split(",")):
        check_model_dir(name, field, packaged=PACKAGED_MODELS)


def _check_given_weights(cfg: PipelineConfig) -> None:
    """`fusion.weights` names a file for the pipeline's runs, and the fusion keys written beside it agree with
    it: the file's method, norm and default-minimum are applied (`method: rrf` beside a file of weighted sums
    was ignored, and the runs fused by the file's wsum without a word)."""
    from kvqae.errors import InputError
    from kvqae.fusion.search import weights_for_runs

    fusion, path = cfg.fusion, fixed_weights(cfg)
    grid = weights_for_runs(path, run_names(cfg.retrieval))
    for key in ("method", "norm", "default_minimum"):
        given, applied = getattr(fusion, key), getattr(grid, key)
        if key in fusion.model_fields_set and given is not None and given != applied:
            raise InputError(f"{given!r}, but the weights file {path} fuses with {key} {applied!r}, which is "
                             f"applied as it is: drop fusion.{key}, or drop fusion.weights to fit weights "
                             "with it", field=f"fusion.{key}")


def _check_splits(cfg: PipelineConfig) -> None:
    """The evaluated split, and the fit split when weights are fitted, are question splits (entries sharing
    a name are refused below, naming the entry)."""
    from kvqae.errors import InputError

    splits = sorted(cfg.questions)
    if cfg.eval_split not in cfg.questions:
        # the default ("test") was not written in the YAML: say where it came from and what to write
        hint = ("" if "eval_split" in cfg.model_fields_set or not splits else
                " (eval_split is 'test' unless set: name the split to evaluate, e.g. eval_split: "
                f"{splits[0]})")
        raise InputError(f"eval_split {cfg.eval_split!r} is not one of the question splits {splits}{hint}",
                         field="eval_split")
    fusing = cfg.fusion is not None and len(run_names(cfg.retrieval)) > 1 and fixed_weights(cfg) is None
    if fusing and cfg.fit_split is not None and cfg.fit_split not in cfg.questions:
        # a config with only a test split failed on a key it did not write, with nothing to say what to do
        n_runs = len(run_names(cfg.retrieval))
        hint = ("" if "fit_split" in cfg.model_fields_set else
                f" (fit_split is 'validation' unless set: the weights fusing the {n_runs} runs are fitted on "
                "it; add a validation questions file, set fit_split to another split, give fusion.weights, "
                "or write fusion: null to keep the runs unfused)")
        raise InputError(f"fit_split {cfg.fit_split!r} is not one of the question splits {splits}{hint}",
                         field="fit_split")


# `$NAME` / `${NAME}`: a shell variable, which YAML leaves as written
SHELL_VARIABLE = re.compile(r"\$(\{\w+\}|[A-Za-z_]\w*)")


def _config_paths(cfg: PipelineConfig) -> dict[str, str]:
    """Every path of the config by its field: output, inputs, model folders (an encoder spec's arguments)."""
    paths = {"output": cfg.output, "kb.source": cfg.kb.source, "kb.types_from": cfg.kb.types_from,
             **{f"questions.{split}": path for split, path in cfg.questions.items()},
             "fusion.weights": cfg.fusion.weights if cfg.fusion is not None else None,
             "reader.model": cfg.reader.model if cfg.reader is not None else None}
    for i, section in enumerate(cfg.retrieval):
        paths[f"retrieval.{i}.encoder"] = section.encoder.partition(":")[2]
    return {key: str(path) for key, path in paths.items() if path}


def _check_shell_variables(cfg: PipelineConfig) -> None:
    """No path holds a shell variable (`output: $HOME/runs/x`): YAML does not expand it, so the outputs went
    to a folder named "$HOME" beside the YAML file, and an input was "not found" with no word of why. A path
    that exists as written (a file named with a "$") is kept."""
    from kvqae.errors import InputError

    for key, path in _config_paths(cfg).items():
        if (found := SHELL_VARIABLE.search(path)) and not Path(path).exists():
            raise InputError(f"{path!r} holds the shell variable {found.group(0)}, which kvqae does not "
                             "expand (only ~ is): write the path out", field=key)


def _check_inputs_exist(cfg: PipelineConfig) -> None:
    """The KB source, the types file and the question files of the evaluated and fitted splits exist."""
    from kvqae.errors import InputError

    paths = {"kb.source": cfg.kb.source, "kb.types_from": cfg.kb.types_from}
    if cfg.fusion is not None:
        paths["fusion.weights"] = cfg.fusion.weights
    for split in (cfg.eval_split, cfg.fit_split):
        if split in cfg.questions:
            paths[f"questions.{split}"] = cfg.questions[split]
    for key, path in paths.items():
        if path is not None and not Path(path).exists():
            raise InputError(not_found("file", path), path=path, field=key)
    for split, path in cfg.questions.items():
        if Path(path).is_dir():
            raise InputError("expected a questions file, got a folder", path=path, field=f"questions.{split}")


def _check_kb_source(kb: KBSection) -> None:
    """`kb.source` is a built KB folder or an articles file of a format `kvqae kb build` reads: a folder of
    something else, or a file of no known format, failed after the output folder was made."""
    from kvqae.data.articles import detect_article_format
    from kvqae.errors import InputError

    source = Path(kb.source)
    if source.is_dir():
        if not (source / "entities.parquet").exists():
            raise InputError("is a folder but not a built KB (no entities.parquet): give an articles file "
                             "(JSON lines, a MediaWiki export, a ViQuAE KB) or a folder `kvqae kb build` "
                             "wrote", path=source, field="kb.source")
    elif kb.format == "auto":
        try:
            detect_article_format(source)
        except InputError as e:
            raise InputError(e.reason, path=e.path, field="kb.source") from None


def config_notes(cfg: PipelineConfig, splits: list[str]) -> list[str]:
    """Warnings about a config that runs but may not do what its author meant: fitting and evaluating on
    one questions file (the report would then measure the fit), KB build keys given for a KB that is
    already built (its passages were cut when it was built; the keys change nothing), and fusion settings
    given for a single run."""
    notes = _fusion_notes(cfg)
    files = {s: Path(cfg.questions[s]).resolve() for s in splits if s in cfg.questions}
    if len(files) == 2 and len(set(files.values())) == 1:
        a, b = files
        notes.append(f"[questions] warning: {a} and {b} are the same file ({files[a]}): fusion weights "
                     "fitted on it are evaluated on it, so the report overstates them")
    built = (Path(cfg.kb.source) / "entities.parquet").exists()
    ignored = sorted(cfg.kb.model_fields_set & {"words", "sentence_aligned", "types_from", "format"})
    if built and ignored:
        keys = ", ".join(f"kb.{key}" for key in ignored)
        notes.append(f"[kb] warning: {keys} ignored: {cfg.kb.source} is a built KB, whose passages were cut "
                     "when it was built (rebuild it from its articles to change them)")
    return notes


def _fusion_notes(cfg: PipelineConfig) -> list[str]:
    """Warnings about the fusion keys: fitting on the evaluated split, fusion settings for one run or for runs
    that are not fused, and fitting settings beside `fusion.weights`, which are applied without a fit."""
    notes = []
    fitting = fused_run_name(cfg) == "fusion" and fixed_weights(cfg) is None
    if fitting and cfg.fit_split == cfg.eval_split:
        notes.append(f"[fusion] warning: the weights are fitted on {cfg.fit_split!r}, the split evaluated: "
                     "the report overstates the fusion (fit on another split)")
    given = "fusion" in cfg.model_fields_set and cfg.fusion is not None  # `fusion: null` asks for no fusion
    if given and len(run_names(cfg.retrieval)) == 1:
        notes.append("[fusion] note: one run, nothing to fuse: the fusion settings are not used")
    elif given and fused_run_name(cfg) is None:  # several runs, fusion given
        notes.append("[fusion] warning: fit_split is null and fusion.weights not given: the runs are not "
                     "fused (set fit_split to fit the weights, or give fusion.weights)")
    elif fixed_weights(cfg) is not None:
        unused = [f"fusion.{k}" for k in ("step", "metric") if k in cfg.fusion.model_fields_set]
        unused += ["fit_split"] if "fit_split" in cfg.model_fields_set and cfg.fit_split is not None else []
        if unused:
            notes.append(f"[fusion] warning: {', '.join(unused)} not used: the weights in "
                         f"{cfg.fusion.weights} are applied as they are, not fitted (drop fusion.weights to "
                         "fit them)")
    return notes


# what `run_pipeline` writes under `output` (the rest of the folder is left alone)
PIPELINE_WRITES = ("kb", "embeddings", "indexes", "runs", "predictions", "report", "fusion_weights.json",
                   "inputs.json", "bundle.json", ".kvqae-pipeline")


def pipeline_inputs(cfg: PipelineConfig) -> dict[str, list[Path]]:
    """Every input path of a pipeline, by YAML key: KB source, types file, question files, local models."""
    from kvqae.safety import local_path, spec_paths

    inputs: dict[str, list[Path]] = {"kb.source": [cfg.kb.source], "kb.types_from": [cfg.kb.types_from]}
    if cfg.fusion is not None:
        inputs["fusion.weights"] = [cfg.fusion.weights]
    inputs.update({f"questions.{s}": [p] for s, p in cfg.questions.items()})
    for i, section in enumerate(cfg.retrieval):
        inputs[f"retrieval.{i}.encoder"] = [Path(p) for p in spec_paths(section.encoder)]
    if cfg.reader is not None:
        inputs["reader.model"] = [local_path(cfg.reader.model)]
    return {k: [Path(p) for p in v if p is not None] for k, v in inputs.items()}


def check_pipeline_output(cfg: PipelineConfig, extra: dict[str, Path], *, overwrite: bool = False) -> None:
    """`output` must not be or lie inside an input, no input may be or lie inside a path the pipeline writes,
    the folder must be writable and new, empty or an earlier pipeline output (unless `overwrite`)."""
    from kvqae.errors import InputError
    from kvqae.safety import check_replaceable, check_writable, overlap

    out = Path(cfg.output)
    kb_is_built = (Path(cfg.kb.source) / "entities.parquet").exists()
    written = [out / n for n in PIPELINE_WRITES if not (n == "kb" and kb_is_built)]
    for key, paths in {**pipeline_inputs(cfg), **{k: [Path(v)] for k, v in extra.items()}}.items():
        for path in paths:
            clash = [(out, how) for how in [overlap(out, path)] if how in ("is", "lies inside")]
            clash += [(w, how) for w in written for how in [overlap(w, path)] if how is not None]
            if clash:
                where, how = clash[0]
                raise InputError(f"output {where} {how} the input {key} ({path}): the pipeline would write "
                                 "over it; choose another output folder")
    check_writable(out, "output")
    check_replaceable(out, "pipeline", overwrite=overwrite, flag="output")
