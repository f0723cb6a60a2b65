"""What a valid configuration means: defaults, inheritance, families, and value equality."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_interface

from havip.config import Authentication, LoadedConfig, TrackedInterface, TrackedScript
from havip.config.model import NotifyFifoConfig, TrackedProcess

Load = Callable[[str], LoadedConfig]

MINIMAL = """
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        192.0.2.10
    }
}
"""


def _instance(body: str, head: str = "") -> str:
    return (
        f"{head}\nvrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n{body}\n}}\n"
    )


def test_defaults_are_keepalived_defaults(load_text: Load) -> None:
    config = load_text(MINIMAL)
    [vi] = config.instances
    assert (vi.priority, vi.advert_int, vi.version, vi.family) == (100, 1.0, 2, 4)
    assert (vi.garp_master_delay, vi.garp_master_repeat) == (5.0, 5)
    assert (vi.garp_master_refresh, vi.garp_master_refresh_repeat) == (0.0, 1)
    assert vi.initial_state is None and vi.authentication is None
    assert (vi.nopreempt, vi.preempt_delay, vi.accept, vi.strict_mode) == (False, 0.0, True, False)
    assert config.global_defs.mcast_group4 == IPv4Address("224.0.0.18")
    assert config.global_defs.mcast_group6 == IPv6Address("ff02::12")
    assert config.global_defs.v3_checksum_mode == "pseudo_header"
    assert config.warnings == ()


def test_vip_without_prefix_is_a_host_address(load_text: Load) -> None:
    v4 = load_text(_instance("virtual_ipaddress {\n 192.0.2.10\n 192.0.2.11/24\n}"))
    v6 = load_text(_instance("virtual_ipaddress {\n 2001:db8::10\n}"))
    assert [str(v.interface) for v in v4.instances[0].vips] == ["192.0.2.10/32", "192.0.2.11/24"]
    assert [str(v.interface) for v in v6.instances[0].vips] == ["2001:db8::10/128"]


def test_vip_options_are_kept(load_text: Load) -> None:
    config = load_text(
        _instance("virtual_ipaddress {\n 192.0.2.10/24 dev eth1 scope link label eth1:vip brd +\n}")
    )
    [vip] = config.instances[0].vips
    assert (vip.device, vip.scope, vip.label) == ("eth1", "link", "eth1:vip")
    assert vip.broadcast == IPv4Address("192.0.2.255")


def test_ipv6_instance_runs_version_3_and_family_6(load_text: Load) -> None:
    [vi] = load_text(_instance("virtual_ipaddress {\n 2001:db8::10/64\n}")).instances
    assert (vi.family, vi.version) == (6, 3)


def test_excluded_vips_may_mix_families(load_text: Load) -> None:
    [vi] = load_text(
        _instance(
            "virtual_ipaddress {\n 192.0.2.10\n}\n"
            "virtual_ipaddress_excluded {\n 192.0.2.50\n 2001:db8::50\n}"
        )
    ).instances
    assert [v.interface.version for v in vi.excluded_vips] == [4, 6]
    assert vi.family == 4


def test_global_values_are_inherited_and_instances_override_them(load_text: Load) -> None:
    head = (
        "global_defs {\n vrrp_version 3\n vrrp_garp_master_delay 2\n vrrp_garp_master_repeat 3\n"
        " vrrp_garp_master_refresh 60\n vrrp_garp_master_refresh_repeat 2\n"
        " vrrp_skip_check_adv_addr\n}"
    )
    [vi] = load_text(
        _instance(
            "garp_master_repeat 1\nadvert_int 0.25\nvirtual_ipaddress {\n 192.0.2.10\n}", head
        )
    ).instances
    assert (vi.version, vi.advert_int) == (3, 0.25)
    assert (vi.garp_master_delay, vi.garp_master_repeat) == (2.0, 1)
    assert (vi.garp_master_refresh, vi.garp_master_refresh_repeat) == (60.0, 2)
    assert vi.skip_check_adv_addr is True


def test_vrrp_min_garp_sends_one_burst_unless_set(load_text: Load) -> None:
    plain = load_text(
        _instance("virtual_ipaddress {\n 192.0.2.10\n}", "global_defs {\n vrrp_min_garp\n}")
    )
    kept = load_text(
        _instance(
            "virtual_ipaddress {\n 192.0.2.10\n}",
            "global_defs {\n vrrp_min_garp\n vrrp_garp_master_repeat 4\n}",
        )
    )
    assert (plain.instances[0].garp_master_repeat, plain.instances[0].garp_master_delay) == (1, 0)
    assert (kept.instances[0].garp_master_repeat, kept.instances[0].garp_master_delay) == (4, 0)


def test_authentication_pass_under_version_2(load_text: Load) -> None:
    [vi] = load_text(
        _instance(
            "authentication {\n auth_type PASS\n auth_pass s3cret\n}\n"
            "virtual_ipaddress {\n 192.0.2.10\n}"
        )
    ).instances
    assert vi.authentication == Authentication("PASS", b"s3cret")


def test_unicast_and_source_addresses(load_text: Load) -> None:
    [vi] = load_text(
        _instance(
            "unicast_src_ip 192.0.2.1\nmcast_src_ip 192.0.2.1\n"
            "unicast_peer {\n 192.0.2.2\n 192.0.2.3\n}\nvirtual_ipaddress {\n 192.0.2.10\n}"
        )
    ).instances
    assert vi.unicast_src_ip == vi.mcast_src_ip == ip_address("192.0.2.1")
    assert vi.unicast_peers == (ip_address("192.0.2.2"), ip_address("192.0.2.3"))


def test_trackers_scripts_and_track_files(load_text: Load) -> None:
    config = load_text(
        "vrrp_script chk {\n script \"/usr/bin/check 'a b'\" arg\n interval 3\n timeout 2\n"
        " weight -10 reverse\n rise 2\n fall 4\n user nobody nogroup\n init_fail\n}\n"
        "track_file maint {\n file /run/maint\n weight -5\n init_file 3 overwrite\n}\n"
        + _instance(
            "track_interface {\n eth1 weight 5 reverse\n eth2\n}\n"
            "track_script {\n chk weight 20 noreverse\n}\ntrack_file {\n maint\n}\n"
            "virtual_ipaddress {\n 192.0.2.10\n}"
        )
    )
    [vi] = config.instances
    assert vi.track_interfaces == (TrackedInterface("eth1", 5, True), TrackedInterface("eth2", 0))
    assert vi.track_scripts == (TrackedScript("chk", 20, False),)
    assert [(t.name, t.weight) for t in vi.track_files] == [("maint", None)]
    script = config.scripts["chk"]
    assert shlex.split(script.script) == ["/usr/bin/check 'a b'", "arg"]
    assert (script.interval, script.timeout, script.weight, script.reverse) == (3, 2, -10, True)
    assert (script.rise, script.fall, script.user, script.group) == (2, 4, "nobody", "nogroup")
    assert script.init_fail is True
    track_file = config.track_files["maint"]
    assert (track_file.path, track_file.weight, track_file.init_file) == ("/run/maint", -5, 3)
    assert track_file.init_overwrite is True


def test_script_defaults(load_text: Load) -> None:
    script = load_text('vrrp_script chk {\n script "killall -0 sshd"\n}\n').scripts["chk"]
    assert script.script == "killall -0 sshd"
    assert (script.interval, script.timeout, script.weight, script.rise, script.fall) == (
        1.0,
        None,
        0,
        1,
        1,
    )


def test_sync_group_members_notify_and_trackers(load_text: Load) -> None:
    config = load_text(
        'vrrp_sync_group G1 {\n group { VI_1 VI_2 }\n notify_master "/bin/m G1"\n'
        " track_interface {\n eth9\n }\n}\n"
        + _instance("virtual_ipaddress {\n 192.0.2.10\n}")
        + "vrrp_instance VI_2 {\n interface eth0\n virtual_router_id 52\n"
        " virtual_ipaddress {\n 192.0.2.20\n }\n}\n"
    )
    [group] = config.sync_groups
    assert group.members == ("VI_1", "VI_2")
    assert group.notify_master == "/bin/m G1"
    assert group.track_interfaces == (TrackedInterface("eth9", 0),)


def test_checksum_mode_keyword(load_text: Load) -> None:
    config = load_text("global_defs {\n havip_vrrp_v3_checksum message_only\n}\n")
    assert config.global_defs.v3_checksum_mode == "message_only"


def test_location_is_not_part_of_equality(load_text: Load) -> None:
    first = load_text(MINIMAL)
    moved = load_text("\n\n# moved down\n" + MINIMAL)
    assert first.instances[0].location.line != moved.instances[0].location.line
    assert first.instances == moved.instances
    assert first == moved


def test_a_changed_value_makes_instances_differ(load_text: Load) -> None:
    first = load_text(MINIMAL)
    changed = load_text(MINIMAL.replace("192.0.2.10", "192.0.2.11"))
    assert first.instances[0] != changed.instances[0]
    assert first.instances[0].vips[0].interface == ip_interface("192.0.2.10/32")


def test_strict_mode_accepts_only_as_owner(load_text: Load) -> None:
    head = "global_defs {\n vrrp_strict\n}"
    [backup] = load_text(_instance("virtual_ipaddress {\n 192.0.2.10\n}", head)).instances
    [owner] = load_text(
        _instance("priority 255\nvirtual_ipaddress {\n 192.0.2.10\n}", head)
    ).instances
    assert (backup.strict_mode, backup.accept) == (True, False)
    assert owner.accept is True


def test_one_vrid_may_serve_both_families_on_an_interface(load_text: Load) -> None:
    config = load_text(
        MINIMAL + "vrrp_instance VI_6 {\n interface eth0\n virtual_router_id 51\n"
        " virtual_ipaddress {\n  2001:db8::10\n }\n}\n"
    )
    assert [(i.vrid, i.family) for i in config.instances] == [(51, 4), (51, 6)]


def test_one_vrid_may_serve_unicast_groups_with_disjoint_peers(load_text: Load) -> None:
    def unicast(name: str, peer: str) -> str:
        return (
            f"vrrp_instance {name} {{\n interface eth0\n virtual_router_id 9\n"
            f" unicast_peer {{\n  {peer}\n }}\n virtual_ipaddress {{\n  192.0.2.10\n }}\n}}\n"
        )

    config = load_text(unicast("A", "192.0.2.2") + unicast("B", "192.0.2.3"))
    assert [i.name for i in config.instances] == ["A", "B"]


def test_announcement_intervals_and_startup_delay_are_read(load_text: Load) -> None:
    head = (
        "global_defs {\n vrrp_garp_interval 0\n vrrp_gna_interval 0.001\n vrrp_startup_delay 2.5\n}"
    )
    loaded = load_text(_instance("virtual_ipaddress {\n 192.0.2.10\n}", head))
    defs = loaded.global_defs
    assert (defs.garp_interval, defs.gna_interval) == (0.0, 0.001)  # 0: keepalived's sample
    assert defs.startup_delay == 2.5
    assert not loaded.warnings  # applied, so not "not implemented"


def test_notify_priority_changes_instance_over_sync_group_over_global(load_text: Load) -> None:
    text = (
        "global_defs {\n vrrp_notify_priority_changes\n}\n"
        + _instance("virtual_ipaddress {\n 192.0.2.10\n}").replace("VI_1", "A")
        + _instance("virtual_ipaddress {\n 192.0.2.11\n}\nnotify_priority_changes on")
        .replace("VI_1", "B")
        .replace("virtual_router_id 51", "virtual_router_id 52")
        + _instance("virtual_ipaddress {\n 192.0.2.12\n}")
        .replace("VI_1", "C")
        .replace("virtual_router_id 51", "virtual_router_id 53")
        + "vrrp_sync_group G {\n group {\n  B\n  C\n }\n notify_priority_changes false\n}\n"
    )
    loaded = load_text(text)
    flags = {i.name: i.notify_priority_changes for i in loaded.instances}
    assert flags == {"A": True, "B": True, "C": False}
    assert not loaded.warnings


def test_notify_fifo_owner_and_fifo_script_are_read(load_text: Load) -> None:
    head = (
        "global_defs {\n notify_fifo /run/k.fifo nobody nogroup\n"
        ' notify_fifo_script "/usr/local/bin/reader --all" nobody\n'
        " vrrp_notify_fifo /run/v.fifo\n}"
    )
    loaded = load_text(_instance("virtual_ipaddress {\n 192.0.2.10\n}", head))
    defs = loaded.global_defs
    assert defs.notify_fifo == NotifyFifoConfig(
        "/run/k.fifo", "nobody", "nogroup", "/usr/local/bin/reader --all", "nobody", None
    )
    assert defs.vrrp_notify_fifo == NotifyFifoConfig("/run/v.fifo")
    assert not loaded.warnings


def test_a_fifo_script_without_its_fifo_is_ignored_with_a_warning(load_text: Load) -> None:
    head = 'global_defs {\n vrrp_notify_fifo_script "/usr/local/bin/reader"\n}'
    loaded = load_text(_instance("virtual_ipaddress {\n 192.0.2.10\n}", head))
    assert loaded.global_defs.vrrp_notify_fifo is None
    [warning] = loaded.warnings
    assert "vrrp_notify_fifo_script without vrrp_notify_fifo" in warning.message


TRACK_PROCESS = """
vrrp_track_process web {
    process /usr/sbin/nginx -g
    param_match partial
    weight -20 reverse
    quorum 2
    quorum_max 4
    delay 0.5
    fork_delay 1
}
vrrp_track_process sshd {
    process sshd
}
"""


def test_vrrp_track_process_is_read_with_keepalived_s_defaults(load_text: Load) -> None:
    body = "virtual_ipaddress {\n 192.0.2.10\n}\ntrack_process {\n web weight 10\n sshd\n}"
    loaded = load_text(TRACK_PROCESS + _instance(body))
    web, sshd = loaded.track_processes["web"], loaded.track_processes["sshd"]
    assert (web.process, web.params, web.param_match, web.full_command) == (
        "/usr/sbin/nginx", ("-g",), "partial", True
    )  # fmt: skip
    assert (web.weight, web.reverse, web.quorum, web.quorum_max) == (-20, True, 2, 4)
    assert (web.fork_delay, web.terminate_delay) == (1.0, 0.5)
    assert (sshd.full_command, sshd.weight, sshd.quorum, sshd.quorum_max) == (False, 0, 1, None)
    assert loaded.instances[0].track_processes == (
        TrackedProcess("web", 10, None),
        TrackedProcess("sshd", None, None),
    )
    assert not loaded.warnings


def test_quorum_max_0_alone_means_none_may_run(load_text: Load) -> None:
    text = "vrrp_track_process no_cron {\n process cron\n quorum_max 0\n}\n" + MINIMAL
    process = load_text(text).track_processes["no_cron"]
    assert (process.quorum, process.quorum_max) == (0, 0)


def test_a_long_process_name_without_full_command_warns(load_text: Load) -> None:
    text = "vrrp_track_process p {\n process a-very-long-daemon-name\n}\n" + MINIMAL
    [warning] = load_text(text).warnings
    assert "at most 15 bytes" in warning.message


def test_nftables_options_are_read(load_text: Load) -> None:
    head = "global_defs {\n nftables hv_fw\n nftables_priority -5\n nftables_counters\n}"
    loaded = load_text(_instance("virtual_ipaddress {\n 192.0.2.10\n}\nno_accept", head))
    defs = loaded.global_defs
    assert (defs.nftables, defs.nftables_priority, defs.nftables_counters) == ("hv_fw", -5, True)
    assert loaded.instances[0].accept is False
    assert not loaded.warnings
    assert load_text("global_defs {\n nftables\n}\n" + MINIMAL).global_defs.nftables == "keepalived"
