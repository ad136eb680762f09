"""通知公告: the list with read / unread counts, composing and publishing (now or scheduled),
withdrawing, and one notice's read receipts (who has not read it, phones masked).

Publishing is guarded against a double submit twice: the form's button is disabled once sent
(service.js), and each rendered form carries a one-time token used as an idempotency key
(`server.idempotency.keys`, as the API's `Idempotency-Key`): the same form sent again answers
with the notice the first one published.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import redirect, request
from marshmallow import ValidationError

from schemas.common import PageArgsSchema
from schemas.directory import BuildingSchema, CommunitySchema, RoomSchema
from schemas.notices import (
    DeskNoticeSchema,
    NoticeCreateSchema,
    NoticeQueryArgsSchema,
    UnreadRecipientSchema,
)
from schemas.staff import DepartmentBriefSchema
from server.console.blueprint import bp
from server.console.views._service import (
    Refusal,
    claim_form,
    finish_form,
    int_list,
    invalid,
    load_form,
    new_form_token,
    page_url_for,
    query_args,
    refusal_of,
)
from server.console.web import desk_page, discard_changes, page
from server.directory import property as places
from server.idempotency.keys import Replay
from server.kernel.clock import LOCAL_TZ
from server.kernel.errors import DomainError, NotFound
from server.notices import publishing, reading
from server.notices.rules import (
    AUDIENCE_STAFF,
    AUDIENCE_TENANT,
    SCOPE_ALL_STAFF,
    SCOPE_BUILDINGS,
    SCOPE_COMMUNITIES,
    SCOPE_DEPARTMENTS,
    SCOPE_ORG,
    SCOPE_ROOMS,
    STAFF_SCOPES,
)
from server.staff import structure
from server.web.context import now, principal, session

PAGE_SIZE = 20
UNREAD_PAGE_SIZE = 20
# The target pickers list at most this many of each (the API takes any ids of the organisation).
PICK_LIMIT = 500
ROOM_PICK_LIMIT = 2000

AUDIENCE_LABELS = {AUDIENCE_TENANT: "住户通知", AUDIENCE_STAFF: "员工公告"}
STATUS_LABELS = {"scheduled": "待发布", "published": "已发布", "withdrawn": "已撤回"}
SCOPE_LABELS = {
    SCOPE_ORG: "全体住户",
    SCOPE_COMMUNITIES: "指定小区",
    SCOPE_BUILDINGS: "指定楼栋",
    SCOPE_ROOMS: "指定房间",
    SCOPE_DEPARTMENTS: "指定部门（员工）",
    SCOPE_ALL_STAFF: "全体员工",
}
# The form's picker for each scope that names its targets.
TARGET_FIELDS = {
    SCOPE_COMMUNITIES: "communities",
    SCOPE_BUILDINGS: "buildings",
    SCOPE_ROOMS: "rooms",
    SCOPE_DEPARTMENTS: "departments",
}

_NOTICE = DeskNoticeSchema()
_NOTICES = DeskNoticeSchema(many=True)
_ARGS = NoticeQueryArgsSchema()
_UNREAD_ARGS = PageArgsSchema()
_UNREAD = UnreadRecipientSchema(many=True)
_CREATE = NoticeCreateSchema()
_COMMUNITIES = CommunitySchema(many=True, only=("id", "name"))
_BUILDINGS = BuildingSchema(many=True, only=("id", "name", "community_id", "community_name"))
_ROOMS = RoomSchema(
    many=True, only=("id", "code", "building_id", "building_name", "community_name")
)
_DEPARTMENTS = DepartmentBriefSchema(many=True)


def _labels() -> dict[str, Any]:
    return {
        "audience_labels": AUDIENCE_LABELS,
        "status_labels": STATUS_LABELS,
        "scope_labels": SCOPE_LABELS,
    }


@bp.get("/notices")
@desk_page
def notices() -> Any:
    args = query_args(_ARGS)
    found = reading.desk_notices(
        session(),
        org_id=principal().org_id,
        audience=args["audience"],
        status=args["status"],
        page=args["page"],
        page_size=PAGE_SIZE,
    )
    listing = {
        "items": _NOTICES.dump(found.items),
        "total": found.total,
        "page": found.page,
        "page_size": found.page_size,
    }
    return page(
        "console/notices.html",
        listing=listing,
        args=args,
        page_url=page_url_for("/console/notices", args),
        nav="notices",
        **_labels(),
    )


def pick_targets(name: str) -> list[dict[str, Any]]:
    """One target picker's choices: communities, buildings, rooms or departments."""
    org_id, current = principal().org_id, session()
    if name == "communities":
        found: Any = places.list_communities(
            current, org_id=org_id, q=None, page=1, page_size=PICK_LIMIT
        )
        return _COMMUNITIES.dump(found.items)  # type: ignore[no-any-return]
    if name == "buildings":
        found = places.list_buildings(
            current, org_id=org_id, community_id=None, q=None, page=1, page_size=PICK_LIMIT
        )
        return _BUILDINGS.dump(found.items)  # type: ignore[no-any-return]
    if name == "rooms":
        found = places.list_rooms(
            current,
            org_id=org_id,
            community_id=None,
            building_id=None,
            unit_id=None,
            q=None,
            page=1,
            page_size=ROOM_PICK_LIMIT,
        )
        return _ROOMS.dump(found.items)  # type: ignore[no-any-return]
    found = structure.list_departments(current, org_id=org_id, q=None, page=1, page_size=PICK_LIMIT)
    return _DEPARTMENTS.dump(found.items)  # type: ignore[no-any-return]


def _targets() -> dict[str, Any]:
    return {name: pick_targets(name) for name in TARGET_FIELDS.values()}


def _compose(*, sent: dict[str, Any] | None = None, refused: Refusal | None = None) -> Any:
    return page(
        "console/notice_new.html",
        sent=sent or {"audience": AUDIENCE_TENANT, "scope": SCOPE_ORG},
        refused=refused,
        token=new_form_token(),
        scopes=list(SCOPE_LABELS.items()),
        staff_scopes=STAFF_SCOPES,
        target_fields=TARGET_FIELDS,
        nav="notices",
        **_targets(),
        **_labels(),
    )


@bp.get("/notices/new")
@desk_page
def new_notice() -> Any:
    return _compose()


def _local_instant(value: str) -> str | None:
    """A <input type="datetime-local"> value, read as Beijing time, in ISO form with its offset
    (what the API's AwareDateTime takes); junk is passed on for the schema to refuse."""
    value = value.strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return value
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=LOCAL_TZ)
    return parsed.isoformat()


def _sent() -> dict[str, Any]:
    form = request.form
    return {
        "audience": form.get("audience", AUDIENCE_TENANT),
        "title": form.get("title", ""),
        "body": form.get("body", ""),
        "urgent": form.get("urgent") == "1",
        "scope": form.get("scope", ""),
        "publish_at": form.get("publish_at", ""),
        "expires_at": form.get("expires_at", ""),
        "chosen": {name: int_list(form.getlist(name)) for name in TARGET_FIELDS.values()},
    }


def _request_body(sent: dict[str, Any]) -> dict[str, Any]:
    scope = sent["scope"]
    audience = AUDIENCE_STAFF if scope in STAFF_SCOPES else AUDIENCE_TENANT
    picker = TARGET_FIELDS.get(scope)
    return {
        "audience": audience,
        "title": sent["title"],
        "body": sent["body"],
        "urgent": sent["urgent"],
        "scope": scope,
        "target_ids": sent["chosen"][picker] if picker else [],
        "publish_at": _local_instant(sent["publish_at"]),
        "expires_at": _local_instant(sent["expires_at"]),
    }


@bp.post("/notices")
@desk_page
def publish_notice() -> Any:
    caller = principal()
    sent = _sent()
    body = _request_body(sent)
    try:
        claim = claim_form("notice", body)
        if isinstance(claim, Replay):
            # The same form sent again: the notice the first submit published.
            return redirect(f"/console/notices/{claim.body['id']}", code=303)
        data = load_form(_CREATE, body)
        notice = publishing.publish(
            session(),
            org_id=caller.org_id,
            user_id=caller.user_id,
            new=publishing.NewNotice(
                audience=data["audience"],
                title=data["title"],
                body=data["body"],
                scope=data["scope"],
                target_ids=tuple(data["target_ids"]),
                urgent=data["urgent"],
                publish_at=data["publish_at"],
                expires_at=data["expires_at"],
            ),
            now=now(),
        )
        finish_form(claim, created_id=notice.id)
    except ValidationError as exc:
        discard_changes()
        return _compose(sent=sent, refused=invalid(exc))
    except DomainError as exc:
        discard_changes()
        return _compose(sent=sent, refused=refusal_of(exc))
    return redirect(f"/console/notices/{notice.id}", code=303)


def _detail(notice_id: int, *, refused: Refusal | None = None) -> Any:
    org_id, current = principal().org_id, session()
    try:
        found = _NOTICE.dump(reading.desk_notice(current, org_id=org_id, notice_id=notice_id))
    except NotFound as exc:
        return page(
            "console/error.html",
            status=404,
            title="通知不存在",
            message=exc.message,
            nav="notices",
        )
    args = query_args(_UNREAD_ARGS)
    unread = reading.unread_recipients(
        current, org_id=org_id, notice_id=notice_id, page=args["page"], page_size=UNREAD_PAGE_SIZE
    )
    listing = {
        "items": _UNREAD.dump(unread.items),
        "total": unread.total,
        "page": unread.page,
        "page_size": unread.page_size,
    }
    return page(
        "console/notice.html",
        n=found,
        targets=target_names(found["scope"], found["target_ids"]),
        listing=listing,
        page_url=page_url_for(f"/console/notices/{notice_id}", {}),
        refused=refused,
        nav="notices",
        **_labels(),
    )


def target_names(scope: str, ids: list[int]) -> list[str]:
    """The names of a notice's targets (rooms: their codes), in the form's lists."""
    picker = TARGET_FIELDS.get(scope)
    if picker is None or not ids:
        return []
    if picker == "rooms" and len(ids) > 50:
        return [f"{len(ids)} 个房间"]
    listed = pick_targets(picker)
    wanted = set(ids)
    names = []
    for item in listed:
        if item["id"] in wanted:
            if picker == "rooms":
                names.append(f"{item['community_name']} {item['code']}")
            elif picker == "buildings":
                names.append(f"{item['community_name']} {item['name']}")
            else:
                names.append(item["name"])
    return names


@bp.get("/notices/<int:notice_id>")
@desk_page
def notice(notice_id: int) -> Any:
    return _detail(notice_id)


@bp.post("/notices/<int:notice_id>/withdraw")
@desk_page
def withdraw_notice(notice_id: int) -> Any:
    try:
        publishing.withdraw(session(), org_id=principal().org_id, notice_id=notice_id, now=now())
    except DomainError as exc:
        discard_changes()
        return _detail(notice_id, refused=refusal_of(exc))
    return redirect(f"/console/notices/{notice_id}", code=303)
