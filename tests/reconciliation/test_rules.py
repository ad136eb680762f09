"""The reconciliation rules: each decision, its SQL spelling kept equal to it, bill dates; and
a thousand-row bill matched against the real database (no timing, only outcomes)."""

from __future__ import annotations

import gzip
import itertools
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select, text

from server.kernel.clock import LOCAL_TZ
from server.payments.rules import PAYMENT_STATUSES, REFUND_STATUSES
from server.reconciliation import matching
from server.reconciliation.models import ReconciliationDiscrepancy, ReconciliationRun
from server.reconciliation.rules import (
    AMOUNT_MISMATCH,
    MATCHED,
    MISSING_HERE,
    MSG_DATE_NOT_PAST,
    MSG_DATE_TOO_OLD,
    PAYMENT_MATCHED_SQL,
    QUERY_SCHEDULED,
    REFUND_MATCHED_SQL,
    REFUND_MISSING_HERE,
    REFUND_STATUS_MISMATCH,
    SETTLED,
    UNPAID_HERE,
    OurPayment,
    OurRefund,
    bill_ready,
    check_bill_date,
    judge_payment,
    judge_refund,
)
from tests.reconciliation.test_runs import (
    add_payment,
    add_refund,
    at,
    wechat_bill,
    wx_payment,
    wx_refund,
)

BILL_REFUND_STATUSES = ("SUCCESS", "PROCESSING", "CLOSED", "ABNORMAL", "")


def test_payment_decisions():
    paid = OurPayment(1, "P1", "paid", 1000)
    assert judge_payment(bill_amount_fen=1000, ours=paid).kind == MATCHED
    assert judge_payment(bill_amount_fen=1000, ours=None).kind == MISSING_HERE
    assert judge_payment(bill_amount_fen=999, ours=paid).kind == AMOUNT_MISMATCH
    unpaid = judge_payment(bill_amount_fen=1000, ours=paid._replace(status="open"))
    assert (unpaid.kind, unpaid.action) == (UNPAID_HERE, SETTLED)
    # A wrong amount is never settled, whatever our status.
    closed = judge_payment(bill_amount_fen=1, ours=paid._replace(status="closed"))
    assert (closed.kind, closed.action) == (AMOUNT_MISMATCH, None)


def test_refund_decisions():
    def refund(status: str) -> OurRefund:
        return OurRefund(1, "R1", "P1", status, 500)

    def judge(bill_status: str, status: str, fen: int = 500):
        return judge_refund(bill_amount_fen=fen, bill_status=bill_status, ours=refund(status))

    assert judge_refund(bill_amount_fen=500, bill_status="SUCCESS", ours=None).kind == (
        REFUND_MISSING_HERE
    )
    assert judge_refund(
        bill_amount_fen=500, bill_status="SUCCESS", ours=refund("success")
    ).kind == (MATCHED)
    processing = judge_refund(
        bill_amount_fen=500, bill_status="PROCESSING", ours=refund("processing")
    )
    assert (processing.kind, processing.action) == (REFUND_STATUS_MISMATCH, QUERY_SCHEDULED)
    # The bill's PROCESSING is a snapshot: ours already finished is fine.
    assert (
        judge_refund(bill_amount_fen=500, bill_status="PROCESSING", ours=refund("success")).kind
        == MATCHED
    )
    late = judge_refund(bill_amount_fen=500, bill_status="SUCCESS", ours=refund("pending"))
    assert (late.kind, late.action) == (REFUND_STATUS_MISMATCH, QUERY_SCHEDULED)
    abnormal = judge("SUCCESS", "abnormal")
    assert (abnormal.kind, abnormal.action) == (REFUND_STATUS_MISMATCH, None)
    assert judge_refund(
        bill_amount_fen=400, bill_status="SUCCESS", ours=refund("success")
    ).kind == (AMOUNT_MISMATCH)


def _sql_says(db_session, condition: str, ours_status: str, ours_fen: int, bill_status: str,
              bill_fen: int) -> bool:  # fmt: skip
    return bool(
        db_session.execute(
            text(
                f"SELECT ({condition}) FROM"
                " (SELECT CAST(:os AS text) AS status, CAST(:of AS bigint) AS amount_fen) ours,"
                " (SELECT CAST(:bs AS text) AS status, CAST(:bf AS bigint) AS amount_fen) bill"
            ),
            {"os": ours_status, "of": ours_fen, "bs": bill_status, "bf": bill_fen},
        ).scalar()
    )


def test_the_sql_spellings_say_matched_exactly_when_the_rules_do(db_session):
    for status, bill_fen in itertools.product(PAYMENT_STATUSES, (1000, 999)):
        python = judge_payment(bill_amount_fen=bill_fen, ours=OurPayment(1, "P", status, 1000))
        sql = _sql_says(db_session, PAYMENT_MATCHED_SQL, status, 1000, "", bill_fen)
        assert sql == (python.kind == MATCHED), (status, bill_fen)
    for status, bill_status, bill_fen in itertools.product(
        REFUND_STATUSES, BILL_REFUND_STATUSES, (500, 499)
    ):
        python = judge_refund(
            bill_amount_fen=bill_fen,
            bill_status=bill_status,
            ours=OurRefund(1, "R", "P", status, 500),
        )
        sql = _sql_says(db_session, REFUND_MATCHED_SQL, status, 500, bill_status, bill_fen)
        assert sql == (python.kind == MATCHED), (status, bill_status, bill_fen)


def test_bill_dates():
    today = date(2026, 11, 30)
    assert check_bill_date("wechat", today - timedelta(days=1), today=today) is None
    assert check_bill_date("wechat", today, today=today) == MSG_DATE_NOT_PAST
    assert check_bill_date("alipay", today + timedelta(days=1), today=today) == MSG_DATE_NOT_PAST
    assert check_bill_date("wechat", today - timedelta(days=93), today=today) == MSG_DATE_TOO_OLD
    assert check_bill_date("alipay", today - timedelta(days=93), today=today) is None
    nine = datetime(2026, 11, 30, 9, 59, tzinfo=LOCAL_TZ)
    assert not bill_ready(date(2026, 11, 29), now=nine)
    assert bill_ready(date(2026, 11, 29), now=nine + timedelta(minutes=1))
    assert bill_ready(date(2026, 11, 28), now=nine)


def test_a_thousand_rows_matched_in_one_transaction(
    db_session, shop, client, tmp_path, monkeypatch
):
    """match_file straight on a file: 1,000 rows (960 matched payments, 30 matched refunds,
    a few differences), progress reported, previous findings replaced."""
    day = date(2026, 3, 2)
    order = shop.file(client, subtype_id=shop.full.id)["id"]
    bill = []
    for i in range(970):
        payment = add_payment(db_session, shop, order, no=f"PK{i:010d}", fen=100 + i,
                              status="paid", paid_at=at(day, 8 + i % 12))  # fmt: skip
        fen = 100 + i if i < 960 else 1  # the last ten: wrong amounts
        bill.append(wx_payment(f"PK{i:010d}", fen, f"42{i:026d}", at(day, 8 + i % 12)))
        if i < 30:
            add_refund(db_session, payment, no=f"RK{i:010d}", fen=50, status="success",
                       requested=at(day, 21), succeeded=at(day, 21, 5))  # fmt: skip
            bill.append(wx_refund(f"PK{i:010d}", f"RK{i:010d}", 50, "SUCCESS", at(day, 21)))
    run = ReconciliationRun(org_id=shop.org.id, channel="wechat", bill_date=day, status="queued")
    db_session.add(run)
    db_session.flush()
    db_session.add(
        ReconciliationDiscrepancy(org_id=shop.org.id, run_id=run.id, kind="missing_here")
    )
    db_session.flush()
    path = tmp_path / "bill.csv.gz"
    path.write_bytes(gzip.compress(wechat_bill(bill)))
    claim = matching.claim_run(db_session, run_id=run.id, now=datetime.now(UTC))
    assert claim is not None
    seen: list[int] = []
    monkeypatch.setattr(matching, "PROGRESS_EVERY", 250)
    summary = matching.match_file(
        db_session, claim=claim, path=path, now=datetime.now(UTC), progress=seen.append
    )
    assert seen == [250, 500, 750, 1000]
    assert summary["bill_rows"] == 1000
    assert summary["matched"] == {
        "count": 990,
        "amount_fen": sum(100 + i for i in range(960)) + 30 * 50,
    }
    assert summary["discrepancies"] == {"amount_mismatch": 10, "total_mismatch": 1}
    kinds = db_session.scalars(
        select(ReconciliationDiscrepancy.kind).where(ReconciliationDiscrepancy.run_id == run.id)
    ).all()
    assert sorted(kinds) == ["amount_mismatch"] * 10 + ["total_mismatch"]  # the old row is gone
