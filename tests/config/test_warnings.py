"""What keepalived accepts but havip skips or adjusts: warnings that name it, never errors."""

from __future__ import annotations

from collections.abc import Callable

from havip.config import LoadedConfig

Load = Callable[[str], LoadedConfig]


def _warnings(config: LoadedConfig) -> list[tuple[int, str]]:
    return [(w.location.line, w.message) for w in config.warnings]


def _instance(body: str, version: str = "") -> str:
    return (
        "vrrp_instance VI_1 {\n"
        "    interface eth0\n"
        "    virtual_router_id 51\n"
        f"{version}"
        f"{body}\n"
        "}\n"
    )


VIPS = "    virtual_ipaddress {\n        192.0.2.10\n    }"


def test_an_lvs_section_is_skipped_with_one_warning(load_text: Load) -> None:
    config = load_text(
        "virtual_server 192.0.2.100 80 {\n"
        "    lb_algo rr\n"
        "    real_server 192.0.2.101 80 {\n"
        "        TCP_CHECK {\n"
        "            connect_timeout 3\n"
        "        }\n"
        "    }\n"
        "}\n"
        "bfd_instance b1 {\n    neighbor_ip 192.0.2.9\n}\n"
        "static_ipaddress {\n    192.0.2.200/24 dev eth0\n}\n"
    )
    assert _warnings(config) == [
        (1, "skipping virtual_server (top level): LVS/IPVS configuration is not VRRP"),
        (9, "skipping bfd_instance (top level): BFD configuration is not VRRP"),
        (
            12,
            "skipping static_ipaddress (top level): static addresses, routes and rules are not "
            "managed by havip",
        ),
    ]


def test_a_keepalived_keyword_havip_lacks_warns_by_name(load_text: Load) -> None:
    config = load_text(
        _instance(f"    kernel_rx_buf_size 4096\n    track_bfd {{\n        b1\n    }}\n{VIPS}")
    )
    reason = "havip does not implement this keepalived keyword"
    assert _warnings(config) == [
        (4, f"skipping kernel_rx_buf_size (vrrp_instance VI_1): {reason}"),
        (5, f"skipping track_bfd (vrrp_instance VI_1): {reason}"),
    ]
    assert len(config.instances) == 1


def test_smtp_settings_in_global_defs_warn(load_text: Load) -> None:
    config = load_text("global_defs {\n    notification_email {\n        a@example.org\n    }\n}\n")
    assert [line for line, _ in _warnings(config)] == [2]
    assert "notification_email" in _warnings(config)[0][1]


def test_authentication_under_version_3_is_ignored(load_text: Load) -> None:
    config = load_text(
        _instance(
            f"    authentication {{\n        auth_type PASS\n        auth_pass x\n    }}\n{VIPS}",
            "    version 3\n",
        )
    )
    assert config.instances[0].authentication is None
    assert _warnings(config) == [(5, "(VI_1) VRRP version 3 has no authentication; ignored")]


def test_long_auth_pass_is_truncated_to_8_bytes(load_text: Load) -> None:
    config = load_text(
        _instance(f"    authentication {{\n auth_type PASS\n auth_pass 123456789ab\n}}\n{VIPS}")
    )
    authentication = config.instances[0].authentication
    assert authentication is not None and authentication.password == b"12345678"
    assert _warnings(config) == [
        (6, "(VI_1) auth_pass is longer than 8 bytes; only the first 8 are used (as keepalived)")
    ]


def test_version_2_with_ipv6_becomes_version_3(load_text: Load) -> None:
    config = load_text(
        _instance("    virtual_ipaddress {\n        2001:db8::10\n    }", "    version 2\n")
    )
    assert config.instances[0].version == 3
    assert _warnings(config) == [
        (4, "(VI_1) IPv6 needs VRRP version 3 (RFC 5798); using version 3, not 2")
    ]


def test_unknown_version_value_is_ignored(load_text: Load) -> None:
    config = load_text(_instance(VIPS, "    version 4\n"))
    assert config.instances[0].version == 2
    assert _warnings(config) == [(4, "version must be 2 or 3, got '4'; ignored (as keepalived)")]


def test_nopreempt_with_state_master_is_cleared(load_text: Load) -> None:
    config = load_text(_instance(f"    state MASTER\n    nopreempt\n{VIPS}"))
    assert config.instances[0].nopreempt is False
    assert _warnings(config) == [(5, "(VI_1) nopreempt does not work with state MASTER; cleared")]


def test_preempt_delay_with_nopreempt_is_cleared(load_text: Load) -> None:
    config = load_text(_instance(f"    nopreempt\n    preempt_delay 30\n{VIPS}"))
    vi = config.instances[0]
    assert (vi.nopreempt, vi.preempt_delay) == (True, 0.0)
    assert _warnings(config) == [(5, "(VI_1) preempt_delay does not work with nopreempt; cleared")]


def test_a_repeated_keyword_warns_and_the_last_wins(load_text: Load) -> None:
    config = load_text(_instance(f"    priority 50\n    priority 150\n{VIPS}"))
    assert config.instances[0].priority == 150
    assert _warnings(config) == [
        (
            5,
            "priority is given again in vrrp_instance VI_1 (first at line 4); "
            "this later one is used",
        )
    ]


def test_sync_group_member_weights_are_zeroed(load_text: Load) -> None:
    config = load_text(
        'vrrp_script chk {\n    script "true"\n    weight 10\n}\n'
        "vrrp_sync_group G {\n    group {\n        VI_1\n        VI_2\n    }\n}\n"
        + _instance(f"    track_script {{\n        chk\n    }}\n{VIPS}")
        + "vrrp_instance VI_2 {\n interface eth0\n virtual_router_id 52\n"
        " virtual_ipaddress {\n  192.0.2.20\n }\n}\n"
    )
    vi1 = config.instances[0]
    assert [(t.name, t.weight) for t in vi1.track_scripts] == [("chk", 0)]
    assert _warnings(config) == [
        (
            11,
            "(VI_1) track_script weights of chk are set to 0 because it is in vrrp_sync_group G "
            "(as keepalived does; use weight 0 to silence this)",
        )
    ]


def test_unimplemented_address_option_warns(load_text: Load) -> None:
    config = load_text(_instance("    virtual_ipaddress {\n 192.0.2.10 no_track\n    }"))
    assert _warnings(config) == [
        (5, "virtual address option 'no_track' is not implemented by havip; ignored")
    ]


def test_keepalived_2_3_keywords_havip_lacks_warn_by_name(load_text: Load) -> None:
    config = load_text("global_defs {\n    json_version 2\n    vrrp_delay_after_boot 30\n}\n")
    reason = "havip does not implement this keepalived keyword"
    assert _warnings(config) == [(2, f"skipping json_version (global_defs): {reason}")]
    assert config.global_defs.delay_after_boot == 30.0
