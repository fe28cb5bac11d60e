"""Learnability check of a generated world with cheap features (a diagnostic, not a unit test).

    python -m kvqae.world.check [--entities 200] [--shifts 0,0.5,1] [--seed 0]

(a) image->image retrieval of the test question images against the KB reference images by nearest neighbour on
raw pixels (16x16 RGB) and on colour histograms (4x4x4 RGB bins): P@1 and MRR, overall and by depiction style.
(b) whether the cue words of names are visible: logistic-regression probes trained on train-split depictions
of cue-named entities predict the colour word (from colour histograms) and the pattern word (from
gradient-orientation histograms) of test-split depictions; accuracy per style against the majority rate.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from kvqae.world.entities import title_cues


def _load(world: Path, rel: str) -> np.ndarray:
    with Image.open(world / rel) as img:
        return np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0


def pixel_features(img: np.ndarray) -> np.ndarray:
    """16x16 RGB thumbnail, mean-centred and L2-normalised."""
    thumb = np.asarray(
        Image.fromarray((img * 255).astype(np.uint8)).resize((16, 16), Image.Resampling.BOX), dtype=np.float32
    ).ravel()
    thumb -= thumb.mean()
    return thumb / (np.linalg.norm(thumb) + 1e-8)


def colour_histogram(img: np.ndarray, bins: int = 4) -> np.ndarray:
    """bins^3 RGB histogram, square-rooted (Hellinger) and L2-normalised."""
    q = np.minimum((img * bins).astype(int), bins - 1)
    idx = (q[..., 0] * bins + q[..., 1]) * bins + q[..., 2]
    h = np.sqrt(np.bincount(idx.ravel(), minlength=bins**3).astype(np.float32))
    return h / (np.linalg.norm(h) + 1e-8)


def gradient_histogram(img: np.ndarray, cells: int = 4, bins: int = 8) -> np.ndarray:
    """Orientation histograms of grey-level gradients on a cells x cells grid (tiny HOG) plus a global one."""
    grey = img.mean(axis=2)
    gy, gx = np.gradient(grey)
    mag = np.hypot(gx, gy)
    ori = np.minimum(((np.arctan2(gy, gx) % np.pi) / np.pi * bins).astype(int), bins - 1)
    n = grey.shape[0]
    feats = [np.bincount(ori.ravel(), weights=mag.ravel(), minlength=bins)]
    step = n // cells
    for r in range(cells):
        for c in range(cells):
            sl = (slice(r * step, (r + 1) * step), slice(c * step, (c + 1) * step))
            feats.append(np.bincount(ori[sl].ravel(), weights=mag[sl].ravel(), minlength=bins))
    f = np.concatenate(feats).astype(np.float32)
    return f / (np.linalg.norm(f) + 1e-8)


def _rank_metrics(sims: np.ndarray, gold: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per query: hit@1 and reciprocal rank of the gold column."""
    gold_scores = sims[np.arange(len(gold)), gold]
    rank = (sims > gold_scores[:, None]).sum(axis=1) + 1
    return (rank == 1).astype(float), 1.0 / rank


def check_world(world: str | Path) -> dict:
    """Measure (a) and (b) on one generated world; returns a JSON-able dict of figures."""
    world = Path(world)
    articles = [json.loads(line) for line in (world / "articles.jsonl").open(encoding="utf-8")]
    depictions = [json.loads(line) for line in (world / "depictions.jsonl").open(encoding="utf-8")]
    ids = [a["id"] for a in articles]
    col = {e: i for i, e in enumerate(ids)}
    kb_imgs = [_load(world, a["image"]) for a in articles]
    test = [d for d in depictions if d["split"] == "test"]
    q_imgs = [_load(world, d["image"]) for d in test]
    gold = np.array([col[d["entity"]] for d in test])
    styles = np.array([d["pose"]["style"] for d in test])
    out: dict = {
        "entities": len(ids),
        "test_images": len(test),
        "random_p1": 1 / len(ids),
        "random_mrr": float(np.mean(1 / np.arange(1, len(ids) + 1))),
    }
    for name, feat in (("pixels", pixel_features), ("colour_hist", colour_histogram)):
        kb = np.stack([feat(x) for x in kb_imgs])
        q = np.stack([feat(x) for x in q_imgs])
        hit, rr = _rank_metrics(q @ kb.T, gold)
        out[name] = {
            "p1": float(hit.mean()),
            "mrr": float(rr.mean()),
            "by_style": {
                s: {
                    "n": int((styles == s).sum()),
                    "p1": float(hit[styles == s].mean()),
                    "mrr": float(rr[styles == s].mean()),
                }
                for s in ("photo", "statue", "sketch")
                if (styles == s).any()
            },
        }
    out["cue_probes"] = _cue_probes(world, articles, depictions)
    out["cue_title_retrieval"] = _cue_title_retrieval(world, articles, depictions, test, q_imgs, gold, styles)
    return out


def _features(img: np.ndarray) -> np.ndarray:
    return np.concatenate([colour_histogram(img), gradient_histogram(img)])


def _cue_title_retrieval(
    world: Path,
    articles: list[dict],
    depictions: list[dict],
    test: list[dict],
    q_imgs: list[np.ndarray],
    gold: np.ndarray,
    styles: np.ndarray,
) -> dict:
    """A cheap stand-in for image->title retrieval, with no learned text side.

    Probes predict colour, pattern and noun from the image (trained on KB images and train-split depictions,
    labels from the entity attributes); each title is scored by the summed log-odds (against a uniform guess)
    of the cue words it spells, so a word it lacks adds nothing and cue-less titles rank by their noun alone
    or not at all. Ties count as half a rank.
    """
    from sklearn.linear_model import LogisticRegression

    attrs = {json.loads(line)["id"]: json.loads(line) for line in (world / "entities.jsonl").open()}
    train = [(a["image"], a["id"]) for a in articles]
    train += [(d["image"], d["entity"]) for d in depictions if d["split"] == "train"]
    x_tr = np.stack([_features(_load(world, p)) for p, _ in train])
    x_te = np.stack([_features(x) for x in q_imgs])
    scores = np.zeros((len(test), len(articles)))
    for key in ("colour", "pattern", "noun"):
        clf = LogisticRegression(max_iter=2000, C=10.0)
        clf.fit(x_tr, [attrs[e][key] for _, e in train])
        logp = clf.predict_log_proba(x_te)
        cls = {c: i for i, c in enumerate(clf.classes_)}
        for j, a in enumerate(articles):
            word = next((w for w in a["title"].split() if w in cls), None)
            if word is not None:
                # log-odds against a uniform guess: a title lacking a cue word is neither helped nor hurt
                scores[:, j] += logp[:, cls[word]] + np.log(len(cls))
    gold_s = scores[np.arange(len(gold)), gold]
    rank = (scores > gold_s[:, None]).sum(1) + 0.5 * ((scores == gold_s[:, None]).sum(1) - 1) + 1
    hit, rr = (rank == 1).astype(float), 1.0 / rank
    return {
        "p1": float(hit.mean()),
        "mrr": float(rr.mean()),
        "by_style": {
            s: {"p1": float(hit[styles == s].mean()), "mrr": float(rr[styles == s].mean())}
            for s in ("photo", "statue", "sketch")
            if (styles == s).any()
        },
    }


def _cue_probes(world: Path, articles: list[dict], depictions: list[dict]) -> dict:
    from sklearn.linear_model import LogisticRegression

    cues = {a["id"]: title_cues(a["title"]) for a in articles}
    kb_of = {a["id"]: a["image"] for a in articles}
    named = {e for e, (c, p) in cues.items() if c and p}
    train = [(kb_of[e], e, "photo") for e in sorted(named)]
    train += [
        (d["image"], d["entity"], d["pose"]["style"])
        for d in depictions
        if d["split"] == "train" and d["entity"] in named
    ]
    test = [
        (d["image"], d["entity"], d["pose"]["style"])
        for d in depictions
        if d["split"] == "test" and d["entity"] in named
    ]
    if not train or not test:
        return {}
    imgs_tr = [_load(world, p) for p, _, _ in train]
    imgs_te = [_load(world, p) for p, _, _ in test]
    styles = np.array([s for _, _, s in test])
    result = {}
    for word_index, word, feat in ((0, "colour", colour_histogram), (1, "pattern", gradient_histogram)):
        y_tr = [cues[e][word_index] for _, e, _ in train]
        y_te = np.array([cues[e][word_index] for _, e, _ in test])
        clf = LogisticRegression(max_iter=2000, C=10.0)
        clf.fit(np.stack([feat(x) for x in imgs_tr]), y_tr)
        pred = clf.predict(np.stack([feat(x) for x in imgs_te]))
        values, counts = np.unique(y_tr, return_counts=True)
        result[word] = {
            "classes": len(values),
            "majority_rate": float((y_te == values[counts.argmax()]).mean()),
            "accuracy": float((pred == y_te).mean()),
            "by_style": {
                s: float((pred[styles == s] == y_te[styles == s]).mean())
                for s in ("photo", "statue", "sketch")
                if (styles == s).any()
            },
        }
    return result


def main(argv: list[str] | None = None) -> None:
    from kvqae.world.generate import WorldConfig, generate_world

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--entities", type=int, default=200)
    ap.add_argument("--shifts", default="0,0.5,1")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args(argv)
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        for shift in [float(s) for s in args.shifts.split(",")]:
            cfg = WorldConfig(n_entities=args.entities, style_shift=shift, seed=args.seed)
            t0 = time.perf_counter()
            path = generate_world(Path(tmp) / f"w{shift}", cfg, progress=False)
            gen_s = time.perf_counter() - t0
            fig = check_world(path)
            fig["generation_s"] = round(gen_s, 2)
            figures[str(shift)] = fig
            px, ch, cp = fig["pixels"], fig["colour_hist"], fig["cue_probes"]
            print(
                f"style_shift={shift}: gen {gen_s:.1f}s | image->image P@1 pixels {px['p1']:.3f} "
                f"(MRR {px['mrr']:.3f}), colour-hist {ch['p1']:.3f} (MRR {ch['mrr']:.3f}); random "
                f"{fig['random_p1']:.3f} | probes colour {cp['colour']['accuracy']:.2f} "
                f"(majority {cp['colour']['majority_rate']:.2f}), pattern {cp['pattern']['accuracy']:.2f} "
                f"(majority {cp['pattern']['majority_rate']:.2f})"
            )
            for name in ("pixels", "colour_hist"):
                print(
                    f"    {name} by style: "
                    + ", ".join(
                        f"{s} P@1 {v['p1']:.3f} (n={v['n']})" for s, v in fig[name]["by_style"].items()
                    )
                )
            ct = fig["cue_title_retrieval"]
            print(
                f"    cue-word image->title (probes, no CLIP): P@1 {ct['p1']:.3f} MRR {ct['mrr']:.3f}; "
                + ", ".join(f"{s} P@1 {v['p1']:.3f}" for s, v in ct["by_style"].items())
            )
            for word in ("colour", "pattern"):
                print(
                    f"    {word} probe by style: "
                    + ", ".join(f"{s} {v:.2f}" for s, v in cp[word]["by_style"].items())
                )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
