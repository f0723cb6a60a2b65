"""The HTTP server over real loopback sockets: endpoints, negotiation, and hostile clients.

Nothing here asserts how fast anything is; the slow-client tests assert ordering (a healthy
request is answered while the hostile one is still open) under generous outer deadlines.
"""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass, field
from functools import partial

import pytest
import trio
import trio.testing

from havip.observe.http import HttpApp, parse_listen, serve_http
from havip.observe.metrics import MetricsObserver, thread_safe_trio_clock
from havip.observe.status import build_status
from havip.observer import Started

from .test_metrics import V1_MASTER, V6_HIGHER, WALL_OFFSET, run_scenario, two_instances

TEST_DEADLINE = 20.0


@dataclass
class Agent:
    """What the server serves: a scripted agent's metrics and status, and a liveness flag."""

    metrics: MetricsObserver = field(
        default_factory=lambda: MetricsObserver(lambda: 7.0, process_metrics=False)
    )
    alive: bool = True

    def __post_init__(self) -> None:
        self.instances = run_scenario(self.metrics)

    def app(self, **limits: float) -> HttpApp:
        return HttpApp(
            metrics=self.metrics.scrape,
            status=lambda: partial(
                build_status, self.instances, 7.0, WALL_OFFSET, counters=self.metrics.counters
            ),
            alive=lambda: self.alive,
            **limits,  # type: ignore[arg-type]
        )


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


async def exchange(port: int, raw: bytes, host: str = "127.0.0.1") -> bytes:
    """Send `raw`, read until the server closes the connection."""
    with trio.fail_after(TEST_DEADLINE):
        stream = await trio.open_tcp_stream(host, port)
        async with stream:
            await stream.send_all(raw)
            received = bytearray()
            while chunk := await stream.receive_some(65536):
                received += chunk
    return bytes(received)


def parse_reply(data: bytes) -> Reply:
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.lower()] = value.strip()
    assert int(headers["content-length"]) == len(body) or not body
    return Reply(int(status_line.split(" ")[1]), headers, body)


async def get(
    port: int, path: str, *headers: str, method: str = "GET", host: str = "127.0.0.1"
) -> Reply:
    lines = [f"{method} {path} HTTP/1.1", "Host: test", *headers]
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode()
    return parse_reply(await exchange(port, raw, host))


async def serve(nursery: trio.Nursery, app: HttpApp, listen: str = "127.0.0.1:0") -> int:
    port = await nursery.start(serve_http, listen, app)
    assert isinstance(port, int)
    return port


# --- endpoints ----------------------------------------------------------------------------------


async def test_metrics_are_served_as_prometheus_text(nursery: trio.Nursery) -> None:
    port = await serve(nursery, Agent().app())
    reply = await get(port, "/metrics")
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert b'havip_vrrp_state{state="master",vrrp_instance="VI_6"} 1.0' in reply.body


async def test_openmetrics_is_served_when_the_scraper_asks(nursery: trio.Nursery) -> None:
    port = await serve(nursery, Agent().app())
    reply = await get(
        port,
        "/metrics",
        "Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
    )
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("application/openmetrics-text")
    assert reply.body.endswith(b"# EOF\n")


async def test_healthz_follows_the_agent_loop(nursery: trio.Nursery) -> None:
    agent = Agent()
    port = await serve(nursery, agent.app())
    ok = await get(port, "/healthz")
    assert (ok.status, ok.body) == (200, b"ok\n")
    agent.alive = False
    assert (await get(port, "/healthz")).status == 503


async def test_status_is_the_json_document(nursery: trio.Nursery) -> None:
    agent = Agent()
    port = await serve(nursery, agent.app())
    reply = await get(port, "/status?pretty=1")
    assert reply.status == 200
    assert reply.headers["content-type"] == "application/json"
    document = json.loads(reply.body)
    assert document == json.loads(
        json.dumps(build_status(agent.instances, 7.0, WALL_OFFSET, counters=agent.metrics.counters))
    )
    assert [i["state"] for i in document["instances"]] == ["stop", "master"]


async def test_head_has_headers_without_a_body(nursery: trio.Nursery) -> None:
    port = await serve(nursery, Agent().app())
    reply = await get(port, "/healthz", method="HEAD")
    assert reply.status == 200
    assert reply.headers["content-length"] == "3"
    assert reply.body == b""


async def test_unknown_paths_and_methods_are_refused(nursery: trio.Nursery) -> None:
    port = await serve(nursery, Agent().app())
    assert (await get(port, "/")).status == 404
    assert (await get(port, "/metrics/../etc/passwd")).status == 404
    refused = await get(port, "/metrics", method="POST")
    assert refused.status == 405
    assert refused.headers["allow"] == "GET, HEAD"


async def test_garbage_and_oversized_requests_get_an_error(nursery: trio.Nursery) -> None:
    port = await serve(nursery, Agent().app(max_request_bytes=1024))
    assert parse_reply(await exchange(port, b"\x16\x03\x01garbage\r\n\r\n")).status == 400
    assert parse_reply(await exchange(port, b"GET / SPDY/3\r\n\r\n")).status == 400
    assert parse_reply(await exchange(port, b"GET / HTTP/2.0\r\nHost: x\r\n\r\n")).status == 505
    no_host = b"GET /healthz HTTP/1.1\r\n\r\n"  # HTTP/1.1 requires Host (RFC 9112 3.2)
    assert parse_reply(await exchange(port, no_host)).status == 400
    smuggled = b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"
    assert parse_reply(await exchange(port, smuggled)).status == 400
    huge = b"GET /metrics HTTP/1.1\r\nX-Padding: " + b"a" * 4096 + b"\r\n\r\n"
    assert parse_reply(await exchange(port, huge)).status == 431


async def test_a_bare_lf_is_refused_at_once_without_waiting_for_the_head_to_end(
    nursery: trio.Nursery,
) -> None:
    """The deadline is far beyond the test's: the 400 must come from the LF, not the timer."""
    port = await serve(nursery, Agent().app(request_deadline=3600.0))
    with trio.fail_after(TEST_DEADLINE):
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        async with stream:
            await stream.send_all(b"GET /healthz HTTP/1.1\nHost: x\n")  # no end of head
            received = bytearray()
            while b"\r\n\r\n" not in received:
                received += await stream.receive_some(4096)
    assert received.startswith(b"HTTP/1.1 400 ")


async def test_a_lf_split_from_its_cr_across_reads_is_not_bare(nursery: trio.Nursery) -> None:
    port = await serve(nursery, Agent().app())
    with trio.fail_after(TEST_DEADLINE):
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        async with stream:
            await stream.send_all(b"GET /healthz HTTP/1.1\r")
            await trio.sleep(0.05)  # let the server read the CR on its own
            await stream.send_all(b"\nHost: x\r\n\r\n")
            received = bytearray()
            while chunk := await stream.receive_some(4096):
                received += chunk
    assert parse_reply(bytes(received)).status == 200


async def test_a_failing_status_builder_is_a_500_not_a_crash(nursery: trio.Nursery) -> None:
    agent = Agent()

    def broken() -> dict[str, object]:
        raise RuntimeError("bug")

    app = HttpApp(metrics=agent.metrics.scrape, status=lambda: broken, alive=lambda: True)
    port = await serve(nursery, app)
    assert (await get(port, "/status")).status == 500
    assert (await get(port, "/healthz")).status == 200


# --- hostile clients ----------------------------------------------------------------------------


async def test_slowloris_does_not_block_a_concurrent_healthz(nursery: trio.Nursery) -> None:
    port = await serve(nursery, Agent().app(request_deadline=2.0))
    events: list[str] = []
    closed_by_server = trio.Event()

    async def slowloris() -> None:
        sock = trio.socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        with sock:
            await sock.connect(("127.0.0.1", port))
            try:
                for byte in b"GET /metrics HTTP/1.1\r\nX-Never-Ending: " + b"a" * 1000:
                    await sock.send(bytes([byte]))
                    await trio.sleep(0.01)
                # headers never end; wait for the server to give up on us
                while await sock.recv(1024):
                    pass
            except OSError:
                pass
            events.append("slowloris closed by the server")
            closed_by_server.set()

    nursery.start_soon(slowloris)
    await trio.sleep(0.1)  # the slow client is connected and dripping bytes
    reply = await get(port, "/healthz")
    events.append(f"healthz {reply.status}")
    with trio.fail_after(TEST_DEADLINE):
        await closed_by_server.wait()
    assert events == ["healthz 200", "slowloris closed by the server"]


async def test_excess_connections_are_closed_and_others_served_after(
    nursery: trio.Nursery,
) -> None:
    port = await serve(nursery, Agent().app(max_connections=2, request_deadline=5.0))
    idle = [await trio.open_tcp_stream("127.0.0.1", port) for _ in range(2)]
    await trio.testing.wait_all_tasks_blocked()
    refused = await exchange(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert refused == b""  # closed without an answer: both slots are taken
    for stream in idle:
        await stream.aclose()
    await trio.testing.wait_all_tasks_blocked()
    assert (await get(port, "/healthz")).status == 200


async def test_clients_vanishing_mid_request_do_not_disturb_the_server(
    nursery: trio.Nursery,
) -> None:
    port = await serve(nursery, Agent().app())
    for _ in range(5):
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        await stream.send_all(b"GET /metr")
        await stream.aclose()
    assert (await get(port, "/healthz")).status == 200


# --- listening ----------------------------------------------------------------------------------


def ipv6_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


async def test_the_default_any_address_is_reachable_over_ipv4(nursery: trio.Nursery) -> None:
    port = await serve(nursery, Agent().app(), listen="[::]:0")
    assert (await get(port, "/healthz", host="127.0.0.1")).status == 200
    if ipv6_available():
        assert (await get(port, "/healthz", host="::1")).status == 200


@pytest.mark.parametrize(
    ("listen", "expected"),
    [
        ("[::]:10112", ("::", 10112)),
        ("0.0.0.0:10112", ("0.0.0.0", 10112)),
        (":10112", ("", 10112)),
        ("[2001:db8::1]:80", ("2001:db8::1", 80)),
        ("localhost:0", ("localhost", 0)),
    ],
)
def test_listen_addresses_are_parsed(listen: str, expected: tuple[str, int]) -> None:
    assert parse_listen(listen) == expected


@pytest.mark.parametrize("listen", ["10112", "::1:10112", "host:port", "host:70000", "[::1]"])
def test_malformed_listen_addresses_are_refused(listen: str) -> None:
    with pytest.raises(ValueError):
        parse_listen(listen)


# --- rendering off the event loop ---------------------------------------------------------------


async def test_thread_safe_clock_reads_trio_time_from_any_thread() -> None:
    clock = thread_safe_trio_clock()
    before = trio.current_time()
    in_worker = await trio.to_thread.run_sync(clock)
    after = trio.current_time()
    assert before <= in_worker <= after


async def test_metrics_rendered_in_a_worker_thread_see_the_agent_clock(
    nursery: trio.Nursery,
) -> None:
    metrics = MetricsObserver(thread_safe_trio_clock(), process_metrics=False)
    v1, v6 = two_instances()
    metrics.observe(Started([v1, v6], WALL_OFFSET))
    v1.peers[V1_MASTER] = (200, trio.current_time())  # heard just now
    v6.peers[V6_HIGHER] = (200, trio.current_time() - 60)  # silent for a minute
    app = HttpApp(metrics=metrics.scrape, status=lambda: dict, alive=lambda: True)
    port = await serve(nursery, app)
    body = (await get(port, "/metrics")).body.decode()
    assert 'havip_vrrp_peers{vrrp_instance="VI_1"} 1.0' in body
    assert 'havip_vrrp_peers{vrrp_instance="VI_6"} 0.0' in body


async def test_the_status_document_is_built_off_the_loop(nursery: trio.Nursery) -> None:
    """The loop only captures the builder; building (67 ms at 1,000 instances) is threaded."""
    metrics = MetricsObserver(thread_safe_trio_clock(), process_metrics=False)
    built_in: list[threading.Thread] = []

    def build() -> dict[str, object]:
        built_in.append(threading.current_thread())
        return {"instances": []}

    app = HttpApp(metrics=metrics.scrape, status=lambda: build, alive=lambda: True)
    port = await serve(nursery, app)
    assert (await get(port, "/status")).status == 200
    assert built_in and built_in[0] is not threading.main_thread()
