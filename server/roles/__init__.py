"""Roles as data (权限): an organisation's roles composed from the permission catalogue."""
