"""The repair catalogue for tenants and staff."""

from __future__ import annotations

from typing import Any

from schemas.catalog import CatalogSchema
from server.catalog.browse import active_catalog
from server.web.blueprint import Blueprint
from server.web.context import principal, session

blp = Blueprint("catalog", __name__, url_prefix="/api/v1/catalog", description="报修目录")


@blp.get("/order-types")
@blp.auth()
@blp.response(200, CatalogSchema)
def order_types() -> dict[str, Any]:
    """工单类型（一级）及其子类（二级），含收费方式与是否预约"""
    return {"items": active_catalog(session(), org_id=principal().org_id)}
