"""Streaming parser of the Alipay trade bill (业务明细, a zip of GBK CSVs).

Pure: the bill is a zip (`<PID>0156_<yyyymmdd>.csv.zip`) of GBK CSVs whose entry names are GBK
too, without the zip UTF-8 flag; the 业务明细 file (not 业务明细(汇总)) holds one row per trade
or refund. Inside: `#` comment lines, the header after the `业务明细列表` line, data until
`业务明细列表结束`, then the footer totals `#交易合计：N笔，商家实收共X元…` and
`#退款合计：N笔，商家实收退款共-X元…`. Id-like fields end with a TAB. Columns vary between
accounts and years, so they are found by header name.

Rows come out with the same shape as the WeChat parser's: amounts in integer fen (refund rows
made positive), the 服务费 as **milli-fen** (1/1000 fen, to share the WeChat unit) signed as
WeChat signs it — what the provider charged us, positive on payments, negative on refunds
(Alipay writes it the other way round).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, BinaryIO

from server.integrations.wechatpay_bill import (
    MILLI_FEN_PER_FEN,
    PAYMENT,
    REFUND,
    BillFormatError,
    yuan_to_fen,
)
from server.kernel.clock import LOCAL_TZ

ENCODING = "gb18030"  # a superset of GBK: every GBK file reads the same
DETAIL_MARK = "业务明细"
SUMMARY_MARK = "汇总"
LIST_START = "业务明细列表"
LIST_END = "业务明细列表结束"

TRADE_NO = "支付宝交易号"
OUT_TRADE_NO = "商户订单号"
BUSINESS_TYPE = "业务类型"
CREATED_AT = "创建时间"
FINISHED_AT = "完成时间"
ORDER_AMOUNT = ("订单金额（元）", "订单金额(元)")
RECEIVED = ("商家实收（元）", "商家实收(元)")
OUT_REQUEST_NO = "退款批次号/请求号"
SERVICE_FEE = ("服务费（元）", "服务费(元)")

TRADE, REFUND_TYPE = "交易", "退款"
_PAYMENT_FOOTER = re.compile(r"交易合计[：:]\s*(\d+)\s*笔[，,]\s*商家实收共\s*(-?[0-9.]+)\s*元")
_REFUND_FOOTER = re.compile(r"退款合计[：:]\s*(\d+)\s*笔[，,]\s*商家实收退款共\s*(-?[0-9.]+)\s*元")


@dataclass(slots=True)
class AlipayBillRow:
    kind: str  # payment | refund
    out_trade_no: str
    transaction_id: str  # 支付宝交易号 (the same on a trade's refunds)
    out_refund_no: str  # 退款批次号/请求号 = our out_request_no; "" on payments
    refund_id: str  # Alipay has no separate refund id in the bill: always ""
    amount_fen: int  # 订单金额, positive on refunds too
    settled_fen: int  # 商家实收, positive on refunds too
    fee_milli_fen: int  # 服务费, positive on payments, negative on refunds
    trade_state: str  # 交易 | 退款
    refund_status: str  # "SUCCESS" on refund rows (the bill lists finished refunds only)
    time: datetime  # aware; 完成时间
    created_at: datetime | None  # 创建时间 (of the original trade on refund rows)


@dataclass
class AlipayBillSummary:
    payments: int = 0
    payment_total_fen: int = 0  # 商家实收共
    refunds: int = 0
    refund_total_fen: int = 0  # 商家实收退款共, made positive
    has_footer: bool = False


def _clean(value: str) -> str:
    return value.strip().strip("\t").strip()


def _time(text: str) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=LOCAL_TZ)
    except ValueError as exc:
        raise BillFormatError(f"not a bill time: {text!r}") from exc


def _index(columns: dict[str, int], names: str | tuple[str, ...], *, required: bool) -> int:
    for name in (names,) if isinstance(names, str) else names:
        if name in columns:
            return columns[name]
    if required:
        raise BillFormatError(f"Alipay bill has no column {names!r}")
    return -1


def detail_entry(archive: zipfile.ZipFile) -> str:
    """The name of the 业务明细 CSV in the zip (not the 汇总 one)."""
    for name in archive.namelist():
        if DETAIL_MARK in name and SUMMARY_MARK not in name and name.lower().endswith(".csv"):
            return name
    raise BillFormatError("Alipay bill zip has no 业务明细 file")


@contextmanager
def open_detail(source: Path | BinaryIO) -> Iterator[IO[bytes]]:
    """The 业务明细 CSV of a bill zip, as a binary stream read from the zip (not unpacked)."""
    with (
        zipfile.ZipFile(source, metadata_encoding="gbk") as archive,
        archive.open(detail_entry(archive)) as member,
    ):
        yield member


class AlipayBillReader:
    """Iterate `rows()` over the 业务明细 CSV stream; once exhausted, `summary` holds the footer."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._text = io.TextIOWrapper(stream, encoding=ENCODING, newline="")
        self.summary: AlipayBillSummary | None = None

    def rows(self) -> Iterator[AlipayBillRow]:
        lines = iter(self._text)
        header: list[str] | None = None
        for line in lines:
            text = line.strip().lstrip("\ufeff")
            if text.startswith("#") and LIST_START in text and LIST_END not in text:
                header_line = next(lines, "")
                header = [_clean(name) for name in header_line.strip().split(",")]
                break
        summary = AlipayBillSummary()
        if header is None:
            self.summary = summary
            return
        columns = {name: i for i, name in enumerate(header)}
        i_trade = _index(columns, TRADE_NO, required=True)
        i_out = _index(columns, OUT_TRADE_NO, required=True)
        i_type = _index(columns, BUSINESS_TYPE, required=True)
        i_finished = _index(columns, FINISHED_AT, required=True)
        i_created = _index(columns, CREATED_AT, required=False)
        i_amount = _index(columns, ORDER_AMOUNT, required=True)
        i_received = _index(columns, RECEIVED, required=False)
        i_request = _index(columns, OUT_REQUEST_NO, required=False)
        i_fee = _index(columns, SERVICE_FEE, required=False)
        width = max(i_trade, i_out, i_type, i_finished, i_amount, i_received, i_request, i_fee)
        for line in lines:
            text = line.rstrip("\r\n")
            if not text.strip():
                continue
            if text.startswith("#"):
                if LIST_END in text:
                    break
                continue
            values = text.split(",")
            if len(values) <= width:
                raise BillFormatError(f"Alipay bill row with {len(values)} fields")
            business = _clean(values[i_type])
            is_refund = business == REFUND_TYPE
            amount = abs(yuan_to_fen(_clean(values[i_amount])))
            received = abs(yuan_to_fen(_clean(values[i_received]))) if i_received >= 0 else amount
            fee_text = _clean(values[i_fee]) if i_fee >= 0 else ""
            fee_fen = -yuan_to_fen(fee_text) if fee_text else 0
            finished = _time(_clean(values[i_finished]))
            if finished is None:
                raise BillFormatError("Alipay bill row without 完成时间")
            yield AlipayBillRow(
                kind=REFUND if is_refund else PAYMENT,
                out_trade_no=_clean(values[i_out]),
                transaction_id=_clean(values[i_trade]),
                out_refund_no=_clean(values[i_request]) if is_refund and i_request >= 0 else "",
                refund_id="",
                amount_fen=amount,
                settled_fen=received,
                fee_milli_fen=fee_fen * MILLI_FEN_PER_FEN,
                trade_state=business,
                refund_status="SUCCESS" if is_refund else "",
                time=finished,
                created_at=_time(_clean(values[i_created])) if i_created >= 0 else None,
            )
        for line in lines:
            found = _PAYMENT_FOOTER.search(line)
            if found:
                summary.payments = int(found.group(1))
                summary.payment_total_fen = abs(yuan_to_fen(found.group(2)))
                summary.has_footer = True
                continue
            found = _REFUND_FOOTER.search(line)
            if found:
                summary.refunds = int(found.group(1))
                summary.refund_total_fen = abs(yuan_to_fen(found.group(2)))
                summary.has_footer = True
        self.summary = summary
