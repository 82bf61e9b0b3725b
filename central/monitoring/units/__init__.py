"""Shipped sets of rapid response units (`monitoring.unit_sets`), one YAML list per set."""

from __future__ import annotations

from importlib import resources

import yaml
from pydantic import TypeAdapter, ValidationError

from central.errors import ConfigError
from central.monitoring.settings import ResponseUnitSettings

_UNITS = TypeAdapter(list[ResponseUnitSettings])


def names() -> list[str]:
    folder = resources.files(__name__)
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


def load(name: str) -> list[ResponseUnitSettings]:
    if name not in names():
        raise ConfigError(f"no unit set {name!r}; shipped: {', '.join(names())}")
    text = resources.files(__name__).joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    try:
        return _UNITS.validate_python(yaml.safe_load(text))
    except (yaml.YAMLError, ValidationError) as err:
        raise ConfigError(f"unit set {name} is invalid: {err}") from err
