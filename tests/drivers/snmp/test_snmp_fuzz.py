"""Fuzzing the trap interpretation and value conversion with hypothesis."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.snmp import oids
from drivers.snmp.device import SnmpDevice, SnmpTarget
from drivers.snmp.oids import TrapKind, UpsBatteryStatus
from drivers.snmp.traps import MalformedTrap, trap_from_varbinds

oid_parts = st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=14).map(tuple)
values = st.one_of(st.none(), st.integers(-(2**40), 2**40), st.text(max_size=30))
varbinds = st.lists(st.tuples(oid_parts, values), max_size=8)


@settings(max_examples=400, deadline=None)
@given(varbinds=varbinds, trap_oid=st.one_of(values, oid_parts.map(oids.dotted)))
def test_any_notification_is_a_trap_or_a_malformed_trap(
    varbinds: list[tuple[tuple[int, ...], object]], trap_oid: object
) -> None:
    binds = [*varbinds, (oids.SNMP_TRAP_OID, trap_oid)]
    try:
        trap = trap_from_varbinds("127.0.0.1:9", binds)  # type: ignore[arg-type]
    except MalformedTrap:
        return
    assert trap.trap_oid == trap_oid
    assert trap.uptime_s is None or trap.uptime_s >= 0


def test_known_traps_and_their_port() -> None:
    trap = trap_from_varbinds(
        "10.0.0.2:162",
        [
            (oids.SYS_UPTIME, 12345),
            (oids.SNMP_TRAP_OID, oids.dotted(oids.LINK_DOWN)),
            ((*oids.IF_OPER_STATUS, 7), 2),
        ],
    )
    assert trap.kind == TrapKind.LINK_DOWN and trap.if_index == 7 and trap.uptime_s == 123.45
    other = trap_from_varbinds("10.0.0.2:162", [(oids.SNMP_TRAP_OID, "1.3.6.1.4.1.9.9.1")])
    assert other.kind == TrapKind.OTHER and other.if_index is None


@settings(max_examples=300, deadline=None)
@given(value=values)
def test_value_checks_return_a_member_or_none(value: int | str | None) -> None:
    device = SnmpDevice(SnmpTarget(name="ups", kind="ups", host="127.0.0.1"))
    status = device._enum("upsBatteryStatus", value, UpsBatteryStatus)
    charge = device._int("upsEstimatedChargeRemaining", value, 0, 100)
    assert status is None or isinstance(status, UpsBatteryStatus)
    assert charge is None or 0 <= charge <= 100
    counted = device.stats.bad_values
    assert counted == (value is not None) * ((status is None) + (charge is None))
