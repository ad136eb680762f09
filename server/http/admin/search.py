"""Console: 全能搜索 — rooms, customers and orders from one box."""

from __future__ import annotations

from typing import Any

from schemas.search import SearchArgsSchema, SearchSchema
from server.kernel.permissions import Permission
from server.search import omni
from server.web.blueprint import Blueprint
from server.web.context import principal, session

blp = Blueprint(
    "admin_search", __name__, url_prefix="/api/v1/admin", description="控制台：全能搜索"
)


@blp.get("/search")
@blp.auth(Permission.CUSTOMERS_VIEW)
@blp.read_only()
@blp.arguments(SearchArgsSchema, location="query")
@blp.response(200, SearchSchema)
def search(args: dict[str, Any]) -> Any:
    """全能搜索：房号、客户姓名、手机号（完整或后 4 位）、证件号、工单号

    按查询的样子分类（11 位手机号、4 位尾号、BX 开头的工单号、18 位证件号，其余按房号或姓名），
    在本机构内查找房屋、客户和工单，按组返回数量与最匹配的前几条：完全匹配在前，其次开头匹配、
    手机尾号、包含、相似。手机号与证件号脱敏；每条附控制台中的去处（link）。
    """
    return omni.search(session(), org_id=principal().org_id, q=args["q"], limit=args["limit"])
