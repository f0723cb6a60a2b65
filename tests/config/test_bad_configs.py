"""Each malformed file in bad/ is rejected with the right message at the right line."""

from __future__ import annotations

from pathlib import Path

import pytest

from havip.config import ConfigError, load_config

BAD = Path(__file__).parent / "bad"

CASES = [
    (
        "unknown_instance_keyword.conf",
        5,
        "unknown keyword 'priorty' in vrrp_instance VI_1 (did you mean 'priority'?)",
    ),
    (
        "unknown_global_keyword.conf",
        4,
        "unknown keyword 'vrrp_versoin' in global_defs (did you mean 'vrrp_version'?)",
    ),
    (
        "unknown_top_level.conf",
        2,
        "unknown keyword 'vrrp_instace' in top level (did you mean 'vrrp_instance'?)",
    ),
    (
        "vrid_out_of_range.conf",
        4,
        "virtual_router_id: expected a whole number from 1 to 255, got '256'",
    ),
    ("vrid_zero.conf", 4, "virtual_router_id: expected a whole number from 1 to 255, got '0'"),
    ("vrid_missing.conf", 2, "vrrp_instance VI_1: expected a 'virtual_router_id' line (1..255)"),
    ("interface_missing.conf", 2, "vrrp_instance VI_1: expected an 'interface' line"),
    ("priority_zero.conf", 5, "priority: expected a whole number from 1 to 255, got '0'"),
    ("priority_word.conf", 5, "priority: expected a whole number from 1 to 255, got 'high'"),
    ("duplicate_vrid.conf", 11, "virtual_router_id 51 is already used on eth0 for IPv4 by VI_1"),
    (
        "undefined_track_script.conf",
        12,
        "no vrrp_script named 'chk_hapxy' is defined (did you mean 'chk_haproxy'?)",
    ),
    ("undefined_track_file.conf", 9, "no track_file named 'maintenance' is defined"),
    ("v2_subsecond_interval.conf", 5, "advert_int 0.5: VRRPv2 advertises whole seconds"),
    ("v3_interval_too_long.conf", 6, "advert_int 41: VRRPv3 expects 0.01 to 40.95 seconds"),
    (
        "v3_interval_step.conf",
        8,
        "advert_int 0.015: VRRPv3 expects 0.01 to 40.95 seconds in steps of 0.01",
    ),
    (
        "advert_int_word.conf",
        5,
        "advert_int: expected a time in seconds from 0.01 to 255, got 'fast'",
    ),
    ("auth_without_password.conf", 5, "auth_type PASS needs an auth_pass"),
    ("auth_ah.conf", 6, "IPsec AH authentication is not implemented by havip"),
    ("auth_hmac.conf", 6, "auth_hmac: keepalived 2.4's HMAC-signed adverts are not implemented"),
    (
        "auth_unknown_type.conf",
        6,
        "auth_type: expected PASS, got 'PASSWORD' (did you mean 'PASS'?)",
    ),
    ("sync_group_unknown_instance.conf", 5, "vrrp_sync_group G1: no vrrp_instance named 'VI_3'"),
    ("sync_group_without_group.conf", 2, "expected a 'group { INSTANCE ... }' block"),
    ("instance_in_two_groups.conf", 10, "VI_2 is already in vrrp_sync_group G1"),
    (
        "mixed_family_vips.conf",
        7,
        "2001:db8::10/64 is IPv6 but the first virtual address (line 6) is IPv4",
    ),
    ("bad_vip.conf", 6, "'192.0.2.300' is not an IP address"),
    ("vip_prefix_too_long.conf", 6, "the prefix after '/' must be a number from 0 to 32 for IPv4"),
    (
        "two_vips_one_line.conf",
        5,
        "'192.0.2.11' after 192.0.2.10: write one virtual address per line",
    ),
    (
        "vip_unknown_option.conf",
        6,
        "unknown option 'devv' for virtual address 192.0.2.10/24 (did you mean 'dev'?)",
    ),
    ("state_lowercase.conf", 3, "state: expected MASTER or BACKUP (upper case), got 'master'"),
    ("unclosed_block.conf", 2, "the block of 'vrrp_instance' opened here is never closed"),
    ("stray_close_brace.conf", 9, "unexpected '}': no block is open here"),
    ("unterminated_quote.conf", 8, 'unterminated " quote'),
    ("duplicate_instance_name.conf", 9, "vrrp_instance VI_1 is already defined at"),
    ("duplicate_script_name.conf", 5, "vrrp_script chk is already defined at"),
    (
        "unicast_peer_wrong_family.conf",
        8,
        "unicast_peer 2001:db8::2 is IPv6 but VI_1 is an IPv4 instance",
    ),
    ("strict_unicast.conf", 9, "unicast peers are not allowed in strict mode"),
    (
        "track_interface_weight.conf",
        9,
        "track_interface eth1: weight must be from -253 to 253, got '300'",
    ),
    ("script_weight.conf", 4, "weight: expected a whole number from -253 to 253"),
    ("script_without_command.conf", 2, "vrrp_script chk: expected a 'script' line"),
    ("include_nothing.conf", 2, "includea missing.d/*.conf: no file matches"),
    ("block_not_expected.conf", 5, "priority: takes no { ... } block"),
    ("block_expected.conf", 5, "virtual_ipaddress: expected a { ... } block after it"),
    ("v3_without_vips.conf", 2, "VRRPv3 needs at least one address in virtual_ipaddress"),
    (
        "conditional_config.conf",
        5,
        "conditional configuration and parameter substitution are not implemented",
    ),
    (
        "mcast_group_not_multicast.conf",
        3,
        "vrrp_mcast_group4: expected an IPv4 multicast address, got 192.0.2.1",
    ),
    (
        "checksum_mode.conf",
        3,
        "havip_vrrp_v3_checksum: expected pseudo_header or message_only, got 'rfc'",
    ),
    ("broadcast_on_ipv6.conf", 6, "brd: IPv6 address 2001:db8::10/64 has no broadcast"),
    (
        "interface_name_too_long.conf",
        3,
        "interface name 'a_very_long_interface_name' is longer than 15",
    ),
    (
        "preempt_delay_range.conf",
        5,
        "preempt_delay: expected a time in seconds from 0 to 1000, got '2000'",
    ),
    ("brace_without_keyword.conf", 2, "unexpected '{': expected a keyword before it"),
]


def test_every_bad_file_has_a_case() -> None:
    assert {path.name for path in BAD.glob("*.conf")} == {name for name, _, _ in CASES}


@pytest.mark.parametrize(("name", "line", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_bad_config_is_rejected_at_its_line(name: str, line: int, fragment: str) -> None:
    path = BAD / name
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    errors = raised.value.diagnostics
    assert all(d.severity == "error" for d in errors)
    matching = [d for d in errors if fragment in d.message]
    assert matching, f"no error contains {fragment!r}: {[str(d) for d in errors]}"
    assert matching[0].location.line == line
    assert matching[0].location.file == str(path)


@pytest.mark.parametrize(("name", "line", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_bad_config_reports_nothing_else(name: str, line: int, fragment: str) -> None:
    """One mistake gives one error: no cascade of follow-on errors to confuse the reader."""
    with pytest.raises(ConfigError) as raised:
        load_config(BAD / name)
    assert [(d.location.line, fragment in d.message) for d in raised.value.diagnostics] == [
        (line, True)
    ]


def test_track_process_errors_name_file_and_line(tmp_path: Path) -> None:
    text = (
        "vrrp_track_process p {\n    quorum 3\n    quorum_max 2\n    process x\n}\n"
        "vrrp_track_process q {\n    weight 9\n}\n"
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n"
        "    virtual_ipaddress {\n        192.0.2.10\n    }\n"
        "    track_process {\n        missing\n    }\n}\n"
    )
    path = tmp_path / "keepalived.conf"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    messages = [str(d) for d in raised.value.diagnostics]
    assert f"{path}:1: error: vrrp_track_process p: quorum_max 2 is less than quorum 3" in messages
    assert f"{path}:6: error: vrrp_track_process q: expected a 'process' line" in messages
    assert any(
        m.startswith(f"{path}:16: error: no vrrp_track_process named 'missing'") for m in messages
    )
