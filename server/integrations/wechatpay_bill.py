"""Streaming parser of the WeChat Pay trade bill (交易账单, ALL / SUCCESS / REFUND).

Pure: takes a binary stream of the *uncompressed* CSV (wrap a `.gz` in `gzip.open`) and yields
one typed row at a time, so a million-row bill never sits in memory. Columns are found by
header name, because old merchants still get legacy column sets (总金额 / 企业红包金额 instead
of 应结订单金额 / 代金券金额) and the three bill types (ALL / SUCCESS / REFUND) differ.

File shape: header row (no back-ticks) → detail rows → summary header → one summary row. Every
value is prefixed with one back-tick; fields are split on `,` with no quoting. UTF-8, with or
without a BOM, CRLF or LF.

Amounts are integer fen, parsed from the yuan text exactly (never through float). The fee
(手续费) has five decimals of yuan, which is 1/1000 of a fen: it is kept as an integer of
**milli-fen** (`fee_milli_fen`; 0.90000 元 → 90000), positive on payments and negative on
refunds, as WeChat writes it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO

from server.kernel.clock import LOCAL_TZ

PAYMENT = "payment"
REFUND = "refund"
ROW_KINDS = (PAYMENT, REFUND)

MILLI_FEN_PER_FEN = 1000

_YUAN_2 = re.compile(r"-?[0-9]+\.[0-9]{2}")
_YUAN_5 = re.compile(r"-?[0-9]+\.[0-9]{5}")
_YUAN_ANY = re.compile(r"-?[0-9]+(\.[0-9]{1,5})?")

# Column names, with the legacy spelling after the current one.
TIME = "交易时间"
APPID = "公众账号ID"
MCHID = "商户号"
TRANSACTION_ID = "微信订单号"
OUT_TRADE_NO = "商户订单号"
TRADE_STATE = "交易状态"
ORDER_AMOUNT = ("订单金额", "总金额")
SETTLEMENT_AMOUNT = ("应结订单金额", "总金额")
REFUND_ID = "微信退款单号"
OUT_REFUND_NO = "商户退款单号"
REFUND_AMOUNT = ("申请退款金额", "退款金额")
REFUND_SETTLED = ("退款金额",)
REFUND_STATUS = "退款状态"
REFUND_REQUESTED_AT = "退款申请时间"
REFUND_SUCCEEDED_AT = "退款成功时间"
FEE = "手续费"

SUMMARY_FIRST = "总交易单数"
SUMMARY_ORDER_TOTAL = ("订单总金额", "应结订单总金额", "总交易额")
SUMMARY_REFUND_TOTAL = ("申请退款总金额", "退款总金额", "总退款金额")
SUMMARY_FEE = "手续费总金额"

_EMPTY_NUMBERS = ("", "0")


class BillFormatError(ValueError):
    """The file is not a trade bill we can read (missing columns, malformed amounts)."""


@dataclass(slots=True)
class WeChatBillRow:
    kind: str  # payment | refund
    out_trade_no: str
    transaction_id: str
    out_refund_no: str  # "" on payment rows
    refund_id: str  # "" on payment rows
    amount_fen: int  # payment: 订单金额; refund: 申请退款金额 (what we asked for)
    settled_fen: int  # payment: 应结订单金额; refund: 退款金额 (settlement refund)
    fee_milli_fen: int  # 手续费 in 1/1000 fen; negative on refunds
    trade_state: str  # SUCCESS | REFUND | REVOKED
    refund_status: str  # refund rows: SUCCESS | PROCESSING | … (a snapshot at bill time)
    time: datetime  # aware; payment success time, refund request (or success) time
    mchid: str
    appid: str


@dataclass
class WeChatBillSummary:
    rows: int = 0  # 总交易单数: payment and refund rows together
    order_total_fen: int = 0
    refund_total_fen: int = 0
    fee_total_milli_fen: int = 0
    raw: dict[str, str] = field(default_factory=dict)


def yuan_to_fen(text: str) -> int:
    """`"150.00"` → 15000 exactly; `"-0.30"` → -30; `"5"` → 500. At most two decimals."""
    if _YUAN_2.fullmatch(text):
        return _int_without_point(text)  # the usual shape, fast
    return _scaled(text, 2)


def yuan_to_milli_fen(text: str) -> int:
    """`"0.90000"` (five decimals of yuan) → 90000 milli-fen, exactly."""
    if _YUAN_5.fullmatch(text):
        return _int_without_point(text)
    return _scaled(text, 5)


def _scaled(text: str, decimals: int) -> int:
    match = _YUAN_ANY.fullmatch(text)
    if match is None or len(match.group(1) or ".") - 1 > decimals:
        raise BillFormatError(f"not an amount with at most {decimals} decimals: {text!r}")
    negative = text.startswith("-")
    whole, _, frac = text.lstrip("-").partition(".")
    value: int = int(whole) * 10**decimals + int(frac.ljust(decimals, "0"))
    return -value if negative else value


def _int_without_point(text: str) -> int:
    # "-0.30" → int("-030") = -30; "150.00" → 15000.
    return int(text.replace(".", "", 1))


def _time(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text).replace(tzinfo=LOCAL_TZ)
    except ValueError as exc:
        raise BillFormatError(f"not a bill time: {text!r}") from exc


def _value(raw: str) -> str:
    return raw[1:] if raw.startswith("`") else raw


def _index(columns: dict[str, int], names: str | tuple[str, ...], *, required: bool) -> int:
    for name in (names,) if isinstance(names, str) else names:
        if name in columns:
            return columns[name]
    if required:
        raise BillFormatError(f"trade bill has no column {names!r}")
    return -1


class WeChatBillReader:
    """Iterate `rows()`; once exhausted, `summary` holds the bill's own totals."""

    def __init__(self, stream: BinaryIO) -> None:
        self._text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
        self.summary: WeChatBillSummary | None = None
        self.header: list[str] = []

    def rows(self) -> Iterator[WeChatBillRow]:
        lines = iter(self._text)
        header_line = next(lines, "")
        header = header_line.rstrip("\r\n").lstrip("\ufeff").split(",")
        self.header = header
        if not header_line.strip():
            self.summary = WeChatBillSummary()
            return
        columns = {name.strip(): i for i, name in enumerate(header)}
        i_time = _index(columns, TIME, required=True)
        i_txn = _index(columns, TRANSACTION_ID, required=True)
        i_out = _index(columns, OUT_TRADE_NO, required=True)
        i_state = _index(columns, TRADE_STATE, required=True)
        i_amount = _index(columns, ORDER_AMOUNT, required=True)
        i_settled = _index(columns, SETTLEMENT_AMOUNT, required=True)
        i_fee = _index(columns, FEE, required=False)
        i_mchid = _index(columns, MCHID, required=False)
        i_appid = _index(columns, APPID, required=False)
        i_refund_id = _index(columns, REFUND_ID, required=False)
        i_out_refund = _index(columns, OUT_REFUND_NO, required=False)
        i_refund = _index(columns, REFUND_AMOUNT, required=False)
        i_refund_settled = _index(columns, REFUND_SETTLED, required=False)
        i_refund_status = _index(columns, REFUND_STATUS, required=False)
        i_requested = _index(columns, REFUND_REQUESTED_AT, required=False)
        i_succeeded = _index(columns, REFUND_SUCCEEDED_AT, required=False)
        width = len(header)
        summary_header: list[str] | None = None
        for line in lines:
            stripped = line.rstrip("\r\n")
            if not stripped:
                continue
            if stripped.startswith(SUMMARY_FIRST):
                summary_header = stripped.split(",")
                break
            # Every value starts with one back-tick and none holds a comma (there is no
            # quoting): dropping "`" after each separator is the same as stripping each value.
            if stripped[:1] == "`":
                stripped = stripped[1:]
            v = stripped.replace(",`", ",").split(",")
            if len(v) < width:
                raise BillFormatError(f"row with {len(v)} fields, header has {width}")
            out_refund_no = v[i_out_refund] if i_out_refund >= 0 else ""
            state = v[i_state]
            is_refund = state == "REFUND" or out_refund_no not in _EMPTY_NUMBERS
            when = v[i_time]
            if is_refund:
                if i_succeeded >= 0 and v[i_succeeded]:
                    when = v[i_succeeded]
                elif i_requested >= 0 and v[i_requested]:
                    when = v[i_requested]
                refund_text = v[i_refund] if i_refund >= 0 else "0.00"
                settled_text = v[i_refund_settled] if i_refund_settled >= 0 else refund_text
                yield WeChatBillRow(
                    kind=REFUND,
                    out_trade_no=v[i_out],
                    transaction_id=v[i_txn],
                    out_refund_no=out_refund_no,
                    refund_id=v[i_refund_id] if i_refund_id >= 0 else "",
                    amount_fen=yuan_to_fen(refund_text),
                    settled_fen=yuan_to_fen(settled_text),
                    fee_milli_fen=yuan_to_milli_fen(v[i_fee]) if i_fee >= 0 else 0,
                    trade_state=state,
                    refund_status=v[i_refund_status] if i_refund_status >= 0 else "",
                    time=_time(when),
                    mchid=v[i_mchid] if i_mchid >= 0 else "",
                    appid=v[i_appid] if i_appid >= 0 else "",
                )
            else:
                yield WeChatBillRow(
                    kind=PAYMENT,
                    out_trade_no=v[i_out],
                    transaction_id=v[i_txn],
                    out_refund_no="",
                    refund_id="",
                    amount_fen=yuan_to_fen(v[i_amount]),
                    settled_fen=yuan_to_fen(v[i_settled]),
                    fee_milli_fen=yuan_to_milli_fen(v[i_fee]) if i_fee >= 0 else 0,
                    trade_state=state,
                    refund_status="",
                    time=_time(when),
                    mchid=v[i_mchid] if i_mchid >= 0 else "",
                    appid=v[i_appid] if i_appid >= 0 else "",
                )
        self.summary = self._summary(summary_header, lines)

    @staticmethod
    def _summary(header: list[str] | None, lines: Iterator[str]) -> WeChatBillSummary:
        if header is None:
            raise BillFormatError("trade bill has no summary row")
        values_line = next((line for line in lines if line.strip()), "")
        values = [_value(item) for item in values_line.rstrip("\r\n").split(",")]
        raw = {name.strip(): value for name, value in zip(header, values, strict=False)}

        def pick(names: tuple[str, ...]) -> str:
            return next((raw[name] for name in names if raw.get(name)), "0.00")

        try:
            rows = int(raw.get(SUMMARY_FIRST) or "0")
        except ValueError as exc:
            raise BillFormatError("trade bill summary count is not a number") from exc
        return WeChatBillSummary(
            rows=rows,
            order_total_fen=yuan_to_fen(pick(SUMMARY_ORDER_TOTAL)),
            refund_total_fen=yuan_to_fen(pick(SUMMARY_REFUND_TOTAL)),
            fee_total_milli_fen=yuan_to_milli_fen(raw.get(SUMMARY_FEE) or "0.00000"),
            raw=raw,
        )
