"""Stock under parallel requests (real clients, real commits): it never goes below zero."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from tests.concurrency.conftest import race

pytestmark = pytest.mark.concurrency


def _material(org, *, store: int, on_tech: dict[int, int]) -> int:
    with org.db.transaction() as uow:
        material_id = uow.session.scalar(
            text(
                "INSERT INTO materials (org_id, name, unit, price_fen, store_qty, is_active,"
                " created_at, updated_at) VALUES (:org, '水龙头', '个', 3500, :store, true,"
                " now(), now()) RETURNING id"
            ),
            {"org": org.org_id, "store": store},
        )
        for staff_id, qty in on_tech.items():
            uow.session.execute(
                text(
                    "INSERT INTO technician_stock (org_id, material_id, staff_id, qty)"
                    " VALUES (:org, :m, :s, :q)"
                ),
                {"org": org.org_id, "m": material_id, "s": staff_id, "q": qty},
            )
    return int(material_id)


def _counts(answers):
    return Counter((a.status, a.error) for a in answers)


def test_parallel_material_charges_never_drive_stock_below_zero(race_org):
    org = race_org(technicians=1, cap=12)
    [tech] = org.techs
    order_ids = org.file(12)
    for order_id in order_ids:
        org.hand(order_id, tech)
    material_id = _material(org, store=0, on_tech={tech.staff_id: 5})

    answers = race(
        [
            org.post(
                tech,
                f"/api/v1/tech/orders/{order_id}/charges",
                {"kind": "material", "item_id": material_id, "quantity": 1},
            )
            for order_id in order_ids
        ]
    )

    assert _counts(answers) == {(201, None): 5, (409, "out_of_stock"): 7}
    assert (
        org.scalar(
            "SELECT qty FROM technician_stock WHERE org_id = :org_id AND material_id = :m",
            m=material_id,
        )
        == 0
    )
    assert (
        org.scalar(
            "SELECT count(*) FROM order_charges WHERE org_id = :org_id AND kind = 'material'"
        )
        == 5
    )
    assert org.rows(
        "SELECT reason, sum(tech_delta), count(*) FROM stock_movements WHERE org_id = :org_id"
        " GROUP BY reason"
    ) == [("charge", -5, 5)]


def test_parallel_approvals_never_drive_the_store_below_zero(race_org):
    org = race_org(technicians=8, cap=3)
    material_id = _material(org, store=3, on_tech={})
    now = datetime.now(UTC)
    with org.db.transaction() as uow:
        requisition_ids = [
            uow.session.scalar(
                text(
                    "INSERT INTO material_requisitions (org_id, staff_id, material_id, quantity,"
                    " note, status, decision_note, created_at, updated_at)"
                    " VALUES (:org, :s, :m, 1, '', 'pending', '', :now, :now) RETURNING id"
                ),
                {"org": org.org_id, "s": tech.staff_id, "m": material_id, "now": now},
            )
            for tech in org.techs
        ]
    # Every requisition approved twice at once: one decision each, three units to give.
    calls = [
        org.post(org.desk, f"/api/v1/admin/requisitions/{rid}/approve", {})
        for rid in requisition_ids
        for _ in range(2)
    ]

    answers = race(calls)

    counts = _counts(answers)
    assert counts[(200, None)] == 3, counts
    assert set(counts) <= {(200, None), (409, "out_of_stock"), (409, "invalid_transition")}
    assert (
        org.scalar(
            "SELECT store_qty FROM materials WHERE org_id = :org_id AND id = :m", m=material_id
        )
        == 0
    )
    assert (
        org.scalar("SELECT coalesce(sum(qty), 0) FROM technician_stock WHERE org_id = :org_id") == 3
    )
    assert (
        org.scalar(
            "SELECT count(*) FROM material_requisitions WHERE org_id = :org_id"
            " AND status = 'approved'"
        )
        == 3
    )
