"""Shared fixtures: the optional ../shared/ data folder and locally built tiny models."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("KVQAE_SHARED", ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The ../shared/ folder; tests that use it are skipped on a fresh clone that lacks it."""
    if not (SHARED / "data").is_dir():
        pytest.skip(f"shared data folder not found at {SHARED} (set KVQAE_SHARED to point at it)")
    return SHARED


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory) -> Path:
    """A randomly initialised tiny CLIP saved like a real checkpoint (MiniLM WordPiece tokenizer)."""
    from kvqae.encode.small_clip import build_small_clip

    return build_small_clip(tmp_path_factory.mktemp("models") / "tiny-clip", "tiny", seed=0)


@pytest.fixture(scope="session")
def minilm_path() -> Path:
    from kvqae.encode.packaged import minilm_path as path

    return path()


# Short factual articles with names, dates, places and numbers: material for cloze questions and readers.
PROSE_ARTICLES = [
    (
        "Marie_Curie",
        "Marie Curie",
        "Marie Curie was a physicist and chemist who was born in Warsaw in 1867. "
        "She moved to Paris in 1891 to study at the University of Paris. "
        "Curie won the Nobel Prize in Physics in 1903 together with Pierre Curie. "
        "She died in 1934 at a sanatorium in Passy, France. "
        "Her daughter Irene Joliot-Curie also won a Nobel Prize.",
    ),
    (
        "Eiffel_Tower",
        "Eiffel Tower",
        "The Eiffel Tower is a wrought-iron lattice tower in Paris, France. "
        "It was designed by the company of Gustave Eiffel and built between 1887 and 1889. "
        "The tower is 330 metres tall and was the tallest structure in the world for 41 years. "
        "About seven million people visit the tower every year.",
    ),
    (
        "Apollo_11",
        "Apollo 11",
        "Apollo 11 was the spaceflight that first landed humans on the Moon. "
        "Neil Armstrong and Buzz Aldrin landed the lunar module on July 20, 1969. "
        "Michael Collins flew the command module alone in lunar orbit. "
        "The crew returned to Earth and splashed down in the Pacific Ocean on July 24, 1969.",
    ),
    (
        "Ludwig_van_Beethoven",
        "Ludwig van Beethoven",
        "Ludwig van Beethoven was a German composer and pianist who was born in Bonn in 1770. "
        "He moved to Vienna in 1792 and studied with Joseph Haydn. "
        "Beethoven wrote nine symphonies and 32 piano sonatas. "
        "He died in Vienna in 1827 at the age of 56.",
    ),
    (
        "Mount_Everest",
        "Mount Everest",
        "Mount Everest is the highest mountain on Earth above sea level. "
        "It lies in the Himalayas on the border between Nepal and China. "
        "Edmund Hillary and Tenzing Norgay reached the summit on 29 May 1953. "
        "Its height of 8,849 metres was measured by a Chinese and Nepali survey in 2020.",
    ),
    (
        "Amazon_River",
        "Amazon River",
        "The Amazon River in South America is the largest river by discharge volume of water in the world. "
        "The river flows through Peru, Colombia and Brazil before it reaches the Atlantic Ocean. "
        "Francisco de Orellana was the first European to travel the length of the river in 1542. "
        "The river basin covers about seven million square kilometres.",
    ),
]


@pytest.fixture(scope="session")
def prose_kb(tmp_path_factory):
    """A KB of PROSE_ARTICLES (40-word sentence-aligned passages)."""
    import json

    from kvqae.data.kb import build_kb

    d = tmp_path_factory.mktemp("prose-kb")
    with (d / "articles.jsonl").open("w") as f:
        for eid, title, text in PROSE_ARTICLES:
            f.write(json.dumps({"id": eid, "title": title, "text": text}) + "\n")
    return build_kb(d / "articles.jsonl", d / "kb", words=40, sentence_aligned=True, progress=False)


def _one_thread(get, set_):
    """Run the test with `set_(1)`, then restore what `get()` said."""
    before = get()
    set_(1)
    yield
    set_(before)


@pytest.fixture
def one_torch_thread():
    """One torch thread: on a shared 2-core machine, two threads per process oversubscribe badly."""
    import torch

    yield from _one_thread(torch.get_num_threads, torch.set_num_threads)


@pytest.fixture
def one_faiss_thread():
    """One Faiss thread: OpenMP threads spinning on a shared 2-core machine make tiny trainings crawl."""
    import faiss

    yield from _one_thread(faiss.omp_get_max_threads, faiss.omp_set_num_threads)


def write_tiny_pipeline(folder: Path, world: Path, clip: Path, reader: Path | None, **extra) -> Path:
    """A PIPELINE.yaml over a tiny world with the tiny CLIP for every mode (and `reader` when given)."""
    import yaml

    spec = {
        "output": "out",
        "kb": {"source": str(world / "articles.jsonl"), "words": 40},
        "questions": {
            "validation": str(world / "questions_validation.jsonl"),
            "test": str(world / "questions_test.jsonl"),
        },
        "retrieval": [
            {"mode": "image-title", "encoder": f"clip:{clip}"},
            {"mode": "image-image", "encoder": f"clip:{clip}"},
            {"mode": "text-passage", "encoder": f"clip:{clip}"},
        ],
        "k": 20,
        "fusion": {"step": 0.5},
        **({"reader": {"model": str(reader), "top_k": 3}} if reader is not None else {}),
        **extra,
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "pipeline.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_world_dir(tmp_path_factory) -> Path:
    """A 12-entity synthetic world with 32-px images."""
    from kvqae.world import WorldConfig, generate_world

    cfg = WorldConfig(n_entities=12, depictions_per_entity=3, questions_per_entity=2, image_size=32, seed=3)
    return generate_world(tmp_path_factory.mktemp("world") / "world", cfg, progress=False)


@pytest.fixture(scope="session")
def tiny_reader_dir(tmp_path_factory) -> Path:
    from kvqae.read.model import build_tiny_reader

    return build_tiny_reader(tmp_path_factory.mktemp("reader") / "reader")


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory, tiny_world_dir, tiny_clip, tiny_reader_dir) -> Path:
    """The output folder of `kvqae run` on the tiny world (three modes, fusion, reader): an answerable
    bundle."""
    from kvqae.pipeline import load_pipeline_config, run_pipeline

    folder = tmp_path_factory.mktemp("bundle")
    config = write_tiny_pipeline(folder, tiny_world_dir, tiny_clip, tiny_reader_dir)
    cfg = load_pipeline_config(config)
    run_pipeline(cfg, progress=False, log=lambda _: None)
    return Path(cfg.output)


@pytest.fixture(scope="session")
def tiny_text_bundle(tmp_path_factory, tiny_world_dir, tiny_clip, tiny_reader_dir) -> Path:
    """A bundle that retrieves by text only (dense and BM25 text-passage runs fused, the reader), as `make
    wiki`'s is: it cannot use a photo."""
    from kvqae.pipeline import load_pipeline_config, run_pipeline

    folder = tmp_path_factory.mktemp("text-bundle")
    config = write_tiny_pipeline(folder, tiny_world_dir, tiny_clip, tiny_reader_dir,
                                 retrieval=[{"mode": "text-passage", "encoder": f"clip:{tiny_clip}"},
                                            {"mode": "text-passage", "encoder": "bm25", "name": "bm25"}])
    cfg = load_pipeline_config(config)
    run_pipeline(cfg, progress=False, log=lambda _: None)
    return Path(cfg.output)
