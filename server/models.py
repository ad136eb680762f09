"""All mapped classes, imported here so that metadata and Alembic see every table."""

from server.accounts.models import RefreshToken, User
from server.audit.models import AuditEntry  # noqa: F401
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
    LedgerEntry,
    Material,
    OrderCharge,
    OrderFee,
    Requisition,
    ServiceItem,
    ServiceSpec,
    StockMovement,
    TechnicianStock,
)
from server.complaints.models import Complaint, ComplaintReply  # noqa: F401
from server.dashboard.models import PAUSE_STEPS_INDEX  # noqa: F401
from server.dictionary.models import DictionaryItem  # noqa: F401
from server.directory.models import Building, Community, Contact, Customer, CustomerRoom, Room, Unit
from server.idempotency.models import IdempotencyKey
from server.imports.models import ImportJob  # noqa: F401
from server.notices.models import Notice, NoticeRecipient  # noqa: F401
from server.notifications.models import (
    Delivery,
    Device,
    Notification,
    NotificationPreference,
    SubscribeConsent,
)
from server.orders.models import Order, OrderEvent, OrderMessage, OrderNumberCounter
from server.organisation.models import Organisation
from server.outbox.models import OutboxItem
from server.parking.models import ParkingSpace, SpaceHolding, Vehicle  # noqa: F401
from server.payments.models import (
    Payment,
    PaymentAccount,
    PaymentAccountSecret,
    PaymentChannelSetting,
    Refund,
)
from server.reconciliation.models import ReconciliationDiscrepancy, ReconciliationRun
from server.residency.models import MoveIn, RoomLineage, RoomPayer, RoomTransfer  # noqa: F401
from server.roles.models import CustomRole, RoleGrant  # noqa: F401
from server.search.models import ROOM_CODE_INDEX  # noqa: F401
from server.sla.models import BusinessCalendar, BusinessDay, SlaClock, SlaPolicy
from server.staff.models import Department, Post, Staff
from server.surveys.models import Survey, SurveyAnswer, SurveyQuestion, SurveyResponse  # noqa: F401
from server.uploads.models import Upload
from server.visits.models import ReturnVisit  # noqa: F401

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
    "Delivery",
    "Department",
    "Device",
    "IdempotencyKey",
    "LaborItem",
    "LaborPrice",
    "LedgerEntry",
    "Material",
    "Notification",
    "NotificationPreference",
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
    "Payment",
    "PaymentAccount",
    "PaymentAccountSecret",
    "PaymentChannelSetting",
    "Post",
    "ReconciliationDiscrepancy",
    "ReconciliationRun",
    "RefreshToken",
    "Refund",
    "Requisition",
    "Room",
    "ServiceItem",
    "ServiceSpec",
    "SlaClock",
    "SlaPolicy",
    "SlotCounter",
    "Staff",
    "StockMovement",
    "SubscribeConsent",
    "TechnicianStock",
    "Unit",
    "Upload",
    "User",
]
