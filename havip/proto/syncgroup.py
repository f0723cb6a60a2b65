"""`vrrp_sync_group`: instances that must change state together, as keepalived decides it.

This is the pure part: given what happened to the members, it says what the other members
must do and when the group itself changes state (for GROUP notify scripts and FIFO lines).
The rules are keepalived's (keepalived/vrrp/vrrp_sync.c, vrrp_track.c, vrrp_scheduler.c):

* FAULT: while any member has a fault of its own (a failed weight-0 tracker), the whole group
  is in FAULT. This needs nothing new from the core: every member gets a weight-0 tracker named
  after the group (`FeedMember`), down while the group is faulty, so a member leaves FAULT
  exactly when neither its own trackers nor the group hold it there. The group then goes to
  BACKUP (keepalived: "Syncing instances to BACKUP state").
* BACKUP: when a member drops from MASTER to BACKUP (higher-priority advert), every other
  member that is MASTER must drop to BACKUP too (`FollowGroup`).
* MASTER: keepalived only lets a member become MASTER once every other member wants to as
  well ("prefer backup state to avoid thrashing"). A member whose down timer fires reports
  `member_wants_master` (the core's `WantsMaster`) instead of taking over, checks again after
  each master-down interval, and stops wanting when it accepts a master's advert again; when
  every member wants MASTER (or the group already is MASTER) the group sends them all to
  MASTER together. A member that becomes MASTER by itself (an address owner) pulls the others.
* STOP: the group stops when all its members have stopped.

`FollowGroup` is fed to the member's state machine as `SyncTo(state)` — MASTER: a BACKUP
instance becomes master now (with its own reason if it wanted to, else `sync_group`),
otherwise nothing; BACKUP: a MASTER instance releases its VIPs and becomes BACKUP with a fresh
master-down timer (reason `sync_group`, no priority-0 advert), otherwise nothing. A FAULT
instance ignores both: faults are only cleared through the group's tracker.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from havip.proto.events import TrackerChanged
from havip.proto.model import State


def group_tracker(name: str) -> str:
    """The tracker that holds every member of sync group `name` in FAULT while it is faulty."""
    return f"sync group {name}"


@dataclass(frozen=True, slots=True)
class FeedMember:
    """Feed `event` to the state machine of `member` (an event the core already has)."""

    member: str
    event: TrackerChanged


@dataclass(frozen=True, slots=True)
class FollowGroup:
    """`member` must follow its group to `state` (MASTER or BACKUP): the proposed `SyncTo`."""

    member: str
    state: State


@dataclass(frozen=True, slots=True)
class GroupStateChanged:
    """The group moved from `old` to `new`: run its notify scripts, write its FIFO line."""

    group: str
    old: State
    new: State

    @property
    def log_message(self) -> str:
        """keepalived's line for the change."""
        if self.new is State.STOP:
            return f"VRRP_Group({self.group}) Stopped"
        return f"VRRP_Group({self.group}) Syncing instances to {self.new.value.upper()} state"


SyncOutput = FeedMember | FollowGroup | GroupStateChanged
"""Orders come first, in member order; a group change, if any, comes last (as keepalived
syncs the members before it runs the group's notify scripts)."""


@dataclass(eq=False)
class _Member:
    state: State = State.INIT
    faulty: bool = False
    wants_master: bool = False


class SyncGroup:
    """The state of one sync group and the decisions that keep its members together."""

    def __init__(self, name: str, members: Sequence[str]) -> None:
        if not members:
            raise ValueError(f"sync group {name} has no members")
        self.name = name
        self.tracker = group_tracker(name)
        self.state = State.INIT
        self._members = {member: _Member() for member in members}
        self._faulty = False

    @property
    def members(self) -> tuple[str, ...]:
        return tuple(self._members)

    def member_faults(self, member: str, faults: Iterable[str]) -> list[SyncOutput]:
        """The member's failing weight-0 trackers now (`VrrpInstance.faults`).

        Call it after every step that may change them, including before Start. The group's
        own tracker is ignored here: only a member's own faults make the group faulty.
        """
        self._member(member).faulty = any(fault != self.tracker for fault in faults)
        faulty = any(m.faulty for m in self._members.values())
        if faulty == self._faulty:
            return []
        self._faulty = faulty
        out: list[SyncOutput] = [
            FeedMember(name, TrackerChanged(self.tracker, not faulty, 0)) for name in self._members
        ]
        self._set_state(State.FAULT if faulty else State.BACKUP, out)
        return out

    def member_state(self, member: str, old: State, new: State) -> list[SyncOutput]:
        """A member's state machine moved from `old` to `new` (a StateChanged)."""
        this = self._member(member)
        this.state = new
        this.wants_master = new is State.MASTER
        out: list[SyncOutput] = []
        if new is State.STOP:
            if all(m.state is State.STOP for m in self._members.values()):
                self._set_state(State.STOP, out)
            return out
        if self.state in (State.FAULT, State.STOP):
            return out
        if new is State.MASTER and self.state is not State.MASTER:
            self._go_master(out)
        elif new is State.BACKUP and old is State.MASTER and self.state is State.MASTER:
            for name, other in self._members.items():
                if other.state is State.MASTER:
                    out.append(FollowGroup(name, State.BACKUP))
            self._set_state(State.BACKUP, out)
        elif new is State.BACKUP and self.state is State.INIT:
            self._set_state(State.BACKUP, out)
        return out

    def member_wants_master(self, member: str, wanted: bool) -> list[SyncOutput]:
        """A BACKUP member would take over (or no longer would): the core's `WantsMaster`,
        which sync group members report instead of taking over."""
        this = self._member(member)
        this.wants_master = wanted
        if not wanted or this.state is not State.BACKUP:
            return []
        if self.state is State.MASTER:
            return [FollowGroup(member, State.MASTER)]
        if self.state in (State.FAULT, State.STOP):
            return []
        if not all(m.wants_master for m in self._members.values()):
            return []
        out: list[SyncOutput] = []
        self._go_master(out)
        return out

    def _go_master(self, out: list[SyncOutput]) -> None:
        for name, other in self._members.items():
            if other.state is State.BACKUP:
                out.append(FollowGroup(name, State.MASTER))
        self._set_state(State.MASTER, out)

    def _set_state(self, new: State, out: list[SyncOutput]) -> None:
        if new is not self.state:
            out.append(GroupStateChanged(self.name, self.state, new))
            self.state = new

    def _member(self, member: str) -> _Member:
        try:
            return self._members[member]
        except KeyError:
            raise ValueError(f"{member} is not a member of sync group {self.name}") from None
