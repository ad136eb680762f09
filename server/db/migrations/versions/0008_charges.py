"""charges: specs, labour, materials and stock, service items, order charges

Revision ID: 0008_charges
Revises: 0007_booking
Create Date: 2026-11-30 12:15:00
"""

from __future__ import annotations

revision = "0008_charges"
down_revision = "0007_booking"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
