"""The work-order state machine: one table of (status, action) → status.

Nothing else decides where an order may go next; services look the move up here, then
record it on the order's timeline. Who may take an action is the services' business.
"""

from __future__ import annotations

from enum import StrEnum

from server.kernel.errors import InvalidTransition


class Status(StrEnum):
    AWAITING_PAYMENT = "awaiting_payment"
    PENDING = "pending"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    ON_HOLD = "on_hold"
    COMPLETED = "completed"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class Action(StrEnum):
    FILE = "file"
    FILE_UNPAID = "file_unpaid"  # filed with a pay-on-order fee not yet paid
    PAYMENT_RECEIVED = "payment_received"
    ASSIGN = "assign"
    GRAB = "grab"
    ACCEPT = "accept"
    REJECT = "reject"
    TRANSFER = "transfer"
    HOLD = "hold"
    RESUME = "resume"
    COMPLETE = "complete"
    RATE = "rate"
    AUTO_CLOSE = "auto_close"
    REOPEN = "reopen"
    REOPEN_TO_ASSIGNEE = "reopen_to_assignee"
    CANCEL_BY_TENANT = "cancel_by_tenant"
    CANCEL_BY_DESK = "cancel_by_desk"
    # The desk waives or discounts the charges (减免/优惠); the status stays (no transition).
    ADJUST_FEE = "adjust_fee"
    RESCHEDULE = "reschedule"  # 改约: the booked slot moves, the status stays
    HOLD_EXPIRED = "hold_expired"  # unpaid past the booking hold: the slot is freed
    ESCALATE = "escalate"  # 督办: past its SLA deadline, the system escalates; the status stays
    URGE = "urge"  # 督办 by the desk: the holder (or the pool) is chased; the status stays
    TENANT_URGE = "tenant_urge"  # 催单: the tenant chases their open order; the status stays
    # 回访: the desk called the tenant back after the work; the status stays
    RETURN_VISIT = "return_visit"


S, A = Status, Action

# Filing has no "from": it is listed under None.
TRANSITIONS: dict[tuple[Status | None, Action], Status] = {
    (None, A.FILE): S.PENDING,
    (None, A.FILE_UNPAID): S.AWAITING_PAYMENT,
    (S.AWAITING_PAYMENT, A.PAYMENT_RECEIVED): S.PENDING,
    (S.PENDING, A.ASSIGN): S.ASSIGNED,
    (S.ASSIGNED, A.ASSIGN): S.ASSIGNED,  # the desk re-assigns before anyone accepted
    # The desk takes a job back from whoever holds it (改派): a technician who left or fell ill
    # must not strand an order that is already under way.
    (S.IN_PROGRESS, A.ASSIGN): S.ASSIGNED,
    (S.ON_HOLD, A.ASSIGN): S.ASSIGNED,
    (S.PENDING, A.GRAB): S.IN_PROGRESS,
    (S.ASSIGNED, A.ACCEPT): S.IN_PROGRESS,
    (S.ASSIGNED, A.REJECT): S.PENDING,
    (S.ASSIGNED, A.TRANSFER): S.ASSIGNED,
    (S.IN_PROGRESS, A.TRANSFER): S.ASSIGNED,
    (S.ON_HOLD, A.TRANSFER): S.ASSIGNED,
    (S.IN_PROGRESS, A.HOLD): S.ON_HOLD,
    (S.ON_HOLD, A.RESUME): S.IN_PROGRESS,
    (S.IN_PROGRESS, A.COMPLETE): S.COMPLETED,
    (S.COMPLETED, A.RATE): S.CLOSED,
    (S.COMPLETED, A.AUTO_CLOSE): S.CLOSED,
    (S.COMPLETED, A.REOPEN): S.PENDING,
    (S.CLOSED, A.REOPEN): S.PENDING,
    (S.COMPLETED, A.REOPEN_TO_ASSIGNEE): S.ASSIGNED,
    (S.CLOSED, A.REOPEN_TO_ASSIGNEE): S.ASSIGNED,
    # The tenant may withdraw before work starts; the desk any time before completion.
    (S.AWAITING_PAYMENT, A.CANCEL_BY_TENANT): S.CANCELLED,
    (S.PENDING, A.CANCEL_BY_TENANT): S.CANCELLED,
    (S.ASSIGNED, A.CANCEL_BY_TENANT): S.CANCELLED,
    (S.AWAITING_PAYMENT, A.CANCEL_BY_DESK): S.CANCELLED,
    (S.PENDING, A.CANCEL_BY_DESK): S.CANCELLED,
    (S.ASSIGNED, A.CANCEL_BY_DESK): S.CANCELLED,
    (S.IN_PROGRESS, A.CANCEL_BY_DESK): S.CANCELLED,
    (S.ON_HOLD, A.CANCEL_BY_DESK): S.CANCELLED,
    # The desk waives or discounts the charges (减免/优惠) of any order not cancelled.
    **{(s, A.ADJUST_FEE): s for s in S if s is not S.CANCELLED},
    # 改约: the tenant before work starts (awaiting payment, pending, assigned), the desk while
    # the order is open; the slot moves, the status does not.
    (S.AWAITING_PAYMENT, A.RESCHEDULE): S.AWAITING_PAYMENT,
    (S.PENDING, A.RESCHEDULE): S.PENDING,
    (S.ASSIGNED, A.RESCHEDULE): S.ASSIGNED,
    (S.IN_PROGRESS, A.RESCHEDULE): S.IN_PROGRESS,
    (S.ON_HOLD, A.RESCHEDULE): S.ON_HOLD,
    # A booked order left unpaid past its hold is cancelled by the system and frees its slot.
    (S.AWAITING_PAYMENT, A.HOLD_EXPIRED): S.CANCELLED,
    # 督办: an open order past its deadline is escalated (level 1, then 2); the status stays.
    **{
        (s, A.ESCALATE): s
        for s in (S.AWAITING_PAYMENT, S.PENDING, S.ASSIGNED, S.IN_PROGRESS, S.ON_HOLD)
    },
    # 督办 by the desk and 催单 by the tenant chase an open order; the status stays.
    **{
        (s, a): s
        for s in (S.PENDING, S.ASSIGNED, S.IN_PROGRESS, S.ON_HOLD)
        for a in (A.URGE, A.TENANT_URGE)
    },
    # A return visit (回访) is a call on the record, whatever became of the order since it fell
    # due (reopened, even cancelled after a reopen); the status stays.
    **{(s, A.RETURN_VISIT): s for s in S},
}

# An order counts against its technician's grab cap in these statuses (docs/api.md).
HELD: frozenset[Status] = frozenset({S.ASSIGNED, S.IN_PROGRESS, S.ON_HOLD})
# The same, as stored: what status columns and SQL filters compare with.
HELD_VALUES: frozenset[str] = frozenset(s.value for s in HELD)
OPEN: frozenset[Status] = frozenset({S.AWAITING_PAYMENT, S.PENDING, *HELD})
FINISHED: frozenset[Status] = frozenset({S.COMPLETED, S.CLOSED, S.CANCELLED})
# Actions that must say why.
NEEDS_REASON: frozenset[Action] = frozenset(
    {A.REJECT, A.TRANSFER, A.HOLD, A.REOPEN, A.REOPEN_TO_ASSIGNEE, A.CANCEL_BY_DESK}
)


def next_status(current: Status | None, action: Action) -> Status:
    """Where `action` takes an order in `current`; InvalidTransition when it may not."""
    try:
        return TRANSITIONS[(current, action)]
    except KeyError:
        raise InvalidTransition(
            f"工单当前状态（{LABELS[current] if current else '新建'}）不允许此操作"
        ) from None


def sources(action: Action) -> frozenset[Status]:
    """Every status `action` may start from (for conditional updates in SQL)."""
    return frozenset(s for (s, a) in TRANSITIONS if a is action and s is not None)


LABELS: dict[Status, str] = {
    S.AWAITING_PAYMENT: "待支付",
    S.PENDING: "待接单",
    S.ASSIGNED: "已派单",
    S.IN_PROGRESS: "处理中",
    S.ON_HOLD: "待备件",
    S.COMPLETED: "已办结",
    S.CLOSED: "已关闭",
    S.CANCELLED: "已取消",
}
