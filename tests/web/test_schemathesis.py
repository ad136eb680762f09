"""The app against its own OpenAPI document: every operation, as each kind of user.

Schemathesis reads `/openapi.json` from the in-process app and sends generated requests to every
operation as a dispatcher/admin, a technician and a tenant. Every answer must be no 5xx and carry
a documented status code, content type and body. The document's catch-all `default` response is
dropped first: with it, any status code would count as documented.

Runtime is bounded and the run deterministic: a fixed seed, derandomised Hypothesis, no example
database, no shrinking, no health checks (a loaded CI machine must not fail them), a few fuzzed
examples per operation. The coverage phase (boundary and invalid values, deterministic) runs for
the operations of the role's own app; the other operations get the examples and fuzzing phases
only (mostly 403s, still checked). Each role's run gets fresh rows in its test's transaction.

The per-operation tests come from `schemathesis.pytest.lazy.get_all_tests`, the builder behind
`schemathesis.pytest.from_fixture`: that loader itself cannot run on pytest 9 (it rewrites
`Node._nodeid`, which pytest 9 no longer has), and one test per role needs a schema built from
the session's app anyway.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.result import Ok
from schemathesis.pytest.lazy import get_all_tests
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from server.charges.models import LaborItem, Material, ServiceItem, ServiceSpec, TechnicianStock
from server.kernel.roles import Role
from server.notices import fanout
from server.orders.models import Order
from server.reconciliation.models import ReconciliationDiscrepancy, ReconciliationRun
from server.visits.triggers import request_visit
from tests.factories import Factory
from tests.payments.keys import wechat_body

SEED = 20240611
BIGINT_MAX = 2**63 - 1
MAX_EXAMPLES = 3
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

# The operations each role's app calls: the coverage phase runs on these.
OWN_OPERATIONS = {
    "admin": r"^/api/v1/admin/",
    "technician": r"^/api/v1/tech/",
    # The payment notifications are nobody's app: the tenant's run fuzzes them (all refused).
    "tenant": r"^/api/v1/(tenant|auth|me|catalog|uploads|healthz|readyz|payments)\b",
}

# Known defects: (method, path) → the one check skipped for that operation while it is being
# fixed. Empty: every check runs on every operation.
KNOWN_DEFECTS: dict[tuple[str, str], Callable[..., Any]] = {}

# Path parameter → the kind of row it names (small generated ids are mapped onto real rows).
PATH_KINDS = {
    "order_id": "order",
    "community_id": "community",
    "building_id": "building",
    "unit_id": "unit",
    "room_id": "room",
    "customer_id": "customer",
    "contact_id": "contact",
    "customer_room_id": "customer_room",
    "department_id": "department",
    "post_id": "post",
    "staff_id": "staff",
    "order_type_id": "order_type",
    "subtype_id": "subtype",
    "spec_id": "spec",
    "item_id": "item",
    "material_id": "material",
    "requisition_id": "requisition",
    "charge_id": "charge",
    "account_id": "payment_account",
    "run_id": "reconciliation_run",
    "policy_id": "sla_policy",
    "day_id": "business_day",
    "visit_id": "return_visit",
    "complaint_id": "complaint",
    "notice_id": "notice",
    "survey_id": "survey",
}


@dataclass
class Seeded:
    """An organisation with real rows: bearer headers per role, and the ids of each kind.

    `spare` headers belong to other users with the same roles: operations on the caller's own
    session (`/auth/...`, e.g. logout-all) use them, so that the run keeps its identity.
    `protected` ids (the acting users' own staff rows) are never targeted by mapped ids.
    """

    headers: dict[str, dict[str, str]]
    spare: dict[str, dict[str, str]]
    ids: dict[str, list[int]] = field(default_factory=dict)
    protected: dict[str, set[int]] = field(default_factory=dict)

    def headers_for(self, role: str, path: str) -> dict[str, str]:
        return self.spare[role] if path.startswith("/api/v1/auth/") else self.headers[role]


def _seed(app: Any, make: Factory) -> Seeded:
    org = make.org()
    communities = [make.community(org) for _ in range(2)]
    buildings = [make.building(c) for c in communities]
    units = [make.unit(b) for b in buildings]
    rooms = [make.room(b, unit_id=u.id) for b, u in zip(buildings, units, strict=True)]
    rooms += [make.room(buildings[0]) for _ in range(2)]
    customer = make.customer(org)
    contact = make.contact(customer, phone="13700000001")
    holding = make.holds(customer, rooms[0])
    tenant = make.tenant(org, phone="13700000001")
    spare_tenant = make.tenant(org)
    department = make.department(org, grab_cap=3)
    post = make.post(org)
    technicians = [make.staff(org, department_id=department.id, post_id=post.id) for _ in range(3)]
    dispatchers = [make.staff(org, roles=(Role.ADMIN, Role.DISPATCHER)) for _ in range(2)]
    order_type = make.order_type(org, department_id=department.id)
    subtypes = [make.subtype(order_type), make.subtype(order_type)]
    headers = {
        "admin": make.headers(dispatchers[0].user),
        "technician": make.headers(technicians[0].user),
        "tenant": make.headers(tenant),
    }
    spare = {
        "admin": make.headers(dispatchers[1].user),
        "technician": make.headers(technicians[2].user),
        "tenant": make.headers(spare_tenant),
    }

    # Orders through the API, as the apps make them: pending, in progress, assigned.
    client = app.test_client()
    orders = []
    for i in range(4):
        body = {"subtype_id": subtypes[0].id, "room_id": rooms[0].id, "description": f"漏水 {i}"}
        r = client.post("/api/v1/tenant/orders", json=body, headers=headers["tenant"])
        assert r.status_code == 201, r.get_data(as_text=True)
        orders.append(r.json["id"])
    r = client.post(f"/api/v1/tech/orders/{orders[0]}/grab", headers=headers["technician"])
    assert r.status_code == 200, r.get_data(as_text=True)
    r = client.post(
        f"/api/v1/admin/orders/{orders[1]}/assign",
        json={"staff_id": technicians[0].id},
        headers=headers["admin"],
    )
    assert r.status_code == 200, r.get_data(as_text=True)

    charges = _seed_charges(client, make, org, subtypes[0], technicians[0], headers, orders[0])
    r = client.post("/api/v1/admin/payment-accounts", json=wechat_body(), headers=headers["admin"])
    assert r.status_code == 201, r.get_data(as_text=True)
    payment_account = r.json["id"]
    run = ReconciliationRun(
        org_id=org.id,
        channel="wechat",
        bill_date=date.today() - timedelta(days=2),
        account_id=payment_account,
        status="done",
        summary={"bill_rows": 1},
    )
    make.session.add(run)
    make.session.flush()
    make.session.add(
        ReconciliationDiscrepancy(
            org_id=org.id, run_id=run.id, kind="missing_here", out_trade_no="P1", theirs_fen=100
        )
    )
    make.session.flush()
    r = client.post(
        "/api/v1/admin/settings/sla-policies",
        json={"order_type_id": order_type.id, "resolution_minutes": 480, "business_hours": True},
        headers=headers["admin"],
    )
    assert r.status_code == 201, r.get_data(as_text=True)
    sla_policy = r.json["id"]
    r = client.post(
        "/api/v1/admin/settings/business-calendar/days",
        json={"day": (date.today() + timedelta(days=30)).isoformat(), "kind": "holiday"},
        headers=headers["admin"],
    )
    assert r.status_code == 201, r.get_data(as_text=True)
    business_day = r.json["id"]
    visits, complaints = _seed_visits_and_complaints(client, make, headers, orders[0])
    notices, surveys = _seed_notices_and_surveys(client, make, headers)

    return Seeded(
        headers=headers,
        spare=spare,
        ids={
            "order": orders,
            "community": [c.id for c in communities],
            "building": [b.id for b in buildings],
            "unit": [u.id for u in units],
            "room": [r.id for r in rooms],
            "customer": [customer.id],
            "contact": [contact.id],
            "customer_room": [holding.id],
            "department": [department.id],
            "post": [post.id],
            "staff": [technicians[1].id],
            "order_type": [order_type.id],
            "subtype": [s.id for s in subtypes],
            **charges,
            "payment_account": [payment_account],
            "reconciliation_run": [run.id],
            "sla_policy": [sla_policy],
            "business_day": [business_day],
            "return_visit": visits,
            "complaint": complaints,
            "notice": notices,
            "survey": surveys,
        },
        protected={"staff": {technicians[0].id, technicians[2].id} | {d.id for d in dispatchers}},
    )


def _seed_visits_and_complaints(
    client: Any, make: Factory, headers: dict[str, dict[str, str]], order_id: int
) -> tuple[list[int], list[int]]:
    """A due return visit on an order, and a complaint of the tenant's (answered by the desk)."""
    order = make.session.get(Order, order_id)
    assert order is not None
    visit_id = request_visit(make.session, order=order, reason="low_rating", now=datetime.now(UTC))
    assert visit_id is not None
    r = client.post(
        "/api/v1/tenant/complaints",
        json={"kind": "complaint", "text": "师傅迟到", "order_id": order_id},
        headers=headers["tenant"],
    )
    assert r.status_code == 201, r.get_data(as_text=True)
    complaint = r.json["id"]
    r = client.post(
        f"/api/v1/admin/complaints/{complaint}/replies",
        json={"text": "已核实"},
        headers=headers["admin"],
    )
    assert r.status_code == 201, r.get_data(as_text=True)
    return [visit_id], [complaint]


def _seed_notices_and_surveys(
    client: Any, make: Factory, headers: dict[str, dict[str, str]]
) -> tuple[list[int], list[int]]:
    """A notice to every room and a staff notice, both fanned out (as the worker would), and
    an open survey with one question of each kind."""
    notices = []
    for body in (
        {"title": "停水通知", "body": "明日停水", "scope": "org"},
        {"title": "公告", "body": "周会", "scope": "all_staff", "audience": "staff"},
    ):
        r = client.post("/api/v1/admin/notices", json=body, headers=headers["admin"])
        assert r.status_code == 201, r.get_data(as_text=True)
        notices.append(r.json["id"])
        fanout.write_part(
            make.session, notice_id=r.json["id"], first=1, last=2**62, now=datetime.now(UTC)
        )
    questions = [
        {"kind": "single", "text": "及时吗", "options": ["是", "否"]},
        {"kind": "multiple", "text": "满意哪些", "options": ["态度", "速度"]},
        {"kind": "scale", "text": "评分"},
        {"kind": "text", "text": "建议", "required": False},
    ]
    r = client.post(
        "/api/v1/admin/surveys",
        json={"title": "满意度", "scope": "org", "questions": questions},
        headers=headers["admin"],
    )
    assert r.status_code == 201, r.get_data(as_text=True)
    survey = r.json["id"]
    r = client.post(f"/api/v1/admin/surveys/{survey}/open", headers=headers["admin"])
    assert r.status_code == 200, r.get_data(as_text=True)
    return notices, [survey]


def _seed_charges(
    client: Any,
    make: Factory,
    org: Any,
    subtype: Any,
    technician: Any,
    headers: dict[str, dict[str, str]],
    order_id: int,
) -> dict[str, list[int]]:
    """A spec, a labour item, a material on the technician, a service item, a requisition and
    a charge on the grabbed order, so that the charges endpoints meet real rows."""
    session = make.session
    spec = ServiceSpec(org_id=org.id, subtype_id=subtype.id, name="标准", price_fen=1000)
    labour = LaborItem(org_id=org.id, name="一般维修", unit="小时", price_fen=5000)
    material = Material(org_id=org.id, name="水龙头", unit="个", price_fen=3500, store_qty=5)
    service = ServiceItem(org_id=org.id, name="上门费", unit="次", price_fen=2000)
    session.add_all([spec, labour, material, service])
    session.flush()
    session.add(
        TechnicianStock(org_id=org.id, staff_id=technician.id, material_id=material.id, qty=5)
    )
    session.flush()
    r = client.post(
        "/api/v1/tech/requisitions",
        json={"material_id": material.id, "quantity": 1},
        headers=headers["technician"],
    )
    assert r.status_code == 201, r.get_data(as_text=True)
    requisition = r.json["id"]
    r = client.post(
        f"/api/v1/tech/orders/{order_id}/charges",
        json={"kind": "material", "item_id": material.id, "quantity": 1},
        headers=headers["technician"],
    )
    assert r.status_code == 201, r.get_data(as_text=True)
    return {
        "spec": [spec.id],
        "item": [labour.id, material.id, service.id],
        "material": [material.id],
        "requisition": [requisition],
        "charge": [c["id"] for c in r.json["charges"]],
    }


@pytest.fixture
def seeded(app: Any, make: Factory) -> Iterator[Seeded]:
    """Fresh rows for each role's run, in the test's transaction (rolled back after it)."""
    yield _seed(app, make)
    # Generated logins count failures in Redis, outside the transaction.
    redis_client = app.extensions["baoxiu"].redis
    for key in redis_client.scan_iter(match="baoxiu:login-failures:*", count=500):
        redis_client.delete(key)


def _document(app: Any) -> dict[str, Any]:
    """The app's own OpenAPI document, without the catch-all `default` responses."""
    document: dict[str, Any] = copy.deepcopy(app.test_client().get("/openapi.json").json)
    for operations in document["paths"].values():
        for operation in operations.values():
            if isinstance(operation, dict):
                operation.get("responses", {}).pop("default", None)
    return document


def _schema(app: Any, *, coverage: bool) -> Any:
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "suppress-health-check": ["all"],
            "generation": {
                "mode": "all",
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "database": "none",
                "no-shrink": True,
            },
            "phases": {
                "examples": {"enabled": True},
                "coverage": {"enabled": coverage},
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": False},
            },
        }
    )
    schema = schemathesis.openapi.from_dict(_document(app), config=config)
    schema.app = app
    schema.location = "/openapi.json"
    return schema


def _real_ids(case: Any, seeded: Seeded) -> None:
    """Small generated ids name existing rows (by position); other values are sent as they are.

    The acting users' own rows are never named: a run must not deactivate its own caller.
    """
    params = case.path_parameters or {}
    for name, value in params.items():
        kind = PATH_KINDS.get(name, "")
        if not isinstance(value, int) or isinstance(value, bool):
            continue
        ids = seeded.ids.get(kind, [])
        if ids and 0 <= value < 64:
            params[name] = value = ids[value % len(ids)]
        if value in seeded.protected.get(kind, ()):
            params[name] = BIGINT_MAX


@dataclass(frozen=True)
class Finding:
    operation: str
    checks: str
    summary: str

    def __str__(self) -> str:
        return f"{self.operation} [{self.checks}]\n{self.summary}"


@pytest.mark.timeout(300)
@pytest.mark.parametrize("role", ["admin", "technician", "tenant"])
def test_every_operation_conforms_to_the_document(
    app: Any, client: Any, seeded: Seeded, role: str
) -> None:
    findings: dict[tuple[str, str], Finding] = {}
    answered: dict[str, set[int]] = {}

    def check(case: Any) -> None:
        _real_ids(case, seeded)
        operation = case.operation
        known = KNOWN_DEFECTS.get((operation.method.upper(), operation.path))
        try:
            response = case.call(headers=seeded.headers_for(role, operation.path))
            answered.setdefault(operation.label, set()).add(response.status_code)
            case.validate_response(
                response, checks=CHECKS, excluded_checks=[known] if known else None
            )
        except (Failure, FailureGroup) as exc:
            failures = exc.exceptions if isinstance(exc, FailureGroup) else (exc,)
            for failure in failures:
                checks = ",".join(failure.checks) or type(failure).__name__
                findings.setdefault(
                    (operation.label, checks),
                    Finding(
                        operation.label,
                        checks,
                        f"{failure.title}: {failure.message}\n{case.as_curl_command()}",
                    ),
                )

    own = OWN_OPERATIONS[role]
    schemas = [
        _schema(app, coverage=True).include(path_regex=own),
        _schema(app, coverage=False).exclude(path_regex=own),
    ]
    for schema in schemas:
        for result in get_all_tests(schema=schema, test_func=check, settings=None, given_kwargs={}):
            if not isinstance(result, Ok):
                error = result.err()
                findings[(str(error.path), "schema")] = Finding(
                    str(error.path), "schema", str(error)
                )
                continue
            result.ok()[1]()

    assert not findings, f"{len(findings)} findings as {role}:\n\n" + "\n\n".join(
        str(f) for f in findings.values()
    )
    # The run was not vacuous: every operation was called, the caller kept its identity, and
    # most of the role's own operations succeeded at least once.
    assert len(answered) >= 90, f"only {len(answered)} operations were called"
    assert client.get("/api/v1/me", headers=seeded.headers[role]).status_code == 200
    own_ops = [label for label in answered if re.match(own, label.split(" ", 1)[1])]
    succeeded = [label for label in own_ops if min(answered[label]) < 300]
    assert len(succeeded) >= 0.6 * len(own_ops), sorted(set(own_ops) - set(succeeded))


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/tenant/orders/{order_id}/messages",
        "/api/v1/tech/orders/{order_id}/messages",
        "/api/v1/admin/orders/{order_id}/messages",
    ],
)
def test_messages_document_409(client: Any, path: str) -> None:
    """Posting on a cancelled order answers 409 invalid_transition, and says so."""
    responses = client.get("/openapi.json").json["paths"][path]["post"]["responses"]
    assert "409" in responses


def test_known_defects_name_real_operations(client: Any) -> None:
    paths = client.get("/openapi.json").json["paths"]
    for method, path in KNOWN_DEFECTS:
        assert method.lower() in paths.get(path, {}), (method, path)


def test_own_operations_cover_every_path(client: Any) -> None:
    """Every operation gets the coverage phase in some role's run."""
    for path in client.get("/openapi.json").json["paths"]:
        assert any(re.match(rx, path) for rx in OWN_OPERATIONS.values()), path
