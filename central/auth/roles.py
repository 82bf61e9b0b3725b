"""Roles and what each may do. One table, read by the API guard and the docs."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OPERATOR = "operator"  # monitoring-centre operator
    SUPERVISOR = "supervisor"  # shift supervisor: escalations, units, notifications
    RRU = "rru"  # a rapid response unit (its crew's phone or tablet)
    ENGINEER = "engineer"  # field engineer: gates, ingest, ledger
    CUSTOMS = "customs"  # a customs system (WeBOC, ASYCUDA, single window)
    ADMIN = "admin"


class Permission(StrEnum):
    TRAFFIC_READ = "traffic:read"  # passages, decisions, gates, mission paths, unit timelines
    CUSTOMS_READ = "customs:read"  # declarations, movements, status look-up
    CUSTOMS_WRITE = "customs:write"  # push declarations, movements, status, permits
    ALERTS_READ = "alerts:read"
    ALERTS_ACT = "alerts:act"  # acknowledge, assign, comment, escalate, close
    INCIDENTS_READ = "incidents:read"  # an RRU sees only its own incidents
    INCIDENTS_DISPATCH = "incidents:dispatch"  # open, dispatch, locate, close incidents
    INCIDENTS_RESPOND = "incidents:respond"  # RRU: acknowledge, on scene, resolve its own
    GATES_OVERRIDE = "gates:override"  # manual gate decision, with a reason
    UNITS_READ = "units:read"  # rapid response units and where they are
    UNITS_MANAGE = "units:manage"  # add units, set availability and preferences
    UNITS_REPORT = "units:report"  # an RRU reports its own position and availability
    LIVE_READ = "live:read"  # the live event stream
    MAP_READ = "map:read"  # site geofences and corridors
    LEDGER_READ = "ledger:read"
    SYSTEM_READ = "system:read"  # ingest counters, notification outbox
    USERS_MANAGE = "users:manage"


P = Permission
_OPERATOR = {
    P.TRAFFIC_READ,
    P.CUSTOMS_READ,
    P.ALERTS_READ,
    P.ALERTS_ACT,
    P.INCIDENTS_READ,
    P.INCIDENTS_DISPATCH,
    P.GATES_OVERRIDE,
    P.UNITS_READ,
    P.LIVE_READ,
    P.MAP_READ,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OPERATOR: frozenset(_OPERATOR),
    Role.SUPERVISOR: frozenset(_OPERATOR | {P.UNITS_MANAGE, P.LEDGER_READ, P.SYSTEM_READ}),
    Role.RRU: frozenset(
        {P.INCIDENTS_READ, P.INCIDENTS_RESPOND, P.UNITS_REPORT, P.LIVE_READ, P.MAP_READ}
    ),
    Role.ENGINEER: frozenset(
        {
            P.TRAFFIC_READ,
            P.ALERTS_READ,
            P.UNITS_READ,
            P.LIVE_READ,
            P.MAP_READ,
            P.LEDGER_READ,
            P.SYSTEM_READ,
        }
    ),
    Role.CUSTOMS: frozenset({P.CUSTOMS_READ, P.CUSTOMS_WRITE, P.TRAFFIC_READ, P.INCIDENTS_READ}),
    Role.ADMIN: frozenset(Permission),
}


def permissions_of(role: Role) -> frozenset[Permission]:
    return ROLE_PERMISSIONS[role]
