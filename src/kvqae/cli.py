"""The one command line: `kvqae ...`. Each pipeline stage registers its commands from its own `cli` module.

Stage modules keep heavy imports (torch, transformers, faiss) inside the command functions, so `--help`
stays fast.
"""

from __future__ import annotations

import errno
import importlib
import sys

import typer

app = typer.Typer(
    name="kvqae",
    help="Knowledge-based visual question answering about named entities.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Modules that define `register(app)`; listed in pipeline order so `kvqae --help` reads like the pipeline.
STAGE_MODULES = [
    "kvqae.data.cli",
    "kvqae.world.cli",
    "kvqae.encode.cli",
    "kvqae.index.cli",
    "kvqae.search.cli",
    "kvqae.fusion.cli",
    "kvqae.rerank.cli",
    "kvqae.read.cli",
    "kvqae.evaluate.cli",
    "kvqae.train.cli",
    "kvqae.pipeline",
    "kvqae.demo",
    "kvqae.ask.cli",
    "kvqae.serve.cli",
]

for _name in STAGE_MODULES:
    importlib.import_module(_name).register(app)


def undecodable_argument(args: list[str]) -> str | None:
    """A message for the first argument that is not UTF-8 (a Latin-1 terminal's "Où", a file name in
    another encoding): Python keeps such bytes as lone surrogates, which crashed whatever wrote or encoded
    the value (a tokenizer, a run's name in a file); None when every argument is text."""
    for i, arg in enumerate(args):
        if any("\ud800" <= ch <= "\udfff" for ch in arg):
            raw = arg.encode("utf-8", "surrogateescape")
            shown = ascii(raw)[2:-1] if len(raw) <= 60 else ascii(raw[:50])[2:-1] + "..."
            option = f"{args[i - 1]} " if i and args[i - 1].startswith("-") else ""
            return (f"argument {option}'{shown}' is not UTF-8 text; set the terminal (or the script) to "
                    "UTF-8 and give it again")
    return None


def empty_argument(args: list[str]) -> str | None:
    """A message for the first empty argument ("" from an unset shell variable: `--kb "$KB"`), or None.
    The CLI framework reads an empty path as ".", so the error that followed blamed the current folder.
    `["ask", "out", "--kb", ""]` -> "--kb is empty ..."; `["ask", ""]` -> "argument 2 is empty ...";
    `["--out="]` -> "--out is empty ..."."""
    for i, arg in enumerate(args):
        option = arg[:-1] if arg.startswith("-") and arg.endswith("=") else None
        if arg == "":
            previous = args[i - 1] if i else ""
            named = previous[:1] == "-" and len(previous) > 1 and "=" not in previous  # not "-" (stdin)
            option = previous if named else f"argument {i + 1}"
        if option is not None:
            return f"{option} is empty (an unset shell variable?): give a value"
    return None


# the OS errors that say the path given is at fault (exit 2, as for other input errors); others - a disk
# error, a full disk - exit 1
_INPUT_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.ELOOP,
                           errno.ENAMETOOLONG, errno.EROFS})


def os_error_message(e: OSError) -> str:
    """One line for an OS error on a path: "photo.png: permission denied (check its permissions and its
    folders')"; a name over 80 characters shortened in the middle."""
    name = str(e.filename)
    shown = name if len(name) <= 80 else f"{name[:60]}...{name[-15:]}"
    if e.errno == errno.ENAMETOOLONG:
        return f"{shown}: file name too long ({len(name)} characters)"
    reason = (e.strerror or type(e).__name__).lower()
    if e.errno in (errno.EACCES, errno.EPERM):
        reason += " (check its permissions and its folders')"
    return f"{shown}: {reason}"


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def stop_on_sigterm() -> None:
    """SIGTERM (what `timeout`, `docker stop`, systemd and Slurm send) stops a command as Ctrl-C does: its
    temporary outputs are removed on the way out (they stayed, one more per killed run). A handler set by
    whoever embeds kvqae is kept; `kvqae serve`'s server sets its own."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) in (
            signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, _interrupt)


def main() -> None:
    """Entry point: input errors print one clear line and exit 2 instead of a traceback."""
    import os

    from kvqae.errors import InputError

    # kvqae shows its own progress bars; the hub's per-checkpoint "Loading weights" bars are noise here.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    # Typer raises click's UsageError (a bad option value, a missing option, an unknown command); this typer
    # vendors click, so the class is found through its public subclass BadParameter.
    usage_error = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")
    if (message := undecodable_argument(sys.argv[1:]) or empty_argument(sys.argv[1:])) is not None:
        typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
        raise SystemExit(2)
    stop_on_sigterm()
    try:
        code = app(standalone_mode=False)
    except InputError as e:
        typer.secho(f"error: {e}", fg=typer.colors.RED, err=True)
        raise SystemExit(2) from None
    except usage_error as e:
        where = f"{e.ctx.command_path}: " if e.ctx is not None else ""
        message = " ".join(e.format_message().split())
        if message:  # empty: no arguments, the help was shown
            typer.secho(f"error: {where}{message} (see --help)", fg=typer.colors.RED, err=True)
        raise SystemExit(2) from None
    except typer.Abort:
        typer.secho("Aborted.", err=True)
        raise SystemExit(1) from None
    except OSError as e:
        if not e.filename:
            raise
        # a path the OS refuses, wherever it is first touched (an unreadable photo, a folder without
        # search permission, a too long name): one line naming it, not a traceback
        typer.secho(f"error: {os_error_message(e)}", fg=typer.colors.RED, err=True)
        raise SystemExit(2 if e.errno in _INPUT_ERRNOS else 1) from None
    raise SystemExit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
