"""Each value list has one home; the database CHECK and the OpenAPI enum are built from it.

For every list: the CHECK constraint in the live (migrated) database accepts exactly the listed
values, the model declares the CHECK as the list spells it, and every OpenAPI field that carries
the value documents exactly the list as its `enum`. A value added to a list without a migration,
or a validator spelled by hand, fails here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import CheckConstraint, text

import server.models  # noqa: F401  (every table on the metadata)
from schemas.imports import EXPORT_KINDS, TEMPLATE_NAMES
from schemas.staff import STAFF_ROLE_VALUES
from schemas.surveys import EXPORT_FORMATS as SURVEY_EXPORT_FORMATS
from server.audit.rules import ACTOR_ROLES as AUDIT_ACTOR_ROLES
from server.audit.rules import KINDS as AUDIT_KINDS
from server.audit.rules import TARGET_TYPES as AUDIT_TARGET_TYPES
from server.booking.rules import REASONS as BOOKING_REASONS
from server.booking.rules import WEEKDAYS as BOOKING_WEEKDAYS
from server.catalog.rules import FEE_MODES
from server.charges.rules import LEDGER_KINDS, MOVEMENT_REASONS, REQUISITION_STATUSES
from server.complaints.rules import AUTHOR_ROLES as COMPLAINT_AUTHORS
from server.complaints.rules import CATEGORIES as COMPLAINT_CATEGORIES
from server.complaints.rules import KINDS as COMPLAINT_KINDS
from server.complaints.rules import SEVERITIES as COMPLAINT_SEVERITIES
from server.complaints.rules import STATUSES as COMPLAINT_STATUSES
from server.dashboard.rules import FORMATS as DASHBOARD_FORMATS
from server.dashboard.rules import GRANULARITIES as DASHBOARD_GRANULARITIES
from server.db.base import Base
from server.dictionary.rules import KINDS as DICTIONARY_KINDS
from server.dictionary.rules import LIST_NAMES as DICTIONARY_LISTS
from server.directory.rules import (
    CONTACT_RELATIONS,
    CUSTOMER_KINDS,
    ID_TYPES,
    ORIENTATIONS,
    ROOM_RELATIONS,
    ROOM_USES,
)
from server.imports.rules import FORMATS as IMPORT_FORMATS
from server.imports.rules import JOB_STATUSES as IMPORT_JOB_STATUSES
from server.imports.rules import UPLOAD_KINDS
from server.kernel.errors import error_ids
from server.kernel.roles import Role
from server.kernel.values import (
    CHARGE_KINDS,
    PREPAY_KINDS,
    UPLOAD_PURPOSES,
    sql_in,
    sql_subset,
    values_of,
)
from server.notices.rules import AUDIENCES as NOTICE_AUDIENCES
from server.notices.rules import SCOPES as NOTICE_SCOPES
from server.notices.rules import STATUSES as NOTICE_STATUSES
from server.notifications.rules import KINDS as NOTIFICATION_KINDS
from server.notifications.rules import PLATFORMS as DEVICE_PLATFORMS
from server.orders.rules.values import (
    ACTIONS,
    ACTOR_ROLES,
    AUTHOR_ROLES,
    CHANNELS,
    DESK_LIST_FORMATS,
    PAYERS,
    PAYMENT_STATUSES,
    POOL_SORTS,
    PRIORITIES,
    STATUSES,
    TENANT_BOXES,
)
from server.outbox.rules import STATUSES as OUTBOX_STATUSES
from server.parking.rules import HOLDING_KINDS, PLATE_KINDS, SPACE_KINDS, SPACE_STATUSES
from server.payments.rules import CHANNELS as PAYMENT_CHANNELS
from server.payments.rules import OFFLINE_METHODS, PAYMENT_PURPOSES, REFUND_SOURCES, REFUND_STATUSES
from server.payments.rules import PAYMENT_CHANNELS as PAYMENT_RECORD_CHANNELS
from server.payments.rules import PAYMENT_STATUSES as PAYMENT_STATES
from server.payments.rules import PROVIDERS as PAYMENT_PROVIDERS
from server.reconciliation.rules import ACTIONS as DISCREPANCY_ACTIONS
from server.reconciliation.rules import CHANNELS as RECONCILIATION_CHANNELS
from server.reconciliation.rules import DETAIL_FORMATS as RECONCILIATION_FORMATS
from server.reconciliation.rules import DISCREPANCY_KINDS, RUN_STATUSES
from server.residency.rules import BUCKETS as RESIDENCY_BUCKETS
from server.residency.rules import FAMILY_LABELS, HEAD_RELATIONS, LINEAGE_KINDS
from server.roles.rules import PERMISSION_CODES
from server.search.omni import FIELDS as SEARCH_FIELDS
from server.search.rules import MATCHES as SEARCH_MATCHES
from server.search.rules import QUERY_KINDS as SEARCH_QUERY_KINDS
from server.sla.rules import DAY_KINDS as BUSINESS_DAY_KINDS
from server.surveys.rules import ANSWER_PER as SURVEY_ANSWER_PER
from server.surveys.rules import QUESTION_KINDS as SURVEY_QUESTION_KINDS
from server.surveys.rules import SCOPES as SURVEY_SCOPES
from server.surveys.rules import STATUSES as SURVEY_STATUSES
from server.visits.rules import REASONS as VISIT_REASONS
from server.visits.rules import STATUSES as VISIT_STATUSES
from server.workbench.rules import QUEUES as WORKBENCH_QUEUES

ROOT = Path(__file__).resolve().parents[2]
ROLES = values_of(Role)


@dataclass(frozen=True)
class Listed:
    """Where one list is enforced: a column's CHECK and the OpenAPI fields that carry it."""

    name: str
    values: tuple[str, ...]
    table: str | None = None
    column: str | None = None
    check: str | None = None  # the constraint's name, as the naming convention spells it
    nullable: bool = False
    array: bool = False
    # ("Component", "property") or ("/path", "method", "query parameter")
    openapi: tuple[tuple[str, ...], ...] = ()


LISTS = (
    Listed(
        "order statuses",
        STATUSES,
        "orders",
        "status",
        "ck_orders_status_known",
        openapi=(
            ("Order", "status"),
            ("OrderDetail", "status"),
            ("/api/v1/tenant/orders", "get", "status"),
            ("/api/v1/tech/orders", "get", "status"),
            ("/api/v1/admin/orders", "get", "status"),
        ),
    ),
    Listed(
        "priorities",
        PRIORITIES,
        "orders",
        "priority",
        "ck_orders_priority_known",
        openapi=(
            ("Order", "priority"),
            ("OrderCreate", "priority"),
            ("StaffOrderCreate", "priority"),
            ("/api/v1/admin/orders", "get", "priority"),
        ),
    ),
    Listed(
        "SLA policy priorities (null: every priority)",
        PRIORITIES,
        "sla_policies",
        "priority",
        "ck_sla_policies_priority_known",
        nullable=True,
        openapi=(("SlaPolicy", "priority"),),
    ),
    Listed(
        "business calendar day kinds",
        BUSINESS_DAY_KINDS,
        "business_days",
        "kind",
        "ck_business_days_kind_known",
        openapi=(("BusinessDay", "kind"),),
    ),
    Listed(
        "payers",
        PAYERS,
        "orders",
        "payer",
        "ck_orders_payer_known",
        openapi=(("Order", "payer"), ("OrderDetail", "payer"), ("StaffOrderCreate", "payer")),
    ),
    Listed(
        "channels",
        CHANNELS,
        "orders",
        "channel",
        "ck_orders_channel_known",
        openapi=(("Order", "channel"), ("OrderDetail", "channel")),
    ),
    Listed(
        "payment statuses",
        PAYMENT_STATUSES,
        "orders",
        "payment_status",
        "ck_orders_payment_status_known",
        openapi=(("Order", "payment_status"), ("OrderDetail", "payment_status")),
    ),
    Listed(
        "timeline actions",
        ACTIONS,
        "order_events",
        "action",
        "ck_order_events_action_known",
        openapi=(("TimelineEvent", "action"),),
    ),
    Listed(
        "timeline from-statuses",
        STATUSES,
        "order_events",
        "from_status",
        "ck_order_events_from_status_known",
        nullable=True,
        openapi=(("TimelineEvent", "from_status"),),
    ),
    Listed(
        "timeline to-statuses",
        STATUSES,
        "order_events",
        "to_status",
        "ck_order_events_to_status_known",
        nullable=True,
        openapi=(("TimelineEvent", "to_status"),),
    ),
    Listed(
        "actor roles",
        ACTOR_ROLES,
        "order_events",
        "actor_role",
        "ck_order_events_actor_role_known",
        openapi=(("TimelineEvent", "actor_role"),),
    ),
    Listed(
        "message author roles",
        AUTHOR_ROLES,
        "order_messages",
        "author_role",
        "ck_order_messages_author_role_known",
        openapi=(("Message", "author_role"),),
    ),
    Listed(
        "login roles",
        ROLES,
        "users",
        "roles",
        "ck_users_roles_known",
        array=True,
        openapi=(("User", "roles"),),
    ),
    Listed(
        "permissions (权限目录)",
        PERMISSION_CODES,
        "roles",
        "permissions",
        "ck_roles_known",
        array=True,
        openapi=(("Permission", "code"), ("Role", "permissions"), ("User", "permissions")),
    ),
    Listed(
        "staff roles",
        tuple(STAFF_ROLE_VALUES),
        openapi=(
            ("Staff", "roles"),
            ("StaffListItem", "roles"),
            ("/api/v1/admin/staff", "get", "role"),
        ),
    ),
    Listed(
        "fee modes",
        FEE_MODES,
        "order_subtypes",
        "fee_mode",
        "ck_order_subtypes_fee_mode_known",
        openapi=(("OrderSubtype", "fee_mode"), ("CatalogSubtype", "fee_mode")),
    ),
    Listed(
        "upload purposes",
        UPLOAD_PURPOSES,
        "uploads",
        "purpose",
        "ck_uploads_purpose_known",
        nullable=True,
    ),
    Listed(
        "customer kinds",
        CUSTOMER_KINDS,
        "customers",
        "kind",
        "ck_customers_kind_known",
        openapi=(
            ("Customer", "kind"),
            ("CustomerListItem", "kind"),
            ("/api/v1/admin/customers", "get", "kind"),
        ),
    ),
    Listed(
        "contact relations",
        CONTACT_RELATIONS,
        "contacts",
        "relation",
        "ck_contacts_relation_known",
        openapi=(("Contact", "relation"), ("ContactMasked", "relation")),
    ),
    Listed(
        "room relations",
        ROOM_RELATIONS,
        "customer_rooms",
        "relation",
        "ck_customer_rooms_relation_known",
        openapi=(("CustomerRoom", "relation"), ("TenantRoom", "relation")),
    ),
    # 住户生命周期 (server.residency).
    Listed(
        "household head relations",
        HEAD_RELATIONS,
        openapi=(
            ("MoveInCreate", "relation"),
            ("MoveIn", "relation"),
            ("RoomMoveIn", "relation"),
        ),
    ),
    Listed(
        "family labels",
        FAMILY_LABELS,
        openapi=(
            ("MoveInFamilyMember", "label"),
            ("HouseholdMemberCreate", "label"),
            ("HouseholdMemberUpdate", "label"),
        ),
    ),
    Listed(
        "room lineage kinds",
        LINEAGE_KINDS,
        "room_lineage",
        "kind",
        "ck_room_lineage_kind_known",
        openapi=(("RoomLineage", "kind"),),
    ),
    Listed(
        "customer-service report buckets",
        RESIDENCY_BUCKETS,
        openapi=(
            ("CustomerServiceReport", "bucket"),
            ("/api/v1/admin/reports/customer-service", "get", "bucket"),
        ),
    ),
    Listed(
        "orientations",
        ORIENTATIONS,
        "rooms",
        "orientation",
        "ck_rooms_orientation_known",
        nullable=True,
        openapi=(("Room", "orientation"),),
    ),
    Listed(
        "outbox statuses",
        OUTBOX_STATUSES,
        "outbox",
        "status",
        "ck_outbox_status_known",
        openapi=(("OutboxItem", "status"), ("/api/v1/admin/jobs", "get", "status")),
    ),
    Listed(
        "subtype charge kinds",
        CHARGE_KINDS,
        "order_subtypes",
        "charge_kinds",
        "ck_order_subtypes_charge_kinds_known",
        array=True,
        openapi=(("OrderSubtype", "charge_kinds"), ("CatalogSubtype", "charge_kinds")),
    ),
    Listed(
        "charge kinds",
        CHARGE_KINDS,
        "order_charges",
        "kind",
        "ck_order_charges_kind_known",
        openapi=(("Charge", "kind"), ("ChargeCreate", "kind")),
    ),
    Listed(
        "subtype prepay kinds",
        PREPAY_KINDS,
        "order_subtypes",
        "prepay",
        "ck_order_subtypes_prepay_known",
        openapi=(("OrderSubtype", "prepay"), ("CatalogSubtype", "prepay")),
    ),
    Listed(
        "order fee prepay kinds",
        PREPAY_KINDS,
        "order_fees",
        "prepay",
        "ck_order_fees_prepay_known",
        nullable=True,
        openapi=(("Fee", "prepay"),),
    ),
    Listed(
        "stock movement reasons",
        MOVEMENT_REASONS,
        "stock_movements",
        "reason",
        "ck_stock_movements_reason_known",
        openapi=(("Movement", "reason"),),
    ),
    Listed(
        "requisition statuses",
        REQUISITION_STATUSES,
        "material_requisitions",
        "status",
        "ck_material_requisitions_status_known",
        openapi=(
            ("Requisition", "status"),
            ("/api/v1/admin/requisitions", "get", "status"),
            ("/api/v1/tech/requisitions", "get", "status"),
        ),
    ),
    Listed("tenant boxes", TENANT_BOXES, openapi=(("/api/v1/tenant/orders", "get", "box"),)),
    Listed("pool sorts", POOL_SORTS, openapi=(("/api/v1/tech/pool", "get", "sort"),)),
    Listed("booking slot reasons", BOOKING_REASONS, openapi=(("Slot", "reason"),)),
    Listed(  # ISO weekdays; stored as JSON, validated by the schema
        "booking weekdays", BOOKING_WEEKDAYS, openapi=(("BookingSettings", "weekdays"),)
    ),
    Listed(
        "payment providers",
        PAYMENT_PROVIDERS,
        "payment_accounts",
        "provider",
        "ck_payment_accounts_provider_known",
        openapi=(
            ("PaymentAccountCreate", "provider"),
            ("PaymentAccount", "provider"),
            ("PaymentCreate", "channel"),
            ("PaymentAnswer", "channel"),
        ),
    ),
    Listed(
        "payment record channels",
        PAYMENT_RECORD_CHANNELS,
        "payments",
        "channel",
        "ck_payments_channel_known",
        openapi=(
            ("PaymentRecord", "channel"),
            ("OrderPayment", "channel"),
            ("Refund", "channel"),
            ("/api/v1/admin/payments", "get", "channel"),
            ("/api/v1/admin/refunds", "get", "channel"),
        ),
    ),
    Listed(
        "payment states",
        PAYMENT_STATES,
        "payments",
        "status",
        "ck_payments_status_known",
        openapi=(
            ("PaymentAnswer", "status"),
            ("PaymentRecord", "status"),
            ("OrderPayment", "status"),
            ("/api/v1/admin/payments", "get", "status"),
        ),
    ),
    Listed(
        "payment purposes",
        PAYMENT_PURPOSES,
        "payments",
        "purpose",
        "ck_payments_purpose_known",
        openapi=(("PaymentRecord", "purpose"), ("OrderPayment", "purpose")),
    ),
    Listed(
        "offline payment methods",
        OFFLINE_METHODS,
        "payments",
        "method",
        "ck_payments_method_known",
        nullable=True,
        openapi=(("PaymentRecord", "method"), ("OfflinePaymentCreate", "method")),
    ),
    Listed(
        "refund states",
        REFUND_STATUSES,
        "refunds",
        "status",
        "ck_refunds_status_known",
        openapi=(
            ("Refund", "status"),
            ("OrderRefund", "status"),
            ("/api/v1/admin/refunds", "get", "status"),
        ),
    ),
    Listed(
        "refund sources",
        REFUND_SOURCES,
        "refunds",
        "source",
        "ck_refunds_source_known",
        openapi=(
            ("Refund", "source"),
            ("OrderRefund", "source"),
            ("/api/v1/admin/refunds", "get", "source"),
        ),
    ),
    Listed(
        "device platforms",
        DEVICE_PLATFORMS,
        "devices",
        "platform",
        "ck_devices_platform_known",
        openapi=(("DeviceCreate", "platform"), ("Device", "platform")),
    ),
    Listed(
        "notification kinds",
        NOTIFICATION_KINDS,
        "notifications",
        "kind",
        "ck_notifications_kind_known",
        openapi=(
            ("Notification", "kind"),
            ("Preferences", "muted_kinds"),
            ("Preferences", "urgent_kinds"),
        ),
    ),
    Listed(
        "ledger kinds",
        LEDGER_KINDS,
        "ledger_entries",
        "kind",
        "ck_ledger_entries_kind_known",
        openapi=(("LedgerEntry", "kind"),),
    ),
    Listed(
        "payment channels",
        PAYMENT_CHANNELS,
        "payment_channel_settings",
        "channels",
        "ck_payment_channel_settings_channels_known",
        array=True,
        openapi=(("PaymentChannels", "channels"), ("PaymentChannels", "available")),
    ),
    Listed(
        "console list formats",
        DESK_LIST_FORMATS,
        openapi=(
            ("/api/v1/admin/orders", "get", "format"),
            ("/api/v1/admin/payments", "get", "format"),
            ("/api/v1/admin/refunds", "get", "format"),
            ("/api/v1/admin/audit-log", "get", "format"),
        ),
    ),
    Listed(
        "reconciliation channels",
        RECONCILIATION_CHANNELS,
        "reconciliation_runs",
        "channel",
        "ck_reconciliation_runs_channel_known",
        openapi=(
            ("ReconciliationRun", "channel"),
            ("ReconciliationCreate", "channel"),
            ("/api/v1/admin/reconciliations", "get", "channel"),
        ),
    ),
    Listed(
        "reconciliation run statuses",
        RUN_STATUSES,
        "reconciliation_runs",
        "status",
        "ck_reconciliation_runs_status_known",
        openapi=(
            ("ReconciliationRun", "status"),
            ("/api/v1/admin/reconciliations", "get", "status"),
        ),
    ),
    Listed(
        "discrepancy kinds",
        DISCREPANCY_KINDS,
        "reconciliation_discrepancies",
        "kind",
        "ck_reconciliation_discrepancies_kind_known",
        openapi=(
            ("Discrepancy", "kind"),
            ("/api/v1/admin/reconciliations/{run_id}", "get", "kind"),
        ),
    ),
    Listed(
        "discrepancy actions",
        DISCREPANCY_ACTIONS,
        "reconciliation_discrepancies",
        "action",
        "ck_reconciliation_discrepancies_action_known",
        nullable=True,
        openapi=(("Discrepancy", "action"),),
    ),
    Listed(
        "reconciliation detail formats",
        RECONCILIATION_FORMATS,
        openapi=(("/api/v1/admin/reconciliations/{run_id}", "get", "format"),),
    ),
    # Not stored: the workbench's queue names (工作台).
    Listed(
        "workbench queues",
        WORKBENCH_QUEUES,
        openapi=(
            ("WorkbenchQueue", "name"),
            ("/api/v1/admin/workbench/orders", "get", "queue"),
        ),
    ),
    # Notices (通知公告) and the staff bulletin (公告板).
    Listed(
        "notice audiences",
        NOTICE_AUDIENCES,
        "notices",
        "audience",
        "ck_notices_audience_known",
        openapi=(
            ("DeskNotice", "audience"),
            ("NoticeCreate", "audience"),
            ("/api/v1/admin/notices", "get", "audience"),
        ),
    ),
    Listed(
        "notice scopes",
        NOTICE_SCOPES,
        "notices",
        "scope",
        "ck_notices_scope_known",
        openapi=(("DeskNotice", "scope"), ("NoticeCreate", "scope")),
    ),
    Listed(
        "notice statuses",
        NOTICE_STATUSES,
        "notices",
        "status",
        "ck_notices_status_known",
        openapi=(("DeskNotice", "status"), ("/api/v1/admin/notices", "get", "status")),
    ),
    # Satisfaction surveys (满意度调查).
    Listed(
        "survey statuses",
        SURVEY_STATUSES,
        "surveys",
        "status",
        "ck_surveys_status_known",
        openapi=(("Survey", "status"), ("/api/v1/admin/surveys", "get", "status")),
    ),
    Listed(
        "survey answer_per",
        SURVEY_ANSWER_PER,
        "surveys",
        "answer_per",
        "ck_surveys_answer_per_known",
        openapi=(
            ("Survey", "answer_per"),
            ("SurveyCreate", "answer_per"),
            ("TenantSurvey", "answer_per"),
        ),
    ),
    Listed(
        "survey scopes",
        SURVEY_SCOPES,
        "surveys",
        "scope",
        "ck_surveys_scope_known",
        openapi=(("Survey", "scope"), ("SurveyCreate", "scope")),
    ),
    Listed(
        "survey question kinds",
        SURVEY_QUESTION_KINDS,
        "survey_questions",
        "kind",
        "ck_survey_questions_kind_known",
        openapi=(("Question", "kind"), ("QuestionCreate", "kind")),
    ),
    Listed(
        "survey export formats",
        SURVEY_EXPORT_FORMATS,
        openapi=(("/api/v1/admin/surveys/{survey_id}/export", "get", "format"),),
    ),
    # Return visits (回访) and complaints and suggestions (投诉建议).
    Listed(
        "return visit reasons",
        VISIT_REASONS,
        "return_visits",
        "reason",
        "ck_return_visits_reason_known",
        openapi=(("ReturnVisit", "reason"),),
    ),
    Listed(
        "return visit statuses",
        VISIT_STATUSES,
        "return_visits",
        "status",
        "ck_return_visits_status_known",
        openapi=(("ReturnVisit", "status"), ("/api/v1/admin/return-visits", "get", "status")),
    ),
    Listed(
        "complaint kinds",
        COMPLAINT_KINDS,
        "complaints",
        "kind",
        "ck_complaints_kind_known",
        openapi=(
            ("Complaint", "kind"),
            ("ComplaintCreate", "kind"),
            ("/api/v1/admin/complaints", "get", "kind"),
        ),
    ),
    Listed(
        "complaint categories",
        COMPLAINT_CATEGORIES,
        "complaints",
        "category",
        "ck_complaints_category_known",
        nullable=True,
        openapi=(
            ("Complaint", "category"),
            ("ComplaintClassify", "category"),
            ("/api/v1/admin/complaints", "get", "category"),
        ),
    ),
    Listed(
        "complaint severities",
        COMPLAINT_SEVERITIES,
        "complaints",
        "severity",
        "ck_complaints_severity_known",
        openapi=(
            ("Complaint", "severity"),
            ("ComplaintClassify", "severity"),
            ("/api/v1/admin/complaints", "get", "severity"),
        ),
    ),
    Listed(
        "complaint statuses",
        COMPLAINT_STATUSES,
        "complaints",
        "status",
        "ck_complaints_status_known",
        openapi=(
            ("Complaint", "status"),
            ("/api/v1/admin/complaints", "get", "status"),
            ("/api/v1/tenant/complaints", "get", "status"),
        ),
    ),
    Listed(
        "complaint reply authors",
        COMPLAINT_AUTHORS,
        "complaint_replies",
        "author_role",
        "ck_complaint_replies_author_known",
        openapi=(("ComplaintReply", "author_role"),),
    ),
    # Not stored: the data dashboard's table formats and trend buckets (数据看板).
    Listed(
        "dashboard formats",
        DASHBOARD_FORMATS,
        openapi=tuple(
            (path, "get", "format")
            for path in (
                "/api/v1/admin/dashboard",
                "/api/v1/admin/dashboard/trends",
                "/api/v1/admin/dashboard/technicians",
                "/api/v1/admin/dashboard/departments",
            )
        ),
    ),
    Listed(
        "dashboard granularities",
        DASHBOARD_GRANULARITIES,
        openapi=(
            ("DashboardTrends", "granularity"),
            ("/api/v1/admin/dashboard/trends", "get", "granularity"),
        ),
    ),
    # Parking (客车关系): space kinds and statuses, owned / rented, plate kinds.
    Listed(
        "parking space kinds",
        SPACE_KINDS,
        "parking_spaces",
        "kind",
        "ck_parking_spaces_kind_known",
        openapi=(
            ("ParkingSpace", "kind"),
            ("ParkingSpaceDetail", "kind"),
            ("ParkingSpaceCreate", "kind"),
            ("ParkingSpaceUpdate", "kind"),
            ("/api/v1/admin/parking-spaces", "get", "kind"),
        ),
    ),
    Listed(
        "parking space statuses",
        SPACE_STATUSES,
        "parking_spaces",
        "status",
        "ck_parking_spaces_status_known",
        openapi=(
            ("ParkingSpace", "status"),
            ("ParkingSpaceDetail", "status"),
            ("ParkingSpaceCreate", "status"),
            ("ParkingSpaceUpdate", "status"),
            ("/api/v1/admin/parking-spaces", "get", "status"),
        ),
    ),
    Listed(
        "parking space holding kinds",
        HOLDING_KINDS,
        "parking_space_holdings",
        "kind",
        "ck_parking_space_holdings_kind_known",
        openapi=(("SpaceHolding", "kind"), ("CustomerHolding", "kind"), ("AssignSpace", "kind")),
    ),
    Listed(
        "plate kinds",
        PLATE_KINDS,
        "vehicles",
        "plate_kind",
        "ck_vehicles_plate_kind_known",
        openapi=(("Vehicle", "plate_kind"),),
    ),
    Listed(
        "audit log kinds",
        tuple(AUDIT_KINDS),
        "audit_log",
        "kind",
        "ck_audit_log_kind_known",
        openapi=(("AuditEntry", "kind"), ("/api/v1/admin/audit-log", "get", "kind")),
    ),
    Listed(
        "audit log actor roles (null: none)",
        AUDIT_ACTOR_ROLES,
        "audit_log",
        "actor_role",
        "ck_audit_log_actor_role_known",
        nullable=True,
        openapi=(("AuditEntry", "actor_role"),),
    ),
    Listed(
        "audit log target types",
        tuple(AUDIT_TARGET_TYPES),
        openapi=(("/api/v1/admin/audit-log", "get", "target_type"),),
    ),
    # Batch import and export (批量导入导出).
    Listed(
        "import upload kinds",
        UPLOAD_KINDS,
        "import_jobs",
        "kind",
        "ck_import_jobs_kind_known",
        openapi=(("ImportJob", "kind"), ("ImportJobSummary", "kind")),
    ),
    Listed(
        "import job statuses",
        IMPORT_JOB_STATUSES,
        "import_jobs",
        "status",
        "ck_import_jobs_status_known",
        openapi=(("ImportJob", "status"), ("ImportJobSummary", "status")),
    ),
    Listed(
        "import file formats",
        IMPORT_FORMATS,
        openapi=(
            ("ImportJob", "file_format"),
            ("ImportJobSummary", "file_format"),
            ("/api/v1/admin/exports/{kind}", "get", "format"),
        ),
    ),
    Listed("exported sheet kinds (path)", EXPORT_KINDS),
    Listed("import template files (path)", TEMPLATE_NAMES),
    Listed("room uses", ROOM_USES, "rooms", "use", "ck_rooms_use_known", nullable=True),
    Listed(
        "customer ID types",
        ID_TYPES,
        "customers",
        "id_type",
        "ck_customers_id_type_known",
        nullable=True,
    ),
    # 全能搜索 (not stored): what a query is, how a hit matched, which field of a customer.
    Listed("search query kinds", SEARCH_QUERY_KINDS, openapi=(("Search", "query_kind"),)),
    Listed(
        "search matches",
        SEARCH_MATCHES,
        openapi=(
            ("RoomHit", "match"),
            ("CustomerHit", "match"),
            ("OrderHit", "match"),
            ("VehicleHit", "match"),
        ),
    ),
    Listed("search fields", SEARCH_FIELDS, openapi=(("CustomerHit", "matched_field"),)),
    # 数据字典: which lists exist (a row names its list), closed or open (not stored).
    Listed(
        "dictionary lists",
        DICTIONARY_LISTS,
        "dictionary_items",
        "list",
        "ck_dictionary_items_list_known",
        openapi=(
            ("DictionaryList", "name"),
            ("DictionaryListDetail", "name"),
            ("DictionaryChoices", "name"),
        ),
    ),
    Listed(
        "dictionary list kinds",
        DICTIONARY_KINDS,
        openapi=(("DictionaryList", "kind"), ("DictionaryListDetail", "kind")),
    ),
    # Not stored: every id an error answer may carry (the error classes and the plumbing's).
    Listed("error ids", error_ids(), openapi=(("Error", "error"),)),
    # The one value of the Idempotent-Replayed response header.
    Listed("replayed flag", ("true",)),
)
IN_DATABASE = [item for item in LISTS if item.check]
IN_OPENAPI = [(item, where) for item in LISTS for where in item.openapi]
_LITERAL = re.compile(r"'((?:[^']|'')*)'")


def _definition(db_session: Any, table: str, name: str) -> str:
    definition = db_session.scalar(
        text(
            "SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c"
            " JOIN pg_class t ON t.oid = c.conrelid"
            " WHERE c.contype = 'c' AND t.relname = :table AND c.conname = :name"
        ),
        {"table": table, "name": name},
    )
    assert definition is not None, f"no CHECK {name} on {table} in the database"
    return str(definition)


def _passes(db_session: Any, item: Listed, definition: str, value: Any) -> bool:
    """Whether the database's own CHECK expression lets `value` through (NULL counts as pass)."""
    assert definition.startswith("CHECK ")
    expression = definition.removeprefix("CHECK ")
    cast = "varchar[]" if item.array else "varchar"
    sql = f"SELECT ({expression}) IS NOT FALSE FROM (SELECT %s::{cast} AS {item.column}) AS t"
    return bool(db_session.connection().exec_driver_sql(sql, (value,)).scalar())


@pytest.mark.parametrize("item", IN_DATABASE, ids=lambda item: item.name)
def test_database_check_accepts_exactly_the_list(db_session, item):
    assert item.table and item.check
    definition = _definition(db_session, item.table, item.check)
    literals = [m.replace("''", "'") for m in _LITERAL.findall(definition)]
    assert sorted(literals) == sorted(item.values), definition
    outsiders = ["unknown", *(v.upper() for v in item.values), *(f"{v} " for v in item.values)]
    if item.array:
        for value in item.values:
            assert _passes(db_session, item, definition, [value])
        assert _passes(db_session, item, definition, list(item.values))
        assert _passes(db_session, item, definition, [])
        for outsider in outsiders:
            assert not _passes(db_session, item, definition, [item.values[0], outsider])
        assert not _passes(db_session, item, definition, [None])
        return
    for value in item.values:
        assert _passes(db_session, item, definition, value), value
    for outsider in outsiders:
        assert not _passes(db_session, item, definition, outsider), outsider
    if item.nullable:
        assert _passes(db_session, item, definition, None)


@pytest.mark.parametrize("item", IN_DATABASE, ids=lambda item: item.name)
def test_model_check_is_built_from_the_list(item):
    assert item.table and item.column and item.check
    table = Base.metadata.tables[item.table]
    checks = {c.name: str(c.sqltext) for c in table.constraints if isinstance(c, CheckConstraint)}
    built = (
        sql_subset(item.column, item.values)
        if item.array
        else sql_in(item.column, item.values, nullable=item.nullable)
    )
    assert checks.get(item.check) == built


def test_every_model_check_is_in_the_database(db_session):
    """Autogenerate does not compare CHECKs: a model CHECK no migration created fails here."""
    declared = {
        (table.name, str(c.name))
        for table in Base.metadata.tables.values()
        for c in table.constraints
        if isinstance(c, CheckConstraint)
    }
    rows = db_session.execute(
        text(
            "SELECT t.relname, c.conname FROM pg_constraint c"
            " JOIN pg_class t ON t.oid = c.conrelid"
            " JOIN pg_namespace n ON n.oid = t.relnamespace"
            " WHERE c.contype = 'c' AND n.nspname = current_schema()"
        )
    ).all()
    in_database = {(table, name) for table, name in rows if table in Base.metadata.tables}
    assert declared - in_database == set(), "CHECKs missing from the migrations"
    assert in_database - declared == set(), "CHECKs in the database but not in the models"


@pytest.fixture(scope="module")
def openapi(app):
    with app.test_client() as client:
        response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def _enum(document: dict[str, Any], where: tuple[str, ...]) -> list[Any]:
    if len(where) == 2:
        component, prop = where
        schema = document["components"]["schemas"][component]["properties"][prop]
    else:
        path, method, param = where
        params = document["paths"][path][method].get("parameters", [])
        matches = [p["schema"] for p in params if p["in"] == "query" and p["name"] == param]
        assert matches, f"no query parameter {param} on {method.upper()} {path}"
        schema = matches[0]
    if schema.get("type") == "array":
        schema = schema["items"]
    # A named list is a reference to its enum component (alone, or wrapped to stay nullable).
    if "allOf" in schema:
        schema = schema["allOf"][0]
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    assert "enum" in schema, f"{where}: no enum in {schema}"
    return list(schema["enum"])


@pytest.mark.parametrize(
    ("item", "where"), IN_OPENAPI, ids=lambda x: x.name if isinstance(x, Listed) else ".".join(x)
)
def test_openapi_enum_is_the_list(openapi, item, where):
    enum = _enum(openapi, where)
    assert [v for v in enum if v is not None] == list(item.values)


def test_every_documented_enum_is_a_known_list(openapi):
    """No enum in the document is spelled by hand: each one is one of the lists above."""
    known = {tuple(item.values) for item in LISTS}
    found: list[tuple[str, tuple[Any, ...]]] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("enum"), list):
                found.append((where, tuple(v for v in node["enum"] if v is not None)))
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    walk(openapi, "")
    assert found, "the document documents no enum at all"
    unknown = [(where, values) for where, values in found if values not in known]
    assert unknown == [], "name each new list in LISTS above (with its CHECK, if it is stored)"


def test_no_value_list_is_spelled_by_hand():
    """Validators and CHECKs name a list; `OneOf([...])` or `IN ('...')` in the source is a copy."""
    offenders = []
    for path in (ROOT / "schemas").rglob("*.py"):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"OneOf\(\s*[\[\(\"']", line):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    for path in (ROOT / "server").rglob("models.py"):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"\bIN \('", line):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert offenders == []
