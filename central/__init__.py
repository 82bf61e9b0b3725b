"""Central: ingest, rules, gate decisions, ledger and the HTTP API."""
