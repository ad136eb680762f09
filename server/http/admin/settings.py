"""Console: 控制台：机构设置与抢单数上限."""

from __future__ import annotations

from server.web.blueprint import Blueprint

blp = Blueprint("admin_settings", __name__, url_prefix="/api/v1/admin", description="控制台：机构设置与抢单数上限")
