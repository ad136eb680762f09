"""Publishing notices: now or scheduled, the tick that publishes due ones, withdrawing.

Publishing writes the notice and one outbox job (`notices.fan_out`); the recipients, inbox
rows and pushes are written by that job in the background (`server.notices.fanout`), so a
notice to ten thousand rooms answers at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from server.db.scoping import get_owned
from server.directory.models import Building, Community, Room
from server.jobs import NOTICE_FAN_OUT
from server.kernel.errors import InvalidTransition, ValidationFailed
from server.kernel.permissions import Permission
from server.kernel.values import PURPOSE_NOTICE
from server.notices.models import Notice
from server.notices.rules import (
    AUDIENCE_STAFF,
    PUBLISHED,
    SCHEDULED,
    SCOPE_BUILDINGS,
    SCOPE_COMMUNITIES,
    SCOPE_DEPARTMENTS,
    SCOPE_ROOMS,
    WITHDRAWN,
    initial_status,
    needs_targets,
    scope_fits,
)
from server.outbox.outbox import enqueue_on_commit
from server.roles.grants import require
from server.staff.models import Department
from server.uploads.files import attachable_uploads

_TARGET_TABLES = {
    SCOPE_COMMUNITIES: (Community, "小区"),
    SCOPE_BUILDINGS: (Building, "楼栋"),
    SCOPE_ROOMS: (Room, "房间"),
    SCOPE_DEPARTMENTS: (Department, "部门"),
}


@dataclass(frozen=True)
class NewNotice:
    audience: str
    title: str
    body: str
    scope: str
    target_ids: Sequence[int] = ()
    urgent: bool = False
    publish_at: datetime | None = None
    expires_at: datetime | None = None
    # The caller's own unattached uploads (POST /uploads), at most 9: the notice's images.
    image_ids: Sequence[str] = ()


def check_targets(session: Session, *, org_id: int, scope: str, target_ids: Sequence[int]) -> None:
    """Listed targets exist in the organisation (a stranger's id is a 422, never a leak)."""
    wanted = sorted(set(target_ids))
    if not needs_targets(scope):
        if wanted:
            raise ValidationFailed.field("target_ids", "该发布范围不需要指定对象")
        return
    if not wanted:
        raise ValidationFailed.field("target_ids", "请选择发布对象")
    table, label = _TARGET_TABLES[scope]
    model: Any = table
    found = session.scalar(
        select(func.count()).select_from(model).where(model.id.in_(wanted), model.org_id == org_id)
    )
    if found != len(wanted):
        raise ValidationFailed.field("target_ids", f"包含不存在的{label}")


def publish(
    session: Session, *, org_id: int, user_id: int, new: NewNotice, now: datetime
) -> Notice:
    """Create a notice: published now (and fanned out), or scheduled for `publish_at`.

    Its images are attached in the same transaction by the uploads' own rule (the caller's,
    unattached, of the organisation): from then on the sweeper leaves them alone and no other
    notice, order or complaint can take them.
    """
    require(session, Permission.NOTICES_ACT)
    if not scope_fits(new.audience, new.scope):
        raise ValidationFailed.field("scope", "发布范围与对象类型不符")
    if new.audience == AUDIENCE_STAFF and new.urgent:
        raise ValidationFailed.field("urgent", "员工公告不区分紧急")
    check_targets(session, org_id=org_id, scope=new.scope, target_ids=new.target_ids)
    publish_at = new.publish_at or now
    if new.expires_at is not None and new.expires_at <= max(publish_at, now):
        raise ValidationFailed.field("expires_at", "过期时间应晚于发布时间")
    images = attachable_uploads(
        session, org_id=org_id, user_id=user_id, upload_ids=list(new.image_ids)
    )
    status = initial_status(new.publish_at, now)
    notice = Notice(
        org_id=org_id,
        audience=new.audience,
        title=new.title,
        body=new.body,
        urgent=new.urgent,
        scope=new.scope,
        target_ids=sorted(set(new.target_ids)),
        status=status,
        publish_at=publish_at,
        published_at=now if status == PUBLISHED else None,
        expires_at=new.expires_at,
        created_by=user_id,
        created_at=now,
    )
    session.add(notice)
    session.flush()
    for upload in images:
        upload.notice_id, upload.purpose = notice.id, PURPOSE_NOTICE
    if status == PUBLISHED:
        _fan_out(session, notice)
    return notice


def _fan_out(session: Session, notice: Notice) -> None:
    enqueue_on_commit(
        session,
        NOTICE_FAN_OUT,
        org_id=notice.org_id,
        dedupe_key=f"notice-fan-out-{notice.id}",
        notice_id=notice.id,
    )


def publish_due(session: Session, *, now: datetime, batch: int = 100) -> int:
    """The tick: publish scheduled notices whose time has come, each exactly once.

    The conditional UPDATE (`status = 'scheduled'`) is the once: two ticks at the same moment
    publish each notice in one of them; a withdrawn notice is never published.
    """
    due = (
        select(Notice.id)
        .where(Notice.status == SCHEDULED, Notice.publish_at <= now)
        .order_by(Notice.publish_at, Notice.id)
        .limit(batch)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    published = list(
        session.scalars(
            update(Notice)
            .where(Notice.id.in_(due), Notice.status == SCHEDULED)
            .values(status=PUBLISHED, published_at=now)
            .returning(Notice.id)
            .execution_options(synchronize_session=False)
        )
    )
    for notice_id in published:
        notice = session.get(Notice, notice_id, populate_existing=True)
        assert notice is not None
        _fan_out(session, notice)
    return len(published)


def withdraw(session: Session, *, org_id: int, notice_id: int, now: datetime) -> Notice:
    """Withdraw a scheduled or published notice: recipients no longer see it."""
    require(session, Permission.NOTICES_ACT)
    get_owned(session, Notice, notice_id, org_id=org_id, message="通知不存在")
    changed = session.execute(
        update(Notice)
        .where(Notice.id == notice_id, Notice.status.in_((SCHEDULED, PUBLISHED)))
        .values(status=WITHDRAWN, withdrawn_at=now)
        .execution_options(synchronize_session=False)
    )
    if not changed.rowcount:  # type: ignore[attr-defined]
        raise InvalidTransition("通知已撤回")
    notice = session.get(Notice, notice_id, populate_existing=True)
    assert notice is not None
    return notice
