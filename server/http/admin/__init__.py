"""The console (admin) API: dispatchers and managers set the organisation up and run it."""

from __future__ import annotations

from server.web.blueprint import Blueprint


def blueprints() -> list[Blueprint]:
    from server.http.admin import (
        audit,
        booking,
        catalog,
        charges,
        complaints,
        customers,
        dashboard,
        dictionary,
        imports,
        jobs,
        notices,
        orders,
        parking,
        payment_records,
        payments,
        property,
        reconciliations,
        residency,
        roles,
        search,
        settings,
        sla,
        staff,
        surveys,
        visits,
        workbench,
    )

    return [
        property.blp,
        customers.blp,
        staff.blp,
        catalog.blp,
        settings.blp,
        sla.blp,
        orders.blp,
        booking.blp,
        charges.blp,
        jobs.blp,
        payments.blp,
        payment_records.blp,
        reconciliations.blp,
        notices.blp,
        surveys.blp,
        workbench.blp,
        visits.blp,
        complaints.blp,
        dashboard.blp,
        parking.blp,
        audit.blp,
        imports.blp,
        search.blp,
        roles.blp,
        residency.blp,
        dictionary.blp,
    ]
