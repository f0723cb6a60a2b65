"""vrrp_priority, vrrp_rt_priority, vrrp_rlimit_rttime and vrrp_no_swap: read, applied, refused.

The OS edge is a fake recording its calls, except in the last test, which applies the real
settings in a child process (it needs root) and reads them back from the kernel.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from havip.config import ConfigError, load_config
from havip.config.model import GlobalDefs
from havip.process_settings import apply_process_settings

INSTANCE = """
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        192.0.2.10
    }
}
"""


def load(tmp_path: Path, global_defs: str) -> GlobalDefs:
    path = tmp_path / "keepalived.conf"
    path.write_text(f"global_defs {{\n{global_defs}\n}}\n{INSTANCE}")
    config = load_config(path)
    assert not [w for w in config.warnings if "vrrp_" in w.message and "not" in w.message]
    return config.global_defs


def test_the_keywords_are_read_with_keepalived_ranges(tmp_path: Path) -> None:
    defs = load(
        tmp_path,
        "vrrp_priority -5\nvrrp_rt_priority 10\nvrrp_rlimit_rttime 50000\nvrrp_no_swap",
    )
    assert (defs.process_priority, defs.realtime_priority) == (-5, 10)
    assert (defs.rlimit_rttime, defs.no_swap) == (50000, True)


def test_out_of_range_values_are_errors_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "keepalived.conf"
    path.write_text(f"global_defs {{\n  vrrp_priority -21\n  vrrp_rt_priority 0\n}}\n{INSTANCE}")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    found = [(d.location.line, d.message) for d in raised.value.diagnostics]
    assert found == [
        (2, "vrrp_priority: expected a whole number from -20 to 19, got '-21'"),
        (3, "vrrp_rt_priority: expected a whole number from 1 to 99, got '0'"),
    ]


@dataclass
class FakeProcessOs:
    refuse: set[str] = field(default_factory=set)
    calls: list[tuple[str, tuple[int, ...]]] = field(default_factory=list)

    def _call(self, name: str, *args: int) -> None:
        if name in self.refuse:
            raise PermissionError(1, "Operation not permitted")
        self.calls.append((name, args))

    def set_nice(self, value: int) -> None:
        self._call("nice", value)

    def set_round_robin(self, priority: int) -> None:
        self._call("round_robin", priority)

    def set_rttime_limit(self, soft: int, hard: int) -> None:
        self._call("rttime", soft, hard)

    def lock_memory(self) -> None:
        self._call("mlockall")


def test_every_setting_is_applied_and_the_rttime_soft_limit_is_half() -> None:
    system = FakeProcessOs()
    defs = GlobalDefs(process_priority=-5, realtime_priority=10, rlimit_rttime=50000, no_swap=True)
    applied = apply_process_settings(defs, system)
    assert system.calls == [
        ("nice", (-5,)),
        ("round_robin", (10,)),
        ("rttime", (25000, 50000)),
        ("mlockall", ()),
    ]
    assert applied.refused == ()


def test_nothing_is_changed_by_default_and_rttime_needs_real_time() -> None:
    system = FakeProcessOs()
    apply_process_settings(GlobalDefs(), system)
    apply_process_settings(GlobalDefs(rlimit_rttime=10000), system)
    assert system.calls == []


def test_a_refused_setting_is_logged_and_the_others_still_apply(
    caplog: pytest.LogCaptureFixture,
) -> None:
    system = FakeProcessOs(refuse={"round_robin"})
    defs = GlobalDefs(process_priority=-5, realtime_priority=10, no_swap=True)
    applied = apply_process_settings(defs, system)
    assert applied.refused == ("vrrp_rt_priority 10",)
    assert [name for name, _ in system.calls] == ["nice", "mlockall"]
    assert "Unable to apply vrrp_rt_priority 10: Operation not permitted" in caplog.text


CHILD = textwrap.dedent(
    """
    import json, os, threading
    from havip.config.model import GlobalDefs
    from havip.process_settings import apply_process_settings
    applied = apply_process_settings(GlobalDefs(process_priority=-5, realtime_priority=10))
    seen = {}
    def worker():
        seen["thread_policy"] = os.sched_getscheduler(0)
    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    print(json.dumps({
        "refused": list(applied.refused),
        "policy": os.sched_getscheduler(0) & ~os.SCHED_RESET_ON_FORK,
        "priority": os.sched_getparam(0).sched_priority,
        "thread_policy": seen["thread_policy"],
    }))
    """
)


def test_the_loop_thread_runs_round_robin_and_new_threads_do_not() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (CAP_SYS_NICE) to set real-time scheduling")
    out = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, check=True
    ).stdout
    got = json.loads(out)
    assert got["refused"] == []
    assert (got["policy"], got["priority"]) == (os.SCHED_RR, 10)
    assert got["thread_policy"] == os.SCHED_OTHER  # SCHED_RESET_ON_FORK
