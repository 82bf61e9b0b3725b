"""Pure rules: no database, no broker; each is tested with plain values."""
