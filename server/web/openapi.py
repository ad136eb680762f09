"""The OpenAPI document as generated clients need it.

apispec writes what marshmallow knows: a field is `required` when a *request* must carry it,
`dump_only`/`load_only` become `readOnly`/`writeOnly`, `load_default` becomes `default`, a
nullable link is `anyOf [{type: object, nullable: true}, $ref]` and every `OneOf` an inline
enum. Generators read that literally: `openapi-typescript` makes every answer field optional
and turns a default into a required request field, `openapi-python-client` names inline enums
after their parent and drops operations whose names collide. `finish_document` rewrites the
document once, at first request, so that it says what the server does:

- A component used by both requests and answers is split: `X` describes the answer, `XInput`
  the request body. Answers list every property they carry as `required` (a field that may be
  absent says so with `metadata={"x-optional": True}`), without write-only fields or defaults;
  request bodies keep marshmallow's `required`, lose read-only fields, and carry their default
  in the description only.
- Value lists become named enum components (`schemas.enums.NAMED_ENUMS`); `Error.error` is the
  enum of every error id the server answers (`server.kernel.errors.error_ids`).
- Nullable links are `allOf: [$ref]` + `nullable: true`, which both generators turn into
  `T | null` (OpenAPI 3.0.3 is kept: apispec's 3.1 output is partial, and schemathesis and the
  generators are most mature on 3.0).
- Every operation has its `operationId` (`OPERATION_IDS`, checked unique by the tests), and
  the headers the server sends are declared where it sends them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

from schemas.enums import NAMED_ENUMS
from server.web.blueprint import REPLAYS

OPTIONAL = "x-optional"
REF = "#/components/schemas/"

# Readable, stable names for the generated functions: "<audience>_<verb>_<noun>".
OPERATION_IDS: dict[str, str] = {
    "GET /api/v1/healthz": "health_live",
    "GET /api/v1/readyz": "health_ready",
    "POST /api/v1/auth/login": "auth_password_login",
    "POST /api/v1/auth/wechat/login": "auth_wechat_login",
    "POST /api/v1/auth/wechat/phone": "auth_wechat_bind_phone",
    "POST /api/v1/auth/refresh": "auth_refresh",
    "POST /api/v1/auth/logout-all": "auth_logout_all",
    "GET /api/v1/me": "me_get",
    "POST /api/v1/me/devices": "me_register_device",
    "POST /api/v1/me/devices/unregister": "me_unregister_device",
    "POST /api/v1/me/subscriptions": "me_record_subscriptions",
    "GET /api/v1/me/notifications": "me_list_notifications",
    "POST /api/v1/me/notifications/{notification_id}/read": "me_read_notification",
    "POST /api/v1/me/notifications/read-all": "me_read_all_notifications",
    "GET /api/v1/me/notification-preferences": "me_get_notification_preferences",
    "PUT /api/v1/me/notification-preferences": "me_set_notification_preferences",
    "GET /api/v1/catalog/order-types": "catalog_list_order_types",
    "GET /api/v1/catalog/subtypes/{subtype_id}/slots": "catalog_list_slots",
    "GET /api/v1/catalog/subtypes/{subtype_id}/specs": "catalog_list_specs",
    "GET /api/v1/tenant/rooms": "tenant_list_rooms",
    "GET /api/v1/tenant/orders": "tenant_list_orders",
    "POST /api/v1/tenant/orders": "tenant_file_order",
    "GET /api/v1/tenant/orders/{order_id}": "tenant_get_order",
    "POST /api/v1/tenant/orders/{order_id}/messages": "tenant_post_message",
    "POST /api/v1/tenant/orders/{order_id}/cancel": "tenant_cancel_order",
    "POST /api/v1/tenant/orders/{order_id}/reschedule": "tenant_reschedule_order",
    "POST /api/v1/tenant/orders/{order_id}/rating": "tenant_rate_order",
    "POST /api/v1/tenant/orders/{order_id}/reopen": "tenant_reopen_order",
    "POST /api/v1/tenant/orders/{order_id}/payments": "tenant_pay_order",
    "GET /api/v1/tech/pool": "tech_list_pool",
    "POST /api/v1/tech/orders/{order_id}/grab": "tech_grab_order",
    "GET /api/v1/tech/orders": "tech_list_orders",
    "POST /api/v1/tech/orders": "tech_file_order",
    "GET /api/v1/tech/orders/{order_id}": "tech_get_order",
    "POST /api/v1/tech/orders/{order_id}/accept": "tech_accept_order",
    "POST /api/v1/tech/orders/{order_id}/reject": "tech_reject_order",
    "POST /api/v1/tech/orders/{order_id}/transfer": "tech_transfer_order",
    "POST /api/v1/tech/orders/{order_id}/hold": "tech_hold_order",
    "POST /api/v1/tech/orders/{order_id}/resume": "tech_resume_order",
    "POST /api/v1/tech/orders/{order_id}/complete": "tech_complete_order",
    "POST /api/v1/tech/orders/{order_id}/messages": "tech_post_message",
    "POST /api/v1/tech/orders/{order_id}/charges": "tech_add_charge",
    "DELETE /api/v1/tech/orders/{order_id}/charges/{charge_id}": "tech_remove_charge",
    "GET /api/v1/tech/price-list": "tech_get_price_list",
    "GET /api/v1/tech/stock": "tech_get_stock",
    "POST /api/v1/tech/stock/returns": "tech_return_stock",
    "GET /api/v1/tech/requisitions": "tech_list_requisitions",
    "POST /api/v1/tech/requisitions": "tech_request_requisition",
    "POST /api/v1/uploads": "upload_image",
    "GET /api/v1/uploads/{upload_id}": "download_image",
    "POST /api/v1/payments/wechat/notify": "payments_wechat_notify",
    "POST /api/v1/payments/alipay/notify": "payments_alipay_notify",
    "GET /api/v1/admin/communities": "admin_list_communities",
    "POST /api/v1/admin/communities": "admin_create_community",
    "GET /api/v1/admin/communities/{community_id}": "admin_get_community",
    "PATCH /api/v1/admin/communities/{community_id}": "admin_update_community",
    "DELETE /api/v1/admin/communities/{community_id}": "admin_delete_community",
    "GET /api/v1/admin/buildings": "admin_list_buildings",
    "POST /api/v1/admin/buildings": "admin_create_building",
    "GET /api/v1/admin/buildings/{building_id}": "admin_get_building",
    "PATCH /api/v1/admin/buildings/{building_id}": "admin_update_building",
    "DELETE /api/v1/admin/buildings/{building_id}": "admin_delete_building",
    "GET /api/v1/admin/units": "admin_list_units",
    "POST /api/v1/admin/units": "admin_create_unit",
    "GET /api/v1/admin/units/{unit_id}": "admin_get_unit",
    "PATCH /api/v1/admin/units/{unit_id}": "admin_update_unit",
    "DELETE /api/v1/admin/units/{unit_id}": "admin_delete_unit",
    "GET /api/v1/admin/rooms": "admin_list_rooms",
    "POST /api/v1/admin/rooms": "admin_create_room",
    "GET /api/v1/admin/rooms/{room_id}": "admin_get_room",
    "PATCH /api/v1/admin/rooms/{room_id}": "admin_update_room",
    "DELETE /api/v1/admin/rooms/{room_id}": "admin_delete_room",
    "GET /api/v1/admin/customers": "admin_list_customers",
    "POST /api/v1/admin/customers": "admin_create_customer",
    "GET /api/v1/admin/customers/{customer_id}": "admin_get_customer",
    "PATCH /api/v1/admin/customers/{customer_id}": "admin_update_customer",
    "DELETE /api/v1/admin/customers/{customer_id}": "admin_delete_customer",
    "POST /api/v1/admin/customers/{customer_id}/contacts": "admin_add_contact",
    "GET /api/v1/admin/contacts/{contact_id}": "admin_get_contact",
    "PATCH /api/v1/admin/contacts/{contact_id}": "admin_update_contact",
    "DELETE /api/v1/admin/contacts/{contact_id}": "admin_delete_contact",
    "POST /api/v1/admin/customers/{customer_id}/rooms": "admin_link_customer_room",
    "GET /api/v1/admin/customer-rooms/{customer_room_id}": "admin_get_customer_room",
    "PATCH /api/v1/admin/customer-rooms/{customer_room_id}": "admin_update_customer_room",
    "DELETE /api/v1/admin/customer-rooms/{customer_room_id}": "admin_delete_customer_room",
    "GET /api/v1/admin/parking-spaces": "admin_list_parking_spaces",
    "POST /api/v1/admin/parking-spaces": "admin_create_parking_space",
    "GET /api/v1/admin/parking-spaces/{space_id}": "admin_get_parking_space",
    "PATCH /api/v1/admin/parking-spaces/{space_id}": "admin_update_parking_space",
    "POST /api/v1/admin/parking-spaces/{space_id}/holdings": "admin_assign_parking_space",
    "GET /api/v1/admin/parking-space-holdings/{holding_id}": "admin_get_parking_space_holding",
    "PATCH /api/v1/admin/parking-space-holdings/{holding_id}": "admin_update_parking_space_holding",
    "POST /api/v1/admin/parking-space-holdings/{holding_id}/end": "admin_end_parking_space_holding",
    "GET /api/v1/admin/vehicles": "admin_list_vehicles",
    "POST /api/v1/admin/vehicles": "admin_register_vehicle",
    "GET /api/v1/admin/vehicles/{vehicle_id}": "admin_get_vehicle",
    "PATCH /api/v1/admin/vehicles/{vehicle_id}": "admin_update_vehicle",
    "POST /api/v1/admin/vehicles/{vehicle_id}/remove": "admin_remove_vehicle",
    "POST /api/v1/admin/move-ins": "admin_move_in",
    "POST /api/v1/admin/households/{household_id}/members": "admin_add_household_member",
    "PATCH /api/v1/admin/household-members/{member_id}": "admin_update_household_member",
    "POST /api/v1/admin/household-members/{member_id}/end": "admin_end_household_member",
    "POST /api/v1/admin/rooms/{room_id}/transfers": "admin_transfer_room",
    "POST /api/v1/admin/room-splits": "admin_split_room",
    "POST /api/v1/admin/room-merges": "admin_merge_rooms",
    "PUT /api/v1/admin/rooms/{room_id}/payer": "admin_set_room_payer",
    "GET /api/v1/admin/rooms/{room_id}/history": "admin_room_history",
    "GET /api/v1/admin/customers/{customer_id}/rooms": "admin_customer_rooms",
    "GET /api/v1/admin/reports/customer-service": "admin_customer_service_report",
    "GET /api/v1/admin/departments": "admin_list_departments",
    "POST /api/v1/admin/departments": "admin_create_department",
    "GET /api/v1/admin/departments/{department_id}": "admin_get_department",
    "PATCH /api/v1/admin/departments/{department_id}": "admin_update_department",
    "DELETE /api/v1/admin/departments/{department_id}": "admin_delete_department",
    "GET /api/v1/admin/posts": "admin_list_posts",
    "POST /api/v1/admin/posts": "admin_create_post",
    "GET /api/v1/admin/posts/{post_id}": "admin_get_post",
    "PATCH /api/v1/admin/posts/{post_id}": "admin_update_post",
    "DELETE /api/v1/admin/posts/{post_id}": "admin_delete_post",
    "GET /api/v1/admin/staff": "admin_list_staff",
    "POST /api/v1/admin/staff": "admin_create_staff",
    "GET /api/v1/admin/staff/{staff_id}": "admin_get_staff",
    "PATCH /api/v1/admin/staff/{staff_id}": "admin_update_staff",
    "DELETE /api/v1/admin/staff/{staff_id}": "admin_deactivate_staff",
    "GET /api/v1/admin/order-types": "admin_list_order_types",
    "POST /api/v1/admin/order-types": "admin_create_order_type",
    "GET /api/v1/admin/order-types/{order_type_id}": "admin_get_order_type",
    "PATCH /api/v1/admin/order-types/{order_type_id}": "admin_update_order_type",
    "DELETE /api/v1/admin/order-types/{order_type_id}": "admin_delete_order_type",
    "GET /api/v1/admin/order-types/{order_type_id}/subtypes": "admin_list_subtypes",
    "POST /api/v1/admin/order-types/{order_type_id}/subtypes": "admin_create_subtype",
    "GET /api/v1/admin/order-types/{order_type_id}/technicians": "admin_list_type_technicians",
    "GET /api/v1/admin/order-subtypes/{subtype_id}": "admin_get_subtype",
    "PATCH /api/v1/admin/order-subtypes/{subtype_id}": "admin_update_subtype",
    "DELETE /api/v1/admin/order-subtypes/{subtype_id}": "admin_delete_subtype",
    "GET /api/v1/admin/settings/organisation": "admin_get_organisation_settings",
    "PATCH /api/v1/admin/settings/organisation": "admin_update_organisation_settings",
    "GET /api/v1/admin/settings/grab-caps": "admin_get_grab_caps",
    "GET /api/v1/admin/settings/sla-policies": "admin_list_sla_policies",
    "POST /api/v1/admin/settings/sla-policies": "admin_create_sla_policy",
    "PATCH /api/v1/admin/settings/sla-policies/{policy_id}": "admin_update_sla_policy",
    "DELETE /api/v1/admin/settings/sla-policies/{policy_id}": "admin_delete_sla_policy",
    "GET /api/v1/admin/settings/business-calendar": "admin_get_business_calendar",
    "PUT /api/v1/admin/settings/business-calendar": "admin_set_business_calendar",
    "POST /api/v1/admin/settings/business-calendar/days": "admin_add_business_day",
    "DELETE /api/v1/admin/settings/business-calendar/days/{day_id}": "admin_delete_business_day",
    "GET /api/v1/admin/orders": "admin_list_orders",
    "GET /api/v1/admin/orders/{order_id}": "admin_get_order",
    "POST /api/v1/admin/orders/{order_id}/assign": "admin_assign_order",
    "POST /api/v1/admin/orders/{order_id}/cancel": "admin_cancel_order",
    "POST /api/v1/admin/orders/{order_id}/reopen": "admin_reopen_order",
    "POST /api/v1/admin/orders/{order_id}/messages": "admin_post_message",
    "POST /api/v1/admin/orders/{order_id}/reschedule": "admin_reschedule_order",
    "POST /api/v1/admin/orders/{order_id}/fee-adjustments": "admin_adjust_fee",
    "GET /api/v1/admin/orders/{order_id}/money": "admin_get_order_money",
    "POST /api/v1/admin/orders/{order_id}/refunds": "admin_refund_order",
    "POST /api/v1/admin/orders/{order_id}/offline-payments": "admin_record_offline_payment",
    "GET /api/v1/admin/booking/subtypes/{subtype_id}/settings": "admin_get_booking_settings",
    "PUT /api/v1/admin/booking/subtypes/{subtype_id}/settings": "admin_set_booking_settings",
    "GET /api/v1/admin/booking/subtypes/{subtype_id}/exceptions": "admin_list_booking_exceptions",
    "POST /api/v1/admin/booking/subtypes/{subtype_id}/exceptions": "admin_add_booking_exception",
    "DELETE /api/v1/admin/booking/exceptions/{exception_id}": "admin_delete_booking_exception",
    "GET /api/v1/admin/booking/occupancy": "admin_get_booking_occupancy",
    "GET /api/v1/admin/subtypes/{subtype_id}/specs": "admin_list_specs",
    "POST /api/v1/admin/subtypes/{subtype_id}/specs": "admin_create_spec",
    "PATCH /api/v1/admin/specs/{spec_id}": "admin_update_spec",
    "DELETE /api/v1/admin/specs/{spec_id}": "admin_delete_spec",
    "GET /api/v1/admin/labor-items": "admin_list_labor_items",
    "POST /api/v1/admin/labor-items": "admin_create_labor_item",
    "GET /api/v1/admin/labor-items/{item_id}": "admin_get_labor_item",
    "PATCH /api/v1/admin/labor-items/{item_id}": "admin_update_labor_item",
    "DELETE /api/v1/admin/labor-items/{item_id}": "admin_delete_labor_item",
    "PUT /api/v1/admin/labor-items/{item_id}/prices/{department_id}": "admin_set_labor_price",
    "DELETE /api/v1/admin/labor-items/{item_id}/prices/{department_id}": "admin_delete_labor_price",
    "GET /api/v1/admin/materials": "admin_list_materials",
    "POST /api/v1/admin/materials": "admin_create_material",
    "GET /api/v1/admin/materials/{item_id}": "admin_get_material",
    "PATCH /api/v1/admin/materials/{item_id}": "admin_update_material",
    "DELETE /api/v1/admin/materials/{item_id}": "admin_delete_material",
    "POST /api/v1/admin/materials/{material_id}/stock-in": "admin_stock_in",
    "POST /api/v1/admin/materials/{material_id}/stock-out": "admin_stock_out",
    "GET /api/v1/admin/service-items": "admin_list_service_items",
    "POST /api/v1/admin/service-items": "admin_create_service_item",
    "GET /api/v1/admin/service-items/{item_id}": "admin_get_service_item",
    "PATCH /api/v1/admin/service-items/{item_id}": "admin_update_service_item",
    "DELETE /api/v1/admin/service-items/{item_id}": "admin_delete_service_item",
    "GET /api/v1/admin/stock/report": "admin_get_stock_report",
    "GET /api/v1/admin/stock/movements": "admin_list_stock_movements",
    "GET /api/v1/admin/requisitions": "admin_list_requisitions",
    "POST /api/v1/admin/requisitions/{requisition_id}/approve": "admin_approve_requisition",
    "POST /api/v1/admin/requisitions/{requisition_id}/reject": "admin_reject_requisition",
    "GET /api/v1/admin/jobs": "admin_list_jobs",
    "POST /api/v1/admin/jobs/{job_id}/retry": "admin_retry_job",
    # Batch import and export (批量导入导出, #20 §1)
    "GET /api/v1/admin/imports": "admin_list_imports",
    "POST /api/v1/admin/imports": "admin_create_import",
    "GET /api/v1/admin/imports/{job_id}": "admin_get_import",
    "GET /api/v1/admin/imports/templates/{file_name}": "admin_get_import_template",
    "GET /api/v1/admin/exports/{kind}": "admin_export_sheet",
    "GET /api/v1/admin/payment-accounts": "admin_list_payment_accounts",
    "POST /api/v1/admin/payment-accounts": "admin_create_payment_account",
    "GET /api/v1/admin/payment-accounts/{account_id}": "admin_get_payment_account",
    "PATCH /api/v1/admin/payment-accounts/{account_id}": "admin_update_payment_account",
    "DELETE /api/v1/admin/payment-accounts/{account_id}": "admin_delete_payment_account",
    "GET /api/v1/admin/payment-channels": "admin_get_payment_channels",
    "PUT /api/v1/admin/payment-channels": "admin_set_payment_channels",
    "GET /api/v1/admin/payments": "admin_list_payments",
    "GET /api/v1/admin/refunds": "admin_list_refunds",
    "GET /api/v1/admin/reconciliations": "admin_list_reconciliations",
    "POST /api/v1/admin/reconciliations": "admin_start_reconciliation",
    "GET /api/v1/admin/reconciliations/{run_id}": "admin_get_reconciliation",
    # The data dashboard (#18 §1)
    "GET /api/v1/admin/dashboard": "admin_get_dashboard",
    "GET /api/v1/admin/dashboard/trends": "admin_get_dashboard_trends",
    "GET /api/v1/admin/dashboard/technicians": "admin_list_dashboard_technicians",
    "GET /api/v1/admin/dashboard/departments": "admin_list_dashboard_departments",
    # Return visits (回访) and complaints and suggestions (投诉建议).
    "GET /api/v1/admin/return-visits": "admin_list_return_visits",
    "GET /api/v1/admin/return-visits/{visit_id}": "admin_get_return_visit",
    "POST /api/v1/admin/return-visits/{visit_id}/outcome": "admin_record_return_visit",
    "GET /api/v1/admin/complaints": "admin_list_complaints",
    "GET /api/v1/admin/complaints/{complaint_id}": "admin_get_complaint",
    "PATCH /api/v1/admin/complaints/{complaint_id}": "admin_classify_complaint",
    "POST /api/v1/admin/complaints/{complaint_id}/assign": "admin_assign_complaint",
    "POST /api/v1/admin/complaints/{complaint_id}/replies": "admin_reply_complaint",
    "POST /api/v1/admin/complaints/{complaint_id}/close": "admin_close_complaint",
    "GET /api/v1/tenant/complaints": "tenant_list_complaints",
    "POST /api/v1/tenant/complaints": "tenant_file_complaint",
    "GET /api/v1/tenant/complaints/{complaint_id}": "tenant_get_complaint",
    "POST /api/v1/tenant/complaints/{complaint_id}/replies": "tenant_reply_complaint",
    "POST /api/v1/tenant/complaints/{complaint_id}/rating": "tenant_rate_complaint",
    # The workbench and urging (#18 §2–3)
    "GET /api/v1/admin/workbench": "admin_get_workbench",
    "GET /api/v1/admin/workbench/orders": "admin_list_workbench_orders",
    "GET /api/v1/admin/settings/workbench": "admin_get_workbench_settings",
    "PATCH /api/v1/admin/settings/workbench": "admin_update_workbench_settings",
    "POST /api/v1/admin/orders/{order_id}/urge": "admin_urge_order",
    "POST /api/v1/tenant/orders/{order_id}/urge": "tenant_urge_order",
    # Notices, the staff bulletin and surveys (#18 §6–7)
    "GET /api/v1/admin/notices": "admin_list_notices",
    "POST /api/v1/admin/notices": "admin_publish_notice",
    "GET /api/v1/admin/notices/{notice_id}": "admin_get_notice",
    "GET /api/v1/admin/notices/{notice_id}/unread": "admin_list_notice_unread",
    "POST /api/v1/admin/notices/{notice_id}/withdraw": "admin_withdraw_notice",
    "GET /api/v1/tenant/notices": "tenant_list_notices",
    "GET /api/v1/tenant/notices/{notice_id}": "tenant_get_notice",
    "POST /api/v1/tenant/notices/{notice_id}/read": "tenant_read_notice",
    "GET /api/v1/tech/notices": "tech_list_notices",
    "GET /api/v1/tech/notices/{notice_id}": "tech_get_notice",
    "POST /api/v1/tech/notices/{notice_id}/read": "tech_read_notice",
    "GET /api/v1/admin/surveys": "admin_list_surveys",
    "POST /api/v1/admin/surveys": "admin_create_survey",
    "GET /api/v1/admin/surveys/{survey_id}": "admin_get_survey",
    "POST /api/v1/admin/surveys/{survey_id}/open": "admin_open_survey",
    "POST /api/v1/admin/surveys/{survey_id}/close": "admin_close_survey",
    "GET /api/v1/admin/surveys/{survey_id}/results": "admin_get_survey_results",
    "GET /api/v1/admin/surveys/{survey_id}/export": "admin_export_survey",
    "GET /api/v1/tenant/surveys": "tenant_list_surveys",
    "GET /api/v1/tenant/surveys/{survey_id}": "tenant_get_survey",
    "POST /api/v1/tenant/surveys/{survey_id}/answers": "tenant_answer_survey",
    # Audit log and WeChat unbinding (#20 §3, §2)
    "GET /api/v1/admin/audit-log": "admin_list_audit_log",
    "POST /api/v1/admin/wechat-unbindings": "admin_unbind_wechat",
    # Omni search (#20 全能搜索)
    "GET /api/v1/admin/search": "admin_search",
    # Roles and permissions (#20 §3 权限)
    "GET /api/v1/admin/permissions": "admin_list_permissions",
    "GET /api/v1/admin/roles": "admin_list_roles",
    "POST /api/v1/admin/roles": "admin_create_role",
    "GET /api/v1/admin/roles/{role_id}": "admin_get_role",
    "PATCH /api/v1/admin/roles/{role_id}": "admin_update_role",
    "DELETE /api/v1/admin/roles/{role_id}": "admin_delete_role",
    "GET /api/v1/admin/staff/{staff_id}/roles": "admin_get_staff_roles",
    "PUT /api/v1/admin/staff/{staff_id}/roles": "admin_set_staff_roles",
    # Data dictionary (#20 数据字典)
    "GET /api/v1/admin/dictionary": "admin_list_dictionary",
    "GET /api/v1/admin/dictionary/{list_name}": "admin_get_dictionary_list",
    "POST /api/v1/admin/dictionary/{list_name}": "admin_add_dictionary_item",
    "PATCH /api/v1/admin/dictionary/{list_name}/items/{code}": "admin_update_dictionary_item",
    "DELETE /api/v1/admin/dictionary/{list_name}/items/{code}": "admin_delete_dictionary_item",
    "GET /api/v1/catalog/dictionary/{list_name}": "catalog_get_dictionary_list",
}

# Response headers, declared once and referenced where they are sent.
HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": {
        "description": "本次请求的标识（请求带 X-Request-ID 时原样返回），排查问题时提供给我们",
        "schema": {"type": "string"},
    },
    "Cache-Control": {
        "description": "含个人信息的答复为 no-store；图片为 private",
        "schema": {"type": "string"},
    },
    "Idempotent-Replayed": {
        "description": "true：同一 Idempotency-Key 的重复请求，返回的是首次结果，未再次执行",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "Retry-After": {
        "description": "可再次尝试前应等待的秒数",
        "schema": {"type": "integer"},
    },
}


def finish_document(raw: dict[str, Any]) -> dict[str, Any]:
    """The document apispec built, rewritten for generated clients (see the module text)."""
    doc = copy.deepcopy(raw)
    components = doc.setdefault("components", {})
    schemas: dict[str, Any] = components.setdefault("schemas", {})
    _name_enums(doc, schemas)
    _split_shared(doc, schemas)
    requests, answers = _reachable(doc, schemas)
    for name in sorted(answers):
        _as_answer(schemas[name])
    for name in sorted(requests - answers):
        _as_input(schemas[name])
    for body in _request_bodies(doc):
        _as_input(body)
    for node in _nodes(doc):
        _nullable_link(node)
        node.pop(OPTIONAL, None)
    components.setdefault("headers", {}).update(copy.deepcopy(HEADERS))
    for answer in components.get("responses", {}).values():
        answer.setdefault("headers", {})["X-Request-ID"] = {
            "$ref": "#/components/headers/X-Request-ID"
        }
    for key, operation in _operations(doc):
        _finish_operation(key, operation)
    return doc


def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in doc.get("paths", {}).items():
        for method, operation in item.items():
            if method != "parameters":
                yield f"{method.upper()} {path}", operation


def _request_bodies(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Inline request body schemas (referenced ones are components)."""
    for _, operation in _operations(doc):
        for media in operation.get("requestBody", {}).get("content", {}).values():
            schema = media.get("schema", {})
            if "$ref" not in schema:
                yield schema


def _nodes(value: Any) -> Iterator[dict[str, Any]]:
    """Every object of the document, depth first."""
    if isinstance(value, dict):
        yield value
        for child in list(value.values()):
            yield from _nodes(child)
    elif isinstance(value, list):
        for child in value:
            yield from _nodes(child)


def _refs(value: Any) -> Iterator[str]:
    for node in _nodes(value):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF):
            yield ref.removeprefix(REF)


def _closure(start: Any, schemas: dict[str, Any]) -> set[str]:
    seen: set[str] = set()
    todo = list(_refs(start))
    while todo:
        name = todo.pop()
        if name not in seen and name in schemas:
            seen.add(name)
            todo.extend(_refs(schemas[name]))
    return seen


def _reachable(doc: dict[str, Any], schemas: dict[str, Any]) -> tuple[set[str], set[str]]:
    """Components reachable from request bodies, and from answers (any status)."""
    bodies = [op.get("requestBody", {}) for _, op in _operations(doc)]
    answers = [op.get("responses", {}) for _, op in _operations(doc)]
    answers.append(doc.get("components", {}).get("responses", {}))
    return _closure(bodies, schemas), _closure(answers, schemas)


def _split_shared(doc: dict[str, Any], schemas: dict[str, Any]) -> None:
    """A component both sent and received becomes two: `X` (answer) and `XInput` (request)."""
    requests, answers = _reachable(doc, schemas)
    # Value lists (named enums) read the same both ways.
    shared = sorted(n for n in requests & answers if "properties" in schemas[n])
    renamed = {name: f"{name}Input" for name in shared}
    clash = set(renamed.values()) & set(schemas)
    if clash:
        raise ValueError(f"OpenAPI component names clash: {sorted(clash)}")
    for name, input_name in renamed.items():
        schemas[input_name] = copy.deepcopy(schemas[name])
    for _, operation in _operations(doc):
        _rewrite_refs(operation.get("requestBody", {}), renamed)
    for input_name in renamed.values():
        _rewrite_refs(schemas[input_name], renamed)


def _rewrite_refs(value: Any, renamed: dict[str, str]) -> None:
    for node in _nodes(value):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.removeprefix(REF) in renamed:
            node["$ref"] = REF + renamed[ref.removeprefix(REF)]


def _as_answer(schema: dict[str, Any]) -> None:
    """Every property the server writes is there, nullable or not; no write-only field."""
    properties: dict[str, Any] | None = schema.get("properties")
    if properties is None:
        return
    for name in [n for n, p in properties.items() if p.get("writeOnly")]:
        del properties[name]
    required = []
    for name, prop in properties.items():
        prop.pop("readOnly", None)
        prop.pop("default", None)
        if not prop.pop(OPTIONAL, False):
            required.append(name)
    if required:
        schema["required"] = required
    else:
        schema.pop("required", None)


def _as_input(schema: dict[str, Any]) -> None:
    """What a request must send stays required; read-only fields go; defaults are told, not
    declared (openapi-typescript would otherwise make a field with a default required)."""
    properties: dict[str, Any] | None = schema.get("properties")
    if properties is None:
        return
    for name in [n for n, p in properties.items() if p.get("readOnly")]:
        del properties[name]
    for prop in properties.values():
        prop.pop("writeOnly", None)
        prop.pop(OPTIONAL, None)
        if "default" in prop:
            default = prop.pop("default")
            told = f"默认 {json.dumps(default, ensure_ascii=False)}"
            prop["description"] = (
                f"{prop['description']}（{told}）" if "description" in prop else told
            )
    required = [n for n in schema.get("required", []) if n in properties]
    if required:
        schema["required"] = required
    else:
        schema.pop("required", None)


def _nullable_link(node: dict[str, Any]) -> None:
    """`anyOf [{type: object, nullable: true}, $ref]` → `allOf [$ref]` + `nullable: true`."""
    options = node.get("anyOf")
    if not isinstance(options, list) or len(options) != 2:
        return
    refs = [o for o in options if "$ref" in o]
    nulls = [o for o in options if o.get("nullable") and "$ref" not in o]
    if len(refs) == 1 and len(nulls) == 1:
        del node["anyOf"]
        node["allOf"] = refs
        node["nullable"] = True


def _name_enums(doc: dict[str, Any], schemas: dict[str, Any]) -> None:
    """Inline enums equal to a named value list become references to its component."""
    by_values: dict[tuple[Any, ...], str] = {}
    for name, values in NAMED_ENUMS.items():
        key = tuple(sorted(values, key=str))
        if key in by_values:
            raise ValueError(f"enums {by_values[key]} and {name} have the same values")
        by_values[key] = name
        schemas[name] = {
            "title": name,
            "type": "integer" if all(isinstance(v, int) for v in values) else "string",
            "enum": list(values),
        }
    named = {id(schemas[name]) for name in NAMED_ENUMS}
    for node in list(_nodes(doc)):
        inline = node.get("enum")
        if not isinstance(inline, list) or id(node) in named:
            continue
        key = tuple(sorted((v for v in inline if v is not None), key=str))
        found = by_values.get(key)
        if found is None:
            continue
        name = found
        nullable = bool(node.pop("nullable", False)) or None in inline
        for word in ("enum", "type"):
            node.pop(word, None)
        if nullable or node:
            # Siblings of a $ref are ignored in 3.0: wrap it to keep them.
            node["allOf"] = [{"$ref": REF + name}]
            if nullable:
                node["nullable"] = True
        else:
            node["$ref"] = REF + name


def _finish_operation(key: str, operation: dict[str, Any]) -> None:
    operation_id = OPERATION_IDS.get(key)
    if operation_id is not None:
        operation["operationId"] = operation_id
    # Only `Blueprint.idempotent` replays with the header; the pay call replays its payment
    # without it (it takes the key itself, around the provider's call).
    idempotent = bool(operation.pop(REPLAYS, False))
    for status, answer in operation.get("responses", {}).items():
        if "$ref" in answer:
            continue
        headers = answer.setdefault("headers", {})
        headers["X-Request-ID"] = {"$ref": "#/components/headers/X-Request-ID"}
        if key.split(" ", 1)[1].startswith("/api/v1/") and "content" in answer:
            headers["Cache-Control"] = {"$ref": "#/components/headers/Cache-Control"}
        if idempotent and status.startswith("2"):
            headers["Idempotent-Replayed"] = {"$ref": "#/components/headers/Idempotent-Replayed"}
        if status == "429":
            headers["Retry-After"] = {"$ref": "#/components/headers/Retry-After"}
