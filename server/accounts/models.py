"""Logins: tenants (from WeChat or a password) and staff, and their refresh tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, IdMixin, OrgOwnedMixin, TimestampMixin
from server.kernel.roles import Role
from server.kernel.values import sql_subset, values_of


class User(IdMixin, OrgOwnedMixin, TimestampMixin, Base):
    __tablename__ = "users"
    __table_args__ = (
        Index(
            "uq_users_org_id_phone",
            "org_id",
            "phone",
            unique=True,
            postgresql_where=text("phone IS NOT NULL"),
        ),
        Index(
            "uq_users_org_id_wechat_openid",
            "org_id",
            "wechat_openid",
            unique=True,
            postgresql_where=text("wechat_openid IS NOT NULL"),
        ),
        Index("ix_users_phone", "phone"),
        CheckConstraint(sql_subset("roles", values_of(Role)), name="roles_known"),
    )

    name: Mapped[str] = mapped_column(String(50), default="")
    phone: Mapped[str | None] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    wechat_openid: Mapped[str | None] = mapped_column(String(64))
    wechat_unionid: Mapped[str | None] = mapped_column(String(64))
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(20)), default=list)
    is_active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None]
    # Carried in every access token; raised whenever what the user may do changes (deactivation,
    # roles, password, logging out everywhere), which ends every access token issued before.
    token_version: Mapped[int] = mapped_column(default=0, server_default=text("0"))


class RefreshToken(OrgOwnedMixin, Base):
    """One row per issued refresh token, so that a token can be rotated and revoked."""

    __tablename__ = "refresh_tokens"

    jti: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime | None]
