"""Pure rules of reconciliation: run states, discrepancy kinds, and the decision for one bill
row against our own payment or refund. No framework, database or provider here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import NamedTuple

from server.kernel.clock import LOCAL_TZ
from server.kernel.values import sql_in
from server.payments.rules import (
    ALIPAY,
    PAID,
    PROVIDERS,
    R_PENDING,
    R_PROCESSING,
    R_SUCCESS,
    WECHAT,
)

CHANNELS = PROVIDERS  # the channels that have a bill: wechat, alipay

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
RUN_STATUSES = (QUEUED, RUNNING, DONE, FAILED)

MISSING_HERE = "missing_here"  # paid at the provider, no such payment here
UNPAID_HERE = "unpaid_here"  # paid at the provider, ours not paid (a missed notification)
MISSING_AT_PROVIDER = "missing_at_provider"  # paid here, absent from the day's bill
AMOUNT_MISMATCH = "amount_mismatch"
REFUND_STATUS_MISMATCH = "refund_status_mismatch"
REFUND_MISSING_HERE = "refund_missing_here"
REFUND_MISSING_AT_PROVIDER = "refund_missing_at_provider"
TOTAL_MISMATCH = "total_mismatch"  # the bill's summary against our sums (or its own rows)
DISCREPANCY_KINDS = (
    MISSING_HERE,
    UNPAID_HERE,
    MISSING_AT_PROVIDER,
    AMOUNT_MISMATCH,
    REFUND_STATUS_MISMATCH,
    REFUND_MISSING_HERE,
    REFUND_MISSING_AT_PROVIDER,
    TOTAL_MISMATCH,
)
MATCHED = "matched"  # not a discrepancy: counted in the run's summary only

# What the run did about a discrepancy by itself.
SETTLED = "settled"  # a missed payment booked (settlement is idempotent)
QUERY_SCHEDULED = "query_scheduled"  # the refund is asked about again
ACTIONS = (SETTLED, QUERY_SCHEDULED)

# Bill refund statuses (WeChat's words; Alipay lists finished refunds only, as SUCCESS).
BILL_REFUND_SUCCESS = "SUCCESS"
BILL_REFUND_PROCESSING = "PROCESSING"
# Our refunds the provider must have accepted: only these are expected in a bill.
REFUNDS_AT_PROVIDER = (R_PROCESSING, R_SUCCESS)
REFUNDS_OPEN = (R_PENDING, R_PROCESSING)

# WeChat keeps three months of bills; both are ready after 10:00 Beijing time on D+1.
WECHAT_HISTORY_DAYS = 92
ALIPAY_HISTORY_DAYS = 900
HISTORY_DAYS = {WECHAT: WECHAT_HISTORY_DAYS, ALIPAY: ALIPAY_HISTORY_DAYS}
# The daily job: first try 10:30 Beijing time, retried on the half hour until 14:00.
BILL_READY_LOCAL = (10, 0)
FIRST_TRY_LOCAL = (10, 30)
LAST_TRY_LOCAL = (14, 0)

MSG_DATE_NOT_PAST = "只能对账昨天及以前的账单"
MSG_DATE_TOO_OLD = "该渠道只能下载最近 3 个月的账单"
MSG_NO_ACCOUNT = "该渠道尚未配置支付账户"
MSG_RUN_NOT_FOUND = "对账记录不存在"
MSG_RUNNING = "该日对账正在进行，请稍后再试"
MSG_NOT_READY = "账单尚未生成，稍后自动重试"
MSG_GAVE_UP = "账单在 14:00 前仍未生成，请稍后手动重新对账"


def check_bill_date(channel: str, bill_date: date, *, today: date) -> str | None:
    """None when the day's bill may be asked for, else why not (a zh-CN message)."""
    if bill_date >= today:
        return MSG_DATE_NOT_PAST
    if bill_date < today - timedelta(days=HISTORY_DAYS[channel]):
        return MSG_DATE_TOO_OLD
    return None


def bill_ready(bill_date: date, *, now: datetime) -> bool:
    """Whether the providers have made the day's bill: from 10:00 Beijing time the next day
    (before that, Alipay answers "no bill" for a day that had trades)."""
    ready = datetime.combine(bill_date + timedelta(days=1), time(*BILL_READY_LOCAL), LOCAL_TZ)
    return now >= ready


def refund_day_is_request_day(channel: str) -> bool:
    """Which of our refunds belong to a day's bill: WeChat lists a refund under the day it
    was requested (交易时间 = request time); Alipay under the day it finished (完成时间)."""
    return channel == WECHAT


class OurPayment(NamedTuple):
    id: int
    out_trade_no: str
    status: str
    amount_fen: int


class OurRefund(NamedTuple):
    id: int
    out_refund_no: str
    out_trade_no: str
    status: str
    amount_fen: int


@dataclass(frozen=True, slots=True)
class Decision:
    kind: str  # MATCHED or a discrepancy kind
    action: str | None = None  # SETTLED / QUERY_SCHEDULED: what the run should do
    detail: str = ""


_MATCHED = Decision(MATCHED)  # the common answer, not allocated a million times


def judge_payment(*, bill_amount_fen: int, ours: OurPayment | None) -> Decision:
    """A payment row of the bill against our payment with the same out_trade_no."""
    if ours is None:
        return Decision(MISSING_HERE, detail="渠道有支付，本系统无此支付单")
    if ours.amount_fen != bill_amount_fen:
        return Decision(AMOUNT_MISMATCH, detail="支付金额不符")
    if ours.status != PAID:
        return Decision(
            UNPAID_HERE, action=SETTLED, detail=f"渠道已支付，本系统状态为 {ours.status}"
        )
    return _MATCHED


def judge_refund(*, bill_amount_fen: int, bill_status: str, ours: OurRefund | None) -> Decision:
    """A refund row of the bill against our refund with the same out_refund_no."""
    if ours is None:
        return Decision(REFUND_MISSING_HERE, detail="渠道有退款，本系统无此退款单")
    if ours.amount_fen != bill_amount_fen:
        return Decision(AMOUNT_MISMATCH, detail="退款金额不符")
    if bill_status == BILL_REFUND_SUCCESS and ours.status != R_SUCCESS:
        action = QUERY_SCHEDULED if ours.status in REFUNDS_OPEN else None
        return Decision(
            REFUND_STATUS_MISMATCH,
            action=action,
            detail=f"渠道退款成功，本系统状态为 {ours.status}",
        )
    if bill_status == BILL_REFUND_PROCESSING and ours.status in REFUNDS_OPEN:
        # A snapshot taken at bill time: ask the provider where it stands now.
        return Decision(
            REFUND_STATUS_MISMATCH, action=QUERY_SCHEDULED, detail="账单中退款处理中，已重新查询"
        )
    if (
        bill_status not in (BILL_REFUND_SUCCESS, BILL_REFUND_PROCESSING)
        and ours.status == R_SUCCESS
    ):
        return Decision(
            REFUND_STATUS_MISMATCH, detail=f"渠道退款状态为 {bill_status}，本系统为退款成功"
        )
    return _MATCHED


# How the console gets a run's discrepancies: one JSON page, or all of them as CSV.
DETAIL_FORMATS = ("json", "csv")


# The same decisions spelled in SQL, for the run to find the rows that are *not* matched
# without bringing a million matched ones back to Python (`ours` is our payment or refund,
# `bill` the bill row: `amount_fen`, `status`). tests/reconciliation/test_rules.py keeps each
# equal to judge_payment / judge_refund answering MATCHED.
PAYMENT_MATCHED_SQL = f"ours.amount_fen = bill.amount_fen AND ours.status = '{PAID}'"
REFUND_MATCHED_SQL = (
    "ours.amount_fen = bill.amount_fen AND ("
    f"(bill.status = '{BILL_REFUND_SUCCESS}' AND ours.status = '{R_SUCCESS}')"
    f" OR (bill.status = '{BILL_REFUND_PROCESSING}' AND NOT {sql_in('ours.status', REFUNDS_OPEN)})"
    f" OR (bill.status NOT IN ('{BILL_REFUND_SUCCESS}', '{BILL_REFUND_PROCESSING}')"
    f" AND ours.status <> '{R_SUCCESS}'))"
)
