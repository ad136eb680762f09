"""booking: slot settings, date exceptions and per-slot counters

Revision ID: 0007_booking
Revises: 0006_value_lists
Create Date: 2026-11-30 12:15:00
"""

from __future__ import annotations

revision = "0007_booking"
down_revision = "0006_value_lists"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
