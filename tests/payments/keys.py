"""Key material for payment-account tests, generated once per run."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

APIV3_KEY = "0123456789abcdefghijklmnopqrstuv"  # 32 bytes
MCHID = "1900000109"
WECHAT_APPID = "wx0123456789abcdef"
ALIPAY_APPID = "2021000000000001"
SELLER_ID = "2088000000000001"
CERT_SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
PUBLIC_KEY_ID = "PUB_KEY_ID_0119000001092026"


@cache
def _generated(name: str, bits: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def private_key(name: str, bits: int = 2048) -> rsa.RSAPrivateKey:
    return _generated(name, bits)


def private_pem(name: str, bits: int = 2048) -> str:
    return (
        private_key(name, bits)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


def public_pem(name: str) -> str:
    return (
        private_key(name)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def private_key_body(pem: str) -> str:
    """The base64 body of a PEM: the key material itself, without the armour."""
    return "".join(line for line in pem.splitlines() if not line.startswith("-----"))


def private_der(name: str) -> bytes:
    return base64.b64decode(private_key_body(private_pem(name)))


def wechat_body(**overrides: str) -> dict[str, str]:
    body = {
        "provider": "wechat",
        "name": "物业微信商户",
        "mchid": MCHID,
        "appid": WECHAT_APPID,
        "private_key": private_pem("merchant"),
        "apiv3_key": APIV3_KEY,
        "cert_serial": CERT_SERIAL,
        "platform_public_key": public_pem("platform"),
        "platform_public_key_id": PUBLIC_KEY_ID,
    }
    body.update(overrides)
    return body


def alipay_body(**overrides: str) -> dict[str, str]:
    body = {
        "provider": "alipay",
        "appid": ALIPAY_APPID,
        "seller_id": SELLER_ID,
        "private_key": private_pem("alipay-app"),
        "alipay_public_key": public_pem("alipay"),
    }
    body.update(overrides)
    return body


def platform_certificate_pem(name: str) -> tuple[str, str]:
    """A self-signed platform certificate for `name`'s key: (PEM, serial as WeChat writes it)."""
    key = private_key(name)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(0x3C7A1F2B9D)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    return pem, format(certificate.serial_number, "X")
