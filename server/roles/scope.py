"""The data scope (数据范围): a caller whose roles reach some communities only sees their data.

One listener on every ORM statement of a session whose request is scoped adds, for each
community-bound table, the criterion "in the caller's communities" (SQLAlchemy's
`with_loader_criteria`, which also reaches joins, subqueries and relationship loads). Lists
then leave the rest out and lookups by id answer 404, in every use case alike, without each
one spelling the rule. A caller over all communities (the presets, most roles) adds nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import and_, event, exists, or_, select
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from server.complaints.models import Complaint
from server.directory.models import Building, Community, Contact, Customer, CustomerRoom, Room, Unit
from server.orders.models import Order
from server.parking.models import ParkingSpace
from server.residency.models import MoveIn, RoomLineage, RoomPayer, RoomTransfer
from server.roles.grants import current_grant
from server.visits.models import ReturnVisit

# The subqueries read the tables, not the mapped classes: the criteria must not apply inside
# one another (a customer whose relations are all out of scope is not "related to no room").
_rooms = Room.__table__
_buildings = Building.__table__
_customer_rooms = CustomerRoom.__table__
_customers = Customer.__table__
_orders = Order.__table__


def _rooms_in(ids: list[int]) -> Any:
    return select(_rooms.c.id).where(_rooms.c.community_id.in_(ids))


def _customer_visible(ids: list[int], customer_id: Any) -> Any:
    """A customer related (ever) to a room in scope, or not yet related to any room (just
    registered: the desk places them next)."""
    related = select(_customer_rooms.c.id).where(_customer_rooms.c.customer_id == customer_id)
    return or_(
        exists(related.where(_customer_rooms.c.room_id.in_(_rooms_in(ids)))),
        ~exists(related),
    )


def _orders_in(ids: list[int]) -> Any:
    return select(_orders.c.id).where(_orders.c.community_id.in_(ids))


# Each community-bound table and its criterion over the communities in scope.
CRITERIA: tuple[tuple[type[Any], Callable[[list[int]], Any]], ...] = (
    (Community, lambda ids: Community.id.in_(ids)),
    (Building, lambda ids: Building.community_id.in_(ids)),
    (
        Unit,
        lambda ids: Unit.building_id.in_(select(Building.id).where(Building.community_id.in_(ids))),
    ),
    (Room, lambda ids: Room.community_id.in_(ids)),
    (Order, lambda ids: Order.community_id.in_(ids)),
    (ParkingSpace, lambda ids: ParkingSpace.community_id.in_(ids)),
    (CustomerRoom, lambda ids: CustomerRoom.room_id.in_(_rooms_in(ids))),
    (Customer, lambda ids: _customer_visible(ids, Customer.id)),
    (Contact, lambda ids: _customer_visible(ids, Contact.customer_id)),
    (
        Complaint,
        lambda ids: or_(Complaint.order_id.is_(None), Complaint.order_id.in_(_orders_in(ids))),
    ),
    (ReturnVisit, lambda ids: ReturnVisit.order_id.in_(_orders_in(ids))),
    (MoveIn, lambda ids: MoveIn.room_id.in_(_rooms_in(ids))),
    (RoomTransfer, lambda ids: RoomTransfer.room_id.in_(_rooms_in(ids))),
    (RoomPayer, lambda ids: RoomPayer.room_id.in_(_rooms_in(ids))),
    (RoomLineage, lambda ids: RoomLineage.from_room_id.in_(_rooms_in(ids))),
)


@event.listens_for(Session, "do_orm_execute")
def _scope_statement(state: ORMExecuteState) -> None:
    if not state.is_select or state.is_column_load:
        return
    grant = current_grant(state.session)
    if grant is None or grant.communities is None:
        return
    ids = sorted(grant.communities)
    state.statement = state.statement.options(
        *(
            with_loader_criteria(model, and_(criterion(ids)), include_aliases=True)
            for model, criterion in CRITERIA
        )
    )
