"""`kvqae demo`: the whole system on a synthetic entity world, offline, on CPU, in a few minutes.

1. generate a world (entities with procedurally drawn images, articles, questions in train/validation/test);
2. build its KB; train a small CLIP from scratch on it (joint mono-modal + cross-modal contrastive loss);
3. run image->title and image->image (the trained CLIP) and text->passage (packaged MiniLM) retrieval through
   `kvqae run`'s pipeline, fit fusion weights on validation, apply them on test;
4. read answers with an extractive reader (the cached default reader when present, else a small one trained
   on the world's training questions);
5. write a report directory: the seeds' table, JSON of every figure, a t-SNE of passage embeddings coloured by
   entity, the fusion heat map, and a Markdown page tying them together.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer

from kvqae.config import ConfigModel
from kvqae.data.world.generate import WorldConfig

DEFAULT_READER = Path("artifacts/reader-minilm")


class DemoConfig(ConfigModel):
    """Sizes of the demo; the defaults aim at <= 5 minutes on 2 CPU cores."""

    out: Path = Path("demo-output")
    world: WorldConfig = WorldConfig(n_entities=120, depictions_per_entity=6, questions_per_entity=4)
    clip_preset: str = "small"
    clip_epochs: int = 12
    clip_lr: float = 5e-4
    clip_batch_size: int = 64
    text_encoder: str = "st:minilm"
    reader: Path | None = None  # a trained reader; default: artifacts/reader-minilm if built, else train one
    reader_minutes: float = 1.5  # budget of the demo's own reader training
    reader_top_k: int = 8
    seed: int = 0
    threads: int | None = None


def _train_world_reader(kb, train_qs, val_qs, out: Path, minutes: float, seed: int, progress: bool) -> Path:
    """A small reader for the world: MiniLM + span head trained on the world's training questions, each paired
    with its entity's passages (relevant) and other entities' passages (distractors)."""
    import numpy as np

    from kvqae.data.runs import Run
    from kvqae.read.train import ReaderTrainConfig, run_examples, train_reader_model

    rng = np.random.default_rng(seed)
    ids = kb.passage_ids

    def gold_run(questions) -> Run:
        scores = {}
        for q in questions:
            docs = {pid: 1.0 for pid in kb.passages_of(q.entity)}
            for j in rng.choice(len(ids), size=8, replace=False).tolist():
                docs.setdefault(ids[j], 0.0)
            scores[q.id] = docs
        return Run(scores, "gold", "passage")

    train = run_examples(kb, train_qs, gold_run(train_qs), relevant=1, irrelevant=2)
    val = run_examples(kb, val_qs, gold_run(val_qs), relevant=1, irrelevant=2)
    cfg = ReaderTrainConfig(
        epochs=2,
        lr=1e-4,
        max_minutes=minutes,
        eval_every=0,
        max_eval_questions=60,
        batch_questions=4,
        seed=seed,
    )
    train_reader_model(train, val, out, cfg, progress=progress)
    return out


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


def run_demo(cfg: DemoConfig, *, progress: bool = True, log=print) -> dict:
    """Run the demo end to end.

    Returns {"table": markdown, "report": dir, "timings": {...}, "systems": [...], "weights": {...}}.
    """
    import torch

    from kvqae.data.kb import build_kb
    from kvqae.data.questions import load_questions
    from kvqae.data.world import generate_world
    from kvqae.encode.small_clip import build_small_clip
    from kvqae.io import write_json
    from kvqae.pipeline import (
        FusionSection,
        KBSection,
        PipelineConfig,
        ReaderSection,
        RetrievalSection,
        run_pipeline,
        write_pipeline_report,
    )
    from kvqae.train.trainer import TrainClipConfig, train_clip

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    models: dict[str, str] = {}
    t_start = time.perf_counter()

    t0 = time.perf_counter()
    world = generate_world(out / "world", cfg.world, progress=progress)
    timings["world"] = time.perf_counter() - t0
    log(f"[world] {cfg.world.n_entities} entities -> {world}")

    t0 = time.perf_counter()
    kb_dir = out / "kb"
    kb = build_kb(world / "articles.jsonl", kb_dir, progress=progress)
    timings["kb"] = time.perf_counter() - t0
    qfiles = {s: world / f"questions_{s}.jsonl" for s in ("train", "validation", "test")}

    t0 = time.perf_counter()
    init = build_small_clip(out / "models" / "clip-init", cfg.clip_preset, seed=cfg.seed)
    clip_dir = out / "models" / "clip-joint"
    train_clip(
        TrainClipConfig(
            mode="joint",
            model=str(init),
            kb=str(kb_dir),
            questions=str(qfiles["train"]),
            validation_questions=str(qfiles["validation"]),
            output_dir=str(clip_dir),
            lr=cfg.clip_lr,
            epochs=cfg.clip_epochs,
            batch_size=cfg.clip_batch_size,
            warmup_steps=10,
            seed=cfg.seed,
            resume=False,
            progress=progress,
        )
    )
    timings["train clip"] = time.perf_counter() - t0
    models["clip"] = (
        f"CLIP '{cfg.clip_preset}' preset, from scratch, joint mono+cross, {cfg.clip_epochs} epochs"
    )
    log(f"[train] CLIP -> {clip_dir} ({timings['train clip']:.0f}s)")

    t0 = time.perf_counter()
    reader_dir = cfg.reader or (DEFAULT_READER if (DEFAULT_READER / "kvqae_reader.json").exists() else None)
    if reader_dir is None:
        reader_dir = out / "models" / "reader"
        _train_world_reader(
            kb,
            load_questions(qfiles["train"]),
            load_questions(qfiles["validation"]),
            reader_dir,
            cfg.reader_minutes,
            cfg.seed,
            progress,
        )
        models["reader"] = (
            f"MiniLM span reader trained on the world's training questions (<= {cfg.reader_minutes} min)"
        )
    else:
        models["reader"] = f"cached reader {reader_dir}"
    timings["reader model"] = time.perf_counter() - t0

    clip_spec = f"clip:{clip_dir}"
    pipe = PipelineConfig(
        output=out / "pipeline",
        kb=KBSection(source=kb_dir),
        questions={"validation": qfiles["validation"], "test": qfiles["test"]},
        retrieval=[
            RetrievalSection(mode="image-title", encoder=clip_spec),
            RetrievalSection(mode="image-image", encoder=clip_spec),
            RetrievalSection(mode="text-passage", encoder=cfg.text_encoder),
        ],
        fusion=FusionSection(),
        reader=ReaderSection(model=str(reader_dir), top_k=cfg.reader_top_k),
        dataset="world",
        passage_requires_entity=True,  # gold entities known: elsewhere is luck
    )
    models["text-passage"] = cfg.text_encoder
    result = run_pipeline(pipe, progress=progress, log=log, force=True)
    timings.update({f"pipeline {k}": v for k, v in result["timings"].items()})

    report = out / "report"
    paths = write_pipeline_report(result, report)
    tsne = (
        tsne_plot(
            out / "pipeline" / "embeddings" / "kb-passage-st_minilm",
            kb,
            report / "tsne_passages.png",
            seed=cfg.seed,
        )
        if cfg.text_encoder == "st:minilm"
        else None
    )
    timings["total"] = time.perf_counter() - t_start
    table = Path(paths["markdown"]).read_text(encoding="utf-8")
    summary = {
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
    }
    write_json(report / "demo.json", summary)
    page = [
        "# kvqae demo report\n",
        f"World: {cfg.world.n_entities} entities, style shift {cfg.world.style_shift}, "
        f"cue-name share {cfg.world.cue_name_share}, seed {cfg.world.seed}. Test questions are evaluated; "
        "fusion weights were fitted on validation.\n",
        "## Results (test split)\n",
        table,
        "\n## Models\n",
        *[f"- {k}: {v}" for k, v in models.items()],
        "\n## Fusion weights (fitted on validation)\n",
        *[f"- {k}: {v:g}" for k, v in summary["fusion_weights"].items()],
        "\n![fusion weight grid](weights_heatmap.png)\n" if "heatmap" in paths else "",
        "\n## Passage embeddings\n",
        "![t-SNE](tsne_passages.png)\n" if tsne else "",
        "\n## Timings (seconds)\n",
        *[f"- {k}: {v:.1f}" for k, v in timings.items()],
        "\nFiles: report.json (every figure, per query), report.md / report.tex (tables), "
        "demo.json (summary).\n",
    ]
    from kvqae.io import atomic_path

    with atomic_path(report / "README.md") as tmp:
        tmp.write_text("\n".join(page), encoding="utf-8")
    return {
        "table": table,
        "report": report,
        "timings": timings,
        "systems": result["systems"],
        "weights": summary["fusion_weights"],
    }


def demo_command(
    out: Path = typer.Option(
        Path("demo-output"), "--out", "-o", help="Output folder (world, models, report)."
    ),
    entities: int = typer.Option(120, "--entities", help="Entities in the synthetic world."),
    style_shift: float = typer.Option(0.5, "--style-shift", help="0..1: how much question images differ."),
    cue_share: float = typer.Option(0.7, "--cue-share", help="0..1: share of names carrying visual cues."),
    clip_epochs: int = typer.Option(12, "--clip-epochs", help="Epochs of the small CLIP's training."),
    reader: Path = typer.Option(
        None,
        "--reader",
        help="A trained reader (default: artifacts/reader-minilm "
        "when built, else a small one is trained on the world).",
    ),
    seed: int = typer.Option(0, "--seed"),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
) -> None:
    """Run the whole system offline on a synthetic entity world and write a report (<= 5 min on 2 cores)."""
    world = WorldConfig(
        n_entities=entities,
        depictions_per_entity=6,
        questions_per_entity=4,
        style_shift=style_shift,
        cue_name_share=cue_share,
        seed=seed,
    )
    cfg = DemoConfig(out=out, world=world, clip_epochs=clip_epochs, reader=reader, seed=seed)
    res = run_demo(cfg, progress=progress, log=typer.echo)
    typer.echo(res["table"])
    typer.echo(f"total {res['timings']['total']:.0f}s; report -> {res['report']}/README.md")
