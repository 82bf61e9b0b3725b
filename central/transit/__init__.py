"""Cargo in transit: position fixes and e-seal events of units on the move, judged by
an ordered pipeline of pure rules against the movement's corridor, nodes and areas.

    units/+/positions ─► decode ─► dedupe ─► resolve movement ─► place (geometry)
                         ─► judge (rules, in order) ─► store (+ ledger) ─► publish ─► time series
    seals/+/events    ─► decode ─► dedupe ─► resolve movement ─► judge ─► store ─► publish
    central's clock   ─► sweep: every movement in transit gets a Tick (signal loss, overdue)

Three layers, as in Traccar: geometry (`geofences`), which fences hold a fix given
its accuracy (`central.transit.geometry`), and what that means (`central.transit.rules`).
See docs/transit.md.
"""
