"""HMAC-SHA256 (RFC 2104) on MicroPython's hashlib.sha256, which every port has.

MicroPython ships no `hmac` module; this is the whole of it.
"""

import hashlib

BLOCK = 64


def hmac_sha256(key, message):
    if len(key) > BLOCK:
        key = hashlib.sha256(key).digest()
    padded = bytearray(BLOCK)
    padded[: len(key)] = key
    inner_key = bytearray(BLOCK)
    outer_key = bytearray(BLOCK)
    for i in range(BLOCK):
        inner_key[i] = padded[i] ^ 0x36
        outer_key[i] = padded[i] ^ 0x5C
    inner = hashlib.sha256(bytes(inner_key))
    inner.update(message)
    outer = hashlib.sha256(bytes(outer_key))
    outer.update(inner.digest())
    return outer.digest()
