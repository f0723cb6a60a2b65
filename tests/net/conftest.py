"""Two routers on one lab bridge, and a receiver script on r1 hearing a sender script on r2."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from havip.lab.netns import Lab, netns_unavailable_reason

UNAVAILABLE = netns_unavailable_reason()


@pytest.fixture
def lab() -> Iterator[Lab]:
    """r1 (192.0.2.1) and r2 (192.0.2.2) on the lab's bridge."""
    if UNAVAILABLE is not None:
        pytest.skip(f"this machine cannot run namespace labs: {UNAVAILABLE}")
    with Lab() as built:
        built.add_host("r1", "192.0.2.1/24")
        built.add_host("r2", "192.0.2.2/24")
        yield built


def exchange(lab: Lab, receiver: str, sender: str) -> dict[str, Any]:
    """Start `receiver` on r1 (it prints "ready", then one JSON line), run `sender` on r2,
    and return what the receiver printed."""
    process = lab.hosts["r1"].popen(
        [sys.executable, "-c", receiver], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    lab.hosts["r2"].exec(sys.executable, "-c", sender)
    out, _ = process.communicate(timeout=15)
    return json.loads(out)  # type: ignore[no-any-return]
