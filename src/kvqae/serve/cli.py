"""`kvqae serve OUT`: load an answerable output folder once and serve the API and the page with uvicorn."""

from __future__ import annotations

from pathlib import Path

import typer

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def serve_command(
    out: Path = typer.Argument(..., help="Output folder of `kvqae run` or `kvqae demo` (has bundle.json)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (default: this machine only)."),
    port: int = typer.Option(8000, "--port", min=0, max=65535),
    device: str = typer.Option("cpu", "--device"),
    top_k: int = typer.Option(
        None, "--top-k", min=1, help="Passages the reader reads (default: the bundle's reader top_k)."
    ),
) -> None:
    """Serve POST /api/ask, the entity and example endpoints and the web page at http://HOST:PORT/."""
    import uvicorn

    from kvqae.ask.answer import Answerer
    from kvqae.serve.app import create_app

    if host not in LOOPBACK:
        typer.secho(f"warning: binding {host}: anyone who can reach this machine can use the service",
                    fg=typer.colors.YELLOW, err=True)
    typer.echo(f"loading {out} ...")
    answerer = Answerer.load(out, device=device, top_k=top_k)
    answerer.warm_up()
    app = create_app(answerer)
    typer.echo(f"modes: {', '.join(answerer.mode_names)}; reader: {'yes' if answerer.reader else 'no'}")
    typer.echo(f"serving http://{host}:{port}/  (API docs at /docs; Ctrl-C stops)")
    uvicorn.run(app, host=host, port=port, log_level="warning")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
