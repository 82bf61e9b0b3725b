"""`corridor sim`: simulated devices that speak the real protocols, one family per subcommand.

barrier, rfid and anpr live here; eseal, scanner, snmp and gate-io come from
`corridor.commands.sim_devices`; tracker is `corridor gnss simulate`. `gate` runs
a whole lane (barrier controller, RFID reader, ANPR camera, e-seal reader, NII
scanner) and prints a gate box configuration that points at it. Each simulator
reads fault-injection commands from standard input (`help` lists them).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import tempfile
from pathlib import Path

import click
import yaml

from corridor.commands import sim_devices
from corridor.commands.gnss import simulate as tracker
from corridor.commands.sim_devices import DEMO_ISSUER_KEY, Handler, _console, _link, _on_off


@click.group()
def cli() -> None:
    """Simulated gate devices and units on the move."""


for _name, _command in sim_devices.cli.commands.items():
    cli.add_command(_command, _name)
cli.add_command(tracker, "tracker")


def _run(coroutine: object) -> None:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(coroutine)  # type: ignore[arg-type]


# ------------------------------------------------------------------------- barrier


def _barrier_handlers(model: object) -> dict[str, tuple[str, Handler]]:
    from drivers.barrier import FaultCode
    from simulators.barrier import BarrierModel

    assert isinstance(model, BarrierModel)

    def arrive(args: list[str]) -> str:
        model.vehicle_arrives(args[0] if args else "vehicle")
        return "vehicle on the arrival loop"

    def back_out(args: list[str]) -> str:
        return f"{model.vehicle_backs_out() or 'nobody'} backed out"

    def fault(args: list[str]) -> str:
        code = FaultCode[args[0].upper()]
        model.inject_fault(code, at_next_motion=len(args) > 1 and args[1] == "next")
        return f"fault {code.name.lower()}"

    def reset(args: list[str]) -> str:
        model.command_fault_reset()
        return f"fault reset: {model.state.name.lower()}"

    def state(args: list[str]) -> str:
        return (
            f"{model.state.name.lower()} arm {model.position:.2f} fault {model.fault_code.name} "
            f"cycles {model.cycles} vehicles {[v.label for v in model.vehicles]} "
            f"passed {model.passed[-5:]}"
        )

    return {
        "arrive": ("[LABEL]: a vehicle drives onto the arrival loop", arrive),
        "backout": ("the waiting vehicle leaves without passing", back_out),
        "fault": ("NAME [next]: motor_overcurrent, power_loss, ... (next: at next motion)", fault),
        "reset": ("clear a fault (as FAULT_RESET)", reset),
        "state": ("print the controller state", state),
    }


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5020, show_default=True, help="Modbus TCP port")
@click.option("--motion-ms", default=2000, show_default=True, help="arm travel time")
@click.option("--duration", type=float, help="stop after this many seconds")
def barrier(host: str, port: int, motion_ms: int, duration: float | None) -> None:
    """The barrier controller (Modbus TCP, unit 1; map in docs/devices.md)."""
    from simulators.barrier import BarrierModel, BarrierPlcSim

    async def main() -> None:
        async with BarrierPlcSim(
            host=host, port=port, model=BarrierModel(motion_time_ms=motion_ms)
        ) as sim:
            click.echo(f"barrier controller on modbus tcp {host}:{port}, unit 1")
            await _console(_barrier_handlers(sim.model), duration)

    _run(main())


# ------------------------------------------------------------------------- rfid


def _rfid_handlers(sim: object) -> dict[str, tuple[str, Handler]]:
    from simulators.rfid import RfidReaderSim

    assert isinstance(sim, RfidReaderSim)

    def enter(args: list[str]) -> str:
        sim.tag_enters(args[0], rssi_dbm=float(args[1]) if len(args) > 1 else -55.0)
        return f"tag {args[0]} in the field"

    def leave(args: list[str]) -> str:
        sim.tag_leaves(args[0])
        return f"tag {args[0]} gone"

    def silent(args: list[str]) -> str:
        sim.silent = _on_off(args)
        return f"silent {args[0]}"

    def garbage(args: list[str]) -> str:
        sim.garbage_rate = float(args[0])
        return f"garbage rate {sim.garbage_rate}"

    def corrupt(args: list[str]) -> str:
        sim.corrupt_rate = float(args[0])
        return f"corrupt rate {sim.corrupt_rate}"

    return {
        "enter": ("EPC [RSSI_DBM]: a tag enters the field", enter),
        "leave": ("EPC: the tag leaves", leave),
        "silent": ("on|off: the reader stops answering", silent),
        "garbage": ("P: probability of garbage bytes before a frame", garbage),
        "corrupt": ("P: probability of a broken checksum", corrupt),
    }


@cli.command()
@click.option("--link", type=click.Path(), help="symlink to create for the pty")
@click.option("--duration", type=float, help="stop after this many seconds")
def rfid(link: str | None, duration: float | None) -> None:
    """A UHF RFID reader (R2000-style framing) on a pty."""
    from pathlib import Path

    from simulators.rfid import RfidReaderSim

    async def main() -> None:
        async with RfidReaderSim() as sim:
            click.echo(f"rfid reader on {_link(sim.port, Path(link) if link else None)}")
            await _console(_rfid_handlers(sim), duration)

    _run(main())


# ------------------------------------------------------------------------- anpr


def _anpr_handlers(sim: object) -> dict[str, tuple[str, Handler]]:
    from simulators.anpr import AnprCameraSim

    assert isinstance(sim, AnprCameraSim)

    def present(args: list[str]) -> str:
        sim.present(plate=args[0], containers=args[1:])
        return f"presented {args}"

    def misread(args: list[str]) -> str:
        sim.misread_rate = float(args[0])
        return f"misread rate {sim.misread_rate}"

    def drop(args: list[str]) -> str:
        sim.drop_connections()
        return "connections dropped"

    return {
        "show": ("PLATE [CONTAINER ...]: a vehicle in view", present),
        "misread": ("P: probability of one confused character", misread),
        "drop": ("drop every client connection", drop),
    }


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=9100, show_default=True, help="TCP port of the event feed")
@click.option("--duration", type=float, help="stop after this many seconds")
def anpr(host: str, port: int, duration: float | None) -> None:
    """An ANPR camera pushing JSON-line reads over TCP."""
    from simulators.anpr import AnprCameraSim

    async def main() -> None:
        async with AnprCameraSim(host=host, port=port) as sim:
            click.echo(f"ANPR feed on tcp {host}:{sim.port}")
            await _console(_anpr_handlers(sim), duration)

    _run(main())


# ------------------------------------------------------------------------- gate


def _lane_device_handlers(eseal: object, scanner: object) -> dict[str, tuple[str, Handler]]:
    from simulators.eseal import EsealReaderSim
    from simulators.scanner import NiiScannerSim

    assert isinstance(eseal, EsealReaderSim) and isinstance(scanner, NiiScannerSim)

    def seal_fault(action: str) -> Handler:
        def handler(args: list[str]) -> str:
            hardware = eseal.seals[args[0]].hardware
            {"cut": hardware.cut_shackle, "open-case": hardware.open_case}[action]()
            return f"{args[0]}: {action}"

        return handler

    def scanner_fault(args: list[str]) -> str:
        scanner.fault(*args[:1])
        return f"scanner fault {scanner.fault_code}"

    def scanner_clear(args: list[str]) -> str:
        scanner.clear_fault()
        return "scanner fault cleared"

    def scans(args: list[str]) -> str:
        rows = [f"  {s.scan_id} {s.state} passage {s.passage_id}" for s in scanner.scans]
        return "\n".join(rows) or "no scans"

    def seals(args: list[str]) -> str:
        return ", ".join(eseal.seals) or "no seals in the field"

    return {
        "eseal-cut": ("SEAL: cut the shackle loop of a seal in the field", seal_fault("cut")),
        "eseal-open-case": ("SEAL: open the tag's case", seal_fault("open-case")),
        "eseal-seals": ("list the seals in the reader's field", seals),
        "scanner-fault": ("[CODE]: scanner fault (default xray_interlock_open)", scanner_fault),
        "scanner-clear": ("clear the scanner fault", scanner_clear),
        "scanner-scans": ("list scans", scans),
    }


@cli.command()
@click.option("--gate-id", default="gate-1", show_default=True)
@click.option("--modbus-port", default=5020, show_default=True)
@click.option("--anpr-port", default=9100, show_default=True)
@click.option("--scanner-port", default=7410, show_default=True, help="NII-1 TCP port")
@click.option("--scan-s", default=2.0, show_default=True, help="scanner: seconds per scan")
@click.option("--issuer-key", default=DEMO_ISSUER_KEY, show_default=True,
              help="e-seal issuer key; each seal's key is derived from it")  # fmt: skip
@click.option("--duration", type=float, help="stop after this many seconds")
def gate(
    gate_id: str,
    modbus_port: int,
    anpr_port: int,
    scanner_port: int,
    scan_s: float,
    issuer_key: str,
    duration: float | None,
) -> None:
    """A whole lane of simulated devices; prints the lane section of a gate box config.

    `arrive PLATE [CONTAINER ...] [tag=EPC] [seal=ID[:opened|tampered] ...]` puts a vehicle
    in the lane: loop, camera, tag, e-seals. The e-seal entry names a key file with the
    issuer key, written for this run (and removed at the end).
    """
    from drivers.eseal import derive_tag_key
    from simulators.anpr import AnprCameraSim
    from simulators.barrier import BarrierPlcSim
    from simulators.eseal import EsealReaderSim
    from simulators.rfid import RfidReaderSim
    from simulators.scanner import NiiScannerSim

    key = issuer_key.encode()

    async def main(keys: Path) -> None:
        issuer_file = keys / "eseal-issuer.key"
        issuer_file.write_bytes(key)
        issuer_file.chmod(0o600)
        async with (
            BarrierPlcSim(port=modbus_port) as plc,
            RfidReaderSim() as reader,
            AnprCameraSim(port=anpr_port) as camera,
            EsealReaderSim(node_id=gate_id) as eseal,
            NiiScannerSim(port=scanner_port, scan_s=scan_s) as scanner,
        ):
            lane = {
                "lane_id": "lane-1",
                "plc": {"host": "127.0.0.1", "port": modbus_port},
                "devices": [
                    {"type": "rfid", "name": "lane-1-rfid", "port": reader.port},
                    {
                        "type": "anpr_feed",
                        "name": "lane-1-anpr",
                        "host": "127.0.0.1",
                        "port": camera.port,
                    },
                    {
                        "type": "eseal",
                        "name": "lane-1-eseal",
                        "port": eseal.port,
                        "issuer_key_file": str(issuer_file),
                    },
                    {
                        "type": "scanner",
                        "name": "lane-1-nii",
                        "host": "127.0.0.1",
                        "port": scanner.port,
                    },
                ],
            }
            click.echo(f"# lane of {gate_id}: add under `lanes:` in the gate box config")
            click.echo(yaml.safe_dump([lane], sort_keys=False))

            def arrive(args: list[str]) -> str:
                tags = [a.split("=", 1)[1] for a in args if a.startswith("tag=")]
                seals = [a.split("=", 1)[1] for a in args if a.startswith("seal=")]
                words = [a for a in args if not a.startswith(("tag=", "seal="))]
                seal_ids = []
                for seal in seals:
                    seal_id, _, state = seal.partition(":")
                    if state not in ("", "sealed", "opened", "tampered"):
                        raise ValueError(f"seal state {state!r}: sealed, opened or tampered")
                    hardware = eseal.add_seal(seal_id, derive_tag_key(key, seal_id))
                    hardware.shackle = state != "opened"
                    hardware.case = state != "tampered"
                    seal_ids.append(seal_id)
                for tag in tags:
                    reader.tag_enters(tag)

                def leaves(_label: str) -> None:  # what travels with the vehicle leaves too
                    for epc in tags:
                        reader.tag_leaves(epc)
                    for seal_id in seal_ids:
                        eseal.remove_seal(seal_id)

                plc.model.on_vehicle_left[:] = [leaves]
                plc.model.vehicle_arrives(words[0] if words else "vehicle")
                camera.present(plate=words[0] if words else None, containers=words[1:])
                return "vehicle in the lane"

            handlers = {
                **{f"barrier-{k}": v for k, v in _barrier_handlers(plc.model).items()},
                **{f"rfid-{k}": v for k, v in _rfid_handlers(reader).items()},
                **{f"anpr-{k}": v for k, v in _anpr_handlers(camera).items()},
                **_lane_device_handlers(eseal, scanner),
                "arrive": (
                    "PLATE [CONTAINER ...] [tag=EPC] [seal=ID[:STATE] ...]: a vehicle in the lane",
                    arrive,
                ),
            }
            await _console(handlers, duration)

    def stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM as Ctrl-C: the simulators stop, the key file goes

    keys = Path(tempfile.mkdtemp(prefix="corridor-sim-gate-"))
    previous = signal.signal(signal.SIGTERM, stop)
    try:
        _run(main(keys))
    finally:
        signal.signal(signal.SIGTERM, previous)
        shutil.rmtree(keys, ignore_errors=True)


# ------------------------------------------------------------------------- customs


@cli.command()
@click.option(
    "--central",
    "central_url",
    default="http://127.0.0.1:8000",
    show_default=True,
    help="central's base URL",
)
@click.option(
    "--token", envvar="CORRIDOR_TOKEN", help="a customs-system token (or $CORRIDOR_TOKEN)"
)
@click.argument("feed", type=click.Path(exists=True, dir_okay=False))
def customs(central_url: str, token: str | None, feed: str) -> None:
    """Push declarations, movements and status changes to central, as a customs system would.

    FEED is YAML with `declarations:` (as the API's body), `movements:` (as the API's body)
    and `status:` (a list of {declaration_id, ...changes}); each is sent in that order."""
    from simulators.customs import CustomsFeeder, CustomsFeederError

    try:
        data = yaml.safe_load(Path(feed).read_text()) or {}
    except yaml.YAMLError as err:
        raise click.ClickException(f"{feed}: {err}") from err
    if not isinstance(data, dict):
        raise click.ClickException(f"{feed}: expected a mapping")

    async def main() -> None:
        async with CustomsFeeder(central_url, token=token) as feeder:
            for declaration in data.get("declarations", []):
                await feeder.declare(**declaration)
                click.echo(f"declared {declaration.get('declaration_id')}")
            for movement in data.get("movements", []):
                created = await feeder.register_movement(**movement)
                click.echo(f"movement {created['iot_id']} for {movement.get('declaration_id')}")
            for change in data.get("status", []):
                change = dict(change)
                declaration_id = change.pop("declaration_id")
                await feeder.set_status(declaration_id, **change)
                click.echo(f"{declaration_id}: {change}")

    try:
        asyncio.run(main())
    except CustomsFeederError as err:
        raise click.ClickException(str(err)) from err
