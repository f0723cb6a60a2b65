"""keepalived.conf text for lab routers: the same file drives havip and keepalived.

Generated rather than templated by hand so that tests, benchmarks and `havip lab` describe
routers the same way, and so that every option here is one an operator would write.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RouterSpec:
    """One VRRP instance of one lab router, as keepalived.conf would say it."""

    priority: int
    vips: Sequence[str] = ("192.0.2.100/24",)
    instance: str = "VI_1"
    vrid: int = 51
    version: int = 2
    advert_int: float = 1.0
    interface: str = "eth0"
    password: str | None = None
    state: str = "BACKUP"
    nopreempt: bool = False
    preempt_delay: float = 0.0
    unicast_src_ip: str | None = None
    unicast_peers: Sequence[str] = ()
    garp_master_delay: float = 0.0
    extra: Sequence[str] = field(default_factory=tuple)
    global_extra: Sequence[str] = field(default_factory=tuple)


def _number(value: float) -> str:
    return f"{value:g}"


def keepalived_conf(
    spec: RouterSpec,
    *more: RouterSpec,
    router_id: str = "lab",
    before: Sequence[str] = (),
    after: Sequence[str] = (),
) -> str:
    """A complete keepalived.conf: global_defs (with `spec`'s global_extra), the `before`
    blocks, one vrrp_instance per spec, then the `after` blocks.

    `vrrp_script` blocks belong in `before`: keepalived resolves a `track_script` name when it
    reads the instance, so a script defined further down is "not found, ignoring..." there.
    """
    head = [
        "global_defs {",
        f"    router_id {router_id}",
        "    vrrp_garp_master_repeat 1",
        *(f"    {line}" for line in spec.global_extra),
        "}",
    ]
    parts = ["\n".join(head), *before, *(_instance_block(s) for s in (spec, *more)), *after]
    return "\n\n".join(part.rstrip("\n") for part in parts) + "\n"


def _instance_block(spec: RouterSpec) -> str:
    lines = [
        f"vrrp_instance {spec.instance} {{",
        f"    state {spec.state}",
        f"    interface {spec.interface}",
        f"    virtual_router_id {spec.vrid}",
        f"    priority {spec.priority}",
        f"    advert_int {_number(spec.advert_int)}",
        f"    version {spec.version}",
        f"    garp_master_delay {_number(spec.garp_master_delay)}",
    ]
    if spec.nopreempt:
        lines.append("    nopreempt")
    if spec.preempt_delay:
        lines.append(f"    preempt_delay {_number(spec.preempt_delay)}")
    if spec.password is not None:
        lines += [
            "    authentication {",
            "        auth_type PASS",
            f"        auth_pass {spec.password}",
            "    }",
        ]
    if spec.unicast_src_ip:
        lines.append(f"    unicast_src_ip {spec.unicast_src_ip}")
    if spec.unicast_peers:
        lines.append("    unicast_peer {")
        lines += [f"        {peer}" for peer in spec.unicast_peers]
        lines.append("    }")
    lines.append("    virtual_ipaddress {")
    lines += [f"        {vip}" for vip in spec.vips]
    lines.append("    }")
    lines += [f"    {line}" for line in spec.extra]
    lines.append("}")
    return "\n".join(lines)


def _prometheus_duration(seconds: float) -> str:
    """Prometheus durations take integer counts of one unit: 1s, 500ms."""
    if seconds == int(seconds):
        return f"{int(seconds)}s"
    return f"{round(seconds * 1000)}ms"


def prometheus_config(
    targets: Sequence[str],
    rule_files: Sequence[str] = (),
    job: str = "havip-lab",
    interval: float = 1.0,
) -> str:
    """A prometheus.yml scraping `targets` (HOST:PORT) every `interval` and loading the rules.

    Written as JSON, which YAML parsers accept, so no address or path needs YAML quoting.
    The job name contains "havip" because the shipped scrape alerts select jobs by that.
    """
    period = _prometheus_duration(interval)
    config = {
        "global": {"scrape_interval": period, "evaluation_interval": period},
        "rule_files": list(rule_files),
        "scrape_configs": [{"job_name": job, "static_configs": [{"targets": list(targets)}]}],
    }
    return json.dumps(config, indent=2) + "\n"
