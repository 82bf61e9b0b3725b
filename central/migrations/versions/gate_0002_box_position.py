"""gate status: gate-level devices, the box's own position and node check

Revision ID: gate_0002
Revises: transit_0001
Create Date: 2026-11-23 00:05:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "gate_0002"
down_revision: str | None = "transit_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("gate_status", schema=None) as batch_op:
        batch_op.add_column(sa.Column("devices", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("position", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("at_node", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("gate_status", schema=None) as batch_op:
        batch_op.drop_column("at_node")
        batch_op.drop_column("position")
        batch_op.drop_column("devices")
