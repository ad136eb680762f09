"""Console: 控制台：工单类型与子类."""

from __future__ import annotations

from server.web.blueprint import Blueprint

blp = Blueprint("admin_catalog", __name__, url_prefix="/api/v1/admin", description="控制台：工单类型与子类")
