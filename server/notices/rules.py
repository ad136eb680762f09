"""Pure rules of notices (通知公告) and the staff bulletin (公告板).

No framework, database or settings here.
"""

from __future__ import annotations

from datetime import datetime

# Who a notice is for: residents and tenants (通知公告) or the organisation's staff (公告板).
AUDIENCE_TENANT, AUDIENCE_STAFF = "tenant", "staff"
AUDIENCES = (AUDIENCE_TENANT, AUDIENCE_STAFF)

# What a notice targets. Tenant notices: the whole organisation, chosen communities, buildings
# or rooms; staff notices: chosen departments or every staff member.
SCOPE_ORG, SCOPE_COMMUNITIES, SCOPE_BUILDINGS, SCOPE_ROOMS = (
    "org",
    "communities",
    "buildings",
    "rooms",
)
SCOPE_DEPARTMENTS, SCOPE_ALL_STAFF = "departments", "all_staff"
TENANT_SCOPES = (SCOPE_ORG, SCOPE_COMMUNITIES, SCOPE_BUILDINGS, SCOPE_ROOMS)
STAFF_SCOPES = (SCOPE_DEPARTMENTS, SCOPE_ALL_STAFF)
SCOPES = (*TENANT_SCOPES, *STAFF_SCOPES)
# Scopes that name their targets (the others reach everyone of the audience).
LISTED_SCOPES = (SCOPE_COMMUNITIES, SCOPE_BUILDINGS, SCOPE_ROOMS, SCOPE_DEPARTMENTS)
MAX_TARGETS = 10_000

# A notice's life: scheduled (publish_at ahead) → published → withdrawn.
SCHEDULED, PUBLISHED, WITHDRAWN = "scheduled", "published", "withdrawn"
STATUSES = (SCHEDULED, PUBLISHED, WITHDRAWN)

# The fan-out writes recipients room range by room range: one outbox job per part.
FAN_OUT_ROOMS_PER_PART = 2_000
FAN_OUT_STAFF_PER_PART = 2_000


def scope_fits(audience: str, scope: str) -> bool:
    return scope in (TENANT_SCOPES if audience == AUDIENCE_TENANT else STAFF_SCOPES)


def needs_targets(scope: str) -> bool:
    return scope in LISTED_SCOPES


def notification_kind(audience: str, urgent: bool) -> str:
    """The notification kind a notice is delivered as (urgent ones push at once)."""
    if audience == AUDIENCE_STAFF:
        return "staff_notice"
    return "notice_urgent" if urgent else "notice"


def initial_status(publish_at: datetime | None, now: datetime) -> str:
    """Published now, or scheduled when `publish_at` is still ahead."""
    return SCHEDULED if publish_at is not None and publish_at > now else PUBLISHED


def visible(status: str, expires_at: datetime | None, now: datetime) -> bool:
    """A recipient sees a published notice until it expires; never a withdrawn one."""
    return status == PUBLISHED and (expires_at is None or expires_at > now)


def parts(ids: list[int], size: int) -> list[tuple[int, int]]:
    """Inclusive (first, last) id ranges of at most `size` ids each, over sorted `ids`."""
    ordered = sorted(ids)
    return [
        (ordered[i], ordered[min(i + size, len(ordered)) - 1]) for i in range(0, len(ordered), size)
    ]
