"""A Mosquitto broker for rehearsals and tests: TLS, one credential per gate box, ACLs.

Production runs its own broker (Mosquitto, EMQX, HiveMQ) configured the same way;
this module writes that configuration for a throw-away instance on a free port,
so the demo and the tests run against the real broker with the real security
model: a gate box may publish only under its own gate id.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import random
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from contract.bus import BrokerSettings
from contract.topics import ROOT, check_id

log = logging.getLogger(__name__)

CENTRAL_USER = "central"
TELEMATICS_USER = "telematics"  # a telematics gateway forwarding tracker and e-seal data
OBSERVER_USER = "observer"  # read-only: rehearsal runners, dashboards, audits


class BrokerError(RuntimeError):
    """The broker could not be configured or started."""


def free_port() -> int:
    """A loopback TCP port nothing listens on now, for a process to bind a moment later.

    Taken below the kernel's ephemeral range: ports from that range are also handed to every
    outgoing connection on the machine, which can take the port before its server binds it.
    """
    low = _ephemeral_low()
    for _ in range(100):
        port = random.randrange(PORTS_FROM, low) if low > PORTS_FROM + 1000 else 0
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            chosen: int = s.getsockname()[1]
            return chosen
    raise BrokerError("no free loopback port in 100 tries")


PORTS_FROM = 20000  # above the registered ports most services on a box listen on


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0  # not Linux: let the kernel choose


def find_mosquitto() -> str:
    for candidate in (shutil.which("mosquitto"), "/usr/sbin/mosquitto"):
        if candidate and Path(candidate).exists():
            return candidate
    raise BrokerError(
        "mosquitto is not installed: run `bash scripts/ensure-system-deps` "
        "(or `sudo apt-get install -y mosquitto`)"
    )


# --------------------------------------------------------------------------- TLS


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def write_tls_files(directory: Path) -> tuple[Path, Path, Path]:
    """A private CA and a server certificate for localhost/127.0.0.1. Returns (ca, cert, key)."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Corridor rehearsal CA"))
        .issuer_name(_name("Corridor rehearsal CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = (
        directory / "ca.crt",
        directory / "server.crt",
        directory / "server.key",
    )
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return ca_path, cert_path, key_path


# --------------------------------------------------------------------------- ACL


def acl_text() -> str:
    """The ACL: central sees everything; a gate box (username = gate id) only its own topics."""
    return "\n".join(
        [
            f"user {CENTRAL_USER}",
            f"topic readwrite {ROOT}/#",
            "",
            f"user {TELEMATICS_USER}",
            f"topic write {ROOT}/units/#",
            f"topic write {ROOT}/seals/#",
            f"topic read {ROOT}/alerts/#",
            "",
            f"user {OBSERVER_USER}",
            f"topic read {ROOT}/#",
            "",
            "# every other user is a gate box whose username is its gate id",
            f"pattern write {ROOT}/gates/%u/passages",
            f"pattern readwrite {ROOT}/gates/%u/status",
            f"pattern write {ROOT}/gates/%u/events",
            f"pattern read {ROOT}/gates/%u/commands",
            f"pattern read {ROOT}/gates/%u/receipts",
            "",
            "# a rapid response unit's device (username = unit id): its fixes, its incidents",
            f"pattern write {ROOT}/rru/%u/positions",
            f"pattern read {ROOT}/rru/%u/notifications",
            "",
        ]
    )


# --------------------------------------------------------------------------- broker


class Broker:
    """A Mosquitto process with TLS, a password file and the Corridor ACL.

    `users` are gate ids; central and the telematics gateway are always added.
    The port stays the same across `kill()`/`start()`, so clients reconnect.
    """

    def __init__(self, directory: Path, gate_ids: list[str], *, port: int | None = None) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.passwords: dict[str, str] = {}
        self._proc: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)
        self.ca_file, self._cert, self._key = write_tls_files(directory)
        for user in [CENTRAL_USER, TELEMATICS_USER, OBSERVER_USER, *gate_ids]:
            self._add_user(check_id(user))
        (directory / "acl").write_text(acl_text())
        self._port_chosen = port is None  # ours to change until the broker first started
        self._write_config()

    def _write_config(self) -> None:
        directory = self.directory
        (directory / "mosquitto.conf").write_text(
            "\n".join(
                [
                    "per_listener_settings false",
                    "user root",  # we own the files; do not drop to the mosquitto user
                    "allow_anonymous false",
                    f"password_file {directory / 'passwd'}",
                    f"acl_file {directory / 'acl'}",
                    "persistence false",
                    f"log_dest file {directory / 'mosquitto.log'}",
                    "log_type error",
                    "log_type warning",
                    "log_type notice",
                    "log_type subscribe",
                    "max_queued_messages 100000",
                    "set_tcp_nodelay true",  # QoS 1 round trips: Nagle adds ~45 ms per hop
                    f"listener {self.port} 127.0.0.1",
                    f"cafile {self.ca_file}",
                    f"certfile {self._cert}",
                    f"keyfile {self._key}",
                    "",
                ]
            )
        )

    def _add_user(self, user: str) -> None:
        password = secrets.token_urlsafe(18)
        passwd = self.directory / "passwd"
        flags = ["-b"] if passwd.exists() else ["-c", "-b"]
        subprocess.run(
            ["mosquitto_passwd", *flags, str(passwd), user, password],
            check=True,
            capture_output=True,
        )
        self.passwords[user] = password

    def add_gate(self, gate_id: str) -> None:
        """Give a new gate box its credential; a running broker reloads the password file."""
        if gate_id in self.passwords:
            return
        self._add_user(check_id(gate_id))
        if self.running and self._proc is not None:
            self._proc.send_signal(signal.SIGHUP)
            time.sleep(0.2)  # mosquitto reloads asynchronously

    def settings(self, user: str, client_id: str | None = None) -> BrokerSettings:
        """Connection settings for one user (a gate id, `central` or `telematics`)."""
        return BrokerSettings(
            host="127.0.0.1",
            port=self.port,
            username=user,
            password=self.passwords[user],
            ca_file=str(self.ca_file),
            client_id=client_id or user,
        )

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout_s: float = 10.0) -> None:
        if self.running:
            return
        for _ in range(3):
            self._proc = subprocess.Popen(
                [find_mosquitto(), "-c", str(self.directory / "mosquitto.conf")],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            try:
                self._wait_ready(timeout_s)
                break
            except BrokerError as e:
                # free_port() only said the port was free a moment ago: another process may
                # have bound it since. Before the first start no client knows it: take another.
                if not (self._port_chosen and "address already in use" in str(e).lower()):
                    raise
                self.port = free_port()
                self._write_config()
        else:
            raise BrokerError("mosquitto could not bind a free port in three tries")
        self._port_chosen = False
        log.info("mosquitto listening with TLS on 127.0.0.1:%d", self.port)

    def _wait_ready(self, timeout_s: float) -> None:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                err = self._proc.stderr.read().decode() if self._proc.stderr else ""
                logfile = self.directory / "mosquitto.log"
                tail = logfile.read_text()[-2000:] if logfile.exists() else ""
                raise BrokerError(f"mosquitto exited: {err.strip()} {tail.strip()}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as raw,
                context.wrap_socket(raw, server_hostname="localhost"),
            ):
                return
            time.sleep(0.05)
        raise BrokerError(f"mosquitto did not accept TLS on port {self.port} in {timeout_s}s")

    def kill(self) -> None:
        """Kill the broker abruptly (SIGKILL): what a crash or power loss looks like."""
        if self._proc is not None and self.running:
            self._proc.send_signal(signal.SIGKILL)
            self._proc.wait()
        self._proc = None

    def stop(self) -> None:
        if self._proc is not None and self.running:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def __enter__(self) -> Broker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
