"""Daily reconciliation end to end: the console starts a run over HTTP, the job downloads the
day's bill from the loopback provider and matches it against the real database.

Every discrepancy kind, both providers, a refund of an earlier day's payment, a refund still
processing (asked about again), re-runs that replace their findings and settle nothing twice,
an empty day, a bill not made yet, and organisations that cannot see each other's runs."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from rq import Queue
from sqlalchemy import func, select

from server.charges.models import LedgerEntry
from server.jobs import RECONCILE_DAY
from server.kernel.clock import LOCAL_TZ
from server.kernel.money import fen_to_yuan_text
from server.outbox.models import OutboxItem
from server.payments.models import Payment, Refund
from server.reconciliation import matching, runs
from server.reconciliation.models import ReconciliationDiscrepancy, ReconciliationRun
from server.reconciliation.rules import MSG_GAVE_UP, MSG_NOT_READY
from tests.fakes.alipay import bill_zip
from tests.integrations.test_bill_parsers import ALIPAY_HEADER, ALL_HEADER
from tests.paying.conftest import MCHID, WX_APPID
from tests.paying.helpers import paid_ok

ADMIN = "/api/v1/admin/reconciliations"


def yesterday() -> date:
    return datetime.now(LOCAL_TZ).date() - timedelta(days=1)


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """A Beijing time of `day`, as the aware UTC instant it is stored as."""
    return datetime.combine(day, time(hour, minute), tzinfo=LOCAL_TZ).astimezone(UTC)


def yuan(fen: int) -> str:
    return fen_to_yuan_text(fen)


# --- bills -------------------------------------------------------------------------------------


def wx_payment(out_trade_no: str, fen: int, txn: str, when: datetime) -> dict[str, Any]:
    return {"kind": "payment", "no": out_trade_no, "fen": fen, "txn": txn, "when": when}


def wx_refund(
    out_trade_no: str, out_refund_no: str, fen: int, status: str, when: datetime
) -> dict[str, Any]:
    return {
        "kind": "refund",
        "no": out_trade_no,
        "refund_no": out_refund_no,
        "fen": fen,
        "status": status,
        "when": when,
    }


def wechat_bill(rows: list[dict[str, Any]], *, crlf: bool = True) -> bytes:
    lines = [ALL_HEADER]
    pay_total = refund_total = fee_total = 0
    for row in rows:
        when = row["when"].astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S")
        txn = row.get("txn", "4200000000000000000000000000")
        if row["kind"] == "payment":
            fee = row["fen"] * 6  # 0.6 % of the amount, in milli-fen
            values = [when, WX_APPID, MCHID, "0", "", txn, row["no"], "oOpenId", "JSAPI"]
            values += ["SUCCESS", "OTHERS", "CNY", yuan(row["fen"]), "0.00", "0", "0", "0.00"]
            values += ["0.00", "", "", "维修", "", f"{fee / 100_000:.5f}", "0.60%"]
            values += [yuan(row["fen"]), "0.00", ""]
            pay_total += row["fen"]
        else:
            fee = -row["fen"] * 6
            values = [when, WX_APPID, MCHID, "0", "", txn, row["no"], "oOpenId", "JSAPI"]
            values += ["REFUND", "OTHERS", "CNY", "0.00", "0.00", "5030000000000000000000000001"]
            values += [row["refund_no"], yuan(row["fen"]), "0.00", "ORIGINAL", row["status"]]
            values += ["维修", "", f"{fee / 100_000:.5f}", "0.60%", "0.00", yuan(row["fen"]), ""]
            refund_total += row["fen"]
        fee_total += fee
        lines.append(",".join("`" + v for v in values))
    lines.append(
        "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
    )
    summary = [str(len(rows)), yuan(pay_total), yuan(refund_total), "0.00"]
    summary += [f"{fee_total / 100_000:.5f}", yuan(pay_total), yuan(refund_total)]
    lines.append(",".join("`" + v for v in summary))
    newline = "\r\n" if crlf else "\n"
    return ("\ufeff" + newline.join(lines) + newline).encode()


def alipay_bill(rows: list[dict[str, Any]]) -> bytes:
    lines = [
        "#支付宝业务明细查询",
        "#账号：[20880000000000010156]",
        "#-----------------------------------------业务明细列表----------------------------------------",
        ALIPAY_HEADER,
    ]
    payments = refunds = pay_fen = refund_fen = 0
    for row in rows:
        when = row["when"].astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S")
        sign = "" if row["kind"] == "payment" else "-"
        business = "交易" if row["kind"] == "payment" else "退款"
        request_no = row.get("refund_no", "")
        fee = f"{'-' if not sign else ''}{yuan(row['fen'] * 6 // 1000)}"
        values = [f"{row.get('txn', '2026000000')}\t", f"{row['no']}\t", f"{business}\t", "维修"]
        values += [when, when, "\t", "\t", "\t", "\t", "*李(139******01)\t"]
        values += [sign + yuan(row["fen"]), sign + yuan(row["fen"]), "0.00", "0.00", "0.00"]
        values += ["0.00", "0.00", "", "0.00\t", "0.00", f"{request_no}\t", fee, "0.00", ""]
        lines.append(",".join(values))
        if sign:
            refunds += 1
            refund_fen += row["fen"]
        else:
            payments += 1
            pay_fen += row["fen"]
    lines += [
        "#-----------------------------------------业务明细列表结束------------------------------------",
        f"#交易合计：{payments}笔，商家实收共{yuan(pay_fen)}元，商家优惠共0.00元",
        f"#退款合计：{refunds}笔，商家实收退款共-{yuan(refund_fen)}元，商家优惠退款共0.00元",
        "#导出时间：[2026年03月03日 05:46:49]",
    ]
    return bill_zip("\r\n".join(lines) + "\r\n")


# --- our books ---------------------------------------------------------------------------------


def add_payment(
    db_session,
    shop,
    order_id: int,
    *,
    no: str,
    fen: int,
    status: str,
    paid_at=None,
    channel: str = "wechat",
) -> Payment:
    payment = Payment(
        org_id=shop.org.id,
        order_id=order_id,
        channel=channel,
        purpose="prepay",
        status=status,
        amount_fen=fen,
        out_trade_no=no,
        provider_txn_id=f"TXN{no}" if status == "paid" else None,
        paid_at=paid_at,
    )
    db_session.add(payment)
    db_session.flush()
    return payment


def add_refund(
    db_session,
    payment: Payment,
    *,
    no: str,
    fen: int,
    status: str,
    requested: datetime,
    succeeded: datetime | None = None,
) -> Refund:
    refund = Refund(
        org_id=payment.org_id,
        order_id=payment.order_id,
        payment_id=payment.id,
        out_refund_no=no,
        amount_fen=fen,
        status=status,
        source="desk",
        created_at=requested,
        updated_at=requested,
        succeeded_at=succeeded,
    )
    db_session.add(refund)
    db_session.flush()
    return refund


def start(client, headers, channel: str, day: date):
    return client.post(ADMIN, json={"channel": channel, "date": day.isoformat()}, headers=headers)


def run_job(app, settings, run_id: int) -> str:
    return matching.reconcile(app.extensions["baoxiu"].db, settings=settings, run_id=run_id)


def kinds(client, headers, run_id: int) -> dict[str, list[dict[str, Any]]]:
    r = client.get(f"{ADMIN}/{run_id}", query_string={"page_size": 100}, headers=headers)
    assert r.status_code == 200, r.json
    found: dict[str, list[dict[str, Any]]] = {}
    for item in r.json["discrepancies"]["items"]:
        found.setdefault(item["kind"], []).append(item)
    return found


def forget_enqueued(app) -> list[Any]:
    """The RQ jobs the POSTs enqueued (the test runs the job itself), removed."""
    queue = Queue(RECONCILE_DAY.queue, connection=app.extensions["baoxiu"].redis)
    jobs = [job for job in queue.jobs if job.func_name == RECONCILE_DAY.func]
    for job in jobs:
        job.delete()
    return jobs


# --- the tests ---------------------------------------------------------------------------------


def test_wechat_day_with_every_discrepancy_kind_and_an_idempotent_rerun(
    client, app, settings, shop, wxpay, db_session
):
    day = yesterday()
    admin = shop.make.headers(shop.make.admin(shop.org))
    # A payment the tenant made that we never heard of (no notification): the bill settles it.
    order = shop.file(client, subtype_id=shop.full.id)
    missed = paid_ok(client, shop, order["id"])
    assert missed["amount_fen"] == 8800
    other = shop.file(client, subtype_id=shop.full.id)["id"]
    matched = add_payment(
        db_session, shop, other, no="PMATCHED0001", fen=1500, status="paid", paid_at=at(day, 9)
    )
    absent = add_payment(
        db_session, shop, other, no="PABSENT00001", fen=5000, status="paid", paid_at=at(day, 11)
    )
    wrong = add_payment(
        db_session, shop, other, no="PWRONGAMT001", fen=1000, status="paid", paid_at=at(day, 12)
    )
    # A payment five days ago, refunded yesterday in several ways.
    earlier = add_payment(
        db_session,
        shop,
        other,
        no="PEARLIER0001",
        fen=9000,
        status="paid",
        paid_at=at(day - timedelta(days=5)),
    )
    add_refund(
        db_session,
        earlier,
        no="RDONE0000001",
        fen=2000,
        status="success",
        requested=at(day, 13),
        succeeded=at(day, 13, 1),
    )
    processing = add_refund(
        db_session, earlier, no="RPROC0000001", fen=1000, status="processing", requested=at(day, 14)
    )
    stale = add_refund(
        db_session, earlier, no="RSTALE000001", fen=700, status="processing", requested=at(day, 15)
    )
    add_refund(
        db_session,
        earlier,
        no="RGONE0000001",
        fen=500,
        status="success",
        requested=at(day, 16),
        succeeded=at(day, 16, 1),
    )
    db_session.commit()

    wxpay.put_bill(
        day.isoformat(),
        wechat_bill(
            [
                wx_payment(
                    missed["out_trade_no"], 8800, "4200000000000000000000000001", at(day, 8)
                ),
                wx_payment("PMATCHED0001", 1500, "4200000000000000000000000002", at(day, 9)),
                wx_payment("PWRONGAMT001", 1200, "4200000000000000000000000003", at(day, 12)),
                wx_payment("PNOTOURS0001", 300, "4200000000000000000000000004", at(day, 17)),
                wx_refund("PEARLIER0001", "RDONE0000001", 2000, "SUCCESS", at(day, 13)),
                wx_refund("PEARLIER0001", "RPROC0000001", 1000, "PROCESSING", at(day, 14)),
                wx_refund("PEARLIER0001", "RSTALE000001", 700, "SUCCESS", at(day, 15)),
                wx_refund("PEARLIER0001", "RNOTOURS0001", 100, "SUCCESS", at(day, 18)),
            ]
        ),
    )

    r = start(client, admin, "wechat", day)
    assert r.status_code == 202, r.json
    run = r.json
    assert run["status"] == "queued" and run["channel"] == "wechat"
    assert run["bill_date"] == day.isoformat() and run["account_id"] is None
    enqueued = forget_enqueued(app)
    assert [job.args for job in enqueued] == [(run["id"],)]

    assert run_job(app, settings, run["id"]) == "done"
    detail = client.get(f"{ADMIN}/{run['id']}", headers=admin).json
    assert detail["run"]["status"] == "done" and detail["run"]["rows_seen"] == 8
    summary = detail["run"]["summary"]
    assert summary["matched"] == {"count": 2, "amount_fen": 1500 + 2000}
    assert summary["settled"] == 1 and summary["refund_queries"] == 2
    assert summary["bill"]["summary"]["rows"] == 8
    assert summary["fees"]["milli_fen"] == (8800 + 1500 + 1200 + 300 - 2000 - 1000 - 700 - 100) * 6

    found = kinds(client, admin, run["id"])
    assert [d["out_trade_no"] for d in found["unpaid_here"]] == [missed["out_trade_no"]]
    assert found["unpaid_here"][0]["action"] == "settled" and found["unpaid_here"][0]["resolved"]
    assert [d["out_trade_no"] for d in found["missing_here"]] == ["PNOTOURS0001"]
    assert [(d["out_trade_no"], d["ours_fen"]) for d in found["missing_at_provider"]] == [
        ("PABSENT00001", 5000)
    ]
    assert [
        (d["out_trade_no"], d["ours_fen"], d["theirs_fen"]) for d in found["amount_mismatch"]
    ] == [("PWRONGAMT001", 1000, 1200)]
    assert sorted((d["out_refund_no"], d["action"]) for d in found["refund_status_mismatch"]) == [
        ("RPROC0000001", "query_scheduled"),
        ("RSTALE000001", "query_scheduled"),
    ]
    assert [d["out_refund_no"] for d in found["refund_missing_here"]] == ["RNOTOURS0001"]
    assert [d["out_refund_no"] for d in found["refund_missing_at_provider"]] == ["RGONE0000001"]
    assert found["total_mismatch"]  # our day's sums are not the bill's
    assert set(found) == {
        "unpaid_here",
        "missing_here",
        "missing_at_provider",
        "amount_mismatch",
        "refund_status_mismatch",
        "refund_missing_here",
        "refund_missing_at_provider",
        "total_mismatch",
    }
    only = client.get(f"{ADMIN}/{run['id']}", query_string={"kind": "missing_here"}, headers=admin)
    assert only.json["discrepancies"]["total"] == 1

    # The missed payment is booked: paid, with the bill's transaction id, once in the ledger.
    payment = db_session.scalar(
        select(Payment)
        .where(Payment.out_trade_no == missed["out_trade_no"])
        .execution_options(populate_existing=True)
    )
    assert payment.status == "paid"
    assert payment.provider_txn_id == "4200000000000000000000000001"
    ledger = (
        select(func.count())
        .select_from(LedgerEntry)
        .where(LedgerEntry.reference == missed["out_trade_no"], LedgerEntry.kind == "payment")
    )
    assert db_session.scalar(ledger) == 1
    # The refunds the bill saw under way are asked about again (after the commit).
    queries = db_session.scalars(
        select(OutboxItem.kwargs).where(OutboxItem.job == "payments.query_refund")
    ).all()
    assert sorted(k["refund_id"] for k in queries) == sorted([processing.id, stale.id])

    # Re-running the day re-uses the run, replaces its findings and books nothing twice.
    again = start(client, admin, "wechat", day)
    assert again.status_code == 202 and again.json["id"] == run["id"]
    forget_enqueued(app)
    assert run_job(app, settings, run["id"]) == "done"
    found = kinds(client, admin, run["id"])
    assert "unpaid_here" not in found  # booked last time: now it simply matches
    assert [d["out_trade_no"] for d in found["missing_here"]] == ["PNOTOURS0001"]
    total = db_session.scalar(
        select(func.count())
        .select_from(ReconciliationDiscrepancy)
        .where(ReconciliationDiscrepancy.run_id == run["id"])
    )
    assert total == sum(len(v) for v in found.values())
    assert db_session.scalar(ledger) == 1
    assert (
        db_session.scalar(
            select(func.count())
            .select_from(ReconciliationRun)
            .where(ReconciliationRun.org_id == shop.org.id)
        )
        == 1
    )
    rerun = client.get(f"{ADMIN}/{run['id']}", headers=admin).json["run"]
    assert rerun["attempts"] == 2 and rerun["summary"]["matched"]["count"] == 3

    # The export has every discrepancy of the run.
    export = client.get(f"{ADMIN}/{run['id']}", query_string={"format": "csv"}, headers=admin)
    assert export.status_code == 200 and export.mimetype == "text/csv"
    assert f"reconciliation-wechat-{day:%Y%m%d}.csv" in export.headers["Content-Disposition"]
    text = export.data.decode("utf-8")
    assert text.startswith("\ufeff")
    table = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert table[0][0] == "对账日期" and len(table) == 1 + total
    assert any(row[3] == "PNOTOURS0001" and row[2] == "渠道有、本系统无" for row in table)
    del matched, absent, wrong


def test_alipay_day_settles_a_missed_payment_and_matches_refunds(
    client, app, settings, shop, alipay, db_session
):
    day = yesterday()
    admin = shop.make.headers(shop.make.admin(shop.org))
    order = shop.file(client, subtype_id=shop.full.id)
    missed = paid_ok(client, shop, order["id"], channel="alipay")
    other = shop.file(client, subtype_id=shop.full.id)["id"]
    add_payment(
        db_session,
        shop,
        other,
        no="AMATCHED0001",
        fen=2000,
        status="paid",
        paid_at=at(day, 9),
        channel="alipay",
    )
    earlier = add_payment(
        db_session,
        shop,
        other,
        no="AEARLIER0001",
        fen=3000,
        status="paid",
        paid_at=at(day - timedelta(days=40)),
        channel="alipay",
    )
    # Alipay lists a refund under the day it finished, not the day it was asked for.
    add_refund(
        db_session,
        earlier,
        no="ARDONE000001",
        fen=1000,
        status="success",
        requested=at(day - timedelta(days=1), 20),
        succeeded=at(day, 10),
    )
    add_refund(
        db_session,
        earlier,
        no="ARGONE000001",
        fen=500,
        status="success",
        requested=at(day, 11),
        succeeded=at(day, 11, 5),
    )
    db_session.commit()
    alipay.put_bill(
        day.isoformat(),
        alipay_bill(
            [
                {
                    "kind": "payment",
                    "no": missed["out_trade_no"],
                    "fen": 8800,
                    "when": at(day, 8),
                    "txn": "2026030222001400000000000001",
                },
                {"kind": "payment", "no": "AMATCHED0001", "fen": 2000, "when": at(day, 9)},
                {
                    "kind": "refund",
                    "no": "AEARLIER0001",
                    "refund_no": "ARDONE000001",
                    "fen": 1000,
                    "when": at(day, 10),
                },
            ]
        ),
    )
    r = start(client, admin, "alipay", day)
    assert r.status_code == 202, r.json
    forget_enqueued(app)
    assert run_job(app, settings, r.json["id"]) == "done"
    found = kinds(client, admin, r.json["id"])
    assert [d["out_trade_no"] for d in found["unpaid_here"]] == [missed["out_trade_no"]]
    assert [d["out_refund_no"] for d in found["refund_missing_at_provider"]] == ["ARGONE000001"]
    assert set(found) <= {"unpaid_here", "refund_missing_at_provider", "total_mismatch"}
    run = client.get(f"{ADMIN}/{r.json['id']}", headers=admin).json["run"]
    assert run["summary"]["matched"] == {"count": 2, "amount_fen": 3000}
    payment = db_session.scalar(
        select(Payment)
        .where(Payment.out_trade_no == missed["out_trade_no"])
        .execution_options(populate_existing=True)
    )
    assert payment.status == "paid"
    assert payment.provider_txn_id == "2026030222001400000000000001"


def test_an_empty_day_finds_our_payments_missing_at_the_provider(
    client, app, settings, shop, wxpay, db_session
):
    day = yesterday()
    admin = shop.make.headers(shop.make.admin(shop.org))
    other = shop.file(client, subtype_id=shop.full.id)["id"]
    add_payment(
        db_session, shop, other, no="PLONELY00001", fen=4200, status="paid", paid_at=at(day, 9)
    )
    db_session.commit()
    r = start(client, admin, "wechat", day)  # WeChat answers NO_STATEMENT_EXIST
    forget_enqueued(app)
    assert run_job(app, settings, r.json["id"]) == "done"
    found = kinds(client, admin, r.json["id"])
    assert [d["out_trade_no"] for d in found["missing_at_provider"]] == ["PLONELY00001"]
    run = client.get(f"{ADMIN}/{r.json['id']}", headers=admin).json["run"]
    assert run["summary"]["empty_bill"] is True and run["rows_seen"] == 0
    # The organisation's admins hear of the discrepancy in their inbox.
    inbox = client.get("/api/v1/me/notifications", headers=admin).json
    found_count = sum(run["summary"]["discrepancies"].values())
    assert found_count >= 1
    assert [(i["kind"], i["data"]["count"]) for i in inbox["items"]] == [
        ("reconciliation_discrepancy", str(found_count))
    ]


def test_a_bill_not_made_yet_waits_and_is_given_up_at_two(
    client, app, settings, shop, wxpay, db_session
):
    day = yesterday()
    admin = shop.make.headers(shop.make.admin(shop.org))
    wxpay.bills_creating.add(day.isoformat())
    r = start(client, admin, "wechat", day)
    forget_enqueued(app)
    assert run_job(app, settings, r.json["id"]) == "not_ready"
    run = client.get(f"{ADMIN}/{r.json['id']}", headers=admin).json["run"]
    assert run["status"] == "queued" and run["error"] == MSG_NOT_READY

    # The half-hourly tick retries it before 14:00 and gives up at 14:00, saying why.
    noon = datetime.combine(day + timedelta(days=1), time(12, 0), tzinfo=LOCAL_TZ)
    due = runs.prepare_due(db_session, settings=settings, now=noon.astimezone(UTC))
    assert r.json["id"] in due.run_ids
    two = noon.replace(hour=14)
    due = runs.prepare_due(db_session, settings=settings, now=two.astimezone(UTC))
    assert due.run_ids == [] and due.gave_up >= 1
    db_session.commit()
    run = client.get(f"{ADMIN}/{r.json['id']}", headers=admin).json["run"]
    assert run["status"] == "failed" and run["error"] == MSG_GAVE_UP
    # Before 10:30 the tick does nothing at all.
    early = noon.replace(hour=9)
    assert runs.prepare_due(db_session, settings=settings, now=early.astimezone(UTC)).run_ids == []


def test_the_tick_queues_yesterday_for_organisations_that_used_the_default_merchant(
    client, app, settings, shop, db_session
):
    day = yesterday()
    other = shop.file(client, subtype_id=shop.full.id)["id"]
    add_payment(db_session, shop, other, no="PTICK0000001", fen=100, status="open")
    eleven = datetime.combine(day + timedelta(days=1), time(11, 0), tzinfo=LOCAL_TZ)
    due = runs.prepare_due(db_session, settings=settings, now=eleven.astimezone(UTC))
    queued = db_session.scalars(
        select(ReconciliationRun).where(
            ReconciliationRun.org_id == shop.org.id, ReconciliationRun.bill_date == day
        )
    ).all()
    assert [(q.channel, q.status) for q in queued] == [("wechat", "queued")]
    assert queued[0].id in due.run_ids


@pytest.mark.parametrize(
    ("channel", "delta", "fragment"),
    [
        ("wechat", 0, "昨天"),
        ("alipay", -3, "昨天"),
        ("wechat", 93, "3 个月"),
    ],
)
def test_dates_that_have_no_bill_are_refused(client, shop, channel, delta, fragment):
    admin = shop.make.headers(shop.make.admin(shop.org))
    day = datetime.now(LOCAL_TZ).date() - timedelta(days=delta)
    r = start(client, admin, channel, day)
    assert r.status_code == 422 and r.json["error"] == "validation_error"
    assert fragment in r.json["errors"]["date"][0]


def test_other_organisations_neither_see_nor_take_my_runs(
    client, app, settings, shop, wxpay, make, db_session
):
    day = yesterday()
    admin = shop.make.headers(shop.make.admin(shop.org))
    other = shop.file(client, subtype_id=shop.full.id)["id"]
    add_payment(
        db_session, shop, other, no="PMINE0000001", fen=1500, status="paid", paid_at=at(day, 9)
    )
    db_session.commit()
    # The default merchant is shared: its bill holds my payment whoever reconciles it.
    wxpay.put_bill(
        day.isoformat(),
        wechat_bill([wx_payment("PMINE0000001", 1500, "4200000000000000000000000009", at(day, 9))]),
    )
    mine = start(client, admin, "wechat", day).json
    stranger_org = make.org()
    stranger = make.headers(make.admin(stranger_org))
    assert client.get(f"{ADMIN}/{mine['id']}", headers=stranger).status_code == 404
    assert client.get(ADMIN, headers=stranger).json["total"] == 0
    theirs = start(client, stranger, "wechat", day)
    assert theirs.status_code == 202 and theirs.json["id"] != mine["id"]
    forget_enqueued(app)
    assert run_job(app, settings, theirs.json["id"]) == "done"
    # My payment is neither reported to them nor counted as theirs.
    found = kinds(client, stranger, theirs.json["id"])
    assert all(d["out_trade_no"] != "PMINE0000001" for items in found.values() for d in items)
    summary = client.get(f"{ADMIN}/{theirs.json['id']}", headers=stranger).json["run"]["summary"]
    assert summary["foreign_rows"] == 1 and summary["matched"]["count"] == 0
    # Mine still matches it.
    assert run_job(app, settings, mine["id"]) == "done"
    mine_summary = client.get(f"{ADMIN}/{mine['id']}", headers=admin).json["run"]["summary"]
    assert mine_summary["matched"]["count"] == 1
    listed = client.get(ADMIN, query_string={"channel": "wechat"}, headers=admin).json
    assert [item["id"] for item in listed["items"]] == [mine["id"]]


def test_only_admins_reconcile(client, shop):
    day = yesterday()
    dispatcher = shop.headers(shop.dispatcher)
    assert start(client, dispatcher, "wechat", day).status_code == 403
    assert client.get(ADMIN, headers=dispatcher).status_code == 403


def test_an_alipay_day_asked_for_before_ten_waits_instead_of_finding_nothing(
    client, app, settings, shop, alipay, db_session
):
    day = yesterday()
    admin = shop.make.headers(shop.make.admin(shop.org))
    r = start(client, admin, "alipay", day)
    forget_enqueued(app)
    # Alipay answers isp.bill_not_exist for a bill it has not made yet: before 10:00 that is
    # not an empty day.
    nine = datetime.combine(day + timedelta(days=1), time(9, 0), tzinfo=LOCAL_TZ)
    db = app.extensions["baoxiu"].db
    assert matching.reconcile(db, settings=settings, run_id=r.json["id"], clock=lambda: nine) == (
        "not_ready"
    )
    run = client.get(f"{ADMIN}/{r.json['id']}", headers=admin).json["run"]
    assert run["status"] == "queued" and run["error"] == MSG_NOT_READY
    # After 10:00 the same answer is an empty day.
    eleven = nine.replace(hour=11)
    assert matching.reconcile(db, settings=settings, run_id=r.json["id"], clock=lambda: eleven) == (
        "done"
    )
    run = client.get(f"{ADMIN}/{r.json['id']}", headers=admin).json["run"]
    assert run["summary"]["empty_bill"] is True
