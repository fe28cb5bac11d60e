"""`kvqae ask OUT --image PHOTO --question "..."`: answer one question with an answerable output folder."""

from __future__ import annotations

import json
import re
from pathlib import Path

import typer

from kvqae.ask.answer import AskResult
from kvqae.read.rule_record import rule_record
from kvqae.read.settings import RULE_SAYS


def load_image_file(path: Path):
    """Read and decode a question photo with the same limits as an upload (errors name the file)."""
    from kvqae.ask.images import MAX_UPLOAD_BYTES, decode_image
    from kvqae.errors import InputError, TooLargeError
    from kvqae.io import not_found

    if not path.exists():
        raise InputError(not_found("image file", path), path=path, field="image")
    if path.is_dir():
        raise InputError("expected an image file, got a folder", path=path, field="image")
    if not path.is_file():  # a FIFO or /dev/zero: reading it would block or never end
        raise InputError("expected an image file, got a device, pipe or socket", path=path, field="image")
    size = path.stat().st_size
    if size > MAX_UPLOAD_BYTES:  # refused before reading: a mistaken video of gigabytes went into memory
        limit = MAX_UPLOAD_BYTES / 2**20
        raise TooLargeError(f"the image is {size / 2**20:.1f} MB, more than the {limit:.0f} MB allowed",
                            path=path, field="image")
    try:
        data = path.read_bytes()
    except OSError as e:  # unreadable: no permission, a disk or /proc error
        reason = (e.strerror or type(e).__name__).lower()
        raise InputError(f"cannot be read ({reason})", path=path, field="image") from None
    return decode_image(data, name=str(path))


def marked_passage(result: AskResult) -> str:
    """The evidence passage with the answer between [[ and ]]."""
    text = result.passage_text or ""
    if result.end > result.start:
        return f"{text[: result.start]}[[{text[result.start : result.end]}]]{text[result.end :]}"
    return text


def rule_answer_note(result: AskResult) -> str:
    """What a rule's answer has instead of a probability: what the rule reads, how often its answers were
    right on questions written blind (`kvqae.read.rule_record`), and last the evidence ranking's confidence,
    which says little about a rule's answer, when the ranking had the span."""
    record = rule_record(result.rule)
    note = "by an answer rule" + ("" if result.confidence is not None else ", no confidence")
    note += f": {RULE_SAYS[result.rule]}" if result.rule in RULE_SAYS else ""
    note += f"; {record.text()}" if record is not None else ""
    if result.confidence is not None:
        note += f"; the evidence ranking's confidence {result.confidence:.2f}"
    return note


def format_result(result: AskResult) -> str:
    """Plain-text rendering: answer, entity, marked passage, each mode's top 5, fused top 5, timings."""
    lines = [f"question: {result.question}"]
    if result.answer:
        if result.by_rule:  # an answer rule put it first (a date from the lead): its span score is no guide
            prob = f" ({rule_answer_note(result)})"
        elif result.confidence is not None:  # the evidence ranking's probability of this answer
            prob = f" (confidence {result.confidence:.2f})"
        elif result.probability:
            prob = f" (p={result.probability:.3f})"
        else:  # an entity of the asked kind the span model did not propose
            prob = " (no probability: an entity the reader did not propose)"
        lines.append(f"answer:   {result.answer}{prob}")
    else:
        lines.append("answer:   (none: no reader in this bundle, or nothing was read)")
    lines.extend(f"note:     {note}" for note in result.notes)
    if result.entity_id is not None:
        lines.append(f"entity:   {result.entity_title} [{result.entity_id}]")
        lines.append(f"passage:  {result.passage_id}")
        lines.append("  " + marked_passage(result))

    def table(title: str, hits) -> None:
        lines.append(f"\n{title}")
        for h in hits:
            shown = h.title if h.id == h.entity_id else f"{h.title} ({h.id})"
            lines.append(f"  {h.rank}. {shown:<48} {h.score:9.4f}")
        if not hits:
            lines.append("  (nothing retrieved)")

    for mode, hits in result.modes.items():
        table(f"{mode} ({result.levels[mode]} level), top {len(hits)}", hits)
    for mode, why in result.skipped.items():
        lines.append(f"\n{mode}: skipped ({why})")
    weights = ", ".join(f"{n} {w:.3g}" for n, w in result.fusion["weights"].items())
    method, norm, top = result.fusion["method"], result.fusion["norm"], len(result.fused)
    if method == "none":  # one run: nothing fused (it said "fused (none/none: text-passage 1)")
        table(f"ranking (one run, not fused: {', '.join(result.fusion['weights'])}), top {top}", result.fused)
    else:
        table(f"fused ({method}/{norm}: {weights}), top {top}", result.fused)
    if result.fusion.get("note"):
        lines.append(f"  note: {result.fusion['note']}")
    if result.fusion.get("rerank"):
        r = result.fusion["rerank"]
        lines.append(f"  re-ranked by term {r['method']}: top {r['top_n']}, weight {r['weight']:g}, "
                     f"{r['words']}-word windows, lead {r.get('lead', 0.0):g}, "
                     f"article agreement {r.get('agreement', 0.0):g}")
    if result.fusion.get("reader_rank"):
        r = result.fusion["reader_rank"]
        extra = r.get("looked_up", 0)
        plural = "s" * (r["top_k"] != 1)
        read = (f"the {len(result.read)} read passages ({r['top_k']} retrieved, {extra} looked up in the "
                f"first one's article)" if extra else f"the {r['top_k']} read passage{plural}")
        table(f"{read} ordered by the reader's evidence (weight {r['weight']:g})", result.read)
    lines.append("\ntimings: " + ", ".join(f"{k} {v:.1f} ms" for k, v in result.timings_ms.items()))
    return "\n".join(lines)


def ask_command(
    out: Path = typer.Argument(..., help="Output folder of `kvqae run` or `kvqae demo` (has bundle.json)."),
    question: str = typer.Option(..., "--question", "-q", help="The question (1-1000 characters)."),
    # a str, not a Path: typer turns `--image ""` into Path("."), reported as "a folder"
    image: str = typer.Option(None, "--image", "-i", help="The question photo (optional: text-only)."),
    as_json: bool = typer.Option(False, "--json", help="Print the answer and its evidence as JSON."),
    device: str = typer.Option("cpu", "--device", help="Where the models run: cpu, cuda, cuda:N."),
    top_k: int = typer.Option(
        None, "--top-k", min=1, help="Passages the reader reads (default: the bundle's reader top_k)."
    ),
) -> None:
    """Answer one visual question and show the evidence: answer, entity, passage, each mode's top 5."""
    from kvqae.ask.answer import Answerer, check_question
    from kvqae.errors import InputError

    check_question(question)  # before loading any model
    if image is not None and not image.strip():
        raise InputError("--image is empty: give a photo's path, or leave --image out for a text question")
    if image is not None and re.match(r"[a-z][a-z0-9+.-]*://", image.strip(), re.IGNORECASE):
        # Path() folds "//": the URL was shown mangled ("https:/example.com/a.jpg: image file not found")
        raise InputError(f"--image {image}: an address, not a file path; give the photo's file (kvqae ask "
                         "fetches nothing; for file:///x.png give /x.png)")
    if image is not None and image.strip() == "-":  # read as a file named "-": "image file not found"
        raise InputError("--image -: kvqae ask does not read a photo from standard input; save it to a file "
                         "and give its path")
    photo = load_image_file(Path(image)) if image is not None else None
    answerer = Answerer.load(out, device=device, top_k=top_k)
    result = answerer.ask(question, photo)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        typer.echo(format_result(result))


def register(app: typer.Typer) -> None:
    app.command("ask")(ask_command)
