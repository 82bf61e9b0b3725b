"""movements: declared dangerous goods (UN numbers) for the orange plate check

Revision ID: gate_0003
Revises: gate_0002
Create Date: 2026-12-08 02:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "gate_0003"
down_revision: str | None = "gate_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Movements registered before declare nothing.
    with op.batch_alter_table("movements", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("dangerous_goods", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("movements", schema=None) as batch_op:
        batch_op.drop_column("dangerous_goods")
