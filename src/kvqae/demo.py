"""`kvqae demo`: the whole system on a synthetic entity world, offline, on CPU, in a few minutes.

1. generate a world (entities with procedurally drawn images, articles, questions in train/validation/test);
2. build its KB; train a small CLIP from scratch on it (by default cross-modal (image, title) InfoNCE on the
   training depictions, i.e. question-style images paired with the entity's name; or with the KB images too;
   or the joint loss);
3. run image->title and image->image (the trained CLIP) and text->passage (packaged MiniLM) retrieval through
   `kvqae run`'s pipeline, fit fusion weights on validation, apply them on test;
4. read answers with an extractive reader trained on the world within a time budget: the default Wikipedia
   reader (`make reader`) fine-tuned when it is built, else one from MiniLM's first layers; its training
   questions are the world's training questions plus every fact no evaluation question asks;
5. write a report directory: the seeds' table, JSON of every figure, a t-SNE of passage embeddings coloured by
   entity, the fusion heat map, and a Markdown page tying them together.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import typer
from pydantic import Field

from kvqae.config import ConfigModel, parse_config
from kvqae.world.generate import WorldConfig

DEFAULT_READER = Path("artifacts/reader-minilm")


class DemoConfig(ConfigModel):
    """Sizes of the demo; the defaults aim at <= 5 minutes on 2 CPU cores (measured in docs/demo.md)."""

    out: Path = Path("demo-output")
    # many depictions per entity: extra training images are cheap to render and a from-scratch ViT needs
    # them; 2 test and 2 validation questions per entity so a few unseen entities do not dominate the test
    world: WorldConfig = WorldConfig(
        n_entities=60, depictions_per_entity=64, questions_per_entity=6, held_out_per_entity=2
    )
    clip_preset: str = "demo"
    # "cross": cross-modal (image, title) InfoNCE on the training depictions (question-style images paired
    # with the entity's name, as in the seeds' cross-modal fine-tuning); "cross-kb": the same plus every KB
    # image (the KB is available at training time); "joint": the trainer's joint mono+cross loss on the
    # training questions only. No validation or test image is used by any of them.
    clip_training: Literal["cross", "cross-kb", "joint"] = "cross"
    clip_augment: bool = False  # cross-kb only: also grey and edge-drawn copies of each KB image
    clip_epochs: int = Field(default=20, ge=1)
    # a time budget for the CLIP (None: all epochs): 20 epochs take ~143 s on an idle 2-core machine; on a
    # slower one the budget ends the training early so that the demo stays within its 5 minutes
    clip_minutes: float | None = Field(default=2.5, gt=0, allow_inf_nan=False)
    clip_lr: float = 1e-3
    clip_weight_decay: float = 0.05
    clip_batch_size: int = 64
    text_encoder: str = "st:minilm"
    reader: Path | None = None  # a trained reader; default: the cached one (if allowed) or a new one
    use_cached_reader: bool = True  # fine-tune artifacts/reader-minilm (make reader) when it exists
    reader_layers: int = 3  # the world reader starts from MiniLM's first layers (faster to train and run)
    reader_epochs: int = 6
    reader_lr: float = 5e-4
    reader_max_length: int = 128  # tokens per (question, passage window) row
    reader_negatives: int = 3  # passages without the answer per training question (its entity's first)
    reader_init: Path | None = None  # a trained reader to fine-tune on the world (None: MiniLM's layers)
    reader_windows: int | None = 1  # read only this many windows per passage (the ones sharing most
    # question words; with a short reader_max_length: cheaper training steps and reading)
    reader_minutes: float = 1.5  # time budget of the demo's own reader training
    reader_top_k: int = 5
    read_answers: bool = True  # False: retrieval and fusion only (no reader trained or run)
    gallery_questions: int = 6  # test questions shown answered in the report (0: no gallery)
    seed: int = 0
    # torch CPU threads; None: torch's default (all cores: 2 threads took 211 s vs 279 s for 1 on an idle
    # 2-core machine; on an oversubscribed one, 1 thread is faster)
    threads: int | None = Field(default=None, ge=1)


def clip_pairs(world_dir: Path, kb, cfg: DemoConfig) -> tuple[list, list]:
    """Training and validation pairs for the demo's CLIP.

    `cross`: (image, title) for every training depiction; `cross-kb`: the same plus every KB reference
    image (and, with `clip_augment`, a grey and an edge-drawn copy of each KB image, the statue/sketch cases
    built from what the KB holds); `joint`: the training questions' (image, reference image, title).
    Validation pairs always come from the validation questions. No validation or test image is ever used.
    """
    from kvqae.data.questions import load_questions
    from kvqae.train.data import TrainPair, question_pairs
    from kvqae.world.generate import image_title_pairs

    mode = "joint" if cfg.clip_training == "joint" else "cross"
    val = question_pairs(load_questions(world_dir / "questions_validation.jsonl"), kb, mode)
    if mode == "joint":
        return question_pairs(load_questions(world_dir / "questions_train.jsonl"), kb, mode), val
    with_kb = cfg.clip_training == "cross-kb"
    train = [
        TrainPair(entity=e, image=str(img), text=title)
        for img, e, title in image_title_pairs(world_dir, splits=("train",), include_kb=with_kb)
    ]
    if with_kb and cfg.clip_augment:
        from PIL import Image, ImageFilter, ImageOps

        for e in kb.entity_ids:
            path = kb.image_of(e)
            if path is None:
                continue
            with Image.open(path) as im:
                grey = ImageOps.grayscale(im.convert("RGB"))
            stone = ImageOps.autocontrast(grey).convert("RGB")
            sketch = ImageOps.invert(grey.filter(ImageFilter.FIND_EDGES)).convert("RGB")
            train += [TrainPair(entity=e, image=v, text=kb.title_of(e)) for v in (stone, sketch)]
    return train, val


def _train_world_reader(kb, train_qs, val_qs, out: Path, cfg: DemoConfig, progress: bool) -> dict:
    """A small reader for the world: MiniLM's first `reader_layers` layers + span head, trained on
    `train_qs` (the world's training questions plus every fact no evaluation question asks, see
    `kvqae.world.reader_questions`), each with one passage of its entity holding the answer and one other
    passage (of its entity when one lacks the answer, else another entity's) as distractor. Validation
    questions select the checkpoint. Returns the training summary (best EM/F1 on validation, steps)."""
    import numpy as np

    from kvqae.data.runs import Run
    from kvqae.encode.packaged import minilm_path
    from kvqae.read.model import ReaderSettings
    from kvqae.read.train import ReaderTrainConfig, run_examples, train_reader_model

    rng = np.random.default_rng(cfg.seed)
    ids = kb.passage_ids

    def gold_run(questions) -> Run:
        # the entity's passages first, then random others: run_examples takes its positives and negatives
        scores = {}
        for q in questions:
            docs = {pid: 1.0 for pid in kb.passages_of(q.entity)}
            for j in rng.choice(len(ids), size=min(8, len(ids)), replace=False).tolist():
                docs.setdefault(ids[j], 0.0)
            scores[q.id] = docs
        return Run(scores, "gold", "passage")

    train = run_examples(kb, train_qs, gold_run(train_qs), relevant=1, irrelevant=cfg.reader_negatives)
    val = run_examples(kb, val_qs, gold_run(val_qs), relevant=1, irrelevant=2)
    start = cfg.reader_init
    rcfg = ReaderTrainConfig(
        init_model=str(start or minilm_path()),
        layers=None if start else cfg.reader_layers,
        epochs=cfg.reader_epochs,
        lr=cfg.reader_lr,
        warmup=0.1,
        max_minutes=cfg.reader_minutes,
        eval_every=0,
        max_eval_questions=60,
        batch_questions=4,
        freeze_embeddings=True,  # cheaper steps; the world's words are ordinary WordPiece pieces
        seed=cfg.seed,
        settings=ReaderSettings(
            max_length=cfg.reader_max_length, stride=cfg.reader_max_length // 3,
            windows_per_passage=cfg.reader_windows,
        ),
    )
    result = train_reader_model(train, val, out, rcfg, progress=progress)
    return {"best": result.best, "steps": result.steps, "train_questions": len(train)}


def fact_questions(world_dir: Path) -> list:
    """The world's unasked facts as `Question`s (reader training data)."""
    from kvqae.data.questions import Question
    from kvqae.world.reader_questions import unasked_fact_questions

    return [
        Question(id=r["id"], question=r["question"], answers=r["answers"], entity=r["entity"])
        for r in unasked_fact_questions(world_dir)
    ]


def read_gold_passages(reader_dir: Path, kb, questions: list) -> dict[str, float]:
    """EM/F1 (%) of the reader on each question's gold entity passages: reading alone, without retrieval."""
    from kvqae.evaluate.answers import exact_match, f1_score
    from kvqae.read.model import PassageInput, Reader

    reader = Reader.load(reader_dir)
    em = f1 = 0.0
    for q in questions:
        passages = [PassageInput(pid, kb.passage_text(pid)) for pid in kb.passages_of(q.entity)]
        answer = reader.predict(q.question, passages)[0].answer
        em += exact_match(answer, q.answers)
        f1 += f1_score(answer, q.answers)
    n = max(len(questions), 1)
    return {"em": 100 * em / n, "f1": 100 * f1 / n, "n": len(questions)}


def tsne_plot(store_dir: Path, kb, out_png: Path, *, n_entities: int = 12, seed: int = 0) -> Path:
    """t-SNE of the passage embeddings of the `n_entities` entities with most passages, coloured by entity."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from sklearn.manifold import TSNE

    from kvqae.encode.store import EmbeddingStore
    from kvqae.io import atomic_path

    store = EmbeddingStore.load(store_dir)
    owner = [kb.entity_of(pid) for pid in store.ids]
    counts: dict[str, int] = {}
    for e in owner:
        counts[e] = counts.get(e, 0) + 1
    chosen = sorted(counts, key=lambda e: (-counts[e], e))[:n_entities]
    rows = [i for i, e in enumerate(owner) if e in set(chosen)]
    vectors = np.asarray(store.vectors)[rows]
    points = TSNE(
        n_components=2, perplexity=min(10.0, max(2.0, len(rows) / 4)), random_state=seed, init="pca"
    ).fit_transform(vectors)
    fig, ax = plt.subplots(figsize=(6.5, 5))
    cmap = plt.get_cmap("tab20")
    for c, entity in enumerate(chosen):
        sel = [k for k, i in enumerate(rows) if owner[i] == entity]
        ax.scatter(points[sel, 0], points[sel, 1], s=22, color=cmap(c % 20), label=kb.title_of(entity)[:28])
    ax.set_title("t-SNE of passage embeddings, coloured by entity")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(fontsize=6, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return out_png


def demo_gallery(bundle_dir: Path, test_questions: list, report: Path, n: int) -> str:
    """Answer `n` test questions (spread over the split) with the demo's bundle; write `gallery.png` and
    return the Markdown table of the same rows."""
    from kvqae.ask.answer import Answerer
    from kvqae.ask.gallery import answered_rows, gallery_markdown, pick_examples, render_gallery

    answerer = Answerer.load(bundle_dir)
    rows = answered_rows(answerer, pick_examples(test_questions, n))
    render_gallery(answerer, rows, report / "gallery.png")
    return gallery_markdown(rows)


def run_demo(cfg: DemoConfig, *, progress: bool = True, log=print) -> dict:
    """Run the demo end to end.

    Returns {"table": markdown, "report": dir, "timings": {...}, "systems": [...], "weights": {...}}.
    """
    import torch

    previous_threads = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    try:
        return _run_demo(cfg, progress=progress, log=log)
    finally:
        torch.set_num_threads(previous_threads)


@dataclass
class _DemoWorld:
    """The generated world, its KB, and its questions files by split."""

    world: Path
    kb_dir: Path
    kb: Any
    qfiles: dict[str, Path]


def _run_demo(cfg: DemoConfig, *, progress: bool, log) -> dict:
    from kvqae.data.questions import load_questions
    from kvqae.io import atomic_path, write_json
    from kvqae.pipeline import write_pipeline_report

    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    models: dict[str, str] = {}
    t_start = time.perf_counter()
    world = _make_world(cfg, out, timings, progress, log)
    clip_dir, clip_result = _train_demo_clip(cfg, out, world, timings, models, progress, log)
    cfg, reader_dir = _demo_reader(cfg, out, world, timings, models, progress, log)
    pipe, result = _run_demo_pipeline(cfg, out, world, clip_dir, reader_dir, timings, models, progress, log)
    report = out / "report"
    paths = write_pipeline_report(result, report)
    tsne = _demo_tsne(cfg, out, world.kb, report)
    gold_reading = None
    if cfg.read_answers:  # the reader alone: test questions over their gold entity's passages
        t0 = time.perf_counter()
        gold_reading = read_gold_passages(Path(reader_dir), world.kb, load_questions(world.qfiles["test"]))
        timings["reader on gold passages"] = time.perf_counter() - t0
    gallery = _demo_bundle(cfg, out, world, report, timings)
    timings["total"] = time.perf_counter() - t_start
    table = Path(paths["markdown"]).read_text(encoding="utf-8")
    summary = _demo_summary(cfg, models, timings, pipe, result, gold_reading)
    write_json(report / "demo.json", summary)
    page = _report_page(cfg, table, gold_reading, models, summary["fusion_weights"], paths, gallery, tsne,
                        timings)
    with atomic_path(report / "README.md") as tmp:
        tmp.write_text("\n".join(page), encoding="utf-8")
    return {
        "table": table,
        "clip_history": clip_result.history,
        "report": report,
        "timings": timings,
        "systems": result["systems"],
        "weights": summary["fusion_weights"],
        "reader_gold_passages": gold_reading,
    }


def _make_world(cfg: DemoConfig, out: Path, timings: dict[str, float], progress: bool, log) -> _DemoWorld:
    """Generate the world into `out/world` and build its KB into `out/kb` (timed as "world" and "kb")."""
    from kvqae.data.kb import build_kb
    from kvqae.world import generate_world

    t0 = time.perf_counter()
    world = generate_world(out / "world", cfg.world, progress=progress)
    timings["world"] = time.perf_counter() - t0
    log(f"[world] {cfg.world.n_entities} entities -> {world}")

    t0 = time.perf_counter()
    kb_dir = out / "kb"
    kb = build_kb(world / "articles.jsonl", kb_dir, progress=progress)
    timings["kb"] = time.perf_counter() - t0
    qfiles = {s: world / f"questions_{s}.jsonl" for s in ("train", "validation", "test")}
    return _DemoWorld(world, kb_dir, kb, qfiles)


def _train_demo_clip(cfg: DemoConfig, out: Path, world: _DemoWorld, timings: dict[str, float],
                     models: dict[str, str], progress: bool, log) -> tuple[Path, Any]:
    """Train the demo's CLIP from scratch into `out/models/clip-<training>`; records its timing and its
    description in `models`. Returns (its folder, `train_clip`'s result)."""
    from kvqae.encode.small_clip import build_small_clip
    from kvqae.train.trainer import TrainClipConfig, train_clip

    t0 = time.perf_counter()
    init = build_small_clip(out / "models" / "clip-init", cfg.clip_preset, seed=cfg.seed)
    clip_dir = out / "models" / f"clip-{cfg.clip_training}"
    train_pairs, val_pairs = clip_pairs(world.world, world.kb, cfg)
    clip_result = train_clip(
        TrainClipConfig(
            mode="joint" if cfg.clip_training == "joint" else "cross",
            model=str(init),
            output_dir=str(clip_dir),
            lr=cfg.clip_lr,
            weight_decay=cfg.clip_weight_decay,
            epochs=cfg.clip_epochs,
            max_minutes=cfg.clip_minutes,
            batch_size=cfg.clip_batch_size,
            warmup_steps=10,
            seed=cfg.seed,
            resume=False,
            threads=cfg.threads,
            progress=progress,
        ),
        train_pairs=train_pairs,
        val_pairs=val_pairs,
    )
    timings["train clip"] = time.perf_counter() - t0
    models["clip"] = (
        f"CLIP '{cfg.clip_preset}' preset, from scratch, {cfg.clip_training} "
        f"({len(train_pairs)} training pairs"
        f"{', KB images augmented' if cfg.clip_training == 'cross-kb' and cfg.clip_augment else ''}), "
        f"{cfg.clip_epochs} epochs, lr {cfg.clip_lr:g}, "
        + (f"stopped by its {cfg.clip_minutes:g}-minute budget after {len(clip_result.history)} epochs, "
           if clip_result.stopped_by_time_budget else "")
        + f"epoch {clip_result.best_epoch + 1} selected on validation"
    )
    log(f"[train] CLIP -> {clip_dir} ({timings['train clip']:.0f}s)")
    return clip_dir, clip_result


def _demo_reader(cfg: DemoConfig, out: Path, world: _DemoWorld, timings: dict[str, float],
                 models: dict[str, str], progress: bool, log) -> tuple[DemoConfig, Path | None]:
    """The reader the demo reads with: none (`read_answers` off), the given one, or one trained on the world
    into `out/models/reader` (from the cached Wikipedia reader when allowed and built). Records its timing and
    description. Returns (the config, with `reader_init` set when the cached reader is fine-tuned; the
    reader's folder)."""
    from kvqae.data.questions import load_questions

    t0 = time.perf_counter()
    reader_dir = cfg.reader
    if not cfg.read_answers:
        models["reader"] = "none (read_answers off)"
    elif reader_dir is None:
        cached = (DEFAULT_READER / "kvqae_reader.json").exists()
        if cfg.reader_init is None and cfg.use_cached_reader and cached:
            cfg = cfg.model_copy(update={"reader_init": DEFAULT_READER})  # fine-tune the Wikipedia reader
        reader_dir = out / "models" / "reader"
        train_qs = load_questions(world.qfiles["train"]) + fact_questions(world.world)
        info = _train_world_reader(
            world.kb, train_qs, load_questions(world.qfiles["validation"]), reader_dir, cfg, progress
        )
        best = info["best"] or {}
        layers = f"MiniLM's first {cfg.reader_layers} layers"
        start = f"the reader {cfg.reader_init}" if cfg.reader_init else layers
        models["reader"] = (
            f"{start} + span head, trained on {info['train_questions']} questions (the world's training "
            f"questions and every fact no evaluation question asks; {info['steps']} steps, <= "
            f"{cfg.reader_minutes} min; validation EM {best.get('em', 0):.1f} F1 {best.get('f1', 0):.1f})"
        )
    else:
        models["reader"] = f"given reader {reader_dir}"
    timings["reader model"] = time.perf_counter() - t0
    if cfg.read_answers:
        log(f"[train] reader -> {reader_dir} ({timings['reader model']:.0f}s)")
    return cfg, reader_dir


def _run_demo_pipeline(cfg: DemoConfig, out: Path, world: _DemoWorld, clip_dir: Path, reader_dir: Path | None,
                       timings: dict[str, float], models: dict[str, str], progress: bool, log
                       ) -> tuple[Any, dict]:
    """`kvqae run`'s pipeline into `out/pipeline`: image->title and image->image with the demo's CLIP,
    text->passage, fusion fitted on validation, and the reader. Returns (its config, its result)."""
    from kvqae.pipeline import (
        FusionSection,
        KBSection,
        PipelineConfig,
        ReaderSection,
        RetrievalSection,
        run_pipeline,
    )

    clip_spec = f"clip:{clip_dir}"
    pipe = PipelineConfig(
        output=out / "pipeline",
        kb=KBSection(source=world.kb_dir),
        questions={"validation": world.qfiles["validation"], "test": world.qfiles["test"]},
        retrieval=[
            RetrievalSection(mode="image-title", encoder=clip_spec),
            RetrievalSection(mode="image-image", encoder=clip_spec),
            RetrievalSection(mode="text-passage", encoder=cfg.text_encoder),
        ],
        fusion=FusionSection(),
        reader=ReaderSection(model=str(reader_dir), top_k=cfg.reader_top_k) if cfg.read_answers else None,
        dataset="world",
        passage_requires_entity=True,  # gold entities known: elsewhere is luck
    )
    models["text-passage"] = cfg.text_encoder
    result = run_pipeline(pipe, progress=progress, log=log, force=True)
    timings.update({f"pipeline {k}": v for k, v in result["timings"].items()})
    return pipe, result


def _demo_tsne(cfg: DemoConfig, out: Path, kb: Any, report: Path) -> Path | None:
    """The t-SNE plot of the MiniLM passage embeddings (None with another text encoder)."""
    if cfg.text_encoder != "st:minilm":
        return None
    return tsne_plot(
        out / "pipeline" / "embeddings" / "kb-passage-st_minilm",
        kb,
        report / "tsne_passages.png",
        seed=cfg.seed,
    )


def _demo_bundle(cfg: DemoConfig, out: Path, world: _DemoWorld, report: Path, timings: dict[str, float]
                 ) -> str | None:
    """Make the demo folder an answerable bundle (`kvqae ask` / `kvqae serve demo-output`) and, when asked,
    answer the gallery's test questions with it. Returns the gallery's Markdown (None without one)."""
    from kvqae.ask.bundle import load_bundle, save_bundle
    from kvqae.data.questions import load_questions

    t0 = time.perf_counter()
    bundle = load_bundle(out / "pipeline").model_copy(update={"created_by": "kvqae demo"})
    save_bundle(bundle, out)
    gallery = None
    if cfg.gallery_questions:
        gallery = demo_gallery(out, load_questions(world.qfiles["test"]), report, cfg.gallery_questions)
    timings["bundle + gallery"] = time.perf_counter() - t0
    return gallery


def _demo_summary(cfg: DemoConfig, models: dict[str, str], timings: dict[str, float], pipe: Any, result: dict,
                  gold_reading: dict | None) -> dict[str, Any]:
    """`report/demo.json`: the config, the models, the timings, the fitted fusion weights by run, each
    system's mean figures and the reader's on gold passages."""
    return {
        "config": json.loads(cfg.model_dump_json()),
        "models": models,
        "timings_s": {k: round(v, 2) for k, v in timings.items()},
        "fusion_weights": dict(
            zip(
                [r.name or r.mode for r in pipe.retrieval],
                result["weights"].weights if result["weights"] else [],
                strict=False,
            )
        ),
        "systems": {s.name: s.mean for s in result["systems"]},
        "reader_gold_passages": gold_reading,
    }


def _report_page(cfg: DemoConfig, table: str, gold_reading: dict | None, models: dict[str, str],
                 fusion_weights: dict[str, float], paths: dict, gallery: str | None, tsne: Path | None,
                 timings: dict[str, float]) -> list[str]:
    """The lines of the report's README.md: the world, the results table, the models, the fusion weights,
    the gallery, the t-SNE plot and the timings."""
    return [
        "# kvqae demo report\n",
        f"World: {cfg.world.n_entities} entities, style shift {cfg.world.style_shift}, "
        f"cue-name share {cfg.world.cue_name_share}, seed {cfg.world.seed}. Test questions are evaluated; "
        "fusion weights were fitted on validation.\n",
        "## Results (test split)\n",
        table,
        (
            f"\nThe reader alone, on each test question's gold entity passages: EM {gold_reading['em']:.1f}, "
            f"F1 {gold_reading['f1']:.1f} ({gold_reading['n']} questions).\n"
            if gold_reading
            else ""
        ),
        "\n## Models\n",
        *[f"- {k}: {v}" for k, v in models.items()],
        "\n## Fusion weights (fitted on validation)\n",
        *[f"- {k}: {v:g}" for k, v in fusion_weights.items()],
        "\n![fusion weight grid](weights_heatmap.png)\n" if "heatmap" in paths else "",
        *(
            [
                "\n## Gallery (test questions, answered by `kvqae ask`'s code)\n",
                "Each row: the question photo; each mode's top-3 KB images (the gold entity framed in "
                "green); the reader's answer and whether it matches the gold answer.\n",
                "![gallery](gallery.png)\n",
                gallery,
            ]
            if gallery
            else []
        ),
        "\n## Passage embeddings\n",
        "![t-SNE](tsne_passages.png)\n" if tsne else "",
        "\n## Timings (seconds)\n",
        *[f"- {k}: {v:.1f}" for k, v in timings.items()],
        "\nFiles: report.json (every figure, per query), report.md / report.tex (tables), gallery.png, "
        "demo.json (summary).\n",
    ]


def demo_command(
    out: Path = typer.Option(
        Path("demo-output"), "--out", "-o", help="Output folder (world, models, report)."
    ),
    entities: int = typer.Option(
        DemoConfig().world.n_entities, "--entities", help="Entities in the synthetic world."
    ),
    style_shift: float = typer.Option(0.5, "--style-shift", help="0..1: how much question images differ."),
    cue_share: float = typer.Option(0.7, "--cue-share", help="0..1: share of names carrying visual cues."),
    clip_epochs: int = typer.Option(
        DemoConfig().clip_epochs, "--clip-epochs", help="Epochs of the small CLIP's training."
    ),
    clip_minutes: float = typer.Option(
        DemoConfig().clip_minutes, "--clip-minutes",
        help="Time budget of the CLIP's training: no epoch starts that would end past it (0: none)."),
    reader: Path = typer.Option(
        None,
        "--reader",
        help="A trained reader used as it is (default: one trained on the world, see --cached-reader).",
    ),
    cached_reader: bool = typer.Option(
        True,
        "--cached-reader/--world-reader",
        help="Fine-tune artifacts/reader-minilm (make reader) on the world when it is built, or always "
        "train the world reader from MiniLM's first layers.",
    ),
    threads: int = typer.Option(
        0, "--threads", min=0, max=256,
        help="torch CPU threads (0: torch's default; 1 is faster on a busy machine).",
    ),
    seed: int = typer.Option(0, "--seed"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars."),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Write into an existing --out that is not an earlier demo output."
    ),
) -> None:
    """Run the whole system offline on a synthetic entity world and write a report (<= 5 min on 2 cores)."""
    from kvqae.safety import check_out, check_range, check_reader_dir

    check_range(clip_minutes, "--clip-minutes", low=0, finite=True)
    check_range(clip_epochs, "--clip-epochs", low=1)  # a traceback after the world and KB were built
    check_out(out, "demo", {"--reader": reader}, overwrite=overwrite)
    if reader is not None:  # found after the world was built and the CLIP trained
        check_reader_dir(reader, "--reader")
    world = DemoConfig().world.model_copy(
        update={"n_entities": entities, "style_shift": style_shift, "cue_name_share": cue_share, "seed": seed}
    )
    # range checks on the options, named as typed
    world = parse_config(WorldConfig, world.model_dump(), names={
        "n_entities": "--entities", "style_shift": "--style-shift", "cue_name_share": "--cue-share"})
    cfg = DemoConfig(
        out=out,
        world=world,
        clip_epochs=clip_epochs,
        clip_minutes=clip_minutes or None,
        reader=reader,
        use_cached_reader=cached_reader,
        seed=seed,
        threads=threads or None,
    )
    res = run_demo(cfg, progress=progress, log=typer.echo)
    typer.echo(res["table"])
    typer.echo(f"total {res['timings']['total']:.0f}s; report -> {res['report']}/README.md")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
