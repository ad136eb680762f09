"""Reconciliation runs over the real database and HTTP API, with the bills served by the
loopback WeChat Pay and Alipay fakes: the paying tests' application (default merchant and app
configured, base URLs pointed at the fakes) is re-used as is."""

from __future__ import annotations

from tests.paying.conftest import (  # noqa: F401  (fixtures)
    alipay,
    alipay_keys,
    alipay_server,
    app,
    merchant_key,
    platform_key,
    settings,
    shop,
    wechatpay_server,
    wxpay,
)
