"""WeChat Pay API v3 for the mini-program (JSAPI): prepay, query, close, refunds, notifications.

Our own client on `requests` and `cryptography` (WeChat Pay API v3). Every request is signed
with the merchant key (WECHATPAY2-SHA256-RSA2048); every response and notification is verified
with the platform key named by `Wechatpay-Serial` (public-key mode `PUB_KEY_ID_…` or a platform
certificate serial; both may be held during WeChat's migration ramp) and refused when the
serial is unknown, the signature is wrong, or the timestamp is more than five minutes off.
The base URL is configuration, so tests talk to a loopback fake speaking the same protocol.

Only a verified query or a verified notification proves a payment; an error code never does.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import tempfile
import time
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol
from urllib.parse import quote, urlencode, urlsplit

import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from server.config import Settings
from server.kernel.clock import LOCAL_TZ
from server.kernel.errors import UpstreamError

log = logging.getLogger(__name__)

SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
# WeChat refuses requests, and we refuse answers and notifications, this far off our clock.
MAX_CLOCK_SKEW_SECONDS = 300
# WeChat sends notifications with deliberately wrong signatures to check that we verify them.
PROBE_SIGNATURE_PREFIX = "WECHATPAY/SIGNTEST/"
PUBLIC_KEY_ID_PREFIX = "PUB_KEY_ID_"
USER_AGENT = "baoxiu-wechatpay/1"
DEFAULT_TIMEOUT = (5.0, 15.0)  # (connect, read) seconds

# Canonical error codes; older WeChat tables spell some without the underscore.
RETRYABLE_CODES = frozenset(
    {"SYSTEM_ERROR", "FREQUENCY_LIMITED", "BANK_ERROR", "NETWORK_ERROR", "STATEMENT_CREATING"}
)
KNOWN_CODES = frozenset(
    {
        "SYSTEM_ERROR",
        "FREQUENCY_LIMITED",
        "BANK_ERROR",
        "PARAM_ERROR",
        "INVALID_REQUEST",
        "SIGN_ERROR",
        "APPID_MCHID_NOT_MATCH",
        "MCH_NOT_EXISTS",
        "ORDER_CLOSED",
        "ORDERPAID",
        "OUT_TRADE_NO_USED",
        "NO_AUTH",
        "RULE_LIMIT",
        "TRADE_ERROR",
        "ORDER_NOT_EXIST",
        "OPENID_MISMATCH",
        "RESOURCE_NOT_EXISTS",
        "NOT_ENOUGH",
        "USER_ACCOUNT_ABNORMAL",
        "NO_STATEMENT_EXIST",
        "STATEMENT_CREATING",
    }
)
_BY_LOOSE_CODE = {code.replace("_", ""): code for code in KNOWN_CODES}
# ASCII digits only: `str.isdigit()` takes "²" (which `int()` refuses) and `int()` takes "١٢٣".
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_OUT_TRADE_NO = re.compile(r"^[0-9A-Za-z_\-|*]{6,32}$")
_OUT_REFUND_NO = re.compile(r"^[0-9A-Za-z_\-|*@]{1,64}$")


def canonical_code(code: str) -> str:
    """`SYSTEMERROR` → `SYSTEM_ERROR`; unknown codes are returned upper-cased as they came."""
    upper = code.strip().upper()
    return _BY_LOOSE_CODE.get(upper.replace("_", ""), upper)


class WeChatPayError(UpstreamError):
    """WeChat Pay refused a call or could not be reached.

    `code` is WeChat's error code (canonical spelling), `NETWORK_ERROR` when no answer came or
    `HTTP_<status>` when the answer had no error body. `retryable` says whether repeating the
    very same request (same out_trade_no / out_refund_no) may succeed.
    """

    def __init__(
        self,
        code: str,
        message: str = "",
        *,
        http_status: int | None = None,
        retryable: bool = False,
        request_id: str | None = None,
        detail: Any = None,
    ) -> None:
        self.code = code
        self.wechat_message = message
        self.http_status = http_status
        self.retryable = retryable
        self.request_id = request_id
        self.detail = detail
        if retryable:
            self.error, self.status = "upstream_unavailable", 503
            super().__init__("微信支付暂时不可用，请稍后再试")
        else:
            super().__init__(f"微信支付请求失败（{code}）")

    def __repr__(self) -> str:
        return (
            f"WeChatPayError(code={self.code!r}, http_status={self.http_status!r}, "
            f"retryable={self.retryable!r}, request_id={self.request_id!r})"
        )


class SignatureInvalid(UpstreamError):
    """A response or notification failed verification (signature, serial, time or decryption)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__("微信支付签名验证失败")


class HeaderSource(Protocol):
    """Response or request headers: a dict, requests' or werkzeug's (any name case)."""

    def items(self) -> Iterable[tuple[str, str]]: ...


# --- keys -------------------------------------------------------------------------------------


def load_private_key(pem: bytes) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("WeChat Pay merchant key must be an RSA private key")
    return key


def load_public_key(pem: bytes) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("WeChat Pay public key must be an RSA public key")
    return key


def certificate_serial(certificate: x509.Certificate) -> str:
    """The serial as WeChat writes it in `Wechatpay-Serial`: upper-case hex."""
    return format(certificate.serial_number, "X")


@dataclass(frozen=True)
class PlatformKeys:
    """WeChat's verification keys by `Wechatpay-Serial`: the public key id and/or cert serials.

    A platform certificate's key is used only within its validity (notBefore … notAfter): an
    answer or notification signed under an expired certificate is refused like a bad signature.
    The public key of public-key mode has no validity of its own.
    """

    keys: Mapping[str, rsa.RSAPublicKey]
    # The serial we send in our `Wechatpay-Serial` header, so WeChat signs answers with it.
    preferred_serial: str
    # Certificate serial -> (notBefore, notAfter), timezone-aware UTC.
    validity: Mapping[str, tuple[datetime, datetime]] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        *,
        public_key_id: str = "",
        public_key_pem: bytes = b"",
        certificates_pem: tuple[bytes, ...] = (),
    ) -> PlatformKeys:
        keys: dict[str, rsa.RSAPublicKey] = {}
        validity: dict[str, tuple[datetime, datetime]] = {}
        if public_key_id or public_key_pem:
            if not public_key_id.startswith(PUBLIC_KEY_ID_PREFIX) or not public_key_pem:
                raise ValueError("WeChat Pay public key needs both the key and its PUB_KEY_ID_…")
            keys[public_key_id] = load_public_key(public_key_pem)
        for pem in certificates_pem:
            certificate = x509.load_pem_x509_certificate(pem)
            key = certificate.public_key()
            if not isinstance(key, rsa.RSAPublicKey):
                raise ValueError("WeChat Pay platform certificate must hold an RSA key")
            serial = certificate_serial(certificate)
            keys[serial] = key
            validity[serial] = (certificate.not_valid_before_utc, certificate.not_valid_after_utc)
        if not keys:
            raise ValueError("WeChat Pay needs a platform public key or certificate")
        # The public key when there is one, else the certificate that stays valid the longest.
        preferred = public_key_id or max(validity, key=lambda s: validity[s][1])
        return cls(keys=keys, preferred_serial=preferred, validity=validity)

    def key_for(self, serial: str, *, now: datetime | None = None) -> rsa.RSAPublicKey:
        for name in (serial, serial.upper()):
            key = self.keys.get(name)
            if key is None:
                continue
            window = self.validity.get(name)
            if window is not None and now is not None and not window[0] <= now <= window[1]:
                raise SignatureInvalid(
                    f"platform certificate {name} is not valid at {now.isoformat()} "
                    f"({window[0].isoformat()} … {window[1].isoformat()})"
                )
            return key
        raise SignatureInvalid(f"unknown Wechatpay-Serial {serial!r}")

    def expiring(self) -> list[tuple[str, datetime]]:
        """Each platform certificate's serial and notAfter, soonest first."""
        return sorted(((s, w[1]) for s, w in self.validity.items()), key=lambda item: item[1])


@dataclass(frozen=True)
class MerchantAccount:
    """One merchant's credentials (WeChat Pay API v3: 商户证书与平台公钥)."""

    mchid: str
    appid: str
    serial_no: str  # the merchant API certificate serial
    private_key: rsa.RSAPrivateKey = field(repr=False)
    apiv3_key: bytes = field(repr=False)
    platform: PlatformKeys = field(repr=False)
    notify_url: str = ""

    def __post_init__(self) -> None:
        if len(self.apiv3_key) != 32:
            raise ValueError("WeChat Pay APIv3 key must be exactly 32 bytes")


_PEM_BLOCK = re.compile(rb"-----BEGIN (PUBLIC KEY|CERTIFICATE)-----.+?-----END \1-----", re.DOTALL)


def account_from_settings(
    settings: Settings, *, appid: str | None = None
) -> MerchantAccount | None:
    """The merchant account configured by WECHATPAY_*, or None when WeChat Pay is not set up."""
    if not settings.wechatpay_mchid:
        return None
    for name, value in (
        ("WECHATPAY_PRIVATE_KEY_PATH", settings.wechatpay_private_key_path),
        ("WECHATPAY_CERT_SERIAL", settings.wechatpay_cert_serial),
        ("WECHATPAY_PUBLIC_KEY_PATH", settings.wechatpay_public_key_path),
        ("WECHATPAY_APIV3_KEY", settings.wechatpay_apiv3_key),
    ):
        if not value:
            raise ValueError(f"WECHATPAY_MCHID is set but {name} is not")
    # The platform file holds the WeChat Pay public key (public-key mode), platform
    # certificates, or both during the migration ramp; keys are then chosen by serial.
    public_key_pem, certificates = b"", []
    for block in _PEM_BLOCK.finditer(Path(settings.wechatpay_public_key_path).read_bytes()):
        if block.group(1) == b"PUBLIC KEY":
            public_key_pem = block.group(0)
        else:
            certificates.append(block.group(0))
    return MerchantAccount(
        mchid=settings.wechatpay_mchid,
        appid=appid if appid is not None else settings.wechat_appid,
        serial_no=settings.wechatpay_cert_serial,
        private_key=load_private_key(Path(settings.wechatpay_private_key_path).read_bytes()),
        apiv3_key=settings.wechatpay_apiv3_key.encode(),
        platform=PlatformKeys.build(
            public_key_id=settings.wechatpay_public_key_id if public_key_pem else "",
            public_key_pem=public_key_pem,
            certificates_pem=tuple(certificates),
        ),
        notify_url=settings.wechatpay_notify_url,
    )


# --- signatures and encryption ----------------------------------------------------------------


def rsa_sign(private_key: rsa.RSAPrivateKey, message: bytes) -> str:
    """base64(SHA256withRSA PKCS#1 v1.5)."""
    signature = private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode("ascii")


def rsa_verify(public_key: rsa.RSAPublicKey, message: bytes, signature_b64: str) -> bool:
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def request_message(
    method: str, path_with_query: str, timestamp: str, nonce: str, body: bytes
) -> bytes:
    """The canonical request message: METHOD, URL path with query, timestamp, nonce, body."""
    head = f"{method.upper()}\n{path_with_query}\n{timestamp}\n{nonce}\n".encode()
    return head + body + b"\n"


def authorization_header(
    account: MerchantAccount,
    method: str,
    path_with_query: str,
    body: bytes,
    *,
    timestamp: str,
    nonce: str,
) -> str:
    signature = rsa_sign(
        account.private_key, request_message(method, path_with_query, timestamp, nonce, body)
    )
    return (
        f'{SIGNATURE_TYPE} mchid="{account.mchid}",nonce_str="{nonce}",'
        f'signature="{signature}",timestamp="{timestamp}",serial_no="{account.serial_no}"'
    )


def verify_wechatpay_signature(
    platform: PlatformKeys, headers: HeaderSource, body: bytes, *, now: float
) -> None:
    """Check Wechatpay-* headers over `timestamp\\nnonce\\nbody\\n`; raise SignatureInvalid."""
    lowered = {k.lower(): v for k, v in headers.items()}
    signature = lowered.get("wechatpay-signature", "")
    timestamp = lowered.get("wechatpay-timestamp", "")
    nonce = lowered.get("wechatpay-nonce", "")
    serial = lowered.get("wechatpay-serial", "")
    signature_type = lowered.get("wechatpay-signature-type", SIGNATURE_TYPE)
    if not (signature and timestamp and nonce and serial):
        raise SignatureInvalid("missing Wechatpay signature headers")
    if signature_type != SIGNATURE_TYPE:
        raise SignatureInvalid(f"unsupported signature type {signature_type!r}")
    if signature.startswith(PROBE_SIGNATURE_PREFIX):
        raise SignatureInvalid("WeChat Pay probe signature")
    if not _TIMESTAMP.fullmatch(timestamp) or abs(now - int(timestamp)) > MAX_CLOCK_SKEW_SECONDS:
        raise SignatureInvalid(f"timestamp {timestamp!r} outside the allowed window")
    key = platform.key_for(serial, now=datetime.fromtimestamp(now, UTC))
    message = f"{timestamp}\n{nonce}\n".encode() + body + b"\n"
    if not rsa_verify(key, message, signature):
        raise SignatureInvalid("signature does not match")


def decrypt_bytes(apiv3_key: bytes, resource: Mapping[str, Any]) -> bytes:
    """AEAD_AES_256_GCM-decrypt an encrypted `resource` (or `encrypt_certificate`) to bytes."""
    if resource.get("algorithm") != "AEAD_AES_256_GCM":
        raise SignatureInvalid(f"unsupported algorithm {resource.get('algorithm')!r}")
    nonce, ciphertext = resource.get("nonce"), resource.get("ciphertext")
    associated = resource.get("associated_data") or ""
    if (
        not isinstance(nonce, str)
        or not isinstance(ciphertext, str)
        or not isinstance(associated, str)
    ):
        raise SignatureInvalid("incomplete encrypted resource")
    try:
        return AESGCM(apiv3_key).decrypt(
            nonce.encode(), base64.b64decode(ciphertext, validate=True), associated.encode()
        )
    except (InvalidTag, binascii.Error, ValueError) as exc:
        raise SignatureInvalid("resource does not decrypt") from exc


def decrypt_resource(apiv3_key: bytes, resource: Mapping[str, Any]) -> dict[str, Any]:
    """AEAD_AES_256_GCM-decrypt a notification `resource` into its JSON object."""
    plaintext = decrypt_bytes(apiv3_key, resource)
    try:
        data = json.loads(plaintext)
    except ValueError as exc:
        raise SignatureInvalid("resource does not decrypt") from exc
    if not isinstance(data, dict):
        raise SignatureInvalid("decrypted resource is not an object")
    return data


def encrypt_bytes(
    apiv3_key: bytes, plaintext: bytes, *, associated_data: str, nonce: str
) -> dict[str, str]:
    """The inverse of `decrypt_bytes` (what WeChat does), for the sandbox and tests."""
    ciphertext = AESGCM(apiv3_key).encrypt(nonce.encode(), plaintext, associated_data.encode())
    return {
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": base64.b64encode(ciphertext).decode("ascii"),
        "associated_data": associated_data,
        "nonce": nonce,
    }


def encrypt_resource(
    apiv3_key: bytes, plaintext: Mapping[str, Any], *, associated_data: str, nonce: str
) -> dict[str, str]:
    """The inverse of `decrypt_resource` (what WeChat does), for the sandbox and tests."""
    raw = json.dumps(plaintext, ensure_ascii=False, separators=(",", ":")).encode()
    return encrypt_bytes(apiv3_key, raw, associated_data=associated_data, nonce=nonce)


# --- notifications ----------------------------------------------------------------------------


@dataclass(frozen=True)
class WeChatPayNotification:
    id: str
    event_type: str  # TRANSACTION.SUCCESS, REFUND.SUCCESS, REFUND.ABNORMAL, REFUND.CLOSED
    original_type: str  # transaction | refund
    summary: str
    create_time: str
    resource: dict[str, Any]  # the decrypted transaction or refund


def parse_notification(
    *,
    body: bytes,
    headers: HeaderSource,
    account: MerchantAccount,
    now: datetime,
) -> WeChatPayNotification:
    """Verify a payment/refund notification on its raw body and decrypt its resource.

    Raise SignatureInvalid on any failure; answer it with `NOTIFY_FAILURE` (HTTP 401).
    Business checks (mchid/appid/amount against our payment) are the caller's.
    """
    verify_wechatpay_signature(account.platform, headers, body, now=now.timestamp())
    try:
        envelope = json.loads(body)
    except ValueError as exc:
        raise SignatureInvalid("notification body is not JSON") from exc
    if not isinstance(envelope, dict) or not isinstance(envelope.get("resource"), dict):
        raise SignatureInvalid("notification has no resource")
    resource = decrypt_resource(account.apiv3_key, envelope["resource"])
    return WeChatPayNotification(
        id=str(envelope.get("id", "")),
        event_type=str(envelope.get("event_type", "")),
        original_type=str(envelope["resource"].get("original_type", "")),
        summary=str(envelope.get("summary", "")),
        create_time=str(envelope.get("create_time", "")),
        resource=resource,
    )


# What WeChat expects back: any 2xx with an empty body is success (we answer 204); anything
# else makes it redeliver, with {"code": "FAIL", "message": …} as the body.
NOTIFY_SUCCESS_STATUS = 204


def notify_failure(message: str = "签名验证失败") -> dict[str, str]:
    """The body for a refused notification (send with 401 on bad signatures, 500 on our faults)."""
    return {"code": "FAIL", "message": message}


# --- the client -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlatformCertificate:
    """A WeChat Pay platform certificate as /v3/certificates hands it out (decrypted)."""

    serial: str
    pem: str
    not_before: datetime
    not_after: datetime


def _local_rfc3339(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("time_expire must be timezone-aware")
    return moment.astimezone(LOCAL_TZ).isoformat(timespec="seconds")


class WeChatPayClient:
    def __init__(
        self,
        *,
        account: MerchantAccount,
        base_url: str,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        http: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.account = account
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.http = http or requests.Session()
        self.clock = clock

    @classmethod
    def from_settings(cls, settings: Settings) -> WeChatPayClient | None:
        """The client for WECHATPAY_* / WECHATPAY_API_BASE, or None when not configured."""
        account = account_from_settings(settings)
        if account is None:
            return None
        return cls(account=account, base_url=settings.wechatpay_api_base)

    # JSAPI payments

    def jsapi_prepay(
        self,
        *,
        out_trade_no: str,
        description: str,
        amount_fen: int,
        payer_openid: str,
        time_expire: datetime | None = None,
        attach: str | None = None,
        notify_url: str | None = None,
    ) -> str:
        """Create (or, with identical parameters, fetch again) the prepay_id of a payment."""
        _check_out_trade_no(out_trade_no)
        if amount_fen <= 0:
            raise ValueError("amount_fen must be positive")
        payload: dict[str, Any] = {
            "appid": self.account.appid,
            "mchid": self.account.mchid,
            "description": description[:127],
            "out_trade_no": out_trade_no,
            "notify_url": notify_url or self.account.notify_url,
            "amount": {"total": amount_fen, "currency": "CNY"},
            "payer": {"openid": payer_openid},
        }
        if time_expire is not None:
            payload["time_expire"] = _local_rfc3339(time_expire)
        if attach is not None:
            payload["attach"] = attach
        body = self._call("POST", "/v3/pay/transactions/jsapi", payload)
        prepay_id = body.get("prepay_id")
        if not isinstance(prepay_id, str) or not prepay_id:
            raise UpstreamError("微信支付下单返回数据不完整")
        return prepay_id

    def request_payment_params(
        self, prepay_id: str, *, timestamp: int | None = None, nonce: str | None = None
    ) -> dict[str, str]:
        """The object the mini-program passes to `wx.requestPayment`."""
        time_stamp = str(int(self.clock()) if timestamp is None else timestamp)
        nonce_str = nonce or secrets.token_hex(16)
        package = f"prepay_id={prepay_id}"
        message = f"{self.account.appid}\n{time_stamp}\n{nonce_str}\n{package}\n".encode()
        return {
            "appId": self.account.appid,
            "timeStamp": time_stamp,
            "nonceStr": nonce_str,
            "package": package,
            "signType": "RSA",
            "paySign": rsa_sign(self.account.private_key, message),
        }

    def query_by_out_trade_no(self, out_trade_no: str) -> dict[str, Any]:
        """The transaction as WeChat knows it (trade_state SUCCESS, NOTPAY, CLOSED, …)."""
        _check_out_trade_no(out_trade_no)
        path = f"/v3/pay/transactions/out-trade-no/{quote(out_trade_no, safe='')}"
        transaction = self._call("GET", path, query={"mchid": self.account.mchid})
        if transaction.get("mchid") != self.account.mchid:
            raise UpstreamError("微信支付查单结果不属于本商户")
        return transaction

    def close(self, out_trade_no: str) -> None:
        """Close an unpaid payment; raises WeChatPayError ORDERPAID when it was paid meanwhile."""
        _check_out_trade_no(out_trade_no)
        path = f"/v3/pay/transactions/out-trade-no/{quote(out_trade_no, safe='')}/close"
        self._call("POST", path, {"mchid": self.account.mchid})

    # Refunds

    def refund(
        self,
        *,
        out_trade_no: str,
        out_refund_no: str,
        refund_fen: int,
        total_fen: int,
        reason: str | None = None,
        notify_url: str | None = None,
    ) -> dict[str, Any]:
        """Ask for a refund; retry a failure with the SAME out_refund_no, never a new one."""
        _check_out_trade_no(out_trade_no)
        _check_out_refund_no(out_refund_no)
        if not 0 < refund_fen <= total_fen:
            raise ValueError("refund_fen must be positive and at most total_fen")
        payload: dict[str, Any] = {
            "out_trade_no": out_trade_no,
            "out_refund_no": out_refund_no,
            "amount": {"refund": refund_fen, "total": total_fen, "currency": "CNY"},
        }
        if reason:
            payload["reason"] = reason[:80]
        if notify_url:
            payload["notify_url"] = notify_url
        return self._call("POST", "/v3/refund/domestic/refunds", payload)

    def query_refund(self, out_refund_no: str) -> dict[str, Any]:
        _check_out_refund_no(out_refund_no)
        path = f"/v3/refund/domestic/refunds/{quote(out_refund_no, safe='')}"
        return self._call("GET", path)

    # Platform certificates (下载平台证书)

    def platform_certificates(self) -> list[PlatformCertificate]:
        """GET /v3/certificates: WeChat's platform certificates, decrypted with the APIv3 key.

        The answer is verified like every answer, with the keys already trusted (never with
        the certificates it brings), so a certificate is only learnt from WeChat itself; each
        one must decrypt (AES-GCM with the APIv3 key), parse, hold an RSA key and carry the
        serial it is listed under. Expired ones are left out.
        """
        answer = self._call("GET", "/v3/certificates")
        items = answer.get("data")
        if not isinstance(items, list):
            raise UpstreamError("微信支付平台证书返回数据不完整")
        now = datetime.fromtimestamp(self.clock(), UTC)
        found: list[PlatformCertificate] = []
        for item in items:
            encrypted = item.get("encrypt_certificate") if isinstance(item, dict) else None
            if not isinstance(encrypted, dict):
                raise UpstreamError("微信支付平台证书返回数据不完整")
            pem = decrypt_bytes(self.account.apiv3_key, encrypted)
            try:
                certificate = x509.load_pem_x509_certificate(pem)
            except ValueError as exc:
                raise SignatureInvalid("platform certificate does not parse") from exc
            if not isinstance(certificate.public_key(), rsa.RSAPublicKey):
                raise SignatureInvalid("platform certificate holds no RSA key")
            serial = certificate_serial(certificate)
            if str(item.get("serial_no", "")).upper() != serial:
                raise SignatureInvalid("platform certificate is listed under another serial")
            if certificate.not_valid_after_utc < now:
                continue
            found.append(
                PlatformCertificate(
                    serial=serial,
                    pem=certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
                    not_before=certificate.not_valid_before_utc,
                    not_after=certificate.not_valid_after_utc,
                )
            )
        return found

    # The wire

    def _call(
        self,
        method: str,
        path: str,
        payload: Mapping[str, Any] | None = None,
        *,
        query: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        path_with_query = path + ("?" + urlencode(query) if query else "")
        # The bytes signed are the bytes sent: serialise once.
        body = (
            b""
            if payload is None
            else json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        )
        headers = {
            "Authorization": authorization_header(
                self.account,
                method,
                path_with_query,
                body,
                timestamp=str(int(self.clock())),
                nonce=secrets.token_hex(16),
            ),
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
            "Wechatpay-Serial": self.account.platform.preferred_serial,
        }
        if payload is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = self.http.request(
                method,
                self.base_url + path_with_query,
                data=body if payload is not None else None,
                headers=headers,
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            log.warning("wechatpay %s %s unreachable: %s", method, path, type(exc).__name__)
            raise WeChatPayError("NETWORK_ERROR", type(exc).__name__, retryable=True) from exc
        raw = response.content
        request_id = response.headers.get("Request-ID")
        has_signature = "Wechatpay-Signature" in response.headers
        if 200 <= response.status_code < 300 or has_signature:
            # A success is only believed when signed; a signed error must be signed right.
            try:
                verify_wechatpay_signature(
                    self.account.platform, response.headers, raw, now=self.clock()
                )
            except SignatureInvalid as exc:
                log.warning(
                    "wechatpay %s %s answer refused (%s) request_id=%s",
                    method,
                    path,
                    exc.reason,
                    request_id,
                )
                raise
        if response.status_code >= 300:
            raise _error_from(response.status_code, raw, request_id)
        if not raw:
            return {}
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise UpstreamError("微信支付返回了无法解析的数据") from exc
        if not isinstance(data, dict):
            raise UpstreamError("微信支付返回了无法解析的数据")
        return data

    # Bills (申请交易账单, 下载账单)

    def trade_bill(
        self, bill_date: date, *, bill_type: str = "ALL", directory: str | None = None
    ) -> TradeBill | None:
        """Apply for a day's trade bill and download it (gzip) to a temporary file.

        None when WeChat has no bill for that day (NO_STATEMENT_EXIST: nothing happened);
        WeChatPayError STATEMENT_CREATING (retryable) before it is ready (≈ 10:00 D+1).
        The file's SHA-1 (of the uncompressed bill) is checked; the caller removes the file.
        """
        query = {"bill_date": bill_date.isoformat(), "bill_type": bill_type, "tar_type": "GZIP"}
        try:
            answer = self._call("GET", "/v3/bill/tradebill", query=query)
        except WeChatPayError as exc:
            if exc.code == "NO_STATEMENT_EXIST":
                return None
            raise
        url, hash_value = answer.get("download_url"), answer.get("hash_value")
        if not isinstance(url, str) or not isinstance(hash_value, str) or not url:
            raise UpstreamError("微信支付账单申请返回数据不完整")
        if str(answer.get("hash_type", "SHA1")).upper() != "SHA1":
            raise UpstreamError("微信支付账单摘要算法无法识别")
        path = self._download_bill(url, hash_value.lower(), directory=directory)
        return TradeBill(
            path=path, bill_date=bill_date, bill_type=bill_type, hash_value=hash_value.lower()
        )

    def _download_bill(self, url: str, hash_value: str, *, directory: str | None) -> Path:
        """GET the download URL with a signed request; the answer is NOT signed (§2.10), so
        its integrity is the SHA-1 of the gunzipped bytes, computed while streaming to disk."""
        parts, base = urlsplit(url), urlsplit(self.base_url)
        # The Authorization header goes to WeChat's own host only.
        if (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
            raise UpstreamError("微信支付账单下载地址不可信")
        path_with_query = parts.path + ("?" + parts.query if parts.query else "")
        headers = {
            "Authorization": authorization_header(
                self.account,
                "GET",
                path_with_query,
                b"",
                timestamp=str(int(self.clock())),
                nonce=secrets.token_hex(16),
            ),
            "Accept": "*/*",
            "User-Agent": USER_AGENT,
        }
        handle, name = tempfile.mkstemp(prefix="wechatpay-bill-", suffix=".csv.gz", dir=directory)
        path = Path(name)
        try:
            with os.fdopen(handle, "wb") as out:
                try:
                    response = self.http.get(
                        url, headers=headers, timeout=self.timeout, stream=True
                    )
                except requests.RequestException as exc:
                    raise WeChatPayError(
                        "NETWORK_ERROR", type(exc).__name__, retryable=True
                    ) from exc
                with response:
                    if response.status_code >= 300:
                        raise _error_from(
                            response.status_code,
                            response.content,
                            response.headers.get("Request-ID"),
                        )
                    digest = hashlib.sha1(usedforsecurity=False)
                    inflater = zlib.decompressobj(wbits=31)
                    try:
                        for chunk in response.iter_content(chunk_size=1 << 16):
                            out.write(chunk)
                            data = chunk
                            while data:
                                digest.update(inflater.decompress(data))
                                data = b""
                                if inflater.eof:  # a gzip may hold several members
                                    data = inflater.unused_data
                                    inflater = zlib.decompressobj(wbits=31)
                        digest.update(inflater.flush())
                    except (requests.RequestException, zlib.error) as exc:
                        raise WeChatPayError(
                            "NETWORK_ERROR", type(exc).__name__, retryable=True
                        ) from exc
            if not hmac.compare_digest(digest.hexdigest(), hash_value):
                log.warning("wechatpay bill download refused: SHA-1 mismatch")
                raise UpstreamError("微信支付账单文件校验失败")
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path


def _error_from(status: int, raw: bytes, request_id: str | None) -> WeChatPayError:
    code, message, detail = f"HTTP_{status}", "", None
    try:
        data = json.loads(raw) if raw else None
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("code"), str):
        code = canonical_code(data["code"])
        message = str(data.get("message", ""))
        detail = data.get("detail")
    retryable = status >= 500 or status == 429 or code in RETRYABLE_CODES
    log.warning(
        "wechatpay error http=%s code=%s message=%s request_id=%s",
        status,
        code,
        message,
        request_id,
    )
    return WeChatPayError(
        code,
        message,
        http_status=status,
        retryable=retryable,
        request_id=request_id,
        detail=detail,
    )


def _check_out_trade_no(value: str) -> None:
    if not _OUT_TRADE_NO.match(value):
        raise ValueError("out_trade_no must be 6–32 of [0-9A-Za-z_-|*]")


def _check_out_refund_no(value: str) -> None:
    if not _OUT_REFUND_NO.match(value):
        raise ValueError("out_refund_no must be 1–64 of [0-9A-Za-z_-|*@]")


@dataclass(frozen=True)
class TradeBill:
    """A downloaded, verified trade bill: a gzip file on disk (the caller removes it)."""

    path: Path
    bill_date: date
    bill_type: str
    hash_value: str  # SHA-1 of the uncompressed bill, as WeChat gave it

    def open(self) -> BinaryIO:
        """The uncompressed bill, streamed from the gzip file."""
        return gzip.open(self.path, "rb")  # type: ignore[return-value]
