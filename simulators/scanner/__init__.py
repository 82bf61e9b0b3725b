"""Simulated NII/X-ray scanner speaking NII-1 on a TCP port."""

from simulators.scanner.server import NiiScannerSim, ScanRecord

__all__ = ["NiiScannerSim", "ScanRecord"]
