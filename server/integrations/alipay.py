"""Alipay OpenAPI (RSA2): app-pay order string / query / close / refund / refund query, and
the asynchronous trade notification (Alipay OpenAPI, RSA2), in public-key or certificate mode.

A thin client on `requests` and `cryptography`; the gateway URL is configuration, so tests talk
to a loopback fake that verifies our signatures and signs its answers with its own key.

Wire format, in short:
* Requests: the common parameters (app_id, method, format, charset, sign_type, timestamp in
  Asia/Shanghai, version, notify_url) plus `biz_content` (JSON). Every parameter except `sign`
  is sorted by key, joined `k=v` with `&`, signed SHA256withRSA (PKCS#1 v1.5) with the app
  private key and base64-encoded.
* Responses: `{"<method with _>_response": {...}, "sign": "..."}`. The signature covers the
  exact text of the `_response` value as sent, so that substring is cut out of the raw body and
  never re-serialised (Alipay escapes "/" as "\\/"; json.dumps would not).
* Notifications: form-encoded; `sign` and `sign_type` are removed, the rest (empty values too)
  sorted, joined and verified with the *Alipay* public key. Answer exactly `success`.
* Certificate mode (公钥证书): the app is set up with its app public-key certificate, the Alipay
  root certificate and the Alipay public-key certificate. Requests then also carry (and sign)
  `app_cert_sn` and `alipay_root_cert_sn`; answers are verified with the key of the Alipay
  public-key certificate, and an answer naming another `alipay_cert_sn` is refused. A cert's SN
  is md5(issuer DN as RFC 2253 writes it + serial number in decimal); the root's is the SNs of
  the chain's RSA-signed certificates joined with `_` (its ECC / SM2 certificates are skipped).

`alipay.trade.create` (JSAPI_PAY, for a buyer_id of an Alipay mini-program login) is not
offered: tenants pay through the Alipay app SDK with the order string (alipay.trade.app.pay)
and nothing here knows an Alipay buyer id (docs/payments.md).
"""

from __future__ import annotations

import base64
import binascii
import codecs
import hashlib
import json
import logging
import os
import re
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlsplit

import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from server.config import Settings
from server.kernel.clock import LOCAL_TZ, instant
from server.kernel.errors import UpstreamError, UpstreamUnavailable
from server.kernel.money import FEN_PER_YUAN, fen_to_yuan_text

log = logging.getLogger(__name__)

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
CHARSET = "utf-8"
SUCCESS_CODE = "10000"
# Retryable answers: the gateway is unavailable (20000) or the business system had a hiccup.
UNAVAILABLE_CODES = frozenset({"20000"})
RETRYABLE_SUB_CODES = frozenset(
    {"ACQ.SYSTEM_ERROR", "aop.ACQ.SYSTEM_ERROR", "isp.unknow-error", "isp.unknown-error"}
)
# The plain-text answers Alipay expects from our notify endpoint: anything but `success` makes
# it redeliver (≈ 8 times over 25 hours).
NOTIFY_SUCCESS_BODY = "success"
NOTIFY_FAILURE_BODY = "failure"
PAID_STATUSES = frozenset({"TRADE_SUCCESS", "TRADE_FINISHED"})
BILL_NOT_EXIST = "isp.bill_not_exist"

_YUAN = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]{1,2})?$")


# --- errors -----------------------------------------------------------------------------------


class AlipayError(UpstreamError):
    """Alipay refused the call for a business or configuration reason; not worth retrying."""

    message = "支付宝接口错误"
    retryable = False

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str = "",
        sub_code: str = "",
        sub_msg: str = "",
    ) -> None:
        super().__init__(message)
        self.code = code
        self.sub_code = sub_code
        self.sub_msg = sub_msg


class AlipayTradeNotExist(AlipayError):
    """ACQ.TRADE_NOT_EXIST: Alipay does not know this out_trade_no (e.g. never opened)."""

    message = "支付宝交易不存在"


class AlipayTradeHasSuccess(AlipayError):
    """ACQ.TRADE_HAS_SUCCESS: the trade is already paid."""

    message = "支付宝交易已支付"


class AlipayTradeStatusError(AlipayError):
    """ACQ.TRADE_STATUS_ERROR / ACQ.TRADE_HAS_CLOSE: the trade is in the wrong state."""

    message = "支付宝交易状态不允许此操作"


class AlipayUnavailable(UpstreamUnavailable):
    """Alipay could not be reached or asked us to retry (20000, ACQ.SYSTEM_ERROR, timeouts).

    The outcome of the call is unknown: retry with the same out_trade_no / out_request_no.
    """

    message = "支付宝服务暂时不可用，请稍后再试"
    retryable = True

    def __init__(self, message: str | None = None, *, code: str = "", sub_code: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.sub_code = sub_code


class AlipayVerificationFailed(UpstreamError):
    """A response or notification that must not be believed."""

    message = "支付宝数据校验失败"


class SignatureInvalid(AlipayVerificationFailed):
    message = "支付宝签名验证失败"


class NotificationRejected(AlipayVerificationFailed):
    """Correctly signed, but not for this account or not a usable trade notification."""

    message = "支付宝通知无效"


# --- keys, signing, amounts -------------------------------------------------------------------


def load_private_key(text: str) -> rsa.RSAPrivateKey:
    """A PEM key, or the bare base64 (PKCS#8 or PKCS#1 DER) the Alipay key tool prints."""
    data = text.strip()
    try:
        if data.startswith("-----"):
            key = serialization.load_pem_private_key(data.encode(), password=None)
        else:
            key = serialization.load_der_private_key(base64.b64decode(data), password=None)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise UpstreamError("支付宝应用私钥无法读取") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise UpstreamError("支付宝应用私钥不是 RSA 密钥")
    return key


def load_public_key(text: str) -> rsa.RSAPublicKey:
    """A PEM public key, or the bare base64 SubjectPublicKeyInfo Alipay shows (支付宝公钥)."""
    data = text.strip()
    try:
        if data.startswith("-----"):
            key = serialization.load_pem_public_key(data.encode())
        else:
            key = serialization.load_der_public_key(base64.b64decode(data))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise UpstreamError("支付宝公钥无法读取") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise UpstreamError("支付宝公钥不是 RSA 密钥")
    return key


# RSA signature algorithms (PKCS#1 family, 1.2.840.113549.1.1.*): the root chain's certificates
# that count in alipay_root_cert_sn. Alipay's chain also holds ECC and SM2 ones, left out.
_RSA_SIGNATURE_OID_PREFIX = "1.2.840.113549.1.1."


def load_certificates(text: str) -> list[x509.Certificate]:
    """Every PEM certificate in `text` (a chain may hold several, in any spacing)."""
    try:
        certificates = x509.load_pem_x509_certificates(text.strip().encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise UpstreamError("支付宝证书无法读取") from exc
    return certificates


def cert_sn(certificate: x509.Certificate) -> str:
    """Alipay's certificate SN: md5 of the issuer DN (RFC 2253 order) + the decimal serial."""
    issuer = certificate.issuer.rfc4514_string()
    return hashlib.md5(
        (issuer + str(certificate.serial_number)).encode(), usedforsecurity=False
    ).hexdigest()


def root_cert_sn(chain_pem: str) -> str:
    """alipay_root_cert_sn: the SNs of the root chain's RSA-signed certificates, joined by `_`."""
    sns = [
        cert_sn(certificate)
        for certificate in load_certificates(chain_pem)
        if certificate.signature_algorithm_oid.dotted_string.startswith(_RSA_SIGNATURE_OID_PREFIX)
    ]
    if not sns:
        raise UpstreamError("支付宝根证书中没有 RSA 证书")
    return "_".join(sns)


@dataclass(frozen=True)
class AlipayCertificates:
    """Certificate mode (公钥证书): what requests carry and the key answers are checked with."""

    app_cert_sn: str
    alipay_root_cert_sn: str
    alipay_cert_sn: str
    alipay_public_key: rsa.RSAPublicKey

    @classmethod
    def load(
        cls, *, app_public_key_cert: str, alipay_public_key_cert: str, alipay_root_cert: str
    ) -> AlipayCertificates:
        app_certs = load_certificates(app_public_key_cert)
        alipay_certs = load_certificates(alipay_public_key_cert)
        if not app_certs or not alipay_certs:
            raise UpstreamError("支付宝证书无法读取")
        # The public-key certificate file may carry its issuing chain after it: the first is it.
        key = alipay_certs[0].public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise UpstreamError("支付宝公钥证书不是 RSA 证书")
        return cls(
            app_cert_sn=cert_sn(app_certs[0]),
            alipay_root_cert_sn=root_cert_sn(alipay_root_cert),
            alipay_cert_sn=cert_sn(alipay_certs[0]),
            alipay_public_key=key,
        )


def sign_content(
    params: Mapping[str, str], *, exclude: frozenset[str] = frozenset({"sign"})
) -> str:
    """Sorted `k=v` pairs joined with `&`, the text that is signed (values not URL-encoded)."""
    return "&".join(f"{key}={params[key]}" for key in sorted(params) if key not in exclude)


def rsa2_sign(content: str, key: rsa.RSAPrivateKey, *, charset: str = CHARSET) -> str:
    signature = key.sign(content.encode(charset), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode("ascii")


def rsa2_verify(content: str, sign: str, key: rsa.RSAPublicKey, *, charset: str = CHARSET) -> bool:
    try:
        signature = base64.b64decode(sign, validate=True)
        key.verify(signature, content.encode(charset), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError, UnicodeEncodeError):
        return False
    return True


def yuan_to_fen(text: str) -> int:
    """Alipay's decimal yuan text ("12.30") as integer fen, exactly; anything else is refused."""
    if not isinstance(text, str) or not _YUAN.match(text):
        raise ValueError(f"not a yuan amount: {text!r}")
    fen = Decimal(text) * FEN_PER_YUAN
    return int(fen.to_integral_exact())


def _local_time(moment: datetime) -> str:
    return moment.astimezone(LOCAL_TZ).strftime(TIMESTAMP_FORMAT)


def response_texts(raw: str) -> dict[str, str]:
    """The exact source text of each top-level value of a JSON object, by key.

    The signature of a gateway response covers the `_response` value as Alipay wrote it, so
    it is cut out of the body verbatim (json.loads + json.dumps would change escapes, spacing
    and non-ASCII).
    """
    decoder = json.JSONDecoder()
    texts: dict[str, str] = {}
    position = _skip_space(raw, 0)
    if raw[position : position + 1] != "{":
        raise ValueError("not a JSON object")
    position = _skip_space(raw, position + 1)
    if raw[position : position + 1] == "}":
        return texts
    while True:
        if raw[position : position + 1] != '"':
            raise ValueError("expected a key")
        key, position = json.decoder.scanstring(raw, position + 1)  # type: ignore[attr-defined]
        position = _skip_space(raw, position)
        if raw[position : position + 1] != ":":
            raise ValueError("expected ':'")
        start = _skip_space(raw, position + 1)
        _, end = decoder.raw_decode(raw, start)
        if key in texts:
            raise ValueError(f"duplicate key {key!r}")
        texts[key] = raw[start:end]
        position = _skip_space(raw, end)
        separator = raw[position : position + 1]
        if separator == "}":
            if raw[position + 1 :].strip():
                raise ValueError("trailing data")
            return texts
        if separator != ",":
            raise ValueError("expected ',' or '}'")
        position = _skip_space(raw, position + 1)


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlipayTrade:
    out_trade_no: str
    trade_no: str
    trade_status: str  # WAIT_BUYER_PAY / TRADE_SUCCESS / TRADE_FINISHED / TRADE_CLOSED
    total_fen: int
    buyer_id: str | None
    raw: dict[str, Any]

    @property
    def paid(self) -> bool:
        return self.trade_status in PAID_STATUSES


@dataclass(frozen=True)
class AlipayRefund:
    out_trade_no: str
    trade_no: str
    refund_fee_fen: int  # the trade's refunded total so far, not only this request
    fund_change: bool  # False when this out_request_no had already been refunded
    raw: dict[str, Any]


@dataclass(frozen=True)
class AlipayRefundStatus:
    out_trade_no: str
    out_request_no: str
    succeeded: bool  # refund_status == REFUND_SUCCESS
    refund_fen: int | None  # None: Alipay has no such refund (yet)
    raw: dict[str, Any]


@dataclass(frozen=True)
class AlipayNotification:
    notify_id: str
    notify_type: str
    app_id: str
    trade_status: str
    out_trade_no: str
    trade_no: str
    total_fen: int
    seller_id: str | None
    buyer_id: str | None  # buyer_id, or buyer_open_id for newer apps
    refund_fee_fen: int | None  # present on refund notifications (cumulative)
    out_biz_no: str | None  # our out_request_no on refund notifications
    params: dict[str, str]  # every received parameter, decoded, without sign / sign_type

    @property
    def paid(self) -> bool:
        return self.trade_status in PAID_STATUSES


# --- the client -------------------------------------------------------------------------------


class AlipayClient:
    def __init__(
        self,
        *,
        app_id: str,
        app_private_key: rsa.RSAPrivateKey,
        alipay_public_key: rsa.RSAPublicKey,
        gateway: str,
        notify_url: str = "",
        timeout: float | tuple[float, float] = (5.0, 15.0),
        http: requests.Session | None = None,
        clock: Callable[[], datetime] = instant,
        certificates: AlipayCertificates | None = None,
    ) -> None:
        """`certificates`: certificate mode; `alipay_public_key` is then the key of the Alipay
        public-key certificate (`certificates.alipay_public_key`)."""
        if certificates is not None and alipay_public_key is not certificates.alipay_public_key:
            raise ValueError("in certificate mode the Alipay key is the certificate's")
        self.certificates = certificates
        self.app_id = app_id
        self.app_private_key = app_private_key
        self.alipay_public_key = alipay_public_key
        self.gateway = gateway
        self.notify_url = notify_url
        self.timeout = timeout
        self.http = http or requests.Session()
        self.clock = clock

    @classmethod
    def from_settings(
        cls, settings: Settings, *, notify_url: str = "", **kwargs: Any
    ) -> AlipayClient:
        """Read ALIPAY_APPID / ALIPAY_PRIVATE_KEY_PATH / ALIPAY_PUBLIC_KEY_PATH / ALIPAY_GATEWAY."""
        if not (
            settings.alipay_appid
            and settings.alipay_private_key_path
            and settings.alipay_public_key_path
        ):
            raise UpstreamError(
                "未配置支付宝（ALIPAY_APPID / ALIPAY_PRIVATE_KEY_PATH / ALIPAY_PUBLIC_KEY_PATH）"
            )
        try:
            private_text = Path(settings.alipay_private_key_path).read_text(encoding="ascii")
            public_text = Path(settings.alipay_public_key_path).read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise UpstreamError("支付宝密钥文件无法读取") from exc
        return cls(
            app_id=settings.alipay_appid,
            app_private_key=load_private_key(private_text),
            alipay_public_key=load_public_key(public_text),
            gateway=settings.alipay_gateway,
            notify_url=notify_url,
            **kwargs,
        )

    # - trade methods -

    def app_pay_order_string(
        self,
        *,
        out_trade_no: str,
        total_fen: int,
        subject: str,
        time_expire: datetime | None = None,
    ) -> str:
        """The signed alipay.trade.app.pay query string the app SDK (payInterface) needs.

        No network call: the app hands the string to Alipay, which checks our signature.
        """
        biz: dict[str, Any] = {
            "out_trade_no": out_trade_no,
            "total_amount": _yuan(total_fen),
            "subject": subject,
            "product_code": "QUICK_MSECURITY_PAY",
        }
        if time_expire is not None:
            biz["time_expire"] = _local_time(time_expire)
        params = self.signed_params("alipay.trade.app.pay", biz, notify=True)
        return "&".join(f"{key}={quote_plus(params[key])}" for key in sorted(params))

    def query_trade(self, *, out_trade_no: str) -> AlipayTrade:
        body = self._call("alipay.trade.query", {"out_trade_no": out_trade_no})
        buyer = body.get("buyer_user_id") or body.get("buyer_open_id")
        return AlipayTrade(
            out_trade_no=_text(body, "out_trade_no"),
            trade_no=_text(body, "trade_no"),
            trade_status=_text(body, "trade_status"),
            total_fen=_fen(body, "total_amount"),
            buyer_id=buyer if isinstance(buyer, str) else None,
            raw=body,
        )

    def close_trade(self, *, out_trade_no: str) -> None:
        """Close an unpaid trade (raises AlipayTradeNotExist if the buyer never opened it)."""
        self._call("alipay.trade.close", {"out_trade_no": out_trade_no})

    def refund(
        self, *, out_trade_no: str, out_request_no: str, refund_fen: int, reason: str | None = None
    ) -> AlipayRefund:
        """alipay.trade.refund; retries must reuse out_request_no (it makes the call idempotent)."""
        biz: dict[str, Any] = {
            "out_trade_no": out_trade_no,
            "out_request_no": out_request_no,
            "refund_amount": _yuan(refund_fen),
        }
        if reason:
            biz["refund_reason"] = reason
        body = self._call("alipay.trade.refund", biz)
        return AlipayRefund(
            out_trade_no=_text(body, "out_trade_no"),
            trade_no=_text(body, "trade_no"),
            refund_fee_fen=_fen(body, "refund_fee"),
            fund_change=body.get("fund_change") == "Y",
            raw=body,
        )

    def query_refund(self, *, out_trade_no: str, out_request_no: str) -> AlipayRefundStatus:
        body = self._call(
            "alipay.trade.fastpay.refund.query",
            {"out_trade_no": out_trade_no, "out_request_no": out_request_no},
        )
        amount = body.get("refund_amount")
        return AlipayRefundStatus(
            out_trade_no=out_trade_no,
            out_request_no=out_request_no,
            succeeded=body.get("refund_status") == "REFUND_SUCCESS",
            refund_fen=_fen(body, "refund_amount") if amount not in (None, "") else None,
            raw=body,
        )

    # - protocol -

    def signed_params(
        self, method: str, biz: Mapping[str, Any], *, notify: bool = False
    ) -> dict[str, str]:
        """The common parameters plus biz_content, with `sign` added."""
        if not self.app_id:
            raise UpstreamError("未配置支付宝（ALIPAY_APPID）")
        params = {
            "app_id": self.app_id,
            "method": method,
            "format": "JSON",
            "charset": CHARSET,
            "sign_type": "RSA2",
            "timestamp": _local_time(self.clock()),
            "version": "1.0",
            "biz_content": json.dumps(biz, ensure_ascii=False, separators=(",", ":")),
        }
        if notify and self.notify_url:
            params["notify_url"] = self.notify_url
        if self.certificates is not None:
            params["app_cert_sn"] = self.certificates.app_cert_sn
            params["alipay_root_cert_sn"] = self.certificates.alipay_root_cert_sn
        params["sign"] = rsa2_sign(sign_content(params), self.app_private_key)
        return params

    def _call(self, method: str, biz: Mapping[str, Any], *, notify: bool = False) -> dict[str, Any]:
        params = self.signed_params(method, biz, notify=notify)
        try:
            response = self.http.post(
                self.gateway,
                data={key: value.encode(CHARSET) for key, value in params.items()},
                headers={"Content-Type": f"application/x-www-form-urlencoded;charset={CHARSET}"},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            log.warning("alipay %s unreachable: %s", method, type(exc).__name__)
            raise AlipayUnavailable() from exc
        if response.status_code >= 500:
            log.warning("alipay %s http %s", method, response.status_code)
            raise AlipayUnavailable()
        raw = response.content.decode(CHARSET, errors="replace")
        return self._verified_response(method, raw)

    def _verified_response(self, method: str, raw: str) -> dict[str, Any]:
        key = method.replace(".", "_") + "_response"
        try:
            texts = response_texts(raw)
        except ValueError as exc:
            log.warning("alipay %s unparsable answer", method)
            raise UpstreamError("支付宝返回了无法解析的数据") from exc
        if key not in texts:
            key = "error_response"
        inner_text = texts.get(key)
        if inner_text is None:
            raise UpstreamError("支付宝返回了无法解析的数据")
        inner = json.loads(inner_text)
        if not isinstance(inner, dict):
            raise UpstreamError("支付宝返回了无法解析的数据")
        code = str(inner.get("code", ""))
        sign_text = texts.get("sign")
        sign = json.loads(sign_text) if sign_text is not None else None
        # `"sign": ""` is no signature: gateway-level refusals (bad signature, unknown app, a
        # certificate SN it does not know) come without one, or with an empty one.
        if sign is not None and sign != "":
            self._check_cert_sn(method, texts)
            if not isinstance(sign, str) or not rsa2_verify(
                inner_text, sign, self.alipay_public_key
            ):
                log.warning("alipay %s answer signature invalid", method)
                raise SignatureInvalid("支付宝应答签名验证失败")
        elif code == SUCCESS_CODE:
            log.warning("alipay %s unsigned success answer", method)
            raise SignatureInvalid("支付宝应答缺少签名")
        if code != SUCCESS_CODE:
            raise _error_for(method, inner)
        return inner

    def _check_cert_sn(self, method: str, texts: Mapping[str, str]) -> None:
        """Certificate mode: an answer naming an Alipay certificate is signed with that one's
        key; another than ours means Alipay rotated it (download the new one in the console)."""
        if self.certificates is None or "alipay_cert_sn" not in texts:
            return
        named = json.loads(texts["alipay_cert_sn"])
        if named != self.certificates.alipay_cert_sn:
            log.warning(
                "alipay %s answer signed under alipay_cert_sn %r, ours is %r",
                method,
                named,
                self.certificates.alipay_cert_sn,
            )
            raise SignatureInvalid("支付宝公钥证书已更换，请在支付配置中上传新证书")

    # - bills (alipay.data.dataservice.bill.downloadurl.query) -

    def bill_download_url(self, bill_date: date) -> str | None:
        """The trade bill (收单交易) URL of a day, valid ~30 s; None when Alipay has no bill
        (isp.bill_not_exist: nothing that day, or not generated yet)."""
        try:
            body = self._call(
                "alipay.data.dataservice.bill.downloadurl.query",
                {"bill_type": "trade", "bill_date": bill_date.isoformat()},
            )
        except AlipayError as exc:
            if exc.sub_code == BILL_NOT_EXIST:
                return None
            raise
        return _text(body, "bill_download_url")

    def download_bill(self, url: str, *, directory: str | None = None) -> Path:
        """Stream the bill zip to a temporary file (the caller removes it). No extra auth:
        the URL carries its own short-lived token."""
        if urlsplit(url).scheme not in ("http", "https"):
            raise UpstreamError("支付宝账单下载地址无法识别")
        handle, name = tempfile.mkstemp(prefix="alipay-bill-", suffix=".csv.zip", dir=directory)
        path = Path(name)
        try:
            with os.fdopen(handle, "wb") as out:
                try:
                    with self.http.get(url, timeout=self.timeout, stream=True) as response:
                        if response.status_code >= 300:
                            log.warning("alipay bill download http %s", response.status_code)
                            raise AlipayUnavailable()
                        for chunk in response.iter_content(chunk_size=1 << 16):
                            out.write(chunk)
                except requests.RequestException as exc:
                    raise AlipayUnavailable() from exc
            if not zipfile.is_zipfile(path):
                raise UpstreamError("支付宝账单文件不是 zip")
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path


def _error_for(method: str, inner: Mapping[str, Any]) -> Exception:
    code = str(inner.get("code", ""))
    sub_code = str(inner.get("sub_code", ""))
    sub_msg = str(inner.get("sub_msg", ""))
    log.warning("alipay %s code=%s sub_code=%s sub_msg=%s", method, code, sub_code, sub_msg)
    if code in UNAVAILABLE_CODES or sub_code in RETRYABLE_SUB_CODES:
        return AlipayUnavailable(code=code, sub_code=sub_code)
    kind: type[AlipayError] = AlipayError
    if sub_code == "ACQ.TRADE_NOT_EXIST":
        kind = AlipayTradeNotExist
    elif sub_code == "ACQ.TRADE_HAS_SUCCESS":
        kind = AlipayTradeHasSuccess
    elif sub_code in ("ACQ.TRADE_STATUS_ERROR", "ACQ.TRADE_HAS_CLOSE", "ACQ.TRADE_HAS_FINISHED"):
        kind = AlipayTradeStatusError
    message = f"支付宝接口错误（{code} {sub_code}）" if kind is AlipayError else None
    return kind(message, code=code, sub_code=sub_code, sub_msg=sub_msg)


def _yuan(fen: int) -> str:
    if isinstance(fen, bool) or not isinstance(fen, int) or fen <= 0:
        raise ValueError("amount must be a positive number of fen")
    return fen_to_yuan_text(fen)


def _text(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise UpstreamError(f"支付宝返回数据不完整（{key}）")
    return value


def _fen(body: Mapping[str, Any], key: str) -> int:
    try:
        return yuan_to_fen(body.get(key))  # type: ignore[arg-type]
    except ValueError as exc:
        raise UpstreamError(f"支付宝返回金额无法识别（{key}）") from exc


# --- notifications ----------------------------------------------------------------------------


def verify_notification(
    body: bytes,
    *,
    app_id: str,
    alipay_public_key: rsa.RSAPublicKey,
    content_type: str | None = None,
    seller_id: str | None = None,
) -> AlipayNotification:
    """Verify the raw form body of an Alipay async notification and return it parsed.

    Raises SignatureInvalid (bad or missing signature) or NotificationRejected (not ours,
    malformed); the notify endpoint then answers NOTIFY_FAILURE_BODY so Alipay redelivers.
    `seller_id` (our PID, 2088…), when known, must match too. Comparing the amount with the
    payment and acting only once per trade are the caller's job.
    """
    charset = _notification_charset(body, content_type)
    try:
        text = body.decode(charset)
        pairs = parse_qsl(
            text, keep_blank_values=True, strict_parsing=True, encoding=charset, errors="strict"
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise NotificationRejected("支付宝通知无法解析") from exc
    params: dict[str, str] = {}
    for key, value in pairs:
        if key in params:
            raise NotificationRejected(f"支付宝通知参数重复（{key}）")
        params[key] = value
    sign = params.pop("sign", "")
    sign_type = params.pop("sign_type", "")
    if sign_type != "RSA2" or not sign:
        raise SignatureInvalid("支付宝通知缺少 RSA2 签名")
    if not rsa2_verify(sign_content(params), sign, alipay_public_key, charset=charset):
        raise SignatureInvalid("支付宝通知签名验证失败")
    if not app_id or params.get("app_id") != app_id:
        raise NotificationRejected("支付宝通知不属于本应用")
    if seller_id and params.get("seller_id") != seller_id:
        raise NotificationRejected("支付宝通知的收款账号不是本商户")
    missing = [
        key
        for key in ("notify_id", "trade_status", "out_trade_no", "trade_no", "total_amount")
        if not params.get(key)
    ]
    if missing:
        raise NotificationRejected(f"支付宝通知缺少参数（{', '.join(missing)}）")
    try:
        total_fen = yuan_to_fen(params["total_amount"])
        refund_text = params.get("refund_fee")
        refund_fee_fen = yuan_to_fen(refund_text) if refund_text else None
    except ValueError as exc:
        raise NotificationRejected("支付宝通知金额无法识别") from exc
    return AlipayNotification(
        notify_id=params["notify_id"],
        notify_type=params.get("notify_type", ""),
        app_id=params["app_id"],
        trade_status=params["trade_status"],
        out_trade_no=params["out_trade_no"],
        trade_no=params["trade_no"],
        total_fen=total_fen,
        seller_id=params.get("seller_id") or None,
        buyer_id=params.get("buyer_id") or params.get("buyer_open_id") or None,
        refund_fee_fen=refund_fee_fen,
        out_biz_no=params.get("out_biz_no") or None,
        params=params,
    )


def _notification_charset(body: bytes, content_type: str | None) -> str:
    """The `charset` parameter Alipay signed in, else the Content-Type's, else UTF-8."""
    declared = ""
    match = re.search(rb"(?:^|&)charset=([A-Za-z0-9_-]+)(?:&|$)", body)
    if match:
        declared = match.group(1).decode("ascii")
    elif content_type:
        found = re.search(r"charset=([A-Za-z0-9_-]+)", content_type, re.IGNORECASE)
        declared = found.group(1) if found else ""
    charset = declared or CHARSET
    try:
        codecs.lookup(charset)
    except LookupError as exc:
        raise NotificationRejected(f"支付宝通知字符集无法识别（{charset}）") from exc
    return charset
