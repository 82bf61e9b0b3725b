"""`corridor sim eseal|scanner|snmp|gate-io`: run one simulated gate device.

Each command starts the simulator on a real port (a pty for serial devices, TCP
or UDP otherwise), prints where it is, and then reads fault-injection commands
from standard input, one per line (`help` lists them), until Ctrl-C or
`--duration` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shlex
import sys
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

import click

from contract.tasks import within

log = logging.getLogger(__name__)

# For rehearsals only: real deployments provision per-seal keys from a secret issuer key.
DEMO_ISSUER_KEY = "corridor-demo-issuer-key-not-secret"

Handler = Callable[[list[str]], Awaitable[str] | str]


def _stdin_lines(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[str | None]) -> None:
    """Feed stdin lines into the loop from a daemon thread (never blocks exit)."""

    def pump() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(queue.put_nowait, line)
        loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=pump, name="sim-console", daemon=True).start()


async def _console(handlers: dict[str, tuple[str, Handler]], duration: float | None) -> None:
    """Run fault-injection commands from stdin until EOF+duration, Ctrl-C or the duration."""
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    _stdin_lines(asyncio.get_running_loop(), queue)
    deadline = None if duration is None else asyncio.get_running_loop().time() + duration
    while True:
        timeout = None if deadline is None else deadline - asyncio.get_running_loop().time()
        if timeout is not None and timeout <= 0:
            return
        try:
            line = await within(queue.get(), timeout)
        except TimeoutError:
            return
        if line is None:  # stdin closed: keep running until the duration or Ctrl-C
            if deadline is None:
                await asyncio.Event().wait()
            else:
                await asyncio.sleep(max(0.0, deadline - asyncio.get_running_loop().time()))
            return
        click.echo(await _dispatch(handlers, line))


async def _dispatch(handlers: dict[str, tuple[str, Handler]], line: str) -> str:
    try:
        words = shlex.split(line)
    except ValueError as err:
        return f"? {err}"
    if not words:
        return ""
    if words[0] == "help":
        return "\n".join(f"  {name:<16} {text}" for name, (text, _) in sorted(handlers.items()))
    entry = handlers.get(words[0])
    if entry is None:
        return f"? unknown command {words[0]!r} (try help)"
    try:
        result = entry[1](words[1:])
        return await result if not isinstance(result, str) else result
    except (ValueError, IndexError, KeyError) as err:
        return f"? {words[0]}: {err!r}"


def _link(port: str, link: Path | None) -> str:
    """A stable name for a pty (like socat's link=), so configs need not change."""
    if link is None:
        return port
    with contextlib.suppress(FileNotFoundError):
        link.unlink()
    link.symlink_to(port)
    return f"{link} -> {port}"


def _on_off(args: list[str]) -> bool:
    if args[0] not in ("on", "off"):
        raise ValueError("say on or off")
    return args[0] == "on"


@click.group()
def cli() -> None:
    """Simulated gate devices that speak the real protocols."""


# ------------------------------------------------------------------------- e-seal


@cli.command()
@click.option("--node-id", default="GATE-1", show_default=True, help="Reader's logistic node.")
@click.option("--seal", "seals", multiple=True, default=["ES0000001"], show_default=True,
              help="Seal id in the field at start (repeat for more).")  # fmt: skip
@click.option("--issuer-key", default=DEMO_ISSUER_KEY, show_default=True,
              help="Issuer key; each seal's key is derived from it and the seal id.")  # fmt: skip
@click.option("--link", type=click.Path(path_type=Path), help="Symlink to create for the pty.")
@click.option("--garbage-rate", type=float, default=0.0, help="Noise before a frame (0..1).")
@click.option("--corrupt-rate", type=float, default=0.0, help="Frames with a bad CRC (0..1).")
@click.option("--duration", type=float, help="Stop after this many seconds.")
def eseal(
    node_id: str,
    seals: tuple[str, ...],
    issuer_key: str,
    link: Path | None,
    garbage_rate: float,
    corrupt_rate: float,
    duration: float | None,
) -> None:
    """An e-seal reader (ESR-1 on a pty) with e-seal tag firmware in its field."""
    asyncio.run(
        _eseal(node_id, seals, issuer_key.encode(), link, garbage_rate, corrupt_rate, duration)
    )


async def _eseal(
    node_id: str,
    seals: tuple[str, ...],
    issuer_key: bytes,
    link: Path | None,
    garbage_rate: float,
    corrupt_rate: float,
    duration: float | None,
) -> None:
    from drivers.eseal.air import derive_tag_key
    from firmware.eseal_tag.hal_cpython import SimulatedTagHardware
    from simulators.eseal import EsealReaderSim

    async with EsealReaderSim(node_id=node_id) as sim:
        sim.garbage_rate, sim.corrupt_rate = garbage_rate, corrupt_rate
        for seal_id in seals:
            sim.add_seal(seal_id, derive_tag_key(issuer_key, seal_id))
        click.echo(f"e-seal reader (node {node_id}) on {_link(sim.port, link)}", err=False)

        def seal(args: list[str]) -> SimulatedTagHardware:
            return sim.seals[args[0]].hardware

        def arrive(args: list[str]) -> str:
            sim.add_seal(args[0], derive_tag_key(issuer_key, args[0]))
            return f"{args[0]} in the field"

        def leave(args: list[str]) -> str:
            return f"{args[0]} left" if sim.remove_seal(args[0]) else f"{args[0]} was not here"

        def cut(args: list[str]) -> str:
            seal(args).cut_shackle()
            return f"{args[0]} shackle cut"

        def rejoin(args: list[str]) -> str:
            seal(args).rejoin_shackle()
            return f"{args[0]} shackle rejoined"

        def open_case(args: list[str]) -> str:
            seal(args).open_case()
            return f"{args[0]} case opened"

        def battery(args: list[str]) -> str:
            seal(args).battery = int(args[1])
            return f"{args[0]} battery {args[1]} mV"

        def replay(args: list[str]) -> str:
            sim.replay_status(args[0])
            return f"{args[0]} last status replayed"

        def line_fault(kind: str) -> Handler:
            actions = {"garbage": sim.garbage_next, "corrupt": sim.corrupt_next,
                       "truncate": sim.truncate_next}  # fmt: skip

            def handler(args: list[str]) -> str:
                actions[kind]()
                return f"{kind} on the next frame"

            return handler

        def silent(args: list[str]) -> str:
            sim.silent = _on_off(args)
            return f"silent {args[0]}"

        handlers: dict[str, tuple[str, Handler]] = {
            "arrive": ("SEAL: a seal enters the field", arrive),
            "leave": ("SEAL: a seal leaves the field", leave),
            "cut": ("SEAL: cut the shackle loop", cut),
            "rejoin": ("SEAL: rejoin a cut loop", rejoin),
            "open-case": ("SEAL: open the tag's case", open_case),
            "battery": ("SEAL MV: set the battery voltage", battery),
            "replay": ("SEAL: replay its last status frame", replay),
            "garbage": ("noise before the next frame", line_fault("garbage")),
            "corrupt": ("bad CRC on the next frame", line_fault("corrupt")),
            "truncate": ("cut the next frame short", line_fault("truncate")),
            "silent": ("on|off: the reader stops answering", silent),
        }
        await _console(handlers, duration)


# ------------------------------------------------------------------------- scanner


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=7410, show_default=True, help="0: any free port.")
@click.option("--scan-s", type=float, default=4.0, show_default=True, help="Scan duration.")
@click.option("--heartbeat-s", type=float, default=5.0, show_default=True)
@click.option("--duration", type=float, help="Stop after this many seconds.")
def scanner(
    host: str, port: int, scan_s: float, heartbeat_s: float, duration: float | None
) -> None:
    """An NII/X-ray scanner (NII-1 line protocol on TCP)."""
    asyncio.run(_scanner(host, port, scan_s, heartbeat_s, duration))


async def _scanner(
    host: str, port: int, scan_s: float, heartbeat_s: float, duration: float | None
) -> None:
    from simulators.scanner import NiiScannerSim

    async with NiiScannerSim(host=host, port=port, scan_s=scan_s, heartbeat_s=heartbeat_s) as sim:
        click.echo(f"NII scanner on {sim.host}:{sim.port}")

        def silent(args: list[str]) -> str:
            sim.silent = _on_off(args)
            return f"silent {args[0]}"

        async def drop(args: list[str]) -> str:
            await sim.drop_clients()
            return "connections dropped"

        def fault(args: list[str]) -> str:
            sim.fault(*args[:1])
            return f"fault {sim.fault_code}"

        def clear(args: list[str]) -> str:
            sim.clear_fault()
            return "fault cleared"

        def one_shot(action: Callable[[], None], text: str) -> Handler:
            def handler(args: list[str]) -> str:
                action()
                return text

            return handler

        def scans(args: list[str]) -> str:
            rows = [f"  {s.scan_id} {s.state} passage {s.passage_id}" for s in sim.scans]
            return "\n".join(rows) or "no scans"

        handlers: dict[str, tuple[str, Handler]] = {
            "fault": ("[CODE]: scanner fault (default xray_interlock_open)", fault),
            "clear": ("clear the fault", clear),
            "abort-next": ("the next scan aborts", one_shot(sim.abort_next_scan, "next aborts")),
            "hang-next": ("the next scan never completes", one_shot(sim.hang_next_scan, "ok")),
            "garbage": ("a garbage line before the next", one_shot(sim.garbage_next, "ok")),
            "bad-checksum": (
                "the next line fails its checksum",
                one_shot(sim.bad_checksum_next, "ok"),
            ),
            "silent": ("on|off: no answers, no heartbeat", silent),
            "drop": ("cut every connection", drop),
            "scans": ("list scans", scans),
        }
        await _console(handlers, duration)


# ------------------------------------------------------------------------- snmp


@cli.command()
@click.option("--profile", type=click.Choice(["ups", "switch", "camera", "host"]), default="ups",
              show_default=True)  # fmt: skip
@click.option("--name", default="", help="sysName (default PROFILE-sim).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=1161, show_default=True, help="0: any free port.")
@click.option("--community", default="public", show_default=True)
@click.option("--trap-to", help="HOST:PORT of a trap receiver.")
@click.option("--duration", type=float, help="Stop after this many seconds.")
def snmp(
    profile: str,
    name: str,
    host: str,
    port: int,
    community: str,
    trap_to: str | None,
    duration: float | None,
) -> None:
    """An SNMP agent: UPS, switch, camera or gate box, with traps."""
    target = None
    if trap_to:
        trap_host, _, trap_port = trap_to.rpartition(":")
        target = (trap_host, int(trap_port))
    asyncio.run(_snmp(profile, name, host, port, community, target, duration))


async def _snmp(
    profile: str,
    name: str,
    host: str,
    port: int,
    community: str,
    trap_to: tuple[str, int] | None,
    duration: float | None,
) -> None:
    from simulators.snmp import SnmpDeviceSim

    async with SnmpDeviceSim(
        profile,  # type: ignore[arg-type]
        name=name,
        host=host,
        port=port,
        community=community,
        trap_to=trap_to,
    ) as sim:
        click.echo(f"SNMP {profile} {sim.name} on {sim.host}:{sim.port} (udp)")

        async def mains(args: list[str]) -> str:
            await (sim.mains_restored() if _on_off(args) else sim.mains_lost())
            return f"mains {args[0]}"

        async def link(args: list[str]) -> str:
            await sim.set_link(int(args[0]), _on_off(args[1:]))
            return f"port {args[0]} {args[1]}"

        async def reboot(args: list[str]) -> str:
            await sim.reboot()
            return "rebooted"

        async def garbage(args: list[str]) -> str:
            await sim.send_garbage_trap()
            return "garbage datagram sent"

        def silent(args: list[str]) -> str:
            sim.silent = _on_off(args)
            return f"silent {args[0]}"

        handlers: dict[str, tuple[str, Handler]] = {
            "mains": ("on|off: UPS mains (off: on battery, trap)", mains),
            "link": ("N on|off: switch port N up or down (trap)", link),
            "reboot": ("restart the agent (coldStart trap)", reboot),
            "garbage-trap": ("a non-SNMP datagram to the trap receiver", garbage),
            "silent": ("on|off: stop answering requests", silent),
        }
        await _console(handlers, duration)


# ------------------------------------------------------------------------- gate I/O


@cli.command("gate-io")
@click.option("--link", type=click.Path(path_type=Path), help="Symlink to create for the pty.")
@click.option("--travel-s", type=float, default=2.0, show_default=True, help="Arm travel time.")
@click.option("--duration", type=float, help="Stop after this many seconds.")
def gate_io(link: Path | None, travel_s: float, duration: float | None) -> None:
    """The gate I/O controller firmware (Modbus RTU slave, unit 1) on a pty."""
    asyncio.run(_gate_io(link, travel_s, duration))


async def _gate_io(link: Path | None, travel_s: float, duration: float | None) -> None:
    from firmware.gate_io.host import GateIoHost

    with GateIoHost(travel_s=travel_s, wdt_timeout_ms=2000) as host:
        click.echo(f"gate I/O controller (Modbus RTU, unit 1) on {_link(host.port, link)}")
        hw = host.hardware

        def setter(attribute: str) -> Handler:
            def handler(args: list[str]) -> str:
                setattr(hw, attribute, _on_off(args))
                return f"{attribute} {args[0]}"

            return handler

        def jam(args: list[str]) -> str:
            hw.arm.jammed = _on_off(args)
            return f"arm jammed {args[0]}"

        def stall(args: list[str]) -> str:
            host.stall(float(args[0]))
            return f"main loop stalls for {args[0]} s"

        def state(args: list[str]) -> str:
            c = host.gate.controller
            return (
                f"state {c.state} fault {c.fault_code} cycles {c.cycles} relay {hw.relay} "
                f"arm {hw.arm.position():.2f} resets {host.resets}"
            )

        handlers: dict[str, tuple[str, Handler]] = {
            "arrival": ("on|off: vehicle on the arrival loop", setter("arrival")),
            "safety": ("on|off: vehicle under the barrier", setter("safety")),
            "mains": ("on|off: mains power (off: on battery, fault)", setter("mains")),
            "overcurrent": ("on|off: motor driver overcurrent", setter("overcurrent")),
            "jam": ("on|off: the arm cannot move", jam),
            "stall": ("S: hang the main loop (watchdog)", stall),
            "state": ("print the controller state", state),
        }
        await _console(handlers, duration)


if __name__ == "__main__":  # pragma: no cover - `python -m corridor.commands.sim_devices`
    logging.basicConfig(level=os.environ.get("CORRIDOR_LOG_LEVEL", "WARNING"))
    cli()
