"""Sealing: AES-256-GCM, bound to organisation, account, version and field; keyed by config."""

from __future__ import annotations

from dataclasses import replace

import pytest

from server.config import Settings
from server.payments.crypto import KEY_VERSION, Sealer, SecretUnreadable, sealing_key

WHERE = {"org_id": 1, "account_id": 2, "version": 1, "field": "private_key"}


def test_a_sealed_value_opens_only_where_it_was_sealed():
    sealer = Sealer(Settings(payment_secrets_key="k" * 40))
    sealed = sealer.seal(b"secret", **WHERE)
    assert sealed.key_version == KEY_VERSION and b"secret" not in sealed.ciphertext
    assert sealer.open(sealed, **WHERE) == b"secret"
    for change in ({"org_id": 9}, {"account_id": 9}, {"version": 2}, {"field": "apiv3_key"}):
        with pytest.raises(SecretUnreadable):
            sealer.open(sealed, **{**WHERE, **change})


def test_the_key_comes_from_payment_secrets_key_else_from_secret_key():
    base = Settings(secret_key="s" * 40)
    assert len(sealing_key(base)) == 32
    assert sealing_key(base) != sealing_key(replace(base, secret_key="t" * 40))
    configured = replace(base, payment_secrets_key="p" * 40)
    assert sealing_key(configured) != sealing_key(base)
    # Changing SECRET_KEY does not touch secrets sealed under PAYMENT_SECRETS_KEY.
    assert sealing_key(configured) == sealing_key(replace(configured, secret_key="t" * 40))
    sealed = Sealer(configured).seal(b"x", **WHERE)
    with pytest.raises(SecretUnreadable):
        Sealer(base).open(sealed, **WHERE)
