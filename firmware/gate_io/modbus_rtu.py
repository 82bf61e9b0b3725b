"""Modbus RTU slave: framing, CRC, function codes 1-6, 15, 16, exception replies.

The register bank behind it is any object with the methods `read_bits(table,
address, count)`, `read_words(table, address, count)`, `write_coil(address,
value)` and `write_registers(address, values)`, raising `ModbusError(code)` to
answer with a Modbus exception. `table` is "coils", "inputs", "input" or "holding".

Frames are cut by length (known from the function code) and checked by CRC. A
frame with a bad CRC, an unknown length or a partial frame followed by a line
silence is dropped whole and counted: on an RS-485 bus the next valid frame
starts after a silence, so dropping everything up to it is how a slave resyncs.
"""

from firmware.gate_io.crc16 import crc_ok, with_crc

ILLEGAL_FUNCTION = 0x01
ILLEGAL_DATA_ADDRESS = 0x02
ILLEGAL_DATA_VALUE = 0x03
SLAVE_DEVICE_FAILURE = 0x04

BROADCAST = 0
MAX_FRAME = 256  # RTU ADU limit; anything longer is line noise


class ModbusError(Exception):
    """Raised by the register bank: answer with this Modbus exception code."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code


def _u16(frame, offset):
    return (frame[offset] << 8) | frame[offset + 1]


def request_length(buf):
    """Bytes in the request that starts `buf`; 0 if more bytes are needed; -1 if unknown."""
    if len(buf) < 2:
        return 0
    function = buf[1]
    if 1 <= function <= 6:
        return 8
    if function in (15, 16):
        if len(buf) < 7:
            return 0
        return 9 + buf[6]
    return -1


class RtuSlave:
    """One Modbus RTU slave address on a serial line."""

    def __init__(self, unit_id, bank, silence_ms=4):
        self.unit_id = unit_id
        self.bank = bank
        self.silence_ms = silence_ms
        self._buf = bytearray()
        self._last_rx_ms = 0
        self.frames_ok = 0
        self.frames_bad_crc = 0
        self.bytes_dropped = 0
        self.exceptions_sent = 0

    def process(self, chunk, now_ms, ticks_diff):
        """Feed received bytes (maybe none); return a reply frame to send, or None."""
        if chunk:
            if self._buf and ticks_diff(now_ms, self._last_rx_ms) > self.silence_ms:
                self._drop()  # a partial frame went silent: it will never complete
            self._buf.extend(chunk)
            self._last_rx_ms = now_ms
        elif self._buf and ticks_diff(now_ms, self._last_rx_ms) > self.silence_ms:
            return self._frame_after_silence()
        if len(self._buf) > MAX_FRAME:
            self._drop()
            return None
        need = request_length(self._buf)
        if need <= 0 or len(self._buf) < need:
            return None
        frame = bytes(self._buf[:need])
        del self._buf[:need]
        return self._answer(frame)

    def _frame_after_silence(self):
        # Only a frame of unknown function code is complete by silence alone.
        if request_length(self._buf) == -1:
            frame = bytes(self._buf)
            self._buf = bytearray()
            return self._answer(frame)
        self._drop()
        return None

    def _drop(self):
        self.bytes_dropped += len(self._buf)
        self._buf = bytearray()

    def _answer(self, frame):
        if not crc_ok(frame):
            self.frames_bad_crc += 1
            self._drop()  # the rest of the buffer belongs to the broken frame
            return None
        address = frame[0]
        if address not in (self.unit_id, BROADCAST):
            return None  # another slave's request on a shared bus
        self.frames_ok += 1
        try:
            pdu = self._execute(frame[1:-2])
        except ModbusError as err:
            self.exceptions_sent += 1
            pdu = bytes((frame[1] | 0x80, err.code))
        if address == BROADCAST:
            return None  # broadcasts are executed, never answered
        return with_crc(bytes((self.unit_id,)) + pdu)

    def _execute(self, pdu):
        function = pdu[0]
        if function in (1, 2):
            return self._read_bits(pdu, "coils" if function == 1 else "inputs")
        if function in (3, 4):
            return self._read_words(pdu, "holding" if function == 3 else "input")
        if function == 5:
            return self._write_single_coil(pdu)
        if function == 6:
            self.bank.write_registers(_u16(pdu, 1), [_u16(pdu, 3)])
            return pdu
        if function == 15:
            return self._write_multiple_coils(pdu)
        if function == 16:
            return self._write_multiple_registers(pdu)
        raise ModbusError(ILLEGAL_FUNCTION)

    def _read_bits(self, pdu, table):
        address, count = _u16(pdu, 1), _u16(pdu, 3)
        if not 1 <= count <= 2000:
            raise ModbusError(ILLEGAL_DATA_VALUE)
        bits = self.bank.read_bits(table, address, count)
        packed = bytearray((count + 7) // 8)
        for i, bit in enumerate(bits):
            if bit:
                packed[i // 8] |= 1 << (i % 8)
        return bytes((pdu[0], len(packed))) + bytes(packed)

    def _read_words(self, pdu, table):
        address, count = _u16(pdu, 1), _u16(pdu, 3)
        if not 1 <= count <= 125:
            raise ModbusError(ILLEGAL_DATA_VALUE)
        words = self.bank.read_words(table, address, count)
        out = bytearray((pdu[0], 2 * count))
        for word in words:
            out.append((word >> 8) & 0xFF)
            out.append(word & 0xFF)
        return bytes(out)

    def _write_single_coil(self, pdu):
        value = _u16(pdu, 3)
        if value not in (0x0000, 0xFF00):
            raise ModbusError(ILLEGAL_DATA_VALUE)
        self.bank.write_coil(_u16(pdu, 1), value == 0xFF00)
        return pdu

    def _write_multiple_coils(self, pdu):
        address, count, nbytes = _u16(pdu, 1), _u16(pdu, 3), pdu[5]
        if not 1 <= count <= 1968 or nbytes != (count + 7) // 8 or len(pdu) != 6 + nbytes:
            raise ModbusError(ILLEGAL_DATA_VALUE)
        self.bank.read_bits("coils", address, count)  # all addresses valid, or none written
        for i in range(count):
            self.bank.write_coil(address + i, bool(pdu[6 + i // 8] & (1 << (i % 8))))
        return pdu[:5]

    def _write_multiple_registers(self, pdu):
        address, count, nbytes = _u16(pdu, 1), _u16(pdu, 3), pdu[5]
        if not 1 <= count <= 123 or nbytes != 2 * count or len(pdu) != 6 + nbytes:
            raise ModbusError(ILLEGAL_DATA_VALUE)
        self.bank.write_registers(address, [_u16(pdu, 6 + 2 * i) for i in range(count)])
        return pdu[:5]
