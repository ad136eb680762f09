"""Reconciliation runs for the console: start (or re-run) a day, list, show with its
discrepancies, export; and the daily tick that queues yesterday's runs.

A day has one run per organisation and channel: re-running it re-uses the row (its old
discrepancies are replaced when the new run finishes). The run itself happens in a job
(`server.reconciliation.matching.reconcile`), enqueued after the commit that queued it.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from rq import Queue
from sqlalchemy import Select, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from server.config import Settings
from server.db.pagination import Page, paginate
from server.db.scoping import get_owned
from server.db.session import on_commit
from server.jobs import RECONCILE_DAY
from server.kernel.clock import LOCAL_TZ, local_date
from server.kernel.errors import Conflict, ValidationFailed
from server.kernel.money import fen_to_yuan_text
from server.orders.export import escape_formula
from server.outbox.dispatch import DISPATCHER_KEY
from server.payments.accounts import default_account
from server.payments.models import Payment, PaymentAccount
from server.reconciliation.matching import STALE_AFTER
from server.reconciliation.models import ReconciliationDiscrepancy, ReconciliationRun
from server.reconciliation.rules import (
    CHANNELS,
    FAILED,
    FIRST_TRY_LOCAL,
    LAST_TRY_LOCAL,
    MSG_GAVE_UP,
    MSG_NO_ACCOUNT,
    MSG_NOT_READY,
    MSG_RUN_NOT_FOUND,
    MSG_RUNNING,
    QUEUED,
    RUNNING,
    check_bill_date,
)

log = logging.getLogger(__name__)

# Organisations on the shared default merchant get a daily run when they used it lately.
DEFAULT_ACCOUNT_LOOKBACK = timedelta(days=31)


def _account_id(session: Session, *, settings: Settings, org_id: int, channel: str) -> int | None:
    """The organisation's active account for the channel, None for the default account;
    ValidationFailed when there is neither."""
    own = session.scalar(
        select(PaymentAccount.id).where(
            PaymentAccount.org_id == org_id,
            PaymentAccount.provider == channel,
            PaymentAccount.is_active,
        )
    )
    if own is not None:
        return int(own)
    if default_account(settings, channel=channel) is None:
        raise ValidationFailed.field("channel", MSG_NO_ACCOUNT)
    return None


def enqueue_on_commit(session: Session, run_id: int) -> None:
    """After the commit, put the run on the job queue (lost enqueues: the daily tick and the
    console's re-run pick queued runs up again)."""
    dispatcher = session.info.get(DISPATCHER_KEY)

    def enqueue() -> None:
        if dispatcher is None:
            log.info("no job queue in this process: reconciliation %s waits for the tick", run_id)
            return
        Queue(RECONCILE_DAY.queue, connection=dispatcher.connection).enqueue(
            RECONCILE_DAY.func,
            run_id,
            job_timeout=RECONCILE_DAY.timeout,
            description=f"reconciliation {run_id}",
        )

    on_commit(session, enqueue)


def _queue(
    session: Session,
    *,
    org_id: int,
    channel: str,
    bill_date: date,
    account_id: int | None,
    user_id: int | None,
    now: datetime,
) -> ReconciliationRun | None:
    """Queue the day's run (creating its row once); None when it is running right now."""
    session.execute(
        insert(ReconciliationRun)
        .values(
            org_id=org_id,
            channel=channel,
            bill_date=bill_date,
            account_id=account_id,
            status=QUEUED,
            rows_seen=0,
            summary={},
            attempts=0,
            error="",
            requested_by_user_id=user_id,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["org_id", "channel", "bill_date"])
    )
    run = session.scalars(
        select(ReconciliationRun)
        .where(
            ReconciliationRun.org_id == org_id,
            ReconciliationRun.channel == channel,
            ReconciliationRun.bill_date == bill_date,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if run.status == RUNNING and run.started_at is not None and run.started_at > now - STALE_AFTER:
        return None
    run.status = QUEUED
    run.account_id = account_id
    run.error = ""
    run.requested_by_user_id = user_id
    run.updated_at = now
    session.flush()
    return run


def start_run(
    session: Session,
    *,
    settings: Settings,
    org_id: int,
    user_id: int | None,
    channel: str,
    bill_date: date,
    now: datetime,
) -> ReconciliationRun:
    """Queue the reconciliation of one day's bill (again, if it ran before)."""
    if channel not in CHANNELS:
        raise ValidationFailed.field("channel", "未知的支付渠道")
    problem = check_bill_date(channel, bill_date, today=local_date(now))
    if problem is not None:
        raise ValidationFailed.field("date", problem)
    account_id = _account_id(session, settings=settings, org_id=org_id, channel=channel)
    run = _queue(
        session,
        org_id=org_id,
        channel=channel,
        bill_date=bill_date,
        account_id=account_id,
        user_id=user_id,
        now=now,
    )
    if run is None:
        raise Conflict(MSG_RUNNING)
    enqueue_on_commit(session, run.id)
    return run


@dataclass(frozen=True)
class RunFilters:
    channel: str | None = None
    status: str | None = None
    date_from: date | None = None
    date_to: date | None = None


def list_runs(
    session: Session, *, org_id: int, filters: RunFilters, page: int, page_size: int
) -> Page[ReconciliationRun]:
    """The organisation's runs, newest bill date first."""
    stmt = select(ReconciliationRun).where(ReconciliationRun.org_id == org_id)
    if filters.channel:
        stmt = stmt.where(ReconciliationRun.channel == filters.channel)
    if filters.status:
        stmt = stmt.where(ReconciliationRun.status == filters.status)
    if filters.date_from:
        stmt = stmt.where(ReconciliationRun.bill_date >= filters.date_from)
    if filters.date_to:
        stmt = stmt.where(ReconciliationRun.bill_date <= filters.date_to)
    stmt = stmt.order_by(
        ReconciliationRun.bill_date.desc(), ReconciliationRun.channel, ReconciliationRun.id
    )
    return paginate(session, stmt, page=page, page_size=page_size)


def get_run(session: Session, *, org_id: int, run_id: int) -> ReconciliationRun:
    """One run of the organisation (404 otherwise)."""
    return get_owned(session, ReconciliationRun, run_id, org_id=org_id, message=MSG_RUN_NOT_FOUND)


def _discrepancies(run: ReconciliationRun, kind: str | None) -> Select[Any]:
    stmt = select(ReconciliationDiscrepancy).where(
        ReconciliationDiscrepancy.run_id == run.id,
        ReconciliationDiscrepancy.org_id == run.org_id,
    )
    if kind:
        stmt = stmt.where(ReconciliationDiscrepancy.kind == kind)
    return stmt.order_by(ReconciliationDiscrepancy.id)


def run_detail(
    session: Session, *, org_id: int, run_id: int, kind: str | None, page: int, page_size: int
) -> dict[str, Any]:
    """A run with one page of its discrepancies (optionally of one kind)."""
    run = get_run(session, org_id=org_id, run_id=run_id)
    found = paginate(session, _discrepancies(run, kind), page=page, page_size=page_size)
    return {"run": run, "discrepancies": found}


EXPORT_HEADERS = (
    "对账日期",
    "渠道",
    "差异类型",
    "商户订单号",
    "商户退款单号",
    "渠道单号",
    "本系统金额（元）",
    "渠道金额（元）",
    "说明",
    "处理",
    "已解决",
)
KIND_LABELS = {
    "missing_here": "渠道有、本系统无",
    "unpaid_here": "渠道已付、本系统未付",
    "missing_at_provider": "本系统已付、渠道无",
    "amount_mismatch": "金额不符",
    "refund_status_mismatch": "退款状态不符",
    "refund_missing_here": "渠道有退款、本系统无",
    "refund_missing_at_provider": "本系统有退款、渠道无",
    "total_mismatch": "汇总不符",
}
ACTION_LABELS = {"settled": "已补记支付", "query_scheduled": "已重新查询退款"}
CHANNEL_LABELS = {"wechat": "微信支付", "alipay": "支付宝"}


def export_filename(run: ReconciliationRun) -> str:
    return f"reconciliation-{run.channel}-{run.bill_date:%Y%m%d}.csv"


def export_csv(session: Session, *, run: ReconciliationRun, batch: int = 500) -> Iterator[bytes]:
    """Every discrepancy of a run as UTF-8 CSV with a BOM (Excel reads the Chinese), in
    chunks; rows are read in batches so memory does not grow with the run."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(EXPORT_HEADERS)
    stmt = _discrepancies(run, None).execution_options(yield_per=batch)
    pending = 0
    for row in session.scalars(stmt):
        writer.writerow(
            [
                run.bill_date.isoformat(),
                CHANNEL_LABELS.get(run.channel, run.channel),
                KIND_LABELS.get(row.kind, row.kind),
                escape_formula(row.out_trade_no),
                escape_formula(row.out_refund_no),
                escape_formula(row.provider_txn_id),
                "" if row.ours_fen is None else fen_to_yuan_text(row.ours_fen),
                "" if row.theirs_fen is None else fen_to_yuan_text(row.theirs_fen),
                escape_formula(row.detail),
                ACTION_LABELS.get(row.action or "", ""),
                "是" if row.resolved else "否",
            ]
        )
        pending += 1
        if pending >= batch:
            yield _drain(buffer)
            pending = 0
    yield _drain(buffer)


def _drain(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    return data


# --- the daily tick ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    run_ids: list[int]  # to enqueue now
    gave_up: int  # runs whose bill was still not made at 14:00


def _org_channels(
    session: Session, *, settings: Settings, since: datetime
) -> set[tuple[int, str, int | None]]:
    """(org, channel, account) for every organisation's own active account, and for the
    organisations that paid through a configured default account lately."""
    found: set[tuple[int, str, int | None]] = {
        (int(org), str(provider), int(account))
        for org, provider, account in session.execute(
            select(PaymentAccount.org_id, PaymentAccount.provider, PaymentAccount.id).where(
                PaymentAccount.is_active
            )
        )
    }
    own = {(org, channel) for org, channel, _ in found}
    for channel in CHANNELS:
        if default_account(settings, channel=channel) is None:
            continue
        orgs = session.scalars(
            select(Payment.org_id)
            .where(
                Payment.channel == channel,
                Payment.account_id.is_(None),
                Payment.created_at >= since,
            )
            .distinct()
        )
        found |= {(int(org), channel, None) for org in orgs if (org, channel) not in own}
    return found


def prepare_due(session: Session, *, settings: Settings, now: datetime) -> Due:
    """The half-hourly tick (10:30–14:00 Beijing time): queue yesterday's run for every
    organisation and channel with an account, re-queue those whose bill was not ready, and
    at 14:00 give up on the ones still waiting (failed, with the reason)."""
    local = now.astimezone(LOCAL_TZ)
    if (local.hour, local.minute) < FIRST_TRY_LOCAL:
        return Due([], 0)
    yesterday = local.date() - timedelta(days=1)
    if (local.hour, local.minute) >= LAST_TRY_LOCAL:
        result: Any = session.execute(
            update(ReconciliationRun)
            .where(
                ReconciliationRun.bill_date == yesterday,
                ReconciliationRun.status == QUEUED,
                ReconciliationRun.error == MSG_NOT_READY,
            )
            .values(status=FAILED, error=MSG_GAVE_UP, finished_at=now, updated_at=now)
        )
        gave_up = int(result.rowcount or 0)
        if gave_up:
            log.error("reconciliation: %d bills of %s still not made at 14:00", gave_up, yesterday)
        return Due([], gave_up)
    existing = {
        (run.org_id, run.channel): run
        for run in session.scalars(
            select(ReconciliationRun).where(ReconciliationRun.bill_date == yesterday)
        )
    }
    # Runs already queued for the day (a bill not ready last time, a lost enqueue) go again.
    run_ids = sorted(run.id for run in existing.values() if run.status == QUEUED)
    for org_id, channel, account_id in sorted(
        _org_channels(session, settings=settings, since=now - DEFAULT_ACCOUNT_LOOKBACK),
        key=lambda item: (item[0], item[1]),
    ):
        if (org_id, channel) in existing:
            continue  # queued (above), done, failed (the desk re-runs it) or running
        queued = _queue(
            session,
            org_id=org_id,
            channel=channel,
            bill_date=yesterday,
            account_id=account_id,
            user_id=None,
            now=now,
        )
        if queued is not None:
            run_ids.append(queued.id)
    return Due(run_ids, 0)
