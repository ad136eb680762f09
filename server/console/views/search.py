"""全能搜索: the top bar's box on every page, its results grouped by kind, and where a hit
leads (a room and who is related to it today, a customer and their rooms; orders open their
own page). The same use case, rules and masking as `GET /api/v1/admin/search`."""

from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import ValidationError

from schemas.directory import CustomerListItemSchema, CustomerRoomSchema, RoomBriefSchema
from schemas.search import SearchArgsSchema, SearchSchema
from server.console.blueprint import bp
from server.console.web import desk_page, page
from server.dictionary import items as dictionary
from server.directory import customers as customer_service
from server.directory import property as property_service
from server.directory import tenancy
from server.kernel.clock import local_date
from server.kernel.errors import NotFound
from server.search import omni
from server.search.rules import MAX_LIMIT, MAX_QUERY_LENGTH
from server.web.context import now, principal, session

KIND_LABELS = {"person": "个人", "company": "单位"}


def _relation_labels() -> dict[str, Any]:
    """The organisation's names for room and contact relations (数据字典)."""
    org_id = principal().org_id
    return {
        "room_relation_labels": dictionary.labels(session(), org_id=org_id, name="room_relations"),
        "contact_relation_labels": dictionary.labels(
            session(), org_id=org_id, name="contact_relations"
        ),
    }


_ARGS = SearchArgsSchema()
_RESULT = SearchSchema()
_ROOM = RoomBriefSchema()
_CUSTOMER = CustomerListItemSchema()
_RELATIONS = CustomerRoomSchema(many=True)


@bp.get("/search")
@desk_page
def search_page() -> Any:
    raw = request.args.get("q", "")
    result = None
    problem = ""
    if raw.strip():
        try:
            args = _ARGS.load({"q": raw, "limit": MAX_LIMIT})
        except ValidationError:
            problem = f"请输入 1–{MAX_QUERY_LENGTH} 个字符"
        else:
            result = _RESULT.dump(
                omni.search(session(), org_id=principal().org_id, q=args["q"], limit=args["limit"])
            )
    return page(
        "console/search.html",
        omni_q=raw.strip()[:MAX_QUERY_LENGTH],
        result=result,
        problem=problem,
        kind_labels=KIND_LABELS,
        nav="search",
    )


def _not_found(exc: NotFound, title: str) -> Any:
    return page("console/error.html", status=404, title=title, message=exc.message)


@bp.get("/search/rooms/<int:room_id>")
@desk_page
def room_page(room_id: int) -> Any:
    org_id = principal().org_id
    try:
        room = property_service.get_room(session(), org_id=org_id, room_id=room_id)
    except NotFound as exc:
        return _not_found(exc, "房屋不存在")
    related = tenancy.customers_of_room(
        session(), org_id=org_id, room_id=room.id, today=local_date(now())
    )
    customers = [{**_CUSTOMER.dump(r.customer), "relation": r.relation} for r in related]
    return page(
        "console/search_room.html",
        room=_ROOM.dump(room),
        customers=customers,
        kind_labels=KIND_LABELS,
        **_relation_labels(),
    )


@bp.get("/search/customers/<int:customer_id>")
@desk_page
def customer_page(customer_id: int) -> Any:
    try:
        customer = customer_service.get_customer(
            session(), org_id=principal().org_id, customer_id=customer_id
        )
    except NotFound as exc:
        return _not_found(exc, "客户不存在")
    return page(
        "console/search_customer.html",
        customer=_CUSTOMER.dump(customer),
        relations=_RELATIONS.dump(customer.rooms),
        today=local_date(now()).isoformat(),
        kind_labels=KIND_LABELS,
        **_relation_labels(),
    )
