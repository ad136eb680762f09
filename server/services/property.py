"""The property tree as the console manages it: communities, buildings, units, rooms."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from server.models.property import Community
from server.services.pagination import Page, paginate
from server.services.scoping import apply_changes, ensure_absent, get_owned


def list_communities(session: Session, *, org_id: int, q: str | None, page: int,
                     page_size: int) -> Page[Community]:
    """Communities of the organisation, optionally filtered by name or code."""
    stmt = select(Community).where(Community.org_id == org_id)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(Community.name.ilike(like), Community.code.ilike(like)))
    return paginate(session, stmt.order_by(Community.id), page=page, page_size=page_size)


def get_community(session: Session, *, org_id: int, community_id: int) -> Community:
    """One community of the organisation."""
    return get_owned(session, Community, community_id, org_id=org_id, message="小区不存在")


def create_community(session: Session, *, org_id: int, data: dict[str, Any]) -> Community:
    """Add a community; its code is unique in the organisation."""
    _ensure_code_free(session, org_id=org_id, code=data["code"], exclude_id=None)
    community = Community(org_id=org_id, **data)
    session.add(community)
    session.flush()
    return community


def update_community(session: Session, *, org_id: int, community_id: int,
                     changes: dict[str, Any]) -> Community:
    """Change a community's name, code or address."""
    community = get_community(session, org_id=org_id, community_id=community_id)
    if "code" in changes:
        _ensure_code_free(session, org_id=org_id, code=changes["code"], exclude_id=community.id)
    apply_changes(community, changes)
    session.flush()
    return community


def delete_community(session: Session, *, org_id: int, community_id: int) -> None:
    """Delete an empty community (one with buildings is refused as in use)."""
    session.delete(get_community(session, org_id=org_id, community_id=community_id))
    session.flush()


def _ensure_code_free(session: Session, *, org_id: int, code: str, exclude_id: int | None) -> None:
    stmt = select(Community.id).where(Community.org_id == org_id, Community.code == code)
    if exclude_id is not None:
        stmt = stmt.where(Community.id != exclude_id)
    ensure_absent(session, stmt, field="code", message="小区编码已存在")
