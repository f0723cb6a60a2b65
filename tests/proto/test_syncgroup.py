"""vrrp_sync_group decisions: FAULT, MASTER, BACKUP and STOP spread to the whole group."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from havip.proto.events import Output, Start, StateChanged, TrackerChanged
from havip.proto.instance import InstanceSettings, VrrpInstance
from havip.proto.model import State
from havip.proto.syncgroup import (
    FeedMember,
    FollowGroup,
    GroupStateChanged,
    SyncGroup,
    SyncOutput,
    group_tracker,
)

MEMBERS = ("VI_1", "VI_2", "VI_3")
GROUP_TRACKER = "sync group G1"


class Harness:
    """Real state machines for the members, wired to a SyncGroup the way the agent wires them:
    every StateChanged goes to member_state, the faults after every step to member_faults,
    and FeedMember events go back into the members. FollowGroup orders are collected (the core
    event they need is a proposal)."""

    def __init__(self) -> None:
        self.group = SyncGroup("G1", MEMBERS)
        self.machines = {
            name: VrrpInstance(
                InstanceSettings(name=name, vrid=index + 1), IPv4Address(f"192.0.2.{index + 1}")
            )
            for index, name in enumerate(MEMBERS)
        }
        self.followed: list[FollowGroup] = []
        self.group_changes: list[tuple[State, State]] = []

    def handle(self, member: str, event: Start | TrackerChanged) -> None:
        self._outputs(member, self.machines[member].handle(event, 0.0))

    def _outputs(self, member: str, outputs: list[Output]) -> None:
        orders: list[SyncOutput] = []
        for output in outputs:
            if isinstance(output, StateChanged):
                orders += self.group.member_state(member, output.old, output.new)
        orders += self.group.member_faults(member, self.machines[member].faults)
        for order in orders:
            if isinstance(order, FeedMember):
                self.handle(order.member, order.event)
            elif isinstance(order, FollowGroup):
                self.followed.append(order)
            else:
                self.group_changes.append((order.old, order.new))

    def states(self) -> dict[str, State]:
        return {name: machine.state for name, machine in self.machines.items()}


def test_the_group_tracker_is_named_after_the_group() -> None:
    assert group_tracker("G1") == GROUP_TRACKER
    assert SyncGroup("G1", MEMBERS).tracker == GROUP_TRACKER


def test_a_member_fault_puts_the_whole_group_in_fault_until_it_clears() -> None:
    lab = Harness()
    for member in MEMBERS:
        lab.handle(member, Start())
    assert lab.group_changes == [(State.INIT, State.BACKUP)]
    lab.handle("VI_2", TrackerChanged("interface eth1", False, 0))
    assert lab.states() == dict.fromkeys(MEMBERS, State.FAULT)
    assert lab.group.state is State.FAULT
    lab.handle("VI_2", TrackerChanged("interface eth1", True, 0))
    assert lab.states() == dict.fromkeys(MEMBERS, State.BACKUP)
    assert lab.group_changes == [
        (State.INIT, State.BACKUP),
        (State.BACKUP, State.FAULT),
        (State.FAULT, State.BACKUP),
    ]


def test_the_group_stays_in_fault_while_any_member_has_a_fault_of_its_own() -> None:
    lab = Harness()
    for member in MEMBERS:
        lab.handle(member, Start())
    lab.handle("VI_1", TrackerChanged("script chk", False, 0))
    lab.handle("VI_3", TrackerChanged("interface eth3", False, 0))
    lab.handle("VI_1", TrackerChanged("script chk", True, 0))
    assert lab.states() == dict.fromkeys(MEMBERS, State.FAULT)
    lab.handle("VI_3", TrackerChanged("interface eth3", True, 0))
    assert lab.states() == dict.fromkeys(MEMBERS, State.BACKUP)


def test_a_member_faulty_before_start_starts_the_whole_group_in_fault() -> None:
    lab = Harness()
    lab.handle("VI_1", TrackerChanged("interface eth0", False, 0))
    for member in MEMBERS:
        lab.handle(member, Start())
    assert lab.states() == dict.fromkeys(MEMBERS, State.FAULT)
    assert lab.group_changes == [(State.INIT, State.FAULT)]


def test_being_held_by_the_group_tracker_is_not_a_fault_of_one_s_own() -> None:
    group = SyncGroup("G1", MEMBERS)
    assert group.member_faults("VI_1", [GROUP_TRACKER]) == []
    assert group.state is State.INIT


def test_fault_orders_reach_every_member_and_come_before_the_group_change() -> None:
    group = SyncGroup("G1", MEMBERS)
    assert group.member_faults("VI_2", ["interface eth1"]) == [
        *(FeedMember(member, TrackerChanged(GROUP_TRACKER, False, 0)) for member in MEMBERS),
        GroupStateChanged("G1", State.INIT, State.FAULT),
    ]


def started_group() -> SyncGroup:
    group = SyncGroup("G1", MEMBERS)
    for member in MEMBERS:
        group.member_state(member, State.INIT, State.BACKUP)
    return group


def test_when_one_member_becomes_master_the_others_follow() -> None:
    group = started_group()
    assert group.member_state("VI_2", State.BACKUP, State.MASTER) == [
        FollowGroup("VI_1", State.MASTER),
        FollowGroup("VI_3", State.MASTER),
        GroupStateChanged("G1", State.BACKUP, State.MASTER),
    ]
    assert group.member_state("VI_1", State.BACKUP, State.MASTER) == []
    assert group.member_state("VI_3", State.BACKUP, State.MASTER) == []


def test_when_one_master_member_drops_to_backup_the_other_masters_follow() -> None:
    group = started_group()
    for member in MEMBERS:
        group.member_state(member, State.BACKUP, State.MASTER)
    assert group.member_state("VI_3", State.MASTER, State.BACKUP) == [
        FollowGroup("VI_1", State.BACKUP),
        FollowGroup("VI_2", State.BACKUP),
        GroupStateChanged("G1", State.MASTER, State.BACKUP),
    ]
    assert group.member_state("VI_1", State.MASTER, State.BACKUP) == []


def test_the_group_takes_over_only_when_every_member_wants_to() -> None:
    group = started_group()
    assert group.member_wants_master("VI_1", True) == []
    assert group.member_wants_master("VI_2", True) == []
    assert group.member_wants_master("VI_2", False) == []
    assert group.member_wants_master("VI_3", True) == []
    assert group.member_wants_master("VI_2", True) == [
        FollowGroup("VI_1", State.MASTER),
        FollowGroup("VI_2", State.MASTER),
        FollowGroup("VI_3", State.MASTER),
        GroupStateChanged("G1", State.BACKUP, State.MASTER),
    ]


def test_a_member_wanting_master_in_a_master_group_is_sent_at_once() -> None:
    group = started_group()
    group.member_state("VI_1", State.BACKUP, State.MASTER)
    group.member_state("VI_2", State.BACKUP, State.MASTER)
    assert group.member_wants_master("VI_3", True) == [FollowGroup("VI_3", State.MASTER)]


def test_nothing_is_synced_to_master_or_backup_while_the_group_is_in_fault() -> None:
    group = started_group()
    group.member_faults("VI_1", ["interface eth0"])
    assert group.member_wants_master("VI_2", True) == []
    assert group.member_state("VI_2", State.BACKUP, State.MASTER) == []
    assert group.state is State.FAULT


def test_the_group_stops_when_its_last_member_stops() -> None:
    group = started_group()
    assert group.member_state("VI_1", State.BACKUP, State.STOP) == []
    assert group.member_state("VI_2", State.BACKUP, State.STOP) == []
    assert group.member_state("VI_3", State.BACKUP, State.STOP) == [
        GroupStateChanged("G1", State.BACKUP, State.STOP)
    ]


@pytest.mark.parametrize(
    ("new", "line"),
    [
        (State.MASTER, "VRRP_Group(G1) Syncing instances to MASTER state"),
        (State.BACKUP, "VRRP_Group(G1) Syncing instances to BACKUP state"),
        (State.FAULT, "VRRP_Group(G1) Syncing instances to FAULT state"),
        (State.STOP, "VRRP_Group(G1) Stopped"),
    ],
)
def test_group_changes_are_logged_in_keepalived_s_words(new: State, line: str) -> None:
    assert GroupStateChanged("G1", State.INIT, new).log_message == line


def test_unknown_members_and_empty_groups_are_errors() -> None:
    with pytest.raises(ValueError, match="no members"):
        SyncGroup("G1", ())
    with pytest.raises(ValueError, match="VI_9 is not a member of sync group G1"):
        SyncGroup("G1", MEMBERS).member_state("VI_9", State.INIT, State.BACKUP)
