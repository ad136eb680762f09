"""Payment channels per organisation, and the configured default account."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from server.kernel.errors import ValidationFailed
from server.payments.accounts import (
    AlipayAccount,
    WeChatPayAccount,
    payment_account_for,
)
from server.payments.channels import enabled_channels, set_channels
from tests.payments.keys import (
    APIV3_KEY,
    CERT_SERIAL,
    PUBLIC_KEY_ID,
    alipay_body,
    private_pem,
    public_pem,
    wechat_body,
)

ACCOUNTS = "/api/v1/admin/payment-accounts"
CHANNELS = "/api/v1/admin/payment-channels"


@pytest.fixture
def configured(settings, tmp_path):
    """Test settings with a default WeChat Pay merchant and Alipay app (WECHATPAY_*, ALIPAY_*)."""
    files = {
        "wx_key.pem": private_pem("default-merchant"),
        "wx_pub.pem": public_pem("default-platform"),
        "ali_key.pem": private_pem("default-alipay-app"),
        "ali_pub.pem": public_pem("default-alipay"),
    }
    for name, content in files.items():
        (tmp_path / name).write_text(content)
    return replace(
        settings,
        wechatpay_mchid="1230000109",
        wechatpay_apiv3_key=APIV3_KEY,
        wechatpay_private_key_path=str(tmp_path / "wx_key.pem"),
        wechatpay_cert_serial=CERT_SERIAL,
        wechatpay_public_key_path=str(tmp_path / "wx_pub.pem"),
        wechatpay_public_key_id=PUBLIC_KEY_ID,
        alipay_appid="2021000000009999",
        alipay_private_key_path=str(tmp_path / "ali_key.pem"),
        alipay_public_key_path=str(tmp_path / "ali_pub.pem"),
    )


def test_channels_default_to_those_with_an_account_plus_company(client, admin_headers):
    r = client.get(CHANNELS, headers=admin_headers)
    assert r.status_code == 200
    assert r.json == {"channels": ["company"], "available": ["company"], "customised": False}

    r = client.put(CHANNELS, json={"channels": ["wechat", "company"]}, headers=admin_headers)
    assert r.status_code == 422 and r.json["error"] == "validation_error"
    assert "尚未配置支付账户" in r.json["errors"]["channels"][0]

    assert client.post(ACCOUNTS, json=wechat_body(), headers=admin_headers).status_code == 201
    r = client.get(CHANNELS, headers=admin_headers)
    assert r.json["channels"] == ["wechat", "company"] and r.json["customised"] is False

    r = client.put(CHANNELS, json={"channels": ["wechat"]}, headers=admin_headers)
    assert r.status_code == 200 and r.json["channels"] == ["wechat"] and r.json["customised"]
    # A new account does not switch its channel on once the organisation has chosen.
    assert client.post(ACCOUNTS, json=alipay_body(), headers=admin_headers).status_code == 201
    assert client.get(CHANNELS, headers=admin_headers).json["channels"] == ["wechat"]
    assert client.get(CHANNELS, headers=admin_headers).json["available"] == [
        "wechat",
        "alipay",
        "company",
    ]


@pytest.mark.parametrize("channels", [["cash"], ["alipay"], ["wechat", "bogus"]])
def test_unknown_or_unconfigured_channels_are_refused(client, admin_headers, channels):
    r = client.put(CHANNELS, json={"channels": channels}, headers=admin_headers)
    assert r.status_code == 422 and r.json["error"] == "validation_error"
    assert all(field.startswith("channels") for field in r.json["errors"]), r.json
    assert client.get(CHANNELS, headers=admin_headers).json["customised"] is False


def test_a_deactivated_account_takes_its_channel_away(client, admin_headers):
    created = client.post(ACCOUNTS, json=wechat_body(), headers=admin_headers).json
    client.put(CHANNELS, json={"channels": ["wechat", "company"]}, headers=admin_headers)
    assert client.delete(f"{ACCOUNTS}/{created['id']}", headers=admin_headers).status_code == 204
    assert client.get(CHANNELS, headers=admin_headers).json["channels"] == ["company"]


def test_channels_are_per_organisation(client, make, admin_headers):
    client.post(ACCOUNTS, json=wechat_body(), headers=admin_headers)
    client.put(CHANNELS, json={"channels": ["wechat"]}, headers=admin_headers)
    stranger = make.headers(make.admin(make.org()))
    assert client.get(CHANNELS, headers=stranger).json["channels"] == ["company"]


def test_the_configured_default_serves_organisations_without_their_own(
    client, admin_headers, db_session, org, configured
):
    wechat = payment_account_for(db_session, settings=configured, org_id=org.id, channel="wechat")
    assert isinstance(wechat, WeChatPayAccount)
    assert wechat.account_id is None and wechat.merchant.mchid == "1230000109"
    alipay = payment_account_for(db_session, settings=configured, org_id=org.id, channel="alipay")
    assert isinstance(alipay, AlipayAccount)
    assert alipay.account_id is None and alipay.client.app_id == "2021000000009999"
    assert (
        payment_account_for(db_session, settings=configured, org_id=org.id, channel="company")
        is None
    )
    # With the default, wechat and alipay are available channels.
    assert enabled_channels(db_session, settings=configured, org_id=org.id) == [
        "wechat",
        "alipay",
        "company",
    ]

    own = client.post(ACCOUNTS, json=wechat_body(), headers=admin_headers).json
    wechat = payment_account_for(db_session, settings=configured, org_id=org.id, channel="wechat")
    assert isinstance(wechat, WeChatPayAccount)
    assert (wechat.account_id, wechat.version) == (own["id"], 1)
    assert wechat.merchant.mchid == "1900000109"


def test_without_any_account_a_provider_channel_cannot_be_set(db_session, org, settings):
    with pytest.raises(ValidationFailed):
        set_channels(
            db_session, settings=settings, org_id=org.id, channels=["alipay"], now=datetime.now(UTC)
        )
