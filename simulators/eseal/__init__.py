"""Simulated e-seal reader with the real tag firmware in its field."""

from simulators.eseal.reader import EsealReaderSim, SealInField

__all__ = ["EsealReaderSim", "SealInField"]
