"""/metrics benchmark: render time and series count at N instances, from the agent's own code.

The instances are built by the real supervisor from a generated keepalived.conf (as
bench/cpu.py lays them out), registered with the real MetricsObserver, and every scrape
renders the whole page after every instance's advert counter moved, as between two real
scrapes. Reported: the median and worst render time of the text format and of OpenMetrics
(what Prometheus asks for), the page size, and the series per instance.

    .venv/bin/python -m bench.scrape [--instances 1000] [--interfaces 4] [--scrapes 20]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench.cpu import many_instances_conf
from havip.config import load_config
from havip.observe.exposition import Format
from havip.observe.metrics import MetricsObserver
from havip.observer import Started
from havip.supervisor import Supervisor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--interfaces", type=int, default=4)
    parser.add_argument("--scrapes", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "keepalived.conf"
        path.write_text(many_instances_conf(args.instances, args.interfaces))
        config = load_config(path)
    supervisor = Supervisor(config)
    runtimes = supervisor.create_all()
    metrics = MetricsObserver(lambda: 0.0)
    metrics.observe(Started(runtimes, time.time()))
    formats: tuple[Format, ...] = ("text", "openmetrics")
    for fmt in formats:
        metrics.render(fmt)  # the first scrape formats every line once
        times = []
        for _ in range(args.scrapes):
            for runtime in runtimes:
                runtime.adverts_received += 1
            start = time.perf_counter()
            body = metrics.render(fmt)
            times.append(time.perf_counter() - start)
        series = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
        print(
            f"{fmt:12} {args.instances} instances: median {statistics.median(times) * 1000:.1f} ms,"
            f" worst {max(times) * 1000:.1f} ms over {args.scrapes} scrapes;"
            f" {series} series ({series / args.instances:.1f} per instance),"
            f" {len(body) / 1e6:.1f} MB"
        )


if __name__ == "__main__":
    main()
