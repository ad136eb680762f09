"""Console: 角色与权限."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from schemas.roles import PermissionSchema, RoleSchema, StaffRolesSchema
from server.kernel.permissions import Permission
from server.roles import admin as roles_service
from server.web.blueprint import Blueprint
from server.web.context import container, now, principal, session

blp = Blueprint(
    "admin_roles",
    __name__,
    url_prefix="/api/v1/admin",
    description="控制台：角色与权限（权限目录、自定义角色、数据范围、员工角色）",
)


@blp.route("/permissions")
class Permissions(MethodView):
    @blp.auth(Permission.ROLES_ACT)
    @blp.response(200, PermissionSchema(many=True))
    def get(self) -> Any:
        """权限目录（固定）：角色由其中的权限组合而成"""
        return roles_service.permission_catalogue()


@blp.route("/roles")
class Roles(MethodView):
    @blp.auth(Permission.ROLES_ACT)
    @blp.response(200, RoleSchema(many=True))
    def get(self) -> Any:
        """角色列表：预置角色（管理员、调度员、维修师傅）在前，其后为本机构的角色"""
        return roles_service.list_roles(session(), org_id=principal().org_id)

    @blp.auth(Permission.ROLES_ACT)
    @blp.arguments(RoleSchema)
    @blp.response(201, RoleSchema)
    @blp.alt_response(409, description="已有同名角色")
    def post(self, data: dict[str, Any]) -> Any:
        """新建角色：权限 + 数据范围（全部小区或指定小区）"""
        return roles_service.create_role(session(), org_id=principal().org_id, data=data, now=now())


@blp.route("/roles/<int:role_id>")
class RoleById(MethodView):
    @blp.auth(Permission.ROLES_ACT)
    @blp.response(200, RoleSchema)
    def get(self, role_id: int) -> Any:
        """角色详情"""
        return roles_service.get_role(session(), org_id=principal().org_id, role_id=role_id)

    @blp.auth(Permission.ROLES_ACT)
    @blp.arguments(RoleSchema(partial=True))
    @blp.response(200, RoleSchema)
    @blp.alt_response(409, description="已有同名角色")
    def patch(self, changes: dict[str, Any], role_id: int) -> Any:
        """修改角色：持有者的下一次请求即按新权限与数据范围"""
        return roles_service.update_role(
            session(),
            org_id=principal().org_id,
            role_id=role_id,
            changes=changes,
            access=container().access,
            now=now(),
        )

    @blp.auth(Permission.ROLES_ACT)
    @blp.response(204)
    def delete(self, role_id: int) -> None:
        """删除角色：持有者随即失去该角色给予的权限"""
        roles_service.delete_role(
            session(),
            org_id=principal().org_id,
            role_id=role_id,
            access=container().access,
            now=now(),
        )


@blp.route("/staff/<int:staff_id>/roles")
class StaffRoles(MethodView):
    @blp.auth(Permission.ROLES_ACT)
    @blp.response(200, RoleSchema(many=True))
    def get(self, staff_id: int) -> Any:
        """员工持有的自定义角色（预置角色见员工的 roles）"""
        return roles_service.staff_roles(session(), org_id=principal().org_id, staff_id=staff_id)

    @blp.auth(Permission.ROLES_ACT)
    @blp.arguments(StaffRolesSchema)
    @blp.response(200, RoleSchema(many=True))
    def put(self, data: dict[str, Any], staff_id: int) -> Any:
        """设置员工的自定义角色（整体替换），下一次请求生效"""
        return roles_service.set_staff_roles(
            session(),
            org_id=principal().org_id,
            staff_id=staff_id,
            role_ids=data["role_ids"],
            access=container().access,
            now=now(),
        )
