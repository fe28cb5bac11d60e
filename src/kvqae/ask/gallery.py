"""A gallery of answered questions for reports: each question's photo, every mode's top-3 KB images, the
answer and whether it is right. Rendered from `Answerer.ask`, the code `kvqae ask` and `serve` use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kvqae.ask.answer import Answerer

THUMB = 72
PAD = 6
TEXT_W = 300


def pick_examples(questions: list[Any], n: int = 8, *, with_image: bool = True) -> list[Any]:
    """Up to `n` questions, spread evenly over the list (deterministic); only those with an image when
    `with_image` (a bundle that searches photos shows its examples with their photos), else any."""
    pool = [q for q in questions if q.image] if with_image else list(questions)
    if len(pool) <= n:
        return pool
    step = len(pool) / n
    return [pool[int(i * step)] for i in range(n)]


def answered_rows(answerer: Answerer, questions: list[Any]) -> list[dict[str, Any]]:
    """Ask every question (with its image) -> rows of question, gold answers, AskResult, exact match."""
    from kvqae.encode.loader import open_image
    from kvqae.evaluate.answers import exact_match

    rows = []
    for q in questions:
        image = open_image(q.image, item_id=q.id, field="image") if q.image else None
        result = answerer.ask(q.question, image)
        right = bool(q.answers) and exact_match(result.answer, q.answers) == 1.0
        rows.append({"question": q, "result": result, "right": right})
    return rows


def _thumb(path: str | None):
    from PIL import Image, ImageOps

    if path is None:
        return Image.new("RGB", (THUMB, THUMB), (225, 225, 225))
    with Image.open(path) as im:
        return ImageOps.pad(im.convert("RGB"), (THUMB, THUMB), color=(255, 255, 255))


def render_gallery(answerer: Answerer, rows: list[dict[str, Any]], out_png: str | Path) -> Path:
    """One PNG: a row per question (photo | top-3 per mode, gold entity framed green | answer, right?)."""
    from PIL import Image, ImageDraw, ImageFont

    from kvqae.io import atomic_path

    modes = answerer.mode_names
    font = ImageFont.load_default(size=12)
    head = 18
    width = PAD + (THUMB + PAD) * (1 + 3 * len(modes)) + len(modes) * PAD + TEXT_W
    height = head + len(rows) * (THUMB + 2 * PAD)
    sheet = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(sheet)
    x = PAD + THUMB + PAD
    draw.text((PAD, 2), "question", fill="black", font=font)
    for mode in modes:
        draw.text((x, 2), f"{mode} top 3", fill="black", font=font)
        x += 3 * (THUMB + PAD) + PAD
    draw.text((x, 2), "answer (gold)", fill="black", font=font)
    for r, row in enumerate(rows):
        q, result = row["question"], row["result"]
        y = head + r * (THUMB + 2 * PAD) + PAD
        sheet.paste(_thumb(q.image), (PAD, y))
        x = PAD + THUMB + PAD
        gold = answerer.kb.resolve(q.entity) if q.entity else None
        for mode in modes:
            for hit in result.modes.get(mode, [])[:3]:
                sheet.paste(_thumb(answerer.kb.image_of(hit.entity_id)), (x, y))
                if hit.entity_id == gold:
                    box = (x - 2, y - 2, x + THUMB + 1, y + THUMB + 1)
                    draw.rectangle(box, outline=(20, 150, 60), width=3)
                x += THUMB + PAD
            x += PAD
        mark, colour = ("right", (20, 130, 50)) if row["right"] else ("wrong", (190, 30, 30))
        draw.text((x, y), _clip(q.question, 46), fill="black", font=font)
        draw.text((x, y + 20), _clip(f"-> {result.answer or '(no answer)'}", 46), fill=colour, font=font)
        gold_text = _clip(f"{mark}; gold: {', '.join(q.answers[:2])}", 46)
        draw.text((x, y + 40), gold_text, fill="black", font=font)
    with atomic_path(out_png) as tmp:
        sheet.save(tmp, format="PNG")
    return Path(out_png)


def gallery_markdown(rows: list[dict[str, Any]]) -> str:
    """A Markdown table of the same rows: question, answer, gold, right, fused top-1 entity."""
    lines = ["| question | answer | gold | right | fused top-1 |", "|---|---|---|:---:|---|"]
    for row in rows:
        q, result = row["question"], row["result"]
        top = result.fused[0].title if result.fused else "–"
        right = "yes" if row["right"] else "no"
        cells = [q.question, result.answer or "(none)", ", ".join(q.answers[:3]), right, top]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
