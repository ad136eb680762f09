"""The console (admin) API: dispatchers and managers set the organisation up and run it."""

from __future__ import annotations

from server.web.blueprint import Blueprint


def blueprints() -> list[Blueprint]:
    from server.http.admin import property

    return [property.blp]
