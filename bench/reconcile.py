"""Reconciliation of a one-million-row WeChat Pay bill: merely parsing it against the whole run.

    python -m bench.reconcile [--rows 1000000] [--refunds 20000] [--keep]

One run:

1. Creates a fresh database `baoxiu_bench_reconcile` (on `DATABASE_URL`'s server if set, else
   the embedded PostgreSQL), migrates it, seeds one organisation and one order, and COPYs the
   ledger of one Beijing day: `--rows - --refunds` paid payments and `--refunds` refunds (of
   those payments), plus a handful of deliberate differences (payments missing from the bill,
   bill rows unknown here, wrong amounts). `ANALYZE`.
2. Writes the matching WeChat ALL bill (back-ticked values, BOM, CRLF, summary rows) as a gzip
   file, streamed, the way the client keeps a download on disk.
3. **Parse**: reads the gzip file through `WeChatBillReader`, every row, nothing else.
4. **Reconcile**: the whole run minus the download — claim the run, stream the same file
   against the database in batches (lookups, the temporary table of numbers seen, the
   anti-joins, the discrepancies, progress commits), one commit.
5. Prints both times, **ratio = parse time ÷ reconcile time** (1.0 would mean matching costs
   nothing on top of reading the file; aim ≥ 0.5), the process's peak memory (max RSS; aim
   < 300 MB) and the discrepancies found (they must be exactly the deliberate ones). Drops the
   database unless `--keep`.
"""

from __future__ import annotations

import argparse
import gzip
import os
import resource
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import select

from bench.grab import OrderMaker, _copy_orders, _with_database, seed
from server import runtime
from server.accounts.tokens import TokenIssuer
from server.config import Settings
from server.db import migrate
from server.db.session import Database
from server.integrations.wechatpay_bill import WeChatBillReader
from server.kernel.clock import LOCAL_TZ
from server.reconciliation import matching
from server.reconciliation.models import ReconciliationRun

BENCH_DB = "baoxiu_bench_reconcile"
HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,"
    "付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,"
    "退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
)
SUMMARY = (
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
)
DIFFERENCES = 50  # of each deliberate kind


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def fee(milli_fen: int) -> str:
    sign = "-" if milli_fen < 0 else ""
    value = abs(milli_fen)
    return f"{sign}{value // 100_000}.{value % 100_000:05d}"


def amount(i: int) -> int:
    return 100 + (i * 37) % 99_900  # 1.00 … 999.99 yuan


def fresh_database(server_url: str) -> str:
    admin = _with_database(server_url, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    url = _with_database(server_url, BENCH_DB)
    migrate.upgrade(url)
    return url


def drop_database(server_url: str) -> None:
    with psycopg.connect(_with_database(server_url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


def seed_ledger(
    database_url: str, settings: Settings, *, payments: int, refunds: int, day: date
) -> int:
    """One organisation and order; the day's payments and refunds by COPY. Returns the org."""
    tokens = TokenIssuer(
        settings.secret_key, settings.jwt_access_minutes, settings.jwt_refresh_days
    )
    world = seed(database_url, tokens, clients=1, techs_per_client=1)
    start = datetime.combine(day, dtime(0, 0), tzinfo=LOCAL_TZ).astimezone(UTC)
    with psycopg.connect(database_url) as conn:
        maker = OrderMaker(world)
        _copy_orders(conn, [maker.row(status="closed", created_at=start - timedelta(days=1))])
        order_id = conn.execute("SELECT max(id) FROM orders").fetchone()[0]  # type: ignore[index]
        org = world.org_id
        # Paid payments, the last DIFFERENCES of which WeChat never saw (missing_at_provider).
        columns = (
            "org_id, order_id, channel, purpose, status, amount_fen, out_trade_no, mchid, appid,"
            " description, payer_openid, prepay_id, provider_txn_id, paid_at, query_count, note,"
            " request_hash, created_at, updated_at"
        )
        with conn.cursor() as cur, cur.copy(f"COPY payments ({columns}) FROM STDIN") as copy:
            for i in range(payments + DIFFERENCES):
                paid_at = start + timedelta(microseconds=i * 80_000)
                copy.write_row(
                    (org, order_id, "wechat", "prepay", "paid", amount(i), f"P{i:019d}",
                     "1900000109", "wx0000000000test01", "维修", "o", "", f"42{i:026d}",
                     paid_at, 0, "", "", paid_at, paid_at)
                )  # fmt: skip
        columns = (
            "org_id, order_id, payment_id, out_refund_no, amount_fen, status, source, reason,"
            " failure, created_at, updated_at, succeeded_at"
        )
        first_payment = conn.execute("SELECT min(id) FROM payments").fetchone()[0]  # type: ignore[index]
        with conn.cursor() as cur, cur.copy(f"COPY refunds ({columns}) FROM STDIN") as copy:
            for i in range(refunds):
                at = start + timedelta(hours=12, microseconds=i * 1_000)
                copy.write_row(
                    (org, order_id, first_payment + i, f"R{i:019d}", amount(i) // 2, "success",
                     "desk", "", "", at, at, at)
                )  # fmt: skip
        conn.execute("ANALYZE payments")
        conn.execute("ANALYZE refunds")
        conn.commit()
    return int(org)


def write_bill(path: Path, *, payments: int, refunds: int, day: date) -> int:
    """The day's ALL bill, gzip: our payments (some amounts wrong), some strangers' payments,
    our refunds. Returns the number of detail rows."""
    start = datetime.combine(day, dtime(0, 0))
    rows = 0
    pay_fen = refund_fen = fee_total = 0
    with gzip.open(path, "wt", encoding="utf-8", newline="", compresslevel=1) as out:
        out.write("\ufeff" + HEADER + "\r\n")
        for i in range(payments + DIFFERENCES):
            if i >= payments:  # bill rows unknown here (missing_here)
                number, fen = f"X{i:019d}", 500
            else:
                number, fen = f"P{i:019d}", amount(i)
                if i < DIFFERENCES:
                    fen += 1  # amount_mismatch
            when = (start + timedelta(microseconds=i * 80_000)).strftime("%Y-%m-%d %H:%M:%S")
            milli = fen * 6
            out.write(
                f"`{when},`wx0000000000test01,`1900000109,`0,`,`42{i:026d},`{number},`o,`JSAPI,"
                f"`SUCCESS,`OTHERS,`CNY,`{yuan(fen)},`0.00,`0,`0,`0.00,`0.00,`,`,`维修,`,"
                f"`{fee(milli)},`0.60%,`{yuan(fen)},`0.00,`\r\n"
            )
            rows += 1
            pay_fen += fen
            fee_total += milli
        for i in range(refunds):
            fen = amount(i) // 2
            when = (start + timedelta(hours=12, microseconds=i * 1_000)).strftime(
                "%Y-%m-%d %H:%M:%S"
            )
            milli = -fen * 6
            out.write(
                f"`{when},`wx0000000000test01,`1900000109,`0,`,`42{i:026d},`P{i:019d},`o,`JSAPI,"
                f"`REFUND,`OTHERS,`CNY,`0.00,`0.00,`503{i:026d},`R{i:019d},`{yuan(fen)},`0.00,"
                f"`ORIGINAL,`SUCCESS,`维修,`,`{fee(milli)},`0.60%,`0.00,`{yuan(fen)},`\r\n"
            )
            rows += 1
            refund_fen += fen
            fee_total += milli
        out.write(SUMMARY + "\r\n")
        out.write(
            f"`{rows},`{yuan(pay_fen)},`{yuan(refund_fen)},`0.00,`{fee(fee_total)},"
            f"`{yuan(pay_fen)},`{yuan(refund_fen)}\r\n"
        )
    return rows


def parse_only(path: Path) -> tuple[float, int]:
    began = time.perf_counter()
    with gzip.open(path, "rb") as stream:
        reader = WeChatBillReader(stream)  # type: ignore[arg-type]
        count = sum(1 for _ in reader.rows())
    return time.perf_counter() - began, count


def reconcile(db: Database, *, org_id: int, day: date, path: Path) -> tuple[float, dict[str, Any]]:
    with db.transaction() as uow:
        run = ReconciliationRun(org_id=org_id, channel="wechat", bill_date=day, status="queued")
        uow.session.add(run)
        uow.session.flush()
        run_id = run.id
    began = time.perf_counter()
    now = datetime.now(UTC)
    with db.transaction() as uow:
        claim = matching.claim_run(uow.session, run_id=run_id, now=now)
        assert claim is not None
    with db.transaction() as uow:
        summary = matching.match_file(
            uow.session,
            claim=claim,
            path=path,
            now=now,
            progress=lambda rows: matching._set_progress(db, run_id, rows),
        )
        run = uow.session.scalars(
            select(ReconciliationRun).where(ReconciliationRun.id == run_id)
        ).one()
        run.status, run.summary, run.rows_seen = "done", summary, summary["bill_rows"]
    return time.perf_counter() - began, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reconcile", description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000, help="bill rows, about")
    parser.add_argument("--refunds", type=int, default=20_000, help="of which refunds")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args(argv)
    payments = args.rows - args.refunds - DIFFERENCES

    base = Settings.from_env()
    server_url = os.environ.get("DATABASE_URL") or runtime.embedded_postgres_url(base.instance_dir)
    redis_url = os.environ.get("REDIS_URL") or runtime.embedded_redis_url(base.instance_dir)
    day = datetime.now(LOCAL_TZ).date() - timedelta(days=1)
    print("preparing a fresh database and the ledger …", flush=True)
    began = time.perf_counter()
    database_url = fresh_database(server_url)
    settings = Settings.from_env(
        {
            **os.environ,
            "BAOXIU_ENV": "dev",
            "SECRET_KEY": "bench-" + "x" * 48,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
        }
    )
    db = Database(database_url, pool_size=2, max_overflow=2)
    try:
        org_id = seed_ledger(
            database_url, settings, payments=payments, refunds=args.refunds, day=day
        )
        print(f"  ledger seeded in {time.perf_counter() - began:.1f} s", flush=True)
        with tempfile.TemporaryDirectory(prefix="bench-reconcile-") as tmp:
            path = Path(tmp) / "tradebill.csv.gz"
            began = time.perf_counter()
            rows = write_bill(path, payments=payments, refunds=args.refunds, day=day)
            print(
                f"  bill written in {time.perf_counter() - began:.1f} s: {rows:,} rows,"
                f" {path.stat().st_size / 1e6:.1f} MB gzip",
                flush=True,
            )
            parse_seconds, parsed = parse_only(path)
            assert parsed == rows, (parsed, rows)
            reconcile_seconds, summary = reconcile(db, org_id=org_id, day=day, path=path)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        expected = {
            "amount_mismatch": DIFFERENCES,
            "missing_here": DIFFERENCES,
            "missing_at_provider": DIFFERENCES,
            "total_mismatch": 1,
        }
        print()
        here = payments + DIFFERENCES
        print(f"rows: {rows:,}   payments here: {here:,}   refunds: {args.refunds:,}")
        print(f"parse only:       {parse_seconds:7.2f} s   {rows / parse_seconds:,.0f} rows/s")
        speed = rows / reconcile_seconds
        print(f"whole reconcile:  {reconcile_seconds:7.2f} s   {speed:,.0f} rows/s")
        print(f"ratio parse / reconcile: {parse_seconds / reconcile_seconds:.2f}   (aim ≥ 0.5)")
        print(f"peak memory (max RSS of this process): {peak_mb:.0f} MB   (aim < 300 MB)")
        print(f"matched: {summary['matched']}")
        print(f"discrepancies: {summary['discrepancies']}")
        if summary["discrepancies"] != expected:
            print(f"UNEXPECTED discrepancies, wanted {expected}", file=sys.stderr)
            return 1
    finally:
        db.dispose()
        if not args.keep:
            drop_database(server_url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
