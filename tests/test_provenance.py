"""`kvqae.data.provenance`: a passage run carries the digest of the KB build it was made over, and the stages
that read it with a KB refuse another build (whose ids exist but name other passages)."""

from __future__ import annotations

import hashlib
import json

import pytest

from cli_run import kvqae
from kvqae.data.provenance import KB_KEY, check_run_kb, common_digest, kb_digest
from kvqae.data.runs import Run
from kvqae.errors import InputError


@pytest.fixture(scope="module")
def two_builds(tmp_path_factory, prose_kb):
    """The prose articles split into 40-word passages (prose_kb) and again into 20-word ones."""
    from kvqae.data.kb import build_kb

    short = build_kb(prose_kb.meta["source"], tmp_path_factory.mktemp("kb20") / "kb", words=20,
                     sentence_aligned=True, progress=False)
    return prose_kb, short


def test_the_digest_is_of_every_passage_id_and_text_in_order(two_builds, tmp_path):
    from kvqae.data.kb import build_kb

    kb, short = two_builds
    by_hand = hashlib.sha1()
    for pid, text in zip(kb.passages["passage_id"], kb.passages["text"], strict=True):
        by_hand.update(f"{pid}\t{text}\n".encode())
    assert kb.meta["passages_sha1"] == by_hand.hexdigest() == kb_digest(kb) == kb_digest(kb.path)
    # the same articles and settings give the same digest; another split another one
    again = build_kb(kb.meta["source"], tmp_path / "again", words=40, sentence_aligned=True, progress=False)
    assert kb_digest(again) == kb_digest(kb) != kb_digest(short)
    assert set(short.passage_ids) & set(kb.passage_ids)  # ids shared: only the digest tells them apart


def test_check_run_kb_refuses_a_passage_run_of_another_build(two_builds):
    kb, short = two_builds
    run = Run({"q": {"Marie_Curie#0": 1.0}}, "r", "passage", {KB_KEY: kb_digest(kb)})
    check_run_kb(run, kb)  # its own KB
    with pytest.raises(InputError, match="made over another knowledge base") as e:
        check_run_kb(run, short, run_source="r.json")
    assert e.value.field == f"meta.{KB_KEY}"
    check_run_kb(Run({"q": {"Marie_Curie#0": 1.0}}, "old", "passage"), short)  # no digest: not checked
    entity_run = Run({"q": {"Marie_Curie": 1.0}}, "e", "entity", {KB_KEY: kb_digest(kb)})
    check_run_kb(entity_run, short)  # an entity id means the same article in any build
    other = Run({"q": {"Marie_Curie#0": 1.0}}, "s", "passage", {KB_KEY: kb_digest(short)})
    assert common_digest([run, run], ["a", "b"]) == kb_digest(kb)
    with pytest.raises(InputError, match="a and s were made over different knowledge bases"):
        common_digest([run, other], ["a", "s"])


def test_bm25_runs_carry_their_kb_and_are_refused_against_another(two_builds, tiny_reader_dir, tmp_path,
                                                                  monkeypatch, capsys):
    from kvqae.fusion.core import fuse
    from kvqae.index.bm25_index import Bm25Index

    kb, short = two_builds
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"id": "q1", "question": "Where was Marie Curie born?",
                                     "answers": ["Warsaw"]}) + "\n", encoding="utf-8")
    runs = {}
    for name, base in (("long", kb), ("short", short)):
        index = Bm25Index.build(base, tmp_path / f"bm25-{name}")
        assert index.meta[KB_KEY] == kb_digest(base)
        code, err = kvqae(monkeypatch, capsys, "search", "--index", index.path, "--questions", questions,
                          "--out", tmp_path / f"{name}.json", "--name", name)
        assert code == 0, err
        runs[name] = tmp_path / f"{name}.json"
        assert Run.load(runs[name]).meta[KB_KEY] == kb_digest(base)
    report = tmp_path / "report"
    code, err = kvqae(monkeypatch, capsys, "evaluate", "retrieval", "--run", runs["long"], "--questions",
                      questions, "--kb", kb.path, "--out", report)
    assert code == 0, err
    # the 40-word run judged against the 20-word KB: "Marie_Curie#0" exists there, with other words
    code, err = kvqae(monkeypatch, capsys, "evaluate", "retrieval", "--run", runs["long"], "--questions",
                      questions, "--kb", short.path, "--out", tmp_path / "report2")
    assert code == 2 and "made over another knowledge base" in err and str(runs["long"]) in err
    for command in (["read", "--run", runs["long"], "--kb", short.path, "--questions", questions,
                     "--model", tiny_reader_dir, "--out", tmp_path / "p.jsonl"],
                    ["rerank", "--run", runs["long"], "--kb", short.path, "--questions", questions,
                     "--out", tmp_path / "rr.json"]):
        code, err = kvqae(monkeypatch, capsys, *command)
        assert code == 2 and "made over another knowledge base" in err, command
    assert not (tmp_path / "p.jsonl").exists() and not (tmp_path / "rr.json").exists()
    # fusing the two mixes passages of two splits under the same ids
    with pytest.raises(InputError, match="were made over different knowledge bases"):
        fuse([Run.load(runs["long"]), Run.load(runs["short"])], sources=["long.json", "short.json"])
    fused = fuse([Run.load(runs["long"]), Run.load(runs["long"])], sources=["a", "b"])
    assert fused.meta[KB_KEY] == kb_digest(kb)


def test_dense_passage_runs_and_mapped_entity_runs_carry_their_kb(two_builds, tiny_clip, tmp_path,
                                                                   monkeypatch, capsys):
    from kvqae.encode.store import EmbeddingStore, encode_kb
    from kvqae.index.faiss_index import VectorIndex
    from kvqae.search.modes import search_store
    from kvqae.search.passages import PassageTable, entity_run_to_passages

    kb, _ = two_builds
    emb = encode_kb(kb, f"clip:{tiny_clip}", "passage", tmp_path / "emb", progress=False)
    assert json.loads((emb / "meta.json").read_text())[KB_KEY] == kb_digest(kb)
    index = VectorIndex.from_embeddings(EmbeddingStore.load(emb))
    index.save(tmp_path / "index")
    loaded = VectorIndex.load(tmp_path / "index")
    assert loaded.meta[KB_KEY] == kb_digest(kb)
    for extra in ([], ["--shards", "2"]):  # the CLI's streaming build and the sharded one record it too
        out = tmp_path / f"index-cli{len(extra)}"
        assert kvqae(monkeypatch, capsys, "index", "build", emb, "--out", out, *extra)[0] == 0
        assert json.loads((out / "meta.json").read_text())[KB_KEY] == kb_digest(kb)
    import numpy as np

    run = search_store(np.ones((1, loaded.dim), dtype=np.float32), ["q1"], loaded, 3, "dense", "passage")
    assert run.meta[KB_KEY] == kb_digest(kb)
    entities = Run({"q1": {"Marie_Curie": 2.0}}, "e", "entity")
    for table in (PassageTable.load(kb.path), PassageTable.from_kb(kb)):
        assert entity_run_to_passages(entities, table).meta[KB_KEY] == kb_digest(kb)


def test_a_bundle_whose_index_is_of_another_kb_build_does_not_load(tiny_text_bundle, tmp_path):
    """Every id of the index exists in the bundle's KB, so the id check passes; the digest tells."""
    import shutil

    from kvqae.ask.answer import Answerer

    copy = tmp_path / tiny_text_bundle.name  # same depth: the bundle's relative model paths still resolve
    shutil.copytree(tiny_text_bundle, copy)
    meta_path = copy / "indexes" / "passage-bm25" / "meta.json"
    meta = json.loads(meta_path.read_text())
    for index_meta in (copy / "indexes").glob("*/meta.json"):  # `kvqae run` recorded it, BM25 and dense
        assert json.loads(index_meta.read_text())[KB_KEY] == kb_digest(copy / "kb"), index_meta
    Answerer.load(copy)  # loads as built
    meta_path.write_text(json.dumps({**meta, KB_KEY: "0" * 40}))
    with pytest.raises(InputError, match="built over another build of the KB than the bundle's"):
        Answerer.load(copy)
    meta_path.write_text(json.dumps({**meta, KB_KEY: 12345}))  # a TypeError traceback in `ask` before
    with pytest.raises(InputError, match="must be the 40 lower-case hex digits") as e:
        Answerer.load(copy)
    assert str(meta_path) in str(e.value)


@pytest.mark.parametrize("value", [12345, ["a" * 40], {"a": 1}, "", "A" * 40, "abc"])
def test_a_digest_that_is_not_one_is_refused_not_ignored(two_builds, value):
    """A hand-edited stamp of another type switched the check off (or crashed `ask` with a TypeError)."""
    kb, short = two_builds
    run = Run({"q": {"Marie_Curie#0": 1.0}}, "r", "passage", {KB_KEY: value})
    with pytest.raises(InputError, match="must be the 40 lower-case hex digits") as e:
        check_run_kb(run, short, run_source="r.json")
    assert e.value.field == f"meta.{KB_KEY}" and "r.json" in str(e.value)
    with pytest.raises(InputError, match="must be the 40 lower-case hex digits"):
        kb_digest({"passages_sha1": value})


def test_a_fusion_with_an_unstamped_run_carries_no_stamp(two_builds):
    from kvqae.fusion.core import fuse

    kb, _ = two_builds
    stamped = Run({"q": {"Marie_Curie#0": 1.0}}, "s", "passage", {KB_KEY: kb_digest(kb)})
    old = Run({"q": {"Marie_Curie#1": 1.0}}, "o", "passage")  # nothing vouches for its ids
    assert KB_KEY not in fuse([stamped, old], sources=["s", "o"], method="rrf").meta
