"""The desk's console (控制台) in the browser: server-rendered pages over the same use cases as
the JSON API (`server.http.admin`), with a little progressive JavaScript (htmx, ECharts).

One module per screen under `views/`; each registers its routes on `blueprint.bp`.
"""

from __future__ import annotations

from flask import Blueprint


def pages() -> Blueprint:
    """The console blueprint with every screen's routes registered."""
    from server.console.blueprint import bp
    from server.console.views import (
        audit,
        auth,
        complaints,
        dashboard,
        dictionary,
        imports,
        new_order,
        notices,
        orders,
        parking,
        residency,
        roles,
        search,
        service_images,
        surveys,
        visits,
        workbench,
    )
    from server.console.web import unavailable_page
    from server.web.errors import UNAVAILABLE_PAGES

    del audit, auth, dashboard, new_order, orders, workbench
    del complaints, notices, service_images, surveys, visits  # imported for their routes
    del parking
    del imports
    del search
    del roles
    del residency
    del dictionary
    # PostgreSQL or Redis away: the console answers a page, not the API's JSON error.
    UNAVAILABLE_PAGES["/console"] = unavailable_page
    return bp
