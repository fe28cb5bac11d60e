"""`kvqae serve OUT`: load an answerable output folder once and serve the API and the page with uvicorn."""

from __future__ import annotations

from pathlib import Path

import typer

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def check_listen(host: str, port: int) -> None:
    """`host` resolves and `port` can be listened on there, checked before the bundle loads: a taken port or
    an address this machine lacks was uvicorn's "ERROR: [Errno 98] ..." (exit 3) after the models loaded and
    "serving http://..." was printed. The probe socket is closed at once (uvicorn sets SO_REUSEADDR too)."""
    import socket

    from kvqae.errors import InputError

    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except (socket.gaierror, UnicodeError) as e:
        raise InputError(f"--host {host!r} is not an address of this machine nor a name it can resolve "
                         f"({getattr(e, 'strerror', None) or e})") from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as e:
            reason = e.strerror or e
            raise InputError(f"--host {host} --port {port}: cannot listen there ({reason})") from None


def serve_command(
    out: Path = typer.Argument(..., help="Output folder of `kvqae run` or `kvqae demo` (has bundle.json)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (default: this machine only)."),
    # 0 would print ":0" as the address
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
    device: str = typer.Option("cpu", "--device", help="Where the models run: cpu, cuda, cuda:N."),
    top_k: int = typer.Option(
        None, "--top-k", min=1, help="Passages the reader reads (default: the bundle's reader top_k)."
    ),
) -> None:
    """Serve POST /api/ask, the entity and example endpoints and the web page at http://HOST:PORT/."""
    import uvicorn

    from kvqae.ask.answer import Answerer
    from kvqae.serve.app import create_app
    from kvqae.serve.protocol import HeaderDeadlineH11Protocol

    check_listen(host, port)
    if host not in LOOPBACK:
        typer.secho(f"warning: binding {host}: anyone who can reach this machine can use the service",
                    fg=typer.colors.YELLOW, err=True)
    typer.echo(f"loading {out} ...")
    answerer = Answerer.load(out, device=device, top_k=top_k)
    if (missing := answerer.bundle.missing_examples) is not None:
        typer.secho(f"warning: {Path(out) / 'bundle.json'}: examples {missing} does not exist: the page "
                    "shows no example questions", fg=typer.colors.YELLOW, err=True)
    answerer.warm_up()
    app = create_app(answerer, loopback_only=host in LOOPBACK)
    typer.echo(f"modes: {', '.join(answerer.mode_names)}; reader: {'yes' if answerer.reader else 'no'}")
    typer.echo(f"serving http://{host}:{port}/  (API docs at /docs; Ctrl-C stops)")
    # headers must arrive within HEADER_SECONDS (kvqae.serve.protocol): a stalled client held its connection
    uvicorn.run(app, host=host, port=port, log_level="warning", http=HeaderDeadlineH11Protocol)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
