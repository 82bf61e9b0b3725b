"""The gate box agent: composes drivers into lane pipelines and talks to the bus."""
