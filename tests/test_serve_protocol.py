"""`kvqae.serve.protocol`: a client that never finishes its request headers loses its connection (it held
it open for as long as it liked), while ordinary and keep-alive requests are answered as before."""

from __future__ import annotations

import socket
import threading
import time

import pytest


async def hello(scope, receive, send):
    """A minimal ASGI app: 200 "ok" to every HTTP request."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture
def server():
    import uvicorn

    from kvqae.serve.protocol import HeaderDeadlineH11Protocol

    class Quick(HeaderDeadlineH11Protocol):
        header_seconds = 0.5

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(hello, host="127.0.0.1", port=port, http=Quick, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not srv.started and time.time() < deadline:
        time.sleep(0.02)
    assert srv.started
    yield port
    srv.should_exit = True
    thread.join(timeout=10)


def _recv_all(conn: socket.socket) -> bytes:
    chunks = []
    while chunk := conn.recv(4096):
        chunks.append(chunk)
    return b"".join(chunks)


def test_headers_that_never_end_lose_the_connection(server):
    with socket.create_connection(("127.0.0.1", server), timeout=5) as conn:
        conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # no blank line: the headers never end
        t0 = time.monotonic()
        assert _recv_all(conn) == b""  # closed by the server, nothing answered
        assert 0.3 < time.monotonic() - t0 < 4  # at the deadline, not at the client's 5 s timeout


def test_complete_requests_and_keep_alive_are_answered(server):
    request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server), timeout=5) as conn:
        for _ in range(3):  # one connection, three requests, each within the deadline of the last answer
            conn.sendall(request)
            answer = b""
            while not answer.endswith(b"ok"):  # headers and body may come in two packets
                chunk = conn.recv(4096)
                assert chunk, answer  # closed before the answer ended
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 200")
            time.sleep(0.2)
        # then idle past the deadline: the connection is closed like a stalled one
        time.sleep(0.8)
        assert _recv_all(conn) == b""


def test_kvqae_serve_uses_the_deadline(tiny_text_bundle, monkeypatch, capsys):
    import uvicorn

    from cli_run import kvqae
    from kvqae.serve.protocol import HeaderDeadlineH11Protocol

    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: seen.update(kwargs))
    code, err = kvqae(monkeypatch, capsys, "serve", tiny_text_bundle, "--port", "8765")
    assert code == 0, err
    assert seen["http"] is HeaderDeadlineH11Protocol and seen["host"] == "127.0.0.1"
