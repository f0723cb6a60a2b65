"""A small trio HTTP server for /metrics, /healthz and /status that can never stall the agent.

It shares the event loop with the VRRP timers, so every connection runs in its own task under
a deadline and a request-size bound, the number of connections is capped in all and per client
address (excess ones are closed at once), and a client that sends one byte per second or never
ends its headers only ties up its own task until the deadline. Rendering /metrics is CPU work
proportional to the number of series, so it runs in a worker thread (one at a time) rather than
on the loop, and so does /status: the loop only captures the instance list and the time (the
builder), and the document is built and encoded in the thread (67 ms at 1,000 instances with 16
peers each, which on the loop would delay every timer by as much per request).

HTTP is parsed by h11 (sans-IO); bytes h11 would tolerate but a strict server must not (a bare
LF line ending, which lets a proxy and this server disagree on where a header ends) are refused
with 400 as soon as they arrive. Only GET and HEAD are served, one request per connection
(`Connection: close`): Prometheus, curl, kubelet and `havip status` need nothing more.

`--web.config.file` (see webconfig) adds TLS, basic auth and response headers to the main
listener. Liveness has a listener of its own (`serve_health`): plain HTTP, /healthz only, on the
loopback address by default, with its own connection slots, so a flood of clients on the metrics
port can neither take its slots nor need its password; kubelet and systemd probe it.
"""

from __future__ import annotations

import errno
import json
import logging
import re
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import h11
import trio

from havip.observe.basicauth import BasicAuth
from havip.observe.webconfig import WebConfig, WebConfigWatcher

DEFAULT_PORT = 10112
"""VRRP is IP protocol 112; docs/http.md says why this port (9650 is keepalived_exporter's)."""
DEFAULT_LISTEN = f"[::]:{DEFAULT_PORT}"
LISTEN_ENV = "HAVIP_METRICS_LISTEN"
DEFAULT_HEALTH_LISTEN = f"127.0.0.1:{DEFAULT_PORT + 1}"
HEALTH_LISTEN_ENV = "HAVIP_HEALTH_LISTEN"
IPV6_UNAVAILABLE = frozenset({errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL, errno.EPROTONOSUPPORT})
READ_CHUNK = 4096
LINGER_BYTES = 65536
"""At most this much is read and dropped after an error response (see _Server._drain)."""
ACCEPT_RETRY_DELAY = 0.1
_BARE_LF = re.compile(rb"(?<!\r)\n")

log = logging.getLogger("havip.http")


@dataclass(frozen=True, slots=True)
class HttpApp:
    """What the main listener exposes and its limits.

    `alive` says whether the agent loop is alive (for /healthz). `status`, called on the loop,
    quickly captures what the /status document needs and returns its builder, which runs in a
    worker thread and must only read values the loop replaces atomically. `web`, when given,
    is the `--web.config.file` in force (TLS, basic auth, headers) for every path.
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
    max_connections_per_client: int = 8
    """So one address cannot hold every slot: Prometheus, from another, still gets one."""
    web: WebConfigWatcher | None = None


@dataclass(frozen=True, slots=True)
class HealthApp:
    """The liveness listener: /healthz only, no TLS or auth, slots of its own."""

    alive: Callable[[], bool]
    request_deadline: float = 2.0
    max_request_bytes: int = 2048
    max_connections: int = 16
    max_connections_per_client: int = 16


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


def parse_listen(listen: str) -> tuple[str, int]:
    """`HOST:PORT`, `[V6]:PORT` or `:PORT` -> (host, port); an empty host means any address."""
    host, colon, port_text = listen.rpartition(":")
    if not colon or not port_text.isdigit() or int(port_text) > 65535:
        raise ValueError(f"listen address {listen!r} is not HOST:PORT")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"listen address {listen!r}: put an IPv6 address in brackets, [::1]:10112")
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
    routes = _MainRoutes(app)
    await _serve(listen, _Server(app, routes.answer, app.web), task_status)


async def serve_health(
    listen: str,
    app: HealthApp,
    *,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve /healthz alone on `listen` until cancelled; reports the bound port."""

    async def answer(request: Request, _config: WebConfig | None) -> Response:
        if request.path == "/healthz":
            return _health(app.alive)
        return _text(404, "Not Found", "only /healthz here\n")

    await _serve(listen, _Server(app, answer, web=None), task_status)


async def _serve(listen: str, server: _Server, task_status: trio.TaskStatus[int]) -> None:
    listener = await open_listener(listen)
    port = listener.socket.getsockname()[1]
    async with listener, trio.open_nursery() as nursery:
        task_status.started(port)
        while True:
            try:
                stream = await listener.accept()
            except OSError as error:  # out of file descriptors, memory: wait, do not die
                log.warning("accepting an HTTP connection failed: %s", error)
                await trio.sleep(ACCEPT_RETRY_DELAY)
                continue
            client = server.admit(stream)
            if client is None:
                await trio.aclose_forcefully(stream)
                continue
            nursery.start_soon(server.handle, stream, client)


_Answer = Callable[[Request, WebConfig | None], Awaitable[Response]]


class _Server:
    """Connection slots and the HTTP exchange; what to answer is `answer`'s business."""

    def __init__(
        self, limits: HttpApp | HealthApp, answer: _Answer, web: WebConfigWatcher | None
    ) -> None:
        self.limits = limits
        self.answer = answer
        self.web = web
        self.active = 0
        self.per_client: dict[str, int] = {}

    def admit(self, stream: trio.SocketStream) -> str | None:
        """Take a slot for this connection's client address, or None if it gets none."""
        try:
            client = str(stream.socket.getpeername()[0])
        except OSError:
            return None
        held = self.per_client.get(client, 0)
        if (
            self.active >= self.limits.max_connections
            or held >= self.limits.max_connections_per_client
        ):
            return None
        self.active += 1
        self.per_client[client] = held + 1
        return client

    def release(self, client: str) -> None:
        self.active -= 1
        left = self.per_client[client] - 1
        if left:
            self.per_client[client] = left
        else:
            del self.per_client[client]

    async def handle(self, socket_stream: trio.SocketStream, client: str) -> None:
        """One connection: (TLS,) read a request, answer it, close; all within the deadline."""
        stream: trio.abc.Stream = socket_stream
        try:
            with trio.move_on_after(self.limits.request_deadline):
                config = self.web.current() if self.web is not None else None
                if config is not None and config.tls is not None:
                    stream = trio.SSLStream(
                        socket_stream, config.tls, server_side=True, https_compatible=True
                    )
                    await stream.do_handshake()
                await self._exchange(stream, config)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            pass
        except Exception:  # a bug here must cost one connection, never the agent
            log.exception("HTTP connection handler failed")
        finally:
            self.release(client)
            await trio.aclose_forcefully(stream)

    async def _exchange(self, stream: trio.abc.Stream, config: WebConfig | None) -> None:
        connection = h11.Connection(
            h11.SERVER, max_incomplete_event_size=self.limits.max_request_bytes
        )
        try:
            request = await self._read_request(stream, connection)
        except h11.RemoteProtocolError as error:
            status = error.error_status_hint
            reason = _REASONS.get(status, "Bad Request")
            response = _text(status, reason, reason + "\n")  # never echo the bytes back
            await stream.send_all(_encode(connection, response, config, include_body=True))
            await self._drain(stream)
            return
        if request is None:
            return
        response = await self.answer(request, config)
        await stream.send_all(
            _encode(connection, response, config, include_body=request.method != "HEAD")
        )

    async def _read_request(
        self, stream: trio.abc.Stream, connection: h11.Connection
    ) -> Request | None:
        """The request, or None if the client went away before sending one."""
        previous = b""
        while True:
            event = connection.next_event()
            if event is h11.NEED_DATA:
                chunk = bytes(await stream.receive_some(READ_CHUNK))
                if _BARE_LF.search(previous + chunk):
                    raise h11.RemoteProtocolError("a line ends in LF without CR", 400)
                previous = chunk[-1:]
                connection.receive_data(chunk)
                continue
            if isinstance(event, h11.Request):
                if not event.http_version.startswith(b"1."):
                    raise h11.RemoteProtocolError("only HTTP/1.x is served", 505)
                return Request(
                    event.method.decode("ascii"),
                    event.target.decode("ascii", "replace").split("?", 1)[0],
                    {
                        name.decode("ascii"): value.decode("latin-1")
                        for name, value in event.headers
                    },
                )
            return None  # ConnectionClosed

    async def _drain(self, stream: trio.abc.Stream) -> None:
        """Read and drop what the client is still sending, within bounds, before closing.

        Closing a socket with unread input makes the kernel reset the connection, and the
        client would then lose the error response it was about to read.
        """
        if isinstance(stream, trio.abc.HalfCloseableStream):
            await stream.send_eof()
        budget = LINGER_BYTES
        while budget > 0:
            chunk = await stream.receive_some(READ_CHUNK)
            if not chunk:
                return
            budget -= len(chunk)


class _MainRoutes:
    """/metrics, /healthz and /status, behind basic auth when the web config asks for it."""

    def __init__(self, app: HttpApp) -> None:
        self.app = app
        self.auth = BasicAuth()
        self._render_slot = trio.CapacityLimiter(1)

    async def answer(self, request: Request, config: WebConfig | None) -> Response:
        if config is not None and not await self.auth.allows(
            config.users, _header_bytes(request.headers.get("authorization"))
        ):
            return _text(401, "Unauthorized", "Unauthorized\n", (("WWW-Authenticate", "Basic"),))
        if request.method not in ("GET", "HEAD"):
            return _text(
                405, "Method Not Allowed", "only GET and HEAD\n", (("Allow", "GET, HEAD"),)
            )
        try:
            if request.path == "/metrics":
                return await self._metrics(request.headers.get("accept", ""))
            if request.path == "/healthz":
                return _health(self.app.alive)
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


_REASONS = {
    400: "Bad Request",
    431: "Request Header Fields Too Large",
    505: "HTTP Version Not Supported",
}


def _encode(
    connection: h11.Connection,
    response: Response,
    config: WebConfig | None,
    *,
    include_body: bool,
) -> bytes:
    headers = [
        ("Content-Type", response.content_type),
        ("Content-Length", str(len(response.body))),
        ("Connection", "close"),
        *response.extra_headers,
        *(config.headers if config is not None else ()),
    ]
    data = connection.send(
        h11.Response(status_code=response.status, headers=headers, reason=response.reason)
    )
    if include_body and response.body:
        data += connection.send(h11.Data(data=response.body)) or b""
    data += connection.send(h11.EndOfMessage()) or b""
    return data or b""


def _header_bytes(value: str | None) -> bytes | None:
    return value.encode("latin-1") if value is not None else None


def _health(alive: Callable[[], bool]) -> Response:
    if alive():
        return _text(200, "OK", "ok\n")
    return _text(503, "Service Unavailable", "the agent loop is not running\n")


def _built_json(build: Callable[[], dict[str, Any]]) -> bytes:
    return _json_bytes(build())


def _json_bytes(document: dict[str, Any]) -> bytes:
    """Indented JSON: Python's slower encoder, hence run in the worker thread."""
    return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode()


def _text(
    status: int, reason: str, body: str, extra_headers: tuple[tuple[str, str], ...] = ()
) -> Response:
    return Response(status, reason, "text/plain; charset=utf-8", body.encode(), extra_headers)
