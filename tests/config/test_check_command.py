"""`havip check`: a summary and exit 0, or every problem as FILE:LINE and exit 2."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import havip
from havip.cli import build_parser, main

EXAMPLES = Path(__file__).parent / "examples"
BAD = Path(__file__).parent / "bad"


def test_valid_file_exits_0_with_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    path = EXAMPLES / "keepalived.conf.vrrp.localcheck"
    assert main(["check", "-f", str(path)]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0] == f"{path}: OK: 9 VRRP instances, 0 sync groups, 0 warnings"
    assert lines[1] == "  VI_1: eth0 VRID 51, VRRPv2 IPv4, priority 100, MASTER, advert_int 1s"
    assert lines[2] == "    VIPs: 192.168.200.18/25"
    assert lines[3].startswith("    tracks: interface eth1 weight 2; interface eth2 weight -2;")
    assert "script chk_haproxy weight 2" in lines[3]
    assert err == ""


def test_warnings_go_to_stderr_in_compiler_format(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = EXAMPLES / "keepalived.conf.sample"
    assert main(["check", "--use-file", str(path)]) == 0
    out, err = capsys.readouterr()
    assert f"{path}:27: warning: skipping virtual_server (top level):" in err
    assert all(line.startswith(f"{path}:") for line in err.splitlines())
    assert "VI_1: eth0 VRID 50, VRRPv2 IPv4, priority 100, initial state BACKUP" in out
    assert "nopreempt" in out


def test_invalid_file_exits_2_with_every_error_one_per_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = EXAMPLES / "keepalived.conf.vrrp.lvs_syncd"
    assert main(["check", "-f", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"{path}:4: error: vrrp_sync_group VG1: expected a 'group {{ INSTANCE ... }}' block "
        "naming its instances",
        f"{path}:5: error: unknown keyword 'VI_2' in vrrp_sync_group VG1",
        f"{path}:6: error: unknown keyword 'VI_3' in vrrp_sync_group VG1",
        f"{path}:12: warning: skipping lvs_sync_daemon_interface (vrrp_instance VI_1): havip "
        "does not implement this keepalived keyword",
        f"{path}:51: warning: skipping virtual_server (top level): LVS/IPVS configuration is not "
        "VRRP",
    ]


def test_sync_group_and_unicast_appear_in_the_summary(
    write_conf: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_conf(
        "vrrp_sync_group G1 {\n group {\n  VI_1\n  VI_2\n }\n}\n"
        "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n unicast_src_ip 192.0.2.1\n"
        " unicast_peer {\n  192.0.2.2\n }\n virtual_ipaddress {\n  192.0.2.10/24 dev eth1\n }\n}\n"
        "vrrp_instance VI_2 {\n interface eth0\n virtual_router_id 2\n"
        " virtual_ipaddress {\n  2001:db8::10/64\n }\n}\n"
    )
    assert main(["check", "-f", str(path)]) == 0
    out = capsys.readouterr().out
    assert "  VI_1: eth0 VRID 1, VRRPv2 IPv4, priority 100, initial state BACKUP, " in out
    assert "sync group G1" in out
    assert "    VIPs: 192.0.2.10/24 dev eth1\n" in out
    assert "    unicast from 192.0.2.1 to 192.0.2.2\n" in out
    assert "  VI_2: eth0 VRID 2, VRRPv3 IPv6," in out
    assert out.splitlines()[-1] == "sync group G1: VI_1, VI_2"


def test_routes_and_rules_appear_in_the_summary(
    write_conf: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_conf(
        "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n"
        " virtual_ipaddress {\n  192.0.2.10/24\n }\n"
        " virtual_routes {\n  198.51.100.0/24 via 192.0.2.254 src 192.0.2.10\n"
        "  blackhole 203.0.113.0/24\n }\n"
        " virtual_rules {\n  from 198.51.100.0/24 table 100\n }\n}\n"
    )
    assert main(["check", "-f", str(path)]) == 0
    out = capsys.readouterr().out
    assert (
        "    routes: 198.51.100.0/24 via 192.0.2.254 src 192.0.2.10; blackhole 203.0.113.0/24\n"
        in out
    )
    assert "    rules: from 198.51.100.0/24 lookup 100\n" in out


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "missing.conf"
    assert main(["check", "-f", str(path)]) == 2
    assert capsys.readouterr().err == (
        f"{path}: error: cannot read {path}: No such file or directory\n"
    )


def test_default_file_is_keepalived_s() -> None:
    args = build_parser().parse_args(["check"])
    assert args.use_file == "/etc/keepalived/keepalived.conf"


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"havip {havip.__version__}\n"


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "a command is required" in capsys.readouterr().err
