"""A small trio HTTP server for /metrics, /healthz and /status that can never stall the agent.

It shares the event loop with the VRRP timers, so every connection runs in its own task under
a deadline and a request-size bound, the number of connections is capped (excess ones are
closed at once), and a client that sends one byte per second or never ends its headers only
ties up its own task until the deadline. Rendering /metrics is CPU work proportional to the
number of series, so it runs in a worker thread (one at a time) rather than on the loop, and
so does /status: the loop only captures the instance list and the time (the builder), and the
document is built and encoded in the thread (67 ms at 1,000 instances with 16 peers each,
which on the loop would delay every timer by as much per request).

Only GET and HEAD of three paths are served, one request per connection (`Connection: close`):
Prometheus, curl and `havip status` need nothing more, and it keeps the parser trivial.
"""

from __future__ import annotations

import errno
import json
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import trio

DEFAULT_LISTEN = "[::]:9650"
LISTEN_ENV = "HAVIP_METRICS_LISTEN"
IPV6_UNAVAILABLE = frozenset({errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL, errno.EPROTONOSUPPORT})
READ_CHUNK = 4096
LINGER_BYTES = 65536
"""At most this much is read and dropped after an error response (see _Server._drain)."""
ACCEPT_RETRY_DELAY = 0.1

log = logging.getLogger("havip.http")


@dataclass(frozen=True, slots=True)
class HttpApp:
    """What the server exposes and its limits.

    `alive` says whether the agent loop is alive (for /healthz). `status`, called on the loop,
    quickly captures what the /status document needs and returns its builder, which runs in a
    worker thread and must only read values the loop replaces atomically.
    """

    metrics: Callable[[str], tuple[bytes, str]]
    """Renders /metrics for a request's Accept header: (body, content type); runs in a
    worker thread."""
    status: Callable[[], Callable[[], dict[str, Any]]]
    alive: Callable[[], bool]
    request_deadline: float = 5.0
    """Seconds a client has to send its request and read the response."""
    max_request_bytes: int = 8192
    max_connections: int = 64


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    reason: str
    content_type: str
    body: bytes
    extra_headers: tuple[tuple[str, str], ...] = ()

    def encode(self, include_body: bool) -> bytes:
        lines = [
            f"HTTP/1.1 {self.status} {self.reason}",
            f"Content-Type: {self.content_type}",
            f"Content-Length: {len(self.body)}",
            "Connection: close",
            *(f"{name}: {value}" for name, value in self.extra_headers),
        ]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return head + self.body if include_body else head


class BadRequest(Exception):
    """The client sent something that is not a small HTTP/1.x request."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason


def parse_listen(listen: str) -> tuple[str, int]:
    """`HOST:PORT`, `[V6]:PORT` or `:PORT` -> (host, port); an empty host means any address."""
    host, colon, port_text = listen.rpartition(":")
    if not colon or not port_text.isdigit() or int(port_text) > 65535:
        raise ValueError(f"listen address {listen!r} is not HOST:PORT")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"listen address {listen!r}: put an IPv6 address in brackets, [::1]:9650")
    return host, int(port_text)


async def open_listener(listen: str) -> trio.SocketListener:
    """Bind `listen`; `[::]` (and an empty host) is dual-stack, falling back to 0.0.0.0 where
    the machine has no IPv6."""
    host, port = parse_listen(listen)
    if host in ("", "::"):
        try:
            return await _bind(socket.AF_INET6, ("::", port), dual_stack=True)
        except OSError as error:
            if error.errno not in IPV6_UNAVAILABLE:
                raise
            log.info("IPv6 is unavailable (%s); listening on 0.0.0.0:%d instead", error, port)
            return await _bind(socket.AF_INET, ("0.0.0.0", port), dual_stack=False)
    infos = await trio.socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )
    family, _type, _proto, _name, address = infos[0]
    return await _bind(family, address, dual_stack=False)


async def _bind(family: int, address: Any, *, dual_stack: bool) -> trio.SocketListener:
    sock = trio.socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if dual_stack:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        await sock.bind(address)
        sock.listen(128)
    except BaseException:
        sock.close()
        raise
    return trio.SocketListener(sock)


async def serve_http(
    listen: str,
    app: HttpApp,
    *,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve `app` on `listen` until cancelled; reports the bound port through task_status."""
    listener = await open_listener(listen)
    port = listener.socket.getsockname()[1]
    server = _Server(app)
    async with listener, trio.open_nursery() as nursery:
        task_status.started(port)
        while True:
            try:
                stream = await listener.accept()
            except OSError as error:  # out of file descriptors, memory: wait, do not die
                log.warning("accepting an HTTP connection failed: %s", error)
                await trio.sleep(ACCEPT_RETRY_DELAY)
                continue
            if server.active >= app.max_connections:
                await trio.aclose_forcefully(stream)
                continue
            server.active += 1
            nursery.start_soon(server.handle, stream)


class _Server:
    def __init__(self, app: HttpApp) -> None:
        self.app = app
        self.active = 0
        self._render_slot = trio.CapacityLimiter(1)

    async def handle(self, stream: trio.SocketStream) -> None:
        """One connection: read a request, answer it, close; all within the deadline."""
        try:
            with trio.move_on_after(self.app.request_deadline):
                try:
                    request = await self._read_request(stream)
                except BadRequest as error:
                    response = _text(error.status, error.reason, error.reason + "\n")
                    await stream.send_all(response.encode(include_body=True))
                    await self._drain(stream)
                    return
                if request is None:
                    return
                response = await self._respond(request)
                await stream.send_all(response.encode(include_body=request.method != "HEAD"))
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            pass
        except Exception:  # a bug here must cost one connection, never the agent
            log.exception("HTTP connection handler failed")
        finally:
            self.active -= 1
            await trio.aclose_forcefully(stream)

    async def _read_request(self, stream: trio.SocketStream) -> Request | None:
        """The request head, or None if the client went away before finishing it."""
        buffer = bytearray()
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end >= 0:
                return _parse_head(bytes(buffer[:end]))
            if len(buffer) > self.app.max_request_bytes:
                raise BadRequest(431, "Request Header Fields Too Large")
            chunk = await stream.receive_some(READ_CHUNK)
            if not chunk:
                return None
            buffer += chunk

    async def _drain(self, stream: trio.SocketStream) -> None:
        """Read and drop what the client is still sending, within bounds, before closing.

        Closing a socket with unread input makes the kernel reset the connection, and the
        client would then lose the error response it was about to read.
        """
        await stream.send_eof()
        budget = LINGER_BYTES
        while budget > 0:
            chunk = await stream.receive_some(READ_CHUNK)
            if not chunk:
                return
            budget -= len(chunk)

    async def _respond(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return _text(
                405, "Method Not Allowed", "only GET and HEAD\n", (("Allow", "GET, HEAD"),)
            )
        try:
            if request.path == "/metrics":
                return await self._metrics(request.headers.get("accept", ""))
            if request.path == "/healthz":
                if self.app.alive():
                    return _text(200, "OK", "ok\n")
                return _text(503, "Service Unavailable", "the agent loop is not running\n")
            if request.path == "/status":
                build = self.app.status()
                body = await trio.to_thread.run_sync(_built_json, build, limiter=self._render_slot)
                return Response(200, "OK", "application/json", body)
        except Exception:
            log.exception("serving %s failed", request.path)
            return _text(500, "Internal Server Error", "internal error\n")
        return _text(404, "Not Found", "not found; try /metrics, /healthz or /status\n")

    async def _metrics(self, accept: str) -> Response:
        body, content_type = await trio.to_thread.run_sync(
            self.app.metrics, accept, limiter=self._render_slot
        )
        return Response(200, "OK", content_type, body)


def _built_json(build: Callable[[], dict[str, Any]]) -> bytes:
    return _json_bytes(build())


def _json_bytes(document: dict[str, Any]) -> bytes:
    """Indented JSON: Python's slower encoder, hence run in the worker thread."""
    return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode()


def _parse_head(head: bytes) -> Request:
    try:
        text = head.decode("latin-1")
        request_line, *header_lines = text.split("\r\n")
        method, target, version = request_line.split(" ")
    except ValueError:
        raise BadRequest(400, "Bad Request") from None
    if not version.startswith("HTTP/1."):
        raise BadRequest(505, "HTTP Version Not Supported")
    headers: dict[str, str] = {}
    for line in header_lines:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise BadRequest(400, "Bad Request")
        headers[name.lower()] = value.strip()
    return Request(method, target.split("?", 1)[0], headers)


def _text(
    status: int, reason: str, body: str, extra_headers: tuple[tuple[str, str], ...] = ()
) -> Response:
    return Response(status, reason, "text/plain; charset=utf-8", body.encode(), extra_headers)
