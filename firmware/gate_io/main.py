"""Main loop of the gate I/O controller (MicroPython entry point and CPython host).

On the board, `main.py` at the flash root does:

    from firmware.gate_io.main import run
    from firmware.gate_io.hal_micropython import BoardHal
    run(BoardHal())
"""

from firmware.gate_io.controller import GateController, GateRegisters
from firmware.gate_io.modbus_rtu import RtuSlave

UNIT_ID = 1
LOOP_PERIOD_MS = 2


class GateIo:
    """The controller, its Modbus slave and the hardware they run on."""

    def __init__(self, hal, unit_id=UNIT_ID):
        self.hal = hal
        self.controller = GateController(hal)
        self.slave = RtuSlave(unit_id, GateRegisters(self.controller))

    def step(self):
        """One main-loop pass. Feeding the watchdog last proves the whole pass ran."""
        hal = self.hal
        reply = self.slave.process(hal.uart_read(), hal.ticks_ms(), hal.ticks_diff)
        if reply:
            hal.uart_write(reply)
        self.controller.tick(hal.ticks_ms())
        hal.wdt_feed()


def run(hal, unit_id=UNIT_ID):
    gate = GateIo(hal, unit_id)
    while True:
        gate.step()
        hal.sleep_ms(LOOP_PERIOD_MS)
