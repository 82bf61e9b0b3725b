"""E-seal tag: tamper loop, append-only event log, signed status frames, battery."""
