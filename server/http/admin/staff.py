"""Console: 控制台：部门、岗位、员工."""

from __future__ import annotations

from server.web.blueprint import Blueprint

blp = Blueprint("admin_staff", __name__, url_prefix="/api/v1/admin", description="控制台：部门、岗位、员工")
