"""Run the real `Agent` over a `FakeNet`: a config written as keepalived.conf, real observers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import trio
import trio.testing

from havip.agent import Agent
from havip.config import load_config
from havip.observe.metrics import MetricsObserver
from havip.proto.model import Advertisement
from havip.proto.packet import decode

from ..e2e.metrics import metric_value
from .fakenet import FakeNet, Sent


@dataclass
class Running:
    agent: Agent
    net: FakeNet
    metrics: MetricsObserver
    config_path: Path

    def sample(self, name: str, **labels: str) -> float:
        """The value of one series as /metrics renders it (the test fails if it is missing)."""
        value = metric_value(self.metrics.render().decode(), name, labels)
        assert value == value, f"no series {name}{labels}"  # NaN: missing
        return value

    def rewrite(self, text: str) -> None:
        self.config_path.write_text(text)


def adverts(sent: list[Sent]) -> list[tuple[float, Advertisement]]:
    """The adverts an endpoint sent, decoded by the project's codec, with their times."""
    return [(s.at, decode(s.payload, source=s.source, destination=s.destination)) for s in sent]


@asynccontextmanager
async def running_agent(config_text: str, net: FakeNet, directory: Path) -> AsyncIterator[Running]:
    """The agent up on `net` (its start-up finished), stopped and awaited on exit."""
    path = directory / "keepalived.conf"
    path.write_text(config_text)
    metrics = MetricsObserver(trio.current_time, process_metrics=False)
    agent = Agent(
        load_config(path), metrics, reload_config=lambda: load_config(path), net=lambda: net
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(agent.run)
        try:
            yield Running(agent, net, metrics, path)
        finally:
            agent.request_stop()


@asynccontextmanager
async def settled_agent(
    clock: trio.testing.MockClock, config_text: str, directory: Path
) -> AsyncIterator[Running]:
    """The agent on a fake Net with one link, eth0, after 5 s alone on it: every instance
    of `config_text` has become master."""
    net = FakeNet(clock)
    net.add_link("eth0")
    async with running_agent(config_text, net, directory) as run:
        await trio.sleep(5.0)
        yield run
