"""Generate a synthetic entity world on disk, in the pipeline's own formats (see docs/world.md).

Layout of the output directory (written atomically):
    world.json                the config, counts, split policy and vocabulary
    articles.jsonl            {"id","title","text","image","types"}; image relative to the file
    entities.jsonl            visual attributes, facts and group (seen / unseen-*) of each entity
    depictions.jsonl          every non-KB image: {"image","entity","depiction","split","pose"}
    questions_{split}.jsonl   {"id","question","image","answers","entity","question_type"}, one per split
    images/kb/<id>.png        each entity's KB reference image (canonical pose, photo, plain background)
    images/depictions/<id>_<k>.png
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field, field_validator

from kvqae.config import ConfigModel
from kvqae.io import atomic_dir
from kvqae.progress import track
from kvqae.world.articles import FACT_KINDS, make_facts, make_places, make_question, write_article
from kvqae.world.entities import COLOURS, ENTITY_TYPES, PATTERNS, TYPE_NOUNS, Entity, make_entities
from kvqae.world.render import Pose, entity_layer, render, sample_pose

SPLITS = ("train", "validation", "test")
WORLD_FORMAT_VERSION = 1

# Independent random streams so each part is reproducible on its own (an article does not change when the
# number of depictions does).
_STREAM_ENTITIES, _STREAM_ARTICLE, _STREAM_DEPICTION, _STREAM_KB, _STREAM_SPLIT, _STREAM_PLACES = range(6)


class WorldConfig(ConfigModel):
    """Knobs of the synthetic world; the same seed and config give byte-identical output."""

    n_entities: int = Field(200, ge=2, le=100_000, description="number of entities (types are balanced)")
    depictions_per_entity: int = Field(
        4,
        ge=1,
        le=64,
        description=(
            "question-style images per entity; for seen entities depictions 0..h-1 go to test, "
            "h..2h-1 to validation, the rest to train (h = held_out_per_entity)"
        ),
    )
    questions_per_entity: int = Field(
        4,
        ge=1,
        le=len(FACT_KINDS),
        description=(
            "questions per entity, each about a different fact; question j uses depiction j mod depictions"
        ),
    )
    held_out_per_entity: int = Field(
        1,
        ge=1,
        le=len(FACT_KINDS),
        description=(
            "questions each entity asks in each evaluation split it is in: a seen entity asks h in test "
            "and h in validation (the rest in train), an unseen entity h in its one split, so every entity "
            "weighs the same in an evaluation split"
        ),
    )
    style_shift: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description=(
            "how much question images differ from the KB image: probability of a statue/sketch style and the "
            "range of rotation, scale, shift (crop), clutter and occlusion"
        ),
    )
    cue_name_share: float = Field(
        0.7,
        ge=0.0,
        le=1.0,
        description=(
            "share of entities whose title spells colour + pattern + noun; the rest get invented names"
        ),
    )
    distractor_share: float = Field(
        0.3,
        ge=0.0,
        le=1.0,
        description=(
            "probability that an entity is a look-alike of an earlier one (same type and silhouette)"
        ),
    )
    distractor_similarity: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description=(
            "probability that a look-alike copies each visual attribute (colour, pattern, "
            "pattern colour, detail, aspect, pattern scale) of its anchor"
        ),
    )
    unseen_share: float = Field(
        0.2,
        ge=0.0,
        le=1.0,
        description=(
            "share of entities with no training question: half of them ask only in validation, "
            "half only in test"
        ),
    )
    image_size: int = Field(64, ge=16, le=1024, description="side of every PNG image, in pixels")
    article_words: int = Field(260, ge=60, le=5000, description="approximate article length in words")
    types: list[str] = Field(default_factory=lambda: list(ENTITY_TYPES), description="entity types to use")
    seed: int = Field(0, ge=0, description="random seed")

    @field_validator("types")
    @classmethod
    def _known_types(cls, value: list[str]) -> list[str]:
        unknown = [t for t in value if t not in TYPE_NOUNS]
        if unknown or not value:
            raise ValueError(f"types must be a non-empty subset of {list(ENTITY_TYPES)}; unknown: {unknown}")
        return value


def _rng(config: WorldConfig, stream: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng([config.seed, stream, *keys])


def _assign_groups(entities: list[Entity], config: WorldConfig) -> None:
    """Mark round(unseen_share * n) random entities unseen, alternately for validation and test."""
    rng = _rng(config, _STREAM_SPLIT)
    n_unseen = int(round(config.unseen_share * len(entities)))
    for k, i in enumerate(rng.permutation(len(entities))[:n_unseen].tolist()):
        entities[i].group = "unseen-validation" if k % 2 == 0 else "unseen-test"


def depiction_split(entity: Entity, k: int, held_out: int = 1) -> str:
    """Split of depiction `k` of `entity`: unseen entities keep all images in their split; seen ones put
    depictions 0..held_out-1 in test, the next `held_out` in validation and the rest in train (so no image
    is shared between splits)."""
    if entity.group == "unseen-validation":
        return "validation"
    if entity.group == "unseen-test":
        return "test"
    if k < held_out:
        return "test"
    return "validation" if k < 2 * held_out else "train"


def _save_png(img: Any, path: Path) -> None:
    img.save(path, format="PNG")


def generate_world(out_dir: str | Path, config: WorldConfig | None = None, progress: bool = True) -> Path:
    """Generate the world described by `config` into `out_dir` (replaced atomically); returns `out_dir`."""
    config = config or WorldConfig()
    out_dir = Path(out_dir)
    entities = make_entities(
        config.n_entities,
        _rng(config, _STREAM_ENTITIES),
        types=tuple(config.types),
        cue_name_share=config.cue_name_share,
        distractor_share=config.distractor_share,
        distractor_similarity=config.distractor_similarity,
    )
    _assign_groups(entities, config)
    places = make_places(_rng(config, _STREAM_PLACES), max(12, config.n_entities // 4))
    people = [e.title for e in entities if e.type == "person"]
    titles = [e.title for e in entities]

    articles: list[dict] = []
    entity_rows: list[dict] = []
    depictions: list[dict] = []
    questions: dict[str, list[dict]] = {s: [] for s in SPLITS}
    with atomic_dir(out_dir) as tmp:
        (tmp / "images" / "kb").mkdir(parents=True)
        (tmp / "images" / "depictions").mkdir(parents=True)
        for i, ent in enumerate(track(entities, "Generating world", enabled=progress)):
            rng = _rng(config, _STREAM_ARTICLE, i)
            facts = make_facts(ent, rng, people, places)
            others = [t for t in titles if t != ent.title]
            text = write_article(
                ent, facts, rng, places=places, other_titles=others, target_words=config.article_words
            )
            kb_image = f"images/kb/{ent.id}.png"
            layer = entity_layer(ent, 2 * config.image_size)  # drawn once, posed per image
            _save_png(
                render(ent, Pose(), config.image_size, _rng(config, _STREAM_KB, i), layer), tmp / kb_image
            )
            articles.append(
                {"id": ent.id, "title": ent.title, "text": text, "image": kb_image, "types": [ent.type]}
            )
            entity_rows.append({**ent.to_dict(), "facts": facts})

            images = []
            for k in range(config.depictions_per_entity):
                drng = _rng(config, _STREAM_DEPICTION, i, k)
                pose = sample_pose(drng, config.style_shift)
                path = f"images/depictions/{ent.id}_{k}.png"
                _save_png(render(ent, pose, config.image_size, drng, layer), tmp / path)
                split = depiction_split(ent, k, config.held_out_per_entity)
                images.append((path, split))
                depictions.append(
                    {"image": path, "entity": ent.id, "depiction": k, "split": split, "pose": pose.to_dict()}
                )
            kinds = [FACT_KINDS[j] for j in rng.permutation(len(FACT_KINDS))[: config.questions_per_entity]]
            if ent.group != "seen":  # as many questions as a seen entity asks in that split
                kinds = kinds[: config.held_out_per_entity]
            for j, kind in enumerate(kinds):
                path, split = images[j % len(images)]
                q = make_question(ent, kind, facts, rng)
                questions[split].append(
                    {
                        "id": f"{ent.id}-q{j}",
                        "question": q["question"],
                        "image": path,
                        "answers": q["answers"],
                        "entity": ent.id,
                        "question_type": q["question_type"],
                    }
                )

        _write_jsonl(tmp / "articles.jsonl", articles)
        _write_jsonl(tmp / "entities.jsonl", entity_rows)
        _write_jsonl(tmp / "depictions.jsonl", depictions)
        for split in SPLITS:
            _write_jsonl(tmp / f"questions_{split}.jsonl", questions[split])
        meta = {
            "format_version": WORLD_FORMAT_VERSION,
            "config": config.model_dump(),
            "counts": {
                "entities": len(entities),
                "entities_by_type": {t: sum(e.type == t for e in entities) for t in config.types},
                "cue_names": sum(e.cue_name for e in entities),
                "lookalikes": sum(e.lookalike_of is not None for e in entities),
                "unseen_entities": {
                    g: sum(e.group == g for e in entities) for g in ("unseen-validation", "unseen-test")
                },
                "kb_images": len(entities),
                "depictions": {s: sum(d["split"] == s for d in depictions) for s in SPLITS},
                "questions": {s: len(questions[s]) for s in SPLITS},
                "article_words_mean": round(float(np.mean([len(a["text"].split()) for a in articles])), 1),
            },
            "splits": (
                f"seen entities: depictions 0..{config.held_out_per_entity - 1} -> test, the next "
                f"{config.held_out_per_entity} -> validation, others -> train; unseen entities "
                "(unseen_share) ask held_out_per_entity questions, only in validation or only in test; "
                "question j uses depiction j mod depictions_per_entity, so no image is shared between splits"
            ),
            "vocabulary": {
                "colours": list(COLOURS),
                "patterns": list(PATTERNS),
                "nouns": {t: list(TYPE_NOUNS[t]) for t in config.types},
            },
            "files": {
                "articles": "articles.jsonl",
                "entities": "entities.jsonl",
                "depictions": "depictions.jsonl",
                "questions": {s: f"questions_{s}.jsonl" for s in SPLITS},
            },
        }
        (tmp / "world.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return out_dir


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    # inside the atomic directory already, so a plain write is enough
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def image_title_pairs(
    world_dir: str | Path, splits: tuple[str, ...] = ("train",), include_kb: bool = True
) -> list[tuple[Path, str, str]]:
    """(absolute image path, entity id, entity title) pairs of a generated world, e.g. to train a CLIP.

    `splits`: depictions of these splits (default train only, so validation/test images stay unseen);
    `include_kb`: also each entity's KB reference image (the KB is available at training time). Entities of
    the unseen groups contribute only their KB image.
    """
    from kvqae.errors import InputError
    from kvqae.io import read_jsonl

    world_dir = Path(world_dir).resolve()
    unknown = [s for s in splits if s not in SPLITS]
    if unknown:
        raise InputError(f"unknown split(s) {unknown}; choose from {list(SPLITS)}", field="splits")
    titles: dict[str, str] = {}
    pairs: list[tuple[Path, str, str]] = []
    for _, row in read_jsonl(world_dir / "articles.jsonl"):
        titles[row["id"]] = row["title"]
        if include_kb:
            pairs.append((world_dir / row["image"], row["id"], row["title"]))
    for lineno, row in read_jsonl(world_dir / "depictions.jsonl"):
        if row["entity"] not in titles:
            raise InputError(
                "unknown entity", path=world_dir / "depictions.jsonl", record=lineno, field="entity"
            )
        if row["split"] in splits:
            pairs.append((world_dir / row["image"], row["entity"], titles[row["entity"]]))
    return pairs
