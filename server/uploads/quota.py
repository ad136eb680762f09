"""Per-user upload quota: so many uploads an hour, so many stored bytes a day.

Counted from the `uploads` rows themselves (the truth, and inside the test's transaction),
over sliding windows. Checked twice: unlocked before decoding, so a flood is refused cheaply,
and again just before the row is written, under a per-user transaction lock, so that parallel
uploads of one user cannot all slip under the limit together.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.uploads.models import Upload
from server.uploads.rules import DAY, Recent, UploadLimits, UploadRateLimited, quota_retry_after

# Namespace of the per-user advisory lock (the two-int form: namespace, user).
_LOCK_NAMESPACE = 0x55504C44  # "UPLD"

MESSAGES = {
    "hour": "上传过于频繁：每小时最多上传 {per_hour} 张图片，请稍后再试",
    "day": "今日上传量已达上限（{mb} MB），请稍后再试",
}


def check_quota(
    session: Session,
    *,
    user_id: int,
    limits: UploadLimits,
    incoming: int,
    now: datetime,
    lock: bool = False,
) -> None:
    """Refuse (429 with Retry-After) an upload of `incoming` bytes over the user's quota."""
    if lock:
        # Held until the request's transaction ends: the user's next upload counts this one.
        session.execute(select(func.pg_advisory_xact_lock(_LOCK_NAMESPACE, _lock_key(user_id))))
    rows = session.execute(
        select(Upload.created_at, Upload.size_bytes).where(
            Upload.owner_user_id == user_id, Upload.created_at > now - DAY
        )
    ).all()
    verdict = quota_retry_after(
        [Recent(r.created_at, r.size_bytes) for r in rows],
        now=now,
        incoming=incoming,
        per_hour=limits.per_hour,
        bytes_per_day=limits.bytes_per_day,
    )
    if verdict is not None:
        which, retry_after = verdict
        message = MESSAGES[which].format(
            per_hour=limits.per_hour, mb=max(limits.bytes_per_day // (1024 * 1024), 1)
        )
        raise UploadRateLimited(message, retry_after=retry_after)


def _lock_key(user_id: int) -> int:
    # The lock's second key is a 32-bit int; ids beyond that share a lock, which only
    # serialises two users' uploads, never lets one through.
    return user_id % (2**31)
