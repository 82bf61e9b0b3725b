"""Whole-port scenarios: a YAML file of site, declarations, trucks, a timeline and the
outcomes expected of it. `corridor demo --headless --scenario FILE` runs one."""

from simulators.scenario.model import Scenario, ScenarioError, load

__all__ = ["Scenario", "ScenarioError", "load"]
