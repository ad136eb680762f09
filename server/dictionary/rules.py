"""数据字典 (pure): which value lists exist, which are closed, and what an admin may change.

- A **closed** list is backed by a CHECK-constrained column (room use, orientation, ID type…):
  its values are the code's and no other; an admin may relabel and reorder them, never add,
  disable, delete or recode one.
- An **open** list holds free-form choices the organisation keeps (cancel reasons, vehicle
  colours, 户型…): the code's defaults are its system values (relabel, reorder, disable), and
  the organisation adds (and deletes) its own items.

System values are the code's: every organisation sees them, with the zh-CN labels below,
until it stores its own label, order or switch (a `dictionary_items` row with `system` true).
The closed lists' codes equal the columns' value lists (`tests/dictionary/test_rules.py`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CLOSED, OPEN = "closed", "open"
KINDS = (CLOSED, OPEN)
KIND_LABELS = {CLOSED: "系统固定", OPEN: "可扩充"}

CODE_MAX = 32
LABEL_MAX = 50
SORT_MAX = 9999
# An organisation's own code: lower case letters, digits and _, starting with a letter.
_CODE = re.compile(r"^[a-z][a-z0-9_]*$")
# Items an organisation may add to one open list.
MAX_ITEMS = 200


@dataclass(frozen=True)
class ValueList:
    name: str
    title: str
    kind: str
    # Which field takes the value (shown beside the list).
    used_by: str
    # (code, zh-CN label) in the code's order.
    values: tuple[tuple[str, str], ...]
    # Served to the tenant and technician apps (GET /api/v1/dictionary/{list}).
    for_apps: bool = False

    @property
    def closed(self) -> bool:
        return self.kind == CLOSED

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(code for code, _ in self.values)


LISTS: tuple[ValueList, ...] = (
    # --- closed: CHECK-constrained columns -----------------------------------------------
    ValueList(
        "room_uses",
        "房屋用途",
        CLOSED,
        "房屋 · 用途",
        (("residence", "住宅"), ("shop", "商铺"), ("parking", "车位"), ("garage", "车库")),
    ),
    ValueList(
        "orientations",
        "朝向",
        CLOSED,
        "房屋 · 朝向",
        (
            ("east", "东"),
            ("south", "南"),
            ("west", "西"),
            ("north", "北"),
            ("southeast", "东南"),
            ("southwest", "西南"),
            ("northeast", "东北"),
            ("northwest", "西北"),
            ("north_south", "南北通透"),
            ("east_west", "东西通透"),
        ),
    ),
    ValueList(
        "id_types",
        "证件类型",
        CLOSED,
        "客户 · 证件类型",
        (
            ("id_card", "居民身份证"),
            ("passport", "护照"),
            ("hk_macao_pass", "港澳居民来往内地通行证"),
            ("taiwan_pass", "台湾居民来往大陆通行证"),
            ("credit_code", "统一社会信用代码"),
            ("other", "其他"),
        ),
    ),
    ValueList(
        "contact_relations",
        "联系人关系",
        CLOSED,
        "客户 · 联系人关系",
        (("self", "本人"), ("family", "家属"), ("employee", "员工"), ("other", "其他")),
    ),
    ValueList(
        "room_relations",
        "房屋关系",
        CLOSED,
        "客户 · 与房屋的关系",
        (("owner", "业主"), ("tenant", "租户"), ("resident", "住户")),
    ),
    ValueList(
        "parking_space_kinds",
        "车位类型",
        CLOSED,
        "车位 · 类型",
        (("ground", "地上"), ("underground", "地下"), ("mechanical", "机械")),
    ),
    ValueList(
        "parking_holding_kinds",
        "车位关系",
        CLOSED,
        "车位 · 产权 / 租用",
        (("owned", "产权"), ("rented", "租用")),
    ),
    ValueList(
        "complaint_categories",
        "投诉分类",
        CLOSED,
        "投诉建议 · 分类",
        (
            ("service_attitude", "服务态度"),
            ("repair_quality", "维修质量"),
            ("response_speed", "响应速度"),
            ("charges", "收费问题"),
            ("environment", "环境卫生"),
            ("security", "安全秩序"),
            ("facilities", "公共设施"),
            ("other", "其他"),
        ),
    ),
    # --- open: free-form fields, the organisation's own choices --------------------------
    ValueList(
        "cancel_reasons",
        "取消原因",
        OPEN,
        "工单 · 取消（住户、物业）",
        (
            ("not_needed", "不需要维修了"),
            ("self_repaired", "已自行修好"),
            ("wrong_details", "报修信息填写有误"),
            ("time_unsuitable", "上门时间不合适"),
            ("duplicate", "重复报修"),
            ("other", "其他原因"),
        ),
        for_apps=True,
    ),
    ValueList(
        "reject_reasons",
        "拒单原因",
        OPEN,
        "工单 · 师傅拒绝指派",
        (
            ("not_my_skill", "不在我的维修范围"),
            ("too_busy", "手上工单太多"),
            ("off_duty", "休息或请假"),
            ("other", "其他原因"),
        ),
        for_apps=True,
    ),
    ValueList(
        "transfer_reasons",
        "转单原因",
        OPEN,
        "工单 · 师傅转单",
        (
            ("better_skill", "对方更擅长"),
            ("closer", "对方离得更近"),
            ("too_busy", "手上工单太多"),
            ("other", "其他原因"),
        ),
        for_apps=True,
    ),
    ValueList(
        "hold_reasons",
        "挂起原因",
        OPEN,
        "工单 · 挂起（待备件）",
        (
            ("waiting_parts", "等待备件"),
            ("tenant_absent", "住户不在家"),
            ("needs_approval", "需物业审批"),
            ("other", "其他原因"),
        ),
        for_apps=True,
    ),
    ValueList(
        "vehicle_colours",
        "车辆颜色",
        OPEN,
        "车辆 · 颜色",
        (
            ("white", "白色"),
            ("black", "黑色"),
            ("silver", "银色"),
            ("grey", "灰色"),
            ("red", "红色"),
            ("blue", "蓝色"),
        ),
    ),
    ValueList(
        "room_layouts",
        "户型",
        OPEN,
        "房屋 · 户型",
        (
            ("b1l1", "一室一厅"),
            ("b2l1", "两室一厅"),
            ("b2l2", "两室两厅"),
            ("b3l1", "三室一厅"),
            ("b3l2", "三室两厅"),
            ("b4l2", "四室两厅"),
        ),
    ),
)
BY_NAME = {v.name: v for v in LISTS}
LIST_NAMES = tuple(BY_NAME)


def value_list(name: str) -> ValueList | None:
    return BY_NAME.get(name)


def code_problem(code: str) -> str | None:
    """Why `code` cannot be an organisation's own code (None when it can), in zh-CN."""
    if not code:
        return "请填写编码"
    if len(code) > CODE_MAX:
        return f"编码最多 {CODE_MAX} 个字符"
    if not _CODE.match(code):
        return "编码只能包含小写字母、数字和下划线，且以字母开头"
    return None


def change_refusal(
    value_list: ValueList, *, system: bool, fields: frozenset[str]
) -> tuple[str, str] | None:
    """(field, zh-CN reason) when an item's change is not allowed, else None. Labels and
    order may always change; a closed list's values are never disabled; codes never change."""
    if "code" in fields:
        return "code", "编码不能修改" if not system else "系统预置项的编码不能修改"
    if "enabled" in fields and value_list.closed:
        return "enabled", f"“{value_list.title}”是系统固定的列表，其中的项不能停用"
    return None


def delete_refusal(value_list: ValueList, *, system: bool) -> str | None:
    """Why an item may not be deleted (None when it may), in zh-CN."""
    if system:
        return (
            "系统预置项不能删除（可以改名、调整顺序"
            + ("" if value_list.closed else "或停用")
            + "）"
        )
    return None


def add_refusal(value_list: ValueList) -> str | None:
    if value_list.closed:
        return f"“{value_list.title}”是系统固定的列表，不能新增项（可以改名或调整顺序）"
    return None
