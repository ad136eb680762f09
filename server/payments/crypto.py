"""Sealing and opening payment secrets: AES-256-GCM with a key derived from configuration.

The key comes from PAYMENT_SECRETS_KEY through HKDF-SHA256 (in dev and test, when it is unset,
from SECRET_KEY with its own fixed context). Every sealed value carries the key version it was
sealed with and a fresh 96-bit nonce; the associated data binds the organisation, the account,
the secret version and the field name, so a ciphertext copied to another row, organisation or
field does not open. No Flask here: callers pass the settings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from server.config import Settings

# The version of the sealing key; a new PAYMENT_SECRETS_KEY would get the next number.
KEY_VERSION = 1
NONCE_BYTES = 12
_CONTEXT = b"baoxiu/payment-secrets/v1"
_DEV_CONTEXT = b"baoxiu/payment-secrets/v1/derived-from-secret-key"


class SecretUnreadable(Exception):
    """A sealed value did not open: wrong row, organisation, field or key."""


@dataclass(frozen=True)
class Sealed:
    key_version: int
    nonce: bytes
    ciphertext: bytes


def _derive(material: str, context: bytes) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=context)
    return hkdf.derive(material.encode())


def sealing_key(settings: Settings) -> bytes:
    """The AES-256 key of the configuration (32 bytes)."""
    if settings.payment_secrets_key:
        return _derive(settings.payment_secrets_key, _CONTEXT)
    return _derive(settings.secret_key, _DEV_CONTEXT)


def _associated_data(*, org_id: int, account_id: int, version: int, field: str) -> bytes:
    return f"org={org_id};account={account_id};version={version};field={field}".encode()


class Sealer:
    def __init__(self, settings: Settings) -> None:
        self._keys = {KEY_VERSION: AESGCM(sealing_key(settings))}

    def seal(
        self, plaintext: bytes, *, org_id: int, account_id: int, version: int, field: str
    ) -> Sealed:
        nonce = os.urandom(NONCE_BYTES)
        aad = _associated_data(org_id=org_id, account_id=account_id, version=version, field=field)
        ciphertext = self._keys[KEY_VERSION].encrypt(nonce, plaintext, aad)
        return Sealed(key_version=KEY_VERSION, nonce=nonce, ciphertext=ciphertext)

    def open(
        self, sealed: Sealed, *, org_id: int, account_id: int, version: int, field: str
    ) -> bytes:
        key = self._keys.get(sealed.key_version)
        if key is None:
            raise SecretUnreadable(f"unknown sealing key version {sealed.key_version}")
        aad = _associated_data(org_id=org_id, account_id=account_id, version=version, field=field)
        try:
            return key.decrypt(sealed.nonce, sealed.ciphertext, aad)
        except InvalidTag as exc:
            raise SecretUnreadable(f"{field} of account {account_id} does not open") from exc
