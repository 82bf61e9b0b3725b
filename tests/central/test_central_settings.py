"""Settings: YAML file, environment overrides, strictness, and the documented reference."""

from __future__ import annotations

from pathlib import Path

import pytest

from central.errors import ConfigError
from central.settings import load_settings, settings_reference
from central.site import load_site

DOC = Path(__file__).resolve().parents[2] / "docs" / "central.md"


def test_file_then_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "central.yaml"
    config.write_text(
        "mqtt: {port: 8883, ca_file: ca.pem}\nsite_file: site.yaml\ndecision_ttl_s: 10\n"
    )
    monkeypatch.setenv("CORRIDOR_CENTRAL__MQTT__HOST", "broker.port.example")
    monkeypatch.setenv("CORRIDOR_CENTRAL__DECISION_TTL_S", "5")
    settings = load_settings(config)
    assert (settings.mqtt.host, settings.mqtt.port) == ("broker.port.example", 8883)
    assert settings.decision_ttl_s == 5
    assert settings.mqtt.ca_file == str(tmp_path / "ca.pem")  # relative to the file
    assert settings.site_file == tmp_path / "site.yaml"
    assert settings.require_signed_passages is False


def test_signed_passages_default_follows_gate_keys_dir(tmp_path: Path) -> None:
    assert load_settings(None, gate_keys_dir=tmp_path).require_signed_passages is True
    with pytest.raises(ConfigError, match="require_signed_passages needs gate_keys_dir"):
        load_settings(None, require_signed_passages=True)


@pytest.mark.parametrize(
    "text", ["databse_url: x\n", "mqtt: {hots: x}\n", "decision_ttl_s: -1\n", "[1, 2]\n"]
)
def test_bad_settings_are_refused_clearly(tmp_path: Path, text: str) -> None:
    config = tmp_path / "central.yaml"
    config.write_text(text)
    with pytest.raises(ConfigError, match="invalid central settings"):
        load_settings(config)


def test_bad_site_file_is_refused_clearly(tmp_path: Path) -> None:
    site = tmp_path / "site.yaml"
    site.write_text(
        "site: x\nnodes: [{id: a, gates: [g1]}]\n"
        "processes: {p: {steps: [{nodes: [a]}, {nodes: [nowhere]}]}}\n"
    )
    with pytest.raises(ConfigError, match=r"unknown nodes \['nowhere'\]"):
        load_site(site)


def test_every_setting_is_documented() -> None:
    doc = DOC.read_text(encoding="utf-8")
    missing = [row for row in settings_reference().splitlines() if row not in doc]
    assert missing == [], "run `corridor central config-doc` and update docs/central.md"
