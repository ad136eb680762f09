"""Payment accounts: create, list, show, change (rotating keys adds a version), deactivate;
the lookup payments use: the organisation's active account or the configured default; and the
WeChat Pay platform certificates: refreshed from WeChat, and an alert before they expire.

Answers never carry a secret: only the non-secret fields, `has_…` flags, the certificate
serial, the platform key id and fingerprints.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.config import Settings
from server.db.scoping import get_owned
from server.db.session import Database
from server.integrations import alipay as alipay_api
from server.integrations import wechatpay
from server.integrations.alipay import AlipayCertificates, AlipayClient
from server.integrations.wechatpay import (
    MerchantAccount,
    PlatformCertificate,
    PlatformKeys,
    WeChatPayClient,
)
from server.kernel.clock import LOCAL_TZ
from server.kernel.errors import Conflict, NotFound, UpstreamError, ValidationFailed
from server.kernel.roles import Role
from server.notifications.send import desk_users, notify
from server.payments.crypto import Sealed, Sealer, SecretUnreadable
from server.payments.models import PaymentAccount, PaymentAccountSecret
from server.payments.rules import (
    ALIPAY,
    ALIPAY_CERTS,
    KEY_FIELDS,
    MSG_PRIVATE_KEY,
    PROVIDERS,
    SECRET_FIELDS,
    WECHAT,
    alipay_cert_mode,
    fingerprint,
    parse_certificates,
    parse_private_key,
    parse_public_key,
    validate_account,
)

IDENTITY_FIELDS = {WECHAT: ("mchid", "appid"), ALIPAY: ("appid", "seller_id")}
MSG_NOT_FOUND = "支付账户不存在"
MSG_NOT_USED = "该类型的支付账户不使用此字段"
MSG_ACTIVE_EXISTS = "该支付渠道已有启用的账户，请先停用或直接修改"
MSG_INACTIVE = "支付账户已停用"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WeChatPayAccount:
    merchant: MerchantAccount
    account_id: int | None  # None: the default account of WECHATPAY_*
    version: int | None


@dataclass(frozen=True)
class AlipayAccount:
    client: AlipayClient
    account_id: int | None  # None: the default account of ALIPAY_*
    version: int | None
    seller_id: str = ""


ProviderAccount = WeChatPayAccount | AlipayAccount


# --- reading ----------------------------------------------------------------------------------


def _versions(session: Session, account_id: int) -> list[PaymentAccountSecret]:
    return list(
        session.scalars(
            select(PaymentAccountSecret)
            .where(PaymentAccountSecret.account_id == account_id)
            .order_by(PaymentAccountSecret.version)
        )
    )


def _active(versions: list[PaymentAccountSecret], account: PaymentAccount) -> PaymentAccountSecret:
    for row in versions:
        if row.version == account.active_version:
            return row
    raise NotFound(MSG_NOT_FOUND)


def _key_view(row: PaymentAccountSecret) -> dict[str, Any]:
    platform_key = parse_public_key(row.platform_public_key) if row.platform_public_key else None
    alipay_key = parse_public_key(row.alipay_public_key) if row.alipay_public_key else None
    if row.alipay_public_key_cert:  # certificate mode: the key of the Alipay certificate
        alipay_certs = parse_certificates(row.alipay_public_key_cert)
        cert_key = alipay_certs[0].public_key() if alipay_certs else None
        alipay_key = cert_key if isinstance(cert_key, rsa.RSAPublicKey) else None
    certs = parse_certificates(row.platform_certs) if row.platform_certs else None
    return {
        "version": row.version,
        "status": "retired" if row.retired_at else "active",
        "created_at": row.created_at,
        "retired_at": row.retired_at,
        "has_private_key": True,
        "private_key_fingerprint": row.private_key_fingerprint,
        "has_apiv3_key": row.apiv3_key_ciphertext is not None,
        "cert_serial": row.cert_serial or None,
        "platform_public_key_id": row.platform_public_key_id or None,
        "platform_public_key_fingerprint": fingerprint(platform_key) if platform_key else None,
        "platform_cert_serials": [wechatpay.certificate_serial(c) for c in certs or []],
        "alipay_public_key_fingerprint": fingerprint(alipay_key) if alipay_key else None,
    }


def _view(account: PaymentAccount, versions: list[PaymentAccountSecret]) -> dict[str, Any]:
    return {
        "id": account.id,
        "provider": account.provider,
        "name": account.name,
        "mchid": account.mchid or None,
        "appid": account.appid,
        "seller_id": account.seller_id or None,
        "is_active": account.is_active,
        "active_version": account.active_version,
        "keys": _key_view(_active(versions, account)),
        "versions": [
            {
                "version": v.version,
                "status": "retired" if v.retired_at else "active",
                "created_at": v.created_at,
                "retired_at": v.retired_at,
            }
            for v in versions
        ],
        "created_at": account.created_at,
        "updated_at": account.updated_at,
    }


def list_accounts(session: Session, *, org_id: int) -> list[dict[str, Any]]:
    """The organisation's payment accounts, active first."""
    accounts = session.scalars(
        select(PaymentAccount)
        .where(PaymentAccount.org_id == org_id)
        .order_by(PaymentAccount.is_active.desc(), PaymentAccount.id)
    ).all()
    return [_view(a, _versions(session, a.id)) for a in accounts]


def get_account(session: Session, *, org_id: int, account_id: int) -> dict[str, Any]:
    account = get_owned(session, PaymentAccount, account_id, org_id=org_id, message=MSG_NOT_FOUND)
    return _view(account, _versions(session, account.id))


def providers_with_account(session: Session, *, org_id: int) -> set[str]:
    """The providers for which the organisation has an active account of its own."""
    return set(
        session.scalars(
            select(PaymentAccount.provider).where(
                PaymentAccount.org_id == org_id, PaymentAccount.is_active
            )
        )
    )


# --- writing ----------------------------------------------------------------------------------


def _refuse_foreign_fields(provider: str, data: Mapping[str, Any]) -> None:
    allowed = {"provider", "name", *IDENTITY_FIELDS[provider], *SECRET_FIELDS[provider]}
    allowed |= set(KEY_FIELDS[provider])
    foreign = {name: [MSG_NOT_USED] for name in data if name not in allowed}
    if foreign:
        raise ValidationFailed(errors=foreign)


def _seal_version(
    session: Session,
    sealer: Sealer,
    account: PaymentAccount,
    *,
    version: int,
    material: Mapping[str, str | None],
    now: datetime,
) -> PaymentAccountSecret:
    def seal(field: str) -> Sealed:
        value = material.get(field) or ""
        return sealer.seal(
            value.encode(),
            org_id=account.org_id,
            account_id=account.id,
            version=version,
            field=field,
        )

    private_key = parse_private_key(material.get("private_key") or "")
    if private_key is None:  # validated before; never seal what could not be used
        raise ValidationFailed.field("private_key", MSG_PRIVATE_KEY)
    sealed_private = seal("private_key")
    row = PaymentAccountSecret(
        org_id=account.org_id,
        account_id=account.id,
        version=version,
        created_at=now,
        private_key_fingerprint=fingerprint(private_key.public_key()),
        key_version=sealed_private.key_version,
        private_key_nonce=sealed_private.nonce,
        private_key_ciphertext=sealed_private.ciphertext,
    )
    if account.provider == WECHAT:
        sealed_apiv3 = seal("apiv3_key")
        row.apiv3_key_nonce, row.apiv3_key_ciphertext = sealed_apiv3.nonce, sealed_apiv3.ciphertext
        row.cert_serial = (material.get("cert_serial") or "").upper()
        row.platform_public_key = (material.get("platform_public_key") or "").strip()
        row.platform_public_key_id = material.get("platform_public_key_id") or ""
        row.platform_certs = (material.get("platform_certs") or "").strip()
    elif alipay_cert_mode(material):
        row.alipay_public_key = ""
        for name in ALIPAY_CERTS:
            setattr(row, name, (material.get(name) or "").strip())
    else:
        row.alipay_public_key = (material.get("alipay_public_key") or "").strip()
    session.add(row)
    return row


def _open_material(sealer: Sealer, row: PaymentAccountSecret) -> dict[str, str]:
    """Every key field of a version in clear (secrets opened)."""

    def open_(field: str, nonce: bytes, ciphertext: bytes) -> str:
        sealed = Sealed(key_version=row.key_version, nonce=nonce, ciphertext=ciphertext)
        return sealer.open(
            sealed, org_id=row.org_id, account_id=row.account_id, version=row.version, field=field
        ).decode()

    material = {
        "private_key": open_("private_key", row.private_key_nonce, row.private_key_ciphertext),
        "cert_serial": row.cert_serial,
        "platform_public_key": row.platform_public_key,
        "platform_public_key_id": row.platform_public_key_id,
        "platform_certs": row.platform_certs,
        "alipay_public_key": row.alipay_public_key,
        "app_public_key_cert": row.app_public_key_cert,
        "alipay_public_key_cert": row.alipay_public_key_cert,
        "alipay_root_cert": row.alipay_root_cert,
    }
    if row.apiv3_key_nonce is not None and row.apiv3_key_ciphertext is not None:
        material["apiv3_key"] = open_("apiv3_key", row.apiv3_key_nonce, row.apiv3_key_ciphertext)
    return material


def create_account(
    session: Session, *, settings: Settings, org_id: int, data: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """Add a WeChat Pay merchant or an Alipay app (one active account per provider)."""
    provider = data["provider"]
    _refuse_foreign_fields(provider, data)
    errors = validate_account(provider, data, identity=True, secrets=True)
    if errors:
        raise ValidationFailed(errors=errors)
    if provider in providers_with_account(session, org_id=org_id):
        raise Conflict(MSG_ACTIVE_EXISTS)
    account = PaymentAccount(
        org_id=org_id,
        provider=provider,
        name=data.get("name") or "",
        mchid=data.get("mchid") or "",
        appid=data["appid"],
        seller_id=data.get("seller_id") or "",
        active_version=1,
    )
    try:
        with session.begin_nested():  # a concurrent create of the same provider loses here
            session.add(account)
            session.flush()
    except IntegrityError as exc:
        raise Conflict(MSG_ACTIVE_EXISTS) from exc
    _seal_version(session, Sealer(settings), account, version=1, material=data, now=now)
    session.flush()
    return _view(account, _versions(session, account.id))


def update_account(
    session: Session,
    *,
    settings: Settings,
    org_id: int,
    account_id: int,
    changes: Mapping[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """Change the name or ids; new key material makes a new version and retires the old one."""
    account = get_owned(
        session, PaymentAccount, account_id, org_id=org_id, message=MSG_NOT_FOUND, for_update=True
    )
    provider = account.provider
    _refuse_foreign_fields(provider, {k: v for k, v in changes.items() if k != "provider"})
    identity = {name: getattr(account, name) for name in IDENTITY_FIELDS[provider]}
    identity.update({k: v for k, v in changes.items() if k in IDENTITY_FIELDS[provider]})
    errors = validate_account(provider, identity, identity=True, secrets=False)
    key_names = (*SECRET_FIELDS[provider], *KEY_FIELDS[provider])
    rotating = any(name in changes for name in key_names)
    versions = _versions(session, account.id)
    current = _active(versions, account)
    material: dict[str, str | None] = {}
    sealer = Sealer(settings)
    if rotating:
        if not account.is_active:
            raise Conflict(MSG_INACTIVE)
        try:
            material = {**_open_material(sealer, current)}
        except SecretUnreadable:  # sealed under a key no longer configured: send every field
            material = {}
        material.update({k: v for k, v in changes.items() if k in key_names})
        if provider == ALIPAY:
            _switch_alipay_mode(material, changes)
        errors.update(validate_account(provider, material, identity=False, secrets=True))
    if errors:
        raise ValidationFailed(errors=errors)
    for name, value in identity.items():
        setattr(account, name, value or "")
    if "name" in changes:
        account.name = changes["name"] or ""
    if rotating:
        version = max(v.version for v in versions) + 1
        _seal_version(session, sealer, account, version=version, material=material, now=now)
        current.retired_at = now
        account.active_version = version
    account.updated_at = now
    session.flush()
    return _view(account, _versions(session, account.id))


def _switch_alipay_mode(material: dict[str, str | None], changes: Mapping[str, Any]) -> None:
    """New material of one Alipay mode replaces the other mode's (key ↔ certificates)."""
    if any(changes.get(name) for name in ALIPAY_CERTS) and not changes.get("alipay_public_key"):
        material["alipay_public_key"] = ""
    elif changes.get("alipay_public_key") and not any(changes.get(n) for n in ALIPAY_CERTS):
        for name in ALIPAY_CERTS:
            material[name] = ""


def deactivate_account(session: Session, *, org_id: int, account_id: int, now: datetime) -> None:
    """Stop using the account (its versions stay, for payments already made with it)."""
    account = get_owned(
        session, PaymentAccount, account_id, org_id=org_id, message=MSG_NOT_FOUND, for_update=True
    )
    if account.is_active:
        account.is_active = False
        account.updated_at = now
        session.flush()


# --- the lookup payments use ------------------------------------------------------------------


def _certificates_pem(text: str) -> tuple[bytes, ...]:
    return tuple(
        c.public_bytes(serialization.Encoding.PEM)
        for c in x509.load_pem_x509_certificates(text.encode())
    )


def _build(
    settings: Settings, account: PaymentAccount, row: PaymentAccountSecret
) -> ProviderAccount:
    material = _open_material(Sealer(settings), row)
    if account.provider == WECHAT:
        merchant = MerchantAccount(
            mchid=account.mchid,
            appid=account.appid,
            serial_no=row.cert_serial,
            private_key=wechatpay.load_private_key(material["private_key"].encode()),
            apiv3_key=material["apiv3_key"].encode(),
            platform=PlatformKeys.build(
                public_key_id=row.platform_public_key_id,
                public_key_pem=row.platform_public_key.encode(),
                certificates_pem=_certificates_pem(row.platform_certs)
                if row.platform_certs
                else (),
            ),
            notify_url=settings.wechatpay_notify_url,
        )
        return WeChatPayAccount(merchant=merchant, account_id=account.id, version=row.version)
    certificates = (
        AlipayCertificates.load(
            app_public_key_cert=row.app_public_key_cert,
            alipay_public_key_cert=row.alipay_public_key_cert,
            alipay_root_cert=row.alipay_root_cert,
        )
        if row.alipay_public_key_cert
        else None
    )
    client = AlipayClient(
        app_id=account.appid,
        app_private_key=alipay_api.load_private_key(material["private_key"]),
        alipay_public_key=certificates.alipay_public_key
        if certificates is not None
        else alipay_api.load_public_key(row.alipay_public_key),
        gateway=settings.alipay_gateway,
        certificates=certificates,
    )
    return AlipayAccount(
        client=client, account_id=account.id, version=row.version, seller_id=account.seller_id
    )


def default_account(settings: Settings, *, channel: str) -> ProviderAccount | None:
    """The account configured by WECHATPAY_* / ALIPAY_*, or None when that is not set up."""
    return _default_account(settings, channel)


# Read once per configuration: parsing (and checking) an RSA private key costs tens of
# milliseconds, and every notification, pay request and sweep asks for the default account.
# The accounts are key material only; the clients that call out are built per use
# (`gateways.gateway_for`). Keys replaced on disk are read at the next start, with the
# serials and ids of the environment that name them.
@functools.lru_cache(maxsize=8)
def _default_account(settings: Settings, channel: str) -> ProviderAccount | None:
    if channel == WECHAT:
        merchant = wechatpay.account_from_settings(settings)
        if merchant is None:
            return None
        return WeChatPayAccount(merchant=merchant, account_id=None, version=None)
    if channel == ALIPAY and settings.alipay_appid:
        return AlipayAccount(
            client=AlipayClient.from_settings(settings),
            account_id=None,
            version=None,
            seller_id=settings.alipay_seller_id,
        )
    return None


def payment_account_for(
    session: Session, *, settings: Settings, org_id: int, channel: str
) -> ProviderAccount | None:
    """The organisation's active account for `channel` (its active key version), else the
    default account of the configuration; None when neither exists (or for `company`)."""
    if channel not in PROVIDERS:
        return None
    account = session.scalars(
        select(PaymentAccount).where(
            PaymentAccount.org_id == org_id,
            PaymentAccount.provider == channel,
            PaymentAccount.is_active,
        )
    ).one_or_none()
    if account is None:
        return default_account(settings, channel=channel)
    row = session.scalars(
        select(PaymentAccountSecret).where(
            PaymentAccountSecret.account_id == account.id,
            PaymentAccountSecret.version == account.active_version,
        )
    ).one()
    return _build(settings, account, row)


def account_version(
    session: Session, *, settings: Settings, account_id: int, version: int
) -> ProviderAccount:
    """Version `version` of an account's keys, retired or not, even when the account has since
    been deactivated: a payment made with it is verified with its keys."""
    account = session.get(PaymentAccount, account_id)
    row = session.scalars(
        select(PaymentAccountSecret).where(
            PaymentAccountSecret.account_id == account_id,
            PaymentAccountSecret.version == version,
        )
    ).one_or_none()
    if account is None or row is None:
        raise NotFound(MSG_NOT_FOUND)
    return _build(settings, account, row)


# --- WeChat Pay platform certificates ---------------------------------------------------------

# Alert this long before the last trusted platform certificate of an account expires, again at
# each later mark, and once it has expired (WeChat makes the next one available well before).
CERT_ALERT_DAYS = (30, 7, 1, 0)


@dataclass(frozen=True)
class _CertTarget:
    account_id: int
    org_id: int
    label: str
    merchant: MerchantAccount


def _certificate_mode_accounts(session: Session, settings: Settings) -> list[_CertTarget]:
    """Active WeChat Pay accounts whose active keys hold platform certificates."""
    rows = session.execute(
        select(PaymentAccount, PaymentAccountSecret)
        .join(PaymentAccountSecret, PaymentAccountSecret.account_id == PaymentAccount.id)
        .where(
            PaymentAccount.provider == WECHAT,
            PaymentAccount.is_active,
            PaymentAccountSecret.version == PaymentAccount.active_version,
            PaymentAccountSecret.platform_certs != "",
        )
        .order_by(PaymentAccount.id)
    ).all()
    targets = []
    for account, row in rows:
        built = _build(settings, account, row)
        assert isinstance(built, WeChatPayAccount)
        label = account.name or f"微信支付商户 {account.mchid}"
        targets.append(_CertTarget(account.id, account.org_id, label, built.merchant))
    return targets


def merge_platform_certificates(
    session: Session, *, account_id: int, certificates: list[PlatformCertificate], now: datetime
) -> int:
    """Trust `certificates` (fetched from WeChat and verified) beside the account's own: every
    key version holding platform certificates gets them, so payments made with an older
    version are still verified; certificates expired by `now` are dropped. Returns how many
    the active version did not hold yet. Platform certificates are WeChat's public material,
    not our keys: learning them is not a rotation (no new version)."""
    account = session.get(PaymentAccount, account_id, with_for_update=True)
    if account is None:
        return 0
    learnt = 0
    for row in _versions(session, account_id):
        if not row.platform_certs:
            continue
        held = {
            wechatpay.certificate_serial(c): c
            for c in x509.load_pem_x509_certificates(row.platform_certs.encode())
        }
        merged = dict(held)
        for fetched in certificates:
            merged.setdefault(fetched.serial, x509.load_pem_x509_certificate(fetched.pem.encode()))
        current = {s: c for s, c in merged.items() if c.not_valid_after_utc >= now} or merged
        if row.version == account.active_version:
            learnt = len(set(current) - set(held))
        if set(current) != set(held):
            ordered = sorted(current.values(), key=lambda c: c.not_valid_after_utc)
            row.platform_certs = "".join(
                c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in ordered
            )
    session.flush()
    return learnt


def _alert_mark(days_left: float) -> int | None:
    """The smallest alert mark (days) not below `days_left`, None when none is reached."""
    reached = [mark for mark in CERT_ALERT_DAYS if days_left <= mark]
    return min(reached) if reached else None


def certificate_expiry(platform: PlatformKeys, *, now: datetime) -> tuple[str, datetime] | None:
    """The certificate verification will depend on longest, when the keys may run out: None
    for a public key (public-key mode does not expire) or without certificates."""
    if any(serial not in platform.validity for serial in platform.keys):
        return None
    expiring = platform.expiring()
    return expiring[-1] if expiring else None


def alert_certificate_expiry(
    session: Session,
    *,
    org_id: int,
    account_id: int,
    label: str,
    platform: PlatformKeys,
    now: datetime,
) -> bool:
    """Warn (log + the organisation's admins' inbox, once per mark) when the account's last
    platform certificate expires within CERT_ALERT_DAYS."""
    last = certificate_expiry(platform, now=now)
    if last is None:
        return False
    serial, not_after = last
    mark = _alert_mark((not_after - now) / timedelta(days=1))
    if mark is None:
        return False
    expired = not_after < now
    log.warning(
        "WeChat Pay platform certificate %s of payment account %s %s %s",
        serial,
        account_id,
        "expired" if expired else "expires",
        not_after.isoformat(),
    )
    local = not_after.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
    detail = (
        f"微信支付平台证书 {serial} 已于 {local} 过期，支付通知将无法验签"
        if expired
        else f"微信支付平台证书 {serial} 将于 {local} 过期，尚未取得新证书"
    )
    notify(
        session,
        org_id=org_id,
        kind="payment_cert_expiring",
        user_ids=desk_users(session, org_id=org_id, role=Role.ADMIN),
        now=now,
        data={"account": label, "detail": detail},
        dedupe_key=f"wechatpay-cert:{account_id}:{serial}:{mark}",
    )
    return True


def refresh_platform_certificates(
    db: Database, settings: Settings, *, now: datetime
) -> dict[str, int]:
    """The periodic job: for each WeChat Pay account in certificate mode, download WeChat's
    platform certificates (no transaction open during the call), trust the new ones, and alert
    when the account's certificates run out soon. The default account (WECHATPAY_*, files)
    is only checked: its file is replaced by the operator, so it is logged, not stored."""
    report = {"accounts": 0, "learnt": 0, "failed": 0, "alerted": 0}
    with db.transaction() as uow:
        targets = _certificate_mode_accounts(uow.session, settings)
    for target in targets:
        report["accounts"] += 1
        client = WeChatPayClient(account=target.merchant, base_url=settings.wechatpay_api_base)
        fetched: list[PlatformCertificate] | None
        try:
            fetched = client.platform_certificates()
        except UpstreamError as exc:
            log.warning(
                "WeChat Pay platform certificates of account %s not refreshed: %r",
                target.account_id,
                exc,
            )
            report["failed"] += 1
            fetched = None
        with db.transaction() as uow:
            if fetched:
                report["learnt"] += merge_platform_certificates(
                    uow.session, account_id=target.account_id, certificates=fetched, now=now
                )
            account = session_account(uow.session, settings, target.account_id)
            if account is not None and alert_certificate_expiry(
                uow.session,
                org_id=target.org_id,
                account_id=target.account_id,
                label=target.label,
                platform=account.merchant.platform,
                now=now,
            ):
                report["alerted"] += 1
    default = default_account(settings, channel=WECHAT)
    if isinstance(default, WeChatPayAccount):
        last = certificate_expiry(default.merchant.platform, now=now)
        if last is not None and _alert_mark((last[1] - now) / timedelta(days=1)) is not None:
            log.warning(
                "WeChat Pay platform certificate %s of WECHATPAY_PUBLIC_KEY_PATH expires %s: "
                "replace the file (or move to the WeChat Pay public key)",
                last[0],
                last[1].isoformat(),
            )
            report["alerted"] += 1
    return report


def session_account(
    session: Session, settings: Settings, account_id: int
) -> WeChatPayAccount | None:
    """The active keys of a WeChat Pay account as they are stored now."""
    account = session.get(PaymentAccount, account_id)
    if account is None or not account.is_active or account.provider != WECHAT:
        return None
    built = _build(settings, account, _active(_versions(session, account_id), account))
    return built if isinstance(built, WeChatPayAccount) else None
