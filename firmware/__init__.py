"""MicroPython firmware: the gate I/O controller and the e-seal tag.

Everything under this package is MicroPython code (no typing at run time, no
dataclasses) except the `hal_cpython` and `host` modules, which let the same
logic run under CPython for tests and simulation.
"""
