"""Console: 数据字典 — the organisation's value lists; admins relabel, reorder, switch and add."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from schemas.dictionary import (
    DictionaryItemCreateSchema,
    DictionaryItemSchema,
    DictionaryItemUpdateSchema,
    DictionaryListDetailSchema,
    DictionaryListsSchema,
)
from server.dictionary import items
from server.kernel.permissions import Permission
from server.web.blueprint import Blueprint
from server.web.context import now, principal, session

blp = Blueprint(
    "admin_dictionary", __name__, url_prefix="/api/v1/admin", description="控制台：数据字典"
)

# The desk reads the lists (its selects show them); only admins change them.


@blp.get("/dictionary")
@blp.auth(Permission.SETTINGS_VIEW)
@blp.read_only()
@blp.response(200, DictionaryListsSchema)
def lists() -> Any:
    """数据字典的全部列表（系统固定 / 可扩充）及每个列表的项数"""
    return {"items": items.all_lists(session(), org_id=principal().org_id)}


@blp.route("/dictionary/<string:list_name>")
class DictionaryList(MethodView):
    @blp.auth(Permission.SETTINGS_VIEW)
    @blp.read_only()
    @blp.response(200, DictionaryListDetailSchema)
    @blp.alt_response(404, description="数据字典中没有这个列表")
    def get(self, list_name: str) -> Any:
        """一个列表的全部项（含停用的），按排序；系统预置项附原始名称"""
        return items.list_view(session(), org_id=principal().org_id, name=list_name)

    @blp.auth(Permission.SETTINGS_ACT)
    @blp.arguments(DictionaryItemCreateSchema)
    @blp.response(201, DictionaryItemSchema)
    @blp.alt_response(404, description="数据字典中没有这个列表")
    @blp.alt_response(409, description="系统固定的列表不能新增项；编码已存在（含系统预置项）")
    def post(self, data: dict[str, Any], list_name: str) -> Any:
        """新增自定义项（仅可扩充的列表；编码在列表内唯一）"""
        return items.add_item(
            session(), org_id=principal().org_id, name=list_name, data=data, now=now()
        )


@blp.route("/dictionary/<string:list_name>/items/<string:code>")
class DictionaryItem(MethodView):
    @blp.auth(Permission.SETTINGS_ACT)
    @blp.arguments(DictionaryItemUpdateSchema)
    @blp.response(200, DictionaryItemSchema)
    @blp.alt_response(404, description="数据字典中没有这个列表或编码")
    def patch(self, changes: dict[str, Any], list_name: str, code: str) -> Any:
        """修改一项：名称、排序、启用（系统固定的列表不能停用；编码不能修改）"""
        return items.update_item(
            session(),
            org_id=principal().org_id,
            name=list_name,
            code=code,
            changes=changes,
            now=now(),
        )

    @blp.auth(Permission.SETTINGS_ACT)
    @blp.response(204)
    @blp.alt_response(404, description="数据字典中没有这个列表或编码")
    @blp.alt_response(409, description="系统预置项不能删除（可停用）")
    def delete(self, list_name: str, code: str) -> None:
        """删除自定义项（系统预置项不能删除）"""
        items.delete_item(
            session(), org_id=principal().org_id, name=list_name, code=code, now=now()
        )
