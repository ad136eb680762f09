"""Departments, posts and staff members."""
