"""Tenant endpoints: the rooms a resident or tenant employee may file for."""

from __future__ import annotations

from typing import Any

from schemas.property import TenantRoomListSchema
from server.domain.roles import Role
from server.services.auth import active_user
from server.services.tenancy import rooms_for_tenant
from server.web.blueprint import Blueprint
from server.web.context import principal, session, today

blp = Blueprint("tenant", __name__, url_prefix="/api/v1/tenant", description="住户 / 租户")


@blp.get("/rooms")
@blp.auth(Role.TENANT)
@blp.response(200, TenantRoomListSchema)
def rooms() -> dict[str, Any]:
    """我可以报修的房间（通过我的联系人记录关联，且在有效期内）"""
    caller = principal()
    user = active_user(session(), user_id=caller.user_id, org_id=caller.org_id)
    return {"items": rooms_for_tenant(session(), user=user, today=today())}
