"""Console: communities, buildings, units and rooms."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from server.domain.roles import Role
from server.services import property as property_service
from server.web.blueprint import Blueprint
from server.web.context import principal, session

from schemas.admin_property import (
    CommunityQueryArgsSchema,
    CommunitySchema,
)
from schemas.common import page_of

blp = Blueprint("admin_property", __name__, url_prefix="/api/v1/admin",
                description="控制台：小区、楼栋、单元、房间")

READ = (Role.ADMIN, Role.DISPATCHER)
WRITE = (Role.ADMIN,)


@blp.route("/communities")
class Communities(MethodView):
    @blp.auth(*READ)
    @blp.arguments(CommunityQueryArgsSchema, location="query")
    @blp.response(200, page_of(CommunitySchema))
    def get(self, args: dict[str, Any]) -> Any:
        """小区列表"""
        return property_service.list_communities(
            session(), org_id=principal().org_id, q=args.get("q"), page=args["page"],
            page_size=args["page_size"],
        )

    @blp.auth(*WRITE)
    @blp.arguments(CommunitySchema)
    @blp.response(201, CommunitySchema)
    @blp.alt_response(409, description="编码已存在")
    def post(self, data: dict[str, Any]) -> Any:
        """新建小区"""
        return property_service.create_community(session(), org_id=principal().org_id, data=data)


@blp.route("/communities/<int:community_id>")
class CommunityById(MethodView):
    @blp.auth(*READ)
    @blp.response(200, CommunitySchema)
    @blp.alt_response(404, description="小区不存在")
    def get(self, community_id: int) -> Any:
        """小区详情"""
        return property_service.get_community(
            session(), org_id=principal().org_id, community_id=community_id
        )

    @blp.auth(*WRITE)
    @blp.arguments(CommunitySchema(partial=True))
    @blp.response(200, CommunitySchema)
    @blp.alt_response(404, description="小区不存在")
    @blp.alt_response(409, description="编码已存在")
    def patch(self, changes: dict[str, Any], community_id: int) -> Any:
        """修改小区"""
        return property_service.update_community(
            session(), org_id=principal().org_id, community_id=community_id, changes=changes
        )

    @blp.auth(*WRITE)
    @blp.response(204)
    @blp.alt_response(404, description="小区不存在")
    @blp.alt_response(409, description="in_use：小区下仍有楼栋或房间")
    def delete(self, community_id: int) -> None:
        """删除小区（须先删除其下的楼栋和房间）"""
        property_service.delete_community(
            session(), org_id=principal().org_id, community_id=community_id
        )
