"""Payment accounts: create, list, show, change (rotating keys adds a version), deactivate;
and the lookup payments use: the organisation's active account or the configured default.

Answers never carry a secret: only the non-secret fields, `has_…` flags, the certificate
serial, the platform key id and fingerprints.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.config import Settings
from server.db.scoping import get_owned
from server.integrations import alipay as alipay_api
from server.integrations import wechatpay
from server.integrations.alipay import AlipayClient
from server.integrations.wechatpay import MerchantAccount, PlatformKeys
from server.kernel.errors import Conflict, NotFound, ValidationFailed
from server.payments.crypto import Sealed, Sealer, SecretUnreadable
from server.payments.models import PaymentAccount, PaymentAccountSecret
from server.payments.rules import (
    ALIPAY,
    KEY_FIELDS,
    MSG_PRIVATE_KEY,
    PROVIDERS,
    SECRET_FIELDS,
    WECHAT,
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
    client = AlipayClient(
        app_id=account.appid,
        app_private_key=alipay_api.load_private_key(material["private_key"]),
        alipay_public_key=alipay_api.load_public_key(row.alipay_public_key),
        gateway=settings.alipay_gateway,
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
