"""Pure rules of payment accounts: formats of ids and keys, and which channels may be enabled.

No framework, database or settings here: key material is parsed with `cryptography` only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Mapping

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

WECHAT = "wechat"
ALIPAY = "alipay"
COMPANY = "company"
PROVIDERS = (WECHAT, ALIPAY)  # channels that need an account
CHANNELS = (WECHAT, ALIPAY, COMPANY)

MIN_RSA_BITS = 2048
APIV3_KEY_BYTES = 32

_MCHID = re.compile(r"^[0-9]{8,12}$")
_WECHAT_APPID = re.compile(r"^wx[0-9a-f]{16}$")
_ALIPAY_APPID = re.compile(r"^[0-9]{16}$")
_SELLER_ID = re.compile(r"^2088[0-9]{12}$")
_SERIAL = re.compile(r"^[0-9A-Fa-f]{8,40}$")
_PUBLIC_KEY_ID = re.compile(r"^PUB_KEY_ID_[0-9A-Za-z]{1,64}$")
_RSA_SIGNATURES = "1.2.840.113549.1.1."  # sha1/sha256/…WithRSAEncryption

# Secret fields per provider: stored sealed, never answered.
WECHAT_SECRETS = ("private_key", "apiv3_key")
ALIPAY_SECRETS = ("private_key",)
SECRET_FIELDS = {WECHAT: WECHAT_SECRETS, ALIPAY: ALIPAY_SECRETS}
# Public key material: versioned with the secrets (a payment is verified with its version).
WECHAT_KEYS = ("cert_serial", "platform_public_key", "platform_public_key_id", "platform_certs")
# Alipay: the Alipay public key (公钥模式), or the three certificates (公钥证书模式).
ALIPAY_CERTS = ("app_public_key_cert", "alipay_public_key_cert", "alipay_root_cert")
ALIPAY_KEYS = ("alipay_public_key", *ALIPAY_CERTS)
KEY_FIELDS = {WECHAT: WECHAT_KEYS, ALIPAY: ALIPAY_KEYS}

MSG_REQUIRED = "必填"
MSG_MCHID = "商户号应为 8 到 12 位数字"
MSG_WECHAT_APPID = "AppID 格式不正确（wx 开头的 18 位）"
MSG_ALIPAY_APPID = "支付宝应用 ID 应为 16 位数字"
MSG_SELLER_ID = "卖家支付宝用户号应为 2088 开头的 16 位数字"
MSG_SERIAL = "证书序列号格式不正确"
MSG_APIV3 = f"APIv3 密钥必须为 {APIV3_KEY_BYTES} 字节"
MSG_PRIVATE_KEY = "私钥无法解析，请上传 PEM 格式的 RSA 私钥"
MSG_WEAK_KEY = f"RSA 私钥长度不能少于 {MIN_RSA_BITS} 位"
MSG_PUBLIC_KEY = "公钥无法解析，请填写 PEM 格式的 RSA 公钥"
MSG_PUBLIC_KEY_ID = "平台公钥 ID 应以 PUB_KEY_ID_ 开头"
MSG_PLATFORM = "请填写微信支付平台公钥及其 ID，或平台证书"
MSG_CERT = "平台证书无法解析"
MSG_ALIPAY_MODE = "支付宝公钥与公钥证书只能选择一种"
MSG_ALIPAY_CERT = "证书无法解析，请上传 PEM 格式的 RSA 证书"
MSG_APP_CERT_MISMATCH = "应用公钥证书与应用私钥不匹配"
MSG_ROOT_CERT = "支付宝根证书无法解析或不含 RSA 证书"
MSG_CHANNEL_UNKNOWN = "未知的支付渠道"
MSG_CHANNEL_NO_ACCOUNT = "该渠道尚未配置支付账户，不能启用"

Errors = dict[str, list[str]]


def _add(errors: Errors, name: str, text: str) -> None:
    errors.setdefault(name, []).append(text)


def parse_private_key(text: str) -> rsa.RSAPrivateKey | None:
    """A PEM RSA private key (PKCS#8 or PKCS#1), or None when it does not parse."""
    try:
        key = serialization.load_pem_private_key(text.strip().encode(), password=None)
    except (ValueError, TypeError, UnicodeEncodeError):
        return None
    return key if isinstance(key, rsa.RSAPrivateKey) else None


def parse_public_key(text: str) -> rsa.RSAPublicKey | None:
    """A PEM RSA public key, or the bare base64 SubjectPublicKeyInfo Alipay shows."""
    data = text.strip()
    try:
        if data.startswith("-----"):
            key = serialization.load_pem_public_key(data.encode())
        else:
            key = serialization.load_der_public_key(base64.b64decode(data, validate=True))
    except (ValueError, TypeError, binascii.Error, UnicodeEncodeError):
        return None
    return key if isinstance(key, rsa.RSAPublicKey) else None


def parse_certificates(text: str) -> list[x509.Certificate] | None:
    try:
        certs = x509.load_pem_x509_certificates(text.strip().encode())
    except (ValueError, UnicodeEncodeError):
        return None
    if not all(isinstance(c.public_key(), rsa.RSAPublicKey) for c in certs):
        return None
    return certs


def fingerprint(key: rsa.RSAPublicKey) -> str:
    """SHA-256 of the DER SubjectPublicKeyInfo, hex: shows which key is stored, reveals nothing."""
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def _check_private_key(errors: Errors, name: str, text: str | None) -> None:
    if not text:
        _add(errors, name, MSG_REQUIRED)
        return
    key = parse_private_key(text)
    if key is None:
        _add(errors, name, MSG_PRIVATE_KEY)
    elif key.key_size < MIN_RSA_BITS:
        _add(errors, name, MSG_WEAK_KEY)


def _check_format(
    errors: Errors, data: Mapping[str, str | None], name: str, pattern: re.Pattern[str], msg: str
) -> None:
    value = data.get(name)
    if not value:
        _add(errors, name, MSG_REQUIRED)
    elif not pattern.match(value):
        _add(errors, name, msg)


def validate_wechat(data: Mapping[str, str | None], *, identity: bool, secrets: bool) -> Errors:
    """Errors per field of a WeChat Pay merchant: ids when `identity`, keys when `secrets`."""
    errors: Errors = {}
    if identity:
        _check_format(errors, data, "mchid", _MCHID, MSG_MCHID)
        _check_format(errors, data, "appid", _WECHAT_APPID, MSG_WECHAT_APPID)
    if secrets:
        _check_private_key(errors, "private_key", data.get("private_key"))
        apiv3 = data.get("apiv3_key") or ""
        if not apiv3:
            _add(errors, "apiv3_key", MSG_REQUIRED)
        elif len(apiv3.encode()) != APIV3_KEY_BYTES or not apiv3.isascii():
            _add(errors, "apiv3_key", MSG_APIV3)
        _check_format(errors, data, "cert_serial", _SERIAL, MSG_SERIAL)
        public_key, key_id = data.get("platform_public_key"), data.get("platform_public_key_id")
        certs = data.get("platform_certs")
        if not (public_key or key_id or certs):
            _add(errors, "platform_public_key", MSG_PLATFORM)
        if public_key or key_id:
            if not public_key or parse_public_key(public_key) is None:
                _add(errors, "platform_public_key", MSG_PUBLIC_KEY)
            if not key_id or not _PUBLIC_KEY_ID.match(key_id):
                _add(errors, "platform_public_key_id", MSG_PUBLIC_KEY_ID)
        if certs and not parse_certificates(certs):
            _add(errors, "platform_certs", MSG_CERT)
    return errors


def validate_alipay(data: Mapping[str, str | None], *, identity: bool, secrets: bool) -> Errors:
    """Errors per field of an Alipay app: ids when `identity`, keys when `secrets`."""
    errors: Errors = {}
    if identity:
        _check_format(errors, data, "appid", _ALIPAY_APPID, MSG_ALIPAY_APPID)
        seller = data.get("seller_id")
        if seller and not _SELLER_ID.match(seller):
            _add(errors, "seller_id", MSG_SELLER_ID)
    if secrets:
        _check_private_key(errors, "private_key", data.get("private_key"))
        public_key = data.get("alipay_public_key")
        if any(data.get(name) for name in ALIPAY_CERTS):
            if public_key:
                _add(errors, "alipay_public_key", MSG_ALIPAY_MODE)
            _check_alipay_certs(errors, data)
        elif not public_key:
            _add(errors, "alipay_public_key", MSG_REQUIRED)
        elif parse_public_key(public_key) is None:
            _add(errors, "alipay_public_key", MSG_PUBLIC_KEY)
    return errors


def alipay_cert_mode(data: Mapping[str, str | None]) -> bool:
    """Whether an Alipay key version is in certificate mode (公钥证书)."""
    return any(data.get(name) for name in ALIPAY_CERTS)


def _check_alipay_certs(errors: Errors, data: Mapping[str, str | None]) -> None:
    for name in ("app_public_key_cert", "alipay_public_key_cert"):
        text = data.get(name)
        if not text:
            _add(errors, name, MSG_REQUIRED)
        elif not parse_certificates(text):
            _add(errors, name, MSG_ALIPAY_CERT)
    app_certs = parse_certificates(data.get("app_public_key_cert") or "")
    private_key = parse_private_key(data.get("private_key") or "")
    app_key = app_certs[0].public_key() if app_certs else None
    if (
        isinstance(app_key, rsa.RSAPublicKey)
        and private_key is not None
        and fingerprint(private_key.public_key()) != fingerprint(app_key)
    ):
        _add(errors, "app_public_key_cert", MSG_APP_CERT_MISMATCH)
    root = data.get("alipay_root_cert")
    if not root:
        _add(errors, "alipay_root_cert", MSG_REQUIRED)
    elif not rsa_signed_certificates(root):
        _add(errors, "alipay_root_cert", MSG_ROOT_CERT)


def rsa_signed_certificates(text: str) -> list[x509.Certificate]:
    """The RSA-signed certificates of a chain (Alipay's root file also holds ECC / SM2 ones)."""
    try:
        chain = x509.load_pem_x509_certificates(text.strip().encode())
    except (ValueError, UnicodeEncodeError):
        return []
    return [c for c in chain if c.signature_algorithm_oid.dotted_string.startswith(_RSA_SIGNATURES)]


def validate_account(
    provider: str, data: Mapping[str, str | None], *, identity: bool, secrets: bool
) -> Errors:
    if provider == WECHAT:
        return validate_wechat(data, identity=identity, secrets=secrets)
    return validate_alipay(data, identity=identity, secrets=secrets)


def default_channels(providers_with_account: Iterable[str]) -> list[str]:
    """Every channel with an account, plus company pays (公司代付), in the fixed order."""
    have = set(providers_with_account)
    return [c for c in CHANNELS if c == COMPANY or c in have]


def check_channels(channels: Iterable[str], providers_with_account: Iterable[str]) -> Errors:
    """A channel must be known, and a provider channel needs an account to be enabled."""
    have = set(providers_with_account)
    errors: Errors = {}
    for channel in channels:
        if channel not in CHANNELS:
            _add(errors, "channels", f"{MSG_CHANNEL_UNKNOWN}：{channel}")
        elif channel in PROVIDERS and channel not in have:
            _add(errors, "channels", f"{MSG_CHANNEL_NO_ACCOUNT}：{channel}")
    return errors


def ordered_channels(channels: Iterable[str]) -> list[str]:
    chosen = set(channels)
    return [c for c in CHANNELS if c in chosen]


# --- payments and refunds ---------------------------------------------------------------------

# A payment (one out_trade_no) moves creating → open → paid, or → closed. `creating`: our row
# is written and the provider may or may not have it yet (asking again with the same
# parameters is safe); `open`: the provider has it and the tenant may pay; `closing`: replaced
# by a payment of another amount, to be closed at the provider (or found paid).
CREATING, OPEN, CLOSING, PAID, CLOSED = "creating", "open", "closing", "paid", "closed"
PAYMENT_STATUSES = (CREATING, OPEN, CLOSING, PAID, CLOSED)
UNSETTLED = (CREATING, OPEN, CLOSING)  # the provider may still take money for these
PAYMENT_MOVES: dict[str, frozenset[str]] = {
    CREATING: frozenset({OPEN, CLOSING, PAID, CLOSED}),
    OPEN: frozenset({CLOSING, PAID, CLOSED}),
    CLOSING: frozenset({PAID, CLOSED}),
    PAID: frozenset(),
    CLOSED: frozenset({PAID}),  # a late payment found by a query or the bill is still money in
}

# Money the desk records by hand (线下收款): cash or a bank transfer.
OFFLINE = "offline"
PAYMENT_CHANNELS = (WECHAT, ALIPAY, OFFLINE)
OFFLINE_METHODS = ("cash", "transfer")

# What a payment pays for: the prepay at filing (订金 / 全额) or the balance after completion.
PREPAY, BALANCE = "prepay", "balance"
PAYMENT_PURPOSES = (PREPAY, BALANCE)

# A refund (one out_refund_no): pending (ours; the provider has not accepted it yet) →
# processing → success | closed | abnormal. `abnormal` waits for the desk (card cancelled…).
R_PENDING, R_PROCESSING, R_SUCCESS, R_CLOSED, R_ABNORMAL = (
    "pending",
    "processing",
    "success",
    "closed",
    "abnormal",
)
REFUND_STATUSES = (R_PENDING, R_PROCESSING, R_SUCCESS, R_CLOSED, R_ABNORMAL)
REFUND_OPEN = (R_PENDING, R_PROCESSING)  # still under way: count against what may be refunded
REFUND_FINAL = (R_SUCCESS, R_CLOSED, R_ABNORMAL)
# Amounts that hold a share of the payment: everything but a closed refund.
REFUND_HOLDS = (R_PENDING, R_PROCESSING, R_SUCCESS, R_ABNORMAL)
REFUND_MOVES: dict[str, frozenset[str]] = {
    R_PENDING: frozenset({R_PROCESSING, R_SUCCESS, R_CLOSED, R_ABNORMAL}),
    R_PROCESSING: frozenset({R_SUCCESS, R_CLOSED, R_ABNORMAL}),
    R_ABNORMAL: frozenset({R_SUCCESS, R_CLOSED}),
    R_SUCCESS: frozenset(),
    R_CLOSED: frozenset(),
}
# Why a refund was made.
CANCEL_REFUND, SETTLEMENT_REFUND, DESK_REFUND, LATE_PAYMENT_REFUND = (
    "cancel",
    "settlement",
    "desk",
    "late_payment",
)
REFUND_SOURCES = (CANCEL_REFUND, SETTLEMENT_REFUND, DESK_REFUND, LATE_PAYMENT_REFUND)

# How long a tenant has to pay one payment, and when we start asking the provider about it.
PAYMENT_EXPIRES_MINUTES = 30
QUERY_AFTER_MINUTES = 3


def may_move_payment(current: str, target: str) -> bool:
    return target in PAYMENT_MOVES.get(current, frozenset())


def may_move_refund(current: str, target: str) -> bool:
    return target in REFUND_MOVES.get(current, frozenset())


def out_trade_no(*, local_date: str, token: str) -> str:
    """Our payment number: P + yyyymmdd (Beijing date) + a random token; 6–32 safe chars."""
    number = f"P{local_date}{token}"
    if not 6 <= len(number) <= 32 or not number.isalnum():
        raise ValueError("out_trade_no must be 6–32 letters and digits")
    return number


def out_refund_no(*, local_date: str, token: str) -> str:
    """Our refund number: R + yyyymmdd + a random token (≤ 64 chars)."""
    number = f"R{local_date}{token}"
    if not 6 <= len(number) <= 64 or not number.isalnum():
        raise ValueError("out_refund_no must be 6–64 letters and digits")
    return number


def refundable_fen(*, paid_fen: int, held_by_refunds_fen: int) -> int:
    """What may still be refunded from one payment: never more than was paid."""
    return max(paid_fen - held_by_refunds_fen, 0)


def allocate_refund(amount_fen: int, payments: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Split a refund over payments `[(payment_id, refundable_fen)]`, newest first as given.

    Returns `[(payment_id, amount_fen)]`; raises ValueError when they cannot cover it.
    """
    if amount_fen <= 0:
        raise ValueError("refund amount must be positive")
    plan: list[tuple[int, int]] = []
    left = amount_fen
    for payment_id, available in payments:
        if left == 0:
            break
        take = min(left, available)
        if take > 0:
            plan.append((payment_id, take))
            left -= take
    if left:
        raise ValueError("refund exceeds what was paid")
    return plan
