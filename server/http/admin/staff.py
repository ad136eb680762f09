"""Console: departments, posts and staff."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from schemas.common import page_of
from schemas.staff import (
    DepartmentSchema,
    NameQueryArgsSchema,
    PostSchema,
    StaffListItemSchema,
    StaffQueryArgsSchema,
    StaffSchema,
)
from server.kernel.permissions import Permission
from server.staff import members, structure
from server.web.blueprint import Blueprint
from server.web.context import container, now, principal, session

blp = Blueprint(
    "admin_staff", __name__, url_prefix="/api/v1/admin", description="控制台：部门、岗位、员工"
)


@blp.route("/departments")
class Departments(MethodView):
    @blp.auth(Permission.DISPATCH_VIEW)
    @blp.arguments(NameQueryArgsSchema, location="query")
    @blp.response(200, page_of(DepartmentSchema))
    def get(self, args: dict[str, Any]) -> Any:
        """部门列表"""
        return structure.list_departments(
            session(),
            org_id=principal().org_id,
            q=args.get("q"),
            page=args["page"],
            page_size=args["page_size"],
        )

    @blp.auth(Permission.SETTINGS_ACT)
    @blp.arguments(DepartmentSchema)
    @blp.response(201, DepartmentSchema)
    @blp.alt_response(409, description="部门名称已存在")
    def post(self, data: dict[str, Any]) -> Any:
        """新建部门"""
        return structure.create_department(session(), org_id=principal().org_id, data=data)


@blp.route("/departments/<int:department_id>")
class DepartmentById(MethodView):
    @blp.auth(Permission.DISPATCH_VIEW)
    @blp.response(200, DepartmentSchema)
    @blp.alt_response(404, description="部门不存在")
    def get(self, department_id: int) -> Any:
        """部门详情"""
        return structure.get_department(
            session(), org_id=principal().org_id, department_id=department_id
        )

    @blp.auth(Permission.SETTINGS_ACT)
    @blp.arguments(DepartmentSchema(partial=True))
    @blp.response(200, DepartmentSchema)
    @blp.alt_response(404, description="部门不存在")
    @blp.alt_response(409, description="部门名称已存在")
    def patch(self, changes: dict[str, Any], department_id: int) -> Any:
        """修改部门（grab_cap 置空则使用机构默认值）"""
        return structure.update_department(
            session(), org_id=principal().org_id, department_id=department_id, changes=changes
        )

    @blp.auth(Permission.SETTINGS_ACT)
    @blp.response(204)
    @blp.alt_response(404, description="部门不存在")
    @blp.alt_response(409, description="in_use：部门下仍有员工或绑定的工单类型")
    def delete(self, department_id: int) -> None:
        """删除部门（须先移走员工并解除工单类型绑定）"""
        structure.delete_department(
            session(), org_id=principal().org_id, department_id=department_id
        )


@blp.route("/posts")
class Posts(MethodView):
    @blp.auth(Permission.DISPATCH_VIEW)
    @blp.arguments(NameQueryArgsSchema, location="query")
    @blp.response(200, page_of(PostSchema))
    def get(self, args: dict[str, Any]) -> Any:
        """岗位列表"""
        return structure.list_posts(
            session(),
            org_id=principal().org_id,
            q=args.get("q"),
            page=args["page"],
            page_size=args["page_size"],
        )

    @blp.auth(Permission.SETTINGS_ACT)
    @blp.arguments(PostSchema)
    @blp.response(201, PostSchema)
    @blp.alt_response(409, description="岗位名称已存在")
    def post(self, data: dict[str, Any]) -> Any:
        """新建岗位"""
        return structure.create_post(session(), org_id=principal().org_id, data=data)


@blp.route("/posts/<int:post_id>")
class PostById(MethodView):
    @blp.auth(Permission.DISPATCH_VIEW)
    @blp.response(200, PostSchema)
    @blp.alt_response(404, description="岗位不存在")
    def get(self, post_id: int) -> Any:
        """岗位详情"""
        return structure.get_post(session(), org_id=principal().org_id, post_id=post_id)

    @blp.auth(Permission.SETTINGS_ACT)
    @blp.arguments(PostSchema(partial=True))
    @blp.response(200, PostSchema)
    @blp.alt_response(404, description="岗位不存在")
    @blp.alt_response(409, description="岗位名称已存在")
    def patch(self, changes: dict[str, Any], post_id: int) -> Any:
        """修改岗位"""
        return structure.update_post(
            session(), org_id=principal().org_id, post_id=post_id, changes=changes
        )

    @blp.auth(Permission.SETTINGS_ACT)
    @blp.response(204)
    @blp.alt_response(404, description="岗位不存在")
    @blp.alt_response(409, description="in_use：岗位下仍有员工或绑定的工单类型")
    def delete(self, post_id: int) -> None:
        """删除岗位（须先移走员工并解除工单类型绑定）"""
        structure.delete_post(session(), org_id=principal().org_id, post_id=post_id)


@blp.route("/staff")
class StaffList(MethodView):
    @blp.auth(Permission.DISPATCH_VIEW)
    @blp.arguments(StaffQueryArgsSchema, location="query")
    @blp.response(200, page_of(StaffListItemSchema))
    def get(self, args: dict[str, Any]) -> Any:
        """员工列表（手机号脱敏；含生效的抢单数上限、手上工单数与可接工单类型）"""
        return members.list_staff(session(), org_id=principal().org_id, **args)

    @blp.auth(Permission.SETTINGS_ACT)
    @blp.arguments(StaffSchema)
    @blp.response(201, StaffSchema)
    @blp.alt_response(409, description="手机号已被使用")
    def post(self, data: dict[str, Any]) -> Any:
        """新建员工（同时创建登录账号）"""
        return members.create_staff(session(), org_id=principal().org_id, data=data)


@blp.route("/staff/<int:staff_id>")
class StaffById(MethodView):
    @blp.auth(Permission.DISPATCH_VIEW)
    @blp.response(200, StaffSchema)
    @blp.alt_response(404, description="员工不存在")
    def get(self, staff_id: int) -> Any:
        """员工详情"""
        return members.get_staff(session(), org_id=principal().org_id, staff_id=staff_id)

    @blp.auth(Permission.SETTINGS_ACT)
    @blp.arguments(StaffSchema(partial=True))
    @blp.response(200, StaffSchema)
    @blp.alt_response(404, description="员工不存在")
    @blp.alt_response(409, description="手机号已被使用，或试图移除自己的管理员角色、停用自己")
    def patch(self, changes: dict[str, Any], staff_id: int) -> Any:
        """修改员工（可重置密码；grab_cap 置空则取消个人上限）"""
        caller = principal()
        return members.update_staff(
            session(),
            org_id=caller.org_id,
            staff_id=staff_id,
            changes=changes,
            actor_user_id=caller.user_id,
            access=container().access,
            now=now(),
        )

    @blp.auth(Permission.SETTINGS_ACT)
    @blp.response(204)
    @blp.alt_response(404, description="员工不存在")
    @blp.alt_response(409, description="不能停用自己")
    def delete(self, staff_id: int) -> None:
        """停用员工（保留记录，账号不能再登录）"""
        caller = principal()
        members.deactivate_staff(
            session(),
            org_id=caller.org_id,
            staff_id=staff_id,
            actor_user_id=caller.user_id,
            access=container().access,
            now=now(),
        )
