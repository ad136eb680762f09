"""The caller's grant inside a use case: `require` a permission, read the data scope.

The web layer hands each unit of work a provider of the request's grant through the session's
info (`GRANT`, like the audit log's origin): use cases never import Flask. A session without
one (a job, the command line, a test calling a use case) acts for the system and is trusted.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.kernel.errors import Forbidden, NotFound
from server.kernel.permissions import LABELS, Permission
from server.roles.models import CustomRole, RoleGrant
from server.roles.rules import Grant, RoleTerms, grant_of

GRANT = "baoxiu_grant"


def current_grant(session: Session) -> Grant | None:
    """The grant of the request this session works for; None for the system."""
    provider: Callable[[], Grant | None] | None = session.info.get(GRANT)
    return provider() if provider is not None else None


def require(session: Session, permission: Permission) -> None:
    """Refuse (403) a caller whose roles do not carry `permission`."""
    grant = current_grant(session)
    if grant is not None and not grant.allows(permission.value):
        raise Forbidden(f"没有权限：{LABELS[permission]}")


def require_community(session: Session, community_id: int | None) -> None:
    """Refuse (404, as for a row that is not there) data of a community out of the scope."""
    grant = current_grant(session)
    if grant is not None and not grant.reaches(community_id):
        raise NotFound()


def community_scope(session: Session) -> frozenset[int] | None:
    """The communities the caller's data is limited to; None: no limit. For the statements
    that run on the connection (lean lists, counts, reports), which the ORM's criteria of
    `roles.scope` do not see: they add `community_id IN (...)` themselves."""
    grant = current_grant(session)
    return None if grant is None else grant.communities


def user_grant(session: Session, *, user_id: int, preset_roles: frozenset[str]) -> Grant:
    """A user's grant as the database holds it now: presets plus the roles they hold."""
    rows = session.execute(
        select(CustomRole.permissions, CustomRole.all_communities, CustomRole.community_ids)
        .join(RoleGrant, RoleGrant.role_id == CustomRole.id)
        .where(RoleGrant.user_id == user_id)
    ).all()
    terms = [
        RoleTerms(
            frozenset(permissions or ()),
            None if all_communities else frozenset(community_ids or ()),
        )
        for permissions, all_communities, community_ids in rows
    ]
    return grant_of(preset_roles, terms)
