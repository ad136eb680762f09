"""Idempotency-Key: one answer per key and body, replayed for 24 hours."""
