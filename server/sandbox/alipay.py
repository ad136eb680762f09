"""A loopback fake of the Alipay OpenAPI gateway, speaking its wire format (RSA2).

It verifies our request signatures with the *app public key* (isv.invalid-signature when they
do not match), keeps trades in memory, answers create / query / close / refund / refund query
as the real gateway does (code 10000, 40004 + ACQ.* sub_codes, 20000), signs every answer with
the *Alipay private key* in the real `{"<method>_response": {...}, "sign": "..."}` shape (with
"/" escaped as "\\/" and Chinese left unescaped, like Alipay's own JSON), and produces signed
form-encoded payment and refund notifications.

Keys are generated per test session (`AlipayTestKeys.generate()`); none is committed.

Certificate mode (公钥证书): with `certificates` (see `AlipaySandboxCerts.generate`) the gateway
requires `app_cert_sn` and `alipay_root_cert_sn` to name the app's certificate and the root
chain, names its own certificate in every answer (`alipay_cert_sn`), and answers gateway-level
refusals with an empty `sign`, as Alipay does.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import secrets
import threading
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from flask import Flask, Response, request

LOCAL = timedelta(hours=8)  # Asia/Shanghai, no DST
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
TIMESTAMP_TOLERANCE = timedelta(minutes=15)


@dataclass(frozen=True)
class AlipayTestKeys:
    app_private_key: rsa.RSAPrivateKey
    alipay_private_key: rsa.RSAPrivateKey

    @classmethod
    def generate(cls) -> AlipayTestKeys:
        return cls(
            app_private_key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
            alipay_private_key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        )

    @property
    def app_public_key(self) -> rsa.RSAPublicKey:
        return self.app_private_key.public_key()

    @property
    def alipay_public_key(self) -> rsa.RSAPublicKey:
        return self.alipay_private_key.public_key()


def _name(common_name: str, unit: str = "Certification Authority") -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Ant Financial"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _certificate(
    subject: x509.Name,
    public_key: Any,
    *,
    issuer: x509.Name,
    issuer_key: Any,
    serial: int,
    ca: bool = False,
) -> x509.Certificate:
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365 * 5))
    )
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def sandbox_cert_sn(certificate: x509.Certificate) -> str:
    """md5(issuer DN, RFC 2253 order, + decimal serial): how Alipay names a certificate."""
    text = certificate.issuer.rfc4514_string() + str(certificate.serial_number)
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class AlipaySandboxCerts:
    """The three files of an app in certificate mode, as the Alipay console hands them out."""

    app_public_key_cert: str  # appCertPublicKey_<appid>.crt
    alipay_public_key_cert: str  # alipayCertPublicKey_RSA2.crt
    alipay_root_cert: str  # alipayRootCert.crt: RSA roots and an ECC one, blank lines between
    app_cert_sn: str
    alipay_cert_sn: str
    alipay_root_cert_sn: str

    @classmethod
    def generate(cls, keys: AlipayTestKeys) -> AlipaySandboxCerts:
        root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        root_name = _name("Ant Financial Certification Authority R1")
        root = _certificate(
            root_name,
            root_key.public_key(),
            issuer=root_name,
            issuer_key=root_key,
            serial=7,
            ca=True,
        )
        class2_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        class2_name = _name("Ant Financial Certification Authority Class 2 R1")
        class2 = _certificate(
            class2_name,
            class2_key.public_key(),
            issuer=root_name,
            issuer_key=root_key,
            serial=0x1A2B3C4D5E6F,
            ca=True,
        )
        ecc_key = ec.generate_private_key(ec.SECP256R1())
        ecc_name = _name("Ant Financial Certification Authority E1")
        ecc = _certificate(
            ecc_name, ecc_key.public_key(), issuer=ecc_name, issuer_key=ecc_key, serial=9, ca=True
        )
        app = _certificate(
            _name("2021000000000009", unit="Alipay Open Platform"),
            keys.app_public_key,
            issuer=class2_name,
            issuer_key=class2_key,
            serial=int.from_bytes(secrets.token_bytes(15), "big"),
        )
        alipay = _certificate(
            _name("支付宝(中国)网络技术有限公司", unit="Alipay.com"),
            keys.alipay_public_key,
            issuer=class2_name,
            issuer_key=class2_key,
            serial=int.from_bytes(secrets.token_bytes(15), "big"),
        )
        chain = (root, ecc, class2)
        return cls(
            app_public_key_cert=_pem(app),
            alipay_public_key_cert=_pem(alipay),
            alipay_root_cert="\n".join(_pem(c) for c in chain),
            app_cert_sn=sandbox_cert_sn(app),
            alipay_cert_sn=sandbox_cert_sn(alipay),
            alipay_root_cert_sn="_".join(sandbox_cert_sn(c) for c in (root, class2)),
        )


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def public_base64(key: rsa.RSAPublicKey) -> str:
    """The bare base64 SubjectPublicKeyInfo, as the Alipay console shows 支付宝公钥."""
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def _sign(content: str, key: rsa.RSAPrivateKey, charset: str = "utf-8") -> str:
    raw = key.sign(content.encode(charset), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(raw).decode()


def _verify(content: str, sign: str, key: rsa.RSAPublicKey) -> bool:
    try:
        key.verify(
            base64.b64decode(sign, validate=True),
            content.encode("utf-8"),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def _content(params: dict[str, str], exclude: tuple[str, ...]) -> str:
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k not in exclude)


def alipay_json(value: Any) -> str:
    """JSON the way Alipay writes it: compact, UTF-8 (not \\u-escaped), "/" escaped."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("/", "\\/")


def _local_now() -> str:
    return (datetime.now(UTC) + LOCAL).strftime(TIME_FORMAT)


@dataclass
class FakeTrade:
    out_trade_no: str
    trade_no: str
    total_amount: str
    subject: str
    buyer_id: str
    status: str = "WAIT_BUYER_PAY"
    refunds: dict[str, str] = field(default_factory=dict)  # out_request_no -> amount
    paid_at: str | None = None

    @property
    def refunded(self) -> Decimal:
        return sum((Decimal(a) for a in self.refunds.values()), Decimal("0.00"))


@dataclass
class FakeAlipay:
    app_id: str
    keys: AlipayTestKeys
    seller_id: str = "2088000000000001"
    trades: dict[str, FakeTrade] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    received: list[dict[str, str]] = field(default_factory=list)
    # Per method: (code, msg, sub_code, sub_msg) answered once before behaving normally.
    scripted_errors: dict[str, list[tuple[str, str, str, str]]] = field(default_factory=dict)
    # Per method: a raw body to answer once instead of the real one (for tampering tests).
    scripted_bodies: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    # Per method: seconds to wait once before answering (for timeout tests).
    scripted_delays: dict[str, list[float]] = field(default_factory=dict)
    # Trade bills: bill_date -> the zip bytes (see `bill_zip`).
    bills: dict[str, bytes] = field(default_factory=dict)
    # Certificate mode; `answer_cert_sn` names another Alipay certificate in answers (rotation).
    certificates: AlipaySandboxCerts | None = None
    answer_cert_sn: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    # - scripting -

    def reset(self) -> None:
        """Forget trades, calls, scripts and certificate mode (the server thread keeps serving
        this object)."""
        with self.lock:
            self.trades.clear()
            self.calls.clear()
            self.received.clear()
            self.scripted_errors.clear()
            self.scripted_bodies.clear()
            self.scripted_delays.clear()
            self.bills.clear()
            self.certificates = None
            self.answer_cert_sn = None

    def fail_next(
        self, method: str, code: str, sub_code: str = "", sub_msg: str = "", msg: str = ""
    ) -> None:
        message = msg or {
            "20000": "Service Currently Unavailable",
            "40004": "Business Failed",
        }.get(code, "Invalid Arguments")
        self.scripted_errors.setdefault(method, []).append((code, message, sub_code, sub_msg))

    def put_bill(self, bill_date: str, zip_bytes: bytes) -> None:
        """Serve `zip_bytes` (see `bill_zip`) as the trade bill of `bill_date`."""
        with self.lock:
            self.bills[bill_date] = zip_bytes

    def answer_next(self, method: str, raw_body: str, *, status: int = 200) -> None:
        self.scripted_bodies.setdefault(method, []).append((status, raw_body))

    def delay_next(self, method: str, seconds: float) -> None:
        self.scripted_delays.setdefault(method, []).append(seconds)

    def signed_body(
        self, method: str, inner: dict[str, Any], *, inner_text: str | None = None
    ) -> str:
        """A response body as Alipay writes it; `inner_text` overrides the signed text."""
        text = inner_text if inner_text is not None else alipay_json(inner)
        key = method.replace(".", "_") + "_response"
        sign = _sign(text, self.keys.alipay_private_key)
        return f'{{"{key}":{text},{self._cert_sn_member()}"sign":"{sign}"}}'

    def _cert_sn_member(self) -> str:
        if self.certificates is None:
            return ""
        return f'"alipay_cert_sn":"{self.answer_cert_sn or self.certificates.alipay_cert_sn}",'

    # - what the buyer does -

    def open_order_string(self, order_string: str, buyer_id: str = "2088102177846880") -> FakeTrade:
        """The app SDK hands an alipay.trade.app.pay string to Alipay: verify it, open the trade."""
        params = dict(parse_qsl(order_string, keep_blank_values=True, strict_parsing=True))
        sign = params.get("sign", "")
        if not _verify(_content(params, ("sign",)), sign, self.keys.app_public_key):
            raise ValueError("isv.invalid-signature")
        if params.get("method") != "alipay.trade.app.pay" or params.get("app_id") != self.app_id:
            raise ValueError("isv.invalid-arguments")
        certificates = self.certificates
        if certificates is not None and (
            params.get("app_cert_sn") != certificates.app_cert_sn
            or params.get("alipay_root_cert_sn") != certificates.alipay_root_cert_sn
        ):
            raise ValueError("isv.invalid-app-cert-sn")
        biz = json.loads(params["biz_content"])
        return self._open(biz, buyer_id)

    def pay(self, out_trade_no: str) -> FakeTrade:
        with self.lock:
            trade = self.trades[out_trade_no]
            trade.status = "TRADE_SUCCESS"
            trade.paid_at = _local_now()
            return trade

    # - notifications (form-encoded, signed with the Alipay private key) -

    def payment_notification(
        self,
        out_trade_no: str,
        *,
        charset: str = "utf-8",
        key: rsa.RSAPrivateKey | None = None,
        **overrides: str,
    ) -> bytes:
        trade = self.trades[out_trade_no]
        params = self._notification_params(trade, charset)
        params.update(overrides)
        return self.sign_notification(params, charset=charset, key=key)

    def refund_notification(
        self, out_trade_no: str, out_request_no: str, *, charset: str = "utf-8", **overrides: str
    ) -> bytes:
        trade = self.trades[out_trade_no]
        params = self._notification_params(trade, charset)
        params.update(
            {
                "out_biz_no": out_request_no,
                "refund_fee": str(trade.refunded.quantize(Decimal("0.01"))),
                "gmt_refund": _local_now() + ".123",
            }
        )
        params.update(overrides)
        return self.sign_notification(params, charset=charset)

    def sign_notification(
        self,
        params: dict[str, str],
        *,
        charset: str = "utf-8",
        key: rsa.RSAPrivateKey | None = None,
    ) -> bytes:
        unsigned = {k: v for k, v in params.items() if k not in ("sign", "sign_type")}
        sign = _sign(_content(unsigned, ()), key or self.keys.alipay_private_key, charset)
        return urlencode({**unsigned, "sign_type": "RSA2", "sign": sign}, encoding=charset).encode(
            "ascii"
        )

    def _notification_params(self, trade: FakeTrade, charset: str) -> dict[str, str]:
        return {
            "gmt_create": _local_now(),
            "charset": charset,
            "seller_email": "baoxiu@example.com",
            "subject": trade.subject,
            "buyer_id": trade.buyer_id,
            "invoice_amount": trade.total_amount,
            "notify_id": "2026" + secrets.token_hex(16),
            "fund_bill_list": alipay_json(
                [{"amount": trade.total_amount, "fundChannel": "ALIPAYACCOUNT"}]
            ),
            "notify_type": "trade_status_sync",
            "trade_status": trade.status,
            "receipt_amount": trade.total_amount,
            "buyer_pay_amount": trade.total_amount,
            "app_id": self.app_id,
            "notify_time": _local_now(),
            "point_amount": "0.00",
            "total_amount": trade.total_amount,
            "trade_no": trade.trade_no,
            "auth_app_id": self.app_id,
            "gmt_payment": trade.paid_at or "",
            "version": "1.0",
            "out_trade_no": trade.out_trade_no,
            "seller_id": self.seller_id,
            "passback_params": "",
        }

    # - the gateway -

    def app(self) -> Flask:
        app = Flask("fake_alipay")

        @app.route("/gateway.do", methods=["GET", "POST"])
        def gateway() -> Response:
            params: dict[str, str] = {**request.args.to_dict(), **request.form.to_dict()}
            method = params.get("method", "")
            self.calls[method] += 1
            self.received.append(params)
            key = (method.replace(".", "_") or "error") + "_response"

            def unsigned(code: str, msg: str, sub_code: str, sub_msg: str) -> Response:
                inner = {"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_msg}
                if self.certificates is not None:  # certificate mode: an empty sign
                    text = f'{{"{key}":{alipay_json(inner)},{self._cert_sn_member()}"sign":""}}'
                    return _body(text)
                return _body(f'{{"{key}":{alipay_json(inner)}}}')

            for name in ("app_id", "method", "sign", "timestamp", "version", "sign_type"):
                if not params.get(name):
                    return unsigned(
                        "40001",
                        "Missing Required Arguments",
                        f"isv.missing-{name.replace('_', '-')}",
                        "",
                    )
            if params["app_id"] != self.app_id:
                return unsigned(
                    "40002", "Invalid Arguments", "isv.invalid-app-id", "无效的AppID参数"
                )
            if params["sign_type"] != "RSA2" or params.get("charset", "utf-8").lower() != "utf-8":
                return unsigned("40002", "Invalid Arguments", "isv.invalid-signature-type", "")
            if not _verify(_content(params, ("sign",)), params["sign"], self.keys.app_public_key):
                return unsigned(
                    "40002",
                    "Invalid Arguments",
                    "isv.invalid-signature",
                    "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配",
                )
            certificates = self.certificates
            if certificates is not None:
                for name, expected in (
                    ("app_cert_sn", certificates.app_cert_sn),
                    ("alipay_root_cert_sn", certificates.alipay_root_cert_sn),
                ):
                    dashed = name.replace("_", "-")
                    if not params.get(name):
                        return unsigned(
                            "40001", "Missing Required Arguments", f"isv.missing-{dashed}", ""
                        )
                    if params[name] != expected:
                        return unsigned(
                            "40002", "Invalid Arguments", f"isv.invalid-{dashed}", f"{name} 不匹配"
                        )
            try:
                sent = datetime.strptime(f"{params['timestamp']} +0800", f"{TIME_FORMAT} %z")
            except ValueError:
                return unsigned("40002", "Invalid Arguments", "isv.invalid-timestamp", "")
            if abs(sent - datetime.now(UTC)) > TIMESTAMP_TOLERANCE:
                return unsigned("40002", "Invalid Arguments", "isv.invalid-timestamp", "")
            if params.get("format", "JSON") != "JSON" or params["version"] != "1.0":
                return unsigned("40002", "Invalid Arguments", "isv.invalid-format", "")
            handler = self._handlers().get(method)
            if handler is None:
                return unsigned(
                    "40002", "Invalid Arguments", "isv.invalid-method", "不存在的方法名"
                )
            with self.lock:
                delays = self.scripted_delays.get(method)
                delay = delays.pop(0) if delays else 0.0
            if delay:
                time.sleep(delay)
            with self.lock:
                bodies = self.scripted_bodies.get(method)
                if bodies:
                    status, text = bodies.pop(0)
                    return _body(text, status)
                errors = self.scripted_errors.get(method)
                if errors:
                    code, msg, sub_code, sub_msg = errors.pop(0)
                    return self._answer(
                        method, {"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_msg}
                    )
                try:
                    biz = json.loads(params.get("biz_content") or "{}")
                except ValueError:
                    return self._answer(method, _business("isv.invalid-parameter", "biz_content"))
                return self._answer(method, handler(biz, params))

        @app.get("/downloadBillFile.resource")
        def download_bill() -> Response:
            day = request.args.get("bizDates", "")
            bill_date = f"{day[:4]}-{day[4:6]}-{day[6:]}"
            content = self.bills.get(bill_date)
            if content is None:
                return Response(b"not found", status=404)
            return Response(content, status=200, content_type="application/octet-stream")

        return app

    def _answer(self, method: str, inner: dict[str, Any]) -> Response:
        if inner.get("code") == "10000":
            inner = {"code": "10000", "msg": "Success", **inner}
        return _body(self.signed_body(method, inner))

    def _handlers(self) -> dict[str, Any]:
        return {
            "alipay.trade.create": self._create,
            "alipay.trade.query": self._query,
            "alipay.trade.close": self._close,
            "alipay.trade.refund": self._refund,
            "alipay.trade.fastpay.refund.query": self._refund_query,
            "alipay.data.dataservice.bill.downloadurl.query": self._bill_url,
        }

    def _bill_url(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        if biz.get("bill_type") != "trade":
            return _business("isv.invalid-arguments", "参数不合法")
        bill_date = str(biz.get("bill_date", ""))
        if bill_date not in self.bills:
            return _business("isp.bill_not_exist", "账单不存在")
        day = bill_date.replace("-", "")
        return {
            "code": "10000",
            "bill_download_url": f"{request.host_url}downloadBillFile.resource?bizType=trade"
            f"&fileType=csv.zip&bizDates={day}&downloadFileName={self.seller_id}_{day}.csv.zip"
            f"&token={secrets.token_hex(8)}",
        }

    def _open(self, biz: dict[str, Any], buyer_id: str) -> FakeTrade:
        out_trade_no = biz["out_trade_no"]
        existing = self.trades.get(out_trade_no)
        if existing is not None:
            return existing
        trade = FakeTrade(
            out_trade_no=out_trade_no,
            trade_no=datetime.now(UTC).strftime("%Y%m%d") + "22001" + secrets.token_hex(7)[:14],
            total_amount=biz["total_amount"],
            subject=biz["subject"],
            buyer_id=buyer_id,
        )
        self.trades[out_trade_no] = trade
        return trade

    def _create(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        for name in ("out_trade_no", "total_amount", "subject"):
            if not biz.get(name):
                return _business("ACQ.INVALID_PARAMETER", f"缺少参数 {name}")
        buyer = biz.get("buyer_id") or biz.get("buyer_open_id")
        if not buyer:
            return _business("ACQ.BUYER_NOT_EXIST", "买家不存在")
        if not _valid_amount(biz["total_amount"]):
            return _business("ACQ.INVALID_PARAMETER", "total_amount 不合法")
        existing = self.trades.get(biz["out_trade_no"])
        if existing is not None:
            if existing.status in ("TRADE_SUCCESS", "TRADE_FINISHED"):
                return _business("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
            if existing.status == "TRADE_CLOSED":
                return _business("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
            if existing.total_amount != biz["total_amount"]:
                return _business("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")
        trade = self._open(biz, buyer)
        return {"code": "10000", "out_trade_no": trade.out_trade_no, "trade_no": trade.trade_no}

    def _find(self, biz: dict[str, Any]) -> FakeTrade | None:
        trade = self.trades.get(biz.get("out_trade_no", ""))
        if trade is None and biz.get("trade_no"):
            trade = next((t for t in self.trades.values() if t.trade_no == biz["trade_no"]), None)
        return trade

    def _query(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        trade = self._find(biz)
        if trade is None:
            return _business("ACQ.TRADE_NOT_EXIST", "交易不存在")
        answer: dict[str, Any] = {
            "code": "10000",
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "buyer_logon_id": "159****5620",
            "trade_status": trade.status,
            "total_amount": trade.total_amount,
            "buyer_pay_amount": trade.total_amount if trade.paid_at else "0.00",
            "subject": trade.subject,
            "buyer_user_id": trade.buyer_id,
        }
        if trade.paid_at:
            answer["send_pay_date"] = trade.paid_at
        return answer

    def _close(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        trade = self._find(biz)
        if trade is None:
            return _business("ACQ.TRADE_NOT_EXIST", "交易不存在")
        if trade.status != "WAIT_BUYER_PAY":
            return _business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        trade.status = "TRADE_CLOSED"
        return {"code": "10000", "trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no}

    def _refund(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        trade = self._find(biz)
        if trade is None:
            return _business("ACQ.TRADE_NOT_EXIST", "交易不存在")
        amount = biz.get("refund_amount", "")
        request_no = biz.get("out_request_no") or trade.trade_no
        if not _valid_amount(amount):
            return _business("ACQ.INVALID_PARAMETER", "refund_amount 不合法")
        done = {
            "code": "10000",
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "buyer_logon_id": "159****5620",
            "buyer_user_id": trade.buyer_id,
        }
        if request_no in trade.refunds:
            if trade.refunds[request_no] != amount:
                return _business("ACQ.REQUEST_AMOUNT_EXCEED", "请求退款金额与原请求不一致")
            return {**done, "fund_change": "N", "refund_fee": _money(trade.refunded)}
        if trade.status != "TRADE_SUCCESS":
            return _business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        if trade.refunded + Decimal(amount) > Decimal(trade.total_amount):
            return _business("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
        trade.refunds[request_no] = amount
        if trade.refunded == Decimal(trade.total_amount):
            trade.status = "TRADE_CLOSED"
        return {**done, "fund_change": "Y", "refund_fee": _money(trade.refunded)}

    def _refund_query(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        trade = self._find(biz)
        request_no = biz.get("out_request_no", "")
        if trade is None or request_no not in trade.refunds:
            # Like Alipay: a refund it does not know is a success without refund fields.
            return {
                "code": "10000",
                "out_trade_no": biz.get("out_trade_no", ""),
                "out_request_no": request_no,
            }
        return {
            "code": "10000",
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "out_request_no": request_no,
            "total_amount": trade.total_amount,
            "refund_amount": trade.refunds[request_no],
            "refund_status": "REFUND_SUCCESS",
        }


def _business(sub_code: str, sub_msg: str) -> dict[str, Any]:
    return {"code": "40004", "msg": "Business Failed", "sub_code": sub_code, "sub_msg": sub_msg}


def _valid_amount(text: Any) -> bool:
    try:
        value = Decimal(text)
    except (ArithmeticError, TypeError, ValueError):
        return False
    return value > 0 and value == value.quantize(Decimal("0.01"))


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def _body(text: str, status: int = 200) -> Response:
    return Response(text.encode("utf-8"), status=status, content_type="text/html;charset=utf-8")


class _GbkName(zipfile.ZipInfo):
    """A zip entry whose name is written in GBK without the UTF-8 flag, as Alipay's are."""

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:
        return self.filename.encode("gbk"), self.flag_bits


def bill_zip(detail_csv: str, *, pid: str = "20880000000000010156", day: str = "20260302") -> bytes:
    """An Alipay bill zip: `<pid>_<day>_业务明细.csv` (GBK) beside its 汇总 file, names in GBK."""
    summary = (
        "#支付宝业务汇总查询\n门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,"
        "商家实收（元）,支付宝优惠（元）,商家优惠（元）,卡消费金额（元）,服务费（元）,分润（元）,"
        "实收净额（元）\n合计,,0,0,0.00,0.00,0.00,0.00,0.00,0.00,0.00,0.00\n"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for suffix, text in (("业务明细(汇总)", summary), ("业务明细", detail_csv)):
            info = _GbkName(f"{pid}_{day}_{suffix}.csv", date_time=(2026, 3, 3, 5, 46, 49))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text.encode("gbk"))
    return buffer.getvalue()
