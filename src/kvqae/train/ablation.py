"""`kvqae train ablation`: train every variant from one start model and compare retrieval on held-out data.

Variants (names as in the table): `start` (the start model, untrained), `mono`, `cross`, `joint`, `ea` (entity
pretraining, contrastive only), `ea+mlm`, `ea+type`, `ea+mlm+type`, and `mono|cross` (the recipe "train mono,
train cross, fuse at search time": image->image scores from the mono model, image->title scores from the cross
model). For each, on the test questions, over every KB entity with a reference image (exact cosine, numpy):
image->image and image->title MRR@k / P@1, and "fused": per-query z-scored image->image and image->title
scores summed with weights (1 - w, w).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field, field_validator

from kvqae.config import ConfigModel, home_path
from kvqae.errors import InputError
from kvqae.io import read_json, write_json

VARIANTS = ("mono", "cross", "joint", "ea", "ea+mlm", "ea+type", "ea+mlm+type")


# what `variant_config` sets for every variant
_SET_BY_ABLATION = frozenset({"model", "kb", "output_dir", "device", "progress", "mode", "questions",
                              "validation_questions"})


class AblationConfig(ConfigModel):
    """Inputs of the ablation. Either `world` (a `kvqae world` directory: its articles.jsonl is built into
    `<output_dir>/kb`, its questions_{train,validation,test}.jsonl are the splits) or `kb` + question files.
    `model`: the start CLIP (HF name or path) or `preset:tiny` / `preset:small` (a randomly initialised CLIP
    built by `kvqae.encode.small_clip`). `train`: TrainClipConfig keys shared by every variant (lr, epochs,
    batch_size, ...); `entity_train`: extra keys for the EA variants only."""

    model: str
    output_dir: str
    world: str | None = None
    kb: str | None = None
    train_questions: str | None = None
    validation_questions: str | None = None
    test_questions: str | None = None
    variants: list[str] = Field(default_factory=lambda: list(VARIANTS))
    fusion_weight: float = Field(default=0.5, ge=0, le=1, description="weight of image->title when fused")
    k: int = Field(default=100, ge=1)
    train: dict[str, Any] = Field(default_factory=dict)
    entity_train: dict[str, Any] = Field(default_factory=dict)
    seed: int = Field(default=0, ge=0, le=2**32 - 1)
    threads: int | None = Field(default=1, ge=1, le=256,
                                description="torch CPU threads (None: torch's default)")
    device: str = "cpu"
    progress: bool = True

    _home = field_validator("output_dir", "world", "kb", "train_questions", "validation_questions",
                            "test_questions", mode="before")(home_path)

    @field_validator("train", "entity_train")
    @classmethod
    def _no_keys_the_ablation_sets(cls, value: dict[str, Any]) -> dict[str, Any]:
        """Keys each variant's training gets from the ablation (its own folder, mode, start model, inputs):
        given under `train:` they overrode it silently (every variant written into one `output_dir`, over an
        input; `mode: entity` for the mono row; a `device` never checked)."""
        taken = sorted(set(value) & _SET_BY_ABLATION)
        if taken:
            raise ValueError(f"{', '.join(taken)} {'is' if len(taken) == 1 else 'are'} set by the ablation "
                             "for each variant: give model / device at the top level, or drop them")
        from kvqae.train.trainer import TrainClipConfig

        unknown = sorted(set(value) - set(TrainClipConfig.model_fields))
        if unknown:  # refused after the KB and start model were built, naming neither the file nor key
            raise ValueError(f"unknown training key {unknown[0]!r}")
        return value

    @field_validator("model")
    @classmethod
    def _known_preset(cls, value: str) -> str:
        from kvqae.encode.small_clip import CLIP_PRESETS as PRESETS

        if value.startswith("preset:") and value[len("preset:"):] not in PRESETS:
            raise ValueError(f"unknown CLIP preset {value[len('preset:'):]!r}; choose from "
                             f"{', '.join('preset:' + p for p in sorted(PRESETS))}")
        return value


# what a preset start model was built from, beside it: only the same preset and seed reuse it
START_STAMP = "kvqae_start.json"


def _built_from(kb: Any, articles: Path) -> bool:
    """Whether a loaded KB was built from `articles` (its meta.json's source)."""
    source = (getattr(kb, "meta", None) or {}).get("source")
    return source is not None and Path(str(source)).resolve() == articles.resolve()


def resolve_inputs(cfg: AblationConfig) -> AblationConfig:
    """Fill kb / question paths from `world` (building the KB once) and build a preset start model."""
    out = Path(cfg.output_dir)
    updates: dict[str, Any] = {}
    if cfg.world is not None:
        world = Path(cfg.world)
        if not (world / "articles.jsonl").exists():
            raise InputError("not a kvqae world directory (articles.jsonl missing)", path=world)
        if cfg.kb is None:
            from kvqae.data.kb import KnowledgeBase, build_kb

            kb_dir = out / "kb"
            try:
                reusable = _built_from(KnowledgeBase.load(kb_dir), world / "articles.jsonl")
            except InputError:
                reusable = False
            if not reusable:  # an earlier config's KB of another world was reused: wrong figures, exit 0
                build_kb(world / "articles.jsonl", kb_dir, progress=cfg.progress)
            updates["kb"] = str(kb_dir)
        for split in ("train", "validation", "test"):
            key = f"{split}_questions"
            if getattr(cfg, key) is None and (world / f"questions_{split}.jsonl").exists():
                updates[key] = str(world / f"questions_{split}.jsonl")
    if cfg.model.startswith("preset:"):
        from kvqae.encode.small_clip import build_small_clip

        start = out / "start-model"
        stamp = {"model": cfg.model, "seed": cfg.seed}
        made = start / START_STAMP
        if not ((start / "config.json").exists() and made.exists() and read_json(made) == stamp):
            # another preset or seed of an earlier config was reused as this one's start model
            if start.exists():
                shutil.rmtree(start)
            build_small_clip(start, cfg.model[len("preset:"):], seed=cfg.seed)
            write_json(made, stamp)
        updates["model"] = str(start)
    cfg = cfg.model_copy(update=updates)
    for key in ("kb", "train_questions", "test_questions"):
        if getattr(cfg, key) is None:
            raise InputError(f"{key} is needed (or a world directory that has it)", field=key)
    return cfg


@dataclass
class Scores:
    """Retrieval figures of one variant on the test questions."""

    name: str
    image_image_mrr: float
    image_image_p1: float
    image_title_mrr: float
    image_title_p1: float
    fused_mrr: float
    fused_p1: float
    questions: int = 0  # the test questions scored (those with an image and a KB entity that has one)


def mrr_p1(scores: np.ndarray, gold: np.ndarray, k: int) -> tuple[float, float]:
    """MRR@k and P@1 of a (queries, entities) score matrix against gold entity columns (ties count
    against)."""
    gold_scores = scores[np.arange(len(gold)), gold][:, None]
    rank = (scores > gold_scores).sum(axis=1) + 1
    rr = np.where(rank <= k, 1.0 / rank, 0.0)
    return float(rr.mean()), float((rank == 1).mean())


def _embed(
    model_path: str, images: list[str], entity_images: list[str], titles: list[str], device: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from kvqae.encode.clip import ClipEncoder
    from kvqae.train.data import open_image

    enc = ClipEncoder(model_path, device=device)

    def imgs(paths: list[str]) -> np.ndarray:
        out = [np.zeros((0, enc.dim), dtype=np.float32)]
        for s in range(0, len(paths), 64):
            # read as training and `kvqae encode` read them (16-bit tones, premultiplied alpha)
            batch = [open_image(p, record=p) for p in paths[s : s + 64]]
            out.append(enc.encode_images(batch))
        return np.concatenate(out)

    return imgs(images), imgs(entity_images), enc.encode_texts(titles, role="title")


def evaluate_models(
    name: str,
    image_model: str,
    title_model: str,
    questions: list[Any],
    kb: Any,
    *,
    fusion_weight: float = 0.5,
    k: int = 100,
    device: str = "cpu",
) -> Scores:
    """Score one variant: image->image with `image_model`, image->title with `title_model` (the same model
    except for the mono|cross recipe), fused by per-query z-scores."""
    eids = [e for e in kb.entity_ids if kb.image_of(e) is not None]
    col = {e: i for i, e in enumerate(eids)}
    qs = [q for q in questions if q.image and kb.resolve(q.entity) in col]
    if not qs:
        raise InputError(
            "no test question with an image and a KB entity that has an image", field="questions"
        )
    gold = np.array([col[kb.resolve(q.entity)] for q in qs])
    q_img, e_img, e_title = _embed(
        image_model,
        [q.image for q in qs],
        [kb.image_of(e) for e in eids],
        [kb.title_of(e) for e in eids],
        device,
    )
    if title_model != image_model:  # mono|cross: the title side comes from the other model
        q_img2, _, e_title = _embed(
            title_model, [q.image for q in qs], [], [kb.title_of(e) for e in eids], device
        )
    else:
        q_img2 = q_img
    ii = q_img @ e_img.T
    it = q_img2 @ e_title.T
    from kvqae.fusion.core import norm_zscore_query

    fused = (1 - fusion_weight) * norm_zscore_query(ii) + fusion_weight * norm_zscore_query(it)
    return Scores(name, *mrr_p1(ii, gold, k), *mrr_p1(it, gold, k), *mrr_p1(fused, gold, k), len(qs))


LACKS = "name an entity the KB lacks"
NO_REFERENCE = "name an entity without a reference image"


def _left_out(question: Any, kb: Any) -> str | None:
    """Why the table cannot score a test question, None when it can."""
    if not question.image:
        return "have no image"
    if not question.entity:
        return "have no gold entity"
    eid = kb.resolve(question.entity)
    if eid is None:
        return LACKS
    return NO_REFERENCE if kb.image_of(eid) is None else None


def scored_questions(questions: list[Any], kb: Any, source: str | Path) -> tuple[list[Any], str | None]:
    """The test questions the table scores (an image, and a KB entity with a reference image), and a note
    on the others, None when there are none (`evaluate_models` left them out without a word: the table was
    over fewer questions than ablation.json said)."""
    used, why = [], {}
    for q in questions:
        reason = _left_out(q, kb)
        if reason is None:
            used.append(q)
        else:
            why.setdefault(reason, []).append(q)
    if not why:
        return used, None
    parts = [f"{len(qs)} {reason}" + (f" (the first: {qs[0].entity!r})" if reason in (LACKS, NO_REFERENCE)
                                      else "") for reason, qs in why.items()]
    dropped = len(questions) - len(used)
    return used, (f"{dropped} of {len(questions)} test questions ({source}) are left out of the table: "
                  f"{', '.join(parts)}; it scores the other {len(used)}")


def variant_config(name: str, cfg: AblationConfig, out: Path) -> dict[str, Any]:
    """TrainClipConfig fields of one variant (cfg already resolved)."""
    base = {"model": cfg.model, "kb": cfg.kb, "output_dir": str(out / name.replace("+", "_")),
            "device": cfg.device, "progress": cfg.progress, "seed": cfg.seed, **cfg.train}
    if name in ("mono", "cross", "joint"):
        return {**base, "mode": name, "questions": cfg.train_questions,
                "validation_questions": cfg.validation_questions}
    flags = set(name.split("+")[1:])
    base = {**base, **cfg.entity_train}
    base["entity"] = {**base.get("entity", {}), "contrastive": True, "mlm": "mlm" in flags,
                      "entity_type": "type" in flags}
    return {**base, "mode": "entity"}


TABLE_FILES = ("ablation.md", "ablation.json")


def remove_earlier_table(out: Path) -> str | None:
    """Before a run trains or scores: mark `out` as an ablation folder, then remove an earlier run's table, so
    that an interrupted run leaves no table beside models it did not score. A note when one was removed."""
    from kvqae.safety import ABLATION_MARKER

    out.mkdir(parents=True, exist_ok=True)
    (out / ABLATION_MARKER).touch()  # first: the folder stays known as an ablation's without ablation.json
    stale = [out / name for name in TABLE_FILES if (out / name).exists()]
    for path in stale:
        path.unlink()
    if not stale:
        return None
    return (f"removed the earlier run's table ({', '.join(p.name for p in stale)}) in {out}: this run writes "
            "its own when every variant is trained and scored")


def run_ablation(cfg: AblationConfig, note: Callable[[str], None] | None = None) -> list[Scores]:
    """Train each variant, evaluate all on the test split, write `ablation.json` and `ablation.md`; `note`
    gets what the run should say before it trains (an earlier table removed, questions left out).

    Returns the table rows (the start model first, `mono|cross` last)."""
    import torch

    previous_threads = torch.get_num_threads()
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    try:
        return _run(cfg, note or (lambda _: None))
    finally:
        torch.set_num_threads(previous_threads)


def _training_notes(cfg: AblationConfig, out: Path) -> list[str]:
    """`train clip`'s notes on the training / validation questions, for the first question-based variant."""
    from kvqae.config import parse_config
    from kvqae.train.trainer import TrainClipConfig, question_notes

    named = [v for v in cfg.variants if v in ("mono", "cross", "joint")]
    return question_notes(parse_config(TrainClipConfig, variant_config(named[0], cfg, out))) if named else []


def _run(cfg: AblationConfig, note: Callable[[str], None]) -> list[Scores]:
    import time

    from kvqae.config import parse_config
    from kvqae.data.kb import KnowledgeBase
    from kvqae.data.questions import load_questions
    from kvqae.io import atomic_path, write_json
    from kvqae.train.model import strip_spec
    from kvqae.train.trainer import TrainClipConfig, train_clip

    unknown = [v for v in cfg.variants if v not in VARIANTS]
    if unknown:
        raise InputError(f"unknown variant {unknown[0]!r}; choose from {list(VARIANTS)}", field="variants")
    out = Path(cfg.output_dir)
    cfg = resolve_inputs(cfg)
    kb = KnowledgeBase.load(cfg.kb)
    file_questions = load_questions(cfg.test_questions)
    test, left_out = scored_questions(file_questions, kb, cfg.test_questions)
    if not test:  # refused before the earlier table is removed
        raise InputError("no test question with an image and a KB entity that has an image",
                         path=cfg.test_questions, field="test_questions")
    # the inputs read: nothing is trained or scored before an earlier run's table is gone
    for message in [remove_earlier_table(out), left_out, *_training_notes(cfg, out / "models")]:
        if message:
            note(message)
    start = strip_spec(cfg.model)
    rows = [
        evaluate_models(
            "start", start, start, test, kb, fusion_weight=cfg.fusion_weight, k=cfg.k, device=cfg.device
        )
    ]
    paths: dict[str, str] = {}
    seconds: dict[str, float] = {}
    for name in cfg.variants:
        tc = parse_config(TrainClipConfig, variant_config(name, cfg, out / "models"))
        started = time.perf_counter()
        result = train_clip(tc)
        seconds[name] = round(time.perf_counter() - started, 1)
        paths[name] = str(result.output_dir)
        rows.append(
            evaluate_models(
                name,
                paths[name],
                paths[name],
                test,
                kb,
                fusion_weight=cfg.fusion_weight,
                k=cfg.k,
                device=cfg.device,
            )
        )
    if "mono" in paths and "cross" in paths:
        rows.append(
            evaluate_models(
                "mono|cross",
                paths["mono"],
                paths["cross"],
                test,
                kb,
                fusion_weight=cfg.fusion_weight,
                k=cfg.k,
                device=cfg.device,
            )
        )
    write_json(
        out / "ablation.json",
        {
            "test_questions": len(test),  # those the table scores
            "test_questions_left_out": len(file_questions) - len(test),
            "k": cfg.k,
            "fusion_weight": cfg.fusion_weight,
            "rows": [r.__dict__ for r in rows],
            "models": paths,
            "train_seconds": seconds,
        },
    )
    with atomic_path(out / "ablation.md") as tmp:
        tmp.write_text(markdown_table(rows, cfg.k), encoding="utf-8")
    return rows


def markdown_table(rows: list[Scores], k: int = 100) -> str:
    head = (
        f"| model | image->image MRR@{k} | P@1 | image->title MRR@{k} | P@1 | fused MRR@{k} | P@1 |\n"
        "|---|---:|---:|---:|---:|---:|---:|\n"
    )
    body = "".join(
        f"| {r.name} | {r.image_image_mrr:.3f} | {r.image_image_p1:.3f} | {r.image_title_mrr:.3f} | "
        f"{r.image_title_p1:.3f} | {r.fused_mrr:.3f} | {r.fused_p1:.3f} |\n"
        for r in rows
    )
    counts = sorted({r.questions for r in rows if r.questions})
    # the number the figures are over, below the table (a blank line ends it)
    return head + body + (f"\nover {counts[0]} test questions\n" if len(counts) == 1 else "")
