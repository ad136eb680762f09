"""The permission catalogue (权限): what a desk role may be composed of.

Fixed in code: an organisation composes its own roles from these (server/roles), and the
presets below keep what admin, dispatcher and technician could always do. Each console
operation names the one permission it needs; the check happens in the use case's session
(`server.roles.grants.require`) and before the view parses anything (`Blueprint.auth`).
"""

from __future__ import annotations

from enum import StrEnum

from server.kernel.roles import Role


class Permission(StrEnum):
    ORDERS_VIEW = "orders.view"
    ORDERS_ACT = "orders.act"
    DISPATCH_VIEW = "dispatch.view"
    DISPATCH_ACT = "dispatch.act"
    MONEY_VIEW = "money.view"
    MONEY_ACT = "money.act"
    REFUNDS_ACT = "refunds.act"
    FINANCE_ACT = "finance.act"
    CUSTOMERS_VIEW = "customers.view"
    CUSTOMERS_ACT = "customers.act"
    PROPERTY_ACT = "property.act"
    IMPORTS_ACT = "imports.act"
    NOTICES_VIEW = "notices.view"
    NOTICES_ACT = "notices.act"
    REPORTS_VIEW = "reports.view"
    SETTINGS_VIEW = "settings.view"
    SETTINGS_ACT = "settings.act"
    AUDIT_VIEW = "audit.view"
    PERSONAL_DATA_VIEW = "personal_data.view"
    ROLES_ACT = "roles.act"


# zh-CN labels, in the order the console lists them (area, then view before act).
LABELS: dict[Permission, str] = {
    Permission.ORDERS_VIEW: "工单：查看（订单记录、工作台、投诉、回访）",
    Permission.ORDERS_ACT: "工单：处理（代客报修、取消、重开、留言、督办、改约、投诉与回访处理）",
    Permission.DISPATCH_VIEW: "派单：查看员工与负荷",
    Permission.DISPATCH_ACT: "派单：指派工单",
    Permission.MONEY_VIEW: "费用：查看收费、物料与库存",
    Permission.MONEY_ACT: "费用：线下收款、减免、出入库、审批申领",
    Permission.REFUNDS_ACT: "退款：发起退款",
    Permission.FINANCE_ACT: "财务：收款账户、支付渠道、对账",
    Permission.CUSTOMERS_VIEW: "客户：查看房产、客户、车位车辆（全能搜索）",
    Permission.CUSTOMERS_ACT: "客户：登记与维护客户、入伙、过户、家庭成员、车辆、解绑微信",
    Permission.PROPERTY_ACT: "房产：维护小区、楼栋、单元、房屋",
    Permission.IMPORTS_ACT: "导入导出：批量导入与导出资料",
    Permission.NOTICES_VIEW: "公告：查看通知公告与满意度调查",
    Permission.NOTICES_ACT: "公告：发布与撤回公告、发起调查",
    Permission.REPORTS_VIEW: "报表：数据看板与客服中心报表",
    Permission.SETTINGS_VIEW: "设置：查看工单类型、时效、机构设置",
    Permission.SETTINGS_ACT: "设置：维护工单类型、收费项目、时效、员工、机构设置、数据字典",
    Permission.AUDIT_VIEW: "日志：查看与导出操作日志",
    Permission.PERSONAL_DATA_VIEW: "个人信息：导出未脱敏的手机号与证件号",
    Permission.ROLES_ACT: "角色：维护角色与员工的角色",
}

ALL_PERMISSIONS = frozenset(Permission)

# What the fixed roles could always do, spelled as permissions: an admin everything, a
# dispatcher the daily desk work without money-out, settings, onboarding imports, the audit
# log or roles; a technician works from the app (its endpoints check the role, not these).
PRESETS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: ALL_PERMISSIONS,
    Role.DISPATCHER: frozenset(
        {
            Permission.ORDERS_VIEW,
            Permission.ORDERS_ACT,
            Permission.DISPATCH_VIEW,
            Permission.DISPATCH_ACT,
            Permission.MONEY_VIEW,
            Permission.MONEY_ACT,
            Permission.CUSTOMERS_VIEW,
            Permission.CUSTOMERS_ACT,
            Permission.NOTICES_VIEW,
            Permission.NOTICES_ACT,
            Permission.REPORTS_VIEW,
            Permission.SETTINGS_VIEW,
        }
    ),
    Role.TECHNICIAN: frozenset(),
    Role.TENANT: frozenset(),
}


def preset_permissions(roles: frozenset[str]) -> frozenset[str]:
    """The permissions the fixed roles among `roles` carry."""
    granted: set[str] = set()
    for role in Role:
        if role.value in roles:
            granted.update(p.value for p in PRESETS[role])
    return frozenset(granted)
