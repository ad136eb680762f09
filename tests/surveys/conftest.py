"""Surveys' fixtures: the races' committed organisations and loopback server."""

from __future__ import annotations

from tests.notices.races import base_url, estate  # noqa: F401
