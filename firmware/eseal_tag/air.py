"""The tag's air interface: the frames a reader sends it and the frames it answers.

Every frame starts with the version byte and a type byte. Strings are ASCII with
a one-byte length in front ("lp"); integers are big-endian. Frames the tag sends
are authenticated with HMAC-SHA256 under the tag's own key, truncated to 16 bytes
(the event log is a hash chain with 8-byte links). docs/devices.md has the tables.
"""

import struct

from firmware.eseal_tag.hmac_sha256 import hmac_sha256

VERSION = 1

# tag -> reader
T_STATUS = 0x01
T_LOG = 0x02
T_RESULT = 0x03
# reader -> tag
C_GET_STATUS = 0x11
C_GET_LOG = 0x12
C_ARM = 0x13
C_DISARM = 0x14

STATE_SEALED = 0
STATE_OPENED = 1
STATE_TAMPERED = 2

FLAG_ARMED = 0x01
FLAG_BATTERY_LOW = 0x02

EV_ARMED = 1
EV_DISARMED = 2
EV_OPENED = 3
EV_TAMPERED = 4
EV_BATTERY_LOW = 5
EV_DISARM_REFUSED = 6

RESULT_OK = 0
RESULT_BAD_TOKEN = 1
RESULT_NODE_NOT_AUTHORISED = 2
RESULT_WRONG_DECLARATION = 3
RESULT_BAD_STATE = 4
RESULT_MALFORMED = 5

MAC_LEN = 16
CHAIN_LEN = 8
TOKEN_LEN = 16
MAX_TEXT = 40
MAX_NODES = 8
GENESIS = bytes(CHAIN_LEN)  # the link before the first log entry


class Malformed(Exception):
    """A reader frame the tag cannot read."""


def lp(text):
    data = text.encode() if isinstance(text, str) else bytes(text)
    if len(data) > MAX_TEXT:
        raise Malformed("text too long")
    return bytes((len(data),)) + data


def mac(key, body):
    return hmac_sha256(key, body)[:MAC_LEN]


def arm_token(key, seal_id, declaration_id, nodes):
    """What the issuer (central, holding the tag key) gives the arming team."""
    body = b"ARM" + lp(seal_id) + lp(declaration_id) + bytes((len(nodes),))
    for node in nodes:
        body += lp(node)
    return hmac_sha256(key, body)[:TOKEN_LEN]


def disarm_token(key, seal_id, declaration_id, node_id):
    """Valid only when presented by a reader whose node id is `node_id`."""
    body = b"DISARM" + lp(seal_id) + lp(declaration_id) + lp(node_id)
    return hmac_sha256(key, body)[:TOKEN_LEN]


def chain_link(key, previous, seal_id, entry_body):
    return hmac_sha256(key, b"LOG" + previous + lp(seal_id) + entry_body)[:CHAIN_LEN]


class Reader:
    """Reads fields off a received frame; any overrun is Malformed."""

    def __init__(self, data):
        self.data = bytes(data)
        self.pos = 0

    def take(self, n):
        if n < 0 or self.pos + n > len(self.data):
            raise Malformed("frame too short")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack(">H", self.take(2))[0]

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def text(self):
        raw = self.take(self.u8())
        for byte in raw:
            if byte < 0x20 or byte > 0x7E:
                raise Malformed("text is not printable ASCII")
        return raw.decode()

    def end(self):
        if self.pos != len(self.data):
            raise Malformed("trailing bytes")


def log_entry_body(seq, at_s, event, state, battery_pct, declaration_id):
    return struct.pack(">HIBBB", seq, at_s, event, state, battery_pct) + lp(declaration_id)


def status_frame(key, seal_id, state, flags, battery_pct, at_s, counter, log_count, head, decl):
    body = (
        bytes((VERSION, T_STATUS))
        + lp(seal_id)
        + struct.pack(">BBBIIH", state, flags, battery_pct, at_s, counter, log_count)
        + head
        + lp(decl)
    )
    return body + mac(key, body)


def log_page_frame(seal_id, start, total, entries):
    """`entries` are stored log records (entry body + chain link), already authenticated."""
    body = bytes((VERSION, T_LOG)) + lp(seal_id) + struct.pack(">HHB", start, total, len(entries))
    for entry in entries:
        body += entry
    return body


def result_frame(key, seal_id, command, result, counter, token):
    """Authenticated together with the command's token, so it answers that command only."""
    body = bytes((VERSION, T_RESULT)) + lp(seal_id) + struct.pack(">BBI", command, result, counter)
    return body + mac(key, body + token)
