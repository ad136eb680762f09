"""Trade bill parsers: WeChat (back-ticks, BOM, CRLF, legacy columns, bill types, summary,
5-decimal fees) and Alipay (GBK zip with GBK entry names, `#` lines, TAB ids, footer totals)."""

from __future__ import annotations

import gzip
import io
import zipfile
from datetime import datetime

import pytest

from server.integrations.alipay_bill import AlipayBillReader, detail_entry, open_detail
from server.integrations.wechatpay_bill import (
    BillFormatError,
    WeChatBillReader,
    yuan_to_fen,
    yuan_to_milli_fen,
)
from server.kernel.clock import LOCAL_TZ
from tests.fakes.alipay import bill_zip

ALL_HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,"
    "交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,"
    "充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
)
PAY_ROW = (
    "`2026-03-02 10:11:12,`wx1234567890abcdef,`1900000109,`0,`,`4200001234202603021122334455,"
    "`R20260302101100001,`oAbCdEfGhIjKlMnOpQrStUvWxYz0,`JSAPI,`SUCCESS,`OTHERS,`CNY,`150.00,"
    "`0.00,`0,`0,`0.00,`0.00,`,`,`门锁更换,`ord:1001,`0.90000,`0.60%,`150.00,`0.00,`"
)
REFUND_ROW = (
    "`2026-03-02 16:20:00,`wx1234567890abcdef,`1900000109,`0,`,`4200001234202603021122334455,"
    "`R20260302101100001,`oAbCdEfGhIjKlMnOpQrStUvWxYz0,`JSAPI,`REFUND,`OTHERS,`CNY,`0.00,`0.00,"
    "`50300012342026030212345678901,`F20260302162000001,`50.00,`0.00,`ORIGINAL,`SUCCESS,"
    "`门锁更换,`ord:1001,`-0.30000,`0.60%,`0.00,`50.00,`"
)
SUMMARY = (
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\n"
    "`2,`150.00,`50.00,`0.00,`0.60000,`150.00,`50.00"
)


def wechat_bill(*rows: str, header: str = ALL_HEADER, summary: str = SUMMARY) -> str:
    return "\n".join([header, *rows, summary]) + "\n"


def read_wechat(content: bytes):
    reader = WeChatBillReader(io.BytesIO(content))
    rows = list(reader.rows())
    return rows, reader.summary


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["no-bom", "bom"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_wechat_all_bill_rows_and_summary(bom, newline):
    text = wechat_bill(PAY_ROW, REFUND_ROW).replace("\n", newline)
    rows, summary = read_wechat(bom + text.encode())
    payment, refund = rows
    assert payment.kind == "payment"
    assert payment.out_trade_no == "R20260302101100001"
    assert payment.transaction_id == "4200001234202603021122334455"
    assert (payment.out_refund_no, payment.refund_id) == ("", "")
    assert payment.amount_fen == 15000 and payment.settled_fen == 15000
    assert payment.fee_milli_fen == 90000  # 0.90000 元 = 90 fen
    assert payment.time == datetime(2026, 3, 2, 10, 11, 12, tzinfo=LOCAL_TZ)
    assert (payment.mchid, payment.appid) == ("1900000109", "wx1234567890abcdef")
    assert refund.kind == "refund"
    assert refund.out_refund_no == "F20260302162000001"
    assert refund.refund_id == "50300012342026030212345678901"
    assert refund.amount_fen == 5000 and refund.settled_fen == 5000
    assert refund.fee_milli_fen == -30000
    assert refund.refund_status == "SUCCESS"
    assert summary is not None
    assert (summary.rows, summary.order_total_fen, summary.refund_total_fen) == (2, 15000, 5000)
    assert summary.fee_total_milli_fen == 60000


def test_wechat_legacy_columns_are_found_by_name():
    legacy = (
        "交易时间,公众账号ID,商户号,子商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,"
        "付款银行,货币种类,总金额,企业红包金额,微信退款单号,商户退款单号,退款金额,企业红包退款金额,"
        "退款类型,退款状态,商品名称,商户数据包,手续费,费率"
    )
    row = (
        "`2026-03-02 09:00:01,`wx1,`1900000109,`0,`,`4200000000000000000000000001,`P1,`o1,`JSAPI,"
        "`SUCCESS,`CFT,`CNY,`12.30,`0.00,`0,`0,`0.00,`0.00,`,`,`维修,`,`0.07380,`0.60%"
    )
    refund = (
        "`2026-03-02 09:30:00,`wx1,`1900000109,`0,`,`4200000000000000000000000001,`P1,`o1,`JSAPI,"
        "`REFUND,`CFT,`CNY,`0.00,`0.00,`5030000000001,`RF1,`2.30,`0.00,`ORIGINAL,`PROCESSING,"
        "`维修,`,`-0.01380,`0.60%"
    )
    summary = (
        "总交易单数,总交易额,总退款金额,总企业红包退款金额,手续费总金额\n"
        "`2,`12.30,`2.30,`0.00,`0.06000"
    )
    rows, totals = read_wechat(wechat_bill(row, refund, header=legacy, summary=summary).encode())
    assert [(r.kind, r.amount_fen, r.fee_milli_fen) for r in rows] == [
        ("payment", 1230, 7380),
        ("refund", 230, -1380),
    ]
    assert rows[1].refund_status == "PROCESSING"
    assert totals is not None
    assert (totals.order_total_fen, totals.refund_total_fen) == (1230, 230)


def test_wechat_success_and_refund_bill_types():
    success_header = (
        "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,"
        "付款银行,货币种类,应结订单金额,代金券金额,商品名称,商户数据包,手续费,费率,订单金额,费率备注"
    )
    success_row = (
        "`2026-03-02 10:11:12,`wx1,`1900000109,`0,`,`42001,`P2,`o,`JSAPI,`SUCCESS,`OTHERS,`CNY,"
        "`95.00,`5.00,`换锁,`,`0.57000,`0.60%,`100.00,`"
    )
    rows, summary = read_wechat(
        wechat_bill(
            success_row,
            header=success_header,
            summary="总交易单数,应结订单总金额,手续费总金额,订单总金额\n`1,`95.00,`0.57000,`100.00",
        ).encode()
    )
    assert rows[0].kind == "payment"
    # What we asked for is 订单金额; 应结订单金额 is after a no-recharge coupon.
    assert (rows[0].amount_fen, rows[0].settled_fen) == (10000, 9500)
    assert summary is not None and summary.order_total_fen == 10000

    refund_header = (
        "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,"
        "付款银行,货币种类,应结订单金额,代金券金额,退款申请时间,退款成功时间,微信退款单号,商户退款单号,"
        "退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,"
        "费率备注"
    )
    refund_row = (
        "`2026-02-27 10:11:12,`wx1,`1900000109,`0,`,`42001,`P2,`o,`JSAPI,`REFUND,`OTHERS,`CNY,"
        "`100.00,`0.00,`2026-03-02 08:00:00,`2026-03-02 08:00:05,`5031,`RF2,`40.00,`0.00,"
        "`ORIGINAL,`SUCCESS,`换锁,`,`-0.24000,`0.60%,`100.00,`40.00,`"
    )
    rows, _ = read_wechat(wechat_bill(refund_row, header=refund_header).encode())
    assert rows[0].kind == "refund"
    # A refund of an earlier payment: its time is the refund's, not the payment's.
    assert rows[0].time == datetime(2026, 3, 2, 8, 0, 5, tzinfo=LOCAL_TZ)
    assert rows[0].amount_fen == 4000


def test_wechat_refund_rows_have_zero_order_amounts_and_gzip_streams():
    content = gzip.compress(wechat_bill(PAY_ROW, REFUND_ROW, REFUND_ROW).encode())
    reader = WeChatBillReader(gzip.GzipFile(fileobj=io.BytesIO(content)))  # type: ignore[arg-type]
    kinds = [row.kind for row in reader.rows()]
    assert kinds == ["payment", "refund", "refund"]


def test_wechat_empty_file_and_malformed_amounts():
    rows, summary = read_wechat(b"")
    assert rows == [] and summary is not None and summary.rows == 0
    bad = PAY_ROW.replace("`150.00,`0.00,`0,", "`1.5e2,`0.00,`0,")
    with pytest.raises(BillFormatError):
        read_wechat(wechat_bill(bad).encode())
    with pytest.raises(BillFormatError, match="商户订单号"):
        read_wechat(wechat_bill(header=ALL_HEADER.replace("商户订单号", "X")).encode())


def test_yuan_parsing_is_exact():
    assert yuan_to_fen("0.01") == 1
    assert yuan_to_fen("-0.30") == -30
    assert yuan_to_fen("19.99") == 1999
    assert yuan_to_fen("120") == 12000
    assert yuan_to_fen("120.5") == 12050
    assert yuan_to_milli_fen("0.00001") == 1
    assert yuan_to_milli_fen("-0.30000") == -30000
    assert yuan_to_milli_fen("-0.72") == -72000
    for bad in ("", "1.234", "1,00", "1e2", " 1.00", "abc", "0.000001"):
        with pytest.raises(BillFormatError):
            if bad == "0.000001":
                yuan_to_milli_fen(bad)
            else:
                yuan_to_fen(bad)


ALIPAY_HEADER = (
    "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,"
    "对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,"
    "券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注"
)


def alipay_detail(*rows: str, header: str = ALIPAY_HEADER, footer: bool = True) -> str:
    lines = [
        "#支付宝业务明细查询",
        "#账号：[20880000000000010156]",
        "#起始日期：[2026年03月02日 00:00:00]   终止日期：[2026年03月03日 00:00:00]",
        "#-----------------------------------------业务明细列表----------------------------------------",
        header,
        *rows,
        "#-----------------------------------------业务明细列表结束------------------------------------",
    ]
    if footer:
        lines += [
            "#交易合计：1笔，商家实收共120.00元，商家优惠共0.00元",
            "#退款合计：1笔，商家实收退款共-120.00元，商家优惠退款共0.00元",
        ]
    lines.append("#导出时间：[2026年03月03日 05:46:49]")
    return "\r\n".join(lines) + "\r\n"


ALIPAY_PAY = (
    "2026030222001400001234567890\t,A20260302091500001\t,交易\t,水管维修,2026-03-02 09:15:00,"
    "2026-03-02 09:15:21,\t,\t,\t,\t,*李(139******01)\t,120.00,120.00,0.00,0.00,0.00,0.00,0.00,,"
    "0.00\t,0.00,\t,-0.72,0.00,"
)
ALIPAY_REFUND = (
    "2026030222001400001234567890\t,A20260302091500001\t,退款\t,水管维修,2026-03-02 09:15:00,"
    "2026-03-02 11:02:03,\t,\t,\t,\t,*李(139******01)\t,-120.00,-120.00,0.00,0.00,0.00,0.00,0.00,,"
    "0.00\t,0.00,F20260302110203\t,0.72,0.00,"
)


def read_alipay(zip_bytes: bytes):
    with open_detail(io.BytesIO(zip_bytes)) as stream:
        reader = AlipayBillReader(stream)
        rows = list(reader.rows())
    return rows, reader.summary


def test_alipay_zip_with_gbk_names_rows_and_footer():
    content = bill_zip(alipay_detail(ALIPAY_PAY, ALIPAY_REFUND))
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        # Without the right encoding the names are mojibake: the file really is GBK-named.
        assert not any("业务明细" in name for name in archive.namelist())
    with zipfile.ZipFile(io.BytesIO(content), metadata_encoding="gbk") as archive:
        assert detail_entry(archive).endswith("_业务明细.csv")
    rows, summary = read_alipay(content)
    payment, refund = rows
    assert payment.kind == "payment"
    assert payment.out_trade_no == "A20260302091500001"  # the TAB is gone
    assert payment.transaction_id == "2026030222001400001234567890"
    assert payment.amount_fen == 12000 and payment.out_refund_no == ""
    assert payment.fee_milli_fen == 72_000  # charged to us: positive
    assert payment.time == datetime(2026, 3, 2, 9, 15, 21, tzinfo=LOCAL_TZ)
    assert refund.kind == "refund"
    assert refund.out_refund_no == "F20260302110203"
    assert refund.amount_fen == 12000  # made positive
    assert refund.fee_milli_fen == -72_000
    assert refund.refund_status == "SUCCESS"
    assert refund.created_at == datetime(2026, 3, 2, 9, 15, 0, tzinfo=LOCAL_TZ)
    assert summary is not None and summary.has_footer
    assert (summary.payments, summary.payment_total_fen) == (1, 12000)
    assert (summary.refunds, summary.refund_total_fen) == (1, 12000)


def test_alipay_newer_column_set_is_mapped_by_name():
    header = (
        "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,"
        "对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,"
        "商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,"
        "退款批次号/请求号,服务费（元）,分润（元）,实收净额（元）,商户识别号,交易方式,备注"
    )
    row = (
        "2026030222001400009999999999\t,A2\t,交易\t,换锁,2026-03-02 10:00:00,2026-03-02 10:00:09,"
        "\t,\t,\t,\t,*王(138******02)\t,88.80,88.80,0.00,0.00,0.00,0.00,0.00,,0.00\t,0.00,\t,"
        "-0.53,0.00,88.27,\t,\t,"
    )
    rows, summary = read_alipay(bill_zip(alipay_detail(row, header=header, footer=False)))
    assert [(r.out_trade_no, r.amount_fen, r.fee_milli_fen) for r in rows] == [("A2", 8880, 53000)]
    assert summary is not None and not summary.has_footer


def test_alipay_zip_without_detail_file_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "x")
    with pytest.raises(BillFormatError):
        read_alipay(buffer.getvalue())


def test_a_thousand_row_bill_parses_in_order():
    rows = [
        PAY_ROW.replace("R20260302101100001", f"P{i:017d}").replace("`150.00,", f"`{i}.01,", 1)
        for i in range(1000)
    ]
    parsed, summary = read_wechat(wechat_bill(*rows).encode())
    assert len(parsed) == 1000
    assert parsed[999].out_trade_no == f"P{999:017d}"
    assert parsed[999].settled_fen == 99901
    assert summary is not None
