"""Console: organisation settings and grab caps (抢单数上限)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from schemas.organisation import GrabCapsSchema, OrganisationSettingsSchema
from server.kernel.permissions import Permission
from server.organisation import settings as settings_service
from server.web.blueprint import Blueprint
from server.web.context import principal, session

blp = Blueprint(
    "admin_settings",
    __name__,
    url_prefix="/api/v1/admin",
    description="控制台：机构设置与抢单数上限",
)


@blp.route("/settings/organisation")
class OrganisationSettings(MethodView):
    @blp.auth(Permission.SETTINGS_VIEW)
    @blp.response(200, OrganisationSettingsSchema)
    def get(self) -> Any:
        """机构设置"""
        return settings_service.get_organisation(session(), org_id=principal().org_id)

    @blp.auth(Permission.SETTINGS_ACT)
    @blp.arguments(OrganisationSettingsSchema(partial=True))
    @blp.response(200, OrganisationSettingsSchema)
    def patch(self, changes: dict[str, Any]) -> Any:
        """修改机构名称或默认抢单数上限"""
        return settings_service.update_organisation(
            session(), org_id=principal().org_id, changes=changes
        )


@blp.route("/settings/grab-caps")
class GrabCaps(MethodView):
    @blp.auth(Permission.SETTINGS_VIEW)
    @blp.response(200, GrabCapsSchema)
    def get(self) -> Any:
        """抢单数上限一览：机构默认、部门默认、维修工个人设置与生效值（个人 > 部门 > 机构）"""
        return settings_service.grab_cap_overview(session(), org_id=principal().org_id)
