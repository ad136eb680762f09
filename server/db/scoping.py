"""Organisation scoping: nobody reads or touches another organisation's rows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, TypeVar, overload

from sqlalchemy import Select, exists, inspect, select
from sqlalchemy.orm import Session

from server.kernel.errors import Conflict, NotFound, ValidationFailed


class Owned(Protocol):
    """Anything that says which organisation it belongs to (None: to no organisation)."""

    @property
    def org_id(self) -> int | None: ...


T = TypeVar("T", bound=Owned)


def belongs_to(obj: Owned | None, org_id: int) -> bool:
    """Whether `obj` exists and is the organisation's: the one comparison of organisations."""
    return obj is not None and obj.org_id == org_id


def find_owned(
    session: Session,
    model: type[T],
    object_id: int | str,
    *,
    org_id: int,
    for_update: bool = False,
    populate_existing: bool = False,
) -> T | None:
    """The row with this id if it belongs to the organisation, else None.

    Every lookup by id goes through here (or `get_owned` / `reference_owned`). `for_update`
    locks the row itself (`FOR UPDATE OF` its table, so that eager outer joins take no part);
    `populate_existing` reads it afresh over what the session holds (needed after a
    conditional UPDATE, or to lock a row already loaded).
    """
    obj = session.get(
        model,
        object_id,
        with_for_update={"of": inspect(model).local_table} if for_update else None,
        populate_existing=populate_existing,
    )
    return obj if belongs_to(obj, org_id) else None


def get_owned(
    session: Session,
    model: type[T],
    object_id: int | str,
    *,
    org_id: int,
    message: str = "资源不存在",
    for_update: bool = False,
    populate_existing: bool = False,
) -> T:
    """The row with this id in the caller's organisation, else 404 (never 403: no leaks)."""
    obj = find_owned(
        session,
        model,
        object_id,
        org_id=org_id,
        for_update=for_update,
        populate_existing=populate_existing,
    )
    if obj is None:
        raise NotFound(message)
    return obj


@overload
def reference_owned(
    session: Session,
    model: type[T],
    object_id: int | str,
    *,
    org_id: int,
    field: str,
    message: str,
) -> T: ...


@overload
def reference_owned(
    session: Session,
    model: type[T],
    object_id: int | str | None,
    *,
    org_id: int,
    field: str,
    message: str,
) -> T | None: ...


def reference_owned(
    session: Session,
    model: type[T],
    object_id: int | str | None,
    *,
    org_id: int,
    field: str,
    message: str,
) -> T | None:
    """A referenced row from the request body: it must exist in the caller's organisation.

    Absent (None) stays None; anything else that is not the organisation's is a 422 on `field`.
    """
    if object_id is None:
        return None
    obj = find_owned(session, model, object_id, org_id=org_id)
    if obj is None:
        raise ValidationFailed.field(field, message)
    return obj


def ensure_absent(session: Session, stmt: Select[Any], *, field: str, message: str) -> None:
    """Raise 409 conflict when `stmt` finds a row (a duplicate name or code)."""
    if session.scalar(select(exists(stmt.subquery()))):
        raise Conflict(message, errors={field: [message]})


def apply_changes(obj: object, changes: Mapping[str, Any]) -> None:
    for key, value in changes.items():
        setattr(obj, key, value)
