"""The e-seal tag's logic (ISO 18185 semantics): arm, disarm, tamper loop, event log.

States. Armed, the tag latches what it sees: a broken shackle loop is OPENED, an
opened case or a loop that closes again after being broken (cut and rejoined) is
TAMPERED; only a valid disarm clears the latch. Unarmed, it reports the loop as
it is. Arm and disarm need a token made with the tag's key by the issuer; a
disarm token names the node where it may be used, the reader adds its own node
id to the command, and the tag also checks that node against the list it was
armed with, so a disarm is accepted only at an authorised node.

The event log is append-only and hash-chained (each entry's link authenticates
the previous link); its head is inside every signed status frame, so a log cut
short or edited on the way is detected by the reader's driver.

HAL (duck-typed): identity() -> (seal_id, key); utc_s(); set_utc(s);
shackle_closed(); case_closed(); battery_mv(); load(name) -> bytes or None;
save(name, data); log_load() -> list of records; log_append(record).
"""

import struct

from firmware.eseal_tag import air

BATTERY_EMPTY_MV = 2000
BATTERY_FULL_MV = 3000
BATTERY_LOW_PCT = 20
LOG_CAPACITY = 512
STATE_NAMES = ("sealed", "opened", "tampered")


class EsealTag:
    def __init__(self, hal):
        self.hal = hal
        self.seal_id, self._key = hal.identity()
        self.records = hal.log_load()
        self._head = air.GENESIS
        self.armed = False
        self.declaration_id = ""
        self.nodes = []
        self.latched = air.STATE_SEALED
        self._used_declarations = []
        self._battery_low_logged = False
        self._replay_log()
        # Frame counter: boots in the high half (kept in flash), frames in the low half,
        # so a frame recorded before a reboot can never pass as a newer one.
        boots = hal.load("boots")
        self._boots = (struct.unpack(">H", boots)[0] + 1) & 0xFFFF if boots else 1
        hal.save("boots", struct.pack(">H", self._boots))
        self._frames = 0
        self._last_reported = self.state()

    # ------------------------------------------------------------ state

    def _replay_log(self):
        """Rebuild arming and latches from the log: the log is the tag's memory."""
        arming = self.hal.load("arming")
        for record in self.records:
            _seq, _at_s, event, state, _battery, decl = _unpack_entry(record)
            self._head = record[-air.CHAIN_LEN :]
            if event == air.EV_ARMED:
                self.armed, self.declaration_id, self.latched = True, decl, air.STATE_SEALED
                self._used_declarations.append(decl)
            elif event == air.EV_DISARMED:
                self.armed, self.declaration_id = False, ""
            elif event in (air.EV_OPENED, air.EV_TAMPERED):
                self.latched = state
            elif event == air.EV_BATTERY_LOW:
                self._battery_low_logged = True
        if self.armed and arming:
            self.nodes = _unpack_nodes(arming)

    def state(self):
        if not self.hal.case_closed():
            return air.STATE_TAMPERED
        if self.armed:
            return self.latched
        return air.STATE_SEALED if self.hal.shackle_closed() else air.STATE_OPENED

    def battery_pct(self):
        span = BATTERY_FULL_MV - BATTERY_EMPTY_MV
        pct = (self.hal.battery_mv() - BATTERY_EMPTY_MV) * 100 // span
        return max(0, min(100, pct))

    # ------------------------------------------------------------ sensing

    def tick(self):
        """Check the loop, the case and the battery; a status frame to beacon on change."""
        if self.armed:
            self._watch_seal()
        if self.battery_pct() < BATTERY_LOW_PCT and not self._battery_low_logged:
            self._battery_low_logged = True
            self._log(air.EV_BATTERY_LOW)
        state = self.state()
        if state != self._last_reported:
            self._last_reported = state
            return self.status_frame()
        return None

    def _watch_seal(self):
        if not self.hal.case_closed() and self.latched != air.STATE_TAMPERED:
            self._latch(air.STATE_TAMPERED, air.EV_TAMPERED)
        shackle = self.hal.shackle_closed()
        if not shackle and self.latched == air.STATE_SEALED:
            self._latch(air.STATE_OPENED, air.EV_OPENED)
        elif shackle and self.latched == air.STATE_OPENED:
            self._latch(air.STATE_TAMPERED, air.EV_TAMPERED)  # cut and rejoined

    def _latch(self, state, event):
        self.latched = state
        self._log(event)

    # ------------------------------------------------------------ the log

    def _log(self, event, declaration_id=None):
        if len(self.records) >= LOG_CAPACITY:
            return  # full: the log is evidence, never overwritten
        decl = self.declaration_id if declaration_id is None else declaration_id
        body = air.log_entry_body(
            len(self.records), self.hal.utc_s(), event, self.state(), self.battery_pct(), decl
        )
        self._head = air.chain_link(self._key, self._head, self.seal_id, body)
        record = body + self._head
        self.records.append(record)
        self.hal.log_append(record)

    # ------------------------------------------------------------ frames out

    def _next_counter(self):
        self._frames = (self._frames + 1) & 0xFFFF
        return (self._boots << 16) | self._frames

    def status_frame(self):
        flags = (air.FLAG_ARMED if self.armed else 0) | (
            air.FLAG_BATTERY_LOW if self.battery_pct() < BATTERY_LOW_PCT else 0
        )
        return air.status_frame(
            self._key,
            self.seal_id,
            self.state(),
            flags,
            self.battery_pct(),
            self.hal.utc_s(),
            self._next_counter(),
            len(self.records),
            self._head,
            self.declaration_id,
        )

    # ------------------------------------------------------------ frames in

    def handle(self, frame):
        """Answer one reader frame; None when it is not for this tag or unreadable."""
        try:
            return self._handle(air.Reader(frame))
        except air.Malformed:
            return None  # on the air, an unreadable frame is noise: stay silent

    def _handle(self, rd):
        if rd.u8() != air.VERSION:
            return None
        command = rd.u8()
        if rd.text() != self.seal_id:
            return None
        if command == air.C_GET_STATUS:
            rd.end()
            return self.status_frame()
        if command == air.C_GET_LOG:
            start, count = rd.u16(), rd.u8()
            rd.end()
            page = self.records[start : start + min(count, 8)]
            return air.log_page_frame(self.seal_id, start, len(self.records), page)
        if command == air.C_ARM:
            return self._arm(rd)
        if command == air.C_DISARM:
            return self._disarm(rd)
        return None

    def _arm(self, rd):
        utc_s, decl = rd.u32(), rd.text()
        nodes = [rd.text() for _ in range(_node_count(rd))]
        token = rd.take(air.TOKEN_LEN)
        rd.end()
        if token != air.arm_token(self._key, self.seal_id, decl, nodes):
            result = air.RESULT_BAD_TOKEN
        elif self.armed or decl in self._used_declarations or not decl:
            result = air.RESULT_BAD_STATE
        elif not (self.hal.shackle_closed() and self.hal.case_closed()):
            result = air.RESULT_BAD_STATE  # cannot arm an open seal
        else:
            self.hal.set_utc(utc_s)  # the arming reader's clock becomes the tag's clock
            self.hal.save("arming", _pack_nodes(nodes))
            self.armed, self.declaration_id, self.nodes = True, decl, nodes
            self.latched = air.STATE_SEALED
            self._used_declarations.append(decl)
            self._log(air.EV_ARMED)
            result = air.RESULT_OK
        return air.result_frame(
            self._key, self.seal_id, air.C_ARM, result, self._next_counter(), token
        )

    def _disarm(self, rd):
        rd.u32()  # the reader's clock: kept for the record, the tag trusts its own
        decl, node = rd.text(), rd.text()
        token = rd.take(air.TOKEN_LEN)
        rd.end()
        if not self.armed:
            result = air.RESULT_BAD_STATE
        elif token != air.disarm_token(self._key, self.seal_id, decl, node):
            result = air.RESULT_BAD_TOKEN
        elif decl != self.declaration_id:
            result = air.RESULT_WRONG_DECLARATION
        elif node not in self.nodes:
            result = air.RESULT_NODE_NOT_AUTHORISED
        else:
            result = air.RESULT_OK
        if result == air.RESULT_OK:
            self._log(air.EV_DISARMED)
            self.armed, self.declaration_id, self.nodes = False, "", []
        elif self.armed and not self._last_event_is(air.EV_DISARM_REFUSED):
            self._log(air.EV_DISARM_REFUSED)  # once per run of refusals: no log flooding
        return air.result_frame(
            self._key, self.seal_id, air.C_DISARM, result, self._next_counter(), token
        )

    def _last_event_is(self, event):
        return bool(self.records) and self.records[-1][6] == event


def _node_count(rd):
    count = rd.u8()
    if count > air.MAX_NODES:
        raise air.Malformed("too many nodes")
    return count


def _pack_nodes(nodes):
    out = bytes((len(nodes),))
    for node in nodes:
        out += air.lp(node)
    return out


def _unpack_nodes(data):
    rd = air.Reader(data)
    return [rd.text() for _ in range(rd.u8())]


def _unpack_entry(record):
    seq, at_s, event, state, battery = struct.unpack(">HIBBB", record[:9])
    decl_len = record[9]
    decl = bytes(record[10 : 10 + decl_len]).decode()
    return seq, at_s, event, state, battery, decl
