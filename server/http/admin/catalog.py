"""Console: order types (一级) and subtypes (二级)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from schemas.catalog import OrderSubtypeSchema, OrderTypeQueryArgsSchema, OrderTypeSchema
from schemas.common import PageArgsSchema, page_of
from schemas.staff import StaffListItemSchema
from server.catalog import admin as catalog_admin
from server.kernel.permissions import Permission
from server.web.blueprint import Blueprint
from server.web.context import principal, session

blp = Blueprint(
    "admin_catalog", __name__, url_prefix="/api/v1/admin", description="控制台：工单类型与子类"
)


@blp.route("/order-types")
class OrderTypes(MethodView):
    @blp.auth(Permission.ORDERS_VIEW)
    @blp.arguments(OrderTypeQueryArgsSchema, location="query")
    @blp.response(200, page_of(OrderTypeSchema))
    def get(self, args: dict[str, Any]) -> Any:
        """工单类型列表（含全部子类）"""
        return catalog_admin.list_order_types(
            session(),
            org_id=principal().org_id,
            q=args.get("q"),
            is_active=args.get("is_active"),
            page=args["page"],
            page_size=args["page_size"],
        )

    @blp.auth(Permission.SETTINGS_ACT)
    @blp.arguments(OrderTypeSchema)
    @blp.response(201, OrderTypeSchema)
    @blp.alt_response(409, description="工单类型名称已存在")
    def post(self, data: dict[str, Any]) -> Any:
        """新建工单类型（可绑定部门、岗位）"""
        return catalog_admin.create_order_type(session(), org_id=principal().org_id, data=data)


@blp.route("/order-types/<int:order_type_id>")
class OrderTypeById(MethodView):
    @blp.auth(Permission.ORDERS_VIEW)
    @blp.response(200, OrderTypeSchema)
    @blp.alt_response(404, description="工单类型不存在")
    def get(self, order_type_id: int) -> Any:
        """工单类型详情"""
        return catalog_admin.get_order_type(
            session(), org_id=principal().org_id, order_type_id=order_type_id
        )

    @blp.auth(Permission.SETTINGS_ACT)
    @blp.arguments(OrderTypeSchema(partial=True))
    @blp.response(200, OrderTypeSchema)
    @blp.alt_response(404, description="工单类型不存在")
    @blp.alt_response(409, description="工单类型名称已存在")
    def patch(self, changes: dict[str, Any], order_type_id: int) -> Any:
        """修改工单类型（department_id / post_id 置空则解除绑定）"""
        return catalog_admin.update_order_type(
            session(), org_id=principal().org_id, order_type_id=order_type_id, changes=changes
        )

    @blp.auth(Permission.SETTINGS_ACT)
    @blp.response(204)
    @blp.alt_response(404, description="工单类型不存在")
    @blp.alt_response(409, description="in_use：工单类型下仍有子类")
    def delete(self, order_type_id: int) -> None:
        """删除工单类型（须先删除其子类）"""
        catalog_admin.delete_order_type(
            session(), org_id=principal().org_id, order_type_id=order_type_id
        )


@blp.route("/order-types/<int:order_type_id>/subtypes")
class OrderTypeSubtypes(MethodView):
    @blp.auth(Permission.ORDERS_VIEW)
    @blp.response(200, OrderSubtypeSchema(many=True))
    @blp.alt_response(404, description="工单类型不存在")
    def get(self, order_type_id: int) -> Any:
        """某工单类型的全部子类"""
        return catalog_admin.list_subtypes(
            session(), org_id=principal().org_id, order_type_id=order_type_id
        )

    @blp.auth(Permission.SETTINGS_ACT)
    @blp.arguments(OrderSubtypeSchema)
    @blp.response(201, OrderSubtypeSchema)
    @blp.alt_response(404, description="工单类型不存在")
    @blp.alt_response(409, description="该类型下已有同名子类")
    def post(self, data: dict[str, Any], order_type_id: int) -> Any:
        """新建工单子类（收费方式、金额、是否预约）"""
        return catalog_admin.create_subtype(
            session(), org_id=principal().org_id, order_type_id=order_type_id, data=data
        )


@blp.route("/order-types/<int:order_type_id>/technicians")
class OrderTypeTechnicians(MethodView):
    @blp.auth(Permission.ORDERS_VIEW)
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, page_of(StaffListItemSchema))
    @blp.alt_response(404, description="工单类型不存在")
    def get(self, args: dict[str, Any], order_type_id: int) -> Any:
        """按部门/岗位绑定能接该类型工单的在职维修工"""
        return catalog_admin.eligible_technicians(
            session(),
            org_id=principal().org_id,
            order_type_id=order_type_id,
            page=args["page"],
            page_size=args["page_size"],
        )


@blp.route("/order-subtypes/<int:subtype_id>")
class OrderSubtypeById(MethodView):
    @blp.auth(Permission.ORDERS_VIEW)
    @blp.response(200, OrderSubtypeSchema)
    @blp.alt_response(404, description="工单子类不存在")
    def get(self, subtype_id: int) -> Any:
        """工单子类详情"""
        return catalog_admin.get_subtype(
            session(), org_id=principal().org_id, subtype_id=subtype_id
        )

    @blp.auth(Permission.SETTINGS_ACT)
    @blp.arguments(OrderSubtypeSchema(partial=True))
    @blp.response(200, OrderSubtypeSchema)
    @blp.alt_response(404, description="工单子类不存在")
    @blp.alt_response(409, description="该类型下已有同名子类")
    def patch(self, changes: dict[str, Any], subtype_id: int) -> Any:
        """修改工单子类"""
        return catalog_admin.update_subtype(
            session(), org_id=principal().org_id, subtype_id=subtype_id, changes=changes
        )

    @blp.auth(Permission.SETTINGS_ACT)
    @blp.response(204)
    @blp.alt_response(404, description="工单子类不存在")
    @blp.alt_response(409, description="in_use：子类仍被工单引用")
    def delete(self, subtype_id: int) -> None:
        """删除工单子类"""
        catalog_admin.delete_subtype(session(), org_id=principal().org_id, subtype_id=subtype_id)
