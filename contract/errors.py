"""One exception root for the contract package."""


class ContractError(Exception):
    """A message that does not satisfy the wire contract (schema, topic or signature)."""


class SignatureError(ContractError):
    """A signature that is missing, malformed, from an unknown key, or does not verify."""
