"""What the order board's filters offer: names only, read in one round trip.

The console renders these selects on every page of the board; the assign picker on an order's
page is the one that shows technicians' load and caps (`staff.members.list_staff`).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import BigInteger, bindparam, literal_column, select
from sqlalchemy.orm import Session

from server.accounts.models import User
from server.catalog.models import OrderSubtype, OrderType
from server.db.pipeline import read_together
from server.directory.models import Building, Community
from server.staff.models import Staff
from server.staff.technicians import active_technician

# How many of each a select lists (an organisation with more filters by typing an id).
MAX_CHOICES = 500

# The pipeline runs prebuilt statements: every value a named parameter or a literal.
_ORG: Any = bindparam("org_id", type_=BigInteger)
_LIMIT: Any = literal_column(str(MAX_CHOICES))
_TYPES: Any = (
    select(
        OrderType.id.label("type_id"),
        OrderType.name.label("type_name"),
        OrderSubtype.id.label("subtype_id"),
        OrderSubtype.name.label("subtype_name"),
    )
    .outerjoin(OrderSubtype, OrderSubtype.order_type_id == OrderType.id)
    .where(OrderType.org_id == _ORG)
    .order_by(OrderType.sort_order, OrderType.id, OrderSubtype.sort_order, OrderSubtype.id)
    .limit(_LIMIT)
)
_COMMUNITIES: Any = (
    select(Community.id, Community.name)
    .where(Community.org_id == _ORG)
    .order_by(Community.id)
    .limit(_LIMIT)
)
_BUILDINGS: Any = (
    select(Building.id, Building.name, Community.name.label("community_name"))
    .join(Community, Community.id == Building.community_id)
    .where(Building.org_id == _ORG)
    .order_by(Community.id, Building.id)
    .limit(_LIMIT)
)
_TECHNICIANS: Any = (
    select(Staff.id, User.name)
    .join(User, User.id == Staff.user_id)
    .where(
        Staff.org_id == _ORG,
        active_technician(),
    )
    .order_by(User.name, Staff.id)
    .limit(_LIMIT)
)


@dataclass(frozen=True)
class BoardChoices:
    order_types: list[SimpleNamespace]  # id, name, subtypes [id, name]
    communities: list[SimpleNamespace]
    buildings: list[SimpleNamespace]  # id, name, community_name
    technicians: list[SimpleNamespace]  # active technicians


def board_choices(session: Session, *, org_id: int) -> BoardChoices:
    """Every order type (active or not) with its subtypes, the communities, the buildings and
    the active technicians of the organisation, by name."""
    params = {"org_id": org_id}
    types, communities, buildings, technicians = read_together(
        session,
        [(_TYPES, params), (_COMMUNITIES, params), (_BUILDINGS, params), (_TECHNICIANS, params)],
    )
    by_type: dict[int, SimpleNamespace] = {}
    for row in types:
        entry = by_type.setdefault(
            row.type_id, SimpleNamespace(id=row.type_id, name=row.type_name, subtypes=[])
        )
        if row.subtype_id is not None:
            entry.subtypes.append(SimpleNamespace(id=row.subtype_id, name=row.subtype_name))
    return BoardChoices(
        order_types=list(by_type.values()),
        communities=[SimpleNamespace(id=r.id, name=r.name) for r in communities],
        buildings=[
            SimpleNamespace(id=r.id, name=r.name, community_name=r.community_name)
            for r in buildings
        ],
        technicians=[SimpleNamespace(id=r.id, name=r.name) for r in technicians],
    )
