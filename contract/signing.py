"""Ed25519 signatures over a canonical JSON form of a message.

The signed bytes are the message as JSON with the `signature` field left out,
keys sorted, no whitespace. `key_id` is inside the signed bytes, so a signature
cannot be moved to another key. Central signs decisions; gate boxes sign
passages; each side holds the other's public keys.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TypeVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from contract.errors import SignatureError
from contract.messages import Message

M = TypeVar("M", bound=Message)


def canonical_bytes(message: Message) -> bytes:
    """The bytes a signature covers."""
    body = message.model_dump(mode="json", exclude={"signature"})
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def sign(message: M, key: Ed25519PrivateKey, key_id: str) -> M:
    """A copy of `message` with `key_id` set and signed."""
    if "signature" not in type(message).model_fields:
        raise SignatureError(f"{type(message).__name__} carries no signature field")
    unsigned = message.model_copy(update={"key_id": key_id, "signature": None})
    signature = key.sign(canonical_bytes(unsigned))
    return unsigned.model_copy(update={"signature": base64.b64encode(signature).decode()})


def verify(message: Message, keys: Mapping[str, Ed25519PublicKey]) -> None:
    """Raise SignatureError unless `message` is signed by one of `keys`."""
    key_id = getattr(message, "key_id", None)
    encoded = getattr(message, "signature", None)
    if not key_id or not encoded:
        raise SignatureError("message is not signed")
    key = keys.get(key_id)
    if key is None:
        raise SignatureError(f"unknown signing key {key_id!r}")
    try:
        signature = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as err:
        raise SignatureError("signature is not valid base64") from err
    try:
        key.verify(signature, canonical_bytes(message))
    except InvalidSignature as err:
        raise SignatureError(f"signature does not verify with key {key_id!r}") from err


# --------------------------------------------------------------------------- key files


def generate_keypair(private_path: Path, public_path: Path) -> None:
    """Write a new Ed25519 key pair as PEM files (private key readable by owner only)."""
    key = Ed25519PrivateKey.generate()
    private_path.parent.mkdir(parents=True, exist_ok=True)
    private_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    private_path.chmod(0o600)
    public_path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def load_private_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise SignatureError(f"{path} is not an Ed25519 private key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise SignatureError(f"{path} is not an Ed25519 public key")
    return key
