"""Simulated devices that speak the real protocols, and whole-port scenarios."""
