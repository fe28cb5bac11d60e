"""Reader training: the global-softmax loss, example building, splits, and a short overfitting run."""

from __future__ import annotations

import json
import math

import pytest
import torch

from kvqae.errors import InputError
from kvqae.read.cloze import ClozeQuestion
from kvqae.read.model import Reader, ReaderSettings, build_tiny_reader
from kvqae.read.train import (
    ReaderExample,
    ReaderTrainConfig,
    WeightAverage,
    cloze_examples,
    evaluate_reader,
    global_span_loss,
    reading_examples,
    split_examples,
    train_reader_model,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def kb(prose_kb):
    return prose_kb


def test_global_span_loss_matches_hand_computation():
    start = torch.tensor([[0.0, 1.0, 2.0, 0.0], [0.0, 3.0, 0.0, 0.0]])
    end = torch.zeros(2, 4)
    mask = torch.tensor([[False, True, True, False], [False, True, True, True]])
    st = torch.zeros(2, 4, dtype=torch.bool)
    en = torch.zeros(2, 4, dtype=torch.bool)
    st[1, 1] = True
    en[0, 2] = en[1, 3] = True  # two gold ends (answer twice): their probabilities add up
    z_start = math.exp(1) + math.exp(2) + math.exp(3) + 2 * math.exp(0)
    expected_start = -(3 - math.log(z_start))
    expected_end = -math.log(2 / 5)  # five context tokens, all end logits equal
    loss = global_span_loss(start, end, mask, st, en)
    assert float(loss) == pytest.approx((expected_start + expected_end) / 2, abs=1e-6)


def test_cloze_examples_mix_relevant_and_irrelevant_passages(kb):
    text = kb.passage_text("Marie_Curie#0")
    a = text.index("Warsaw")
    q = ClozeQuestion(
        "c1",
        "Marie Curie was born in where in 1867?",
        "Warsaw",
        "Marie_Curie#0",
        "Marie_Curie",
        a,
        a + 6,
        "GPE",
    )
    (ex,) = cloze_examples(kb, [q], relevant=2, irrelevant=3, seed=0)
    assert len(ex.passages) == 4  # "Warsaw" is in no other Marie Curie passage: 1 relevant + 3 distractors
    src = ex.passage_ids.index("Marie_Curie#0")
    assert ex.gold_spans[src] == [(a, a + 6)]
    others = [p for p in ex.passage_ids if p != "Marie_Curie#0"]
    assert all(kb.entity_of(p) != "Marie_Curie" for p in others)
    assert all(ex.gold_spans[i] == [] for i in range(4) if i != src)
    # Same seed, same example.
    assert cloze_examples(kb, [q], relevant=2, irrelevant=3, seed=0)[0] == ex
    # a span that does not hold the answer in its passage would train on the wrong words (session 17)
    shifted = ClozeQuestion("c2", q.question, "Warsaw", "Marie_Curie#0", "Marie_Curie", a + 1, a + 7, "GPE")
    with pytest.raises(InputError, match=r"c\.jsonl: c2: field \"start\": the passage holds .* not the"):
        cloze_examples(kb, [shifted], source="c.jsonl")
    lost = ClozeQuestion("c3", q.question, "Warsaw", "Nobody#0", None, 0, 6, "GPE")
    with pytest.raises(InputError, match="c3: field \"passage_id\": unknown passage id 'Nobody#0'"):
        cloze_examples(kb, [lost])


def test_reading_examples_keep_rank_order_titles_and_misses(kb):
    from kvqae.data.questions import Question
    from kvqae.data.runs import Run

    questions = [
        Question("q1", "Where was this physicist born?", answers=["Warsaw"]),
        Question("q2", "When did she die?", answers=["1950"]),  # in no read passage: kept, no spans
        Question("q3", "No answers given?"),  # skipped: nothing to score
    ]
    curie, tower = "Marie_Curie#0", "Eiffel_Tower#0"
    run = Run({"q1": {tower: 3.0, curie: 2.0, "Marie_Curie#1": 1.0}, "q2": {curie: 1.0},
               "q3": {curie: 1.0}})
    q1, q2 = reading_examples(kb, questions, run, top_k=2)
    assert q1.passage_ids == [tower, curie]  # rank order, cut at top_k
    assert q1.titles == ["Eiffel Tower", "Marie Curie"]
    a = kb.passage_text(curie).index("Warsaw")
    assert q1.gold_spans == [[], [(a, a + 6)]] and q1.answers == ["Warsaw"]
    assert q2.passage_ids == [curie] and q2.gold_spans == [[]] and not q2.has_answer


def test_validation_reads_at_the_given_length_and_restores_the_settings(kb, tmp_path):
    from kvqae.read.train import _evaluate_at_length

    init = build_tiny_reader(tmp_path / "init", seed=0)
    settings = ReaderSettings(max_length=96, stride=32, evidence=None)
    reader = Reader.load(init, settings=settings)
    pids = ["Marie_Curie#0", "Eiffel_Tower#0"]
    exs = [ReaderExample("q", "Where was Marie Curie born?", ["Warsaw"], pids,
                         [kb.passage_text(p) for p in pids], [[], []])]
    at_64 = _evaluate_at_length(reader, exs, 64)
    assert reader.settings == settings  # restored: checkpoints keep the training length
    short = Reader.load(init, settings=settings.model_copy(update={"max_length": 64, "stride": 21}))
    assert at_64 == evaluate_reader(short, exs)
    assert _evaluate_at_length(reader, [], 64) == {"em": 0.0, "f1": 0.0, "n": 0}


def test_split_keeps_groups_together():
    exs = [ReaderExample(f"q{i}", "q", ["a"], ["p"], ["t"], [[(0, 1)]]) for i in range(20)]
    group = {f"q{i}": f"article{i // 4}" for i in range(20)}
    train, val = split_examples(exs, 0.2, seed=0, group_of=lambda e: group[e.qid])
    assert len(val) == 4 and len(train) == 16
    assert len({group[e.qid] for e in val}) == 1
    assert not {group[e.qid] for e in val} & {group[e.qid] for e in train}


def test_short_training_run_lowers_loss_and_lifts_em(kb, tmp_path):
    from kvqae.read.cloze import generate_cloze

    cloze = generate_cloze(kb, 16, seed=0, progress=False)
    examples = cloze_examples(kb, cloze, relevant=1, irrelevant=2, seed=0)
    init = build_tiny_reader(tmp_path / "init", hidden_size=64, layers=2, heads=2, seed=0)
    cfg = ReaderTrainConfig(
        init_model=str(init),
        epochs=10,
        lr=3e-3,
        warmup=0.05,
        batch_questions=4,
        eval_every=0,
        max_eval_questions=len(examples),
        seed=0,
        # evidence ranking off: it finds cloze answers by their words alone (EM 75 before training)
        settings=ReaderSettings(max_length=96, stride=32, max_answer_tokens=8, evidence=None),
    )
    # Overfitting on purpose: validation = training questions, so EM must climb from ~0.
    result = train_reader_model(examples, examples, tmp_path / "reader", cfg, progress=False)
    start_em = result.history[0]["em"]
    assert result.best["em"] >= start_em + 30
    losses = json.loads((tmp_path / "reader" / "training.json").read_text())["losses"]
    assert sum(losses[-6:]) / 6 < 0.5 * sum(losses[:6]) / 6
    # The output directory is a loadable reader whose answers give that best EM again.
    from kvqae.read.train import evaluate_reader

    again = evaluate_reader(Reader.load(tmp_path / "reader", settings=cfg.settings), examples)
    assert again["em"] == pytest.approx(result.best["em"])
    assert not (tmp_path / "reader.work").exists()


def test_time_budget_and_resume(kb, tmp_path):
    from kvqae.read.cloze import generate_cloze

    examples = cloze_examples(kb, generate_cloze(kb, 6, seed=0, progress=False), relevant=1, irrelevant=1)
    init = build_tiny_reader(tmp_path / "init", seed=0)
    settings = ReaderSettings(max_length=64, stride=16)
    base = dict(init_model=str(init), batch_questions=2, eval_every=0, seed=0, settings=settings)
    # A zero budget stops after the first optimizer step, still writing a loadable best checkpoint.
    r0 = train_reader_model(
        examples, examples[:2], tmp_path / "b", ReaderTrainConfig(max_minutes=0, **base), progress=False
    )
    assert r0.stopped_early and r0.steps == 1
    assert (tmp_path / "b" / "model.safetensors").exists()
    # One epoch, keep the work dir, then resume for a second epoch: step count continues, history is kept.
    cfg1 = ReaderTrainConfig(epochs=1, **base)
    r1 = train_reader_model(examples, examples[:2], tmp_path / "r", cfg1, keep_work=True, progress=False)
    assert r1.steps == 3 and [h["step"] for h in r1.history] == [0, 3]
    cfg2 = ReaderTrainConfig(epochs=2, **base)
    r2 = train_reader_model(examples, examples[:2], tmp_path / "r", cfg2, resume=True, progress=False)
    assert r2.steps == 6 and [h["step"] for h in r2.history] == [0, 3, 6]


def test_step_budget_sets_the_schedule_and_stops(kb, tmp_path):
    from kvqae.read.cloze import generate_cloze

    examples = cloze_examples(kb, generate_cloze(kb, 6, seed=0, progress=False), relevant=1, irrelevant=1)
    init = build_tiny_reader(tmp_path / "init", seed=0)
    cfg = ReaderTrainConfig(init_model=str(init), batch_questions=1, epochs=3, eval_every=0, seed=0,
                            warmup=0.0, max_steps=4, settings=ReaderSettings(max_length=64, stride=16))
    # 3 epochs of 6 questions would be 18 steps; the budget stops at 4 and validates that last model
    r = train_reader_model(examples, examples[:2], tmp_path / "r", cfg, keep_work=True, progress=False)
    assert r.steps == 4 and r.stopped_early
    assert [h["step"] for h in r.history] == [0, 4]
    # the learning rate decays over the 4 steps (linear, no warm-up): 1, 3/4, 2/4, 1/4 of lr -> 0 after
    sched = torch.load(tmp_path / "r.work" / "last" / "optimizer.pt", weights_only=False)["scheduler"]
    assert sched["last_epoch"] == 4 and sched["_last_lr"][0] == pytest.approx(0.0)
    # a budget above the epochs' steps changes nothing: all epochs, not stopped early
    longer = ReaderTrainConfig(**{**cfg.model_dump(), "epochs": 1, "max_steps": 100})
    r = train_reader_model(examples, examples[:2], tmp_path / "r2", longer, progress=False)
    assert r.steps == 6 and not r.stopped_early


def test_weight_average_by_hand():
    layer = torch.nn.Linear(1, 1, bias=False)
    layer.weight.requires_grad_(True)
    avg = WeightAverage(layer, decay=0.5)
    with torch.no_grad():
        layer.weight.fill_(1.0)
    avg.shadow["weight"].fill_(0.0)
    # update 0: d = min(0.5, 1/10) = 0.1 -> 0.1 * 0 + 0.9 * 1 = 0.9
    avg.update()
    assert float(avg.shadow["weight"]) == pytest.approx(0.9)
    with torch.no_grad():
        layer.weight.fill_(3.0)
    # update 1: d = min(0.5, 2/11) = 2/11 -> 2/11 * 0.9 + 9/11 * 3
    avg.update()
    expected = 2 / 11 * 0.9 + 9 / 11 * 3.0
    assert float(avg.shadow["weight"]) == pytest.approx(expected)
    # later updates use the decay itself: d = min(0.5, 10/19) = 0.5
    avg.updates = 9
    avg.update()
    assert float(avg.shadow["weight"]) == pytest.approx(0.5 * expected + 0.5 * 3.0)
    # swapped in for a block, then the training weight is back
    with avg.swapped_in():
        assert float(layer.weight.detach()) == pytest.approx(0.5 * expected + 1.5)
    assert float(layer.weight.detach()) == 3.0
    restored = WeightAverage(layer, decay=0.5)
    restored.load_state_dict(avg.state_dict())
    assert restored.updates == 10 and torch.equal(restored.shadow["weight"], avg.shadow["weight"])


def test_training_with_ema_saves_the_averaged_weights(kb, tmp_path):
    from safetensors.torch import load_file

    from kvqae.read.cloze import generate_cloze

    examples = cloze_examples(kb, generate_cloze(kb, 6, seed=0, progress=False), relevant=1, irrelevant=1)
    init = build_tiny_reader(tmp_path / "init", seed=0)
    base = dict(init_model=str(init), batch_questions=2, epochs=1, eval_every=0, seed=0, lr=1e-2,
                settings=ReaderSettings(max_length=64, stride=16))
    # no validation questions: every validation keeps its model, so the output is the last step's
    plain = train_reader_model(examples, [], tmp_path / "plain", ReaderTrainConfig(**base), progress=False)
    averaged = train_reader_model(examples, [], tmp_path / "ema", ReaderTrainConfig(ema=0.9, **base),
                                  keep_work=True, progress=False)
    assert plain.steps == averaged.steps == 3
    w_init, w_plain, w_ema, w_last = (
        load_file(p / "model.safetensors")
        for p in (init, tmp_path / "plain", tmp_path / "ema", tmp_path / "ema.work" / "last")
    )
    # the same seed trains the same weights; the saved reader holds their average, not the last ones
    for name, last in w_last.items():
        assert torch.allclose(last, w_plain[name], atol=1e-6)
    name = next(n for n in w_init if n.endswith("query.weight"))
    assert not torch.allclose(w_ema[name], w_last[name])
    assert (w_ema[name] - w_init[name]).norm() < (w_last[name] - w_init[name]).norm()
    assert (tmp_path / "ema.work" / "last" / "ema.pt").exists()
    # resuming restores the average: a second epoch continues from it
    more = ReaderTrainConfig(ema=0.9, **{**base, "epochs": 2})
    again = train_reader_model(examples, [], tmp_path / "ema", more, resume=True, progress=False)
    assert again.steps == 6


def test_resume_refuses_another_run_and_a_shorter_schedule(kb, tmp_path):
    # `--resume` went on with whatever new settings it was given (a 1-layer checkpoint saved as 3 layers, a
    # new seed's split at the old position), or past a shorter schedule; a rerun without it removed the
    # checkpoint without a word
    from kvqae.read.cloze import generate_cloze

    examples = cloze_examples(kb, generate_cloze(kb, 6, seed=0, progress=False), relevant=1, irrelevant=1)
    init = build_tiny_reader(tmp_path / "init", seed=0)
    base = dict(init_model=str(init), batch_questions=2, eval_every=0, seed=0,
                settings=ReaderSettings(max_length=64, stride=16))
    out = tmp_path / "r"
    train_reader_model(examples, examples[:2], out, ReaderTrainConfig(epochs=2, **base), keep_work=True,
                       progress=False)
    last = tmp_path / "r.work" / "last"
    with pytest.raises(InputError, match=r"other settings \(lr, seed\)"):
        other = ReaderTrainConfig(epochs=3, lr=1e-4, **{**base, "seed": 5})
        train_reader_model(examples, examples[:2], out, other, resume=True, progress=False)
    with pytest.raises(InputError, match="other training or validation questions"):
        train_reader_model(examples[:5], examples[:2], out, ReaderTrainConfig(epochs=3, **base), resume=True,
                           progress=False)
    with pytest.raises(InputError, match="the checkpoint is at step 6, past the 3 steps now asked"):
        train_reader_model(examples, examples[:2], out, ReaderTrainConfig(epochs=1, **base), resume=True,
                           progress=False)
    assert (last / "state.json").exists()  # refused before anything was removed
    said: list[str] = []
    again = train_reader_model(examples, examples[:2], out, ReaderTrainConfig(epochs=3, **base), resume=True,
                               keep_work=True, progress=False, log=said.append)
    assert again.steps == 9 and said[0].startswith("resumed at step 6")
    said.clear()
    train_reader_model(examples, examples[:2], out, ReaderTrainConfig(epochs=1, **base), progress=False,
                       log=said.append)
    assert "starting over: the checkpoint of an earlier run" in said[0] and "step 9" in said[0]


def test_the_work_folder_holds_only_checkpoints(kb, tmp_path):
    from kvqae.read.cloze import generate_cloze

    examples = cloze_examples(kb, generate_cloze(kb, 4, seed=0, progress=False), relevant=1, irrelevant=1)
    init = build_tiny_reader(tmp_path / "init", seed=0)
    cfg = ReaderTrainConfig(init_model=str(init), epochs=1, eval_every=0,
                            settings=ReaderSettings(max_length=64, stride=16))
    (tmp_path / "r.work").mkdir()
    (tmp_path / "r.work" / "notes.txt").write_text("keep", encoding="utf-8")
    with pytest.raises(InputError, match="holds notes.txt, not only this training's last/ and best/"):
        train_reader_model(examples, examples, tmp_path / "r", cfg, progress=False)
    assert (tmp_path / "r.work" / "notes.txt").read_text(encoding="utf-8") == "keep"
    (tmp_path / "r.work" / "notes.txt").unlink()
    (tmp_path / "r.work" / "best").mkdir()
    inside = ReaderTrainConfig(**{**cfg.model_dump(), "init_model": str(tmp_path / "r.work" / "best")})
    with pytest.raises(InputError, match="is inside the work folder"):
        train_reader_model(examples, examples, tmp_path / "r", inside, progress=False)
