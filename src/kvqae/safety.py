"""Checks that keep a command from destroying data: an output never overlaps an input, an existing path is
replaced only when it is an earlier output of the same kind (or `--overwrite`), the output's folder is
writable, numbers are in range and model folders hold model files. Every refusal is one InputError naming
the flag."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from kvqae.errors import InputError
from kvqae.io import not_found

PathLike = str | Path
Inputs = Mapping[str, PathLike | Iterable[PathLike] | None]

# kind -> how messages name it
KINDS: dict[str, str] = {
    "kb": "knowledge base (kvqae kb build)",
    "embeddings": "embeddings folder (kvqae encode)",
    "index": "index folder (kvqae index build)",
    "report": "report folder (kvqae evaluate retrieval)",
    "pipeline": "pipeline output folder (kvqae run)",
    "reader": "reader folder (kvqae train reader)",
    "clip": "CLIP folder (kvqae train clip)",
    "retriever": "retriever folder (kvqae train retriever)",
    "ablation": "ablation folder (kvqae train ablation)",
    "world": "world folder (kvqae world)",
    "demo": "demo output folder (kvqae demo)",
    "run": "run file",
    "questions": "kvqae questions file",
    "cloze": "cloze questions file",
    "predictions": "predictions file",
    "weights": "fusion weights file",
    "scores": "answer scores file",
    "png": "PNG image",
}
MODEL_FILES = ("config.json", "modules.json", "kvqae_reader.json", "pytorch_model.bin", "model.safetensors",
               "model.safetensors.index.json")
_HEAD = 1 << 16  # bytes read to recognise a file output


# ------------------------------------------------------------------------------------ input / output overlap


def _flatten(inputs: Inputs) -> Iterable[tuple[str, Path]]:
    for name, value in inputs.items():
        if value is None:
            continue
        values = [value] if isinstance(value, (str, Path)) else value
        yield from ((name, Path(v)) for v in values if v is not None and str(v))


def overlap(out: Path, inp: Path) -> str | None:
    """How `out` overlaps `inp` ("is", "contains", "lies inside"), None when they are apart."""
    o, i = Path(os.path.realpath(out)), Path(os.path.realpath(inp))
    if o == i:
        return "is"
    if i.is_relative_to(o):
        return "contains"
    if o.is_relative_to(i):
        return "lies inside"
    return None


def check_out_not_input(out: PathLike, inputs: Inputs, flag: str = "--out", *,
                        inside_ok: bool = False) -> None:
    """Refuse an output that is, contains or lies inside any input; `inputs` maps a flag (or a name such as
    "SOURCE") to a path, a list of paths or None. `inside_ok`: an output inside an input folder is fine (the
    inputs are folders of files that the output must only not swallow)."""
    for name, path in _flatten(inputs):
        how = overlap(Path(out), path)
        if how is not None and not (inside_ok and how == "lies inside"):
            why = "writing there would destroy it" if how != "lies inside" else "outputs stay out of inputs"
            raise InputError(f"{flag} {out} {how} the input {name} ({path}): {why}; choose another {flag}")


# ------------------------------------------------------------------------------------ what an output is


def _meta_kind(folder: Path) -> object:
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta.get("kind") if isinstance(meta, dict) else None


def _has(*names: str) -> Callable[[Path], bool]:
    return lambda folder: any((folder / n).is_file() for n in names)


FOLDER_KINDS: dict[str, Callable[[Path], bool]] = {
    "kb": lambda p: _meta_kind(p) == "kvqae-kb",
    "index": lambda p: (p / "index.faiss").is_file()
    or _meta_kind(p) in ("kvqae-bm25-index", "kvqae-sharded-index"),
    "embeddings": lambda p: (p / "vectors.npy").is_file() and (p / "meta.json").is_file(),
    "report": _has("report.json"),
    "reader": _has("kvqae_reader.json"),
    "clip": _has("kvqae_train.json"),
    "retriever": _has("kvqae_retriever.json"),
    "world": _has("world.json"),
}


# the largest search breadth (nprobe, ef_search) Faiss takes, a C int: a larger one was an OverflowError
MAX_SEARCH_BREADTH = 2**31 - 1

# written into a `kvqae run` output folder before any stage, so an interrupted first run is known as one
PIPELINE_MARKER = ".kvqae-pipeline"


def _pipeline_like(folder: Path) -> bool:
    """A `kvqae run` output folder, also one whose first run was interrupted: it holds the run's marker or
    manifests. Stage outputs alone do not make one: a project folder with its KB in `kb/` looked like an
    earlier output, and the run then removed the user's own run files there as an earlier config's."""
    return _has(PIPELINE_MARKER, "inputs.json", "bundle.json")(folder)


# written into a `kvqae train ablation` output folder before it trains, so an interrupted run (whose earlier
# table was removed at its start) is still known as one
ABLATION_MARKER = ".kvqae-ablation"


def _ablation_like(folder: Path) -> bool:
    """A `kvqae train ablation` output folder, also an interrupted one (its marker, KB or start model is
    there)."""
    return (_has("ablation.json", ABLATION_MARKER)(folder) or (folder / "start-model").is_dir()
            or FOLDER_KINDS["kb"](folder / "kb"))


def _demo_like(folder: Path) -> bool:
    """A `kvqae demo` output folder, also an interrupted one (its world is written first)."""
    return (folder / "report" / "demo.json").is_file() or FOLDER_KINDS["world"](folder / "world")


FOLDER_KINDS.update(pipeline=_pipeline_like, ablation=_ablation_like, demo=_demo_like)


def _head(path: Path) -> bytes:
    with path.open("rb") as f:
        return f.read(_HEAD).lstrip()


def _first_row(path: Path) -> dict:
    """The first line of a JSON-lines file as an object ({} when it is not one, or over 1 MB)."""
    with path.open("rb") as f:
        while line := f.readline(1 << 20):
            if line.strip():
                try:
                    row = json.loads(line)
                except ValueError:
                    return {}
                return row if isinstance(row, dict) else {}
    return {}


def _is_run(path: Path) -> bool:
    head = _head(path)
    if path.suffix == ".json":
        return head.startswith(b"{") and re.search(rb'"level"\s*:\s*"(entity|passage)"', head) is not None
    fields = head.split(b"\n", 1)[0].split()
    return len(fields) == 6 and fields[1] == b"Q0"


def _row_has(*keys: str, without: str | None = None) -> Callable[[Path], bool]:
    def check(path: Path) -> bool:
        row = _first_row(path)
        return all(k in row for k in keys) and (without is None or without not in row)

    return check


FILE_KINDS: dict[str, Callable[[Path], bool]] = {
    "run": _is_run,
    "weights": lambda p: re.search(rb'"format"\s*:\s*"kvqae-fusion-weights', _head(p)) is not None,
    "scores": lambda p: re.match(rb'\{\s*"scorer"\s*:', _head(p)) is not None,
    "png": lambda p: _head(p).startswith(b"\x89PNG\r\n\x1a\n"),
    "questions": _row_has("id", "question", "answers", without="passage_id"),
    "cloze": _row_has("id", "question", "passage_id", "start"),
    "predictions": _row_has("id", "answer", "passage_id"),
}


def is_output_of_kind(path: PathLike, kind: str) -> bool:
    """True when the existing `path` is an earlier output of `kind` (see KINDS)."""
    path = Path(path)
    try:
        if kind in FOLDER_KINDS:
            return path.is_dir() and FOLDER_KINDS[kind](path)
        return path.is_file() and FILE_KINDS[kind](path)
    except OSError:
        return False


def _is_empty(path: Path) -> bool:
    try:
        return next(path.iterdir(), None) is None if path.is_dir() else path.stat().st_size == 0
    except OSError:
        return False


def check_replaceable(out: PathLike, kind: str, *, overwrite: bool = False, flag: str = "--out") -> None:
    """An existing `out` may be replaced only when it has the right shape (folder or file) and is empty or
    an earlier output of `kind`; with `overwrite` any path of the right shape may be replaced."""
    out = Path(out)
    if not out.exists():
        return
    want_folder = kind in FOLDER_KINDS
    if out.is_dir() != want_folder:
        has, wants = ("folder", "file") if out.is_dir() else ("file", "folder")
        raise InputError(f"{flag} {out} is a {has}, but this command writes a {wants} there")
    if overwrite or _is_empty(out) or is_output_of_kind(out, kind):
        return
    what = KINDS[kind]
    article = "an" if what[0] in "aeiou" else "a"
    raise InputError(f"{flag} {out} exists and is not {article} {what}; pass --overwrite to write there "
                     f"anyway, or choose another {flag}")


def check_writable(out: PathLike, flag: str = "--out") -> None:
    """The nearest existing folder above `out` must be a writable folder (not a file, not read-only)."""
    parent = Path(os.path.abspath(out)).parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"{flag} {out} cannot be written: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{flag} {out} cannot be written: the folder {parent} is read-only")


def check_out_kind(out: PathLike, flag: str = "--out") -> None:
    """An output names a new or an ordinary path: not "" or the current folder (`--out .` with `--overwrite`
    failed after the work, renaming the folder itself), not a link (its replacement was a real folder where
    the link pointed elsewhere; a dangling one failed after the work) and not a pipe, a device or a socket
    (it became a regular file, `/dev/stdout` included)."""
    import stat

    text = str(out)
    if not text.strip():
        raise InputError(f"{flag} is empty: name the file or folder to write")
    path = Path(out)
    if text.rstrip("/").split("/")[-1] in ("", ".", ".."):  # pathlib drops a trailing "/.": read the text
        raise InputError(f"{flag} {text} names a folder by '.' or '..' (or is /): name the new file or "
                         "folder itself")
    if path.is_symlink():
        target = os.readlink(path)
        if not path.exists():
            raise InputError(f"{flag} {text} is a link to {target}, which does not exist")
        raise InputError(f"{flag} {text} is a symbolic link (to {target}): give the path it points to, so "
                         "that the link is not replaced")
    try:
        mode = path.stat().st_mode
    except OSError:
        return  # not there yet: written anew
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        what = ("a named pipe" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
                else "a device")
        raise InputError(f"{flag} {text} is {what}, not a file or a folder: write to a file and copy it "
                         "there")


def check_out(out: PathLike, kind: str, inputs: Inputs, *, overwrite: bool = False, flag: str = "--out",
              folders: Inputs | None = None) -> None:
    """All the checks an output goes through before a command reads anything: not an input, replaceable,
    in a writable folder. `folders`: input folders the command picks files from (`--images-dir`), which the
    output may lie inside but not be or contain."""
    check_out_kind(out, flag)
    check_out_not_input(out, inputs, flag)
    check_out_not_input(out, folders or {}, flag, inside_ok=True)
    check_writable(out, flag)
    check_replaceable(out, kind, overwrite=overwrite, flag=flag)


# ------------------------------------------------------------------------------------ numbers and models


def check_range(value: float | None, flag: str, *, low: float | None = None, high: float | None = None,
                low_open: bool = False, finite: bool = False) -> None:
    """`value` (None: not given) must be >= low (> low when `low_open`) and <= high (and not +-inf when
    `finite`)."""
    if value is None:
        return
    too_low = low is not None and (value <= low if low_open else value < low)
    infinite = finite and value in (float("inf"), float("-inf"))
    if too_low or (high is not None and value > high) or value != value or infinite:  # value != value: NaN
        lo = "" if low is None else f"{'>' if low_open else '>='} {_number(low)}"
        hi = "" if high is None else f"<= {_number(high)}"
        bounds = " and ".join(x for x in (lo, hi) if x)
        kind = "a finite number " if finite else ""
        raise InputError(f"{flag} must be {kind}{bounds}, got {_number(value)}")


def _number(value: float) -> str:
    """An integer as one ("2147483647", "99999999999"; `:g` wrote "2.14748e+09"), a float as `:g`."""
    return str(value) if isinstance(value, int) else f"{value:g}"


def check_device(device: str, flag: str = "--device") -> None:
    """`device` is a torch device this machine has (cpu, cuda, cuda:1, mps); refused before any model loads,
    instead of a torch RuntimeError / AssertionError from deep inside the first `.to(device)`."""
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError):
        raise InputError(f"{flag} {device!r} is not a torch device (cpu, cuda, cuda:1, mps, ...)") from None
    if dev.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if (dev.index or 0) >= count:
            raise InputError(f"{flag} {device}: this machine has {count} usable CUDA device(s); use cpu")
    elif dev.type == "mps" and not torch.backends.mps.is_available():
        raise InputError(f"{flag} {device}: MPS is not available on this machine; use cpu")
    elif dev.type not in ("cpu", "cuda", "mps"):  # meta holds no data; xpu, hpu ... are not built in here
        raise InputError(f"{flag} {device}: kvqae runs on cpu, cuda or mps, not {dev.type}")


def check_distinct_files(paths: Iterable[PathLike], flag: str) -> None:
    """The same file given twice (`--run a.json --run a.json`, or through a link) is refused: fused, it
    counted twice; evaluated, its two rows collapsed into one."""
    seen: dict[str, PathLike] = {}
    for path in paths:
        real = os.path.realpath(path)
        if real in seen:
            raise InputError(f"{seen[real]} and {path} are the same file, given twice; give each once",
                             field=flag)
        seen[real] = path


def looks_like_path(name: str) -> bool:
    """A model argument written as a path (not a Hugging Face id "org/name"): an "org/name" whose "org" is a
    folder here is a path too ("artifacts/reader-minlm", a typo, had been sent to the hub and retried for
    a minute before a connection error)."""
    if name.startswith(("/", "./", "../", "~", ".\\")) or name.count("/") > 1 or "\\" in name:
        return True
    org, sep, _ = name.partition("/")
    return bool(sep and org) and Path(org).is_dir()


def check_model_dir(name: str, flag: str, packaged: Iterable[str] = ()) -> None:
    """A model given as a local path must be a folder holding model files; a path-like name that does not
    exist is "not found" (not a Hugging Face repo-id error). Hub ids and `packaged` short names pass."""
    if name in set(packaged):
        return
    path = Path(os.path.expanduser(name))  # Path.expanduser raises on an unknown "~user"
    if not path.exists():
        if looks_like_path(name):
            raise InputError(f"{flag} {name}: model folder not found")
        return
    if not path.is_dir():
        raise InputError(f"{flag} {name} is a file, expected a model folder")
    if not any((path / f).is_file() for f in MODEL_FILES) and not any(path.glob("*.safetensors")):
        raise InputError(f"{flag} {name}: no model files in this folder (expected config.json and "
                         "model.safetensors or pytorch_model.bin)")


def check_model_head(path: PathLike, flag: str, head: str, what: str, marker: str | None = None) -> None:
    """A local model folder holds model files and the `head` its use needs (config.json's architectures
    hold one ending with it, e.g. "ForQuestionAnswering", or `marker` is there): a retriever given as the
    reader was found only when the reader loaded, after the work before it, and a reader given as the BEM
    scorer scored with a randomly initialised classifier. Hub ids and folders without architectures pass."""
    check_model_dir(str(path), flag)
    folder = Path(os.path.expanduser(path))
    if not folder.is_dir() or (marker is not None and (folder / marker).is_file()):
        return
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # left to the loader, which names what is wrong
    architectures = config.get("architectures") if isinstance(config, dict) else None
    if isinstance(architectures, list) and architectures and not any(
            str(a).endswith(head) for a in architectures):
        raise InputError(f"{flag} {path}: not {what} (config.json's architectures {architectures} have no "
                         f"{head[3:]} head)")


def check_tokenizer_size(tokens: int, vocab_size: int | None, path: PathLike) -> None:
    """A tokenizer far smaller than its model's vocabulary lost its files: a folder copied without
    tokenizer.json loads a 5-token vocabulary, every word becomes [UNK], and retrieval and reading go on
    with meaningless inputs, silently."""
    if vocab_size and tokens < vocab_size // 10:
        raise InputError(f"the tokenizer has {tokens} tokens and the model a vocabulary of {vocab_size}: its "
                         "tokenizer files (tokenizer.json, vocab.txt) are missing or wrong", path=path)


def check_reader_dir(path: PathLike, flag: str) -> None:
    """A reader: a question-answering head (or a kvqae reader's `kvqae_reader.json`)."""
    check_model_head(path, flag, "ForQuestionAnswering", "a reader model", marker="kvqae_reader.json")


def expect_folder(path: PathLike, what: str) -> Path:
    """`path` as a Path when it is an existing folder; InputError "not found" or "is a file" otherwise."""
    path = Path(path)
    if not path.exists():
        raise InputError(not_found(what, path), path=path)
    if not path.is_dir():
        raise InputError(f"is a file, expected a folder ({what})", path=path)
    return path


def local_path(name: str) -> str | None:
    """`name` when it is an existing local path (a model folder), None for a hub id or a packaged name."""
    return name if Path(os.path.expanduser(name)).exists() else None


def spec_paths(spec: str) -> list[str]:
    """The arguments of an encoder spec (`clip:PATH`, `dpr:Q,C`) that are existing local paths."""
    _, sep, arg = spec.partition(":")
    return [a for a in arg.split(",") if a and Path(a).exists()] if sep else []


def check_not_file(path: PathLike | None, flag: str) -> None:
    """A folder option (`--images-dir`) given an existing file is an error; a missing folder is left to the
    command."""
    if path is not None and Path(path).exists() and not Path(path).is_dir():
        raise InputError(f"{flag} {path} is a file, expected a folder")
