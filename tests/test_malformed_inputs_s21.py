"""Session 21: options that were silently ignored in some combinations, and empty arguments, are refused with
one line naming the option."""

from __future__ import annotations

import json

import pytest

from cli_run import kvqae


@pytest.fixture(scope="module")
def bm25_index(tmp_path_factory, prose_kb):
    from kvqae.index.bm25_index import Bm25Index

    out = tmp_path_factory.mktemp("bm25") / "index"
    Bm25Index.build(prose_kb, out)
    return out


@pytest.fixture
def questions(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"id": "q1", "question": "Where was she born?", "answers": ["Paris"]}) + "\n")
    return path


@pytest.mark.parametrize(("extra", "said"), [
    (["--nprobe", "4"], "--nprobe apply to vector indexes"),
    (["--ef-search", "8", "--refine-factor", "2"], "--ef-search, --refine-factor apply to vector indexes"),
])
def test_vector_index_options_with_a_bm25_index_are_refused(bm25_index, questions, tmp_path, monkeypatch,
                                                            capsys, extra, said):
    out = tmp_path / "r.json"
    code, err = kvqae(monkeypatch, capsys, "search", "--questions", questions, "--index", bm25_index,
                      "--out", out, *extra)
    assert code == 2 and said in err and not out.exists()  # the search ran with the index's own settings
    code, _ = kvqae(monkeypatch, capsys, "search", "--questions", questions, "--index", bm25_index,
                    "--out", out)
    assert code == 0 and out.is_file()


def test_queries_with_a_bm25_index_are_refused(bm25_index, questions, tmp_path, monkeypatch, capsys):
    queries = tmp_path / "emb"
    queries.mkdir()
    code, err = kvqae(monkeypatch, capsys, "search", "--questions", questions, "--queries", queries,
                      "--index", bm25_index, "--out", tmp_path / "r.json")
    assert code == 2 and 'field "--queries": --queries apply to vector indexes' in err


def test_passages_k_without_to_passages_is_refused(bm25_index, questions, tmp_path, monkeypatch, capsys):
    code, err = kvqae(monkeypatch, capsys, "search", "--questions", questions, "--index", bm25_index,
                      "--out", tmp_path / "r.json", "--passages-k", "5")
    assert code == 2 and "--passages-k applies to --to-passages" in err  # k was used, without a word


@pytest.mark.parametrize(("extra", "said"), [
    (["--infoseek-mode", "lenient"], "--infoseek-mode applies to --scorer infoseek, not em-f1"),
    (["--device", "cuda"], "--device applies to a bem:PATH scorer, not em-f1"),
])
def test_options_of_another_scorer_are_refused(questions, tmp_path, monkeypatch, capsys, extra, said):
    preds = tmp_path / "p.jsonl"
    preds.write_text(json.dumps({"id": "q1", "answer": "Paris"}) + "\n")
    code, err = kvqae(monkeypatch, capsys, "evaluate", "answers", preds, "--questions", questions, *extra)
    assert code == 2 and said in err
    code, _ = kvqae(monkeypatch, capsys, "evaluate", "answers", preds, "--questions", questions)
    assert code == 0


@pytest.mark.parametrize(("args", "said"), [
    (["ask", "", "-q", "Who?"], "error: argument 2 is empty (an unset shell variable?)"),
    (["search", "--index", "", "--out", "r.json"], "error: --index is empty"),
    (["search", "--out=", "--index", "i"], "error: --out is empty"),
])
def test_an_empty_argument_is_named_not_read_as_the_current_folder(monkeypatch, capsys, args, said):
    code, err = kvqae(monkeypatch, capsys, *args)
    assert code == 2 and said in err and len(err.strip().splitlines()) == 1


def test_a_trec_score_in_python_syntax_is_refused(tmp_path):
    from kvqae.data.runs import Run
    from kvqae.errors import InputError

    path = tmp_path / "r.trec"
    path.write_text("q1 Q0 d1 1 1_000 bm25\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"score '1_000' is not a number"):  # read as 1000.0 before
        Run.load(path)
    path.write_text("q1 Q0 d1 1 1e3 bm25\n", encoding="utf-8")
    assert Run.load(path).scores == {"q1": {"d1": 1000.0}}


@pytest.mark.parametrize("value", ["-1", "nan", "inf"])
def test_a_demo_clip_budget_must_be_a_finite_number(tmp_path, monkeypatch, capsys, value):
    code, err = kvqae(monkeypatch, capsys, "demo", "--out", tmp_path / "d", "--clip-minutes", value)
    assert code == 2 and "--clip-minutes must be a finite number >= 0" in err
    assert not (tmp_path / "d").exists()


def test_a_png_with_oversized_metadata_is_not_called_corrupt():
    import io

    from PIL import Image, PngImagePlugin

    from kvqae.ask.images import decode_image
    from kvqae.errors import TooLargeError

    buf, info = io.BytesIO(), PngImagePlugin.PngInfo()
    info.add_text("comment", "x" * (50 * 2**20), zip=True)  # 50 KB on disk, 50 MB once inflated
    Image.new("RGB", (4, 4)).save(buf, "PNG", pnginfo=info)
    with pytest.raises(TooLargeError, match="metadata is over the size PIL reads") as e:
        decode_image(buf.getvalue(), name="meta.png")
    assert "corrupt" not in str(e.value)  # the pixels are fine


# ---------------------------------------------------------------- a helper's sweep (330 probes)

def _wiki(pages: list[tuple[str, str, str | None]], siteinfo: str = "") -> str:
    """A MediaWiki export of (title, text, ns or None) pages."""
    body = "".join(f"<page><title>{t}</title>{'' if ns is None else f'<ns>{ns}</ns>'}<id>{i}</id><revision>"
                   f"<text>{text}</text></revision></page>" for i, (t, text, ns) in enumerate(pages))
    return f'<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/">{siteinfo}{body}</mediawiki>'


PROSE = "Paris is the capital of France and its largest city. " * 5


def test_a_kb_build_that_fails_keeps_the_kb_it_would_replace(tmp_path, monkeypatch, capsys):
    """A page title with a control character passed the MediaWiki reader; the KB was swapped in, then its
    load check failed: the old KB was gone and the new one unreadable."""
    good, bad = tmp_path / "good.xml", tmp_path / "bad.xml"
    good.write_text(_wiki([("Paris", PROSE, "0")]), encoding="utf-8")
    bad.write_text(_wiki([("A\x7fB", PROSE, "0")]), encoding="utf-8")
    assert kvqae(monkeypatch, capsys, "kb", "build", good, "--out", tmp_path / "kb", "--no-progress")[0] == 0
    before = (tmp_path / "kb" / "passages.parquet").read_bytes()
    code, err = kvqae(monkeypatch, capsys, "kb", "build", bad, "--out", tmp_path / "kb", "--no-progress")
    assert code == 2 and "bad.xml: article 'A\\x7fB': field \"id\"" in err  # the input named, not the output
    assert (tmp_path / "kb" / "passages.parquet").read_bytes() == before


def test_templates_nested_past_the_parser_are_dropped_not_a_traceback(tmp_path):
    from kvqae.data.kb import build_kb

    deep = "{{" * 3000 + "x" + "}}" * 3000
    (tmp_path / "deep.xml").write_text(_wiki([("Paris", deep + " " + PROSE, "0")]), encoding="utf-8")
    kb = build_kb(tmp_path / "deep.xml", tmp_path / "kb", progress=False)  # RecursionError before
    text = kb.passage_text("Paris#0")
    assert "capital of France" in text and "{" not in text


def test_pages_of_other_namespaces_are_skipped_without_ns(tmp_path):
    """An export without <ns> made Talk:, Category: and Template: pages entities; the wiki's own namespaces
    (siteinfo) count too."""
    from kvqae.data.kb import build_kb

    siteinfo = ('<siteinfo><namespaces><namespace key="0" /><namespace key="100">Portail</namespace>'
                "</namespaces></siteinfo>")
    pages = [("Paris", PROSE, None), ("Talk:Paris", PROSE, None), ("Category:France", PROSE, None),
             ("Template:Infobox", PROSE, None), ("Portail:France", PROSE, None),
             ("Star Wars: A New Hope", PROSE, None)]  # a colon in an article's own title stays
    (tmp_path / "old.xml").write_text(_wiki(pages, siteinfo), encoding="utf-8")
    kb = build_kb(tmp_path / "old.xml", tmp_path / "kb", progress=False)
    assert kb.entity_ids == ["Paris", "Star_Wars:_A_New_Hope"]


@pytest.mark.parametrize(("csv_text", "said"), [
    ('id,question,answer\n"a\tb",What?,x\n', "field \"id\": id 'a\\tb' holds the control character"),
    ("id,question,answer,answer\n1,What?,x,y\n", 'field "answer": column given twice in the header'),
])
def test_evqa_ids_and_headers_are_checked(tmp_path, csv_text, said):
    from kvqae.data.questions import load_questions
    from kvqae.errors import InputError

    path = tmp_path / "q.csv"
    path.write_text(csv_text, encoding="utf-8")
    with pytest.raises(InputError) as e:
        load_questions(path)
    assert said in str(e.value)


def test_evqa_titles_become_ids_by_the_kbs_rule(tmp_path):
    from kvqae.data.questions import load_questions

    path = tmp_path / "q.csv"
    path.write_text('question,answer,wikipedia_title\nWhat?,x,Apollo  11\nWhat?,y,"Apollo\t11"\n')
    assert [q.entity for q in load_questions(path)] == ["Apollo_11", "Apollo_11"]  # Apollo__11 before


@pytest.mark.parametrize(("meta", "said"), [("[]", "got list"), ("false", "got boolean")])
def test_a_question_meta_that_is_not_an_object_is_refused(tmp_path, meta, said):
    from kvqae.data.questions import load_questions
    from kvqae.errors import InputError

    path = tmp_path / "q.jsonl"
    path.write_text(f'{{"id": "q", "question": "Who?", "answers": ["x"], "meta": {meta}}}\n')
    with pytest.raises(InputError, match=f'field "meta": must be an object, {said}'):
        load_questions(path)


@pytest.fixture(scope="module")
def passage_embeddings(tmp_path_factory, prose_kb, tiny_clip):
    from kvqae.encode.store import encode_kb

    return encode_kb(prose_kb, f"clip:{tiny_clip}", "passage", tmp_path_factory.mktemp("emb") / "emb",
                     progress=False)


@pytest.mark.parametrize(("source", "extra", "said"), [
    ("kb", ["--bm25", "--factory", "HNSW32"], "--factory build vector indexes; --bm25 indexes the KB's"),
    ("kb", ["--bm25", "--chunk-rows", "5"], "--chunk-rows build vector indexes"),
    ("kb", [], "this is a knowledge base, not an embeddings directory: give --bm25"),
    ("emb", ["--refine-factor", "4"], "a refine factor re-ranks with the float16 copy --refine keeps"),
    ("emb", ["--train-sample", "5"], "Flat needs no training"),
    ("emb", ["--add-ef-search", "5"], 'field "--add-ef-search"'),
])
def test_index_build_options_that_would_be_ignored(prose_kb, passage_embeddings, tmp_path, monkeypatch,
                                                   capsys, source, extra, said):
    where = prose_kb.path if source == "kb" else passage_embeddings
    code, err = kvqae(monkeypatch, capsys, "index", "build", where, "--out", tmp_path / "ix", *extra)
    assert code == 2 and said in err and not (tmp_path / "ix").exists()


def test_search_refine_factor_on_an_index_without_refine_is_one_line(passage_embeddings, tmp_path,
                                                                    monkeypatch, capsys):
    assert kvqae(monkeypatch, capsys, "index", "build", passage_embeddings, "--out", tmp_path / "ix")[0] == 0
    # the passage embeddings serve as query vectors here (same encoder and dim)
    code, err = kvqae(monkeypatch, capsys, "search", "--queries", passage_embeddings, "--index",
                      tmp_path / "ix", "--out", tmp_path / "r.json", "--refine-factor", "4",
                      "--mode", "text-passage")
    assert code == 2 and "needs an index built with --refine" in err  # AttributeError traceback before


def test_search_options_read_by_nothing_are_refused(bm25_index, questions, prose_kb, tmp_path, monkeypatch,
                                                    capsys):
    code, err = kvqae(monkeypatch, capsys, "search", "--questions", questions, "--index", bm25_index,
                      "--kb", prose_kb.path, "--out", tmp_path / "r.json")
    assert code == 2 and "--kb is read by --to-passages" in err


def test_evaluate_options_qrels_make_moot_and_mixed_levels(questions, tmp_path, monkeypatch, capsys):
    passages, entities = tmp_path / "p.json", tmp_path / "e.json"
    Run_json = '{{"name": "{n}", "level": "{lvl}", "run": {{"q1": {{"{d}": 1.0}}}}}}'
    passages.write_text(Run_json.format(n="p", lvl="passage", d="Paris#0"))
    entities.write_text(Run_json.format(n="e", lvl="entity", d="Paris"))
    qrels = tmp_path / "qrels.json"
    qrels.write_text('{"q1": {"Paris#0": 1}}')
    base = ["evaluate", "retrieval", "--questions", questions, "--out", tmp_path / "rep"]
    code, err = kvqae(monkeypatch, capsys, *base, "--run", passages, "--qrels", qrels,
                      "--passage-requires-entity")
    assert code == 2 and "--passage-requires-entity applies to relevance judged from --kb" in err
    code, err = kvqae(monkeypatch, capsys, *base, "--run", passages, "--qrels", qrels, "--per-run-qrels")
    assert code == 2 and "--merge-qrels/--per-run-qrels applies" in err
    code, err = kvqae(monkeypatch, capsys, *base, "--run", entities, "--run", passages, "--qrels", qrels)
    assert code == 2 and "ranks entities and" in err and "evaluate them separately" in err
    assert kvqae(monkeypatch, capsys, *base, "--run", passages, "--qrels", qrels)[0] == 0


@pytest.mark.parametrize(("extra", "said"), [
    (["--method", "rrf", "--norm", "minmax"], "--norm does not apply to --method rrf"),
    (["--method", "rrf", "--default-minimum", "raw"], "--default-minimum does not apply to --method rrf"),
    (["--method", "wsum", "--rrf-k", "10"], "--rrf-k applies to --method rrf, not wsum"),
    (["--method", "wsum", "--default-minimum", "raw", "--no-default-minimum"], "contradict each other"),
])
def test_fusion_options_of_another_method_are_refused(tmp_path, monkeypatch, capsys, extra, said):
    for name in ("a", "b"):
        (tmp_path / f"{name}.json").write_text(f'{{"name": "{name}", "level": "passage", '
                                               f'"run": {{"q": {{"d": 1.0, "e": 0.5}}}}}}')
    runs = ["--run", tmp_path / "a.json", "--run", tmp_path / "b.json"]
    code, err = kvqae(monkeypatch, capsys, "fuse", "combine", *runs, "--out", tmp_path / "f.json", *extra)
    assert code == 2 and said in err and not (tmp_path / "f.json").exists()


@pytest.mark.parametrize(("extra", "said"), [
    (["--cloze", "c.jsonl", "--style", "cloze"], "--style applies to --generate-cloze N"),
    (["--generate-cloze", "4", "--eval-top-k", "3"], "--eval-top-k applies to --eval-questions"),
])
def test_train_reader_options_of_another_data_source_are_refused(prose_kb, tmp_path, monkeypatch, capsys,
                                                                  extra, said):
    extra = [str(tmp_path / x) if x.endswith(".jsonl") else x for x in extra]
    (tmp_path / "c.jsonl").write_text("")
    code, err = kvqae(monkeypatch, capsys, "train", "reader", "--kb", prose_kb.path, "--out", tmp_path / "r",
                      *extra)
    assert code == 2 and said in err and not (tmp_path / "r").exists()


def test_image_options_that_would_be_ignored(tmp_path, monkeypatch, capsys):
    rows = tmp_path / "infoseek.jsonl"
    rows.write_text('{"data_id": "d1", "question": "What?", "answer": ["x"], "image_id": "oven_1"}\n')
    code, err = kvqae(monkeypatch, capsys, "questions", "convert", rows, "--out", tmp_path / "q.jsonl",
                      "--check-images")
    assert code == 2 and "infoseek rows name their images by id, found under --images-dir" in err
    articles = tmp_path / "a.jsonl"
    articles.write_text('{"id": "P", "title": "P", "text": "Some text here."}\n')
    code, err = kvqae(monkeypatch, capsys, "kb", "build", articles, "--out", tmp_path / "kb", "--images-dir",
                      tmp_path)
    assert code == 2 and "--images-dir resolves the image names of ViQuAE KB rows" in err


def test_a_world_without_training_questions_is_warned(tmp_path, monkeypatch, capsys):
    code, err = kvqae(monkeypatch, capsys, "world", "--out", tmp_path / "w", "--depictions", "1",
                      "--entities", "6", "--image-size", "32")
    assert code == 0 and "warning: no train questions" in err


# ---------------------------------------------------------------- a second sweep (ask, serve, run)

def _config(tmp_path, **extra):
    """A pipeline config whose inputs exist, loaded (the checks run before any stage)."""
    import yaml

    from kvqae.pipeline import load_pipeline_config

    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"id": "q1", "question": "Who?", "answers": ["Ada"]}) + "\n")
    spec = {"output": "out", "kb": {"source": str(questions)},
            "questions": {"test": "q.jsonl", "validation": "q.jsonl"}, "k": 10, **extra}
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return load_pipeline_config(path)


@pytest.mark.parametrize(("names", "extra", "said"), [
    (["a", "fusion+proximity"], {"rerank": {"method": "proximity"}}, "taken by the re-ranked run"),
    (["a", "a+reader"], {"reader": {"model": "READER", "run": "a"}}, "taken by the reader's order"),
])
def test_a_run_named_like_a_derived_run_is_refused(tmp_path, tiny_reader_dir, names, extra, said):
    """Its file was overwritten by the re-ranked run or the reader's order, and the report had two rows of
    one name."""
    from kvqae.errors import InputError
    from kvqae.pipeline_config import check_pipeline

    if "reader" in extra:
        extra = {"reader": {**extra["reader"], "model": str(tiny_reader_dir)}}
    retrieval = [{"mode": "text-passage", "encoder": "bm25", "name": n} for n in names]
    cfg = _config(tmp_path, retrieval=retrieval, fusion={"method": "rrf", "norm": "none"}, **extra)
    with pytest.raises(InputError, match=said) as e:
        check_pipeline(cfg)
    assert e.value.field == "retrieval.1.name"


def test_fusion_given_but_not_run_is_warned(tmp_path):
    from kvqae.pipeline_config import config_notes

    retrieval = [{"mode": "text-passage", "encoder": "bm25", "name": n} for n in ("a", "b")]
    cfg = _config(tmp_path, retrieval=retrieval, fusion={"method": "rrf", "norm": "none"}, fit_split=None)
    assert any("fit_split is null and fusion.weights not given: the runs are not fused" in n
               for n in config_notes(cfg, ["test"]))


def test_one_metric_written_two_ways_is_one_column(tmp_path):
    from kvqae.evaluate.metrics import unique_metrics

    assert unique_metrics(["mrr@10", "MRR@10", "mrr@010", "p@1", "P@1 "]) == ["mrr@10", "p@1"]
    cfg = _config(tmp_path, retrieval=[{"mode": "text-passage", "encoder": "bm25"}],
                  metrics=["mrr@10", "MRR@10", "mrr@010"])
    assert cfg.metrics == ["mrr@10"]


def test_top_k_without_a_reader_is_refused(tmp_path, tiny_world_dir, tiny_clip, monkeypatch, capsys):
    from conftest import write_tiny_pipeline
    from kvqae.pipeline import load_pipeline_config, run_pipeline

    config = write_tiny_pipeline(tmp_path, tiny_world_dir, tiny_clip, None,
                                 retrieval=[{"mode": "text-passage", "encoder": "bm25"}])
    cfg = load_pipeline_config(config)
    run_pipeline(cfg, progress=False, log=lambda _: None)
    code, err = kvqae(monkeypatch, capsys, "ask", cfg.output, "-q", "Who?", "--top-k", "5")
    assert code == 2 and 'field "--top-k": this bundle has no reader' in err  # ignored before


# ---------------------------------------------------------------- a third sweep (training configs, readers)

@pytest.mark.parametrize(("extra", "said"), [
    ({"train": {"output_dir": "KB"}}, "output_dir is set by the ablation for each variant"),
    ({"train": {"mode": "entity", "epochs": 1}}, "mode is set by the ablation"),
    ({"train": {"bogus": 3}}, "unknown training key 'bogus'"),
    ({"model": "preset:huge"}, "unknown CLIP preset 'huge'; choose from preset:demo"),
    ({"threads": 100000}, "less than or equal to 256"),
])
def test_ablation_keys_it_sets_itself_are_refused(prose_kb, tmp_path, monkeypatch, capsys, extra, said):
    """`train: {output_dir: KB}` replaced an input KB with a CLIP checkpoint (and put every variant in one
    folder); an unknown key or preset failed after the KB and start model were built; 100,000 threads
    segfaulted."""
    import shutil

    import yaml

    kb = tmp_path / "kb"
    shutil.copytree(prose_kb.path, kb)
    before = sorted(p.name for p in kb.iterdir())
    cfg = {"model": "preset:tiny", "kb": str(kb), "output_dir": str(tmp_path / "abl"),
           "train_questions": "q.jsonl", **extra}
    if "train" in extra:
        cfg["train"] = {k: (str(kb) if v == "KB" else v) for k, v in extra["train"].items()}
    (tmp_path / "abl.yaml").write_text(yaml.safe_dump(cfg))
    code, err = kvqae(monkeypatch, capsys, "train", "ablation", tmp_path / "abl.yaml", "--no-progress")
    assert code == 2 and said in err and "abl.yaml" in err
    assert sorted(p.name for p in kb.iterdir()) == before and not (tmp_path / "abl").exists()


def test_a_work_folder_that_is_not_the_trainings_is_kept(tmp_path, tiny_clip):
    """`<output_dir>.work` is removed at the end of training: a folder of that name holding something else
    (an input KB, a user's notes) was deleted."""
    from kvqae.errors import InputError
    from kvqae.train.trainer import check_work_folder

    work = tmp_path / "clip.work"
    check_work_folder(work)  # missing: fine
    (work / "checkpoint").mkdir(parents=True)
    check_work_folder(work)  # an earlier run's: fine (resumed, then removed)
    (work / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="holds notes.txt, not only this training's checkpoint/ and best/"):
        check_work_folder(work)
    assert (work / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize(("joint", "said"), [
    ({"learn_weights": True, "weights": [0, 1]}, "learned weights start from positive values"),
    ({"weights": [0, 0]}, "leave nothing to train"),
])
def test_joint_weights_that_train_nothing_are_refused(joint, said):
    from pydantic import ValidationError

    from kvqae.train.trainer import JointOptions

    with pytest.raises(ValidationError, match=said):  # a ValueError traceback once the model had loaded
        JointOptions(**joint)


def test_a_clip_given_as_a_reader_is_one_line(tiny_clip):
    from kvqae.errors import InputError
    from kvqae.read.model import Reader

    with pytest.raises(InputError, match="not a reader model"):  # "Unrecognized configuration class"
        Reader.load(tiny_clip)


@pytest.mark.parametrize(("value", "said"), [("[1, null]", "item 1 must be a string"),
                                             ('[["a"]]', "item 0 must be a string")])
def test_infoseek_answer_eval_items_are_checked(tmp_path, value, said):
    """A null alias was matched as "None": the prediction "None" scored as right."""
    from kvqae.data.questions import load_questions
    from kvqae.errors import InputError

    path = tmp_path / "infoseek.jsonl"
    path.write_text(f'{{"data_id": "d1", "question": "What?", "answer": ["x"], "question_type": "String", '
                    f'"answer_eval": {value}}}\n')
    with pytest.raises(InputError, match=said):
        load_questions(path)


def test_a_viquae_wikidata_info_that_is_not_an_object_is_refused(tmp_path):
    from kvqae.data.articles import read_articles
    from kvqae.errors import InputError

    path = tmp_path / "kb.jsonl"
    path.write_text('{"wikipedia_title": "Paris", "text": "Paris is a city.", "wikidata_info": []}\n')
    with pytest.raises(InputError, match='field "wikidata_info": must be an object'):  # the QID was lost
        list(read_articles(path, "viquae"))


@pytest.mark.parametrize(("splits", "said"), [
    ({"train_split": "train", "validation_split": "nosuch"}, "no question has meta.split 'nosuch'"),
    ({"train_split": "train", "validation_split": "train"}, "trains and validates on the same split"),
])
def test_question_splits_for_clip_training_must_exist_and_differ(prose_kb, tiny_clip, tmp_path, splits, said):
    """A validation split no question has fell back to a random split silently; the training split
    given as the validation split validated on the training questions."""
    from kvqae.errors import InputError
    from kvqae.train.trainer import TrainClipConfig, load_pairs

    questions = tmp_path / "q.jsonl"
    row = {"id": "q1", "question": "Who?", "answers": ["x"], "entity": "Marie_Curie",
           "meta": {"split": "train"}}
    questions.write_text(json.dumps(row) + "\n")
    cfg = TrainClipConfig(mode="cross", model=str(tiny_clip), kb=str(prose_kb.path), questions=str(questions),
                          output_dir=str(tmp_path / "out"), **splits)
    with pytest.raises(InputError, match=said):
        load_pairs(cfg)


def test_an_image_path_that_is_a_folder_is_called_a_folder(tmp_path):
    from kvqae.data.articles import read_articles
    from kvqae.errors import InputError

    (tmp_path / "img.png").mkdir()
    path = tmp_path / "a.jsonl"
    path.write_text('{"id": "P", "title": "P", "text": "Some text.", "image": "img.png"}\n')
    with pytest.raises(InputError, match="is a folder, not an image file"):  # "image not found" before
        list(read_articles(path, "jsonl"))


def test_an_image_error_is_not_wrapped_twice(tmp_path):
    import numpy as np
    from PIL import Image

    from kvqae.encode.loader import open_image
    from kvqae.errors import InputError

    path = tmp_path / "f.tif"
    Image.fromarray(np.zeros((4, 4), dtype=np.float32), mode="F").save(path)
    with pytest.raises(InputError) as e:
        open_image(path, item_id="q9", field="image")
    assert str(e.value).count("f.tif") == 1 and "unreadable image" not in str(e.value)
