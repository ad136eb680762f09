"""Console: 控制台：客户、联系人、房屋关系."""

from __future__ import annotations

from server.web.blueprint import Blueprint

blp = Blueprint("admin_customers", __name__, url_prefix="/api/v1/admin", description="控制台：客户、联系人、房屋关系")
