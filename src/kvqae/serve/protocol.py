"""uvicorn's HTTP/1.1 protocol with a deadline for a request's headers.

uvicorn times out idle keep-alive connections and `kvqae.serve.app` a stalled upload body, but a client that
opens a connection and sends its request line and headers slowly, or never finishes them, held the connection
open for as long as it liked: enough of them tie up the server's sockets (a "slowloris"). With
`HeaderDeadlineH11Protocol` the headers of each request must be complete `HEADER_SECONDS` after the connection
opened or the previous response ended; otherwise the connection is closed. Pass it as uvicorn's `http`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_SECONDS = 20.0  # a browser or curl sends its headers in one packet: far below this


class HeaderDeadlineH11Protocol(H11Protocol):
    """`H11Protocol` closing a connection whose next request's headers are not complete in time."""

    header_seconds = HEADER_SECONDS

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_deadline: asyncio.TimerHandle | None = None
        self._arm_header_deadline()

    def handle_events(self) -> None:
        super().handle_events()
        if self.cycle is not None and not self.cycle.response_complete:  # this request's headers are in
            self._cancel_header_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():  # the next request on this connection gets its own deadline
            self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_deadline()
        super().connection_lost(exc)

    def _arm_header_deadline(self) -> None:
        self._cancel_header_deadline()
        self._header_deadline = self.loop.call_later(self.header_seconds, self._headers_too_slow)

    def _cancel_header_deadline(self) -> None:
        deadline: Any = getattr(self, "_header_deadline", None)
        if deadline is not None:
            deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        waiting = self.cycle is None or self.cycle.response_complete  # no request is being answered
        if waiting and not self.transport.is_closing():
            self.transport.close()
