"""Benchmarks; `python -m bench [NAME ...]` runs them and writes BENCHMARKS.md."""
