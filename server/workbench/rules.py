"""The dispatcher's workbench (工作台): its queues, by name, with their zh-CN labels.

The queue names are a value list: the console's `queue` parameter takes them (OneOf) and the
answer names each queue by them. A new queue is one entry here and one definition in
`server.workbench.queues.QUEUES` (the return visits and complaints queues plug in that way).
"""

from __future__ import annotations

UNASSIGNED = "unassigned"
UNACCEPTED = "unaccepted"
OVERDUE = "overdue"
LONG_HOLD = "long_hold"
UNPAID = "unpaid"
TENANT_URGED = "tenant_urged"
RETURN_VISIT_DUE = "return_visit_due"

# In the order the workbench shows them.
QUEUE_LABELS: dict[str, str] = {
    UNASSIGNED: "待派单",
    UNACCEPTED: "派单未接",
    OVERDUE: "已超时",
    LONG_HOLD: "挂起过久",
    UNPAID: "办结待收款",
    TENANT_URGED: "住户催单",
    RETURN_VISIT_DUE: "待回访",
}
# The open complaints and suggestions are not orders: the workbench shows them beside the
# queues, with their own count and first page.
COMPLAINTS_LABEL = "待处理投诉建议"
QUEUES: tuple[str, ...] = tuple(QUEUE_LABELS)

# Items per queue on the workbench's one call (each queue pages on its own beyond that).
DEFAULT_FIRST_PAGE = 10
