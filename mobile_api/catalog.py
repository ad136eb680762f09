"""The repair catalogue for tenants and staff."""

from __future__ import annotations

from typing import Any

from schemas.booking import SlotQueryArgsSchema, SlotSchema
from schemas.catalog import CatalogSchema
from schemas.dictionary import DictionaryChoicesSchema
from server.booking.slots import list_slots
from server.catalog.browse import active_catalog
from server.dictionary import items as dictionary
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


@blp.get("/dictionary/<string:list_name>")
@blp.auth()
@blp.read_only()
@blp.response(200, DictionaryChoicesSchema)
@blp.alt_response(404, description="没有这个列表（或它不在住户端、师傅端展示）")
def dictionary_list(list_name: str) -> Any:
    """可选原因：cancel_reasons 取消原因、reject_reasons 拒单原因、transfer_reasons 转单原因、
    hold_reasons 挂起原因（本机构启用的项，按排序）

    提交时把所选项的 code 作为 reason_code 传入（取消工单），另可附 reason 补充说明。
    """
    view = dictionary.app_list(session(), org_id=principal().org_id, name=list_name)
    return {
        "name": view.value_list.name,
        "title": view.value_list.title,
        "items": view.items,
    }
