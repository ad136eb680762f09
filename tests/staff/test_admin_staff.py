"""Console: departments, posts and staff — CRUD, validation, roles, isolation, grab caps."""

from __future__ import annotations

import pytest

from server.kernel.roles import Role

DEPARTMENTS = "/api/v1/admin/departments"
POSTS = "/api/v1/admin/posts"
STAFF = "/api/v1/admin/staff"


@pytest.fixture
def org(make):
    return make.org(default_grab_cap=5)


@pytest.fixture
def admin(make, org):
    return make.admin(org)


@pytest.fixture
def admin_headers(make, admin):
    return make.headers(admin)


def staff_body(**overrides):
    body = {
        "name": "张师傅",
        "phone": "13912345678",
        "password": "abcd1234",
        "roles": ["technician"],
    }
    body.update(overrides)
    return body


# Departments and posts ---------------------------------------------------------------------


@pytest.mark.parametrize("url", [DEPARTMENTS, POSTS])
def test_named_resources_crud(client, admin_headers, url):
    r = client.post(url, json={"name": " 工程部 "}, headers=admin_headers)
    assert r.status_code == 201, r.json
    created = r.json
    assert created["name"] == "工程部"
    assert created["created_at"].endswith("+08:00")

    r = client.get(url, query_string={"q": "工程"}, headers=admin_headers)
    assert r.status_code == 200
    assert r.json["total"] == 1 and r.json["items"][0]["id"] == created["id"]

    r = client.patch(f"{url}/{created['id']}", json={"name": "维修部"}, headers=admin_headers)
    assert r.status_code == 200 and r.json["name"] == "维修部"
    assert client.get(f"{url}/{created['id']}", headers=admin_headers).json["name"] == "维修部"

    assert client.delete(f"{url}/{created['id']}", headers=admin_headers).status_code == 204
    r = client.get(f"{url}/{created['id']}", headers=admin_headers)
    assert r.status_code == 404 and r.json["error"] == "not_found"


def test_department_grab_cap_can_be_set_and_cleared(client, admin_headers):
    r = client.post(DEPARTMENTS, json={"name": "工程部", "grab_cap": 3}, headers=admin_headers)
    assert r.status_code == 201 and r.json["grab_cap"] == 3
    r = client.patch(
        f"{DEPARTMENTS}/{r.json['id']}", json={"grab_cap": None}, headers=admin_headers
    )
    assert r.status_code == 200 and r.json["grab_cap"] is None


@pytest.mark.parametrize("url", [DEPARTMENTS, POSTS])
def test_duplicate_name_is_a_conflict(client, admin_headers, url):
    first = client.post(url, json={"name": "一"}, headers=admin_headers).json
    r = client.post(url, json={"name": "一"}, headers=admin_headers)
    assert r.status_code == 409
    assert r.json["error"] == "conflict" and "name" in r.json["errors"]
    second = client.post(url, json={"name": "二"}, headers=admin_headers).json
    r = client.patch(f"{url}/{second['id']}", json={"name": "一"}, headers=admin_headers)
    assert r.status_code == 409 and "name" in r.json["errors"]
    # Renaming to its own name is no conflict.
    r = client.patch(f"{url}/{first['id']}", json={"name": "一"}, headers=admin_headers)
    assert r.status_code == 200


def test_same_name_in_another_organisation_is_fine(client, make, admin_headers):
    make.department(make.org(), name="工程部")
    assert (
        client.post(DEPARTMENTS, json={"name": "工程部"}, headers=admin_headers).status_code == 201
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": "  "}, "name"),
        ({"name": "x" * 51}, "name"),
        ({"name": "x", "grab_cap": -1}, "grab_cap"),
        ({"name": "x", "grab_cap": 101}, "grab_cap"),
        ({"name": "x", "grab_cap": "3"}, "grab_cap"),
        ({"name": "x", "colour": "red"}, "colour"),
    ],
)
def test_department_validation_errors(client, admin_headers, body, field):
    r = client.post(DEPARTMENTS, json=body, headers=admin_headers)
    assert r.status_code == 422
    assert r.json["error"] == "validation_error"
    assert field in r.json["errors"], r.json


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "name"), ({"name": 5}, "name"), ({"name": "x", "grab_cap": 3}, "grab_cap")],
)
def test_post_validation_errors(client, admin_headers, body, field):
    r = client.post(POSTS, json=body, headers=admin_headers)
    assert r.status_code == 422 and field in r.json["errors"], r.json


@pytest.mark.parametrize("kind", ["department", "post"])
def test_delete_in_use_is_refused(client, make, org, admin_headers, kind):
    thing = getattr(make, kind)(org)
    make.staff(org, **{f"{kind}_id": thing.id})
    url = DEPARTMENTS if kind == "department" else POSTS
    r = client.delete(f"{url}/{thing.id}", headers=admin_headers)
    assert r.status_code == 409 and r.json["error"] == "in_use"


def test_department_bound_to_an_order_type_is_in_use(client, make, org, admin_headers):
    department = make.department(org)
    make.order_type(org, department_id=department.id)
    r = client.delete(f"{DEPARTMENTS}/{department.id}", headers=admin_headers)
    assert r.status_code == 409 and r.json["error"] == "in_use"


@pytest.mark.parametrize("query", [{"page": 0}, {"page_size": 101}, {"page": "x"}])
def test_bad_pagination(client, admin_headers, query):
    for url in (DEPARTMENTS, POSTS, STAFF):
        r = client.get(url, query_string=query, headers=admin_headers)
        assert r.status_code == 422 and r.json["error"] == "validation_error"


# Staff -------------------------------------------------------------------------------------


def test_create_list_get_update_and_deactivate_staff(client, make, org, admin_headers):
    department = make.department(org, name="工程部")
    post = make.post(org, name="水电工")
    body = staff_body(
        phone="+86 139-1234-5678",
        department_id=department.id,
        post_id=post.id,
        employee_no="E001",
        grab_cap=2,
        on_duty=False,
    )
    r = client.post(STAFF, json=body, headers=admin_headers)
    assert r.status_code == 201, r.json
    created = r.json
    assert created["phone"] == "13912345678"
    assert "password" not in created and "grab_cap" not in created
    assert created["roles"] == ["technician"]
    assert created["department"] == {"id": department.id, "name": "工程部"}
    assert created["post"] == {"id": post.id, "name": "水电工"}
    assert created["employee_no"] == "E001"
    assert created["on_duty"] is False and created["is_active"] is True
    assert created["grab_cap_override"] == 2 and created["cap"] == 2
    assert (created["held"], created["available"]) == (0, 2)  # a new technician holds nothing

    r = client.get(STAFF, headers=admin_headers)
    assert r.status_code == 200
    item = next(i for i in r.json["items"] if i["id"] == created["id"])
    assert item["phone"] == "139****5678"
    assert item["user_id"] == created["user_id"]

    r = client.get(f"{STAFF}/{created['id']}", headers=admin_headers)
    assert r.status_code == 200 and r.json["phone"] == "13912345678"

    r = client.patch(
        f"{STAFF}/{created['id']}",
        json={
            "name": "李师傅",
            "roles": ["technician", "dispatcher"],
            "department_id": None,
            "on_duty": True,
        },
        headers=admin_headers,
    )
    assert r.status_code == 200, r.json
    assert r.json["name"] == "李师傅"
    assert r.json["roles"] == ["dispatcher", "technician"]
    assert r.json["department"] is None and r.json["department_id"] is None
    assert r.json["post"]["id"] == post.id
    assert r.json["on_duty"] is True

    assert client.delete(f"{STAFF}/{created['id']}", headers=admin_headers).status_code == 204
    r = client.get(f"{STAFF}/{created['id']}", headers=admin_headers)
    assert r.status_code == 200 and r.json["is_active"] is False
    r = client.post("/api/v1/auth/login", json={"phone": "13912345678", "password": "abcd1234"})
    assert r.status_code == 403

    r = client.patch(f"{STAFF}/{created['id']}", json={"is_active": True}, headers=admin_headers)
    assert r.status_code == 200 and r.json["is_active"] is True


def test_created_staff_can_log_in_and_sees_their_cap(client, make, org, admin_headers):
    department = make.department(org, grab_cap=3)
    r = client.post(STAFF, json=staff_body(department_id=department.id), headers=admin_headers)
    assert r.status_code == 201, r.json
    staff_id = r.json["id"]

    r = client.post("/api/v1/auth/login", json={"phone": "13912345678", "password": "abcd1234"})
    assert r.status_code == 200, r.json
    headers = {"Authorization": f"Bearer {r.json['access_token']}"}
    me = client.get("/api/v1/me", headers=headers).json
    assert me["roles"] == ["technician"]
    assert me["staff"]["id"] == staff_id
    assert me["staff"]["department_id"] == department.id
    assert me["staff"]["grab_cap"] == 3

    r = client.patch(f"{STAFF}/{staff_id}", json={"password": "newpass99"}, headers=admin_headers)
    assert r.status_code == 200
    assert (
        client.post(
            "/api/v1/auth/login", json={"phone": "13912345678", "password": "abcd1234"}
        ).status_code
        == 401
    )
    assert (
        client.post(
            "/api/v1/auth/login", json={"phone": "13912345678", "password": "newpass99"}
        ).status_code
        == 200
    )


def test_password_reset_revokes_refresh_tokens(client, make, org, admin_headers):
    member = make.staff(org)
    login = client.post(
        "/api/v1/auth/login", json={"phone": member.user.phone, "password": "secret-pass-1"}
    ).json
    r = client.patch(f"{STAFF}/{member.id}", json={"password": "another1x"}, headers=admin_headers)
    assert r.status_code == 200
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": login["refresh_token"]})
    assert r.status_code == 401


def test_list_filters(client, make, org, admin_headers):
    department = make.department(org)
    post = make.post(org)
    a = make.staff(org, department_id=department.id, post_id=post.id, on_duty=True)
    a.user.name = "王五"
    b = make.staff(org, roles=(Role.DISPATCHER,), on_duty=False)
    make.session.flush()

    def ids(**query):
        r = client.get(STAFF, query_string=query, headers=admin_headers)
        assert r.status_code == 200, r.json
        return {i["id"] for i in r.json["items"]}

    assert ids() == {a.id, b.id}
    assert ids(department_id=department.id) == {a.id}
    assert ids(post_id=post.id) == {a.id}
    assert ids(role="dispatcher") == {b.id}
    assert ids(role="technician") == {a.id}
    assert ids(on_duty="false") == {b.id}
    assert ids(q="王") == {a.id}
    assert ids(q=b.user.phone[-6:]) == {b.id}
    assert ids(is_active="true") == {a.id, b.id}
    r = client.get(STAFF, query_string={"role": "tenant"}, headers=admin_headers)
    assert r.status_code == 422 and "role" in r.json["errors"]
    r = client.get(STAFF, query_string={"page_size": 1}, headers=admin_headers)
    assert r.json["total"] == 2 and len(r.json["items"]) == 1


def test_phone_in_use_is_a_conflict(client, make, org, admin_headers):
    make.tenant(org, phone="13912345678")
    r = client.post(STAFF, json=staff_body(), headers=admin_headers)
    assert r.status_code == 409
    assert r.json["error"] == "conflict" and "phone" in r.json["errors"]

    member = make.staff(org)
    r = client.patch(f"{STAFF}/{member.id}", json={"phone": "13912345678"}, headers=admin_headers)
    assert r.status_code == 409 and "phone" in r.json["errors"]
    r = client.patch(
        f"{STAFF}/{member.id}", json={"phone": member.user.phone}, headers=admin_headers
    )
    assert r.status_code == 200


def test_same_phone_in_another_organisation_is_fine(client, make, admin_headers):
    make.staff(make.org(), phone="13912345678")
    assert client.post(STAFF, json=staff_body(), headers=admin_headers).status_code == 201


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": None}, "name"),
        ({"name": " "}, "name"),
        ({"phone": "12345"}, "phone"),
        ({"phone": None}, "phone"),
        ({"password": "abc123"}, "password"),
        ({"password": "abcdefgh"}, "password"),
        ({"password": "12345678"}, "password"),
        ({"password": "a1" * 33}, "password"),
        ({"roles": []}, "roles"),
        ({"roles": ["tenant"]}, "roles"),
        ({"roles": ["technician", "boss"]}, "roles"),
        ({"roles": "technician"}, "roles"),
        ({"grab_cap": -1}, "grab_cap"),
        ({"grab_cap": 101}, "grab_cap"),
        ({"grab_cap": 1.5}, "grab_cap"),
        ({"on_duty": "maybe"}, "on_duty"),
        ({"employee_no": "x" * 33}, "employee_no"),
        ({"department_id": 999999999}, "department_id"),
        ({"post_id": 999999999}, "post_id"),
        ({"held": 3}, "held"),
    ],
)
def test_create_validation_errors(client, admin_headers, overrides, field):
    r = client.post(STAFF, json=staff_body(**overrides), headers=admin_headers)
    assert r.status_code == 422, r.json
    assert r.json["error"] == "validation_error"
    assert field in r.json["errors"], r.json


@pytest.mark.parametrize("field", ["name", "phone", "password", "roles"])
def test_create_requires(client, admin_headers, field):
    body = staff_body()
    del body[field]
    r = client.post(STAFF, json=body, headers=admin_headers)
    assert r.status_code == 422 and field in r.json["errors"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"password": "short1"}, "password"),
        ({"roles": []}, "roles"),
        ({"grab_cap": 500}, "grab_cap"),
        ({"is_active": "nope"}, "is_active"),
        ({"department_id": 999999999}, "department_id"),
    ],
)
def test_update_validation_errors(client, make, org, admin_headers, changes, field):
    member = make.staff(org)
    r = client.patch(f"{STAFF}/{member.id}", json=changes, headers=admin_headers)
    assert r.status_code == 422 and field in r.json["errors"], r.json


def test_admin_cannot_demote_or_deactivate_themselves(client, make, org):
    me = make.staff(org, roles=(Role.ADMIN, Role.DISPATCHER))
    headers = make.headers(me.user)
    r = client.patch(f"{STAFF}/{me.id}", json={"roles": ["dispatcher"]}, headers=headers)
    assert r.status_code == 409 and r.json["error"] == "conflict"
    assert "管理员" in r.json["message"]
    r = client.patch(f"{STAFF}/{me.id}", json={"is_active": False}, headers=headers)
    assert r.status_code == 409 and r.json["error"] == "conflict"
    r = client.delete(f"{STAFF}/{me.id}", headers=headers)
    assert r.status_code == 409 and "停用" in r.json["message"]
    # Everything else about themselves they may change.
    r = client.patch(
        f"{STAFF}/{me.id}", json={"roles": ["admin", "technician"], "name": "我"}, headers=headers
    )
    assert r.status_code == 200 and r.json["roles"] == ["admin", "technician"]


def test_roles_change_keeps_a_tenant_role(client, make, org, admin_headers):
    member = make.staff(org, roles=(Role.TECHNICIAN, Role.TENANT))
    r = client.patch(f"{STAFF}/{member.id}", json={"roles": ["dispatcher"]}, headers=admin_headers)
    assert r.status_code == 200 and r.json["roles"] == ["dispatcher", "tenant"]


def test_effective_grab_cap_precedence(client, make, org, admin_headers):
    department = make.department(org, grab_cap=None)
    member = make.staff(org, department_id=department.id)
    url = f"{STAFF}/{member.id}"

    def cap():
        return client.get(url, headers=admin_headers).json["cap"]

    assert cap() == 5  # organisation default
    client.patch(f"{DEPARTMENTS}/{department.id}", json={"grab_cap": 3}, headers=admin_headers)
    assert cap() == 3  # department beats organisation
    r = client.patch(url, json={"grab_cap": 1}, headers=admin_headers)
    assert r.json["cap"] == 1 and r.json["grab_cap_override"] == 1  # technician beats both
    r = client.patch(url, json={"grab_cap": 0}, headers=admin_headers)
    assert r.json["cap"] == 0  # zero is a setting, not "unset"
    r = client.patch(url, json={"grab_cap": None}, headers=admin_headers)
    assert r.json["cap"] == 3 and r.json["grab_cap_override"] is None  # cleared: falls back
    client.patch(f"{DEPARTMENTS}/{department.id}", json={"grab_cap": None}, headers=admin_headers)
    assert cap() == 5
    item = client.get(STAFF, headers=admin_headers).json["items"][0]
    assert item["cap"] == 5


def test_eligible_order_types_follow_the_binding(client, make, org, admin_headers):
    d, other_d = make.department(org), make.department(org)
    p = make.post(org)
    both = make.order_type(org, name="水电", department_id=d.id, post_id=p.id, sort_order=2)
    dept_only = make.order_type(org, name="土建", department_id=d.id, sort_order=1)
    open_type = make.order_type(org, name="综合", sort_order=3)
    make.order_type(org, name="停用", is_active=False)
    make.order_type(org, name="别部门", department_id=other_d.id)
    tech = make.staff(org, department_id=d.id, post_id=p.id)
    dispatcher = make.staff(org, roles=(Role.DISPATCHER,), department_id=d.id, post_id=p.id)

    r = client.get(f"{STAFF}/{tech.id}", headers=admin_headers)
    assert r.json["eligible_order_types"] == [
        {"id": dept_only.id, "name": "土建"},
        {"id": both.id, "name": "水电"},
        {"id": open_type.id, "name": "综合"},
    ]
    r = client.get(f"{STAFF}/{dispatcher.id}", headers=admin_headers)
    assert r.json["eligible_order_types"] == []


def test_other_organisation_is_invisible(client, make, admin_headers):
    other = make.org()
    department, post, member = make.department(other), make.post(other), make.staff(other)
    for url in (f"{DEPARTMENTS}/{department.id}", f"{POSTS}/{post.id}", f"{STAFF}/{member.id}"):
        assert client.get(url, headers=admin_headers).status_code == 404
        assert client.patch(url, json={"name": "x"}, headers=admin_headers).status_code == 404
        assert client.delete(url, headers=admin_headers).status_code == 404
    for url in (DEPARTMENTS, POSTS, STAFF):
        assert client.get(url, headers=admin_headers).json["total"] == 0
    assert member.user.is_active is True


def test_other_organisations_department_cannot_be_referenced(client, make, org, admin_headers):
    other = make.org()
    theirs_d, theirs_p = make.department(other), make.post(other)
    r = client.post(STAFF, json=staff_body(department_id=theirs_d.id), headers=admin_headers)
    assert r.status_code == 422 and "department_id" in r.json["errors"]
    r = client.post(STAFF, json=staff_body(post_id=theirs_p.id), headers=admin_headers)
    assert r.status_code == 422 and "post_id" in r.json["errors"]
    member = make.staff(org)
    r = client.patch(
        f"{STAFF}/{member.id}", json={"department_id": theirs_d.id}, headers=admin_headers
    )
    assert r.status_code == 422 and "department_id" in r.json["errors"]


def test_roles(client, make, org):
    dispatcher = make.headers(make.dispatcher(org))
    technician = make.staff(org)
    tenant = make.headers(make.tenant(org))
    department = make.department(org)
    for url in (
        DEPARTMENTS,
        POSTS,
        STAFF,
        f"{STAFF}/{technician.id}",
        f"{DEPARTMENTS}/{department.id}",
    ):
        assert client.get(url, headers=dispatcher).status_code == 200, url
        assert client.get(url, headers=tenant).status_code == 403
        assert client.get(url, headers=make.headers(technician.user)).status_code == 403
        assert client.get(url).status_code == 401
    for method, url, body in [
        ("post", DEPARTMENTS, {"name": "x"}),
        ("patch", f"{DEPARTMENTS}/{department.id}", {"name": "x"}),
        ("delete", f"{DEPARTMENTS}/{department.id}", None),
        ("post", POSTS, {"name": "x"}),
        ("post", STAFF, staff_body()),
        ("patch", f"{STAFF}/{technician.id}", {"name": "x"}),
        ("delete", f"{STAFF}/{technician.id}", None),
    ]:
        r = getattr(client, method)(url, json=body, headers=dispatcher)
        assert r.status_code == 403 and r.json["error"] == "forbidden", (method, url)
        assert getattr(client, method)(url, json=body).status_code == 401


# Load: what each technician holds -----------------------------------------------------------


def _by_id(response):
    assert response.status_code == 200, response.json
    return {item["id"]: item for item in response.json["items"]}


def _step(client, world, who, path, body=None):
    r = client.post(path, json=body or {}, headers=world.headers(who))
    assert r.status_code == 200, r.json
    return r.json


def test_held_and_available_follow_grabs_and_assignments(client, world):
    first, second, third = world.techs
    desk = world.headers(world.make.admin(world.org))
    orders = [world.file(client)["id"] for _ in range(5)]
    tech_orders = "/api/v1/tech/orders"
    _step(client, world, first, f"{tech_orders}/{orders[0]}/grab")
    _step(client, world, first, f"{tech_orders}/{orders[1]}/grab")
    _step(client, world, first, f"{tech_orders}/{orders[1]}/hold", {"reason": "等配件"})
    _step(
        client,
        world,
        world.dispatcher,
        f"/api/v1/admin/orders/{orders[2]}/assign",
        {"staff_id": second.id},
    )
    _step(client, world, third, f"{tech_orders}/{orders[3]}/grab")
    _step(client, world, third, f"{tech_orders}/{orders[3]}/complete", {"result": "好了"})

    listed = _by_id(client.get(STAFF, headers=desk))
    load = {i: (s["held"], s["cap"], s["available"]) for i, s in listed.items()}
    assert load == {
        first.id: (2, 3, 1),  # in progress + on hold
        second.id: (1, 3, 2),  # assigned, not yet accepted
        third.id: (0, 3, 3),  # completed orders are not held
        world.outsider.id: (0, 5, 5),  # no department: the organisation's cap
    }
    detail = client.get(f"{STAFF}/{first.id}", headers=desk).json
    assert (detail["held"], detail["cap"], detail["available"]) == (2, 3, 1)

    # A full technician drops out of the has_capacity list.
    _step(client, world, first, f"{tech_orders}/{orders[4]}/grab")
    full = client.get(f"{STAFF}/{first.id}", headers=desk).json
    assert (full["held"], full["available"]) == (3, 0)
    with_room = _by_id(client.get(STAFF, query_string={"has_capacity": "true"}, headers=desk))
    assert set(with_room) == {second.id, third.id, world.outsider.id}
    without = _by_id(client.get(STAFF, query_string={"has_capacity": "false"}, headers=desk))
    assert set(without) == {first.id}
    assert client.get(STAFF, query_string={"has_capacity": "x"}, headers=desk).status_code == 422


def test_available_is_never_negative_and_zero_for_non_technicians(client, world):
    make = world.make
    admin = make.admin(world.org)
    desk = world.headers(admin)
    second = world.techs[1]
    oid = world.file(client)["id"]
    _step(client, world, second, f"/api/v1/tech/orders/{oid}/grab")
    # The cap is lowered below what they already hold.
    r = client.patch(f"{STAFF}/{second.id}", json={"grab_cap": 0}, headers=desk)
    assert r.status_code == 200 and (r.json["held"], r.json["cap"]) == (1, 0)
    assert r.json["available"] == 0

    clerk = make.staff(world.org, roles=(Role.DISPATCHER,))
    gone = make.staff(world.org, department_id=world.department.id)
    gone.user.is_active = False
    make.session.flush()
    listed = _by_id(client.get(STAFF, headers=desk))
    assert (listed[clerk.id]["held"], listed[clerk.id]["available"]) == (0, 0)
    assert listed[gone.id]["available"] == 0
    without = _by_id(client.get(STAFF, query_string={"has_capacity": "false"}, headers=desk))
    assert {second.id, clerk.id, gone.id} <= set(without)
    assert world.techs[0].id not in without
    with_room = _by_id(client.get(STAFF, query_string={"has_capacity": "true"}, headers=desk))
    assert not {second.id, clerk.id, gone.id} & set(with_room)


def test_held_counts_take_one_query_per_page(client, world, app):
    from sqlalchemy import event

    desk = world.headers(world.make.admin(world.org))
    for tech in world.techs:
        oid = world.file(client)["id"]
        _step(client, world, tech, f"/api/v1/tech/orders/{oid}/grab")
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    engine = app.extensions["baoxiu"].db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        r = client.get(STAFF, headers=desk)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert r.status_code == 200 and r.json["total"] == 4
    assert [s["held"] for s in r.json["items"][:3]] == [1, 1, 1]
    assert len([s for s in statements if "FROM orders" in s]) == 1
