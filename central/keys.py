"""Central's decision key and the gate boxes' passage keys."""

from __future__ import annotations

import logging
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from central.errors import ConfigError
from contract.errors import SignatureError
from contract.signing import M, load_private_key, load_public_key, sign

log = logging.getLogger(__name__)


class DecisionSigner:
    """Signs gate decisions with central's Ed25519 key."""

    def __init__(self, private_key_file: Path | None, key_id: str) -> None:
        self.key_id = key_id
        if private_key_file is None:
            log.warning(
                "no signing.private_key_file: using an ephemeral key; "
                "no gate box will open a barrier on these decisions"
            )
            self._key = Ed25519PrivateKey.generate()
            return
        try:
            self._key = load_private_key(private_key_file)
        except (OSError, ValueError, SignatureError) as err:
            raise ConfigError(f"cannot load signing key {private_key_file}: {err}") from err

    def sign(self, message: M) -> M:
        return sign(message, self._key, self.key_id)

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self._key.public_key()


class GateKeys:
    """Public keys of gate boxes, `<gate_id>.pub` in one directory; the key id is the gate id.

    A gate id not yet known is looked up again on disk, so a box added while
    central runs needs no restart.
    """

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self._keys: dict[str, Ed25519PublicKey] = {}

    def key_of(self, gate_id: str) -> Ed25519PublicKey | None:
        if gate_id not in self._keys and self.directory is not None:
            path = self.directory / f"{gate_id}.pub"
            if path.is_file():
                try:
                    self._keys[gate_id] = load_public_key(path)
                except (OSError, ValueError, SignatureError) as err:
                    log.error("gate key %s is unusable: %s", path, err)
        return self._keys.get(gate_id)
