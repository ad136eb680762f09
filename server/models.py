"""All mapped classes, imported here so that metadata and Alembic see every table."""

from server.accounts.models import RefreshToken, User
from server.booking.models import (
    BookingCommunityQuota,
    BookingException,
    BookingSettings,
    SlotCounter,
)
from server.catalog.models import OrderSubtype, OrderType
from server.charges.models import (
    LaborItem,
    LaborPrice,
    Material,
    OrderCharge,
    OrderFee,
    Requisition,
    ServiceItem,
    ServiceSpec,
    StockMovement,
    TechnicianStock,
)
from server.directory.models import Building, Community, Contact, Customer, CustomerRoom, Room, Unit
from server.idempotency.models import IdempotencyKey
from server.orders.models import Order, OrderEvent, OrderMessage, OrderNumberCounter
from server.organisation.models import Organisation
from server.outbox.models import OutboxItem
from server.payments.models import PaymentAccount, PaymentAccountSecret, PaymentChannelSetting
from server.reconciliation.models import ReconciliationDiscrepancy, ReconciliationRun
from server.sla.models import BusinessCalendar, BusinessDay, SlaClock, SlaPolicy
from server.staff.models import Department, Post, Staff
from server.uploads.models import Upload

__all__ = [
    "BookingCommunityQuota",
    "BookingException",
    "BookingSettings",
    "Building",
    "BusinessCalendar",
    "BusinessDay",
    "Community",
    "Contact",
    "Customer",
    "CustomerRoom",
    "Department",
    "IdempotencyKey",
    "LaborItem",
    "LaborPrice",
    "Material",
    "Order",
    "OrderCharge",
    "OrderEvent",
    "OrderFee",
    "OrderMessage",
    "OrderNumberCounter",
    "OrderSubtype",
    "OrderType",
    "Organisation",
    "OutboxItem",
    "PaymentAccount",
    "PaymentAccountSecret",
    "PaymentChannelSetting",
    "Post",
    "ReconciliationDiscrepancy",
    "ReconciliationRun",
    "RefreshToken",
    "Requisition",
    "Room",
    "ServiceItem",
    "ServiceSpec",
    "SlaClock",
    "SlaPolicy",
    "SlotCounter",
    "Staff",
    "StockMovement",
    "TechnicianStock",
    "Unit",
    "Upload",
    "User",
]
