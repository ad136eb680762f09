"""Return visits (回访): why an order gets one, what the desk records, the reproducible sample.

Pure Python: the value lists feed both the marshmallow `OneOf` and the CHECK constraints.
"""

from __future__ import annotations

import hashlib

LOW_RATING = "low_rating"
REOPEN = "reopen"
SAMPLE = "sample"
# Why a visit was asked for: a low score, a reopened order, or the sample of closed orders.
REASONS = (LOW_RATING, REOPEN, SAMPLE)
REASON_LABELS = {LOW_RATING: "低分评价", REOPEN: "工单重新打开", SAMPLE: "抽样回访"}

DUE = "due"
DONE = "done"
STATUSES = (DUE, DONE)

MAX_SAMPLE_PERCENT = 100
_BUCKETS = 10_000


def is_low_rating(score: int, *, at_or_below: int) -> bool:
    """Whether a tenant's score asks for a return visit."""
    return score <= at_or_below


def sampled(*, org_id: int, order_id: int, percent: int) -> bool:
    """Whether a closed order falls in the organisation's sample (same answer every time).

    A hash of (organisation, order) lands in one of 10,000 buckets; the first `percent` per
    cent of them are sampled. No randomness: a retried close samples exactly as the first.
    """
    if percent <= 0:
        return False
    if percent >= MAX_SAMPLE_PERCENT:
        return True
    digest = hashlib.sha256(f"return-visit:{org_id}:{order_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % _BUCKETS < percent * (_BUCKETS // 100)


def check_outcome(*, reached: bool, satisfied: bool | None, reopen: bool) -> dict[str, str]:
    """Field errors (zh-CN) of a visit's outcome; empty when it is consistent."""
    errors: dict[str, str] = {}
    if reached and satisfied is None:
        errors["satisfied"] = "联系上住户时须填写是否满意"
    if not reached and satisfied is not None:
        errors["satisfied"] = "未联系上住户时不能填写是否满意"
    if reopen and satisfied is not False:
        errors["reopen"] = "仅在住户不满意时可重新打开工单"
    return errors


def satisfaction_percent(*, satisfied: int, reached: int) -> int | None:
    """Satisfied visits among those that reached the tenant, in whole per cent (None: none)."""
    if reached <= 0:
        return None
    return round(100 * satisfied / reached)
