"""Simulated SNMP devices (UPS, switch, camera, gate box) on real UDP ports."""

from simulators.snmp.agent import OidTable, SnmpDeviceSim

__all__ = ["OidTable", "SnmpDeviceSim"]
