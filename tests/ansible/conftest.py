"""Fixtures: the example inventory's hosts, with the variables their plays see."""

from __future__ import annotations

import pytest
from ansible_harness import Host, hosts_in


@pytest.fixture(scope="session")
def broker_host() -> Host:
    (name,) = hosts_in("broker")
    return Host(name)


@pytest.fixture(scope="session")
def central_host() -> Host:
    (name,) = hosts_in("central")
    return Host(name)


@pytest.fixture(scope="session")
def gate_hosts() -> list[Host]:
    hosts = [Host(name) for name in hosts_in("gateboxes")]
    assert len(hosts) >= 2, "the example port has two gate boxes"
    return hosts
