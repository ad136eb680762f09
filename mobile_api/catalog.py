"""The repair catalogue for tenants and staff."""

from __future__ import annotations

from typing import Any

from schemas.booking import SlotQueryArgsSchema, SlotSchema
from schemas.catalog import CatalogSchema
from server.booking.slots import list_slots
from server.catalog.browse import active_catalog
from server.kernel.roles import CONSOLE_ROLES
from server.web.blueprint import Blueprint
from server.web.context import now, principal, session

blp = Blueprint("catalog", __name__, url_prefix="/api/v1/catalog", description="报修目录")


@blp.get("/order-types")
@blp.auth()
@blp.response(200, CatalogSchema)
def order_types() -> dict[str, Any]:
    """工单类型（一级）及其子类（二级），含收费方式与是否预约"""
    return {"items": active_catalog(session(), org_id=principal().org_id)}


@blp.get("/subtypes/<int:subtype_id>/slots")
@blp.auth()
@blp.arguments(SlotQueryArgsSchema, location="query")
@blp.response(200, SlotSchema(many=True))
def slots(args: dict[str, Any], subtype_id: int) -> Any:
    """某日的预约时段（北京时间）：已过、即将开始、暂停与约满的时段 available 为 false 并给出 reason

    名额按房间所在小区计算（room_id；机构只有一个小区时可省略）。调度员与管理员看到的上限含
    预留名额。未开启预约的子类返回空列表。
    """
    caller = principal()
    return list_slots(
        session(),
        org_id=caller.org_id,
        subtype_id=subtype_id,
        day=args["date"],
        room_id=args.get("room_id"),
        desk=caller.has_any(frozenset(r.value for r in CONSOLE_ROLES)),
        now=now(),
    )
