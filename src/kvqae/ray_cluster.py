"""Connecting to Ray for `--ray ADDRESS` (`kvqae encode ... --ray`, `kvqae search ... --ray`).

ADDRESS is one of:

- `local`: `ray.init()` with no address: joins the cluster `ray start` left on this machine (or the one in
  `RAY_ADDRESS`), else starts a private local Ray that ends with the command;
- `auto`: the cluster running on this machine (started with `ray start --head` / `ray start --address`);
- `HOST:PORT`: the GCS of a cluster, from one of its nodes (`ray start --head` prints it);
- `ray://HOST:PORT`: a remote cluster through the Ray Client server (port 10001 by default).

`ray` is imported only here and in the modules that run work on Ray, and only when `--ray` is given.
A process that already called `ray.init()` (a test fixture, a notebook) is reused as it is.
"""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kvqae.errors import InputError

ADDRESS_HELP = ("Run on Ray: 'local' (start or join a Ray on this machine), 'auto' (the cluster this machine "
                "belongs to, after `ray start`), HOST:PORT or ray://HOST:PORT.")
CONNECT_TIMEOUT_S = 5.0
_HOST_PORT = re.compile(r"^(?P<host>\[[0-9a-fA-F:]+\]|[A-Za-z0-9._-]+):(?P<port>\d{1,5})$")


def _ray():
    try:
        import ray
    except ImportError:
        raise InputError("Ray is not installed: pip install 'ray[data,client]' (see requirements.txt)",
                         field="--ray") from None
    return ray


def parse_address(address: str | None) -> tuple[str, tuple[str, int] | None]:
    """Check `address` -> (the `address` argument of `ray.init`, host/port to probe first or None).

    InputError (field "--ray") for anything that is not local, auto, HOST:PORT or ray://HOST:PORT."""
    text = (address or "local").strip()
    if text in ("local", "auto"):
        return ("" if text == "local" else "auto"), None
    rest = text[len("ray://"):] if text.startswith("ray://") else text
    m = _HOST_PORT.match(rest)
    if m is None or not 0 < int(m["port"]) < 65536:
        raise InputError(f"expected local, auto, HOST:PORT or ray://HOST:PORT, got {text!r}", field="--ray")
    return text, (m["host"].strip("[]"), int(m["port"]))


def _probe(address: str, host: str, port: int) -> None:
    """Fail fast on an address nobody listens on: `ray.init` would retry for minutes before giving up."""
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as e:
        reason = e.strerror or type(e).__name__
        raise InputError(f"cannot reach a Ray cluster at {address} ({reason}); is `ray start --head` running "
                         f"there?", field="--ray") from None


@contextmanager
def ray_session(address: str | None) -> Iterator[Any]:
    """Connect to Ray as `address` says (see the module docstring) and yield the `ray` module.

    Reuses a connection this process already has (and leaves it open); otherwise connects, and disconnects
    (stopping a private local Ray) on exit. A bad or unreachable address is one InputError."""
    init_address, probe = parse_address(address)
    if probe is not None:
        _probe(address or "", *probe)
    ray = _ray()
    if ray.is_initialized():
        yield ray
        return
    kwargs: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": True}
    if not init_address:
        kwargs["include_dashboard"] = False  # a private local Ray needs no web UI
    try:
        ray.init(address=init_address or None, **kwargs)
    except ConnectionError as e:
        hint = " (start one with `ray start --head`)" if init_address == "auto" else ""
        raise InputError(f"cannot connect to Ray at {address}: {e}{hint}", field="--ray") from None
    try:
        yield ray
    finally:
        ray.shutdown()


def cluster_resources(ray: Any) -> dict[str, float]:
    """CPU and GPU totals of the connected cluster."""
    res = ray.cluster_resources()
    return {"CPU": float(res.get("CPU", 0.0)), "GPU": float(res.get("GPU", 0.0))}


def quiet_ray_data() -> None:
    """Ray Data's own progress bars and logs would interleave with kvqae's bar (its errors still raise)."""
    import ray.data

    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.enable_auto_log_stats = False
    logging.getLogger("ray.data").setLevel(logging.ERROR)
