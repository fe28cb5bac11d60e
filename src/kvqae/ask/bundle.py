"""The answering bundle: one manifest (`bundle.json`) that says how to answer a new question with the
outputs of `kvqae run` or `kvqae demo`.

It records the KB, every retrieval entry (mode, encoder spec, index directory), the fusion settings with
the fitted weights and the z-score statistics of each run on the fit split, the optional re-ranking, the
reader and its top-K, and
the questions file of the evaluation split (for examples). Paths are stored relative to the bundle folder,
so the folder can be moved together with what it points to; `load_bundle` resolves and checks them.

```json
{"format": "kvqae-bundle/1", "created_by": "kvqae run", "kb": "kb", "k": 100,
 "retrieval": [{"name": "image-title", "mode": "image-title", "encoder": "clip:models/clip",
                "encoder_paths": ["../models/clip"], "index": "indexes/title-clip_models_clip-Flat"}],
 "fusion": {"method": "wsum", "norm": "zscore", "default_minimum": "raw", "rrf_k": 60.0,
            "weights": {"image-title": 0.5, ...}, "zscore_stats": {"image-title": [0.31, 0.05], ...},
            "fit_split": "validation"},
 "rerank": {"method": "proximity", "weight": 12.0, "words": 30, "top_n": 8},
 "reader": {"model": "../artifacts/reader-minilm", "model_is_path": true, "top_k": 8},
 "examples": "../world/questions_test.jsonl", "eval_split": "test"}
```
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from kvqae.config import ConfigModel, parse_config
from kvqae.errors import InputError
from kvqae.fusion.modes import DefaultMinimumSetting
from kvqae.io import not_found, read_json, write_json
from kvqae.rerank.settings import RerankSettings

BUNDLE_FILE = "bundle.json"
BUNDLE_FORMAT = "kvqae-bundle/1"

ModeName = Literal["image-image", "image-title", "text-passage", "image-passage"]


class BundleRetrieval(ConfigModel):
    """One retrieval mode of the bundle."""

    name: str
    mode: ModeName
    # the spec exactly as recorded in the index (queries are checked against it)
    encoder: str
    # one entry per comma-separated argument of the spec: a path relative to the bundle, or None when the
    # argument is a name (hub model, "minilm", "dlib") to pass as it is
    encoder_paths: list[str | None] = []
    index: str
    entity_context: bool = False  # also fuse `<name>@entity` (kvqae.search.passages.entity_context_run)

    @model_validator(mode="after")
    def _bm25_is_text_passage(self) -> BundleRetrieval:
        """The rule `kvqae run` applies: a BM25 index is searched with the question's text for passages (an
        edited entry with another mode was blamed on the KB's ids)."""
        if self.encoder == "bm25" and self.mode != "text-passage":
            raise ValueError(f"encoder bm25 only serves mode text-passage, not {self.mode}")
        return self


class BundleFusion(ConfigModel):
    method: str = "wsum"
    norm: str = "zscore"
    # "off" | "raw" | "normalized" | None (the norm's default); `true` (older bundles) reads "normalized"
    default_minimum: DefaultMinimumSetting = None
    rrf_k: float = 60.0
    weights: dict[str, float]
    # (mean, std) of each run's scores on the fit split: "zscore" normalises one new question with them
    zscore_stats: dict[str, tuple[float, float]] | None = None
    fit_split: str | None = None


class BundleReader(ConfigModel):
    model: str
    model_is_path: bool = True  # False: `model` is a hub name
    top_k: int = Field(8, ge=1)
    # the run the reader reads when the pipeline's `reader.run` is not the fused (or only) one; None: that one
    run: str | None = None


class Bundle(ConfigModel):
    """The manifest. Paths are relative to `root` in the file and absolute once loaded."""

    format: Literal["kvqae-bundle/1"] = BUNDLE_FORMAT
    created_by: str = "kvqae run"
    kb: str
    k: int = Field(100, ge=1)
    retrieval: list[BundleRetrieval] = Field(min_length=1)
    fusion: BundleFusion | None = None
    # term-proximity re-ranking of the fused (or only) run before reading; None in older bundles
    rerank: RerankSettings | None = None
    reader: BundleReader | None = None
    examples: str | None = None
    eval_split: str | None = None
    # the `examples` path as written when it no longer exists (a bundle copied without its data): `ask` needs
    # no examples, and `serve` says the page has none; never written to bundle.json
    missing_examples: str | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _reads_what_it_retrieves(self) -> Bundle:
        """The reader reads at most the `k` passages retrieval keeps (`kvqae run` writes min(top_k, k))."""
        if self.reader is not None and self.reader.top_k > self.k:
            raise ValueError(f"reader.top_k {self.reader.top_k} is more than the {self.k} passages retrieval "
                             "keeps (k); lower it")
        return self

    def run_names(self) -> list[str]:
        """Every fused run in order: each entry's name, then `<name>@entity` when it has an entity context."""
        names = []
        for e in self.retrieval:
            names += [e.name, f"{e.name}@entity"] if e.entity_context else [e.name]
        return names

    def encoder_load_spec(self, entry: BundleRetrieval) -> str:
        """The spec to load the encoder from: the recorded spec with its path arguments resolved."""
        prefix, sep, arg = entry.encoder.partition(":")
        if not sep or not entry.encoder_paths:
            return entry.encoder
        args = arg.split(",")
        if len(args) != len(entry.encoder_paths):
            raise InputError(
                f"{len(entry.encoder_paths)} encoder paths for {len(args)} spec arguments",
                field=f"retrieval.{entry.name}.encoder_paths",
            )
        resolved = [a if p is None else p for a, p in zip(args, entry.encoder_paths, strict=True)]
        return f"{prefix}:{','.join(resolved)}"


def _relative(path: str | Path, root: Path) -> str:
    return Path(os.path.relpath(Path(path).resolve(), root.resolve())).as_posix()


def spec_paths(spec: str) -> list[str | None]:
    """For each comma-separated argument of an encoder spec: the argument when it is an existing path,
    else None (a name such as a hub model or "minilm")."""
    _, sep, arg = spec.partition(":")
    if not sep:
        return []
    return [a if a and Path(a).exists() else None for a in arg.split(",")]


def save_bundle(bundle: Bundle, root: str | Path) -> Path:
    """Write `bundle` (paths absolute or relative to the working directory) to `root/bundle.json`, with
    every path made relative to `root`. Returns the manifest path."""
    root = Path(root)
    data = bundle.model_dump(mode="json")
    data["kb"] = _relative(bundle.kb, root)
    for entry in data["retrieval"]:
        entry["index"] = _relative(entry["index"], root)
        entry["encoder_paths"] = [None if p is None else _relative(p, root) for p in entry["encoder_paths"]]
    if bundle.reader is not None and bundle.reader.model_is_path:
        data["reader"]["model"] = _relative(bundle.reader.model, root)
    if bundle.examples is not None:
        data["examples"] = _relative(bundle.examples, root)
    write_json(root / BUNDLE_FILE, data)
    return root / BUNDLE_FILE


def load_bundle(root: str | Path) -> Bundle:
    """Read `root/bundle.json` and return it with absolute paths; a missing manifest or a path that no
    longer exists is an InputError naming the manifest and the field."""
    root = Path(root)
    manifest = root / BUNDLE_FILE
    if not root.exists():  # it said "not a folder" for a folder that is not there at all
        raise InputError(not_found("answering folder", root) + " (give the output folder of `kvqae run` or "
                         "`kvqae demo`)", path=root)
    if not root.is_dir():
        raise InputError("not a folder (give the output folder of `kvqae run` or `kvqae demo`)", path=root)
    if not manifest.is_file():
        raise InputError(
            f"no {BUNDLE_FILE} here: run `kvqae run PIPELINE.yaml` or `kvqae demo` to make an answerable "
            "output folder",
            path=root,
        )
    bundle = parse_config(Bundle, read_json(manifest, "bundle manifest"), path=manifest)

    def resolve(rel: str, field: str) -> str:
        path = (root / rel).resolve()
        if not path.exists():
            raise InputError(f"{rel} does not exist", path=manifest, field=field)
        return str(path)

    data = bundle.model_dump()
    data["kb"] = resolve(bundle.kb, "kb")
    for i, entry in enumerate(data["retrieval"]):
        entry["index"] = resolve(entry["index"], f"retrieval.{i}.index")
        entry["encoder_paths"] = [
            None if p is None else resolve(p, f"retrieval.{i}.encoder_paths")
            for p in entry["encoder_paths"]
        ]
    if bundle.reader is not None and bundle.reader.model_is_path:
        data["reader"]["model"] = resolve(bundle.reader.model, "reader.model")
        from kvqae.safety import MODEL_FILES

        model = Path(data["reader"]["model"])  # one without model files would fail deep in transformers
        if not model.is_dir() or not (any((model / f).is_file() for f in MODEL_FILES)
                                      or any(model.glob("*.safetensors"))):
            raise InputError(f"{bundle.reader.model} is not a model folder (expected config.json and "
                             "model.safetensors or pytorch_model.bin)", path=manifest, field="reader.model")
    if bundle.examples is not None:
        found = (root / bundle.examples).resolve()
        if found.exists():
            data["examples"] = str(found)
        else:  # only the page's example questions come from it: not a reason to refuse the bundle
            data["examples"], data["missing_examples"] = None, bundle.examples
    names = bundle.run_names()
    if len(set(names)) != len(names):
        raise InputError("two retrieval entries share a name", path=manifest, field="retrieval")
    if bundle.reader is not None and bundle.reader.run is not None and bundle.reader.run not in names:
        raise InputError(f"{bundle.reader.run!r} is not one of the runs {names}", path=manifest,
                         field="reader.run")
    if bundle.fusion is not None and set(bundle.fusion.weights) != set(names):
        raise InputError(
            f"fusion weights name {sorted(bundle.fusion.weights)}, the retrieval entries {sorted(names)}",
            path=manifest,
            field="fusion.weights",
        )
    if bundle.fusion is not None:
        from kvqae.fusion.core import METHODS, NORMALISATIONS, check_rrf_k, check_weights

        # checked here, not at the first question: there `fuse` named neither bundle.json nor the field
        for key, value, known, what in (("method", bundle.fusion.method, METHODS, "fusion method"),
                                        ("norm", bundle.fusion.norm, NORMALISATIONS, "normalisation")):
            if value not in known:
                raise InputError(f"unknown {what} {value!r}; choose from {sorted(known)}", path=manifest,
                                 field=f"fusion.{key}")
        check_weights(list(bundle.fusion.weights.values()), path=str(manifest), field="fusion.weights")
        check_rrf_k(bundle.fusion.rrf_k, path=str(manifest), field="fusion.rrf_k")
        stats = bundle.fusion.zscore_stats
        missing = [n for n in names if stats is not None and n not in stats]
        if missing and bundle.fusion.norm == "zscore":
            raise InputError(f"no (mean, std) for run {missing[0]!r}", path=manifest,
                             field="fusion.zscore_stats")
        # a NaN mean or a negative std (floored at 1e-9) let that run outweigh the others, silently; a std of
        # 0 is what `kvqae run` records for a run whose fit-split scores are all equal
        for name in names if stats is not None and bundle.fusion.norm == "zscore" else ():
            mean, std = stats[name]
            if not math.isfinite(mean):
                raise InputError(f"the mean must be a finite number, got {mean:g}", path=manifest,
                                 field=f"fusion.zscore_stats.{name}")
            if not (math.isfinite(std) and std >= 0):
                raise InputError(f"the standard deviation must be a finite number >= 0, got {std:g}",
                                 path=manifest, field=f"fusion.zscore_stats.{name}")
    return Bundle.model_validate(data)
