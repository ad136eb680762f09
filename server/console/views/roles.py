"""角色权限: the presets and the organisation's roles (permissions, data scope), and which
roles each staff member holds. Over the same use cases and schemas as `/api/v1/admin/roles`.
"""

from __future__ import annotations

from typing import Any

from flask import redirect, request
from marshmallow import ValidationError

from schemas.roles import RoleSchema, StaffRolesSchema
from server.console.blueprint import bp
from server.console.views._service import Refusal, invalid, load_form, refusal_of
from server.console.web import desk_page, discard_changes, page
from server.directory import property as places
from server.kernel.errors import DomainError
from server.kernel.permissions import LABELS, Permission
from server.kernel.personal_data import mask_phone
from server.roles import admin as roles_service
from server.staff import members
from server.web.context import container, now, principal, session

_ROLE = RoleSchema()
_ROLE_CHANGES = RoleSchema(partial=True)
_STAFF_ROLES = StaffRolesSchema()
PATH = "/console/roles"


def _role_form() -> dict[str, Any]:
    return {
        "name": request.form.get("name", "")[:100],
        "description": request.form.get("description", "")[:400],
        "permissions": request.form.getlist("permissions")[:60],
        "all_communities": request.form.get("scope", "all") == "all",
        "community_ids": [
            int(c)
            for c in request.form.getlist("community_ids")[:600]
            if c.isdigit() and len(c) < 19
        ],
    }


def _render(*, refused: Refusal | None = None, editing: int | None = None, form: Any = None) -> Any:
    caller = principal()
    roles = roles_service.list_roles(session(), org_id=caller.org_id)
    communities = places.list_communities(
        session(), org_id=caller.org_id, q=None, page=1, page_size=500
    ).items
    staff = members.list_staff(
        session(), org_id=caller.org_id, is_active=True, page=1, page_size=200
    ).items
    held = {
        s.id: {
            r.id for r in roles_service.staff_roles(session(), org_id=caller.org_id, staff_id=s.id)
        }
        for s in staff
    }
    return page(
        "console/roles.html",
        nav="roles",
        roles=roles,
        custom=[r for r in roles if not r.preset],
        catalogue=[(p.value, LABELS[p]) for p in Permission],
        labels={p.value: LABELS[p] for p in Permission},
        communities=communities,
        community_names={c.id: c.name for c in communities},
        staff=staff,
        held=held,
        mask_phone=mask_phone,
        refused=refused,
        editing=editing,
        form=form or {},
        saved=request.args.get("saved"),
    )


@bp.get("/roles")
@desk_page
def roles_page() -> Any:
    return _render()


def _act(action: Any, *, editing: int | None = None, form: Any = None) -> Any:
    try:
        action()
    except ValidationError as exc:
        discard_changes()
        return _render(refused=invalid(exc), editing=editing, form=form)
    except DomainError as exc:
        discard_changes()
        return _render(refused=refusal_of(exc), editing=editing, form=form)
    return redirect(f"{PATH}?saved=1", code=303)


@bp.post("/roles")
@desk_page
def create_role() -> Any:
    form = _role_form()
    return _act(
        lambda: roles_service.create_role(
            session(), org_id=principal().org_id, data=load_form(_ROLE, form), now=now()
        ),
        form=form,
    )


@bp.post("/roles/<int:role_id>")
@desk_page
def update_role(role_id: int) -> Any:
    form = _role_form()
    return _act(
        lambda: roles_service.update_role(
            session(),
            org_id=principal().org_id,
            role_id=role_id,
            changes=load_form(_ROLE_CHANGES, form),
            access=container().access,
            now=now(),
        ),
        editing=role_id,
        form=form,
    )


@bp.post("/roles/<int:role_id>/delete")
@desk_page
def delete_role(role_id: int) -> Any:
    return _act(
        lambda: roles_service.delete_role(
            session(),
            org_id=principal().org_id,
            role_id=role_id,
            access=container().access,
            now=now(),
        )
    )


@bp.post("/roles/staff/<int:staff_id>")
@desk_page
def set_staff_roles(staff_id: int) -> Any:
    form = {
        "role_ids": [
            int(r) for r in request.form.getlist("role_ids")[:60] if r.isdigit() and len(r) < 19
        ]
    }
    return _act(
        lambda: roles_service.set_staff_roles(
            session(),
            org_id=principal().org_id,
            staff_id=staff_id,
            role_ids=load_form(_STAFF_ROLES, form)["role_ids"],
            access=container().access,
            now=now(),
        )
    )
