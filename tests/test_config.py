"""Settings.from_env: defaults, parsing and every failure it must catch."""

from __future__ import annotations

import pytest

from server.config import DEV_SECRET_KEY, ConfigError, Settings

STRONG = "x" * 40
PRODUCTION = {
    "BAOXIU_ENV": "production",
    "SECRET_KEY": STRONG,
    "PAYMENT_SECRETS_KEY": "p" * 40,
    "DATABASE_URL": "postgresql://db/baoxiu",
    "REDIS_URL": "redis://cache:6379/0",
}


def test_dev_defaults():
    settings = Settings.from_env({})
    assert settings.env == "dev" and settings.is_dev
    assert settings.secret_key == DEV_SECRET_KEY
    assert settings.database_url is None and settings.redis_url is None
    assert settings.wechat_api_base == "https://api.weixin.qq.com"
    assert settings.wechatpay_api_base == "https://api.mch.weixin.qq.com"
    assert settings.jwt_access_minutes == 30
    assert settings.upload_dir == settings.instance_dir / "uploads"


def test_production_with_everything_set():
    settings = Settings.from_env(
        {
            **PRODUCTION,
            "JWT_ACCESS_MINUTES": "15",
            "WECHAT_API_BASE": "http://127.0.0.1:8080/",
            "UPLOAD_DIR": "/srv/uploads",
        }
    )
    assert settings.jwt_access_minutes == 15
    assert settings.wechat_api_base == "http://127.0.0.1:8080"
    assert str(settings.upload_dir) == "/srv/uploads"


def test_read_replicas():
    assert Settings.from_env(PRODUCTION).database_replica_urls == ()
    settings = Settings.from_env(
        {
            **PRODUCTION,
            "DATABASE_REPLICA_URLS": " postgresql://r1/baoxiu , ,postgresql://r2/baoxiu",
            "DATABASE_REPLICA_MAX_LAG_SECONDS": "10",
        }
    )
    assert settings.database_replica_urls == ("postgresql://r1/baoxiu", "postgresql://r2/baoxiu")
    assert settings.database_replica_max_lag_seconds == 10
    assert Settings.from_env(PRODUCTION).database_replica_max_lag_seconds == 5


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY is required"),
        ({"SECRET_KEY": "short"}, "too weak"),
        ({"SECRET_KEY": DEV_SECRET_KEY}, "too weak"),
        ({"DATABASE_URL": ""}, "required in production"),
        ({"DATABASE_URL": "mysql://db/x"}, "PostgreSQL"),
        ({"REDIS_URL": "memcached://x"}, "REDIS_URL"),
        ({"JWT_ACCESS_MINUTES": "abc"}, "must be an integer"),
        ({"JWT_ACCESS_MINUTES": "0"}, "between"),
        ({"BAOXIU_ENV": "staging"}, "BAOXIU_ENV"),
        ({"WECHATPAY_APIV3_KEY": "too-short"}, "32 characters"),
        ({"PAYMENT_SECRETS_KEY": ""}, "PAYMENT_SECRETS_KEY is required"),
        ({"PAYMENT_SECRETS_KEY": "short"}, "PAYMENT_SECRETS_KEY is too weak"),
        ({"PAYMENT_SECRETS_KEY": STRONG}, "PAYMENT_SECRETS_KEY is too weak"),
        ({"DATABASE_REPLICA_URLS": "postgresql://r1/b, mysql://r2/b"}, "DATABASE_REPLICA_URLS"),
        ({"DATABASE_REPLICA_MAX_LAG_SECONDS": "0"}, "between"),
    ],
)
def test_failures(overrides, fragment):
    with pytest.raises(ConfigError, match=fragment):
        Settings.from_env({**PRODUCTION, **overrides})


def test_all_problems_reported_at_once():
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"BAOXIU_ENV": "production", "JWT_ACCESS_MINUTES": "x"})
    text = str(info.value)
    assert "SECRET_KEY" in text and "JWT_ACCESS_MINUTES" in text and "DATABASE_URL" in text


def test_weak_secret_is_fine_in_dev_and_test():
    assert Settings.from_env({"SECRET_KEY": "short"}).secret_key == "short"
    assert Settings.from_env({"BAOXIU_ENV": "test"}).env == "test"
