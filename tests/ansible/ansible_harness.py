"""Render the Ansible roles' templates with the example inventory, in plain Jinja2.

The variables are what Ansible itself computes for each host (`ansible-inventory
--list`: the inventory file and host_vars/), over the defaults of the roles that the
host's play runs. Templated strings in variables are rendered lazily, on use, as
Ansible does; only Jinja2's own filters are available, so a template that needs an
Ansible-only filter fails here. `test_ansible_playbook.py` checks that Ansible
renders every template to the same text.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any, cast

import jinja2
import yaml

REPO = Path(__file__).resolve().parents[2]
ANSIBLE = REPO / "ansible"
ROLES = ANSIBLE / "roles"
INVENTORY = ANSIBLE / "inventory.example.yml"
BIN = Path(sys.executable).parent

# The roles each play of site.yml runs, by inventory group.
PLAY_ROLES = {
    "broker": ["common", "broker"],
    "central": ["common", "central"],
    "gateboxes": ["common", "gatebox"],
}


def ansible_env(tmp: Path) -> dict[str, str]:
    """Environment for ansible commands: nothing read from or written to ~/.ansible."""
    return {
        "PATH": f"{BIN}:/usr/bin:/bin",
        "HOME": str(tmp),
        "ANSIBLE_HOME": str(tmp / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(tmp / "ansible-tmp"),
        "ANSIBLE_CONFIG": str(ANSIBLE / "ansible.cfg"),
        "ANSIBLE_ROLES_PATH": str(ROLES),
        "ANSIBLE_NOCOLOR": "1",
        "LC_ALL": "C.UTF-8",
    }


@cache
def inventory() -> dict[str, Any]:
    """`ansible-inventory --list` of the example inventory."""
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [str(BIN / "ansible-inventory"), "-i", str(INVENTORY), "--list"],
            check=True,
            capture_output=True,
            text=True,
            env=ansible_env(Path(tmp)),
            cwd=REPO,
        )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def groups() -> dict[str, list[str]]:
    """Group name -> hosts (children included), as Ansible's `groups` variable."""
    data = inventory()

    def hosts_of(group: str) -> list[str]:
        entry = data.get(group, {})
        hosts = list(entry.get("hosts", []))
        for child in entry.get("children", []):
            hosts += [h for h in hosts_of(child) if h not in hosts]
        return hosts

    names = [name for name in data if name != "_meta"]
    return {name: hosts_of(name) for name in names}


def role_defaults(role: str) -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load((ROLES / role / "defaults" / "main.yml").read_text())
    return values or {}


def play_group(host: str) -> str:
    member_of = [group for group in PLAY_ROLES if host in groups()[group]]
    assert len(member_of) == 1, f"{host} is in {member_of}: one play per host"
    return member_of[0]


class Vars(Mapping[str, Any]):
    """A host's variables; templated strings are rendered on access, like Ansible's."""

    def __init__(self, env: jinja2.Environment, raw: dict[str, Any]) -> None:
        self.env = env
        self.raw = raw
        self._resolving: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        if key not in self.raw:
            if key in self.env.globals:
                return self.env.globals[key]
            raise KeyError(key)
        if key in self._resolving:
            raise RecursionError(f"variable {key} refers to itself")
        self._resolving.add(key)
        try:
            return self.resolve(self.raw[key])
        finally:
            self._resolving.discard(key)

    def __contains__(self, key: object) -> bool:
        return key in self.raw or key in self.env.globals

    def __iter__(self) -> Iterator[str]:
        return iter(self.raw)

    def __len__(self) -> int:
        return len(self.raw)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, str) and ("{{" in value or "{%" in value):
            return render_with(self.env.from_string(value), self)
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if isinstance(value, dict):
            return {key: self.resolve(item) for key, item in value.items()}
        return value


def render_with(template: jinja2.Template, variables: Mapping[str, Any]) -> str:
    # shared=True: the template reads `variables` itself, so only what it uses is
    # resolved (a default that calls an Ansible lookup is never touched here).
    context = template.new_context(cast(dict[str, Any], variables), shared=True)
    return "".join(template.root_render_func(context))


def environment(loader: jinja2.BaseLoader | None = None) -> jinja2.Environment:
    # The template module's settings: trim_blocks on, lstrip_blocks off, the
    # template's trailing newline kept.
    return jinja2.Environment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=False,
        keep_trailing_newline=True,
        autoescape=False,
    )


class Host:
    """One inventory host with the variables its play sees."""

    def __init__(self, name: str, extra: dict[str, Any] | None = None) -> None:
        self.name = name
        self.group = play_group(name)
        self.roles = PLAY_ROLES[self.group]
        self.env = environment(
            jinja2.FileSystemLoader([str(ROLES / role / "templates") for role in self.roles])
        )
        raw: dict[str, Any] = {}
        for role in self.roles:
            raw.update(role_defaults(role))
        raw.update(inventory()["_meta"]["hostvars"].get(name, {}))
        raw.update(extra or {})
        raw.update(
            inventory_hostname=name,
            groups=groups(),
            playbook_dir=str(ANSIBLE),
            inventory_dir=str(INVENTORY.parent),
            hostvars=HostVars(),
        )
        self.vars = Vars(self.env, raw)

    def __getitem__(self, key: str) -> Any:
        return self.vars[key]

    def render(self, template: str, **extra: Any) -> str:
        variables: Mapping[str, Any] = self.vars
        if extra:
            variables = Vars(self.env, {**self.vars.raw, **extra})
        return render_with(self.env.get_template(template), variables)


class HostVars(Mapping[str, Any]):
    """`hostvars`: another host's inventory variables (not its play's role defaults)."""

    def __getitem__(self, host: str) -> Any:
        raw = dict(inventory()["_meta"]["hostvars"][host])
        raw.update(inventory_hostname=host, groups=groups())
        return Vars(environment(), raw)

    def __iter__(self) -> Iterator[str]:
        return iter(inventory()["_meta"]["hostvars"])

    def __len__(self) -> int:
        return len(inventory()["_meta"]["hostvars"])


def hosts_in(group: str) -> list[str]:
    return groups()[group]
