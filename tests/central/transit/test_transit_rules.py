"""The transit rules as pure functions: timestamped fixes, ticks and seal events in,
state and alerts out. No broker, no database; the geometry is the real one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from transit_support import SITE, Movement, TransitSite, at, collection, lat_north, lon_at

from central.transit.geometry import CorridorPosition
from central.transit.model import Debounce, Fix, TransitState
from central.transit.rules import judge
from central.transit.settings import Tolerances
from geofences import UnknownFence


def leave_port(m: Movement, t_s: float = 0) -> float:
    """Load 5 min in the port (so the port is surely entered), then drive out to km 5."""
    t = m.stand(t_s, 0.0, 300)
    return m.drive(t, 0.0, 5.0)


# --------------------------------------------------------------------------- geometry layer


def test_a_fence_holds_a_fix_surely_only_when_the_whole_uncertainty_disc_is_inside() -> None:
    # the port's east edge is at km 1.0
    just_inside = lon_at(0.99), lat_north(0)  # 10 m inside
    assert SITE.place(*just_inside, radius_m=5).inside == {"port"}
    assert SITE.place(*just_inside, radius_m=50).near == {"port"}
    assert "port" in SITE.place(lon_at(1.01), lat_north(0), radius_m=50).near
    far_out = SITE.place(lon_at(1.1), lat_north(0), radius_m=5)
    assert "port" not in far_out.inside | far_out.near


def test_debounce_flips_only_on_sure_evidence_that_lasts() -> None:
    d = Debounce()
    d = d.update(True, at(0), 60, 60)
    assert not d.on and d.pending_since == at(0)
    d = d.update(None, at(30), 60, 60)  # maybe: neither flips nor resets
    assert d.pending_since == at(0)
    d = d.update(True, at(60), 60, 60)
    assert d.on and d.pending_since is None
    d = d.update(False, at(70), 60, 60).update(True, at(80), 60, 60)  # a lone outlier
    assert d.on and d.pending_since is None


# --------------------------------------------------------------------------- a clean journey


def test_a_clean_journey_raises_nothing_and_arrives() -> None:
    m = Movement()
    t = leave_port(m)
    t = m.drive(t, 5.0, 27.8)
    t = m.stand(t, 27.8, 45 * 60)  # a long break at the rest stop: allowed
    t = m.drive(t, 27.8, 55.0)
    m.stand(t, 55.0, 300)
    assert m.raised == []
    assert m.state.arrived_at is not None
    assert m.state.reached == ["depot"]
    assert not m.state.in_transit


# --------------------------------------------------------------------------- corridor deviation


def test_deviation_is_raised_once_after_deviation_after_s_of_device_time() -> None:
    m = Movement()
    t = leave_port(m)  # t = 300 + 6 fixes
    for i in range(15):  # 2 km north of the road for 15 min
        m.fix(t + 60 * i, 5.0 + i, 2000)
    found = [r for r in m.raised if r.rule == "corridor_deviation"]
    assert len(found) == 1
    assert found[0].at == at(t + 300)  # first sure fix at t, + 300 s
    assert found[0].details["since"] == at(t).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z"
    )
    # back on the road: the episode ends after deviation_clear_s ...
    t2 = t + 15 * 60
    for i in range(3):
        m.fix(t2 + 60 * i, 20.0 + i)
    assert not m.state.deviation.on
    # ... and a second excursion is a second episode
    t3 = t2 + 180
    for i in range(6):
        m.fix(t3 + 60 * i, 23.0 + i, -3000)
    assert m.rules().count("corridor_deviation") == 2


def test_gps_noise_at_the_corridor_edge_and_single_outliers_do_not_raise() -> None:
    m = Movement()
    t = leave_port(m)
    for i in range(30):
        # 470 / 530 m north with 20 m accuracy (disc radius 40 m): straddles the 500 m edge
        m.fix(t + 60 * i, 5.0 + i, 470 if i % 2 else 530, accuracy_m=20)
    t += 30 * 60
    for i in range(10):  # on the road, with one outlier 3 km away
        m.fix(t + 60 * i, 35.0 + i, 3000 if i == 4 else 0)
    assert "corridor_deviation" not in m.rules()


def test_a_corridor_may_be_more_patient_in_its_own_properties() -> None:
    site = TransitSite(collection(deviation_after_s=900, tolerance_m=3000))
    m = Movement(site=site, tolerances=Tolerances().merged(dict(site.properties["test-road"])))
    t = leave_port(m)
    for i in range(12):  # 2 km off: inside the corridor's own 3 km tolerance
        m.fix(t + 60 * i, 5.0 + i, 2000)
    assert m.raised == []


# --------------------------------------------------------------------------- late fixes


def test_a_late_fix_inside_a_judged_interval_neither_raises_nor_ends_an_episode() -> None:
    m = Movement()
    t = leave_port(m)
    for i in range(8):
        m.fix(t + 60 * i, 5.0 + i, 2000)
    assert m.rules().count("corridor_deviation") == 1
    before = m.state
    # an outbox delivers a fix taken on the road two minutes ago: judged already, ignored
    assert m.fix(t + 60 * 5 + 10, 10.0, 0) == []
    assert m.state == before
    # the unit comes back; late fixes from the excursion arrive afterwards
    t2 = t + 8 * 60
    for i in range(4):
        m.fix(t2 + 60 * i, 13.0 + i)
    assert not m.state.deviation.on
    for i in range(8):
        m.fix(t + 60 * i + 30, 5.5 + i, 2500)
    assert not m.state.deviation.on
    assert m.rules().count("corridor_deviation") == 1


def test_out_of_order_fixes_are_judged_by_device_time() -> None:
    m = Movement()
    t = leave_port(m)
    # a burst arrives newest first: only the newest is judged, the rest are late
    for i in reversed(range(6)):
        m.fix(t + 60 * i, 5.0 + i, 2000)
    assert m.state.latest_at == at(t + 300)
    assert m.raised == []  # one judged fix off the road is not yet a deviation


# --------------------------------------------------------------------------- stops


def test_a_stop_outside_any_stop_zone_is_raised_once_after_stop_after_s() -> None:
    m = Movement()
    t = leave_port(m)
    t = m.drive(t, 5.0, 12.0)
    m.stand(t, 12.0, 3 * 3600)
    found = [r for r in m.raised if r.rule == "unauthorized_stop"]
    assert len(found) == 1
    assert found[0].at == at(t + 1800)


def test_a_gps_outlier_during_a_stop_does_not_restart_it() -> None:
    m = Movement()
    t = leave_port(m)
    t = m.drive(t, 5.0, 12.0)
    for i in range(40):
        north = 400 if i == 10 else 0  # one fix 400 m away, still reporting 0 m/s
        m.fix(t + 60 * i, 12.0, north, speed_mps=0.0)
    found = [r for r in m.raised if r.rule == "unauthorized_stop"]
    assert [r.at for r in found] == [at(t + 1800)]


def test_a_long_stop_in_a_stop_zone_or_a_node_is_allowed() -> None:
    m = Movement()
    t = m.stand(0, 0.0, 3 * 3600)  # hours in the port before departure
    t = m.drive(t, 0.0, 27.8)
    m.stand(t, 27.8, 3 * 3600)  # hours at the rest stop
    assert "unauthorized_stop" not in m.rules()


# --------------------------------------------------------------------------- overdue


def test_overdue_is_raised_once_at_the_due_time_by_a_tick_and_never_slides() -> None:
    m = Movement()
    t = leave_port(m)
    leg = m.state.leg
    assert leg is not None and leg.node == "depot" and leg.due_at is not None
    # due: ETA from the remaining ~53 km at 40 km/h, plus 2 h grace, from the first fix
    # surely outside the port (km 2, at 480 s: 6 fixes loading, then km 0, 1, 2)
    remaining_m = (
        SITE.chainage("test-road", "depot")
        - SITE.measure("test-road", lon_at(2.0), -1.0).chainage_m
    )
    expected = at(480) + timedelta(seconds=remaining_m / (40 / 3.6) + 7200)
    assert abs((leg.due_at - expected).total_seconds()) < 1
    due_s = (leg.due_at - at(0)).total_seconds()
    # it stops (an alert of its own) and keeps reporting: the deadline does not move
    last = m.stand(t, 5.0, due_s - 60 - t) - 60
    assert m.state.leg is not None and m.state.leg.due_at == leg.due_at
    assert "overdue" not in m.rules() + [r.rule for r in m.tick(due_s - 1)]
    found = m.tick(last + 120)  # past due, not yet silent
    assert [r.rule for r in found] == ["overdue"] and found[0].at == leg.due_at
    assert m.tick(last + 180) == []
    t = m.drive(last + 180, 5.0, 55.0)  # it arrives late: nothing more
    m.stand(t, 55.0, 300)
    assert m.rules().count("overdue") == 1 and m.state.arrived_at is not None
    assert "signal_loss" not in m.rules()


def test_overdue_is_seen_on_a_fix_when_no_tick_came() -> None:
    m = Movement(tolerances=Tolerances(overdue_grace_s=0, nominal_speed_kmh=120))
    t = leave_port(m)
    t = m.drive(t, 5.0, 50.0, kmh=40)  # slower than planned
    assert m.rules().count("overdue") == 1


# --------------------------------------------------------------------------- signal loss


def test_signal_loss_is_raised_once_by_the_clock_and_ends_with_a_fresh_fix() -> None:
    m = Movement()
    t = leave_port(m)
    last = t - 60  # the last fix leave_port sent
    assert m.tick(last + 900) == []
    found = m.tick(last + 960)
    assert [r.rule for r in found] == ["signal_loss"]
    assert found[0].at == at(last + 900)
    assert m.tick(last + 2000) == []
    # stored-and-forwarded fixes from the silence do not end it ...
    m.fix(last + 120, 6.0, received_s=last + 2100)
    assert m.state.signal_lost
    # ... a fresh one does, and a new silence is a new episode
    m.fix(last + 2160, 30.0, received_s=last + 2165)
    assert not m.state.signal_lost
    assert [r.rule for r in m.tick(last + 2160 + 1000)] == ["signal_loss"]


def test_a_silence_no_tick_saw_is_raised_when_the_next_fix_shows_the_gap() -> None:
    m = Movement()
    t = leave_port(m)
    last = t - 60
    found = m.fix(last + 3600, 40.0)  # central was down: no tick in between
    assert [r.rule for r in found] == ["signal_loss"] and found[0].at == at(last + 900)
    assert not m.state.signal_lost  # that fix was fresh: the episode is over


def test_no_signal_loss_before_the_first_fix_or_after_arrival() -> None:
    m = Movement()
    assert m.tick(10_000) == []
    t = m.stand(0, 55.0, 300)  # starts inside its destination
    assert m.state.arrived_at is not None
    assert m.tick(t + 10_000) == []


# --------------------------------------------------------------------------- controlled area


def test_leaving_the_controlled_area_without_clearance_is_raised_once() -> None:
    m = Movement(cleared=False)
    leave_port(m)
    found = [r for r in m.raised if r.rule == "left_controlled_area"]
    assert len(found) == 1
    # km 1.0 is the edge: the fix at km 1 is not sure, km 2 (t=480) is; + dwell 60 s
    assert found[0].at == at(540) and found[0].severity == "critical"
    assert found[0].details["area"] == "port"


def test_leaving_with_clearance_raises_nothing() -> None:
    m = Movement(cleared=True)
    leave_port(m)
    assert m.raised == []


def test_a_blurred_fix_at_the_boundary_is_not_an_exit() -> None:
    m = Movement(cleared=False)
    t = m.stand(0, 0.0, 300)
    for i in range(10):  # parked on the edge with a poor fix: never surely out
        m.fix(t + 60 * i, 1.02, speed_mps=0.0, accuracy_m=40)
    assert m.raised == []


# --------------------------------------------------------------------------- fences that alert


def test_entering_a_fence_that_asks_for_it_raises_once_after_dwell() -> None:
    m = Movement()
    t = leave_port(m)
    t = m.drive(t, 5.0, 33.0)
    for i in range(20):  # into the market, 5 km north
        m.fix(t + 60 * i, 34.0, 5000, speed_mps=0.0)
    entered = [r for r in m.raised if r.rule == "geofence_enter"]
    assert len(entered) == 1
    assert entered[0].at == at(t + 60) and entered[0].severity == "critical"
    assert entered[0].details["fence"] == "market"
    # fences without an `alert` property (port, rest stop, depot) never raise by themselves
    assert {r.rule for r in m.raised} == {"geofence_enter", "corridor_deviation"}


# --------------------------------------------------------------------------- e-seals


def test_a_seal_opened_in_transit_is_raised_once_until_it_is_armed_again() -> None:
    m = Movement()
    t = leave_port(m)
    assert [r.rule for r in m.seal(t, "opened")] == ["seal_opened"]
    assert m.seal(t + 60, "status", "opened") == []  # still open: same episode
    assert m.seal(t - 600, "armed") == []  # late: older than what was judged
    assert m.seal(t + 120, "armed") == []
    assert [r.rule for r in m.seal(t + 180, "tampered")] == ["seal_tampered"]


def test_a_seal_opened_at_the_destination_is_not_an_alert() -> None:
    m = Movement()
    m.stand(0, 55.0, 300)
    assert m.state.arrived_at is not None
    assert m.seal(400, "opened") == []


# --------------------------------------------------------------------------- failures


def test_a_failing_rule_is_skipped_and_the_others_still_judge() -> None:
    # A context naming a corridor the site does not know: the rules that measure along
    # it (overdue, deviation) fail on this fix; the others judge it as usual.
    m = Movement(corridor="no-such-road")
    lon, lat = lon_at(34.0), lat_north(5000)
    fix = Fix(
        context=m.context,
        device_id="trk-1",
        at=at(0),
        received_at=at(0),
        lon=lon,
        lat=lat,
        speed_mps=0.0,
        uncertainty_m=6.0,
        placement=SITE.place(lon, lat, 6.0),
        corridor=CorridorPosition(5000.0, 34_000.0, 21_000.0),
    )
    state, raised = judge(TransitState(), fix, lambda rule, err: m.failures.append(rule.__name__))
    assert sorted(m.failures) == ["deviation", "overdue"]
    assert state.latest_at == at(0)  # track ran
    assert state.fences["market"].pending_since == at(0)  # geofences ran
    assert state.stop is not None  # stop ran
    assert raised == []
    with pytest.raises(UnknownFence):  # without a failure handler the error is not hidden
        judge(TransitState(), fix)
