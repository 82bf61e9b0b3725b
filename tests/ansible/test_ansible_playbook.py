"""ansible-core itself: the playbook parses (module names resolve, roles exist), and
Ansible renders every template to exactly what the plain-Jinja2 harness renders, so
the harness's checks hold for what Ansible writes on the hosts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from ansible_harness import ANSIBLE, BIN, INVENTORY, REPO, ROLES, Host, ansible_env, hosts_in

RENDER = Path(__file__).parent / "render.yml"

# What tests/ansible/render.yml renders for each play: output name -> (template, extra vars).
Rendered = dict[str, tuple[str, dict[str, Any]]]
TEMPLATES: dict[str, Rendered] = {
    "broker": {
        "acl": ("acl.j2", {}),
        "passwd.plain": ("passwd.plain.j2", {}),
        "mosquitto.conf": ("mosquitto.conf.j2", {}),
    },
    "central": {
        "central.yaml": ("central.yaml.j2", {}),
        "corridor-central.service": ("corridor-central.service.j2", {}),
    },
    "gateboxes": {
        "edge.yaml": ("edge.yaml.j2", {}),
        "edge-health.yaml": ("edge.yaml.j2", {"corridor_edge_health": True}),
        "60-corridor-serial.rules": ("60-corridor-serial.rules.j2", {}),
        "corridor-edge.service": ("corridor-edge.service.j2", {}),
        "corridor-edge-health.service": ("corridor-edge-health.service.j2", {}),
        "corridor-edge-health.timer": ("corridor-edge-health.timer.j2", {}),
    },
}
COMMON: Rendered = {
    "chrony.conf": ("chrony.conf.j2", {}),
    "journald.conf": ("journald.conf.j2", {}),
}


def _run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, capture_output=True, text=True, env=ansible_env(tmp_path), cwd=REPO, timeout=120
    )


def test_site_playbook_passes_syntax_check(tmp_path: Path) -> None:
    result = _run(
        [
            str(BIN / "ansible-playbook"),
            "--syntax-check",
            "-i",
            str(INVENTORY),
            str(ANSIBLE / "site.yml"),
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ansible_renders_what_the_harness_checks(tmp_path: Path) -> None:
    out = tmp_path / "rendered.json"
    result = _run(
        [
            str(BIN / "ansible-playbook"),
            "-i",
            str(INVENTORY),
            str(RENDER),
            "--tags",
            "render",
            "-e",
            f"render_out={out}",
            "-e",
            f"roles_dir={ROLES}",
            "-e",
            f"ansible_python_interpreter={sys.executable}",
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    by_host = json.loads(out.read_text())
    compared = 0
    for group, templates in TEMPLATES.items():
        for name in hosts_in(group):
            rendered = by_host[name]
            host = Host(name)
            expected = {**COMMON, **templates}
            assert set(rendered) == set(expected), name
            for output, (template, extra) in expected.items():
                assert rendered[output] == host.render(template, **extra), (name, output)
                compared += 1
    assert compared == 5 + 4 + 2 * 8
