"""vrrp_script tracking, tracked interfaces, notify scripts and sync groups, end to end.

Every router reads a keepalived.conf written as an operator writes it (the same file keepalived
accepts) and the tests watch what an operator would watch: where the VIP is, the states in
/status, the series in /metrics and the files the notify scripts write. Two havip routers share
a bridge: r1 (priority 150) is the master while healthy, r2 (priority 100) the backup.
"""

from __future__ import annotations

import math
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from havip.lab.configs import RouterSpec
from havip.lab.netns import Host, Lab, LabError, run
from havip.lab.processes import Router, wait_for

from .conftest import Routers, client_reaches, holders, wait_single_holder
from .metrics import metric_value
from .scripts import (
    SCRIPT_GLOBALS,
    config,
    file_exists_check,
    read_lines,
    sync_group,
    track_block,
    vrrp_script,
    write_recorder,
)

VIP = "192.0.2.100"
NAMES = ["r1", "r2"]
WAIT = 20.0
"""Seconds allowed for any one step (a failover takes about 3.6 s with advert_int 1)."""


# --- helpers ---------------------------------------------------------------------------------


def build(lab: Lab) -> tuple[Host, Host]:
    r1 = lab.add_host("r1", "192.0.2.1/24")
    r2 = lab.add_host("r2", "192.0.2.2/24")
    lab.add_host("client", "192.0.2.50/24")
    return r1, r2


def instance_status(router: Router, instance: str) -> dict[str, Any] | None:
    """The instance's entry in /status, or None while the router is not serving yet."""
    try:
        status = router.status()
    except LabError:
        return None
    for entry in status["instances"]:
        if entry["name"] == instance:
            return dict(entry)
    return None


def state_of(router: Router, instance: str = "VI_1") -> str | None:
    entry = instance_status(router, instance)
    return None if entry is None else str(entry["state"])


def metric(router: Router, name: str, **labels: str) -> float:
    """One sample from the router's /metrics; NaN when the series does not exist."""
    return metric_value(router.metrics(), name, labels)


def count(router: Router, name: str, **labels: str) -> float:
    """A counter that may not have been created yet: a missing series counts as 0."""
    value = metric(router, name, **labels)
    return 0.0 if math.isnan(value) else value


def effective_priority(router: Router, instance: str = "VI_1") -> float:
    return metric(router, "havip_vrrp_effective_priority", vrrp_instance=instance)


def adverts_received(router: Router, instance: str = "VI_1") -> float:
    return count(router, "havip_vrrp_adverts_received_total", vrrp_instance=instance)


def became_master(router: Router, instance: str = "VI_1") -> float:
    """How many times the instance entered MASTER, whatever the reason (summed over the
    from_state/reason series, which appear only once such a transition happened)."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(router.metrics())
        for sample in family.samples
        if sample.name == "havip_vrrp_transitions_total"
        and sample.labels.get("vrrp_instance") == instance
        and sample.labels.get("to_state") == "master"
    )


def add_veth(host: Host, name: str) -> None:
    """A veth pair inside the host's namespace, both ends up: `name` can be taken down alone."""
    host.exec("ip", "link", "add", name, "type", "veth", "peer", "name", f"{name}p")
    host.exec("ip", "link", "set", f"{name}p", "up")
    host.exec("ip", "link", "set", name, "up")


def health_check(tmp_path: Path, *, weight: int, fall: int = 1, rise: int = 1) -> tuple[Path, str]:
    """A healthy flag file and the `vrrp_script chk_service` block that checks it."""
    flag = tmp_path / "healthy"
    flag.touch()
    block = vrrp_script(
        "chk_service", file_exists_check(flag), interval=1, weight=weight, fall=fall, rise=rise
    )
    return flag, block


def tracked_master(block: str, *, nopreempt: bool = False) -> str:
    """r1's configuration: priority 150 tracking chk_service."""
    spec = RouterSpec(
        priority=150,
        nopreempt=nopreempt,
        global_extra=SCRIPT_GLOBALS,
        extra=track_block("track_script", ["chk_service"]),
    )
    return config(spec, scripts=[block])


BACKUP_CONFIG = config(RouterSpec(priority=100))


def assert_vip_on(lab: Lab, expected: str) -> None:
    assert holders(lab, VIP, NAMES) == [expected]
    assert client_reaches(lab, "client", VIP)


# --- 1. weighted health check ----------------------------------------------------------------


def test_failing_weighted_check_lowers_priority_and_moves_the_vip(
    lab: Lab, routers: Routers, tmp_path: Path
) -> None:
    """weight -60 takes r1 from 150 to 90 < 100: r2 preempts; recovery gives r1 the VIP back."""
    r1, r2 = build(lab)
    flag, block = health_check(tmp_path, weight=-60)
    master = routers.havip(r1, tracked_master(block))
    routers.havip(r2, BACKUP_CONFIG)
    wait_single_holder(lab, VIP, NAMES, "r1", timeout=WAIT)
    wait_for(
        lambda: metric(master, "havip_track_script_up", script="chk_service") == 1,
        WAIT,
        "chk_service up after its first run",
    )
    assert count(master, "havip_track_script_runs_total", script="chk_service", result="success")
    assert effective_priority(master) == 150

    flag.unlink()
    wait_single_holder(lab, VIP, NAMES, "r2", timeout=WAIT)
    assert_vip_on(lab, "r2")
    wait_for(lambda: state_of(master) == "backup", WAIT, "r1 to be backup")
    assert effective_priority(master) == 90
    assert metric(master, "havip_vrrp_priority", vrrp_instance="VI_1") == 150
    assert metric(master, "havip_track_script_up", script="chk_service") == 0
    assert (
        count(master, "havip_track_script_runs_total", script="chk_service", result="failure") >= 1
    )
    entry = instance_status(master, "VI_1")
    assert entry is not None and entry["priority"] == {"base": 150, "effective": 90}

    flag.touch()
    wait_single_holder(lab, VIP, NAMES, "r1", timeout=WAIT)
    assert_vip_on(lab, "r1")
    assert effective_priority(master) == 150
    assert metric(master, "havip_track_script_up", script="chk_service") == 1


def test_nopreempt_keeps_the_backup_after_the_check_recovers(
    lab: Lab, routers: Routers, tmp_path: Path
) -> None:
    """nopreempt on r1: once healthy again at 150 it hears r2 (100) and still stays backup."""
    r1, r2 = build(lab)
    flag, block = health_check(tmp_path, weight=-60)
    # r1 first: with nopreempt, an r2 that won a startup race would rightly stay master.
    master = routers.havip(r1, tracked_master(block, nopreempt=True))
    wait_single_holder(lab, VIP, NAMES, "r1", timeout=WAIT)
    routers.havip(r2, BACKUP_CONFIG)

    flag.unlink()
    wait_single_holder(lab, VIP, NAMES, "r2", timeout=WAIT)
    wait_for(lambda: state_of(master) == "backup", WAIT, "r1 to be backup")
    masters_before = became_master(master)

    flag.touch()
    wait_for(lambda: effective_priority(master) == 150, WAIT, "r1 back at priority 150")
    # A preempting r1 would ignore r2's lower-priority adverts and take over when its
    # Master_Down_Interval (about 3.6 s) ran out; six more adverts from r2 outlast that.
    heard = adverts_received(master)
    wait_for(lambda: adverts_received(master) >= heard + 6, WAIT, "six more adverts from r2")
    assert state_of(master) == "backup"
    assert became_master(master) == masters_before
    assert_vip_on(lab, "r2")


# --- 2. unweighted script: FAULT -------------------------------------------------------------


def test_failing_unweighted_check_means_fault_until_it_rises_again(
    lab: Lab, routers: Routers, tmp_path: Path
) -> None:
    """weight 0: failing `fall` times in a row is FAULT (VIP released); `rise` successes end it."""
    r1, r2 = build(lab)
    flag, block = health_check(tmp_path, weight=0, fall=2, rise=2)
    master = routers.havip(r1, tracked_master(block))
    routers.havip(r2, BACKUP_CONFIG)
    wait_single_holder(lab, VIP, NAMES, "r1", timeout=WAIT)

    def runs(result: str) -> float:
        return count(master, "havip_track_script_runs_total", script="chk_service", result=result)

    flag.unlink()
    wait_for(lambda: state_of(master) == "fault", WAIT, "r1 in FAULT")
    failures_at_fault = runs("failure")
    wait_single_holder(lab, VIP, NAMES, "r2", timeout=WAIT)
    assert_vip_on(lab, "r2")
    entry = instance_status(master, "VI_1")
    assert entry is not None
    assert any("chk_service" in str(fault) for fault in entry["faults"]), entry["faults"]
    assert failures_at_fault >= 2, "fall 2: one failure must not be enough for FAULT"
    assert metric(master, "havip_track_script_up", script="chk_service") == 0

    successes = runs("success")
    flag.touch()
    wait_for(lambda: state_of(master) != "fault", WAIT, "r1 to leave FAULT")
    assert runs("success") >= successes + 2, "rise 2: one success must not end the FAULT"
    wait_single_holder(lab, VIP, NAMES, "r1", timeout=WAIT)
    assert_vip_on(lab, "r1")
    assert state_of(master) == "master"


def test_an_unweighted_check_that_has_not_reported_holds_the_instance_in_init(
    lab: Lab, routers: Routers, tmp_path: Path
) -> None:
    """keepalived's rule: no MASTER (not even for the address owner) before the weight-0
    check's first result. The check blocks until a file appears, so it has not reported."""
    r1, _r2 = build(lab)
    go = tmp_path / "go"
    waits = f"/bin/sh -c 'while test ! -e {go}; do sleep 0.05; done'"
    block = vrrp_script("chk_service", waits, interval=60, timeout=60)
    spec = RouterSpec(
        priority=255,
        global_extra=SCRIPT_GLOBALS,
        extra=track_block("track_script", ["chk_service"]),
    )
    owner = routers.havip(r1, config(spec, scripts=[block]))
    wait_for(lambda: state_of(owner) is not None, WAIT, "r1 serving /status")
    time.sleep(1.0)  # an owner without the hold is master at once
    assert state_of(owner) == "init"
    assert holders(lab, VIP, ["r1"]) == []
    go.touch()
    wait_single_holder(lab, VIP, ["r1"], "r1", timeout=WAIT)
    assert state_of(owner) == "master"


def test_a_tracked_process_that_stops_means_fault_until_it_runs_again(
    lab: Lab, routers: Routers, tmp_path: Path
) -> None:
    """vrrp_track_process (weight 0) by process name, read from /proc."""
    r1, r2 = build(lab)
    daemon = tmp_path / "hvdaemon"  # a copy of sleep with a name no other process has
    shutil.copy("/bin/sleep", daemon)

    def start_daemon() -> subprocess.Popen[bytes]:
        return subprocess.Popen([str(daemon), "600"])

    process = "vrrp_track_process daemon {\n    process hvdaemon\n}\n"
    spec = RouterSpec(priority=150, extra=track_block("track_process", ["daemon"]))
    running = start_daemon()
    try:
        master = routers.havip(r1, config(spec, scripts=[process]))
        routers.havip(r2, BACKUP_CONFIG)
        wait_single_holder(lab, VIP, NAMES, "r1", timeout=WAIT)
        assert metric(master, "havip_track_process_up", process="daemon") == 1
        running.kill()
        running.wait()
        wait_for(lambda: state_of(master) == "fault", WAIT, "r1 in FAULT")
        wait_single_holder(lab, VIP, NAMES, "r2", timeout=WAIT)
        assert metric(master, "havip_track_process_up", process="daemon") == 0
        running = start_daemon()
        wait_single_holder(lab, VIP, NAMES, "r1", timeout=WAIT)
        assert_vip_on(lab, "r1")
    finally:
        running.kill()
        running.wait()


# --- 3. tracked interface --------------------------------------------------------------------


def test_tracked_interface_down_means_fault_and_up_recovers(lab: Lab, routers: Routers) -> None:
    """`track_interface { vrrp1 }`: vrrp1 down puts r1 in FAULT and r2 takes the VIP."""
    r1, r2 = build(lab)
    add_veth(r1, "vrrp1")
    spec = RouterSpec(priority=150, extra=track_block("track_interface", ["vrrp1"]))
    master = routers.havip(r1, config(spec))
    routers.havip(r2, BACKUP_CONFIG)
    wait_single_holder(lab, VIP, NAMES, "r1", timeout=WAIT)
    up_before = metric(master, "havip_track_interface_up", interface="vrrp1")

    r1.exec("ip", "link", "set", "vrrp1", "down")
    wait_for(lambda: state_of(master) == "fault", WAIT, "r1 in FAULT with vrrp1 down")
    wait_single_holder(lab, VIP, NAMES, "r2", timeout=WAIT)
    assert_vip_on(lab, "r2")
    up_while_down = metric(master, "havip_track_interface_up", interface="vrrp1")

    r1.exec("ip", "link", "set", "vrrp1", "up")
    wait_for(lambda: state_of(master) != "fault", WAIT, "r1 to leave FAULT with vrrp1 up")
    wait_single_holder(lab, VIP, NAMES, "r1", timeout=WAIT)
    assert_vip_on(lab, "r1")
    # The gauge is checked last so that the failover behaviour above is reported first.
    assert (up_before, up_while_down) == (1, 0)
    assert metric(master, "havip_track_interface_up", interface="vrrp1") == 1


# --- 4. notify scripts -----------------------------------------------------------------------


def test_notify_scripts_run_in_order_with_keepalived_arguments(
    lab: Lab, routers: Routers, tmp_path: Path
) -> None:
    """Each state's own script, then `notify` with INSTANCE VI_1 STATE PRIORITY appended.

    keepalived starts them in that order (send_instance_notifies); it does not wait for either,
    so under keepalived their lines may land in either order, while havip runs an instance's
    scripts one at a time and the order is exact. SIGTERM runs notify_stop and `notify STOP`.
    """
    r1, r2 = build(lab)
    log = tmp_path / "notify.log"
    recorder = write_recorder(tmp_path, log)
    spec = RouterSpec(
        priority=150,
        global_extra=SCRIPT_GLOBALS,
        extra=(
            f'notify_master "{recorder} master"',
            f'notify_backup "{recorder} backup"',
            f'notify_fault "{recorder} fault"',
            f'notify_stop "{recorder} stop"',
            f'notify "{recorder} notify"',
        ),
    )
    master = routers.havip(r1, config(spec))
    routers.havip(r2, BACKUP_CONFIG)

    def entered(state: str) -> list[str]:
        return [state.lower(), f"notify INSTANCE VI_1 {state} 150"]

    expected = [*entered("BACKUP"), *entered("MASTER")]
    wait_single_holder(lab, VIP, NAMES, "r1", timeout=WAIT)
    wait_for(lambda: len(read_lines(log)) >= len(expected), WAIT, "the start-up notifies")
    assert read_lines(log) == expected

    lab.cut("r1")
    expected += entered("FAULT")
    wait_for(lambda: len(read_lines(log)) >= len(expected), WAIT, "the FAULT notifies")
    assert read_lines(log) == expected

    lab.restore("r1")
    expected += [*entered("BACKUP"), *entered("MASTER")]
    wait_single_holder(lab, VIP, NAMES, "r1", timeout=WAIT)
    wait_for(lambda: len(read_lines(log)) >= len(expected), WAIT, "the recovery notifies")
    assert read_lines(log) == expected

    def runs() -> dict[str, float]:
        return {
            result: count(master, "havip_notify_runs_total", vrrp_instance="VI_1", result=result)
            for result in ("ok", "failed", "timeout", "dropped")
        }

    # A script's line is in the log just before it exits; its run is counted once reaped.
    wait_for(lambda: runs()["ok"] >= len(expected), WAIT, "every notify run counted")
    assert runs() == {"ok": len(expected), "failed": 0, "timeout": 0, "dropped": 0}

    assert master.stop(timeout=15) == 0
    expected += entered("STOP")
    assert read_lines(log) == expected, "notify_stop must have run before havip exited"


# --- 5. a hanging script ---------------------------------------------------------------------


def _hanging_pids(host: Host) -> set[int]:
    """`/bin/sleep 100` processes in the host's namespace (the chk_hang runs)."""
    found = set()
    for word in run(["ip", "netns", "pids", host.namespace], check=False).stdout.split():
        try:
            cmdline = Path(f"/proc/{word}/cmdline").read_bytes()
        except OSError:
            continue  # gone already
        if cmdline.split(b"\0")[:2] == [b"/bin/sleep", b"100"]:
            found.add(int(word))
    return found


def test_hanging_script_is_killed_at_its_timeout_and_adverts_go_on(
    lab: Lab, routers: Routers
) -> None:
    """`sleep 100` with timeout 1: each run is killed and counted as a timeout, and r1 keeps
    advertising meanwhile, so r2 keeps hearing it and never takes over."""
    r1, r2 = build(lab)
    block = vrrp_script("chk_hang", "/bin/sleep 100", interval=1, timeout=1, weight=-10)
    spec = RouterSpec(
        priority=150,
        global_extra=SCRIPT_GLOBALS,
        extra=track_block("track_script", ["chk_hang"]),
    )
    # The master first: started together on a busy machine, r2 could finish starting first
    # and take over before r1 runs, and the test would see a takeover the hang did not cause.
    master = routers.havip(r1, config(spec, scripts=[block]))
    wait_single_holder(lab, VIP, NAMES, "r1", timeout=WAIT)
    backup = routers.havip(r2, BACKUP_CONFIG)
    wait_for(
        lambda: state_of(backup) == "backup",
        WAIT,
        "r2 backup",
        observed=lambda: f"r2 {state_of(backup)}, VIP on {holders(lab, VIP, NAMES)}",
    )

    def timeouts() -> float:
        return count(master, "havip_track_script_runs_total", script="chk_hang", result="timeout")

    wait_for(lambda: timeouts() >= 1, WAIT, "a first chk_hang timeout")
    first_timeouts = timeouts()
    heard = adverts_received(backup)
    seen: set[int] = set()
    holders_seen: set[tuple[str, ...]] = set()
    states_seen: set[str | None] = set()

    def watch() -> bool:
        seen.update(_hanging_pids(r1))
        holders_seen.add(tuple(holders(lab, VIP, NAMES)))
        states_seen.add(state_of(backup))
        return timeouts() >= first_timeouts + 3 and adverts_received(backup) >= heard + 5

    # Five adverts span more than r2's Master_Down_Interval (about 3.6 s): had r1 stopped
    # advertising while its script hung, r2 would have taken over within this window.
    wait_for(
        watch,
        WAIT,
        "three more chk_hang timeouts and five more adverts at r2",
        0.1,
        observed=lambda: (
            f"{timeouts() - first_timeouts:g} timeouts, "
            f"{adverts_received(backup) - heard:g} adverts, holders {holders_seen}"
        ),
    )
    assert holders_seen == {("r1",)}, "the VIP must stay on r1 while its script hangs"
    assert states_seen == {"backup"}
    assert became_master(backup) == 0
    entry = instance_status(backup, "VI_1")
    assert entry is not None and entry["master"]["priority"] == 140, entry

    assert len(seen) >= 2, f"expected a new sleep for every run, saw pids {sorted(seen)}"
    # Each would sleep 100 s unless killed; every one seen must be gone within a few intervals.
    wait_for(
        lambda: not (seen & _hanging_pids(r1)),
        WAIT,
        f"the timed-out sleeps {sorted(seen & _hanging_pids(r1))} to be killed",
        interval=0.2,
    )
    assert len(_hanging_pids(r1)) <= 1, "runs must never overlap"
    assert count(master, "havip_track_script_runs_total", script="chk_hang", result="success") == 0
    assert metric(master, "havip_track_script_up", script="chk_hang") == 0
    assert effective_priority(master) == 140


# --- 6. sync group ---------------------------------------------------------------------------

SECOND_VIP = "192.0.2.101"
CONTROL_VIP = "192.0.2.102"


def sync_config(
    priority: int,
    extra_vi1: tuple[str, ...] = (),
    group_extra: tuple[str, ...] = (),
    control: bool = True,
) -> str:
    """VI_1 and VI_2 in sync group G1 and, with `control`, VI_3 outside it; all on eth0."""
    vi1 = RouterSpec(priority=priority, global_extra=SCRIPT_GLOBALS, extra=extra_vi1)
    vi2 = RouterSpec(priority=priority, instance="VI_2", vrid=52, vips=(f"{SECOND_VIP}/24",))
    vi3 = RouterSpec(priority=priority, instance="VI_3", vrid=53, vips=(f"{CONTROL_VIP}/24",))
    group = sync_group("G1", ["VI_1", "VI_2"], extra=group_extra)
    return config(vi1, vi2, *([vi3] if control else []), blocks=[group])


def test_sync_group_moves_a_healthy_member_with_the_failed_one(lab: Lab, routers: Routers) -> None:
    """Only VI_1 tracks vrrp1; when it goes down VI_2 follows VI_1 to r2 because they are
    grouped, while VI_3 (same router, same link, not in the group) stays on r1."""
    r1, r2 = build(lab)
    add_veth(r1, "vrrp1")
    master = routers.havip(r1, sync_config(150, track_block("track_interface", ["vrrp1"])))
    routers.havip(r2, sync_config(100))
    for vip in (VIP, SECOND_VIP, CONTROL_VIP):
        wait_single_holder(lab, vip, NAMES, "r1", timeout=WAIT)

    r1.exec("ip", "link", "set", "vrrp1", "down")
    wait_single_holder(lab, VIP, NAMES, "r2", timeout=WAIT)
    wait_single_holder(lab, SECOND_VIP, NAMES, "r2", timeout=WAIT)
    assert state_of(master, "VI_1") == "fault"
    assert state_of(master, "VI_2") == "fault", "the group holds every member in FAULT"
    assert state_of(master, "VI_3") == "master"
    assert holders(lab, CONTROL_VIP, NAMES) == ["r1"]
    assert client_reaches(lab, "client", SECOND_VIP)

    r1.exec("ip", "link", "set", "vrrp1", "up")
    wait_single_holder(lab, VIP, NAMES, "r1", timeout=WAIT)
    wait_single_holder(lab, SECOND_VIP, NAMES, "r1", timeout=WAIT)
    assert state_of(master, "VI_1") == "master"
    assert state_of(master, "VI_2") == "master"
    assert holders(lab, CONTROL_VIP, NAMES) == ["r1"]
    # /status names each member's group (checked last: the behaviour above matters more).
    groups = {name: instance_status(master, name) for name in ("VI_1", "VI_2", "VI_3")}
    assert {name: e and e["sync_group"] for name, e in groups.items()} == {
        "VI_1": "G1",
        "VI_2": "G1",
        "VI_3": None,
    }


def test_sync_group_notify_scripts_see_the_group_change_state(
    lab: Lab, routers: Routers, tmp_path: Path
) -> None:
    """The group's own `notify` gets GROUP G1 STATE 0: MASTER, then FAULT when a member fails,
    then MASTER again after it recovers."""
    r1, r2 = build(lab)
    add_veth(r1, "vrrp1")
    log = tmp_path / "group.log"
    recorder = write_recorder(tmp_path, log)
    tracking = track_block("track_interface", ["vrrp1"])
    group_notify = (f'notify "{recorder}"',)
    routers.havip(r1, sync_config(150, tracking, group_notify, control=False))
    routers.havip(r2, sync_config(100, control=False))
    for vip in (VIP, SECOND_VIP):
        wait_single_holder(lab, vip, NAMES, "r1", timeout=WAIT)
    wait_for(lambda: "GROUP G1 MASTER 0" in read_lines(log), WAIT, "the group's MASTER notify")

    r1.exec("ip", "link", "set", "vrrp1", "down")
    wait_for(lambda: "GROUP G1 FAULT 0" in read_lines(log), WAIT, "the group's FAULT notify")
    r1.exec("ip", "link", "set", "vrrp1", "up")
    wait_for(lambda: read_lines(log).count("GROUP G1 MASTER 0") == 2, WAIT, "MASTER again")
    lines = read_lines(log)
    assert all(line.startswith("GROUP G1 ") and line.endswith(" 0") for line in lines), lines
    fault = lines.index("GROUP G1 FAULT 0")
    assert "GROUP G1 MASTER 0" in lines[:fault]
    assert "GROUP G1 MASTER 0" in lines[fault:]
    assert lines.count("GROUP G1 FAULT 0") == 1


def test_sigterm_runs_notify_stop(lab: Lab, routers: Routers, tmp_path: Path) -> None:
    """A backup stopping runs notify_stop and `notify ... STOP` too, not only a master."""
    r1, r2 = build(lab)
    log = tmp_path / "stop.log"
    recorder = write_recorder(tmp_path, log)
    routers.havip(r1, config(RouterSpec(priority=150)))
    # r2 starts once r1 is master: started together, r2's interpreter may come up first and
    # take over before it hears r1, which would add a MASTER line this test is not about
    wait_single_holder(lab, VIP, NAMES, "r1", timeout=WAIT)
    spec = RouterSpec(
        priority=100,
        global_extra=SCRIPT_GLOBALS,
        extra=(f'notify_stop "{recorder} stop"', f'notify "{recorder} notify"'),
    )
    backup = routers.havip(r2, config(spec))
    wait_for(lambda: state_of(backup) == "backup", WAIT, "r2 backup")
    wait_for(lambda: len(read_lines(log)) >= 1, WAIT, "r2's BACKUP notify")

    backup.signal(signal.SIGTERM)
    assert backup.process.wait(15) == 0
    assert read_lines(log) == [
        "notify INSTANCE VI_1 BACKUP 100",
        "stop",
        "notify INSTANCE VI_1 STOP 100",
    ]
