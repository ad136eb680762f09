"""Organisation scoping: nobody reads or touches another organisation's rows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session

from server.db.base import OrgOwnedMixin
from server.kernel.errors import Conflict, NotFound, ValidationFailed

T = TypeVar("T", bound=OrgOwnedMixin)


def get_owned(
    session: Session,
    model: type[T],
    object_id: int,
    *,
    org_id: int,
    message: str = "资源不存在",
    for_update: bool = False,
) -> T:
    """The row with this id in the caller's organisation, else 404 (never 403: no leaks)."""
    obj = session.get(model, object_id, with_for_update=for_update)
    if obj is None or obj.org_id != org_id:
        raise NotFound(message)
    return obj


def reference_owned(
    session: Session,
    model: type[T],
    object_id: int | None,
    *,
    org_id: int,
    field: str,
    message: str,
) -> T | None:
    """A referenced row from the request body: it must exist in the caller's organisation."""
    if object_id is None:
        return None
    obj = session.get(model, object_id)
    if obj is None or obj.org_id != org_id:
        raise ValidationFailed.field(field, message)
    return obj


def ensure_absent(session: Session, stmt: Select[Any], *, field: str, message: str) -> None:
    """Raise 409 conflict when `stmt` finds a row (a duplicate name or code)."""
    if session.scalar(select(exists(stmt.subquery()))):
        raise Conflict(message, errors={field: [message]})


def apply_changes(obj: object, changes: Mapping[str, Any]) -> None:
    for key, value in changes.items():
        setattr(obj, key, value)
