"""The value lists the OpenAPI document names, so generated clients give each one stable type.

Each is the list its area validates and stores (the CHECK constraints are built from the same
tuples); `server.web.openapi` replaces every inline enum with exactly these values by a
reference to the named component. Two lists with the same values cannot both be named.
"""

from __future__ import annotations

from server.catalog.rules import FEE_MODES
from server.directory.rules import CONTACT_RELATIONS, CUSTOMER_KINDS, ROOM_RELATIONS
from server.kernel.errors import error_ids
from server.kernel.roles import STAFF_ROLES, Role
from server.kernel.values import CHARGE_KINDS, PREPAY_KINDS
from server.notifications.rules import KINDS as NOTIFICATION_KINDS
from server.notifications.rules import PLATFORMS
from server.orders.rules.values import (
    ACTIONS,
    ACTOR_ROLES,
    CHANNELS,
    PAYERS,
    PAYMENT_STATUSES,
    PRIORITIES,
    STATUSES,
)
from server.payments.rules import CHANNELS as PAY_CHANNELS
from server.payments.rules import (
    PAYMENT_CHANNELS,
    PAYMENT_PURPOSES,
    PROVIDERS,
    REFUND_SOURCES,
    REFUND_STATUSES,
)
from server.payments.rules import PAYMENT_STATUSES as PAYMENT_STATES

NAMED_ENUMS: dict[str, tuple[str, ...]] = {
    "ErrorId": error_ids(),
    "OrderStatus": STATUSES,
    "OrderPaymentStatus": PAYMENT_STATUSES,
    "TimelineAction": ACTIONS,
    "ActorRole": ACTOR_ROLES,
    "UserRole": tuple(r.value for r in Role),
    "StaffRole": tuple(sorted(r.value for r in STAFF_ROLES)),
    "Priority": PRIORITIES,
    "OrderChannel": CHANNELS,
    "Payer": PAYERS,
    "PaymentStatus": PAYMENT_STATES,
    "PaymentChannel": PAYMENT_CHANNELS,
    "PaymentProvider": PROVIDERS,
    "PayChannel": PAY_CHANNELS,
    "PaymentPurpose": PAYMENT_PURPOSES,
    "RefundStatus": REFUND_STATUSES,
    "RefundSource": REFUND_SOURCES,
    "ChargeKind": CHARGE_KINDS,
    "PrepayKind": PREPAY_KINDS,
    "FeeMode": FEE_MODES,
    "CustomerKind": CUSTOMER_KINDS,
    "ContactRelation": CONTACT_RELATIONS,
    "RoomRelation": ROOM_RELATIONS,
    "NotificationKind": NOTIFICATION_KINDS,
    "DevicePlatform": PLATFORMS,
}
