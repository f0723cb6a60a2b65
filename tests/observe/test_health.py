"""Liveness that a flood of clients cannot starve (kubelet restarts havip when it fails, and
every restart is a priority-0 handoff: the VIPs flap).

The mechanism: /healthz has a listener of its own on the loopback address, with its own
connection slots and no auth, and the metrics listener caps connections per client address.
The flood test holds 500 connections to the metrics port from a separate process and probes
/healthz the way kubelet does (a fresh connection, a 1 s timeout).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from havip.observe.http import HealthApp, serve_health, serve_http

from .test_http import Agent, get, parse_reply

REPO = Path(__file__).resolve().parents[2]
HELD = 500
PROBES = 200
KUBELET_TIMEOUT = 1.0
"""kubelet's default probe timeoutSeconds."""
REQUIRED_SUCCESS = 0.99


async def test_the_health_listener_serves_healthz_alone(nursery: trio.Nursery) -> None:
    agent = Agent()
    port = await nursery.start(serve_health, "127.0.0.1:0", HealthApp(lambda: agent.alive))
    assert (await get(port, "/healthz")).status == 200
    assert (await get(port, "/metrics")).status == 404
    assert (await get(port, "/status")).status == 404
    agent.alive = False
    assert (await get(port, "/healthz")).status == 503


async def probe(port: int, host: str = "127.0.0.1") -> bool:
    """One kubelet-style probe: True for a 200 within KUBELET_TIMEOUT."""
    with trio.move_on_after(KUBELET_TIMEOUT):
        try:
            stream = await trio.open_tcp_stream(host, port)
            async with stream:
                await stream.send_all(b"GET /healthz HTTP/1.1\r\nHost: probe\r\n\r\n")
                received = bytearray()
                while chunk := await stream.receive_some(4096):
                    received += chunk
            return parse_reply(bytes(received)).status == 200
        except (OSError, trio.BrokenResourceError, ValueError, IndexError, KeyError):
            return False
    return False


@pytest.fixture
def flood_of() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        process.kill()
        process.wait()


async def start_flood(started: list[subprocess.Popen[str]], port: int) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.observe.flood", str(port), str(HELD)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    started.append(process)
    assert process.stdout is not None
    line = await trio.to_thread.run_sync(process.stdout.readline)
    assert line == "flooding\n", f"the flood client did not start: {line!r}"


async def test_healthz_answers_while_500_connections_are_held_on_the_metrics_port(
    nursery: trio.Nursery, flood_of: list[subprocess.Popen[str]]
) -> None:
    agent = Agent()
    metrics_port = await nursery.start(serve_http, "127.0.0.1:0", agent.app())
    health_port = await nursery.start(serve_health, "127.0.0.1:0", HealthApp(lambda: True))
    await start_flood(flood_of, metrics_port)
    health_ok = metrics_ok = 0
    for _ in range(PROBES):
        health_ok += await probe(health_port)
        metrics_ok += await probe(metrics_port)
    print(
        f"/healthz under {HELD} held connections: health listener {health_ok}/{PROBES}, "
        f"metrics listener (same client address as the flood) {metrics_ok}/{PROBES}"
    )
    assert health_ok >= REQUIRED_SUCCESS * PROBES, f"{health_ok}/{PROBES} probes answered"


async def test_a_flood_from_one_address_leaves_slots_for_prometheus_on_another(
    nursery: trio.Nursery, flood_of: list[subprocess.Popen[str]]
) -> None:
    """The per-client cap: 127.0.0.2 is another loopback address, i.e. another client."""
    metrics_port = await nursery.start(serve_http, "[::]:0", Agent().app())
    await start_flood(flood_of, metrics_port)
    answered = 0
    for _ in range(20):
        with trio.move_on_after(5.0):
            stream = await trio.open_tcp_stream(
                "127.0.0.1", metrics_port, local_address="127.0.0.2"
            )
            async with stream:
                await stream.send_all(b"GET /metrics HTTP/1.1\r\nHost: prometheus\r\n\r\n")
                received = bytearray()
                while chunk := await stream.receive_some(65536):
                    received += chunk
            answered += parse_reply(bytes(received)).status == 200
    assert answered == 20
