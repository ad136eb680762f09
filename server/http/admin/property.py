"""Console: communities, buildings, units and rooms."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from schemas.common import page_of
from schemas.directory import (
    BuildingQueryArgsSchema,
    BuildingSchema,
    BuildingUpdateSchema,
    CommunityQueryArgsSchema,
    CommunitySchema,
    RoomQueryArgsSchema,
    RoomSchema,
    UnitQueryArgsSchema,
    UnitSchema,
    UnitUpdateSchema,
)
from server.directory import property as property_service
from server.kernel.permissions import Permission
from server.web.blueprint import Blueprint
from server.web.context import principal, session

blp = Blueprint(
    "admin_property",
    __name__,
    url_prefix="/api/v1/admin",
    description="控制台：小区、楼栋、单元、房间",
)


@blp.route("/communities")
class Communities(MethodView):
    @blp.auth(Permission.CUSTOMERS_VIEW)
    @blp.arguments(CommunityQueryArgsSchema, location="query")
    @blp.response(200, page_of(CommunitySchema))
    def get(self, args: dict[str, Any]) -> Any:
        """小区列表"""
        return property_service.list_communities(
            session(),
            org_id=principal().org_id,
            q=args.get("q"),
            page=args["page"],
            page_size=args["page_size"],
        )

    @blp.auth(Permission.PROPERTY_ACT)
    @blp.arguments(CommunitySchema)
    @blp.response(201, CommunitySchema)
    @blp.alt_response(409, description="编码已存在")
    def post(self, data: dict[str, Any]) -> Any:
        """新建小区"""
        return property_service.create_community(session(), org_id=principal().org_id, data=data)


@blp.route("/communities/<int:community_id>")
class CommunityById(MethodView):
    @blp.auth(Permission.CUSTOMERS_VIEW)
    @blp.response(200, CommunitySchema)
    @blp.alt_response(404, description="小区不存在")
    def get(self, community_id: int) -> Any:
        """小区详情"""
        return property_service.get_community(
            session(), org_id=principal().org_id, community_id=community_id
        )

    @blp.auth(Permission.PROPERTY_ACT)
    @blp.arguments(CommunitySchema(partial=True))
    @blp.response(200, CommunitySchema)
    @blp.alt_response(404, description="小区不存在")
    @blp.alt_response(409, description="编码已存在")
    def patch(self, changes: dict[str, Any], community_id: int) -> Any:
        """修改小区"""
        return property_service.update_community(
            session(), org_id=principal().org_id, community_id=community_id, changes=changes
        )

    @blp.auth(Permission.PROPERTY_ACT)
    @blp.response(204)
    @blp.alt_response(404, description="小区不存在")
    @blp.alt_response(409, description="in_use：小区下仍有楼栋或房间")
    def delete(self, community_id: int) -> None:
        """删除小区（须先删除其下的楼栋和房间）"""
        property_service.delete_community(
            session(), org_id=principal().org_id, community_id=community_id
        )


@blp.route("/buildings")
class Buildings(MethodView):
    @blp.auth(Permission.CUSTOMERS_VIEW)
    @blp.arguments(BuildingQueryArgsSchema, location="query")
    @blp.response(200, page_of(BuildingSchema))
    def get(self, args: dict[str, Any]) -> Any:
        """楼栋列表"""
        return property_service.list_buildings(
            session(),
            org_id=principal().org_id,
            community_id=args.get("community_id"),
            q=args.get("q"),
            page=args["page"],
            page_size=args["page_size"],
        )

    @blp.auth(Permission.PROPERTY_ACT)
    @blp.arguments(BuildingSchema)
    @blp.response(201, BuildingSchema)
    @blp.alt_response(409, description="该小区已有同名楼栋")
    def post(self, data: dict[str, Any]) -> Any:
        """新建楼栋"""
        return property_service.create_building(session(), org_id=principal().org_id, data=data)


@blp.route("/buildings/<int:building_id>")
class BuildingById(MethodView):
    @blp.auth(Permission.CUSTOMERS_VIEW)
    @blp.response(200, BuildingSchema)
    @blp.alt_response(404, description="楼栋不存在")
    def get(self, building_id: int) -> Any:
        """楼栋详情"""
        return property_service.get_building(
            session(), org_id=principal().org_id, building_id=building_id
        )

    @blp.auth(Permission.PROPERTY_ACT)
    @blp.arguments(BuildingUpdateSchema(partial=True))
    @blp.response(200, BuildingSchema)
    @blp.alt_response(404, description="楼栋不存在")
    @blp.alt_response(409, description="该小区已有同名楼栋")
    def patch(self, changes: dict[str, Any], building_id: int) -> Any:
        """修改楼栋（不能移到其他小区）"""
        return property_service.update_building(
            session(), org_id=principal().org_id, building_id=building_id, changes=changes
        )

    @blp.auth(Permission.PROPERTY_ACT)
    @blp.response(204)
    @blp.alt_response(404, description="楼栋不存在")
    @blp.alt_response(409, description="in_use：楼栋下仍有单元或房间")
    def delete(self, building_id: int) -> None:
        """删除楼栋（须先删除其下的单元和房间）"""
        property_service.delete_building(
            session(), org_id=principal().org_id, building_id=building_id
        )


@blp.route("/units")
class Units(MethodView):
    @blp.auth(Permission.CUSTOMERS_VIEW)
    @blp.arguments(UnitQueryArgsSchema, location="query")
    @blp.response(200, page_of(UnitSchema))
    def get(self, args: dict[str, Any]) -> Any:
        """单元列表"""
        return property_service.list_units(
            session(),
            org_id=principal().org_id,
            building_id=args.get("building_id"),
            page=args["page"],
            page_size=args["page_size"],
        )

    @blp.auth(Permission.PROPERTY_ACT)
    @blp.arguments(UnitSchema)
    @blp.response(201, UnitSchema)
    @blp.alt_response(409, description="该楼栋已有同名单元")
    def post(self, data: dict[str, Any]) -> Any:
        """新建单元"""
        return property_service.create_unit(session(), org_id=principal().org_id, data=data)


@blp.route("/units/<int:unit_id>")
class UnitById(MethodView):
    @blp.auth(Permission.CUSTOMERS_VIEW)
    @blp.response(200, UnitSchema)
    @blp.alt_response(404, description="单元不存在")
    def get(self, unit_id: int) -> Any:
        """单元详情"""
        return property_service.get_unit(session(), org_id=principal().org_id, unit_id=unit_id)

    @blp.auth(Permission.PROPERTY_ACT)
    @blp.arguments(UnitUpdateSchema(partial=True))
    @blp.response(200, UnitSchema)
    @blp.alt_response(404, description="单元不存在")
    @blp.alt_response(409, description="该楼栋已有同名单元")
    def patch(self, changes: dict[str, Any], unit_id: int) -> Any:
        """修改单元（不能移到其他楼栋）"""
        return property_service.update_unit(
            session(), org_id=principal().org_id, unit_id=unit_id, changes=changes
        )

    @blp.auth(Permission.PROPERTY_ACT)
    @blp.response(204)
    @blp.alt_response(404, description="单元不存在")
    @blp.alt_response(409, description="in_use：单元下仍有房间")
    def delete(self, unit_id: int) -> None:
        """删除单元（须先删除或移走其下的房间）"""
        property_service.delete_unit(session(), org_id=principal().org_id, unit_id=unit_id)


@blp.route("/rooms")
class Rooms(MethodView):
    @blp.auth(Permission.CUSTOMERS_VIEW)
    @blp.arguments(RoomQueryArgsSchema, location="query")
    @blp.response(200, page_of(RoomSchema))
    def get(self, args: dict[str, Any]) -> Any:
        """房间列表"""
        return property_service.list_rooms(
            session(),
            org_id=principal().org_id,
            community_id=args.get("community_id"),
            building_id=args.get("building_id"),
            unit_id=args.get("unit_id"),
            q=args.get("q"),
            page=args["page"],
            page_size=args["page_size"],
        )

    @blp.auth(Permission.PROPERTY_ACT)
    @blp.arguments(RoomSchema)
    @blp.response(201, RoomSchema)
    @blp.alt_response(409, description="该小区已有相同房号")
    def post(self, data: dict[str, Any]) -> Any:
        """新建房间（所属小区由楼栋决定）"""
        return property_service.create_room(session(), org_id=principal().org_id, data=data)


@blp.route("/rooms/<int:room_id>")
class RoomById(MethodView):
    @blp.auth(Permission.CUSTOMERS_VIEW)
    @blp.response(200, RoomSchema)
    @blp.alt_response(404, description="房间不存在")
    def get(self, room_id: int) -> Any:
        """房间详情"""
        return property_service.get_room(session(), org_id=principal().org_id, room_id=room_id)

    @blp.auth(Permission.PROPERTY_ACT)
    @blp.arguments(RoomSchema(partial=True))
    @blp.response(200, RoomSchema)
    @blp.alt_response(404, description="房间不存在")
    @blp.alt_response(409, description="该小区已有相同房号")
    def patch(self, changes: dict[str, Any], room_id: int) -> Any:
        """修改房间（换楼栋时所属小区随之改变）"""
        return property_service.update_room(
            session(), org_id=principal().org_id, room_id=room_id, changes=changes
        )

    @blp.auth(Permission.PROPERTY_ACT)
    @blp.response(204)
    @blp.alt_response(404, description="房间不存在")
    @blp.alt_response(409, description="in_use：房间仍有客户关系或工单")
    def delete(self, room_id: int) -> None:
        """删除房间（须先解除客户关系）"""
        property_service.delete_room(session(), org_id=principal().org_id, room_id=room_id)
