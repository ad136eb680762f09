"""An organisation's roles (`roles`) and who holds them (`user_roles`)."""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, IdMixin, OrgOwnedMixin, TimestampMixin
from server.kernel.values import sql_subset
from server.roles.rules import PERMISSION_CODES


class CustomRole(IdMixin, OrgOwnedMixin, TimestampMixin, Base):
    """A role the organisation composed: permissions and the communities it reaches."""

    __tablename__ = "roles"
    __table_args__ = (
        UniqueConstraint("org_id", "name"),
        CheckConstraint(sql_subset("permissions", PERMISSION_CODES), name="known"),
        CheckConstraint("all_communities OR cardinality(community_ids) > 0", name="scope_named"),
    )

    name: Mapped[str] = mapped_column(String(50))
    description: Mapped[str] = mapped_column(String(200), default="", server_default="")
    permissions: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list)
    all_communities: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    # Communities are not foreign keys (an array cannot hold them): the use cases check them,
    # and a deleted community simply stops matching anything.
    community_ids: Mapped[list[int]] = mapped_column(
        ARRAY(BigInteger), default=list, server_default=text("'{}'")
    )


class RoleGrant(OrgOwnedMixin, Base):
    """A user holds a role."""

    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True, index=True
    )
