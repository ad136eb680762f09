"""All mapped classes, imported here so that metadata and Alembic see every table."""

from server.accounts.models import RefreshToken, User
from server.catalog.models import OrderSubtype, OrderType
from server.directory.models import Building, Community, Contact, Customer, CustomerRoom, Room, Unit
from server.idempotency.models import IdempotencyKey
from server.orders.models import Order, OrderEvent, OrderMessage, OrderNumberCounter
from server.organisation.models import Organisation
from server.outbox.models import OutboxItem
from server.staff.models import Department, Post, Staff
from server.uploads.models import Upload

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
    "OutboxItem",
    "Post",
    "RefreshToken",
    "Room",
    "Staff",
    "Unit",
    "Upload",
    "User",
]
