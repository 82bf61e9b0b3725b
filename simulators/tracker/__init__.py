"""A GNSS tracker simulator: units driving real-world-shaped routes, with faults.

Fixes go out as NMEA 0183 on a serial port (or pty), so a receiver driver or gpsd
cannot tell the simulator from a receiver, or as `contract.PositionFix` over MQTT,
as a telematics gateway would publish them.

    journey = Journey("truck-7", load_route("corridor.geojson"), SpeedProfile.constant_kmh(60),
                      start=datetime(2026, 3, 1, 6, tzinfo=UTC), faults=[LongStop(at_s=3600,
                      duration_s=5400)], seed=7)
    await run_tracker(journey, MqttSink(settings), time_scale=3600)
"""

from simulators.tracker.journey import (
    FAULTS,
    Deviation,
    Fault,
    Jitter,
    Journey,
    LateBurst,
    LongStop,
    Plan,
    Silence,
    SpeedProfile,
    TrackPoint,
    plan_track,
)
from simulators.tracker.route import Route, RouteError, load_route, route_from_geojson
from simulators.tracker.runner import (
    FixSink,
    MemorySink,
    MqttSink,
    NmeaSink,
    TrackerError,
    TrackerReport,
    position_fix,
    run_tracker,
)

__all__ = [
    "FAULTS",
    "Deviation",
    "Fault",
    "FixSink",
    "Jitter",
    "Journey",
    "LateBurst",
    "LongStop",
    "MemorySink",
    "MqttSink",
    "NmeaSink",
    "Plan",
    "Route",
    "RouteError",
    "Silence",
    "SpeedProfile",
    "TrackPoint",
    "TrackerError",
    "TrackerReport",
    "load_route",
    "plan_track",
    "position_fix",
    "route_from_geojson",
    "run_tracker",
]
