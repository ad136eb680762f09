"""The Alipay alipay and notification verification against a loopback fake_alipay gateway.

Real RSA2 both ways: the fake_alipay checks our request signatures with the app public key and signs
its answers and notifications with its own (Alipay) private key; keys are generated per run.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode

import pytest

from server.config import Settings
from server.integrations.alipay import (
    AlipayClient,
    AlipayError,
    AlipayTradeNotExist,
    AlipayTradeStatusError,
    AlipayUnavailable,
    NotificationRejected,
    SignatureInvalid,
    response_texts,
    rsa2_verify,
    sign_content,
    verify_notification,
    yuan_to_fen,
)
from server.kernel.errors import UpstreamError, UpstreamUnavailable
from tests.fakes.alipay import AlipayTestKeys, FakeAlipay, alipay_json, private_pem, public_base64
from tests.fakes.server import serve

APP_ID = "2021000000000001"
NOTIFY_URL = "https://api.example.com/payments/alipay/notify"
BUYER = "2088102177846880"


@pytest.fixture(scope="module")
def alipay_keys() -> AlipayTestKeys:
    return AlipayTestKeys.generate()


@pytest.fixture(scope="module")
def stranger_keys() -> AlipayTestKeys:
    """Keys that are neither ours nor Alipay's."""
    return AlipayTestKeys.generate()


@pytest.fixture(scope="module")
def alipay_server(alipay_keys: AlipayTestKeys) -> Iterator[tuple[FakeAlipay, str]]:
    fake_alipay = FakeAlipay(app_id=APP_ID, keys=alipay_keys)
    with serve(fake_alipay.app()) as base_url:
        yield fake_alipay, base_url + "/gateway.do"


@pytest.fixture
def fake_alipay(alipay_server: tuple[FakeAlipay, str]) -> FakeAlipay:
    alipay_server[0].reset()
    return alipay_server[0]


def make_client(
    keys: AlipayTestKeys,
    gateway: str,
    *,
    app_id: str = APP_ID,
    alipay_keys: AlipayTestKeys | None = None,
) -> AlipayClient:
    return AlipayClient(
        app_id=app_id,
        app_private_key=keys.app_private_key,
        alipay_public_key=(alipay_keys or keys).alipay_public_key,
        gateway=gateway,
        notify_url=NOTIFY_URL,
        timeout=(2.0, 5.0),
    )


@pytest.fixture
def alipay(
    alipay_keys: AlipayTestKeys, alipay_server: tuple[FakeAlipay, str], fake_alipay: FakeAlipay
) -> AlipayClient:
    return make_client(alipay_keys, alipay_server[1])


def open_trade(
    alipay: AlipayClient,
    fake_alipay: FakeAlipay,
    out_trade_no: str,
    total_fen: int,
    subject: str = "水管维修",
) -> str:
    """The buyer opens our signed app-pay order string in Alipay: the trade exists there."""
    order = alipay.app_pay_order_string(
        out_trade_no=out_trade_no, total_fen=total_fen, subject=subject
    )
    return fake_alipay.open_order_string(order, buyer_id=BUYER).trade_no


def paid_trade(
    alipay: AlipayClient, fake_alipay: FakeAlipay, out_trade_no: str, total_fen: int
) -> str:
    trade_no = open_trade(alipay, fake_alipay, out_trade_no, total_fen)
    fake_alipay.pay(out_trade_no)
    return trade_no


# --- request signing --------------------------------------------------------------------------


def test_requests_carry_the_common_parameters_and_a_signature_the_gateway_accepts(
    alipay: AlipayClient, fake_alipay: FakeAlipay, alipay_keys: AlipayTestKeys
) -> None:
    paid_trade(alipay, fake_alipay, "A202611300001", 12030)
    before = datetime.now(UTC)
    alipay.refund(
        out_trade_no="A202611300001",
        out_request_no="R202611300001",
        refund_fen=1230,
        reason="水管维修 / 更换阀门",
    )
    assert fake_alipay.calls["alipay.trade.refund"] == 1

    sent = fake_alipay.received[-1]
    assert {
        k: sent[k] for k in ("app_id", "method", "format", "charset", "sign_type", "version")
    } == {
        "app_id": APP_ID,
        "method": "alipay.trade.refund",
        "format": "JSON",
        "charset": "utf-8",
        "sign_type": "RSA2",
        "version": "1.0",
    }
    assert "notify_url" not in sent  # only the order string names it
    # The timestamp is Beijing time, "YYYY-MM-DD HH:MM:SS".
    stamp = datetime.strptime(sent["timestamp"], "%Y-%m-%d %H:%M:%S")
    local_now = (before + timedelta(hours=8)).replace(tzinfo=None)
    assert abs(stamp - local_now) < timedelta(minutes=1)
    assert json.loads(sent["biz_content"]) == {
        "out_trade_no": "A202611300001",
        "out_request_no": "R202611300001",
        "refund_amount": "12.30",
        "refund_reason": "水管维修 / 更换阀门",
    }
    # The signature covers every parameter but `sign`, sorted, with the app private key.
    assert rsa2_verify(sign_content(sent), sent["sign"], alipay_keys.app_public_key)
    unsigned_sign_type = {k: v for k, v in sent.items() if k != "sign_type"}
    assert not rsa2_verify(
        sign_content(unsigned_sign_type), sent["sign"], alipay_keys.app_public_key
    )


def test_a_request_signed_with_another_key_is_refused_by_the_gateway(
    fake_alipay: FakeAlipay,
    alipay_server: tuple[FakeAlipay, str],
    alipay_keys: AlipayTestKeys,
    stranger_keys: AlipayTestKeys,
) -> None:
    wrong = make_client(stranger_keys, alipay_server[1], alipay_keys=alipay_keys)
    with pytest.raises(AlipayError) as caught:
        wrong.query_trade(out_trade_no="A1")
    assert caught.value.code == "40002"
    assert caught.value.sub_code == "isv.invalid-signature"
    assert caught.value.retryable is False


def test_an_unknown_app_id_is_refused(
    fake_alipay: FakeAlipay, alipay_server: tuple[FakeAlipay, str], alipay_keys: AlipayTestKeys
) -> None:
    other = make_client(alipay_keys, alipay_server[1], app_id="2021000000009999")
    with pytest.raises(AlipayError) as caught:
        other.query_trade(out_trade_no="A1")
    assert caught.value.sub_code == "isv.invalid-app-id"


def test_app_pay_order_string_is_signed_and_opens_the_trade(
    alipay: AlipayClient, fake_alipay: FakeAlipay, alipay_keys: AlipayTestKeys
) -> None:
    order = alipay.app_pay_order_string(
        out_trade_no="A-app-1", total_fen=9900, subject="疏通/下水道"
    )
    params = dict(parse_qsl(order, strict_parsing=True))
    assert params["method"] == "alipay.trade.app.pay"
    assert params["notify_url"] == NOTIFY_URL
    assert json.loads(params["biz_content"])["product_code"] == "QUICK_MSECURITY_PAY"
    assert rsa2_verify(sign_content(params), params["sign"], alipay_keys.app_public_key)
    assert fake_alipay.calls.total() == 0  # no network call: the app hands the string to Alipay

    trade = fake_alipay.open_order_string(order)
    assert (trade.total_amount, trade.subject) == ("99.00", "疏通/下水道")
    assert alipay.query_trade(out_trade_no="A-app-1").trade_status == "WAIT_BUYER_PAY"

    tampered = order.replace("99.00", "0.01")
    assert tampered != order
    with pytest.raises(ValueError, match="invalid-signature"):
        fake_alipay.open_order_string(tampered)


# --- round trips ------------------------------------------------------------------------------


def test_open_query_close_round_trip(alipay: AlipayClient, fake_alipay: FakeAlipay) -> None:
    trade_no = open_trade(alipay, fake_alipay, "A-rt-1", 5000, subject="开锁")

    queried = alipay.query_trade(out_trade_no="A-rt-1")
    assert (queried.trade_no, queried.trade_status, queried.total_fen) == (
        trade_no,
        "WAIT_BUYER_PAY",
        5000,
    )
    assert not queried.paid

    alipay.close_trade(out_trade_no="A-rt-1")
    assert alipay.query_trade(out_trade_no="A-rt-1").trade_status == "TRADE_CLOSED"
    with pytest.raises(AlipayTradeStatusError):
        alipay.close_trade(out_trade_no="A-rt-1")
    with pytest.raises(AlipayTradeNotExist):
        alipay.close_trade(out_trade_no="A-rt-never-opened")


def test_the_client_no_longer_offers_trade_create() -> None:
    """alipay.trade.create needs an Alipay buyer id nothing here has (docs/payments.md)."""
    assert not hasattr(AlipayClient, "create_trade")


def test_paid_trade_query_and_refunds_round_trip(
    alipay: AlipayClient, fake_alipay: FakeAlipay
) -> None:
    trade_no = paid_trade(alipay, fake_alipay, "A-rf-1", 12000)
    queried = alipay.query_trade(out_trade_no="A-rf-1")
    assert queried.paid and queried.trade_no == trade_no and queried.buyer_id == BUYER

    with pytest.raises(AlipayTradeStatusError):
        alipay.close_trade(out_trade_no="A-rf-1")

    first = alipay.refund(
        out_trade_no="A-rf-1", out_request_no="R1", refund_fen=3050, reason="部分退款"
    )
    assert (first.trade_no, first.refund_fee_fen, first.fund_change) == (trade_no, 3050, True)
    # A retry with the same out_request_no does not move money again.
    again = alipay.refund(out_trade_no="A-rf-1", out_request_no="R1", refund_fen=3050)
    assert (again.refund_fee_fen, again.fund_change) == (3050, False)

    status = alipay.query_refund(out_trade_no="A-rf-1", out_request_no="R1")
    assert (status.succeeded, status.refund_fen) == (True, 3050)
    unknown = alipay.query_refund(out_trade_no="A-rf-1", out_request_no="R-never")
    assert (unknown.succeeded, unknown.refund_fen) == (False, None)

    with pytest.raises(AlipayError) as caught:
        alipay.refund(out_trade_no="A-rf-1", out_request_no="R2", refund_fen=9000)
    assert caught.value.sub_code == "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"

    rest = alipay.refund(out_trade_no="A-rf-1", out_request_no="R3", refund_fen=8950)
    assert rest.refund_fee_fen == 12000
    assert alipay.query_trade(out_trade_no="A-rf-1").trade_status == "TRADE_CLOSED"


def test_unknown_trade_is_a_clear_error(alipay: AlipayClient, fake_alipay: FakeAlipay) -> None:
    with pytest.raises(AlipayTradeNotExist) as caught:
        alipay.query_trade(out_trade_no="A-nope")
    assert (caught.value.code, caught.value.sub_code) == ("40004", "ACQ.TRADE_NOT_EXIST")
    with pytest.raises(AlipayTradeNotExist):
        alipay.close_trade(out_trade_no="A-nope")
    with pytest.raises(AlipayTradeNotExist):
        alipay.refund(out_trade_no="A-nope", out_request_no="R1", refund_fen=100)


# --- response verification -------------------------------------------------------------------


def query_answer(trade_no: str = "2026113022001400001234567890", **extra: str) -> dict[str, str]:
    return {
        "code": "10000",
        "msg": "Success",
        "trade_no": trade_no,
        "out_trade_no": "A-v-1",
        "trade_status": "TRADE_SUCCESS",
        "total_amount": "120.00",
        **extra,
    }


def test_a_tampered_response_is_refused(alipay: AlipayClient, fake_alipay: FakeAlipay) -> None:
    body = fake_alipay.signed_body("alipay.trade.query", query_answer())
    tampered = body.replace('"total_amount":"120.00"', '"total_amount":"0.01"')
    assert tampered != body
    fake_alipay.answer_next("alipay.trade.query", tampered)
    with pytest.raises(SignatureInvalid):
        alipay.query_trade(out_trade_no="A-v-1")

    # The same body untouched is believed.
    fake_alipay.answer_next("alipay.trade.query", body)
    assert alipay.query_trade(out_trade_no="A-v-1").total_fen == 12000


def test_a_response_signed_with_another_key_is_refused(
    alipay: AlipayClient, fake_alipay: FakeAlipay, stranger_keys: AlipayTestKeys
) -> None:
    impostor = FakeAlipay(app_id=APP_ID, keys=stranger_keys)
    fake_alipay.answer_next(
        "alipay.trade.query", impostor.signed_body("alipay.trade.query", query_answer())
    )
    with pytest.raises(SignatureInvalid):
        alipay.query_trade(out_trade_no="A-v-1")


def test_an_unsigned_success_is_refused(alipay: AlipayClient, fake_alipay: FakeAlipay) -> None:
    fake_alipay.answer_next(
        "alipay.trade.query", '{"alipay_trade_query_response":' + alipay_json(query_answer()) + "}"
    )
    with pytest.raises(SignatureInvalid):
        alipay.query_trade(out_trade_no="A-v-1")


def test_the_signature_is_checked_on_the_raw_response_text(
    alipay: AlipayClient, fake_alipay: FakeAlipay, alipay_keys: AlipayTestKeys
) -> None:
    """Alipay writes "\\/" and raw Chinese; re-serialising would change the signed text."""
    paid_trade(alipay, fake_alipay, "A-raw-1", 8800)
    fake_alipay.trades["A-raw-1"].subject = '下水道疏通/更换 "加急"'

    queried = alipay.query_trade(out_trade_no="A-raw-1")
    assert queried.raw["subject"] == '下水道疏通/更换 "加急"'

    # What the gateway sent really differs from any re-serialisation, so the check above
    # would fail if the alipay verified json.dumps(json.loads(...)) instead of the raw text.
    raw = fake_alipay.signed_body("alipay.trade.query", queried.raw)
    inner_raw = response_texts(raw)["alipay_trade_query_response"]
    assert "\\/" in inner_raw and "下水道" in inner_raw
    sign = json.loads(raw)["sign"]
    assert rsa2_verify(inner_raw, sign, alipay_keys.alipay_public_key)
    for dumped in (
        json.dumps(queried.raw),
        json.dumps(queried.raw, ensure_ascii=False),
        json.dumps(queried.raw, ensure_ascii=False, separators=(",", ":")),
    ):
        assert not rsa2_verify(dumped, sign, alipay_keys.alipay_public_key)

    # Whitespace and key order inside the value are Alipay's too.
    spaced = (
        '{\n  "trade_status" : "TRADE_SUCCESS", "code":"10000", "msg":"Success",\n'
        '  "out_trade_no":"A-raw-1", "trade_no":"T1", "total_amount":"88.00" }'
    )
    fake_alipay.answer_next(
        "alipay.trade.query", fake_alipay.signed_body("alipay.trade.query", {}, inner_text=spaced)
    )
    assert alipay.query_trade(out_trade_no="A-raw-1").total_fen == 8800


def test_response_texts_cuts_values_verbatim() -> None:
    raw = '{"a_response" : {"x":"\\/\\u4e2d","y":[1, 2]} ,"sign":"c2ln"}'
    assert response_texts(raw) == {"a_response": '{"x":"\\/\\u4e2d","y":[1, 2]}', "sign": '"c2ln"'}
    for bad in ('{"a":1', "[1]", '{"a":1,"a":2}', '{"a":1} x'):
        with pytest.raises(ValueError):
            response_texts(bad)


# --- error mapping and failures ---------------------------------------------------------------


def test_service_unavailable_is_retryable(alipay: AlipayClient, fake_alipay: FakeAlipay) -> None:
    fake_alipay.fail_next("alipay.trade.query", "20000", "isp.unknow-error", "服务暂不可用")
    with pytest.raises(AlipayUnavailable) as caught:
        alipay.query_trade(out_trade_no="A-e-1")
    assert caught.value.retryable and caught.value.code == "20000"
    assert isinstance(caught.value, UpstreamUnavailable)


def test_system_error_sub_code_is_retryable(alipay: AlipayClient, fake_alipay: FakeAlipay) -> None:
    fake_alipay.fail_next("alipay.trade.refund", "40004", "ACQ.SYSTEM_ERROR", "系统错误")
    with pytest.raises(AlipayUnavailable) as caught:
        alipay.refund(out_trade_no="A-e-1", out_request_no="R1", refund_fen=100)
    assert caught.value.sub_code == "ACQ.SYSTEM_ERROR"


def test_other_business_failures_keep_their_sub_code(
    alipay: AlipayClient, fake_alipay: FakeAlipay
) -> None:
    fake_alipay.fail_next(
        "alipay.trade.refund", "40004", "ACQ.BUYER_BALANCE_NOT_ENOUGH", "余额不足"
    )
    with pytest.raises(AlipayError) as caught:
        alipay.refund(out_trade_no="A-e-2", out_request_no="R1", refund_fen=100)
    assert type(caught.value) is AlipayError
    assert (caught.value.code, caught.value.sub_code, caught.value.retryable) == (
        "40004",
        "ACQ.BUYER_BALANCE_NOT_ENOUGH",
        False,
    )
    assert "ACQ.BUYER_BALANCE_NOT_ENOUGH" in caught.value.message


def test_an_unreachable_gateway_is_a_retryable_error(alipay_keys: AlipayTestKeys) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    alipay = make_client(alipay_keys, f"http://127.0.0.1:{port}/gateway.do")
    with pytest.raises(AlipayUnavailable) as caught:
        alipay.query_trade(out_trade_no="A1")
    assert caught.value.retryable and caught.value.status == 503


def test_a_slow_gateway_times_out_as_a_retryable_error(
    fake_alipay: FakeAlipay, alipay_server: tuple[FakeAlipay, str], alipay_keys: AlipayTestKeys
) -> None:
    alipay = make_client(alipay_keys, alipay_server[1])
    alipay.timeout = (1.0, 0.3)
    fake_alipay.delay_next("alipay.trade.refund", 1.0)
    with pytest.raises(AlipayUnavailable):
        alipay.refund(out_trade_no="A-slow", out_request_no="R1", refund_fen=100)
    assert fake_alipay.calls["alipay.trade.refund"] == 1


def test_a_gateway_http_error_is_retryable(alipay: AlipayClient, fake_alipay: FakeAlipay) -> None:
    fake_alipay.answer_next("alipay.trade.query", "<html>502 Bad Gateway</html>", status=502)
    with pytest.raises(AlipayUnavailable):
        alipay.query_trade(out_trade_no="A1")
    fake_alipay.answer_next("alipay.trade.query", "<html>oops</html>")
    with pytest.raises(UpstreamError) as caught:
        alipay.query_trade(out_trade_no="A1")
    assert not isinstance(caught.value, (AlipayUnavailable, SignatureInvalid))


def test_amounts_must_be_positive_fen(alipay: AlipayClient, fake_alipay: FakeAlipay) -> None:
    for bad in (0, -1):
        with pytest.raises(ValueError):
            alipay.refund(out_trade_no="A", out_request_no="R", refund_fen=bad)
    assert fake_alipay.calls.total() == 0


def test_client_from_settings_reads_the_key_files(
    tmp_path,
    alipay_keys: AlipayTestKeys,
    alipay_server: tuple[FakeAlipay, str],
    fake_alipay: FakeAlipay,
) -> None:
    private_path = tmp_path / "app_private_key.pem"
    private_path.write_text(private_pem(alipay_keys.app_private_key))
    public_path = tmp_path / "alipay_public_key.txt"
    public_path.write_text(public_base64(alipay_keys.alipay_public_key))  # bare base64, as shown
    settings = Settings(
        alipay_appid=APP_ID,
        alipay_private_key_path=str(private_path),
        alipay_public_key_path=str(public_path),
        alipay_gateway=alipay_server[1],
    )
    alipay = AlipayClient.from_settings(settings, notify_url=NOTIFY_URL)
    trade_no = open_trade(alipay, fake_alipay, "A-s-1", 100)
    assert alipay.query_trade(out_trade_no="A-s-1").trade_no == trade_no


# --- amounts ----------------------------------------------------------------------------------


def test_yuan_text_converts_to_fen_exactly() -> None:
    assert [yuan_to_fen(t) for t in ("0.01", "120.00", "12.3", "7", "1234567.89", "0.29")] == [
        1,
        12000,
        1230,
        700,
        123456789,
        29,
    ]
    for bad in ("1.005", "1e2", "", " 1.00", "01.00", "1,00", "NaN", "1."):
        with pytest.raises(ValueError):
            yuan_to_fen(bad)


# --- notifications ----------------------------------------------------------------------------


def test_a_valid_payment_notification_is_parsed_with_the_amount_in_fen(
    alipay: AlipayClient, fake_alipay: FakeAlipay, alipay_keys: AlipayTestKeys
) -> None:
    trade_no = paid_trade(alipay, fake_alipay, "A-n-1", 12030)
    body = fake_alipay.payment_notification("A-n-1")
    assert b"passback_params=&" in body or body.endswith(b"passback_params=")  # empty value kept

    note = verify_notification(
        body,
        app_id=APP_ID,
        alipay_public_key=alipay_keys.alipay_public_key,
        content_type="application/x-www-form-urlencoded; charset=utf-8",
    )
    assert (note.trade_status, note.out_trade_no, note.trade_no) == (
        "TRADE_SUCCESS",
        "A-n-1",
        trade_no,
    )
    assert note.total_fen == 12030 and note.paid
    assert note.seller_id == fake_alipay.seller_id and note.buyer_id == BUYER
    assert note.refund_fee_fen is None and note.out_biz_no is None
    assert note.params["subject"] == "水管维修"
    assert "sign" not in note.params and "sign_type" not in note.params


def test_a_gbk_notification_is_decoded_with_its_charset(
    alipay: AlipayClient, fake_alipay: FakeAlipay, alipay_keys: AlipayTestKeys
) -> None:
    paid_trade(alipay, fake_alipay, "A-n-gbk", 500)
    body = fake_alipay.payment_notification("A-n-gbk", charset="gbk")
    assert "水管维修".encode("gbk") not in body  # percent-encoded GBK bytes
    note = verify_notification(body, app_id=APP_ID, alipay_public_key=alipay_keys.alipay_public_key)
    assert note.params["subject"] == "水管维修" and note.total_fen == 500


def test_a_refund_notification_carries_the_refunded_total(
    alipay: AlipayClient, fake_alipay: FakeAlipay, alipay_keys: AlipayTestKeys
) -> None:
    paid_trade(alipay, fake_alipay, "A-n-2", 10000)
    alipay.refund(out_trade_no="A-n-2", out_request_no="R-n-2", refund_fen=2500)
    note = verify_notification(
        fake_alipay.refund_notification("A-n-2", "R-n-2"),
        app_id=APP_ID,
        alipay_public_key=alipay_keys.alipay_public_key,
    )
    assert (note.trade_status, note.refund_fee_fen, note.out_biz_no) == (
        "TRADE_SUCCESS",
        2500,
        "R-n-2",
    )
    assert note.total_fen == 10000


def _replace_field(body: bytes, key: str, value: str) -> bytes:
    pairs = parse_qsl(body.decode(), keep_blank_values=True)
    return urlencode([(k, value if k == key else v) for k, v in pairs]).encode()


def test_a_tampered_notification_is_refused(
    alipay: AlipayClient, fake_alipay: FakeAlipay, alipay_keys: AlipayTestKeys
) -> None:
    paid_trade(alipay, fake_alipay, "A-n-3", 12000)
    body = fake_alipay.payment_notification("A-n-3")
    for key, value in (
        ("total_amount", "0.01"),
        ("trade_status", "TRADE_FINISHED"),
        ("passback_params", "x"),
    ):
        with pytest.raises(SignatureInvalid):
            verify_notification(
                _replace_field(body, key, value),
                app_id=APP_ID,
                alipay_public_key=alipay_keys.alipay_public_key,
            )
    # A forged extra parameter is covered by the signature too.
    with pytest.raises(SignatureInvalid):
        verify_notification(
            body + b"&refund_fee=1.00",
            app_id=APP_ID,
            alipay_public_key=alipay_keys.alipay_public_key,
        )
    for stripped in ("sign", "sign_type"):
        pairs = [
            (k, v) for k, v in parse_qsl(body.decode(), keep_blank_values=True) if k != stripped
        ]
        with pytest.raises(SignatureInvalid):
            verify_notification(
                urlencode(pairs).encode(),
                app_id=APP_ID,
                alipay_public_key=alipay_keys.alipay_public_key,
            )
    # Untampered, the same body passes.
    assert (
        verify_notification(
            body, app_id=APP_ID, alipay_public_key=alipay_keys.alipay_public_key
        ).total_fen
        == 12000
    )


def test_a_notification_for_another_app_is_refused(
    alipay: AlipayClient, fake_alipay: FakeAlipay, alipay_keys: AlipayTestKeys
) -> None:
    paid_trade(alipay, fake_alipay, "A-n-4", 100)
    body = fake_alipay.payment_notification("A-n-4", app_id="2021000000009999")
    with pytest.raises(NotificationRejected):
        verify_notification(body, app_id=APP_ID, alipay_public_key=alipay_keys.alipay_public_key)
    assert (
        verify_notification(
            body, app_id="2021000000009999", alipay_public_key=alipay_keys.alipay_public_key
        ).app_id
        == "2021000000009999"
    )


def test_a_notification_with_a_repeated_parameter_is_refused(
    alipay: AlipayClient, fake_alipay: FakeAlipay, alipay_keys: AlipayTestKeys
) -> None:
    """Two values for one key: a framework reading the first could act on an unsigned one."""
    paid_trade(alipay, fake_alipay, "A-n-dup", 12000)
    body = fake_alipay.payment_notification("A-n-dup")
    with pytest.raises(NotificationRejected):
        verify_notification(
            b"total_amount=0.01&" + body,
            app_id=APP_ID,
            alipay_public_key=alipay_keys.alipay_public_key,
        )


def test_a_notification_for_another_seller_is_refused(
    alipay: AlipayClient, fake_alipay: FakeAlipay, alipay_keys: AlipayTestKeys
) -> None:
    paid_trade(alipay, fake_alipay, "A-n-seller", 100)
    body = fake_alipay.payment_notification("A-n-seller")
    public_key = alipay_keys.alipay_public_key
    with pytest.raises(NotificationRejected):
        verify_notification(
            body, app_id=APP_ID, alipay_public_key=public_key, seller_id="2088999999999999"
        )
    note = verify_notification(
        body, app_id=APP_ID, alipay_public_key=public_key, seller_id=fake_alipay.seller_id
    )
    assert note.seller_id == fake_alipay.seller_id


def test_a_notification_signed_with_the_wrong_key_is_refused(
    alipay: AlipayClient,
    fake_alipay: FakeAlipay,
    alipay_keys: AlipayTestKeys,
    stranger_keys: AlipayTestKeys,
) -> None:
    paid_trade(alipay, fake_alipay, "A-n-5", 100)
    forged = fake_alipay.payment_notification("A-n-5", key=stranger_keys.alipay_private_key)
    with pytest.raises(SignatureInvalid):
        verify_notification(forged, app_id=APP_ID, alipay_public_key=alipay_keys.alipay_public_key)
    # Verifying with the app public key instead of Alipay's (the classic mistake) fails too.
    genuine = fake_alipay.payment_notification("A-n-5")
    with pytest.raises(SignatureInvalid):
        verify_notification(genuine, app_id=APP_ID, alipay_public_key=alipay_keys.app_public_key)


def test_a_signed_notification_with_a_bad_amount_is_refused(
    alipay: AlipayClient, fake_alipay: FakeAlipay, alipay_keys: AlipayTestKeys
) -> None:
    paid_trade(alipay, fake_alipay, "A-n-6", 100)
    for overrides in ({"total_amount": "1.001"}, {"trade_no": ""}):
        body = fake_alipay.payment_notification("A-n-6", **overrides)
        with pytest.raises(NotificationRejected):
            verify_notification(
                body, app_id=APP_ID, alipay_public_key=alipay_keys.alipay_public_key
            )


def test_a_malformed_notification_body_is_refused(alipay_keys: AlipayTestKeys) -> None:
    for body in (b"", b"\xff\xfe", b"charset=klingon&sign=x", b"a=1&a=2&sign_type=RSA2&sign=x"):
        with pytest.raises((SignatureInvalid, NotificationRejected)):
            verify_notification(
                body, app_id=APP_ID, alipay_public_key=alipay_keys.alipay_public_key
            )
