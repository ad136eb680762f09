"""The value lists of orders, defined once.

The orders tables' CHECK constraints, the schemas' validators and the OpenAPI enums are built
from these tuples; statuses and actions are the state machine's enums (`states`).
"""

from __future__ import annotations

from server.kernel.roles import Role
from server.kernel.values import values_of
from server.orders.rules.states import Action, Status

STATUSES = values_of(Status)
ACTIONS = values_of(Action)

PRIORITY_NORMAL = "normal"
PRIORITY_URGENT = "urgent"
PRIORITIES = (PRIORITY_NORMAL, PRIORITY_URGENT)

# Who pays a fee: the tenant, or the company (公司代付).
PAYERS = ("tenant", "company")

# Who filed the order: the tenant themself, or staff on their behalf.
CHANNELS = ("tenant", "staff")

PAYMENT_STATUSES = ("none", "unpaid", "partially_paid", "paid", "refunded")

# The capacity an action was taken in: a login's role, or the system (auto-close).
SYSTEM_ACTOR = "system"
ACTOR_ROLES = (*values_of(Role), SYSTEM_ACTOR)
# A message is always written by a person.
AUTHOR_ROLES = values_of(Role)

# Request options (not stored): the tenant's boxes, the pool's sort orders, the export formats.
TENANT_BOXES = ("submitted", "todo")
POOL_SORTS = ("urgent", "newest", "appointment")
DESK_LIST_FORMATS = ("json", "csv", "xlsx")
