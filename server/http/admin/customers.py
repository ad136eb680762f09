"""Console: 控制台：客户、联系人、房屋关系."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from schemas.common import page_of
from schemas.directory import (
    ContactSchema,
    CustomerListItemSchema,
    CustomerQueryArgsSchema,
    CustomerRoomSchema,
    CustomerSchema,
    CustomerUpdateSchema,
)
from schemas.residency import CustomerRoomsSchema
from server.directory import customers as customer_service
from server.kernel.permissions import Permission
from server.residency import details as residency_details
from server.web.blueprint import Blueprint
from server.web.context import principal, session, today

blp = Blueprint(
    "admin_customers",
    __name__,
    url_prefix="/api/v1/admin",
    description="控制台：客户、联系人、房屋关系",
)


@blp.route("/customers")
class Customers(MethodView):
    @blp.auth(Permission.CUSTOMERS_VIEW)
    @blp.arguments(CustomerQueryArgsSchema, location="query")
    @blp.response(200, page_of(CustomerListItemSchema))
    def get(self, args: dict[str, Any]) -> Any:
        """客户列表（手机号、证件号脱敏）"""
        return customer_service.list_customers(
            session(),
            org_id=principal().org_id,
            kind=args.get("kind"),
            q=args.get("q"),
            page=args["page"],
            page_size=args["page_size"],
        )

    @blp.auth(Permission.CUSTOMERS_ACT)
    @blp.arguments(CustomerSchema)
    @blp.response(201, CustomerSchema)
    @blp.alt_response(409, description="联系人手机号重复")
    def post(self, data: dict[str, Any]) -> Any:
        """登记客户（可同时登记联系人）"""
        return customer_service.create_customer(session(), org_id=principal().org_id, data=data)


@blp.route("/customers/<int:customer_id>")
class CustomerById(MethodView):
    @blp.auth(Permission.CUSTOMERS_VIEW)
    @blp.response(200, CustomerSchema)
    @blp.alt_response(404, description="客户不存在")
    def get(self, customer_id: int) -> Any:
        """客户详情（含联系人和房屋关系，不脱敏）"""
        return customer_service.get_customer(
            session(), org_id=principal().org_id, customer_id=customer_id
        )

    @blp.auth(Permission.CUSTOMERS_ACT)
    @blp.arguments(CustomerUpdateSchema(partial=True))
    @blp.response(200, CustomerSchema)
    @blp.alt_response(404, description="客户不存在")
    def patch(self, changes: dict[str, Any], customer_id: int) -> Any:
        """修改客户"""
        return customer_service.update_customer(
            session(), org_id=principal().org_id, customer_id=customer_id, changes=changes
        )

    @blp.auth(Permission.CUSTOMERS_ACT)
    @blp.response(204)
    @blp.alt_response(404, description="客户不存在")
    def delete(self, customer_id: int) -> None:
        """删除客户（连同其联系人和房屋关系）"""
        customer_service.delete_customer(
            session(), org_id=principal().org_id, customer_id=customer_id
        )


@blp.route("/customers/<int:customer_id>/contacts")
class CustomerContacts(MethodView):
    @blp.auth(Permission.CUSTOMERS_ACT)
    @blp.arguments(ContactSchema)
    @blp.response(201, ContactSchema)
    @blp.alt_response(404, description="客户不存在")
    @blp.alt_response(409, description="该客户已有此手机号的联系人")
    def post(self, data: dict[str, Any], customer_id: int) -> Any:
        """添加联系人"""
        return customer_service.add_contact(
            session(), org_id=principal().org_id, customer_id=customer_id, data=data
        )


@blp.route("/contacts/<int:contact_id>")
class ContactById(MethodView):
    @blp.auth(Permission.CUSTOMERS_VIEW)
    @blp.response(200, ContactSchema)
    @blp.alt_response(404, description="联系人不存在")
    def get(self, contact_id: int) -> Any:
        """联系人详情"""
        return customer_service.get_contact(
            session(), org_id=principal().org_id, contact_id=contact_id
        )

    @blp.auth(Permission.CUSTOMERS_ACT)
    @blp.arguments(ContactSchema(partial=True))
    @blp.response(200, ContactSchema)
    @blp.alt_response(404, description="联系人不存在")
    @blp.alt_response(409, description="该客户已有此手机号的联系人")
    def patch(self, changes: dict[str, Any], contact_id: int) -> Any:
        """修改联系人"""
        return customer_service.update_contact(
            session(), org_id=principal().org_id, contact_id=contact_id, changes=changes
        )

    @blp.auth(Permission.CUSTOMERS_ACT)
    @blp.response(204)
    @blp.alt_response(404, description="联系人不存在")
    def delete(self, contact_id: int) -> None:
        """删除联系人"""
        customer_service.delete_contact(session(), org_id=principal().org_id, contact_id=contact_id)


@blp.route("/customers/<int:customer_id>/rooms")
class CustomerRooms(MethodView):
    @blp.auth(Permission.CUSTOMERS_VIEW)
    @blp.read_only()
    @blp.response(200, CustomerRoomsSchema)
    @blp.alt_response(404, description="客户不存在")
    def get(self, customer_id: int) -> Any:
        """一户多房：客户的全部房屋关系（含已结束，带期间、家庭成员的户主），当前有效的在前"""
        return residency_details.customer_rooms(
            session(), org_id=principal().org_id, customer_id=customer_id, today=today()
        )

    @blp.auth(Permission.CUSTOMERS_ACT)
    @blp.arguments(CustomerRoomSchema)
    @blp.response(201, CustomerRoomSchema)
    @blp.alt_response(404, description="客户不存在")
    @blp.alt_response(409, description="该客户已有相同的房屋关系")
    def post(self, data: dict[str, Any], customer_id: int) -> Any:
        """关联房屋（业主、租户或住户）"""
        return customer_service.add_customer_room(
            session(), org_id=principal().org_id, customer_id=customer_id, data=data
        )


@blp.route("/customer-rooms/<int:customer_room_id>")
class CustomerRoomById(MethodView):
    @blp.auth(Permission.CUSTOMERS_VIEW)
    @blp.response(200, CustomerRoomSchema)
    @blp.alt_response(404, description="房屋关系不存在")
    def get(self, customer_room_id: int) -> Any:
        """房屋关系详情"""
        return customer_service.get_customer_room(
            session(), org_id=principal().org_id, customer_room_id=customer_room_id
        )

    @blp.auth(Permission.CUSTOMERS_ACT)
    @blp.arguments(CustomerRoomSchema(partial=True))
    @blp.response(200, CustomerRoomSchema)
    @blp.alt_response(404, description="房屋关系不存在")
    @blp.alt_response(409, description="该客户已有相同的房屋关系")
    def patch(self, changes: dict[str, Any], customer_room_id: int) -> Any:
        """修改房屋关系（如设置结束日期）"""
        return customer_service.update_customer_room(
            session(),
            org_id=principal().org_id,
            customer_room_id=customer_room_id,
            changes=changes,
        )

    @blp.auth(Permission.CUSTOMERS_ACT)
    @blp.response(204)
    @blp.alt_response(404, description="房屋关系不存在")
    def delete(self, customer_room_id: int) -> None:
        """删除房屋关系（误录时使用；正常结束请设置结束日期）"""
        customer_service.delete_customer_room(
            session(), org_id=principal().org_id, customer_room_id=customer_room_id
        )
