"""The repair catalogue the apps offer: active order types with their active subtypes."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, with_loader_criteria

from server.catalog.models import OrderSubtype, OrderType


def active_catalog(session: Session, *, org_id: int) -> list[OrderType]:
    """Types in display order; each carries only its active subtypes."""
    return list(
        session.scalars(
            select(OrderType)
            .where(OrderType.org_id == org_id, OrderType.is_active.is_(True))
            .options(
                selectinload(OrderType.subtypes),
                with_loader_criteria(OrderSubtype, OrderSubtype.is_active.is_(True)),
            )
            .order_by(OrderType.sort_order, OrderType.id)
        ).unique()
    )
