"""Outputs never destroy inputs, every failure class is one line + exit 2, outputs follow the umask."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from pathlib import Path

import pytest
import yaml

from cli_run import kvqae


def assert_one_line(code: int, err: str, *needles: str) -> None:
    """Exit 2 and a single `error:` line (no traceback) that mentions every needle."""
    assert code == 2, err
    assert err.startswith("error: ") and err.strip().count("\n") == 0, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, err


def tree_hash(path: Path) -> str:
    """Hash of every file's relative path and bytes under `path` (or of the file itself)."""
    h = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for f in files:
        h.update(str(f.relative_to(path.parent)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def built(tiny_world_dir, tmp_path_factory) -> dict[str, Path]:
    """A world copy with its KB, BM25 index and a test run (built once, through the library)."""
    from kvqae.data.kb import build_kb
    from kvqae.data.questions import load_questions
    from kvqae.index.bm25_index import Bm25Index

    root = tmp_path_factory.mktemp("safety")
    world = root / "world"
    shutil.copytree(tiny_world_dir, world)
    kb = build_kb(world / "articles.jsonl", root / "kb", words=40, progress=False)
    index = root / "bm25"
    Bm25Index.build(kb, index)
    questions = world / "questions_test.jsonl"
    qs = load_questions(questions)
    run = Bm25Index.load(index).search_run([q.id for q in qs], [q.question for q in qs], 10, name="bm25")
    run.save(root / "run.json")
    run.save(root / "run2.json")
    return {"root": root, "world": world, "kb": root / "kb", "index": index, "questions": questions,
            "run": root / "run.json", "run2": root / "run2.json"}


@pytest.fixture
def world_copy(built, tmp_path) -> Path:
    """A fresh world copy a test may try (and must fail) to destroy."""
    return Path(shutil.copytree(built["world"], tmp_path / "world"))


# ------------------------------------------------------------------------------ 3. never destroy input

def _pipeline_yaml(folder: Path, world: Path, **extra) -> Path:
    spec = {
        "output": str(folder / "out"),
        "kb": {"source": str(world / "articles.jsonl"), "words": 40},
        "questions": {"validation": str(world / "questions_validation.jsonl"),
                      "test": str(world / "questions_test.jsonl")},
        "retrieval": [{"mode": "text-passage", "encoder": "bm25"},
                      {"mode": "text-passage", "encoder": "bm25", "name": "b2"}],
        "k": 10,
        "fusion": {"step": 0.5},
        **extra,
    }
    path = folder / "pipeline.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


# (name, guarded input, command, flag named in the error); {w} is a world copy, the others come from `built`
OVERLAPS = [
    ("kb-out-contains-source", "{w}", ["kb", "build", "{w}/articles.jsonl", "--out", "{w}"], "SOURCE"),
    ("kb-out-is-source", "{w}", ["kb", "build", "{w}/articles.jsonl", "--out", "{w}/articles.jsonl"],
     "SOURCE"),
    ("kb-out-is-images", "{w}",
     ["kb", "build", "{w}/articles.jsonl", "--out", "{w}/images/kb", "--overwrite"], "entity images"),
    ("kb-out-contains-images", "{w}",
     ["kb", "build", "{w}/articles.jsonl", "--out", "{w}/images", "--overwrite"], "entity images"),
    ("questions-out-is-source", "{w}",
     ["questions", "convert", "{w}/questions_test.jsonl", "--out", "{w}/questions_test.jsonl"], "SOURCE"),
    ("encode-out-inside-kb", "{kb}",
     ["encode", "kb", "{kb}", "-e", "st:minilm", "-f", "passage", "--out", "{kb}/emb"], "SOURCE"),
    ("index-out-is-kb", "{kb}", ["index", "build", "{kb}", "--bm25", "--out", "{kb}"], "SOURCE"),
    ("search-out-inside-index", "{index}",
     ["search", "--index", "{index}", "--questions", "{questions}", "--out", "{index}/run.json"], "--index"),
    ("search-out-is-questions", "{w}",
     ["search", "--index", "{index}", "--questions", "{w}/questions_test.jsonl", "--out",
      "{w}/questions_test.jsonl"], "--questions"),
    ("combine-out-is-run", "{run}",
     ["fuse", "combine", "--run", "{run}", "--run", "{run2}", "--out", "{run}"], "--run"),
    ("fit-plot-is-run", "{run}",
     ["fuse", "fit", "--run", "{run}", "--run", "{run2}", "--questions", "{questions}", "--kb", "{kb}",
      "--out", "{tmp}/w.json", "--plot", "{run2}"], "--plot"),
    ("report-contains-run", "{root}",
     ["evaluate", "retrieval", "--run", "{run}", "--questions", "{questions}", "--kb", "{kb}", "--out",
      "{root}"], "--run"),
    ("read-out-is-run", "{run}",
     ["read", "--run", "{run}", "--kb", "{kb}", "--questions", "{questions}", "--model", "org/reader",
      "--out", "{run}"], "--run"),
    ("reader-data-out-is-kb", "{kb}", ["reader-data", "--kb", "{kb}", "--out", "{kb}"], "--kb"),
    ("retriever-out-is-kb", "{kb}", ["train", "retriever", "--kb", "{kb}", "--out", "{kb}"], "--kb"),
]


@pytest.mark.parametrize("guarded,command,flag", [c[1:] for c in OVERLAPS], ids=[c[0] for c in OVERLAPS])
def test_output_over_an_input_is_refused(built, world_copy, tmp_path, monkeypatch, capsys, guarded, command,
                                         flag):
    values = {**{k: str(v) for k, v in built.items()}, "w": str(world_copy), "tmp": str(tmp_path)}
    guarded_path = Path(guarded.format(**values))
    before = tree_hash(guarded_path)
    code, err = kvqae(monkeypatch, capsys, *[a.format(**values) for a in command])
    assert_one_line(code, err, flag)
    assert tree_hash(guarded_path) == before


def test_pipeline_output_over_an_input_is_refused(world_copy, tmp_path, monkeypatch, capsys):
    # the validation questions lie where the pipeline writes its runs
    runs = tmp_path / "out" / "runs"
    runs.mkdir(parents=True)
    shutil.copy(world_copy / "questions_validation.jsonl", runs / "q.jsonl")
    config = _pipeline_yaml(tmp_path, world_copy)
    data = yaml.safe_load(config.read_text())
    data["questions"]["validation"] = str(runs / "q.jsonl")
    config.write_text(yaml.safe_dump(data))
    before = tree_hash(runs)
    code, err = kvqae(monkeypatch, capsys, "run", config, "--no-progress")
    assert_one_line(code, err, "questions.validation")
    assert tree_hash(runs) == before


def test_existing_path_of_another_kind_needs_overwrite(built, tmp_path, monkeypatch, capsys):
    other = tmp_path / "notes"
    other.mkdir()
    (other / "todo.txt").write_text("keep me")
    code, err = kvqae(monkeypatch, capsys, "index", "build", built["kb"], "--bm25", "--out", other)
    assert_one_line(code, err, "--out", "--overwrite", "index folder")
    assert (other / "todo.txt").read_text() == "keep me"
    code, err = kvqae(monkeypatch, capsys, "index", "build", built["kb"], "--bm25", "--out", other,
                      "--overwrite", "--no-progress")
    assert code == 0, err
    assert not (other / "todo.txt").exists()


def test_earlier_output_of_the_same_kind_is_replaced(built, tmp_path, monkeypatch, capsys):
    args = ["search", "--index", built["index"], "--questions", built["questions"], "--no-progress"]
    out = tmp_path / "run.json"
    assert kvqae(monkeypatch, capsys, *args, "--out", out)[0] == 0
    assert kvqae(monkeypatch, capsys, *args, "--k", "3", "--out", out)[0] == 0
    assert max(len(v) for v in json.loads(out.read_text())["run"].values()) == 3
    notes = tmp_path / "notes.json"
    notes.write_text('{"mine": 1}')
    code, err = kvqae(monkeypatch, capsys, *args, "--out", notes)
    assert_one_line(code, err, "not a run file")
    assert notes.read_text() == '{"mine": 1}'


# ------------------------------------------------------------------------------ 4. one line, exit 2


def test_non_utf8_inputs(built, tmp_path, monkeypatch, capsys):
    """The config and KB readers; the JSON/JSONL readers of kvqae.io have their own tests."""
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_bytes(b"output: \xff\n")
    assert_one_line(*kvqae(monkeypatch, capsys, "run", bad_yaml), "bad.yaml", "UTF-8")
    kb = Path(shutil.copytree(built["kb"], tmp_path / "kb"))
    (kb / "meta.json").write_bytes(b'{"kind": "kvqae-kb", "x": "\xff"}')
    assert_one_line(*kvqae(monkeypatch, capsys, "kb", "info", kb), "meta.json", "UTF-8")


def test_folder_for_a_file_and_the_reverse(built, tmp_path, monkeypatch, capsys):
    assert_one_line(*kvqae(monkeypatch, capsys, "run", tmp_path), "folder")
    assert_one_line(*kvqae(monkeypatch, capsys, "kb", "info", built["run"]), "is a file")
    assert_one_line(*kvqae(monkeypatch, capsys, "index", "info", built["run"]), "is a file")
    code, err = kvqae(monkeypatch, capsys, "kb", "build", built["world"] / "articles.jsonl", "--images-dir",
                      built["run"], "--out", tmp_path / "kb")
    assert_one_line(code, err, "--images-dir", "is a file")
    search = ["search", "--index", built["index"], "--questions", built["questions"], "--no-progress"]
    folder = tmp_path / "here"
    folder.mkdir()
    assert_one_line(*kvqae(monkeypatch, capsys, *search, "--out", folder), "--out", "is a folder")
    code, err = kvqae(monkeypatch, capsys, "index", "build", built["kb"], "--bm25", "--out", built["run"])
    assert_one_line(code, err, "--out", "is a file")


def test_output_under_a_file(built, tmp_path, monkeypatch, capsys):
    code, err = kvqae(monkeypatch, capsys, "search", "--index", built["index"], "--questions",
                      built["questions"], "--out", built["run"] / "x.json")
    assert_one_line(code, err, "--out", "is a file, not a folder")


def test_read_only_output_folder(built, tmp_path, monkeypatch, capsys):
    real_access = os.access  # a read-only folder, as root (who may write anywhere) cannot make one
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == tmp_path else real_access(p, mode))
    code, err = kvqae(monkeypatch, capsys, "search", "--index", built["index"], "--questions",
                      built["questions"], "--out", tmp_path / "r.json")
    assert_one_line(code, err, "--out", "read-only")


def test_unwritable_folder_met_while_writing_is_one_line(tmp_path):
    """The atomic writers turn a failure to create their temporary into an InputError naming the output."""
    import tempfile

    from kvqae.errors import InputError
    from kvqae.io import atomic_dir, write_json

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tempfile, "mkstemp", denied)
        mp.setattr(tempfile, "mkdtemp", denied)
        with pytest.raises(InputError, match="Permission denied"):
            write_json(tmp_path / "a.json", {})
        with pytest.raises(InputError, match="Permission denied"), atomic_dir(tmp_path / "d"):
            pass


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_really_read_only_folder(built, tmp_path, monkeypatch, capsys):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        code, err = kvqae(monkeypatch, capsys, "search", "--index", built["index"], "--questions",
                          built["questions"], "--out", folder / "r.json")
    finally:
        folder.chmod(0o755)
    assert_one_line(code, err, "read-only")


@pytest.mark.parametrize("args,needle", [
    (["fuse", "fit", "--step", "0"], "--step"),
    (["fuse", "fit", "--step", "1.5"], "--step"),
    (["fuse", "fit", "--rrf-k", "-1"], "--rrf-k"),
    (["fuse", "combine", "--rrf-k", "-1"], "--rrf-k"),
    (["fuse", "combine", "--k", "0"], "--k"),
    (["fuse", "apply", "--weights", "{run}", "--k", "0"], "--k"),
    (["search", "--index", "{index}", "--questions", "{questions}", "--k", "0"], "--k"),
    (["search", "--index", "{index}", "--questions", "{questions}", "--passages-k", "0"], "--passages-k"),
])
def test_numeric_options_are_checked(built, tmp_path, monkeypatch, capsys, args, needle):
    values = {k: str(v) for k, v in built.items()}
    command = [a.format(**values) for a in args]
    if command[0] == "fuse":
        command += ["--run", str(built["run"]), "--run", str(built["run2"])]
        if command[1] == "fit":
            command += ["--questions", str(built["questions"]), "--kb", str(built["kb"])]
    code, err = kvqae(monkeypatch, capsys, *command, "--out", tmp_path / "x.json")
    assert_one_line(code, err, needle)
    assert not (tmp_path / "x.json").exists()


@pytest.mark.parametrize("override,needle", [
    ("k=0", '"--set k"'),  # blamed on the --set typed, not on the YAML file
    ("fusion={step: 0}", "fusion.step"),
    ("metrics=[mrr@10, bogus]", "metrics"),
    ("reader={model: /no/such/reader, run: b2}", "reader.model"),
    ("reader={model: org/reader, run: nope}", "reader.run"),
    ("eval_split=dev", "eval_split"),
])
def test_pipeline_config_is_checked_before_any_stage(built, tmp_path, monkeypatch, capsys, override, needle):
    config = _pipeline_yaml(tmp_path, built["world"])
    code, err = kvqae(monkeypatch, capsys, "run", config, "--set", override, "--no-progress")
    assert_one_line(code, err, needle)
    assert not (tmp_path / "out" / "kb").exists()


def test_model_folder_checks(built, tmp_path, monkeypatch, capsys):
    empty = tmp_path / "empty-model"
    empty.mkdir()
    read = ["read", "--run", built["run"], "--kb", built["kb"], "--questions", built["questions"], "--out",
            tmp_path / "p.jsonl"]
    assert_one_line(*kvqae(monkeypatch, capsys, *read, "--model", empty), "--model", "no model files")
    code, err = kvqae(monkeypatch, capsys, *read, "--model", tmp_path / "missing")
    assert_one_line(code, err, "--model", "not found")
    assert "Repo id" not in err
    code, err = kvqae(monkeypatch, capsys, "train", "retriever", "--kb", built["kb"], "--out", tmp_path / "r",
                      "--init", empty)
    assert_one_line(code, err, "--init", "no model files")


@pytest.mark.parametrize("option,value,needle", [
    ("--lr", "nan", "--lr must be > 0"), ("--lr", "-1", "--lr must be > 0"),
    ("--max-minutes", "nan", "--max-minutes must be > 0"), ("--threads", "-3", "--threads must be >= 0"),
    ("--seed", "-3", "--seed must be >= 0"), ("--style", "poem", "--style must be one of cloze, natural"),
])
def test_train_retriever_numbers_are_checked(built, tmp_path, monkeypatch, capsys, option, value, needle):
    """Were torch / numpy tracebacks (Invalid learning rate, set_num_threads, expected non-negative integer)
    or, for a NaN time budget, a run without one."""
    code, err = kvqae(monkeypatch, capsys, "train", "retriever", "--kb", built["kb"], "--out", tmp_path / "r",
                      option, value)
    assert_one_line(code, err, needle)
    assert not (tmp_path / "r").exists()


def test_train_retriever_corrupt_start_model(built, tmp_path, monkeypatch, capsys, minilm_path):
    """`--init st:PATH` is the folder PATH (was refused as "st:PATH: not found"); a truncated weights file in
    it is one error line (was a SafetensorError traceback)."""
    import shutil

    model = Path(shutil.copytree(minilm_path, tmp_path / "model"))
    (model / "model.safetensors").write_bytes((model / "model.safetensors").read_bytes()[:1000])
    code, err = kvqae(monkeypatch, capsys, "train", "retriever", "--kb", built["kb"], "--out", tmp_path / "r",
                      "--init", f"st:{model}", "--no-progress")
    assert_one_line(code, err, "cannot load sentence-transformers model", str(model))
    assert not (tmp_path / "r").exists()


def test_decompression_bomb_while_encoding(built, tmp_path, monkeypatch, capsys):
    from PIL import Image

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # the KB's 32x32 images become "bombs"
    code, err = kvqae(monkeypatch, capsys, "encode", "kb", built["kb"], "-e", "effnet-lite0", "-f", "image",
                      "--out", tmp_path / "emb", "--no-progress")
    assert_one_line(code, err, "too large")
    assert not (tmp_path / "emb").exists()


# ------------------------------------------------------------------------------ 7. permissions, temporaries


@pytest.fixture
def umask022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def modes(root: Path) -> set[tuple[str, int]]:
    return {("d" if p.is_dir() else "f", stat.S_IMODE(p.stat().st_mode)) for p in [root, *root.rglob("*")]}


def test_outputs_follow_the_umask(built, tmp_path, monkeypatch, capsys, umask022):
    out = tmp_path / "kb"
    assert kvqae(monkeypatch, capsys, "kb", "build", built["world"] / "articles.jsonl", "--out", out,
                 "--no-progress")[0] == 0
    assert kvqae(monkeypatch, capsys, "search", "--index", built["index"], "--questions", built["questions"],
                 "--out", tmp_path / "run.json", "--no-progress")[0] == 0
    assert modes(out) == {("d", 0o755), ("f", 0o644)}
    assert modes(tmp_path / "run.json") == {("f", 0o644)}
    os.umask(0o027)
    assert kvqae(monkeypatch, capsys, "index", "build", out, "--bm25", "--out", tmp_path / "ix",
                 "--no-progress")[0] == 0
    assert modes(tmp_path / "ix") == {("d", 0o750), ("f", 0o640)}


def test_stale_temporaries_are_removed_by_the_next_run(built, tmp_path, monkeypatch, capsys):
    stale_dir = tmp_path / ".kb.k1ll3d.tmp"
    stale_dir.mkdir()
    (stale_dir / "entities.parquet").write_bytes(b"half")
    stale_file = tmp_path / ".run.json.x9.tmp"
    stale_file.write_text("half")
    assert kvqae(monkeypatch, capsys, "kb", "build", built["world"] / "articles.jsonl", "--out",
                 tmp_path / "kb", "--no-progress")[0] == 0
    assert kvqae(monkeypatch, capsys, "search", "--index", built["index"], "--questions", built["questions"],
                 "--out", tmp_path / "run.json", "--no-progress")[0] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kb", "run.json"]


def test_a_live_temporary_is_not_swept(tmp_path):
    from kvqae.io import atomic_dir

    with atomic_dir(tmp_path / "out") as live:
        (live / "a").write_text("1")
        with atomic_dir(tmp_path / "out") as other:  # a second writer of the same output finishes first
            (other / "b").write_text("2")
        assert live.exists()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


@pytest.mark.parametrize(("command", "kind"), [
    (["world", "--entities", "4", "--no-progress"], "world folder"),
    (["demo", "--no-progress"], "demo output folder"),
])
def test_world_and_demo_do_not_replace_a_foreign_folder(tmp_path, monkeypatch, capsys, command, kind):
    other = tmp_path / "notes"
    other.mkdir()
    (other / "todo.txt").write_text("keep me")
    before = tree_hash(other)
    code, err = kvqae(monkeypatch, capsys, *command, "--out", other)
    assert_one_line(code, err, "--out", "--overwrite", kind)
    assert tree_hash(other) == before


def test_world_replaces_an_earlier_world(tmp_path, monkeypatch, capsys):
    args = ["world", "--entities", "4", "--depictions", "2", "--questions", "2", "--no-progress", "--out",
            tmp_path / "w"]
    assert kvqae(monkeypatch, capsys, *args)[0] == 0
    assert kvqae(monkeypatch, capsys, *args)[0] == 0
    assert (tmp_path / "w" / "world.json").is_file()


@pytest.mark.parametrize(("args", "needle"), [
    (["read", "--run", "a", "--kb", "b", "--questions", "c", "--model", "d", "--out", "e", "--top-k", "0"],
     "'--top-k'"),
    (["read"], "Missing option '--run'"),
    (["no-such-command"], "No such command"),
])
def test_usage_errors_are_one_line(monkeypatch, capsys, args, needle):
    """Typer's own checks (option ranges, missing options, unknown commands): one line, exit 2."""
    code, err = kvqae(monkeypatch, capsys, *args)
    assert_one_line(code, err, needle, "--help")



@pytest.mark.parametrize(
    ("device", "message"),
    [
        ("bogus", "--device 'bogus' is not a torch device"),
        ("cuda:99", "--device cuda:99: this machine has"),
    ],
)
def test_check_device_refuses_a_device_this_machine_lacks(device, message):
    """A bad --device used to end in a torch RuntimeError / "Torch not compiled with CUDA" traceback."""
    from kvqae.errors import InputError
    from kvqae.safety import check_device

    check_device("cpu")
    with pytest.raises(InputError) as err:
        check_device(device)
    assert str(err.value).startswith(message)


def test_ask_and_read_refuse_a_bad_device_before_loading(monkeypatch, capsys, tmp_path):
    code, err = kvqae(monkeypatch, capsys, "ask", tmp_path, "-q", "Who?", "--device", "gpu0")
    assert_one_line(code, err, "--device 'gpu0' is not a torch device")
    model = tmp_path / "reader"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_text("")
    out = tmp_path / "p.jsonl"
    code, err = kvqae(monkeypatch, capsys, "read", "--run", tmp_path / "r.json", "--kb", tmp_path,
                      "--questions", tmp_path / "q.jsonl", "--model", model, "--out", out,
                      "--device", "cuda:99")
    assert_one_line(code, err, "--device cuda:99: this machine has")
    assert not out.exists()


def _unprivileged() -> list[str] | None:
    """A command prefix that runs without root's right to read any file (None when there is no way)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        return None
    drop = "-dac_override,-dac_read_search"
    return ["setpriv", f"--inh-caps={drop}", f"--bounding-set={drop}", "--"]


def test_an_unreadable_file_or_folder_is_one_line(built, tmp_path):
    """Session 24: a photo without read permission, a folder without search permission were tracebacks."""
    import subprocess
    import sys

    prefix = _unprivileged()
    if prefix is None:
        pytest.skip("running as root without setpriv: every file is readable")
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n")
    photo.chmod(0)
    shut = tmp_path / "shut"
    shut.mkdir()
    shutil.copy(built["questions"], shut / "q.jsonl")
    shut.chmod(0o600)
    try:
        for args, needle in [(["ask", str(tmp_path), "-q", "Who?", "-i", str(photo)], str(photo)),
                             (["questions", "info", str(shut / "q.jsonl")], str(shut / "q.jsonl"))]:
            done = subprocess.run([*prefix, sys.executable, "-m", "kvqae.cli", *args], capture_output=True,
                                  text=True, timeout=120)
            assert_one_line(done.returncode, done.stderr, needle, "permission denied")
    finally:
        shut.chmod(0o755)


def test_os_error_message_by_hand():
    import errno

    from kvqae.cli import os_error_message

    denied = PermissionError(errno.EACCES, "Permission denied", "photo.png")
    assert os_error_message(denied) == "photo.png: permission denied (check its permissions and its folders')"
    assert os_error_message(OSError(errno.EIO, "Input/output error", "/dev/sdz")) == (
        "/dev/sdz: input/output error")
    long = OSError(errno.ENAMETOOLONG, "File name too long", "a" * 300)
    assert os_error_message(long) == f"{'a' * 60}...{'a' * 15}: file name too long (300 characters)"


def test_an_image_that_cannot_be_read_names_it(tmp_path):
    from kvqae.ask.cli import load_image_file
    from kvqae.errors import InputError

    mem = Path("/proc/self/mem")  # a file whose reading fails with an I/O error
    if not mem.is_file():
        pytest.skip("no /proc/self/mem here")
    with pytest.raises(InputError, match=r'mem: field "image": cannot be read \(input/output error\)'):
        load_image_file(mem)
