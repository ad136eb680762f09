"""All mapped classes, imported here so that metadata and Alembic see every table."""

from server.models.catalog import OrderSubtype, OrderType
from server.models.customer import Contact, Customer, CustomerRoom
from server.models.idempotency import IdempotencyKey
from server.models.order import Order, OrderEvent, OrderMessage, OrderNumberCounter
from server.models.organisation import Organisation
from server.models.property import Building, Community, Room, Unit
from server.models.staff import Department, Post, Staff
from server.models.upload import Upload
from server.models.user import RefreshToken, User

__all__ = [
    "Building",
    "Community",
    "Contact",
    "Customer",
    "CustomerRoom",
    "Department",
    "IdempotencyKey",
    "Order",
    "OrderEvent",
    "OrderMessage",
    "OrderNumberCounter",
    "OrderSubtype",
    "OrderType",
    "Organisation",
    "Post",
    "RefreshToken",
    "Room",
    "Staff",
    "Unit",
    "Upload",
    "User",
]
