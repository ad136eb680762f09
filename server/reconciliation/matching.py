"""One reconciliation run: download the day's bill, stream it against our books, record what
differs, settle missed payments, ask again about refunds still under way.

The run owns its transactions (it is what the job runs, not a step of a request):
1. a short transaction claims the run (`queued` → `running`) and reads the account's keys;
2. the bill is downloaded to a temporary file with no transaction open (network, disk);
3. one transaction streams the file: it drops the run's previous discrepancies, COPYs the
   rows, `BATCH` at a time, into a temporary table, then joins it with our payments and
   refunds: only the rows that are not matched (the SQL spelling of the rules' MATCHED)
   come back, are judged by the rules, and become discrepancies; missed payments are booked
   (`settle_paid`, idempotent) and refund queries scheduled (outbox, after the commit); and
   finally the run is marked done with its summary. Progress (`rows_seen`) is
   committed every `PROGRESS_EVERY` rows in a separate short transaction, so the console
   sees it while the run goes on. A failure rolls the whole matching back (the previous
   discrepancies stay) and marks the run failed in a transaction of its own.

Memory is bounded by the batch, never by the bill (nor by our ledger): the bill goes to the
temporary table, matching is a join, and "paid here but absent from the bill" an anti-join.
"""

from __future__ import annotations

import gzip
import logging
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from sqlalchemy import (
    column,
    delete,
    exists,
    func,
    insert,
    select,
    table,
    text,
    update,
)
from sqlalchemy.orm import Session

from server.config import Settings
from server.db.session import Database
from server.integrations.alipay import AlipayError, AlipayUnavailable
from server.integrations.alipay_bill import AlipayBillReader, open_detail
from server.integrations.wechatpay import WeChatPayError
from server.integrations.wechatpay_bill import PAYMENT, BillFormatError, WeChatBillReader
from server.kernel.clock import LOCAL_TZ
from server.kernel.errors import UpstreamError
from server.kernel.roles import Role
from server.notifications.send import desk_users, notify
from server.payments.followup import schedule_refund_query
from server.payments.gateways import Gateway, account_of, gateway_for
from server.payments.models import Payment, PaymentAccount, Refund
from server.payments.rules import PAID, WECHAT
from server.payments.settlement import Settled, settle_paid
from server.reconciliation.models import ReconciliationDiscrepancy, ReconciliationRun
from server.reconciliation.rules import (
    DONE,
    FAILED,
    MATCHED,
    MISSING_AT_PROVIDER,
    MSG_NOT_READY,
    PAYMENT_MATCHED_SQL,
    QUERY_SCHEDULED,
    QUEUED,
    REFUND_MATCHED_SQL,
    REFUND_MISSING_AT_PROVIDER,
    REFUNDS_AT_PROVIDER,
    RUNNING,
    SETTLED,
    TOTAL_MISMATCH,
    Decision,
    OurPayment,
    OurRefund,
    bill_ready,
    judge_payment,
    judge_refund,
    refund_day_is_request_day,
)

log = logging.getLogger(__name__)

CHANNEL_LABELS = {"wechat": "微信支付", "alipay": "支付宝"}

BATCH = 5_000  # bill rows per COPY; unmatched rows fetched and discrepancies written per batch
PROGRESS_EVERY = 20_000  # rows between two progress commits
# A run still `running` after this long lost its worker: it may be claimed again.
STALE_AFTER = timedelta(hours=1)


class BillRow(Protocol):
    """What both parsers yield (WeChatBillRow, AlipayBillRow)."""

    @property
    def kind(self) -> str: ...
    @property
    def out_trade_no(self) -> str: ...
    @property
    def transaction_id(self) -> str: ...
    @property
    def out_refund_no(self) -> str: ...
    @property
    def refund_id(self) -> str: ...
    @property
    def amount_fen(self) -> int: ...
    @property
    def fee_milli_fen(self) -> int: ...
    @property
    def trade_state(self) -> str: ...
    @property
    def refund_status(self) -> str: ...
    @property
    def time(self) -> datetime: ...


@dataclass(frozen=True)
class Claim:
    run_id: int
    org_id: int
    channel: str
    bill_date: date
    account_id: int | None


@dataclass
class BillTotals:
    """The bill's own summary (row count and sums), as the provider wrote it."""

    rows: int | None = None
    payments: int | None = None
    payments_fen: int | None = None
    refunds: int | None = None
    refunds_fen: int | None = None
    fee_milli_fen: int | None = None


class BillNotReady(Exception):
    """The provider has not made the bill yet (or could not be reached): try again later."""


def _milli_to_fen(milli_fen: int) -> int:
    """Milli-fen to fen, half away from zero, in integers (money never goes through float)."""
    fen = (abs(milli_fen) + 500) // 1000
    return -fen if milli_fen < 0 else fen


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def day_bounds(bill_date: date) -> tuple[datetime, datetime]:
    """The Beijing day as a UTC instant range [start, end)."""
    start = datetime.combine(bill_date, time.min, tzinfo=LOCAL_TZ)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


# --- 1. claim ----------------------------------------------------------------------------------


def claim_run(session: Session, *, run_id: int, now: datetime) -> Claim | None:
    """Move a queued (or abandoned) run to `running`; None when it is not ours to run."""
    run = session.get(ReconciliationRun, run_id, with_for_update=True, populate_existing=True)
    if run is None:
        return None
    stale = run.status == RUNNING and (run.started_at is None or run.started_at < now - STALE_AFTER)
    if run.status != QUEUED and not stale:
        return None
    run.status = RUNNING
    run.started_at = now
    run.finished_at = None
    run.rows_seen = 0
    run.attempts += 1
    session.flush()
    return Claim(run.id, run.org_id, run.channel, run.bill_date, run.account_id)


def gateway_of_run(session: Session, *, settings: Settings, claim: Claim) -> Gateway:
    """The client of the merchant whose bill this is, with its active keys."""
    version = None
    if claim.account_id is not None:
        account = session.get(PaymentAccount, claim.account_id)
        version = account.active_version if account is not None else None
    provider_account = account_of(
        session,
        settings=settings,
        account_id=claim.account_id,
        version=version,
        channel=claim.channel,
    )
    return gateway_for(settings, provider_account)


# --- 2. download (no transaction) --------------------------------------------------------------


def download_bill(
    gateway: Gateway, *, bill_date: date, directory: str, now: datetime
) -> Path | None:
    """The day's bill as a file (WeChat: gzip; Alipay: zip), None for a day without one."""
    try:
        if gateway.wechat is not None:
            bill = gateway.wechat.trade_bill(bill_date, directory=directory)
            return bill.path if bill is not None else None
        assert gateway.alipay is not None
        url = gateway.alipay.bill_download_url(bill_date)
        if url is None and not bill_ready(bill_date, now=now):
            # Alipay says "no bill" both for a quiet day and for one not made yet.
            raise BillNotReady("isp.bill_not_exist before 10:00")
        return None if url is None else gateway.alipay.download_bill(url, directory=directory)
    except WeChatPayError as exc:
        if exc.retryable:
            raise BillNotReady(exc.code) from exc
        raise
    except AlipayUnavailable as exc:
        raise BillNotReady(exc.sub_code or exc.code or "unavailable") from exc


@contextmanager
def bill_rows(channel: str, path: Path | None) -> Iterator[tuple[Iterator[BillRow], BillTotals]]:
    """The bill's rows, streamed from the file; the totals are filled once they are read."""
    totals = BillTotals()
    if path is None:
        yield iter(()), totals
        return
    if channel == WECHAT:
        with gzip.open(path, "rb") as stream:
            reader = WeChatBillReader(stream)  # type: ignore[arg-type]

            def wechat_rows() -> Iterator[BillRow]:
                yield from reader.rows()
                summary = reader.summary
                if summary is not None:
                    totals.rows = summary.rows
                    totals.payments_fen = summary.order_total_fen
                    totals.refunds_fen = summary.refund_total_fen
                    totals.fee_milli_fen = summary.fee_total_milli_fen

            yield wechat_rows(), totals
        return
    with open_detail(path) as member:
        alipay = AlipayBillReader(member)

        def alipay_rows() -> Iterator[BillRow]:
            yield from alipay.rows()
            summary = alipay.summary
            if summary is not None and summary.has_footer:
                totals.rows = summary.payments + summary.refunds
                totals.payments = summary.payments
                totals.refunds = summary.refunds

        yield alipay_rows(), totals


# --- 3. match (one transaction) ----------------------------------------------------------------


@dataclass
class Tally:
    rows: int = 0
    foreign: int = 0  # the default merchant's rows that belong to another organisation
    skipped: int = 0  # rows that are neither a payment nor a refund (REVOKED)
    matched: int = 0
    matched_fen: int = 0
    bill_payments: int = 0
    bill_payments_fen: int = 0
    bill_refunds: int = 0
    bill_refunds_fen: int = 0
    ours_in_bill_payments_fen: int = 0
    ours_in_bill_refunds_fen: int = 0
    fee_milli_fen: int = 0
    settled: int = 0
    queries: int = 0
    kinds: Counter[str] = field(default_factory=Counter)


class _Row(NamedTuple):
    """A bill row read back from the run's table (what a discrepancy needs of it)."""

    kind: str
    out_trade_no: str
    out_refund_no: str
    transaction_id: str
    refund_id: str
    amount_fen: int
    refund_status: str
    time: datetime


_BILL_TABLE = "reconciliation_bill"
_CREATE_BILL_TABLE = (
    f"CREATE TEMP TABLE {_BILL_TABLE} (kind char(1), number text, trade_no text,"
    " amount_fen bigint, status text, provider_id text, txn_id text, at timestamptz)"
    " ON COMMIT DROP"
)
# Bill payment rows that are not matched: unknown here (another organisation's, on a shared
# merchant, flagged), or differing from ours.
_PAYMENT_CANDIDATES = f"""
SELECT bill.number, bill.amount_fen, bill.txn_id, bill.at,
       ours.id, ours.out_trade_no, ours.status, ours.amount_fen,
       (ours.id IS NULL AND :shared AND EXISTS (
           SELECT 1 FROM payments f WHERE f.out_trade_no = bill.number AND f.org_id <> :org
       )) AS foreign_row
FROM {_BILL_TABLE} bill
LEFT JOIN payments ours
  ON ours.out_trade_no = bill.number AND ours.org_id = :org AND ours.channel = :channel
WHERE bill.kind = 'p' AND NOT (ours.id IS NOT NULL AND {PAYMENT_MATCHED_SQL})
"""
_OUR_REFUNDS = """
SELECT r.id, r.out_refund_no, p.out_trade_no, r.status, r.amount_fen
FROM refunds r JOIN payments p ON p.id = r.payment_id
WHERE r.org_id = :org AND p.channel = :channel
"""
_REFUND_CANDIDATES = f"""
SELECT bill.trade_no, bill.number, bill.amount_fen, bill.status, bill.provider_id,
       bill.txn_id, bill.at,
       ours.id, ours.out_refund_no, ours.out_trade_no, ours.status, ours.amount_fen,
       (ours.id IS NULL AND :shared AND EXISTS (
           SELECT 1 FROM refunds f WHERE f.out_refund_no = bill.number AND f.org_id <> :org
       )) AS foreign_row
FROM {_BILL_TABLE} bill
LEFT JOIN ({_OUR_REFUNDS}) ours ON ours.out_refund_no = bill.number
WHERE bill.kind = 'r' AND NOT (ours.id IS NOT NULL AND {REFUND_MATCHED_SQL})
"""
BILL = table(_BILL_TABLE, column("kind"), column("number"))


class Matcher:
    """Streams bill rows into a temporary table (COPY, in batches), then finds what differs
    with a few joins: only the rows that are not matched come back to Python, where the
    rules decide what they are."""

    def __init__(self, session: Session, claim: Claim, *, now: datetime) -> None:
        self.session = session
        self.claim = claim
        self.now = now
        self.tally = Tally()
        self.lines: list[str] = []
        self.discrepancies: list[dict[str, Any]] = []
        # A few big joins: JIT compiling them costs more than it saves (≈ 0.3 s each), and
        # their cursors are read to the end, so plan them for all rows, not the first 10 %.
        session.execute(text("SET LOCAL jit = off"))
        session.execute(text("SET LOCAL cursor_tuple_fraction = 1.0"))
        session.execute(text(f"DROP TABLE IF EXISTS pg_temp.{_BILL_TABLE}"))
        session.execute(text(_CREATE_BILL_TABLE))

    # - rows -

    def add(self, row: BillRow) -> None:
        tally = self.tally
        tally.rows += 1
        tally.fee_milli_fen += row.fee_milli_fen
        amount = row.amount_fen
        # CSV for COPY: the values come from a comma-split line, so none holds a comma or a
        # line break; a quote is handled at flush. Empty texts stay empty (FORCE_NOT_NULL),
        # so the SQL spelling of the rules never meets a NULL status.
        if row.kind == PAYMENT:
            if row.trade_state == "REVOKED":
                tally.skipped += 1
                return
            tally.bill_payments += 1
            tally.bill_payments_fen += amount
            self.lines.append(
                f"p,{row.out_trade_no},,{amount},,,{row.transaction_id},{row.time.isoformat()}\n"
            )
        else:
            tally.bill_refunds += 1
            tally.bill_refunds_fen += amount
            self.lines.append(
                f"r,{row.out_refund_no},{row.out_trade_no},{amount},{row.refund_status},"
                f"{row.refund_id},{row.transaction_id},{row.time.isoformat()}\n"
            )
        if len(self.lines) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.lines:
            return
        data = "".join(self.lines)
        if '"' in data:  # never in real bills: quote every value of this batch
            data = "".join(
                ",".join(
                    '"' + value.replace('"', '""') + '"' if value else ""
                    for value in line.rstrip("\n").split(",")
                )
                + "\n"
                for line in self.lines
            )
        raw: Any = self.session.connection().connection.driver_connection  # psycopg 3
        with (
            raw.cursor() as cursor,
            cursor.copy(
                f"COPY {_BILL_TABLE} FROM STDIN (FORMAT csv,"
                " FORCE_NOT_NULL (trade_no, status, provider_id, txn_id))"
            ) as copy,
        ):
            copy.write(data)
        self.lines = []

    # - after the last row -

    def _params(self) -> dict[str, Any]:
        return {
            "org": self.claim.org_id,
            "channel": self.claim.channel,
            "shared": self.claim.account_id is None,
        }

    def _match_payments(self) -> tuple[int, int]:
        """Judge the payment rows that are not matched; returns their count and amount."""
        count = total = 0
        # Streamed (a shared merchant's bill may hold many other organisations' rows) from a
        # cursor whose snapshot predates any settlement below: a payment booked now was not
        # matched.
        result = self.session.execute(
            text(_PAYMENT_CANDIDATES), self._params(), execution_options={"yield_per": BATCH}
        )
        for number, amount, txn, at, our_id, our_no, our_status, our_amount, foreign in result:
            ours = None if our_id is None else OurPayment(our_id, our_no, our_status, our_amount)
            decision = judge_payment(bill_amount_fen=amount, ours=ours)
            if decision.kind == MATCHED and not foreign:
                continue  # the rules have the last word (the SQL spelling is only a filter)
            count += 1
            total += amount
            if foreign:
                self.tally.foreign += 1
                continue
            if ours is not None:
                self.tally.ours_in_bill_payments_fen += amount
            row = _Row("payment", number, "", txn or "", "", amount, "", at)
            self._act_on_payment(row, ours, decision)
            self._write_discrepancies_every(BATCH)
        return count, total

    def _match_refunds(self) -> tuple[int, int]:
        """Judge the refund rows that are not matched; returns their count and amount."""
        count = total = 0
        result = self.session.execute(
            text(_REFUND_CANDIDATES), self._params(), execution_options={"yield_per": BATCH}
        )
        for (
            trade_no, number, amount, status, refund_id, txn, at,
            our_id, our_no, our_trade_no, our_status, our_amount, foreign,
        ) in result:  # fmt: skip
            ours = (
                None
                if our_id is None
                else OurRefund(our_id, our_no, our_trade_no, our_status, our_amount)
            )
            decision = judge_refund(bill_amount_fen=amount, bill_status=status or "", ours=ours)
            if decision.kind == MATCHED and not foreign:
                continue  # the rules have the last word (the SQL spelling is only a filter)
            count += 1
            total += amount
            if foreign:
                self.tally.foreign += 1
                continue
            if ours is not None:
                self.tally.ours_in_bill_refunds_fen += amount
            row = _Row("refund", trade_no or "", number, txn or "", refund_id or "", amount,
                       status or "", at)  # fmt: skip
            if decision.action == QUERY_SCHEDULED and ours is not None:
                schedule_refund_query(self.session, refund_id=ours.id)
                self.tally.queries += 1
            self._record(row, decision, ours_fen=ours.amount_fen if ours else None, resolved=False)
            self._write_discrepancies_every(BATCH)
        return count, total

    def _act_on_payment(self, row: _Row, ours: OurPayment | None, decision: Decision) -> None:
        resolved = False
        if decision.action == SETTLED and ours is not None:
            outcome = settle_paid(
                self.session,
                payment_id=ours.id,
                provider_txn_id=row.transaction_id,
                amount_fen=row.amount_fen,
                paid_at=row.time.astimezone(UTC),
                now=self.now,
                via="reconciliation",
            )
            resolved = outcome in (Settled.SETTLED, Settled.ALREADY)
            self.tally.settled += outcome == Settled.SETTLED
        self._record(row, decision, ours_fen=ours.amount_fen if ours else None, resolved=resolved)

    def _record(
        self, row: _Row, decision: Decision, *, ours_fen: int | None, resolved: bool
    ) -> None:
        if decision.kind == MATCHED:  # not expected: the SQL spelling answers the same
            return
        self._add_discrepancy(
            decision.kind,
            out_trade_no=row.out_trade_no[:64],
            out_refund_no=row.out_refund_no[:64],
            provider_txn_id=(row.refund_id or row.transaction_id)[:64],
            ours_fen=ours_fen,
            theirs_fen=row.amount_fen,
            detail=decision.detail[:200],
            action=decision.action,
            resolved=resolved,
        )

    def _write_discrepancies_every(self, size: int) -> None:
        if len(self.discrepancies) >= size:
            self._write_discrepancies()

    def _write_discrepancies(self) -> None:
        if self.discrepancies:
            self.session.execute(insert(ReconciliationDiscrepancy), self.discrepancies)
            self.discrepancies = []

    def finish(self, totals: BillTotals) -> dict[str, Any]:
        self.flush()
        self.session.execute(text(f"ANALYZE {_BILL_TABLE}"))
        unmatched, unmatched_fen = self._match_payments()
        unmatched_refunds, unmatched_refunds_fen = self._match_refunds()
        # Every bill row not returned as a candidate is matched: no second join to count them.
        t = self.tally
        matched_fen = t.bill_payments_fen - unmatched_fen
        matched_refunds_fen = t.bill_refunds_fen - unmatched_refunds_fen
        t.matched = t.bill_payments - unmatched + t.bill_refunds - unmatched_refunds
        t.matched_fen = matched_fen + matched_refunds_fen
        t.ours_in_bill_payments_fen += matched_fen
        t.ours_in_bill_refunds_fen += matched_refunds_fen
        start, end = day_bounds(self.claim.bill_date)
        account = (
            Payment.account_id.is_(None)
            if self.claim.account_id is None
            else Payment.account_id == self.claim.account_id
        )
        ours_payments = (
            select(Payment.out_trade_no, Payment.amount_fen, Payment.provider_txn_id)
            .where(
                Payment.org_id == self.claim.org_id,
                Payment.channel == self.claim.channel,
                account,
                Payment.status == PAID,
                Payment.paid_at >= start,
                Payment.paid_at < end,
            )
            .subquery("ours_payments")
        )
        ours_count, ours_fen = self.session.execute(
            select(func.count(), func.coalesce(func.sum(ours_payments.c.amount_fen), 0))
        ).one()
        missing = self.session.execute(
            select(ours_payments).where(
                ~exists().where(BILL.c.kind == "p", BILL.c.number == ours_payments.c.out_trade_no)
            )
        )
        for out_trade_no, amount_fen, txn in missing:
            self._add_discrepancy(
                MISSING_AT_PROVIDER,
                out_trade_no=out_trade_no,
                provider_txn_id=txn or "",
                ours_fen=amount_fen,
                detail="本系统已支付，渠道当日账单中没有",
            )
        refund_day = (
            Refund.created_at
            if refund_day_is_request_day(self.claim.channel)
            else (Refund.succeeded_at)
        )
        ours_refunds = (
            select(Refund.out_refund_no, Refund.amount_fen, Payment.out_trade_no)
            .join(Payment, Payment.id == Refund.payment_id)
            .where(
                Refund.org_id == self.claim.org_id,
                Payment.channel == self.claim.channel,
                account,
                Refund.status.in_(REFUNDS_AT_PROVIDER),
                refund_day >= start,
                refund_day < end,
            )
            .subquery("ours_refunds")
        )
        refunds_count, refunds_fen = self.session.execute(
            select(func.count(), func.coalesce(func.sum(ours_refunds.c.amount_fen), 0))
        ).one()
        missing_refunds = self.session.execute(
            select(ours_refunds).where(
                ~exists().where(BILL.c.kind == "r", BILL.c.number == ours_refunds.c.out_refund_no)
            )
        )
        for out_refund_no, amount_fen, out_trade_no in missing_refunds:
            self._add_discrepancy(
                REFUND_MISSING_AT_PROVIDER,
                out_trade_no=out_trade_no,
                out_refund_no=out_refund_no,
                ours_fen=amount_fen,
                detail="本系统有退款，渠道当日账单中没有",
            )
        self._totals(totals, int(ours_fen), int(refunds_fen))
        self._write_discrepancies()
        self.session.execute(text(f"DROP TABLE IF EXISTS pg_temp.{_BILL_TABLE}"))
        t = self.tally
        return {
            "empty_bill": t.rows == 0,
            "bill_rows": t.rows,
            "foreign_rows": t.foreign,
            "skipped_rows": t.skipped,
            "matched": {"count": t.matched, "amount_fen": t.matched_fen},
            "bill": {
                "payments": {"count": t.bill_payments, "amount_fen": t.bill_payments_fen},
                "refunds": {"count": t.bill_refunds, "amount_fen": t.bill_refunds_fen},
                "summary": {
                    "rows": totals.rows,
                    "payments_fen": totals.payments_fen,
                    "refunds_fen": totals.refunds_fen,
                },
            },
            "ours": {
                "payments": {"count": int(ours_count), "amount_fen": int(ours_fen)},
                "refunds": {"count": int(refunds_count), "amount_fen": int(refunds_fen)},
            },
            "fees": {
                "milli_fen": t.fee_milli_fen,
                "fen": _milli_to_fen(t.fee_milli_fen),
                "bill_total_milli_fen": totals.fee_milli_fen,
            },
            "settled": t.settled,
            "refund_queries": t.queries,
            "discrepancies": dict(sorted(t.kinds.items())),
        }

    def _totals(self, totals: BillTotals, ours_fen: int, ours_refunds_fen: int) -> None:
        t = self.tally
        checks: list[tuple[str, int | None, int | None]] = [
            ("账单汇总笔数与明细不符", t.rows, totals.rows),
            ("账单汇总交易额与明细不符", t.bill_payments_fen, totals.payments_fen),
            ("账单汇总退款额与明细不符", t.bill_refunds_fen, totals.refunds_fen),
            ("账单汇总交易笔数与明细不符", t.bill_payments, totals.payments),
            ("账单汇总退款笔数与明细不符", t.bill_refunds, totals.refunds),
        ]
        if t.foreign == 0:
            checks += [
                ("本系统当日交易总额与账单不符", ours_fen, t.bill_payments_fen),
                ("本系统当日退款总额与账单不符", ours_refunds_fen, t.bill_refunds_fen),
            ]
        else:  # a shared (default) merchant: compare with our own rows of the bill only
            checks += [
                ("本系统当日交易总额与账单不符", ours_fen, t.ours_in_bill_payments_fen),
                ("本系统当日退款总额与账单不符", ours_refunds_fen, t.ours_in_bill_refunds_fen),
            ]
        for detail, ours, theirs in checks:
            if theirs is not None and ours != theirs:
                self._add_discrepancy(
                    TOTAL_MISMATCH, ours_fen=ours, theirs_fen=theirs, detail=detail
                )

    def _add_discrepancy(self, kind: str, **values: Any) -> None:
        self.tally.kinds[kind] += 1
        self.discrepancies.append(
            {
                "org_id": self.claim.org_id,
                "run_id": self.claim.run_id,
                "kind": kind,
                "out_trade_no": values.get("out_trade_no", ""),
                "out_refund_no": values.get("out_refund_no", ""),
                "provider_txn_id": values.get("provider_txn_id", ""),
                "ours_fen": values.get("ours_fen"),
                "theirs_fen": values.get("theirs_fen"),
                "detail": values.get("detail", ""),
                "action": values.get("action"),
                "resolved": values.get("resolved", False),
                "created_at": self.now,
            }
        )


def _set_progress(db: Database, run_id: int, rows: int) -> None:
    with db.transaction() as uow:
        uow.session.execute(
            update(ReconciliationRun).where(ReconciliationRun.id == run_id).values(rows_seen=rows)
        )


def match_file(
    session: Session,
    *,
    claim: Claim,
    path: Path | None,
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Stream the bill at `path` against our books in `session`; returns the run's summary."""
    session.execute(
        delete(ReconciliationDiscrepancy).where(ReconciliationDiscrepancy.run_id == claim.run_id)
    )
    matcher = Matcher(session, claim, now=now)
    with bill_rows(claim.channel, path) as (rows, totals):
        for row in rows:
            matcher.add(row)
            if progress is not None and matcher.tally.rows % PROGRESS_EVERY == 0:
                progress(matcher.tally.rows)
    return matcher.finish(totals)


# --- the whole run -----------------------------------------------------------------------------


def _end(
    db: Database,
    run_id: int,
    *,
    status: str,
    now: datetime,
    error: str = "",
    rows: int | None = None,
) -> None:
    with db.transaction() as uow:
        values: dict[str, Any] = {"status": status, "error": error[:200], "updated_at": now}
        if status != QUEUED:
            values["finished_at"] = now
        if rows is not None:
            values["rows_seen"] = rows
        uow.session.execute(
            update(ReconciliationRun).where(ReconciliationRun.id == run_id).values(**values)
        )


def reconcile(
    db: Database,
    *,
    settings: Settings,
    run_id: int,
    clock: Callable[[], datetime] = _wall_clock,
    work_dir: str | None = None,
) -> str:
    """Run one queued reconciliation; returns what became of it (done, not_ready, failed,
    skipped). Owns its transactions."""
    now = clock()
    with db.transaction() as uow:
        claim = claim_run(uow.session, run_id=run_id, now=now)
        if claim is None:
            return "skipped"
        try:
            gateway = gateway_of_run(uow.session, settings=settings, claim=claim)
        except UpstreamError as exc:
            uow.session.rollback()
            _end(db, run_id, status=FAILED, now=now, error=str(exc))
            return FAILED
    directory = tempfile.mkdtemp(prefix="reconciliation-", dir=work_dir)
    try:
        try:
            path = download_bill(
                gateway, bill_date=claim.bill_date, directory=directory, now=clock()
            )
        except BillNotReady as exc:
            log.info("reconciliation %s: bill not ready (%s)", run_id, exc)
            _end(db, run_id, status=QUEUED, now=clock(), error=MSG_NOT_READY)
            return "not_ready"
        except (WeChatPayError, AlipayError, UpstreamError) as exc:
            log.warning("reconciliation %s: bill download failed: %r", run_id, exc)
            _end(db, run_id, status=FAILED, now=clock(), error=f"账单下载失败：{exc}")
            return FAILED
        try:
            with db.transaction() as uow:
                summary = match_file(
                    uow.session,
                    claim=claim,
                    path=path,
                    now=now,
                    progress=lambda rows: _set_progress(db, run_id, rows),
                )
                uow.session.execute(
                    update(ReconciliationRun)
                    .where(ReconciliationRun.id == run_id)
                    .values(
                        status=DONE,
                        summary=summary,
                        rows_seen=summary["bill_rows"],
                        finished_at=clock(),
                        error="",
                    )
                )
                found = sum(int(n) for n in summary["discrepancies"].values())
                if found:
                    # The managers hear of it (once per run and outcome, however often re-run).
                    notify(
                        uow.session,
                        org_id=claim.org_id,
                        kind="reconciliation_discrepancy",
                        user_ids=desk_users(uow.session, org_id=claim.org_id, role=Role.ADMIN),
                        now=now,
                        data={
                            "date": claim.bill_date.isoformat(),
                            "channel": CHANNEL_LABELS.get(claim.channel, claim.channel),
                            "count": found,
                            "run_id": run_id,
                        },
                        dedupe_key=f"reconciliation:{run_id}:{found}",
                    )
        except BillFormatError as exc:
            log.warning("reconciliation %s: unreadable bill: %s", run_id, exc)
            _end(db, run_id, status=FAILED, now=clock(), error=f"账单格式无法识别：{exc}")
            return FAILED
        except Exception:
            log.exception("reconciliation %s failed", run_id)
            _end(db, run_id, status=FAILED, now=clock(), error="对账失败，请稍后重试")
            raise
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    log.info("reconciliation %s done: %s", run_id, summary["discrepancies"])
    return DONE
