"""Prometheus metrics of a gate box, served on 127.0.0.1:`metrics_port` when configured.

A node exporter and the site's Prometheus scrape it; alerting on `device_up == 0`
or a growing `outbox_pending` is the field engineer's early warning.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server


class EdgeMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.passages = Counter(
            "corridor_edge_passages", "Passages fused and queued", ["lane"], registry=r
        )
        self.decisions = Counter(
            "corridor_edge_decisions",
            "Decisions received, by what the box did (opened, or why not)",
            ["lane", "outcome"],
            registry=r,
        )
        self.asked_again = Counter(
            "corridor_edge_passages_asked_again",
            "Passages sent again: receipted by central, no decision after ask_again_after_s",
            ["lane"],
            registry=r,
        )
        self.release_latency = Histogram(
            "corridor_edge_release_latency_seconds",
            "Passage handed to the broker -> barrier open coil written",
            ["lane"],
            buckets=(0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=r,
        )
        # A camera lane's reading: a rising share of bursts with nothing read is a
        # dirty lens, a camera knocked off its aim or a read area set wrong.
        self.camera_read_seconds = Histogram(
            "corridor_edge_camera_read_seconds",
            "Time to read one burst of a camera device (all its views)",
            ["device"],
            buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0),
            registry=r,
        )
        self.camera_bursts = Counter(
            "corridor_edge_camera_bursts",
            "Camera bursts read, by outcome: read (a plate or code reported) or nothing",
            ["device", "outcome"],
            registry=r,
        )
        self.outbox_pending = Gauge(
            "corridor_edge_outbox_pending", "Messages not yet receipted by central", registry=r
        )
        self.device_up = Gauge(
            "corridor_edge_device_up", "1 when the device answers", ["device"], registry=r
        )
        self.device_problems = Gauge(
            "corridor_edge_device_problems",
            "Problems an SNMP health target reports (on battery, ports down...)",
            ["device"],
            registry=r,
        )
        self.snmp_traps = Counter(
            "corridor_edge_snmp_traps", "SNMP traps received, by kind", ["kind"], registry=r
        )
        self.rejected = Counter(
            "corridor_edge_rejected_messages", "Bus messages rejected as invalid", registry=r
        )
        self.connected = Gauge("corridor_edge_broker_connected", "1 while connected", registry=r)
        self.at_node = Gauge(
            "corridor_edge_at_node",
            "1: the box is at its logistic node; 0: surely away from it; NaN: no current fix",
            registry=r,
        )
        self.gnss_fix_age = Gauge(
            "corridor_edge_gnss_fix_age_seconds",
            "Seconds since the box's latest GNSS fix with a position (NaN: none yet)",
            registry=r,
        )

    def serve(self, port: int) -> None:
        """Serve /metrics on loopback (a daemon thread)."""
        start_http_server(port, addr="127.0.0.1", registry=self.registry)
