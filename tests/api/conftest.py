"""Fixtures most console tests share: an organisation and its admin's bearer header."""

from __future__ import annotations

import pytest


@pytest.fixture
def org(make):
    return make.org()


@pytest.fixture
def admin_headers(make, org):
    return make.headers(make.admin(org))
