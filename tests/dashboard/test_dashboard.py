"""The data dashboard against figures counted by hand.

The fixtures are orders written with chosen instants (Beijing time): two just outside the
range's edges, one exactly at each edge inside, one that waited for payment, one on hold
twice over its life, one reopened, one cancelled at the desk, and an order of another
organisation. Every expected figure below is worked out in the comments, not by SQL.

Each test with these orders runs twice: before the rollup job has run (every day computed
live through the rollup's builder) and after it (every day from the rollup). Percentiles are
estimated from a duration histogram: they are checked against the hand-counted exact value
within the documented tolerance (`rules.histogram_percentile`: 10 %).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from server.charges.models import LedgerEntry, OrderCharge
from server.dashboard import rollup
from server.orders.models import Order, OrderEvent

BJ = ZoneInfo("Asia/Shanghai")
H = 3600
URL = "/api/v1/admin/dashboard"
RANGE = {"from": "2026-11-01", "to": "2026-11-30"}


def bj(*args: int) -> datetime:
    return datetime(*args, tzinfo=BJ)


def near(estimate: int | None, exact: float) -> bool:
    """A percentile estimate within the histogram's tolerance of the exact value: 10 %, plus
    half a second of rounding."""
    return estimate is not None and abs(estimate - exact) <= 0.1 * exact + 0.5


def times_match(figures: dict, *, count: int, p50: float, p90: float, mean: int) -> bool:
    return (
        figures["count"] == count
        and figures["mean_seconds"] == mean
        and near(figures["p50_seconds"], p50)
        and near(figures["p90_seconds"], p90)
    )


class Book:
    """Writes orders and their timeline as the hand counts below describe them."""

    def __init__(self, world, db_session):
        self.world, self.s, self.n = world, db_session, 0
        make = world.make
        self.community = world.building.community_id
        other = make.community(world.org, name="翠湖苑")
        self.other_building = make.building(other, name="2栋")
        self.other_room = make.room(self.other_building, code="201")

    def order(self, created, status, *, org=None, room=None, event_role="tenant", **kw):
        world = self.world
        self.n += 1
        room = room or world.room
        unpaid = kw.pop("unpaid", False)
        order = Order(
            org_id=(org or world.org).id,
            number=f"T{self.n:06d}",
            status=status,
            community_id=room.building.community_id if room.building else self.community,
            building_id=room.building_id,
            room_id=room.id,
            order_type_id=world.order_type.id,
            subtype_id=world.subtype.id,
            description="测试",
            contact_phone="13800000001",
            reporter_user_id=world.tenant.id,
            created_at=created,
            due_at=kw.pop("due_at", created + timedelta(hours=24)),
            **kw,
        )
        self.s.add(order)
        self.s.flush()
        action = "file_unpaid" if unpaid else "file"
        self.event(
            order,
            action,
            None,
            "awaiting_payment" if unpaid else "pending",
            created,
            role=event_role,
        )
        return order

    def event(self, order, action, frm, to, at, *, role="technician", reason=""):
        self.s.add(
            OrderEvent(
                org_id=order.org_id,
                order_id=order.id,
                action=action,
                from_status=frm,
                to_status=to,
                actor_role=role,
                reason=reason,
                created_at=at,
                data={},
            )
        )
        self.s.flush()

    def ledger(self, order, kind, fen, *, channel="", at=None):
        self.s.add(
            LedgerEntry(
                org_id=order.org_id,
                order_id=order.id,
                kind=kind,
                amount_fen=fen,
                channel=channel,
                created_at=at or order.created_at + timedelta(hours=1),
            )
        )

    def charge(self, order, kind, fen, staff):
        self.s.add(
            OrderCharge(
                org_id=order.org_id,
                order_id=order.id,
                kind=kind,
                item_id=1,
                name="项目",
                unit="次",
                unit_price_fen=fen,
                quantity=1,
                amount_fen=fen,
                staff_id=staff.id,
                department_id=staff.department_id,
            )
        )


@pytest.fixture(params=["live", "rollup"])
def book(request, world, db_session, make):
    b = Book(world, db_session)
    t1, t2, _t3 = world.techs
    other_org = make.org()
    community = make.community(other_org)
    foreign_room = make.room(make.building(community))

    # A: 2026-10-31 23:59 Beijing, one minute before the range: left out (its money too).
    a = b.order(
        bj(2026, 10, 31, 23, 59),
        "closed",
        assignee_id=t1.id,
        completed_at=bj(2026, 11, 1, 10),
        closed_at=bj(2026, 11, 1, 11),
        rating_score=1,
    )
    b.ledger(a, "charge", 99_999)

    # B: 2026-11-01 00:00 (= 10-31 16:00 UTC), the first instant of the range. Tenant.
    # Accepted +1 h, on hold +2 h … +3 h, completed +5 h, rated 5 (closed) a day after filing.
    t = bj(2026, 11, 1, 0, 0)
    ob = b.order(
        t,
        "closed",
        assignee_id=t1.id,
        assigned_at=t + timedelta(hours=1),
        accepted_at=t + timedelta(hours=1),
        completed_at=t + timedelta(hours=5),
        closed_at=t + timedelta(days=1),
        rating_score=5,
    )
    b.event(ob, "grab", "pending", "in_progress", t + timedelta(hours=1))
    b.event(ob, "hold", "in_progress", "on_hold", t + timedelta(hours=2))
    b.event(ob, "urge", "on_hold", "on_hold", t + timedelta(hours=2, minutes=30), role="dispatcher")
    b.event(ob, "resume", "on_hold", "in_progress", t + timedelta(hours=3))
    b.event(ob, "complete", "in_progress", "completed", t + timedelta(hours=5))
    b.ledger(ob, "charge", 10_000)
    b.ledger(ob, "company_cost", -2_000)
    b.ledger(ob, "payment", -9_000, channel="wechat")
    b.ledger(ob, "refund", 1_000, channel="wechat")
    b.charge(ob, "labor", 6_000, t1)
    b.charge(ob, "material", 4_000, t1)

    # C: 2026-11-30 23:59, the last minute of the range. Filed by a dispatcher (desk),
    # cancelled by the desk.
    t = bj(2026, 11, 30, 23, 59)
    oc = b.order(
        t,
        "cancelled",
        channel="staff",
        event_role="dispatcher",
        cancelled_at=t + timedelta(seconds=30),
    )
    b.event(
        oc,
        "cancel_by_desk",
        "pending",
        "cancelled",
        t + timedelta(seconds=30),
        role="dispatcher",
        reason="重复报修",
    )

    # D: 2026-12-01 00:00, the first instant after the range: left out.
    b.order(bj(2026, 12, 1, 0, 0), "pending")

    # E: 2026-11-10 10:00, other community, urgent, filed by a technician for the tenant
    # (staff), accepted +30 min, completed +3 h past its 2 h deadline, reopened once before.
    t = bj(2026, 11, 10, 10)
    oe = b.order(
        t,
        "completed",
        room=b.other_room,
        channel="staff",
        event_role="technician",
        priority="urgent",
        assignee_id=t2.id,
        accepted_at=t + timedelta(minutes=30),
        completed_at=t + timedelta(hours=3),
        due_at=t + timedelta(hours=2),
        reopen_count=1,
    )
    b.event(oe, "grab", "pending", "in_progress", t + timedelta(minutes=30))
    b.ledger(oe, "charge", 3_000)
    b.charge(oe, "labor", 3_000, t2)

    # F: 2026-11-15 09:00, accepted +30 min, on hold since +1 h (still), past its deadline,
    # escalated.
    t = bj(2026, 11, 15, 9)
    of = b.order(
        t,
        "on_hold",
        assignee_id=t1.id,
        accepted_at=t + timedelta(minutes=30),
        due_at=t + timedelta(hours=4),
    )
    b.event(of, "grab", "pending", "in_progress", t + timedelta(minutes=30))
    b.event(of, "hold", "in_progress", "on_hold", t + timedelta(hours=1))
    # Past its deadline while on hold: the SLA escalated it (a step on the timeline).
    b.event(of, "escalate", "on_hold", "on_hold", t + timedelta(hours=4), role="system")

    # G: 2026-11-20 08:00, awaiting payment 2 h (paused), accepted +3 h, completed +5 h,
    # rated 2 at +6 h.
    t = bj(2026, 11, 20, 8)
    og = b.order(
        t,
        "closed",
        unpaid=True,
        assignee_id=t2.id,
        accepted_at=t + timedelta(hours=3),
        completed_at=t + timedelta(hours=5),
        closed_at=t + timedelta(hours=6),
        rating_score=2,
    )
    b.event(
        og, "payment_received", "awaiting_payment", "pending", t + timedelta(hours=2), role="system"
    )
    b.event(og, "grab", "pending", "in_progress", t + timedelta(hours=3))
    b.event(og, "complete", "in_progress", "completed", t + timedelta(hours=5))
    b.event(og, "rate", "completed", "closed", t + timedelta(hours=6), role="tenant")
    b.ledger(og, "charge", 5_000)
    b.ledger(og, "payment", -5_000, channel="alipay")
    b.charge(og, "service", 5_000, t2)

    # H: another organisation's order inside the range: never counted.
    h = b.order(bj(2026, 11, 5, 12), "pending", org=other_org, room=foreign_room)
    b.ledger(h, "charge", 77_777)
    b.s.flush()
    if request.param == "rollup":  # the job has built every day before today
        for org in (world.org, other_org):
            assert rollup.refresh(db_session, org_id=org.id, now=datetime.now(UTC)) is not None
        b.s.flush()
    return b


def get(client, world, url=URL, who=None, **params):
    r = client.get(
        url, query_string={**RANGE, **params}, headers=world.headers(who or world.dispatcher)
    )
    return r


def test_overview_counts_by_hand(client, world, book):
    r = get(client, world)
    assert r.status_code == 200, r.json
    body = r.json
    # In: B, C, E, F, G. Out: A (a minute early), D (at the end's midnight), H (other org).
    assert body["counts"] == {
        "filed": 5,
        "completed": 3,
        "closed": 2,
        "cancelled": 1,
        "reopened": 1,
        "reopens": 1,
        "overdue_now": 1,
    }
    assert body["range"] == {"from": "2026-11-01", "to": "2026-11-30", "days": 30}
    b = body["breakdowns"]
    assert {i["key"]: i["count"] for i in b["by_status"]} == {
        "closed": 2,
        "cancelled": 1,
        "completed": 1,
        "on_hold": 1,
    }
    cancelled = next(i for i in b["by_status"] if i["key"] == "cancelled")
    assert cancelled["filter"] == {
        "created_from": "2026-11-01",
        "created_to": "2026-11-30",
        "status": ["cancelled"],
    }
    assert {i["key"]: i["count"] for i in b["by_source"]} == {"tenant": 3, "staff": 1, "desk": 1}
    assert {i["label"]: i["count"] for i in b["by_community"]} == {"阳光花园": 4, "翠湖苑": 1}
    assert {i["key"]: i["count"] for i in b["by_priority"]} == {"normal": 4, "urgent": 1}
    assert [(i["label"], i["count"]) for i in b["by_type"]] == [("水电维修", 5)]
    assert [(i["label"], i["count"]) for i in b["by_subtype"]] == [("水管漏水", 5)]
    assert body["cancellations"] == {
        "total": 1,
        "by_who": [{"key": "cancel_by_desk", "label": "前台取消", "count": 1}],
        "reasons": [{"who": "cancel_by_desk", "reason": "重复报修", "count": 1}],
    }


def test_times_take_out_paused_time(client, world, book):
    times = get(client, world).json["times"]
    # Filed → taken: B 1 h, E 30 min, F 30 min, G 3 h − 2 h awaiting payment = 1 h.
    # [1800, 1800, 3600, 3600]: median 2700, p90 3600 (interpolated), mean 2700.
    assert times_match(times["taken"], count=4, p50=2700, p90=3600, mean=2700), times["taken"]
    # Filed → completed: B 5 h − 1 h on hold = 4 h, E 3 h, G 5 h − 2 h = 3 h.
    # [10800, 10800, 14400]: median 10800, p90 10800 + 0.8 × 3600 = 13680, mean 12000.
    assert times_match(times["completed"], count=3, p50=10800, p90=13680, mean=12000)
    # Filed → closed: B 24 h − 1 h = 82800, G 6 h − 2 h = 14400.
    # Median (82800 + 14400) / 2 = 48600; p90 14400 + 0.9 × 68400 = 75960.
    assert times_match(times["closed"], count=2, p50=48600, p90=75960, mean=48600)
    # Accepted → completed: B 4 h − 1 h = 3 h, E 2.5 h, G 2 h.
    assert times["handling"]["mean_seconds"] == (10800 + 9000 + 7200) // 3
    t1, t2, _ = world.techs
    by_tech = {i["key"]: i for i in times["by_technician"]}
    # t1: B and F taken after 1 h and 30 min; only B completed.
    assert by_tech[str(t1.id)]["taken"]["mean_seconds"] == 2700
    assert near(by_tech[str(t1.id)]["completed"]["p50_seconds"], 14400)
    # t2: E and G, both completed in 3 h of unpaused time.
    assert by_tech[str(t2.id)]["completed"]["mean_seconds"] == 10800
    assert by_tech[str(t2.id)]["filter"]["assignee_id"] == t2.id


def test_sla_satisfaction_and_money(client, world, book):
    body = get(client, world).json
    # Completed: B (in 5 h of 24), E (3 h of 2: late), G (5 h of 24). F overdue now, escalated.
    sla = body["sla"]
    assert (sla["completed"], sla["completed_in_time"], sla["in_time_share"]) == (3, 2, 0.6667)
    assert (sla["overdue_now"], sla["escalated"]) == (1, 1)
    assert sla["overdue_filter"]["overdue"] is True
    sat = body["satisfaction"]
    # Rated: B 5, G 2 (low). A (rated 1) is outside the range.
    assert (sat["rated"], sat["average"], sat["low_scores"], sat["low_share"]) == (2, 3.5, 1, 0.5)
    assert [d["count"] for d in sat["distribution"]] == [0, 1, 0, 0, 1]
    t1, t2, _ = world.techs
    assert {i["key"]: i["average"] for i in sat["by_technician"]} == {
        str(t1.id): 5.0,
        str(t2.id): 2.0,
    }
    assert {i["label"]: i["average"] for i in sat["by_community"]} == {"阳光花园": 3.5}
    # Charged B 10000 + E 3000 + G 5000; company 2000 (B); paid B 9000 wechat + G 5000
    # alipay; refunded 1000 wechat (B); outstanding: E's 3000 (B and G are square).
    assert body["money"] == {
        "charged_fen": 18_000,
        "waived_fen": 0,
        "company_cost_fen": 2_000,
        "cancelled_fen": 0,
        "paid_fen": 14_000,
        "refunded_fen": 1_000,
        "outstanding_fen": 3_000,
        "by_channel": [
            {"channel": "alipay", "paid_fen": 5_000, "refunded_fen": 0},
            {"channel": "wechat", "paid_fen": 9_000, "refunded_fen": 1_000},
        ],
    }


def test_filters_narrow_every_figure(client, world, book):
    other = book.other_room.building.community_id
    assert get(client, world, community_id=other).json["counts"]["filed"] == 1
    # The department of the technician: B, F (t1), E, G (t2); C was never taken.
    body = get(client, world, department_id=world.department.id).json
    assert body["counts"]["filed"] == 4
    other_type = world.make.order_type(world.org, name="其他")
    assert get(client, world, order_type_id=other_type.id).json["counts"]["filed"] == 0


def test_technicians_and_departments(client, world, book):
    t1, t2, t3 = world.techs
    r = get(client, world, url=URL + "/technicians")
    assert r.status_code == 200, r.json
    rows = {i["key"]: i for i in r.json["items"]}
    one = rows[str(t1.id)]
    # t1: B (completed, 3 h handling, rated 5, labour 6000 + materials 4000), F (held now).
    assert {
        k: one[k]
        for k in (
            "orders",
            "completed",
            "held_now",
            "cap",
            "reopened",
            "reopen_rate",
            "rated",
            "average_rating",
            "mean_handling_seconds",
            "labor_fen",
            "material_fen",
            "service_fen",
            "revenue_fen",
        )
    } == {
        "orders": 2,
        "completed": 1,
        "held_now": 1,
        "cap": 3,
        "reopened": 0,
        "reopen_rate": 0.0,
        "rated": 1,
        "average_rating": 5.0,
        "mean_handling_seconds": 10800,
        "labor_fen": 6000,
        "material_fen": 4000,
        "service_fen": 0,
        "revenue_fen": 10000,
    }
    two = rows[str(t2.id)]
    # t2: E (reopened once, 2.5 h) and G (2 h, rated 2, service 5000); labour 3000 on E.
    assert (two["completed"], two["reopen_rate"], two["mean_handling_seconds"]) == (2, 0.5, 8100)
    assert (two["labor_fen"], two["service_fen"], two["revenue_fen"]) == (3000, 5000, 8000)
    assert rows[str(t3.id)]["orders"] == 0
    assert rows[str(world.outsider.id)]["department_key"] is None

    depts = get(client, world, url=URL + "/departments").json["items"]
    engineering = next(d for d in depts if d["key"] == str(world.department.id))
    assert (
        engineering["technicians"],
        engineering["completed"],
        engineering["held_now"],
        engineering["cap"],
        engineering["revenue_fen"],
    ) == (3, 3, 1, 9, 18000)
    assert engineering["reopen_rate"] == 0.3333
    assert engineering["average_rating"] == 3.5
    assert any(d["key"] is None and d["technicians"] == 1 for d in depts)


def test_trends_per_day_and_week(client, world, book):
    r = get(client, world, url=URL + "/trends")
    assert r.status_code == 200, r.json
    body = r.json
    assert len(body["dates"]) == 30 and body["dates"][0] == "2026-11-01"
    filed = next(s for s in body["series"] if s["key"] == "filed")["values"]
    assert {body["dates"][i]: v for i, v in enumerate(filed) if v} == {
        "2026-11-01": 1,
        "2026-11-10": 1,
        "2026-11-15": 1,
        "2026-11-20": 1,
        "2026-11-30": 1,
    }
    assert body["filters"][9] == {"created_from": "2026-11-10", "created_to": "2026-11-10"}
    weekly = get(client, world, url=URL + "/trends", granularity="week").json
    # 2026-11-01 is a Sunday: its week starts on Monday 10-26 and is cut to the range.
    assert weekly["dates"][0] == "2026-10-26"
    assert weekly["filters"][0]["created_from"] == "2026-11-01"
    week_filed = next(s for s in weekly["series"] if s["key"] == "filed")["values"]
    assert sum(week_filed) == 5 and week_filed[0] == 1


def test_exports_csv_with_bom_and_xlsx(client, world, book):
    for url in (URL, URL + "/trends", URL + "/technicians", URL + "/departments"):
        r = get(client, world, url=url, format="csv")
        assert r.status_code == 200, url
        assert r.data.startswith("\ufeff".encode())
        assert r.mimetype == "text/csv"
        assert "attachment" in r.headers["Content-Disposition"]
        rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
        assert len(rows) > 1
        x = get(client, world, url=url, format="xlsx")
        assert x.status_code == 200 and x.data[:2] == b"PK"
    overview = list(
        csv.reader(io.StringIO(get(client, world, format="csv").data.decode("utf-8-sig")))
    )
    assert ["总量", "报修数", "5"] in overview
    assert ["金额（元）", "待收", "30.00"] in overview


def test_range_is_validated(client, world):
    r = get(client, world, **{"from": "2026-11-30", "to": "2026-11-01"})
    assert r.status_code == 422
    assert r.json["error"] == "validation_error"
    assert r.json["errors"]["to"] == ["结束日期不能早于开始日期"]
    r = get(client, world, **{"from": "2025-01-01", "to": "2026-01-02"})
    assert r.status_code == 422 and "366" in r.json["errors"]["to"][0]
    r = client.get(URL, headers=world.headers(world.dispatcher))
    assert r.status_code == 422 and set(r.json["errors"]) >= {"from", "to"}


def test_only_the_desk_and_only_its_organisation(client, world, book, make):
    assert get(client, world, who=world.techs[0]).status_code == 403
    assert get(client, world, who=world.tenant).status_code == 403
    stranger = make.admin(make.org())
    body = get(client, world, who=stranger).json
    assert body["counts"]["filed"] == 0 and body["money"]["charged_fen"] == 0
    # Filtering by another organisation's community finds nothing of it either.
    r = get(client, world, who=stranger, community_id=book.community)
    assert r.status_code == 200 and r.json["counts"]["filed"] == 0


def test_return_visits_and_complaints_beside_the_orders(client, world):
    """One low rating called back (reached, satisfied), one due; a complaint and a suggestion
    filed today, one complaint in another organisation counting nowhere."""
    tenant, desk = world.headers(world.tenant), world.headers(world.dispatcher)
    tech = world.headers(world.techs[0])
    visits = []
    for score in (1, 2):
        order = world.file(client)
        assert (
            client.post(f"/api/v1/tech/orders/{order['id']}/grab", headers=tech).status_code == 200
        )
        done = client.post(
            f"/api/v1/tech/orders/{order['id']}/complete", json={"result": "好了"}, headers=tech
        )
        assert done.status_code == 200
        rated = client.post(
            f"/api/v1/tenant/orders/{order['id']}/rating", json={"score": score}, headers=tenant
        )
        assert rated.status_code == 200
        listed = client.get(f"/api/v1/admin/return-visits?order_id={order['id']}", headers=desk)
        visits.append(listed.json["items"][0]["id"])
    called = client.post(
        f"/api/v1/admin/return-visits/{visits[0]}/outcome",
        json={"reached": True, "satisfied": True, "notes": "已解决"},
        headers=desk,
    )
    assert called.status_code == 200, called.json
    for kind in ("complaint", "suggestion"):
        filed = client.post(
            "/api/v1/tenant/complaints", json={"kind": kind, "text": "门禁常坏"}, headers=tenant
        )
        assert filed.status_code == 201, filed.json
    today = datetime.now(BJ).date().isoformat()
    answer = get(client, world, **{"from": today, "to": today}).json
    assert answer["return_visits"] == {
        "done": 1,
        "reached": 1,
        "satisfied": 1,
        "reopened": 0,
        "satisfaction_percent": 100,
        "done_by_reason": {"low_rating": 1},
        "due": 1,
    }
    complaints = answer["complaints"]
    assert complaints["total"] == 2
    assert complaints["by_kind"] == {"complaint": 1, "suggestion": 1}
    assert complaints["overdue"] == 0 and complaints["average_rating"] is None
