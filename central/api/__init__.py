"""The HTTP API: one module per resource under `routes`, wire models in `schemas`."""
