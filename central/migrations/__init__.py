"""Alembic migrations of central's database, shipped as package data."""
