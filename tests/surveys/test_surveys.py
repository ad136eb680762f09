"""Satisfaction surveys (满意度调查) through the HTTP API."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from openpyxl import load_workbook
from sqlalchemy import select

from server.notifications.models import Notification
from tests.notices.conftest import fan_out

ADMIN = "/api/v1/admin/surveys"
TENANT = "/api/v1/tenant/surveys"

QUESTIONS = [
    {"kind": "single", "text": "维修是否及时", "options": ["及时", "一般", "不及时"]},
    {"kind": "multiple", "text": "您满意的方面", "options": ["态度", "速度", "质量"]},
    {"kind": "scale", "text": "总体评分"},
    {"kind": "text", "text": "其他建议", "required": False},
]


def _create(client, world, expect=201, **body):
    payload = {"title": "2026 年满意度调查", "scope": "org", "questions": QUESTIONS, **body}
    r = client.post(ADMIN, json=payload, headers=world.headers(world.dispatcher))
    assert r.status_code == expect, r.json
    return r.json


def _open(client, world, survey_id):
    r = client.post(f"{ADMIN}/{survey_id}/open", headers=world.headers(world.dispatcher))
    assert r.status_code == 200, r.json
    return r.json


def _answers(survey, single=0, multiple=(0, 1), scale=5, text="很好"):
    q = survey["questions"]
    return [
        {"question_id": q[0]["id"], "choice": single},
        {"question_id": q[1]["id"], "choices": list(multiple)},
        {"question_id": q[2]["id"], "scale": scale},
        {"question_id": q[3]["id"], "text": text},
    ]


def _answer(client, who_headers, survey, **kw):
    room_id = kw.pop("room_id", None)
    return client.post(
        f"{TENANT}/{survey['id']}/answers",
        json={"room_id": room_id, "answers": _answers(survey, **kw)},
        headers=who_headers,
    )


def test_a_survey_is_built_opened_answered_once_and_closed(client, world, app, db_session):
    survey = _create(client, world)
    assert survey["status"] == "draft" and [q["position"] for q in survey["questions"]] == [
        1,
        2,
        3,
        4,
    ]
    tenant = world.headers(world.tenant)
    assert client.get(TENANT, headers=tenant).json["total"] == 0  # a draft is nobody's
    _open(client, world, survey["id"])
    fan_out(app)  # the announce job is a notices/surveys outbox job too
    listed = client.get(TENANT, headers=tenant).json
    assert [s["id"] for s in listed["items"]] == [survey["id"]]
    assert listed["items"][0]["answered"] is False

    r = _answer(client, tenant, survey)
    assert r.status_code == 201, r.json
    assert r.json["answered"] is True
    again = _answer(client, tenant, survey, scale=1)
    assert again.status_code == 409 and again.json["error"] == "already_answered"

    r = client.post(f"{ADMIN}/{survey['id']}/close", headers=world.headers(world.dispatcher))
    assert r.status_code == 200 and r.json["status"] == "closed"
    late = _answer(client, world.headers(world.neighbour), survey)
    assert late.status_code == 404
    assert client.get(TENANT, headers=tenant).json["total"] == 0


def test_opening_tells_the_targeted_tenants_once(client, world, app, db_session):
    survey = _create(client, world, scope="rooms", target_ids=[world.room.id])
    _open(client, world, survey["id"])
    from tests.paying.conftest import deliver_all

    deliver_all(app)
    client.post(f"{ADMIN}/{survey['id']}/close", headers=world.headers(world.dispatcher))
    _open(client, world, survey["id"])  # reopening tells nobody again
    deliver_all(app)
    told = db_session.scalars(
        select(Notification.user_id).where(Notification.dedupe_key == f"survey:{survey['id']}")
    ).all()
    assert told == [world.tenant.id]


def test_per_room_surveys_take_one_answer_per_room(client, world, make):
    # The tenant's family member shares the room.
    customer = world.room  # noqa: F841  (readability)
    family = make.tenant(world.org, phone="13800000009")
    holder = make.customer(world.org, name="张三家属")
    make.contact(holder, phone="13800000009")
    make.holds(holder, world.room, relation="resident")
    survey = _create(client, world, answer_per="room")
    _open(client, world, survey["id"])
    first = _answer(client, world.headers(world.tenant), survey)
    assert first.status_code == 201
    second = _answer(client, make.headers(family), survey)
    assert second.status_code == 409 and second.json["error"] == "already_answered"
    # Another room is another answer.
    neighbour = _answer(client, world.headers(world.neighbour), survey)
    assert neighbour.status_code == 201


def test_answers_are_checked_in_zh(client, world):
    survey = _create(client, world)
    _open(client, world, survey["id"])
    tenant = world.headers(world.tenant)
    q = survey["questions"]
    cases = [
        ({"question_id": q[0]["id"], "choice": 7}, q[0]["id"]),
        ({"question_id": q[2]["id"], "scale": 6}, q[2]["id"]),
    ]
    for bad, qid in cases:
        answers = [a for a in _answers(survey) if a["question_id"] != bad["question_id"]]
        r = client.post(
            f"{TENANT}/{survey['id']}/answers", json={"answers": [*answers, bad]}, headers=tenant
        )
        assert r.status_code == 422 and f"answers.{qid}" in r.json["errors"], r.json
    missing = [a for a in _answers(survey) if a["question_id"] != q[2]["id"]]
    r = client.post(f"{TENANT}/{survey['id']}/answers", json={"answers": missing}, headers=tenant)
    assert r.status_code == 422 and r.json["errors"][f"answers.{q[2]['id']}"] == ["此题必答"]
    # The optional text may be left out.
    optional = [a for a in _answers(survey) if a["question_id"] != q[3]["id"]]
    r = client.post(f"{TENANT}/{survey['id']}/answers", json={"answers": optional}, headers=tenant)
    assert r.status_code == 201
    bad_choice = _create(
        client,
        world,
        expect=422,
        questions=[{"kind": "single", "text": "只有一个选项", "options": ["是"]}],
    )
    assert "questions.0.options" in bad_choice["errors"]


def test_results_count_average_and_break_down_by_place(client, world, make):
    building2 = make.building(world.room.community, name="2栋")
    room3 = make.room(building2, code="201")
    c = make.customer(world.org)
    make.contact(c, phone="13800000033")
    make.holds(c, room3)
    third = make.tenant(world.org, phone="13800000033")
    survey = _create(client, world)
    _open(client, world, survey["id"])
    assert _answer(client, world.headers(world.tenant), survey, scale=5).status_code == 201
    assert (
        _answer(
            client, world.headers(world.neighbour), survey, single=1, multiple=(2,), scale=4
        ).status_code
        == 201
    )
    assert _answer(client, make.headers(third), survey, scale=1, text="").status_code == 201

    r = client.get(f"{ADMIN}/{survey['id']}/results", headers=world.headers(world.dispatcher))
    assert r.status_code == 200, r.json
    res = r.json
    assert res["responses"] == 3
    single, multiple, scale, text = (q["tally"] for q in res["questions"])
    assert single["option_counts"] == [2, 1, 0] and single["answered"] == 3
    assert multiple["option_counts"] == [2, 2, 1]
    assert scale["average"] == round(10 / 3, 2) and scale["scale_counts"] == [1, 0, 0, 1, 1]
    assert text["answered"] == 2 and text["option_counts"] is None
    (community,) = res["by_community"]
    assert community["responses"] == 3
    buildings = {b["name"]: b for b in res["by_building"]}
    assert buildings["1栋"]["responses"] == 2
    assert buildings["1栋"]["tallies"][2]["average"] == 4.5
    assert buildings["2栋"]["tallies"][2]["average"] == 1.0


def test_export_masks_phones(client, world):
    survey = _create(client, world)
    _open(client, world, survey["id"])
    _answer(client, world.headers(world.tenant), survey, text="=cmd()")
    desk = world.headers(world.dispatcher)
    r = client.get(f"{ADMIN}/{survey['id']}/export?format=csv", headers=desk)
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert r.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert rows[0][:7] == ["答卷编号", "提交时间", "小区", "楼栋", "房间", "填写人", "手机号"]
    assert rows[1][4] == "101" and rows[1][6] == "138****0001"
    assert rows[1][7] == "及时" and rows[1][8] == "态度；速度" and rows[1][9] == "5"
    assert rows[1][10] == "'=cmd()"
    assert "13800000001" not in r.data.decode("utf-8-sig")
    x = client.get(f"{ADMIN}/{survey['id']}/export?format=xlsx", headers=desk)
    assert x.status_code == 200
    sheet = load_workbook(io.BytesIO(x.data)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[1][6] == "138****0001"


def test_isolation_across_organisations_places_and_time(client, world, make):
    survey = _create(client, world, scope="rooms", target_ids=[world.room.id])
    _open(client, world, survey["id"])
    # The neighbour's room is not targeted.
    assert client.get(TENANT, headers=world.headers(world.neighbour)).json["total"] == 0
    r = _answer(client, world.headers(world.neighbour), survey)
    assert r.status_code == 404
    # A tenant whose relation to the room ended is no longer reached.
    gone = make.customer(world.org)
    make.contact(gone, phone="13800000044")
    make.holds(gone, world.room, end_date=(datetime.now(UTC) - timedelta(days=3)).date())
    former = make.tenant(world.org, phone="13800000044")
    assert _answer(client, make.headers(former), survey).status_code == 404
    # Another organisation: its desk and tenants see nothing, its ids are not ours.
    other = make.org()
    other_desk = make.headers(make.dispatcher(other))
    assert client.get(f"{ADMIN}/{survey['id']}", headers=other_desk).status_code == 404
    assert client.get(f"{ADMIN}/{survey['id']}/results", headers=other_desk).status_code == 404
    assert client.get(f"{ADMIN}/{survey['id']}/export", headers=other_desk).status_code == 404
    assert client.post(f"{ADMIN}/{survey['id']}/close", headers=other_desk).status_code == 404
    twin = make.tenant(other, phone="13800000001")
    assert client.get(f"{TENANT}/{survey['id']}", headers=make.headers(twin)).status_code == 404
    their_room = make.room(make.building(make.community(other)))
    r = client.post(
        ADMIN,
        json={
            "title": "x",
            "scope": "rooms",
            "target_ids": [their_room.id],
            "questions": QUESTIONS,
        },
        headers=world.headers(world.dispatcher),
    )
    assert r.status_code == 422 and "target_ids" in r.json["errors"]
