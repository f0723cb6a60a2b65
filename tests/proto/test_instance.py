"""The VRRP instance state machine, driven with `now` as a number (never sleeping)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

import pytest

from havip.proto.events import (
    AdvertAnomaly,
    AdvertReceived,
    Announce,
    InstallVips,
    LocalAddressChanged,
    MasterConflict,
    PacketRejected,
    PeerHeard,
    PriorityChanged,
    Reconfigure,
    ReleaseVips,
    SendAdvert,
    Shutdown,
    Start,
    StateChanged,
    SyncTo,
    TrackerChanged,
    UpdateVips,
)
from havip.proto.instance import InstanceSettings, VrrpInstance, effective_priority
from havip.proto.model import (
    AUTH_NONE,
    AUTH_PASS,
    Advertisement,
    Anomaly,
    Reason,
    RejectReason,
    State,
)
from havip.proto.timers import hinted_master_down_interval, master_down_interval, skew_time

from .simlan import SimulatedLan

VIP = IPv4Address("192.0.2.100")
ME = IPv4Address("192.0.2.10")
PEER = IPv4Address("192.0.2.20")
LOWER_PEER = IPv4Address("192.0.2.5")


def settings(**overrides: object) -> InstanceSettings:
    base: dict[str, object] = {"name": "VI_1", "vrid": 51, "addresses": (VIP,)}
    base.update(overrides)
    return InstanceSettings(**base)  # type: ignore[arg-type]


def advert(
    priority: int, *, version: int = 3, interval_cs: int = 100, **kw: object
) -> Advertisement:
    fields: dict[str, object] = {
        "version": version,
        "vrid": 51,
        "priority": priority,
        "interval_cs": interval_cs,
        "addresses": (VIP,),
    }
    fields.update(kw)
    return Advertisement(**fields)  # type: ignore[arg-type]


def started(**overrides: object) -> VrrpInstance:
    instance = VrrpInstance(settings(**overrides), local_address=ME)
    instance.handle(Start(), 0.0)
    return instance


def master(**overrides: object) -> VrrpInstance:
    """An instance that has just become master (no delayed GARP round unless asked for)."""
    overrides.setdefault("garp_master_delay", 0.0)
    instance = started(**overrides)
    deadline = instance.get_timer()
    assert deadline is not None
    instance.handle_timer(deadline)
    assert instance.state is State.MASTER
    return instance


def kinds(outputs: list[object]) -> list[type]:
    return [type(o) for o in outputs]


# --- timers -----------------------------------------------------------------------------------


def test_v2_skew_is_a_fraction_of_a_second_whatever_the_interval() -> None:
    assert skew_time(2, 100, 100) == pytest.approx(156 / 256)
    assert skew_time(2, 100, 500) == pytest.approx(156 / 256)
    assert master_down_interval(2, 100, 300) == pytest.approx(9 + 156 / 256)


def test_v3_skew_scales_with_the_master_interval() -> None:
    assert skew_time(3, 100, 100) == pytest.approx(156 / 256)
    assert skew_time(3, 100, 5) == pytest.approx(0.05 * 156 / 256)
    assert master_down_interval(3, 254, 5) == pytest.approx(0.15 + 0.05 * 2 / 256)


def test_hinted_master_waits_one_interval_plus_the_smallest_skew() -> None:
    assert hinted_master_down_interval(3, 100) == pytest.approx(1 + 1 / 256)


# --- start-up ---------------------------------------------------------------------------------


def test_startup_enters_backup_and_takes_over_after_master_down_interval() -> None:
    instance = VrrpInstance(settings(priority=100), local_address=ME)
    out = instance.handle(Start(), 10.0)
    assert instance.state is State.BACKUP
    assert out == [StateChanged(State.INIT, State.BACKUP, Reason.STARTUP, 10.0, 100, None, None)]
    assert instance.get_timer() == pytest.approx(10.0 + master_down_interval(3, 100, 100))

    deadline = instance.get_timer()
    assert deadline is not None
    assert instance.handle_timer(deadline - 0.001) == []
    out = instance.handle_timer(deadline)
    assert kinds(out) == [StateChanged, InstallVips, SendAdvert, Announce]
    change = out[0]
    assert isinstance(change, StateChanged) and change.reason is Reason.MASTER_DOWN
    assert instance.state is State.MASTER
    assert instance.master_address == ME


def test_address_owner_goes_straight_to_master() -> None:
    instance = VrrpInstance(settings(priority=255), local_address=ME)
    out = instance.handle(Start(), 0.0)
    assert kinds(out) == [StateChanged, InstallVips, SendAdvert, Announce]
    assert isinstance(out[0], StateChanged) and out[0].reason is Reason.OWNER
    sent = out[2]
    assert isinstance(sent, SendAdvert) and sent.advert.priority == 255


def test_state_master_is_only_a_hint_an_election_still_decides() -> None:
    hinted = VrrpInstance(settings(priority=50, start_as_master=True), local_address=ME)
    hinted.handle(Start(), 0.0)
    assert hinted.state is State.BACKUP
    assert hinted.get_timer() == pytest.approx(hinted_master_down_interval(3, 100))
    # A live higher-priority master is heard before the short timer fires: stay backup.
    hinted.handle(AdvertReceived(advert(100), PEER), 0.5)
    assert hinted.get_timer() == pytest.approx(0.5 + master_down_interval(3, 50, 100))


def test_instance_with_a_fault_at_start_enters_fault_and_sends_nothing() -> None:
    instance = VrrpInstance(settings(), local_address=ME)
    instance.handle(TrackerChanged("eth0", up=False, weight=0), 0.0)
    out = instance.handle(Start(), 0.0)
    assert instance.state is State.FAULT
    assert kinds(out) == [StateChanged]
    assert instance.get_timer() is None


def test_startup_delay_holds_in_init_deaf_and_silent_until_it_has_passed() -> None:
    instance = VrrpInstance(settings(priority=255), local_address=ME)
    assert instance.handle(Start(not_before=5.0), 0.0) == []
    assert instance.state is State.INIT
    assert instance.get_timer() == 5.0
    assert instance.handle(AdvertReceived(advert(100), PEER), 1.0) == []  # not even PeerHeard
    assert instance.handle_timer(4.9) == []
    out = instance.handle_timer(5.0)
    assert kinds(out) == [StateChanged, InstallVips, SendAdvert, Announce]
    assert instance.state is State.MASTER


def test_startup_delay_then_backup_times_its_master_down_from_the_end_of_the_delay() -> None:
    instance = VrrpInstance(settings(priority=100), local_address=ME)
    instance.handle(Start(not_before=5.0), 0.0)
    instance.handle_timer(5.0)
    assert instance.state is State.BACKUP
    assert instance.get_timer() == pytest.approx(5.0 + master_down_interval(3, 100, 100))


def test_an_unreported_weight_0_script_holds_the_instance_in_init() -> None:
    instance = VrrpInstance(
        settings(priority=255, awaited_trackers=frozenset({"script chk"})), local_address=ME
    )
    assert instance.handle(Start(), 0.0) == []
    assert instance.state is State.INIT and instance.awaiting == ("script chk",)
    assert instance.get_timer() is None
    out = instance.handle(TrackerChanged("script chk", up=True, weight=0), 2.0)
    assert kinds(out) == [StateChanged, InstallVips, SendAdvert, Announce]
    assert instance.state is State.MASTER


def test_a_weight_0_script_failing_first_time_takes_the_instance_from_init_to_fault() -> None:
    instance = VrrpInstance(settings(awaited_trackers=frozenset({"script chk"})), local_address=ME)
    instance.handle(Start(), 0.0)
    out = instance.handle(TrackerChanged("script chk", up=False, weight=0), 2.0)
    assert out == [StateChanged(State.INIT, State.FAULT, Reason.FAULT, 2.0, 100, None, None,
                                detail="script chk")]  # fmt: skip


def test_a_script_reporting_before_start_does_not_hold_it() -> None:
    instance = VrrpInstance(settings(awaited_trackers=frozenset({"script chk"})), local_address=ME)
    instance.handle(TrackerChanged("script chk", up=True, weight=0), 0.0)
    instance.handle(Start(), 0.0)
    assert instance.state is State.BACKUP


def test_shutdown_during_the_startup_delay_stops_without_a_pending_timer() -> None:
    instance = VrrpInstance(settings(), local_address=ME)
    instance.handle(Start(not_before=5.0), 0.0)
    out = instance.handle(Shutdown(), 1.0)
    assert kinds(out) == [StateChanged] and instance.state is State.STOP
    assert instance.get_timer() is None


# --- backup -----------------------------------------------------------------------------------


def test_backup_resets_its_down_timer_on_each_advert_from_a_higher_master() -> None:
    instance = started(priority=100)
    out = instance.handle(AdvertReceived(advert(200), PEER), 1.0)
    assert out == [PeerHeard(PEER, 200, 100, 1.0)]
    assert instance.get_timer() == pytest.approx(1.0 + master_down_interval(3, 100, 100))
    assert instance.master_address == PEER and instance.master_priority == 200


def test_backup_adopts_the_masters_v3_interval() -> None:
    instance = started(priority=100, interval_cs=100)
    instance.handle(AdvertReceived(advert(200, interval_cs=5), PEER), 1.0)
    assert instance.master_interval_cs == 5
    assert instance.get_timer() == pytest.approx(1.0 + master_down_interval(3, 100, 5))


def test_priority_zero_makes_a_backup_take_over_after_skew_time() -> None:
    instance = started(priority=100)
    instance.handle(AdvertReceived(advert(200), PEER), 1.0)
    instance.handle(AdvertReceived(advert(0), PEER), 1.5)
    assert instance.get_timer() == pytest.approx(1.5 + skew_time(3, 100, 100))
    deadline = instance.get_timer()
    assert deadline is not None
    out = instance.handle_timer(deadline)
    change = out[0]
    assert isinstance(change, StateChanged)
    assert change.reason is Reason.PRIORITY_ZERO and change.master == PEER
    assert change.last_master_heard == 1.5


def test_backup_ignores_a_lower_priority_master_and_preempts_it() -> None:
    instance = started(priority=150)
    instance.handle(AdvertReceived(advert(100), PEER), 1.0)
    deadline = instance.get_timer()
    assert deadline == pytest.approx(master_down_interval(3, 150, 100))  # not reset
    out = instance.handle_timer(deadline)
    assert isinstance(out[0], StateChanged) and out[0].reason is Reason.PREEMPT


def test_nopreempt_backup_follows_a_lower_priority_master() -> None:
    instance = started(priority=150, preempt=False)
    instance.handle(AdvertReceived(advert(100), PEER), 1.0)
    assert instance.get_timer() == pytest.approx(1.0 + master_down_interval(3, 150, 100))


def test_preempt_delay_holds_off_preemption_until_it_has_passed() -> None:
    instance = started(priority=150, preempt_delay=10.0)
    for t in (1.0, 2.0, 3.0, 9.5):
        instance.handle(AdvertReceived(advert(100), PEER), t)
        assert instance.get_timer() == pytest.approx(t + master_down_interval(3, 150, 100))
    instance.handle(AdvertReceived(advert(100), PEER), 10.5)
    assert instance.get_timer() == pytest.approx(9.5 + master_down_interval(3, 150, 100))


def test_backup_with_equal_priority_does_not_preempt() -> None:
    instance = started(priority=100)
    instance.handle(AdvertReceived(advert(100), LOWER_PEER), 1.0)
    assert instance.get_timer() == pytest.approx(1.0 + master_down_interval(3, 100, 100))


# --- master -----------------------------------------------------------------------------------


def test_master_advertises_every_interval_without_drift_at_10ms() -> None:
    instance = master(interval_cs=1, garp_master_delay=0.0)
    start = instance.get_timer()
    assert start is not None
    sent = 0
    for _ in range(1000):
        deadline = instance.get_timer()
        assert deadline is not None
        sent += sum(isinstance(o, SendAdvert) for o in instance.handle_timer(deadline))
    assert sent == 1000
    assert instance.get_timer() == pytest.approx(start + 1000 * 0.01)


def test_late_timer_does_not_burst_catch_up_adverts() -> None:
    instance = master(interval_cs=1)
    deadline = instance.get_timer()
    assert deadline is not None
    out = instance.handle_timer(deadline + 1.0)
    assert sum(isinstance(o, SendAdvert) for o in out) == 1
    assert instance.get_timer() == pytest.approx(deadline + 1.01)


def test_master_steps_down_for_a_higher_priority_advert() -> None:
    instance = master(priority=100)
    out = instance.handle(AdvertReceived(advert(200), PEER), 20.0)
    assert kinds(out) == [PeerHeard, MasterConflict, ReleaseVips, StateChanged]
    change = out[3]
    assert isinstance(change, StateChanged) and change.reason is Reason.HIGHER_PRIORITY
    assert instance.state is State.BACKUP and instance.master_address == PEER


def test_master_tie_is_won_by_the_higher_address() -> None:
    loser = master(priority=100)
    out = loser.handle(AdvertReceived(advert(100), PEER), 20.0)
    assert loser.state is State.BACKUP
    assert MasterConflict(PEER, 100, won=False) in out

    winner = master(priority=100)
    out = winner.handle(AdvertReceived(advert(100), LOWER_PEER), 20.0)
    assert winner.state is State.MASTER
    assert kinds(out) == [PeerHeard, MasterConflict, SendAdvert]


def test_tie_break_compares_addresses_as_unsigned_integers() -> None:
    instance = VrrpInstance(settings(priority=100), local_address=IPv4Address("127.255.255.255"))
    instance.handle(Start(), 0.0)
    deadline = instance.get_timer()
    assert deadline is not None
    instance.handle_timer(deadline)
    # 192.x is above 127.x only when compared unsigned (as a signed int32 it would be negative).
    instance.handle(AdvertReceived(advert(100), IPv4Address("192.0.2.1")), 10.0)
    assert instance.state is State.BACKUP


def test_master_answers_a_lower_priority_master_at_once_and_keeps_its_rhythm() -> None:
    """keepalived's "forcing new election": an extra advert, the schedule unchanged (the
    RFC resets Adver_Timer only for priority 0), so both daemons' adverts keep their phase."""
    instance = master(priority=200)
    due = instance.get_timer()
    assert due is not None
    out = instance.handle(AdvertReceived(advert(100), PEER), due - 0.5)
    assert kinds(out) == [PeerHeard, MasterConflict, SendAdvert]
    assert instance.get_timer() == due


def test_a_master_that_does_not_answer_lower_priorities_only_records_the_conflict() -> None:
    """lower_prio_no_advert (strict mode's rule; RFC 5798 6.4.3 discards the advert): no
    extra advert, so the lower master learns of us at our next scheduled one."""
    instance = master(priority=200, answer_lower_priority=False)
    due = instance.get_timer()
    assert due is not None
    out = instance.handle(AdvertReceived(advert(100), PEER), due - 0.5)
    assert kinds(out) == [PeerHeard, MasterConflict]
    assert instance.state is State.MASTER and instance.get_timer() == due


def test_a_master_may_send_one_last_advert_to_a_higher_priority() -> None:
    """higher_prio_send_advert: the advert (ours, at our priority) goes before the VIPs."""
    instance = master(priority=100, answer_higher_priority=True)
    out = instance.handle(AdvertReceived(advert(200), PEER), 20.0)
    assert kinds(out) == [PeerHeard, MasterConflict, SendAdvert, ReleaseVips, StateChanged]
    sent = out[2]
    assert isinstance(sent, SendAdvert) and sent.advert.priority == 100
    assert instance.state is State.BACKUP


def test_down_timer_adverts_sets_how_many_intervals_a_backup_waits() -> None:
    instance = started(priority=100, down_timer_adverts=5)
    instance.handle(AdvertReceived(advert(200), PEER), 1.0)
    expected = 5 * 1.0 + skew_time(3, 100, 100)
    assert instance.master_down_interval == pytest.approx(expected)
    assert instance.get_timer() == pytest.approx(1.0 + expected)
    assert instance.handle_timer(1.0 + expected - 0.01) == []
    assert instance.state is State.BACKUP
    instance.handle_timer(1.0 + expected)
    assert instance.state is State.MASTER


def test_a_master_that_meets_a_lower_master_announces_its_vips_again_and_once_more_later() -> None:
    """keepalived's garp_lower_prio_repeat / _delay: clients the other master claimed while
    both were master come back now, and again after the delay."""
    instance = master(priority=200, garp_lower_prio_repeat=5, garp_lower_prio_delay=5.0)
    out = instance.handle(AdvertReceived(advert(100), PEER), 20.0)
    assert kinds(out) == [PeerHeard, MasterConflict, SendAdvert, Announce]
    assert out[3] == Announce(5)
    assert Announce(5) not in instance.handle_timer(24.9)
    assert Announce(5) in instance.handle_timer(25.0)
    assert Announce(5) not in instance.handle_timer(30.0)


def test_lower_priority_adverts_faster_than_the_interval_announce_only_once() -> None:
    """A flood of forged lower-priority adverts must not make the master an ARP amplifier."""
    instance = master(priority=200, garp_lower_prio_repeat=3, interval_cs=100)
    announced = [
        output
        for at in (20.0, 20.1, 20.5, 20.99)
        for output in instance.handle(AdvertReceived(advert(100), PEER), at)
        if isinstance(output, Announce)
    ]
    assert announced == [Announce(3)]
    again = instance.handle(AdvertReceived(advert(100), PEER), 21.0)
    assert Announce(3) in again


def test_no_lower_priority_announcement_without_a_repeat_count() -> None:
    instance = master(priority=200)
    out = instance.handle(AdvertReceived(advert(100), PEER), 20.0)
    assert not any(isinstance(o, Announce) for o in out)


def test_master_answers_priority_zero_with_an_immediate_advert() -> None:
    instance = master()
    out = instance.handle(AdvertReceived(advert(0), PEER), 20.0)
    assert kinds(out) == [PeerHeard, SendAdvert]
    assert instance.state is State.MASTER


def test_announcements_repeat_after_delay_and_refresh() -> None:
    instance = master(
        garp_master_delay=5.0,
        garp_master_repeat=3,
        garp_master_refresh=60.0,
        garp_master_refresh_repeat=2,
        interval_cs=1000,
    )
    became = instance.state_since
    assert became is not None
    out = instance.handle_timer(became + 5.0)
    assert Announce(3) in out
    out = instance.handle_timer(became + 60.0)
    assert Announce(2, refresh=True) in out


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "received", "reason"),
    [
        (
            {"version": 2, "interval_cs": 100},
            advert(100, version=2, interval_cs=200),
            RejectReason.INTERVAL,
        ),
        ({"version": 3}, advert(100, version=2), RejectReason.VERSION),
        (
            {"version": 2, "auth_type": AUTH_PASS, "password": b"secret"},
            advert(100, version=2, auth_type=AUTH_NONE),
            RejectReason.AUTH_MISMATCH,
        ),
        (
            {"version": 2, "auth_type": AUTH_PASS, "password": b"secret"},
            advert(100, version=2, auth_type=AUTH_PASS, auth_data=b"wrong\0\0\0"),
            RejectReason.AUTH_PASSWORD,
        ),
        (
            {"strict": True},
            advert(100, addresses=(IPv4Address("192.0.2.101"),)),
            RejectReason.ADDRESS_LIST,
        ),
        ({"unicast_peers": (LOWER_PEER,)}, advert(100), RejectReason.UNKNOWN_PEER),
    ],
)
def test_invalid_adverts_are_rejected_and_change_nothing(
    overrides: dict[str, object], received: Advertisement, reason: RejectReason
) -> None:
    instance = started(**overrides)
    before = instance.get_timer()
    out = instance.handle(AdvertReceived(received, PEER), 1.0)
    assert len(out) == 1 and isinstance(out[0], PacketRejected)
    assert out[0].reason is reason
    assert instance.get_timer() == before and instance.state is State.BACKUP


def test_v3_interval_may_differ_without_rejection() -> None:
    instance = started(version=3, interval_cs=100)
    out = instance.handle(AdvertReceived(advert(200, interval_cs=50), PEER), 1.0)
    assert kinds(out) == [PeerHeard]


def test_correct_password_is_accepted_and_sent_padded() -> None:
    instance = started(version=2, auth_type=AUTH_PASS, password=b"secret")
    ok = advert(200, version=2, auth_type=AUTH_PASS, auth_data=b"secret\0\0")
    assert kinds(instance.handle(AdvertReceived(ok, PEER), 1.0)) == [PeerHeard]
    assert instance.advert.auth_data == b"secret\0\0"


def test_own_advert_is_rejected() -> None:
    instance = started()
    out = instance.handle(AdvertReceived(advert(100), ME), 1.0)
    assert isinstance(out[0], PacketRejected) and out[0].reason is RejectReason.OWN_ADVERT


def test_skip_check_adv_addr_accepts_a_different_address_list_silently() -> None:
    instance = started(check_address_list=False, strict=True)
    other = advert(200, addresses=(IPv4Address("192.0.2.150"),))
    assert kinds(instance.handle(AdvertReceived(other, PEER), 1.0)) == [PeerHeard]


# --- mixed groups mid-migration: other VIP lists and keepalived 2.4 trailers ------------------

VIP_MORE = IPv4Address("192.0.2.101")
VERSIONS = [pytest.param({"version": 2}, id="v2"), pytest.param({"version": 3}, id="v3")]


def anomalies(outputs: list[object]) -> list[Anomaly]:
    return [o.anomaly for o in outputs if isinstance(o, AdvertAnomaly)]


@pytest.mark.parametrize("version", VERSIONS)
def test_backup_follows_a_master_with_one_vip_more_and_counts_it(version: dict[str, int]) -> None:
    instance = started(**version)
    theirs = advert(200, addresses=(VIP, VIP_MORE), **version)
    now = 0.5
    while now < 15.0:
        out = instance.handle(AdvertReceived(theirs, PEER), now)
        assert anomalies(out) == [Anomaly.ADDRESS_LIST]
        detail = next(o for o in out if isinstance(o, AdvertAnomaly)).detail
        assert detail.startswith("expected 1 VIPs but received 2")
        deadline = instance.get_timer()
        assert deadline is not None and deadline > now + 1.0
        now += 1.0
        instance.handle_timer(now)
    assert instance.state is State.BACKUP and instance.master_address == PEER


@pytest.mark.parametrize("version", VERSIONS)
def test_backup_follows_a_master_with_one_vip_less(version: dict[str, int]) -> None:
    instance = started(addresses=(VIP, VIP_MORE), **version)
    instance.handle(AdvertReceived(advert(200, **version), PEER), 0.5)
    instance.handle_timer(3.0)
    assert instance.state is State.BACKUP and instance.master_address == PEER


@pytest.mark.parametrize("version", VERSIONS)
def test_master_yields_to_a_higher_master_with_other_vips(version: dict[str, int]) -> None:
    instance = master(**version)
    theirs = advert(200, addresses=(VIP_MORE,), **version)
    out = instance.handle(AdvertReceived(theirs, PEER), 10.0)
    assert anomalies(out) == [Anomaly.ADDRESS_LIST]
    assert ReleaseVips() in out and instance.state is State.BACKUP


@pytest.mark.parametrize("version", VERSIONS)
def test_master_answers_a_lower_master_with_other_vips(version: dict[str, int]) -> None:
    instance = master(**version)
    theirs = advert(50, addresses=(VIP, VIP_MORE), **version)
    out = instance.handle(AdvertReceived(theirs, PEER), 10.0)
    assert SendAdvert(instance.advert) in out and instance.state is State.MASTER


@pytest.mark.parametrize("version", VERSIONS)
def test_vrrp_strict_drops_other_vip_lists_as_rfc3768_asks(version: dict[str, int]) -> None:
    instance = started(strict=True, **version)
    out = instance.handle(
        AdvertReceived(advert(200, addresses=(VIP, VIP_MORE), **version), PEER), 0.5
    )
    assert kinds(out) == [PacketRejected] and out[0].reason is RejectReason.ADDRESS_LIST
    assert instance.master_address is None


def test_a_trailer_is_counted_and_the_advert_processed() -> None:
    instance = started()
    out = instance.handle(AdvertReceived(advert(200, trailer=bytes(28)), PEER), 0.5)
    assert anomalies(out) == [Anomaly.TRAILING_BYTES]
    assert instance.master_address == PEER and instance.master_priority == 200


def test_vrrp_strict_still_accepts_a_trailer() -> None:
    instance = started(strict=True)
    out = instance.handle(AdvertReceived(advert(200, trailer=bytes(28)), PEER), 0.5)
    assert anomalies(out) == [Anomaly.TRAILING_BYTES] and instance.master_address == PEER


def test_a_rejected_advert_reports_no_anomaly() -> None:
    instance = started(version=2, auth_type=AUTH_PASS, password=b"secret")
    wrong = advert(
        200,
        version=2,
        auth_type=AUTH_PASS,
        auth_data=b"wrong\0\0\0",
        trailer=bytes(28),
        addresses=(VIP_MORE,),
    )
    assert kinds(instance.handle(AdvertReceived(wrong, PEER), 0.5)) == [PacketRejected]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_group_with_different_vip_lists_elects_one_master(version: dict[str, int]) -> None:
    lan = SimulatedLan(
        [
            settings(priority=200, addresses=(VIP, VIP_MORE), **version),
            settings(priority=100, addresses=(VIP,), **version),
        ]
    )
    lan.start()
    lan.run_until(15.0)
    assert lan.masters() == [0]


def test_ipv6_instance_compares_ipv6_sources() -> None:
    vip6 = IPv6Address("2001:db8::100")
    instance = VrrpInstance(settings(addresses=(vip6,)), local_address=IPv6Address("fe80::1"))
    instance.handle(Start(), 0.0)
    deadline = instance.get_timer()
    assert deadline is not None
    instance.handle_timer(deadline)
    adv = advert(100, addresses=(vip6,))
    instance.handle(AdvertReceived(adv, IPv6Address("fe80::2")), 10.0)
    assert instance.state is State.BACKUP


# --- tracking and FAULT -----------------------------------------------------------------------


def test_effective_priority_follows_keepalived_weights_and_clamps() -> None:
    assert effective_priority(100, {"a": (True, 20), "b": (False, -30)}) == 90
    assert effective_priority(100, {"a": (False, 20), "b": (True, -30)}) == 100
    assert effective_priority(250, {"a": (True, 50)}) == 254
    assert effective_priority(10, {"a": (False, -50)}) == 1
    assert effective_priority(255, {"a": (False, -50)}) == 255


def test_weighted_tracker_changes_the_advertised_priority() -> None:
    instance = master(priority=100)
    out = instance.handle(TrackerChanged("chk_haproxy", up=False, weight=-60), 5.0)
    assert out == [PriorityChanged(100, 40, "chk_haproxy", State.MASTER)]
    assert instance.advert.priority == 40 and instance.master_priority == 40
    assert instance.state is State.MASTER


def test_unweighted_failure_makes_a_master_release_and_go_silent_in_fault() -> None:
    instance = master()
    out = instance.handle(TrackerChanged("eth0", up=False, weight=0), 5.0)
    assert kinds(out) == [SendAdvert, ReleaseVips, StateChanged]
    first = out[0]
    assert isinstance(first, SendAdvert) and first.advert.priority == 0
    assert instance.state is State.FAULT and instance.get_timer() is None
    # Adverts heard in FAULT change nothing.
    instance.handle(AdvertReceived(advert(50), PEER), 6.0)
    assert instance.state is State.FAULT and instance.get_timer() is None

    out = instance.handle(TrackerChanged("eth0", up=True, weight=0), 7.0)
    assert instance.state is State.BACKUP
    assert isinstance(out[-1], StateChanged) and out[-1].reason is Reason.FAULT_CLEARED


def test_fault_stays_until_every_unweighted_tracker_is_up() -> None:
    instance = started()
    instance.handle(TrackerChanged("eth0", up=False, weight=0), 1.0)
    instance.handle(TrackerChanged("chk", up=False, weight=0), 1.0)
    instance.handle(TrackerChanged("eth0", up=True, weight=0), 2.0)
    assert instance.state is State.FAULT and instance.faults == ("chk",)


def test_shutdown_master_sends_priority_zero_and_releases() -> None:
    instance = master()
    out = instance.handle(Shutdown(), 9.0)
    assert kinds(out) == [SendAdvert, ReleaseVips, StateChanged]
    assert isinstance(out[0], SendAdvert) and out[0].advert.priority == 0
    assert instance.state is State.STOP and instance.get_timer() is None
    assert instance.handle(Shutdown(), 9.5) == []


def test_shutdown_backup_sends_nothing() -> None:
    instance = started()
    assert kinds(instance.handle(Shutdown(), 1.0)) == [StateChanged]


def test_local_address_change_is_used_for_the_tie_break() -> None:
    instance = master(priority=100)
    instance.handle(LocalAddressChanged(IPv4Address("192.0.2.250")), 10.0)
    instance.handle(AdvertReceived(advert(100), PEER), 11.0)
    assert instance.state is State.MASTER


# --- several routers on a simulated LAN -------------------------------------------------------


def test_lan_elects_the_highest_priority_and_fails_over() -> None:
    lan = SimulatedLan([settings(priority=p) for p in (100, 200, 150)])
    lan.start()
    lan.run_until(10.0)
    assert lan.masters() == [1] and lan.vip_holders() == [1]

    lan.inject(1, TrackerChanged("eth0", up=False, weight=0))
    lan.run_until(10.0 + master_down_interval(3, 150, 100) + 0.1)
    assert lan.masters() == [2] and lan.vip_holders() == [2]

    lan.inject(1, TrackerChanged("eth0", up=True, weight=0))
    lan.run_until(30.0)
    assert lan.masters() == [1] and lan.vip_holders() == [1]
    assert lan.routers[1].transitions[-1].reason is Reason.PREEMPT


def test_lan_graceful_shutdown_hands_over_within_skew_time() -> None:
    lan = SimulatedLan([settings(priority=p) for p in (200, 100)])
    lan.start()
    lan.run_until(10.0)
    lan.inject(0, Shutdown())
    lan.run_until(10.0 + lan.delay + skew_time(3, 100, 100) + 0.01)
    assert lan.masters() == [1]
    assert lan.routers[1].transitions[-1].reason is Reason.PRIORITY_ZERO


def test_lan_simultaneous_equal_priority_masters_resolve_to_the_higher_address() -> None:
    lan = SimulatedLan([settings(priority=100, start_as_master=True) for _ in range(3)])
    lan.start()
    lan.run_until(10.0)
    assert lan.masters() == [2]
    first, second = lan.routers[0].transitions[1:3]
    assert (first.new, second.new, second.reason) == (
        State.MASTER,
        State.BACKUP,
        Reason.HIGHER_PRIORITY,
    )


def test_lan_v2_with_password_elects_one_master() -> None:
    shared = {"version": 2, "auth_type": AUTH_PASS, "password": b"s3cret"}
    lan = SimulatedLan([settings(priority=p, **shared) for p in (100, 120)])
    lan.start()
    lan.run_until(10.0)
    assert lan.masters() == [1]


def test_lan_wrong_password_means_no_shared_election() -> None:
    lan = SimulatedLan(
        [
            settings(priority=100, version=2, auth_type=AUTH_PASS, password=b"right"),
            settings(priority=120, version=2, auth_type=AUTH_PASS, password=b"wrong"),
        ]
    )
    lan.start()
    lan.run_until(10.0)
    assert lan.masters() == [0, 1]


# --- sync groups ------------------------------------------------------------------------------


def test_sync_to_master_takes_over_at_once_from_backup() -> None:
    instance = started()
    out = instance.handle(SyncTo(State.MASTER), 1.0)
    assert kinds(out) == [StateChanged, InstallVips, SendAdvert, Announce]
    assert isinstance(out[0], StateChanged) and out[0].reason is Reason.SYNC_GROUP


def test_sync_to_backup_releases_without_a_priority_zero_advert() -> None:
    instance = master()
    out = instance.handle(SyncTo(State.BACKUP), 20.0)
    assert kinds(out) == [ReleaseVips, StateChanged]
    assert instance.state is State.BACKUP
    assert instance.get_timer() == pytest.approx(20.0 + instance.master_down_interval)


def test_sync_orders_do_not_move_an_instance_out_of_fault() -> None:
    instance = started()
    instance.handle(TrackerChanged("eth0", up=False, weight=0), 1.0)
    assert instance.handle(SyncTo(State.MASTER), 2.0) == []
    assert instance.state is State.FAULT


# --- reload in place ----------------------------------------------------------------------------


def reconfigured(
    instance: VrrpInstance, now: float, trackers: frozenset[str] = frozenset(), **changes: object
) -> list[object]:
    new = settings(**{**_settings_fields(instance.settings), **changes})
    return list(instance.handle(Reconfigure(new, trackers), now))


def _settings_fields(current: InstanceSettings) -> dict[str, object]:
    return {name: getattr(current, name) for name in InstanceSettings.__dataclass_fields__}


def test_reload_lowers_a_masters_priority_without_a_state_change() -> None:
    instance = master(priority=150)
    out = reconfigured(instance, 10.0, priority=120)
    assert instance.state is State.MASTER
    assert PriorityChanged(150, 120, "reload", State.MASTER) in out
    assert SendAdvert(instance.advert) in out and instance.advert.priority == 120
    assert not any(isinstance(o, ReleaseVips | StateChanged) for o in out)


def test_reload_adds_and_removes_a_masters_vips_by_difference() -> None:
    instance = master(addresses=(VIP, VIP_MORE))
    third = IPv4Address("192.0.2.102")
    out = reconfigured(instance, 10.0, addresses=(VIP, third))
    assert UpdateVips(added=(third,), removed=(VIP_MORE,)) in out
    assert any(isinstance(o, Announce) for o in out)
    assert instance.advert.addresses == (VIP, third)
    assert not any(isinstance(o, ReleaseVips | InstallVips) for o in out)


def test_reload_of_a_masters_interval_moves_its_next_advert() -> None:
    instance = master(interval_cs=100)
    reconfigured(instance, 10.0, interval_cs=300)
    assert instance.get_timer() == 13.0
    assert instance.master_down_interval > 3 * 3


def test_reload_of_an_unchanged_master_sends_nothing() -> None:
    instance = master()
    assert reconfigured(instance, 10.0) == []


def test_reload_of_a_backups_priority_changes_no_state_and_sends_nothing() -> None:
    instance = started(priority=100)
    instance.handle(AdvertReceived(advert(200), PEER), 0.5)
    out = reconfigured(instance, 1.0, priority=50)
    assert instance.state is State.BACKUP and instance.effective_priority == 50
    assert not any(isinstance(o, SendAdvert | StateChanged) for o in out)


def test_reload_forgets_trackers_the_new_configuration_dropped() -> None:
    instance = master(priority=150)
    instance.handle(TrackerChanged("script chk", up=False, weight=-50), 5.0)
    assert instance.effective_priority == 100
    reconfigured(instance, 10.0, trackers=frozenset({"interface eth0"}))
    assert instance.effective_priority == 150


def test_reload_that_drops_the_only_failing_tracker_leaves_fault() -> None:
    instance = master()
    instance.handle(TrackerChanged("script chk", up=False, weight=0), 5.0)
    assert instance.state is State.FAULT
    out = reconfigured(instance, 10.0)
    assert instance.state is State.BACKUP
    assert any(isinstance(o, StateChanged) and o.reason is Reason.FAULT_CLEARED for o in out)
