"""Fixtures of the upload tests."""

from __future__ import annotations

import dataclasses

import pytest


@pytest.fixture
def with_settings(app, monkeypatch):
    """Run the app with some settings changed (`with_settings(upload_quota_per_hour=3)`)."""
    wiring = app.extensions["baoxiu"]

    def change(**values):
        monkeypatch.setattr(wiring, "settings", dataclasses.replace(wiring.settings, **values))

    return change
