"""The caller's own profile."""

from __future__ import annotations

from typing import Any

from schemas.accounts import UserSchema
from server.accounts.auth import active_user
from server.accounts.profile import profile
from server.web.blueprint import Blueprint
from server.web.context import principal, session

blp = Blueprint("me", __name__, url_prefix="/api/v1/me", description="当前用户")


@blp.get("")
@blp.auth()
@blp.response(200, UserSchema)
def me() -> dict[str, Any]:
    """当前登录用户、所属机构、角色与员工信息"""
    caller = principal()
    user = active_user(session(), user_id=caller.user_id, org_id=caller.org_id)
    return profile(session(), user=user)
