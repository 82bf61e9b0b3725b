"""Gate I/O controller: loop detectors, barrier relay, Modbus RTU slave, watchdog."""
