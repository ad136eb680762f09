"""Booking slots (预约时段): per-subtype slot grids, per-slot quotas counted per community."""
