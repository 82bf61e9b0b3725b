"""One exception root for the SNMP device-health driver."""


class SnmpError(Exception):
    """Root of the SNMP driver's errors."""


class SnmpTimeout(SnmpError):
    """The agent did not answer (down, unreachable, wrong community or credentials)."""


class SnmpRequestError(SnmpError):
    """The agent answered with an SNMP error status (genErr, authorizationError...)."""
