"""Run benchmark modules: `python -m bench` (all) or `python -m bench NAME ...`.

Each module in this package exposes `main() -> None`, prints its figures and
rewrites its own section of BENCHMARKS.md (see `bench.report`).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import bench


def main(argv: list[str]) -> int:
    names = argv or sorted(
        m.name
        for m in pkgutil.iter_modules(bench.__path__)
        if not m.name.startswith("_") and m.name != "report"
    )
    for name in names:
        print(f"== bench {name}", flush=True)
        importlib.import_module(f"bench.{name}").main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
