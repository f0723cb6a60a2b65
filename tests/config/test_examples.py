"""keepalived's own documented samples (doc/samples, copied in examples/) read as intended."""

from __future__ import annotations

from pathlib import Path

import pytest

from havip.config import Authentication, ConfigError, LoadedConfig, TrackedScript, load_config

EXAMPLES = Path(__file__).parent / "examples"


def _load(name: str) -> LoadedConfig:
    return load_config(EXAMPLES / name)


def test_every_example_names_its_origin_on_the_first_line() -> None:
    for path in EXAMPLES.iterdir():
        assert path.read_text().startswith("! Source: acassen/keepalived doc/samples/")


@pytest.mark.parametrize(
    ("name", "instances"),
    [
        ("keepalived.conf.vrrp", ["VI_1", "VI_2", "VI_3", "VI_4"]),
        ("keepalived.conf.vrrp.localcheck", [f"VI_{n}" for n in range(1, 10)]),
        ("keepalived.conf.vrrp.sync", [f"VI_{n}" for n in range(1, 10)]),
        ("keepalived.conf.vrrp.scripts", ["VI_1", "VI_2", "VI_3"]),
        ("keepalived.conf.sample", ["VI_1"]),
        ("keepalived.conf.track_interface", ["VI_1"]),
    ],
)
def test_sample_loads_with_its_instances(name: str, instances: list[str]) -> None:
    config = _load(name)
    assert [i.name for i in config.instances] == instances
    assert config.files == (str(EXAMPLES / name),)


def test_vrrp_sample_values() -> None:
    config = _load("keepalived.conf.vrrp")
    vi1 = config.instances[0]
    assert config.global_defs.router_id == "LVS_DEVEL"
    assert (vi1.initial_state, vi1.interface, vi1.vrid, vi1.priority) == ("MASTER", "eth0", 51, 100)
    assert vi1.garp_master_delay == 10.0
    assert vi1.authentication == Authentication("PASS", b"1111")
    assert [str(v.interface) for v in vi1.vips] == [
        "192.168.200.16/32",
        "192.168.200.17/32",
        "192.168.200.18/32",
    ]
    warnings = [(w.location.line, w.message) for w in config.warnings]
    assert (34, "192.168.200.18/32 is listed twice; the first one is used") in warnings
    skipped = {line for line, message in warnings if message.startswith("skipping")}
    assert skipped == {5, 8, 9, 10, 19, 40, 54, 71}


def test_lvs_part_of_the_generic_sample_is_one_warning() -> None:
    config = _load("keepalived.conf.sample")
    lvs = [w for w in config.warnings if "LVS" in w.message]
    assert [(w.location.line, w.message) for w in lvs] == [
        (27, "skipping virtual_server (top level): LVS/IPVS configuration is not VRRP")
    ]
    assert config.instances[0].nopreempt is True


def test_localcheck_sample_tracks_scripts_with_and_without_weights() -> None:
    config = _load("keepalived.conf.vrrp.localcheck")
    vi1 = config.instances[0]
    assert vi1.track_scripts[:2] == (
        TrackedScript("chk_sshd", None),
        TrackedScript("chk_haproxy", 2),
    )
    assert [(t.name, t.weight) for t in vi1.track_interfaces] == [
        ("eth1", 2),
        ("eth2", -2),
        ("eth3", 0),
    ]
    sshd = config.scripts["chk_sshd"]
    assert (sshd.script, sshd.interval, sshd.weight, sshd.fall, sshd.rise) == (
        "killall -0 sshd",
        2.0,
        -4,
        2,
        2,
    )
    assert config.scripts["chk_http_port"].script == "</dev/tcp/127.0.0.1/80"
    assert config.warnings == ()


def test_sync_samples_group_instances() -> None:
    sync = _load("keepalived.conf.vrrp.sync")
    assert [(g.name, g.members) for g in sync.sync_groups] == [
        ("G1", ("VI_1", "VI_2", "VI_5", "VI_6", "VI_7", "VI_8", "VI_9")),
        ("G2", ("VI_3", "VI_4")),
    ]
    scripts = _load("keepalived.conf.vrrp.scripts")
    assert scripts.sync_groups[0].notify_master == "/usr/local/bin/vrrp.mast arg1 arg2"
    assert scripts.instances[0].notify_fault == "/usr/local/bin/vrrp.sh  FAULT  VI_1"


def test_the_track_interface_sample_reads_its_virtual_routes_and_skips_static_ones() -> None:
    config = _load("keepalived.conf.track_interface")
    assert [w.location.line for w in config.warnings] == [8]  # static_routes
    vi1 = config.instances[0]
    assert [v.device for v in vi1.vips] == [None, "eth1", "eth2"]
    assert [str(route) for route in vi1.virtual_routes] == [
        "192.168.110.0/24 via 192.168.200.254 dev eth1",
        "192.168.111.0/24 dev eth2",
        "192.168.112.0/24 via 192.168.100.254",
    ]


def test_the_routes_sample_is_refused_for_its_multipath_route_only() -> None:
    """keepalived reads `via A or B` as a multipath route (and says it is deprecated)."""
    with pytest.raises(ConfigError) as raised:
        _load("keepalived.conf.vrrp.routes")
    assert [(d.location.line, d.message) for d in raised.value.diagnostics] == [
        (31, "virtual route: 'or' (multipath routes) is not implemented by havip"),
    ]


def test_lvs_syncd_sample_is_rejected_for_its_sync_group_without_group_block() -> None:
    """keepalived itself logs "Unknown keyword 'VI_2'" for this sample's sync group."""
    with pytest.raises(ConfigError) as raised:
        _load("keepalived.conf.vrrp.lvs_syncd")
    assert [(d.location.line, d.message) for d in raised.value.diagnostics] == [
        (4, "vrrp_sync_group VG1: expected a 'group { INSTANCE ... }' block naming its instances"),
        (5, "unknown keyword 'VI_2' in vrrp_sync_group VG1"),
        (6, "unknown keyword 'VI_3' in vrrp_sync_group VG1"),
    ]
    assert [w.location.line for w in raised.value.warnings] == [12, 51]
