"""The demo organisation of docs/api.md, seeded once by `baoxiu seed-demo` and `baoxiu dev`."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.accounts.passwords import hash_password
from server.charges import order_charges, stock
from server.complaints import desk as complaints_desk
from server.complaints import tenant as complaints_tenant
from server.dictionary import items as dictionary_items
from server.kernel.permissions import Permission
from server.kernel.roles import Role
from server.models import (
    BookingSettings,
    Building,
    Community,
    Contact,
    Customer,
    CustomerRoom,
    Department,
    LaborItem,
    LaborPrice,
    Material,
    Order,
    OrderSubtype,
    OrderType,
    Organisation,
    Post,
    Room,
    ServiceItem,
    ServiceSpec,
    Staff,
    Unit,
    User,
)
from server.notices import fanout, publishing, reading
from server.orders import handout, steps, urging
from server.orders.actors import Actor
from server.orders.filing import NewOrder, file_order
from server.parking import spaces as parking_spaces
from server.parking import vehicles as parking_vehicles
from server.payments import paying
from server.residency import move_ins as residency_move_ins
from server.residency import reshaping as residency_reshaping
from server.residency import transfers as residency_transfers
from server.roles.models import CustomRole, RoleGrant
from server.surveys import answering as survey_answering
from server.surveys import building as survey_building
from server.visits import desk as visits_desk
from server.visits.models import ReturnVisit

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
DEMO_ORG_CODE = "demo"
DEMO_PASSWORD = "demo1234"
DISPATCHER_PHONE = "13900000000"
# A desk clerk with no preset role: an organisation role (客服专员) over one community only.
CLERK_PHONE = "13900000009"
TECHNICIANS = (
    ("13900000001", "王师傅"),
    ("13900000002", "李师傅"),
    ("13900000003", "张师傅"),
    ("13900000004", "刘师傅"),
    ("13900000005", "陈师傅"),
)
RESIDENTS = (  # phone, name, room code, relation
    ("13800000001", "张三", "1-1-101", "owner"),
    ("13800000002", "李四", "1-1-102", "tenant"),
    ("13800000004", "赵六", "1-1-201", "owner"),
    ("13800000005", "钱七", "2-1-101", "owner"),
)
FAMILY_MEMBER = ("13800000003", "王芳", "13800000001")  # lives in 13800000001's room
COMPANY = "星辰科技有限公司"
COMPANY_ROOMS = ("3-1001", "3-1002")
EMPLOYEES = (
    ("13800000010", "陈一"),
    ("13800000011", "林二"),
    ("13800000012", "黄三"),
    ("13800000013", "吴四"),
    ("13800000014", "郑五"),
)
CATALOGUE = (  # type name, bound to post?, [(subtype, fee mode, fee fen, booking)]
    (
        "水电维修",
        False,
        [
            ("水管漏水", "none", 0, False),
            ("电路故障", "none", 0, False),
            ("灯具更换", "charge_after_completion", 0, False),
        ],
    ),
    (
        "门窗维修",
        True,
        [("门锁更换", "charge_on_order", 5000, False), ("窗户维修", "none", 0, True)],
    ),
    (
        "空调维修",
        False,
        [
            ("空调不制冷", "charge_after_completion", 0, True),
            ("空调清洗", "charge_on_order", 8000, True),
        ],
    ),
    ("公共区域", False, [("电梯故障", "none", 0, False), ("公共照明", "none", 0, False)]),
)


DEMO_ORDERS = (  # resident phone, room code, subtype, description, priority
    ("13800000001", "1-1-101", "水管漏水", "厨房水槽下方水管漏水，地面有积水", "urgent"),
    ("13800000002", "1-1-102", "电路故障", "卧室插座没电，空开没有跳闸", "normal"),
    ("13800000010", "3-1001", "公共照明", "10 楼走廊灯不亮", "normal"),
)


def demo_openid(phone: str) -> str:
    """The WeChat openid a demo resident has (a made-up one, 28 characters like WeChat's)."""
    return f"oDemo{phone}".ljust(28, "0")


def seed_demo(session: Session, *, now: datetime | None = None, history: bool = True) -> bool:
    """Create the demo organisation unless it exists; return whether anything was created.

    With `history`, also 60 days of past work in two communities (`_history`), so that the
    desk's dashboard and queues have something to show.
    """
    if session.scalar(select(Organisation.id).where(Organisation.code == DEMO_ORG_CODE)):
        return False
    password_hash = hash_password(DEMO_PASSWORD)
    org = Organisation(code=DEMO_ORG_CODE, name="演示物业服务有限公司", default_grab_cap=5)
    session.add(org)
    session.flush()
    rooms = _property(session, org)
    _customers(session, org, rooms, password_hash)
    department, post = _staff(session, org, password_hash)
    _catalogue(session, org, department, post)
    session.flush()
    _booking(session, org)
    _charges(session, org, department)
    now = now or datetime.now(UTC)
    if history:
        _second_community(session, org, password_hash)
        _history(session, org, now)
    _orders(session, org, now)
    if history:
        _desk_view(session, org, now)
    _parking(session, org, now)
    _roles(session, org, password_hash)
    _residency(session, org, now)
    _dictionary(session, org, now)
    return True


def _roles(session: Session, org: Organisation, password_hash: str) -> None:
    """A custom role (客服专员: orders, customers and notices, no money, settings or exports)
    scoped to the lake community when there is one, held by a clerk with no preset role."""
    community_id = session.scalar(
        select(Community.id)
        .where(Community.org_id == org.id)
        .order_by((Community.code == SECOND_COMMUNITY[0]).desc(), Community.id)
        .limit(1)
    )
    assert community_id is not None
    role = CustomRole(
        org_id=org.id,
        name="客服专员",
        description="受理报修与客户登记，仅本小区",
        permissions=[
            p.value
            for p in (
                Permission.ORDERS_VIEW,
                Permission.ORDERS_ACT,
                Permission.CUSTOMERS_VIEW,
                Permission.CUSTOMERS_ACT,
                Permission.NOTICES_VIEW,
                Permission.REPORTS_VIEW,
            )
        ],
        all_communities=False,
        community_ids=[community_id],
    )
    clerk = User(
        org_id=org.id, phone=CLERK_PHONE, name="陈静", password_hash=password_hash, roles=[]
    )
    session.add_all([role, clerk])
    session.flush()
    session.add(Staff(org_id=org.id, user_id=clerk.id, employee_no="C001"))
    session.add(RoleGrant(org_id=org.id, user_id=clerk.id, role_id=role.id))
    session.flush()


# The demo organisation's own dictionary items (数据字典), and one relabelled system value.
DICTIONARY_ITEMS = (
    ("cancel_reasons", "water_off", "小区停水停电，改天再修"),
    ("hold_reasons", "supplier_delay", "供应商缺货"),
    ("vehicle_colours", "champagne", "香槟色"),
    ("room_layouts", "duplex", "复式"),
)


def _dictionary(session: Session, org: Organisation, now: datetime) -> None:
    for name, code, label in DICTIONARY_ITEMS:
        dictionary_items.add_item(
            session, org_id=org.id, name=name, data={"code": code, "label": label}, now=now
        )
    dictionary_items.update_item(
        session,
        org_id=org.id,
        name="cancel_reasons",
        code="not_needed",
        changes={"label": "问题已消失，不需要维修了"},
        now=now,
    )


def _property(session: Session, org: Organisation) -> dict[str, Room]:
    community = Community(
        org_id=org.id, code="SUN", name="阳光花园", address="上海市浦东新区阳光路 88 号"
    )
    session.add(community)
    session.flush()
    rooms: dict[str, Room] = {}

    def add_building(name: str, floors: int) -> Building:
        building = Building(org_id=org.id, community_id=community.id, name=name, floors=floors)
        session.add(building)
        session.flush()
        return building

    def add_room(
        building: Building, unit: Unit | None, code: str, floor: int, area: str, layout: str
    ) -> None:
        room = Room(
            org_id=org.id,
            community_id=community.id,
            building_id=building.id,
            unit_id=unit.id if unit else None,
            code=code,
            floor=floor,
            building_area=Decimal(area),
            charge_area=Decimal(area),
            layout=layout,
            orientation="south",
        )
        session.add(room)
        rooms[code] = room

    for number, unit_count, room_floors in ((1, 2, 3), (2, 1, 4)):
        building = add_building(f"{number}栋", 18)
        for unit_no in range(1, unit_count + 1):
            unit = Unit(org_id=org.id, building_id=building.id, name=f"{unit_no}单元")
            session.add(unit)
            session.flush()
            for floor in range(1, room_floors + 1):
                for door in (1, 2):
                    add_room(
                        building,
                        unit,
                        f"{number}-{unit_no}-{floor}0{door}",
                        floor,
                        "89.50" if door == 1 else "120.35",
                        "三室两厅" if door == 2 else "两室一厅",
                    )
    tower = add_building("3栋（写字楼）", 20)
    for floor in (10, 11):
        for door in (1, 2):
            add_room(tower, None, f"3-{floor}0{door}", floor, "356.00", "办公")
    session.flush()
    return rooms


def _customers(
    session: Session, org: Organisation, rooms: dict[str, Room], password_hash: str
) -> None:
    start = date(2024, 1, 1)
    households: dict[str, Customer] = {}
    for phone, name, room_code, relation in RESIDENTS:
        customer = Customer(org_id=org.id, kind="person", name=name, phone=phone)
        customer.contacts.append(Contact(org_id=org.id, name=name, phone=phone, relation="self"))
        customer.rooms.append(
            CustomerRoom(
                org_id=org.id, room_id=rooms[room_code].id, relation=relation, start_date=start
            )
        )
        session.add(customer)
        households[phone] = customer
    phone, name, of = FAMILY_MEMBER
    households[of].contacts.append(
        Contact(org_id=org.id, name=name, phone=phone, relation="family")
    )
    company = Customer(
        org_id=org.id,
        kind="company",
        name=COMPANY,
        phone=EMPLOYEES[0][0],
        id_number="91310115MA1H7XXX0Q",
    )
    for phone, name in EMPLOYEES:
        company.contacts.append(Contact(org_id=org.id, name=name, phone=phone, relation="employee"))
    for code in COMPANY_ROOMS:
        company.rooms.append(
            CustomerRoom(org_id=org.id, room_id=rooms[code].id, relation="tenant", start_date=start)
        )
    session.add(company)
    logins = [(p, n) for p, n, _, _ in RESIDENTS] + [FAMILY_MEMBER[:2]] + list(EMPLOYEES)
    for phone, name in logins:
        session.add(
            User(
                org_id=org.id,
                phone=phone,
                name=name,
                password_hash=password_hash,
                roles=[Role.TENANT.value],
                # As if they had logged in from the mini-program once: WeChat Pay pays for an
                # openid, and the local payment sandbox accepts these.
                wechat_openid=demo_openid(phone),
            )
        )
    session.flush()


def _staff(session: Session, org: Organisation, password_hash: str) -> tuple[Department, Post]:
    department = Department(org_id=org.id, name="工程部", grab_cap=3)
    post = Post(org_id=org.id, name="维修工")
    desk = Department(org_id=org.id, name="客服中心")
    session.add_all([department, post, desk, Post(org_id=org.id, name="调度员")])
    session.flush()
    dispatcher = User(
        org_id=org.id,
        phone=DISPATCHER_PHONE,
        name="周敏",
        password_hash=password_hash,
        roles=[Role.DISPATCHER.value, Role.ADMIN.value],
    )
    session.add(dispatcher)
    session.flush()
    session.add(
        Staff(org_id=org.id, user_id=dispatcher.id, department_id=desk.id, employee_no="D001")
    )
    for index, (phone, name) in enumerate(TECHNICIANS, start=1):
        user = User(
            org_id=org.id,
            phone=phone,
            name=name,
            password_hash=password_hash,
            roles=[Role.TECHNICIAN.value],
        )
        session.add(user)
        session.flush()
        session.add(
            Staff(
                org_id=org.id,
                user_id=user.id,
                department_id=department.id,
                post_id=post.id,
                employee_no=f"T{index:03d}",
            )
        )
    return department, post


def _catalogue(session: Session, org: Organisation, department: Department, post: Post) -> None:
    for sort, (type_name, by_post, subtypes) in enumerate(CATALOGUE):
        order_type = OrderType(
            org_id=org.id,
            name=type_name,
            department_id=department.id,
            post_id=post.id if by_post else None,
            sort_order=sort,
        )
        session.add(order_type)
        session.flush()
        for sub_sort, (name, fee_mode, fee_fen, booking) in enumerate(subtypes):
            session.add(
                OrderSubtype(
                    org_id=org.id,
                    order_type_id=order_type.id,
                    name=name,
                    sort_order=sub_sort,
                    fee_mode=fee_mode,
                    fee_fen=fee_fen,
                    booking_enabled=booking,
                )
            )


# Booking (预约时段) for 空调不制冷: hourly slots in two daily windows, 3 places per slot and
# community plus 1 for the desk, bookable two weeks ahead, closing an hour before each slot.
# The other booking subtypes use the default grid.
DEMO_BOOKING = ("空调不制冷", [["09:00", "12:00"], ["13:00", "18:00"]])


def _booking(session: Session, org: Organisation) -> None:
    name, windows = DEMO_BOOKING
    subtype_id = session.scalar(
        select(OrderSubtype.id).where(OrderSubtype.org_id == org.id, OrderSubtype.name == name)
    )
    assert subtype_id is not None
    session.add(
        BookingSettings(
            org_id=org.id,
            subtype_id=subtype_id,
            slot_minutes=60,
            windows=windows,
            weekdays=[1, 2, 3, 4, 5, 6, 7],
            quota=3,
            desk_reserve=1,
            days_ahead=14,
            lead_minutes=60,
            hold_minutes=15,
        )
    )


# Charges: 门锁更换 is paid on order with a spec and a 30 % deposit (订金); labour is priced for
# the in-house 工程部 and for an outsourced team; each demo technician carries some materials.
DEMO_SPECS = ("门锁更换", "deposit", 30, (("普通机械锁", 12000), ("智能门锁", 38000)))
DEMO_LABOUR = (  # name, unit, default, 工程部, 外包维修队
    ("一般维修", "小时", 6000, 5000, 8000),
    ("上门安装", "次", 10000, 8000, 12000),
)
DEMO_MATERIALS = (  # name, unit, price, bought into the store, on each technician
    ("水龙头", "个", 3500, 50, 3),
    ("生料带", "卷", 250, 200, 10),
    ("LED 灯泡", "个", 1200, 100, 5),
    ("门锁锁芯", "个", 6000, 20, 1),
)
DEMO_SERVICES = (("上门费", 2000), ("夜间加急费", 5000))


def _charges(session: Session, org: Organisation, department: Department) -> None:
    name, prepay, percent, specs = DEMO_SPECS
    subtype = session.scalar(
        select(OrderSubtype).where(OrderSubtype.org_id == org.id, OrderSubtype.name == name)
    )
    assert subtype is not None
    subtype.prepay, subtype.deposit_percent = prepay, percent
    for sort, (spec_name, price) in enumerate(specs):
        session.add(
            ServiceSpec(
                org_id=org.id,
                subtype_id=subtype.id,
                name=spec_name,
                price_fen=price,
                sort_order=sort,
            )
        )
    outsourced = Department(org_id=org.id, name="外包维修队", grab_cap=3)
    session.add(outsourced)
    session.flush()
    for labour, unit, default, inside, outside in DEMO_LABOUR:
        item = LaborItem(org_id=org.id, name=labour, unit=unit, price_fen=default)
        session.add(item)
        session.flush()
        for dept, price in ((department, inside), (outsourced, outside)):
            session.add(
                LaborPrice(
                    org_id=org.id, labor_item_id=item.id, department_id=dept.id, price_fen=price
                )
            )
    for service, price in DEMO_SERVICES:
        session.add(ServiceItem(org_id=org.id, name=service, unit="次", price_fen=price))
    # Stock moves as the desk would make them, so that the ledger explains every unit.
    desk = session.scalar(
        select(User.id).where(User.org_id == org.id, User.phone == DISPATCHER_PHONE)
    )
    assert desk is not None
    technicians = list(
        session.scalars(
            select(Staff.id)
            .join(User, User.id == Staff.user_id)
            .where(Staff.org_id == org.id, User.phone.in_([p for p, _ in TECHNICIANS]))
            .order_by(Staff.id)
        )
    )
    now = datetime.now(UTC)
    move = stock.Move(org_id=org.id, actor_user_id=desk, now=now, note="演示数据")
    for material_name, unit, price, bought, each in DEMO_MATERIALS:
        material = Material(org_id=org.id, name=material_name, unit=unit, price_fen=price)
        session.add(material)
        session.flush()
        stock.stock_in(session, move=move, material_id=material.id, quantity=bought)
        for staff_id in technicians:
            requisition = stock.request_material(
                session,
                org_id=org.id,
                staff_id=staff_id,
                material_id=material.id,
                quantity=each,
                note="演示数据",
            )
            stock.decide_requisition(
                session, move=move, requisition_id=requisition.id, approve=True
            )
    session.flush()


def _orders(session: Session, org: Organisation, now: datetime) -> None:
    """A few pending repairs so that the grab pool has something on a first look."""
    local_today = now.astimezone(LOCAL_TZ).date()
    for phone, room_code, subtype_name, description, priority in DEMO_ORDERS:
        user = session.scalar(select(User).where(User.org_id == org.id, User.phone == phone))
        room = session.scalar(select(Room).where(Room.org_id == org.id, Room.code == room_code))
        subtype = session.scalar(
            select(OrderSubtype).where(
                OrderSubtype.org_id == org.id, OrderSubtype.name == subtype_name
            )
        )
        assert user is not None and room is not None and subtype is not None
        file_order(
            session,
            actor=Actor(user_id=user.id, org_id=org.id, role=Role.TENANT.value),
            new=NewOrder(
                subtype_id=subtype.id, room_id=room.id, description=description, priority=priority
            ),
            now=now,
            today=local_today,
        )


SECOND_COMMUNITY = ("LAKE", "翠湖苑", "上海市徐汇区翠湖路 18 号")
# Residents of the second community: phone, name, room code.
LAKE_RESIDENTS = tuple(
    (f"138000000{20 + i}", name, f"L{1 + i // 5}-{(i % 5) + 1}01")
    for i, name in enumerate(("周一", "吴二", "郑三", "冯四", "陈五", "褚六", "卫七", "蒋八"))
)
HISTORY_DAYS = 60
HISTORY_ORDERS = 320
# Subtypes the history files (no booking, no pay-on-order fee): name, description.
HISTORY_SUBTYPES = (
    ("水管漏水", "卫生间水管接头渗水"),
    ("电路故障", "厨房插座跳闸"),
    ("灯具更换", "客厅吸顶灯不亮，需要更换"),
    ("电梯故障", "电梯按钮失灵"),
    ("公共照明", "楼道感应灯不亮"),
)
# Technicians who take historical work; 13900000002 keeps an empty hand for the README's tour.
HISTORY_TECHNICIANS = ("13900000001", "13900000003", "13900000004", "13900000005")
SCORES = (5, 5, 5, 5, 5, 4, 4, 4, 3, 3, 2, 1)


def _second_community(session: Session, org: Organisation, password_hash: str) -> None:
    code, name, address = SECOND_COMMUNITY
    community = Community(org_id=org.id, code=code, name=name, address=address)
    session.add(community)
    session.flush()
    rooms: dict[str, Room] = {}
    for number in (1, 2):
        building = Building(org_id=org.id, community_id=community.id, name=f"{number}幢", floors=6)
        session.add(building)
        session.flush()
        for floor in range(1, 6):
            room = Room(
                org_id=org.id,
                community_id=community.id,
                building_id=building.id,
                code=f"L{number}-{floor}01",
                floor=floor,
                building_area=Decimal("96.00"),
                charge_area=Decimal("96.00"),
                layout="三室一厅",
                orientation="south",
            )
            session.add(room)
            rooms[room.code] = room
    session.flush()
    for phone, person, room_code in LAKE_RESIDENTS:
        customer = Customer(org_id=org.id, kind="person", name=person, phone=phone)
        customer.contacts.append(Contact(org_id=org.id, name=person, phone=phone, relation="self"))
        customer.rooms.append(
            CustomerRoom(
                org_id=org.id,
                room_id=rooms[room_code].id,
                relation="owner",
                start_date=date(2024, 1, 1),
            )
        )
        session.add(customer)
        session.add(
            User(
                org_id=org.id,
                phone=phone,
                name=person,
                password_hash=password_hash,
                roles=[Role.TENANT.value],
                wechat_openid=demo_openid(phone),
            )
        )
    session.flush()


def _history(session: Session, org: Organisation, now: datetime) -> None:
    """60 days of past work through the real use cases, at their own past instants.

    Filed by residents (and some by the desk), grabbed, put on hold, charged, paid, completed,
    rated (a few badly), reopened, cancelled; the last days' work is still open, some of it
    overdue. Deterministic: the same seed gives the same history.
    """
    rng = random.Random(20261207)
    by_phone = {
        u.phone: u for u in session.scalars(select(User).where(User.org_id == org.id)).all()
    }
    room_of = {r.code: r for r in session.scalars(select(Room).where(Room.org_id == org.id))}
    residents = [(p, c) for p, _, c, _ in RESIDENTS] + [(p, c) for p, _, c in LAKE_RESIDENTS]
    subtypes = {
        s.name: s
        for s in session.scalars(select(OrderSubtype).where(OrderSubtype.org_id == org.id))
    }
    staff_of = {
        s.user_id: s.id for s in session.scalars(select(Staff).where(Staff.org_id == org.id))
    }
    techs = [
        Actor(
            user_id=by_phone[p].id,
            org_id=org.id,
            role=Role.TECHNICIAN.value,
            staff_id=staff_of[by_phone[p].id],
        )
        for p in HISTORY_TECHNICIANS
    ]
    desk_user = by_phone[DISPATCHER_PHONE]
    desk = Actor(user_id=desk_user.id, org_id=org.id, role=Role.DISPATCHER.value)
    labour = session.scalar(select(LaborItem).where(LaborItem.org_id == org.id))
    open_left = dict.fromkeys(range(len(techs)), 0)
    start = now - timedelta(days=HISTORY_DAYS)
    for index in range(HISTORY_ORDERS):
        filed = start + timedelta(minutes=index * HISTORY_DAYS * 24 * 60 // HISTORY_ORDERS)
        filed = filed.replace(hour=rng.randint(0, 12), minute=rng.randint(0, 59))  # 8–20 h local
        if filed >= now - timedelta(hours=1):
            break
        phone, room_code = rng.choice(residents)
        subtype_name, description = rng.choice(HISTORY_SUBTYPES)
        tenant = Actor(user_id=by_phone[phone].id, org_id=org.id, role=Role.TENANT.value)
        by_desk = rng.random() < 0.15
        order = file_order(
            session,
            actor=desk if by_desk else tenant,
            new=NewOrder(
                subtype_id=subtypes[subtype_name].id,
                room_id=room_of[room_code].id,
                description=description,
                contact_phone=phone if by_desk else None,
                priority="urgent" if rng.random() < 0.12 else "normal",
            ),
            now=filed,
            today=filed.astimezone(LOCAL_TZ).date(),
        )
        age = now - filed
        if rng.random() < 0.07:
            who, why = (tenant, "已自行修好") if not by_desk else (desk, "住户取消")
            steps.cancel_order(
                session, actor=who, order_id=order.id, reason=why, now=filed + timedelta(minutes=20)
            )
            continue
        taken = filed + timedelta(minutes=rng.randint(3, 240))
        recent = age < timedelta(days=3)
        # At most two open orders a technician: caps hold, and the pool shows only the three
        # orders of `_orders` (work nobody could take is withdrawn as a duplicate).
        free = [i for i in range(len(techs)) if open_left[i] < 2]
        if taken >= now or not free:
            steps.cancel_order(session, actor=desk, order_id=order.id, reason="重复报修", now=filed)
            continue
        slot = rng.choice(free)
        tech = techs[slot]
        handout.grab_order(session, actor=tech, order_id=order.id, now=taken)
        done = taken + timedelta(hours=rng.randint(1, 40))
        if rng.random() < 0.1:
            held = taken + timedelta(minutes=30)
            steps.hold_order(session, actor=tech, order_id=order.id, reason="等配件", now=held)
            if recent or held + timedelta(hours=20) >= now:
                open_left[slot] += 1
                continue
            steps.resume_order(
                session, actor=tech, order_id=order.id, now=held + timedelta(hours=20)
            )
            done += timedelta(hours=20)
        if recent or done >= now:
            open_left[slot] += 1
            continue  # in progress, some of it past its deadline
        if subtype_name == "灯具更换" and labour is not None:
            order_charges.add_charge(
                session,
                actor=tech,
                order_id=order.id,
                kind="labor",
                item_id=labour.id,
                quantity=1,
                now=done - timedelta(minutes=5),
            )
        steps.complete_order(
            session, actor=tech, order_id=order.id, result="已修复", image_ids=[], now=done
        )
        session.flush()
        if order.payable_fen > 0:
            paying.record_offline_payment(
                session,
                actor=desk,
                order_id=order.id,
                amount_fen=order.payable_fen,
                method=rng.choice(("cash", "transfer")),
                note="上门收款",
                now=done + timedelta(minutes=30),
            )
        if rng.random() < 0.25:
            continue  # not rated yet (auto-closed later by the rating window)
        rated = done + timedelta(hours=rng.randint(1, 30))
        if rated >= now:
            continue
        score = rng.choice(SCORES)
        steps.rate_order(
            session,
            actor=tenant,
            order_id=order.id,
            score=score,
            comment="" if score > 2 else "还是有问题",
            now=rated,
        )
        reopen = score <= 2 and rng.random() < 0.5 and open_left[slot] < 2
        if reopen and rated + timedelta(hours=2) < now:
            handout.reopen_order(
                session,
                actor=desk,
                order_id=order.id,
                reason="住户反映问题未解决",
                now=rated + timedelta(hours=2),
                to_same_technician=True,
            )
            again = rated + timedelta(hours=rng.randint(3, 20))
            if again < now - timedelta(days=1):
                steps.accept_order(session, actor=tech, order_id=order.id, now=again)
                steps.complete_order(
                    session,
                    actor=tech,
                    order_id=order.id,
                    result="返修完成",
                    image_ids=[],
                    now=again + timedelta(hours=1),
                )
            else:
                open_left[slot] += 1
    session.flush()


def _desk_view(session: Session, org: Organisation, now: datetime) -> None:
    """What the desk works on besides orders, through the use cases: urges (督办, 催单), return
    visits done (every other one of those due), complaints (one answered and closed, one
    open), a notice with some reads, a survey with answers."""
    by_phone = {u.phone: u for u in session.scalars(select(User).where(User.org_id == org.id))}
    desk_user = by_phone[DISPATCHER_PHONE]
    desk = Actor(user_id=desk_user.id, org_id=org.id, role=Role.DISPATCHER.value)
    today = now.astimezone(LOCAL_TZ).date()
    held = session.scalars(
        select(Order)
        .where(Order.org_id == org.id, Order.status.in_(("in_progress", "on_hold")))
        .order_by(Order.created_at)
    ).all()
    for order in held[:2]:
        urging.urge_order(session, actor=desk, order_id=order.id, reason="住户等待较久", now=now)
    if held:
        first = held[0]
        tenant = session.scalar(
            select(User).where(User.org_id == org.id, User.phone == first.contact_phone)
        )
        if tenant is not None:
            urging.tenant_urge_order(
                session,
                actor=Actor(user_id=tenant.id, org_id=org.id, role=Role.TENANT.value),
                order_id=first.id,
                now=now,
            )

    due = session.scalars(
        select(ReturnVisit)
        .where(ReturnVisit.org_id == org.id, ReturnVisit.status == "due")
        .order_by(ReturnVisit.created_at)
    ).all()
    for index, visit in enumerate(due[::2]):  # every other one, across the 60 days
        satisfied = index % 3 != 0
        visits_desk.record_outcome(
            session,
            actor=desk,
            visit_id=visit.id,
            reached=index % 5 != 4,
            satisfied=satisfied if index % 5 != 4 else None,
            notes="住户表示满意" if satisfied else "住户仍不满意，已记录",
            reopen=False,
            now=visit.created_at + timedelta(hours=4),
        )

    resident = by_phone[RESIDENTS[0][0]]
    answered = complaints_tenant.file_complaint(
        session,
        user=resident,
        kind="complaint",
        text="维修师傅上门比约定时间晚了两个小时",
        image_ids=[],
        order_id=None,
        staff_id=None,
        now=now - timedelta(days=3),
        today=today,
    )
    complaints_desk.desk_reply(
        session,
        org_id=org.id,
        user_id=desk_user.id,
        complaint_id=answered.complaint.id,
        text="非常抱歉，已提醒师傅准时上门，并对本次服务费用减免。",
        now=now - timedelta(days=2),
    )
    complaints_desk.close(
        session,
        org_id=org.id,
        user_id=desk_user.id,
        complaint_id=answered.complaint.id,
        now=now - timedelta(days=2),
    )
    complaints_tenant.file_complaint(
        session,
        user=by_phone[LAKE_RESIDENTS[0][0]],
        kind="suggestion",
        text="建议在小区东门增加一处快递柜",
        image_ids=[],
        order_id=None,
        staff_id=None,
        now=now - timedelta(hours=5),
        today=today,
    )

    notice = publishing.publish(
        session,
        org_id=org.id,
        user_id=desk_user.id,
        new=publishing.NewNotice(
            audience="tenant",
            title="阳光花园 12 月 10 日停水通知",
            body="因管网检修，12 月 10 日 9:00–15:00 停水，请提前储水。",
            scope="org",
        ),
        now=now - timedelta(days=1),
    )
    # What the fan-out job does after the commit, done here so the demo has its readers now.
    fanout.write_part(
        session, notice_id=notice.id, first=0, last=2**62, now=now - timedelta(days=1)
    )
    for phone in (RESIDENTS[0][0], RESIDENTS[1][0], LAKE_RESIDENTS[0][0]):
        reading.mark_read(
            session,
            user_id=by_phone[phone].id,
            org_id=org.id,
            audience="tenant",
            notice_id=notice.id,
            now=now - timedelta(hours=20),
        )

    survey = survey_building.create_survey(
        session,
        org_id=org.id,
        user_id=desk_user.id,
        new=survey_building.NewSurvey(
            title="2026 年度物业服务满意度调查",
            answer_per="person",
            scope="org",
            questions=(
                survey_building.NewQuestion(kind="scale", text="您对报修服务的总体满意度"),
                survey_building.NewQuestion(
                    kind="single",
                    text="维修师傅是否准时上门",
                    options=("准时", "偶尔迟到", "经常迟到"),
                ),
                survey_building.NewQuestion(kind="text", text="您的建议", required=False),
            ),
        ),
        now=now - timedelta(days=5),
    )
    survey_building.move(
        session, org_id=org.id, survey_id=survey.id, action="open", now=now - timedelta(days=5)
    )
    session.flush()
    questions = sorted(survey.questions, key=lambda q: q.id)
    for index, phone in enumerate(p for p, _, _ in LAKE_RESIDENTS[:6]):
        survey_answering.answer(
            session,
            user=by_phone[phone],
            survey_id=survey.id,
            room_id=None,
            given=(
                survey_answering.GivenAnswer(question_id=questions[0].id, scale=5 - index % 3),
                survey_answering.GivenAnswer(question_id=questions[1].id, choice=index % 2),
                survey_answering.GivenAnswer(
                    question_id=questions[2].id, text="希望增加夜间维修" if index == 0 else ""
                ),
            ),
            today=today,
            now=now - timedelta(days=4 - index % 3),
        )
    session.flush()


# 客车关系: spaces in 阳光花园 (owned, rented — one ending soon, one ended), and vehicles.
PARKING_SPACES = (
    ("B1-001", "underground", "地下一层 A 区", "1 号楼电梯厅旁"),
    ("B1-002", "underground", "地下一层 A 区", "1 号楼电梯厅旁"),
    ("B1-003", "underground", "地下一层 B 区", "2 号楼出口"),
    ("B1-004", "underground", "地下一层 B 区", "2 号楼出口"),
    ("G-01", "ground", "东门", "东门停车场"),
    ("M-01", "mechanical", "地下一层 C 区", "机械车库 1 层"),
)


def _parking(session: Session, org: Organisation, now: datetime) -> None:
    """A few spaces and vehicles, through the use cases (their rules hold for demo data too)."""
    today = now.astimezone(LOCAL_TZ).date()
    community_id = session.scalar(
        select(Community.id).where(Community.org_id == org.id, Community.code == "SUN")
    )
    by_phone = {
        c.phone: c.id
        for c in session.scalars(select(Customer).where(Customer.org_id == org.id))
        if c.phone
    }
    space_ids: dict[str, int] = {}
    for number, kind, area, location in PARKING_SPACES:
        space = parking_spaces.create_space(
            session,
            org_id=org.id,
            data={
                "community_id": community_id,
                "number": number,
                "kind": kind,
                "area": area,
                "location": location,
            },
        )
        space_ids[number] = space.id

    def hold(number: str, phone: str, kind: str, start: date, end: date | None) -> int:
        return parking_spaces.assign(
            session,
            org_id=org.id,
            space_id=space_ids[number],
            data={
                "customer_id": by_phone[phone],
                "kind": kind,
                "start_date": start,
                "end_date": end,
                "remind_days": 30,
                "contract_number": f"CW-{number}" if kind == "rented" else "",
            },
            now=now,
        ).id

    hold("B1-001", "13800000001", "owned", date(2024, 1, 1), None)
    # Rented, its contract ends within its 30 reminder days: the desk is told.
    hold("B1-002", "13800000002", "rented", today - timedelta(days=345), today + timedelta(days=20))
    hold(
        "B1-003", "13800000004", "rented", today - timedelta(days=100), today + timedelta(days=265)
    )
    ended = hold(
        "B1-004", "13800000005", "rented", today - timedelta(days=400), today + timedelta(days=30)
    )
    parking_spaces.end_holding(
        session,
        org_id=org.id,
        holding_id=ended,
        end_date=today - timedelta(days=40),
        reason="退租",
        now=now,
    )
    hold("G-01", EMPLOYEES[0][0], "rented", today - timedelta(days=30), today + timedelta(days=335))
    cars: tuple[tuple[str, str, str | None, str, str], ...] = (
        ("沪A12345", "13800000001", "B1-001", "大众 帕萨特", "黑色"),
        ("沪AD67890", "13800000001", None, "比亚迪 汉", "白色"),
        ("沪B8M2K5", "13800000002", "B1-002", "丰田 凯美瑞", "银色"),
        ("沪C55661", "13800000004", "B1-003", "本田 雅阁", "蓝色"),
        ("沪AF23456", EMPLOYEES[0][0], "G-01", "理想 L7", "灰色"),
        ("沪A99999", "13800000005", None, "别克 英朗", "红色"),
    )
    for plate, phone, parked_at, model, colour in cars:
        vehicle = parking_vehicles.register_vehicle(
            session,
            org_id=org.id,
            data={
                "plate": plate,
                "model": model,
                "colour": colour,
                "customer_id": by_phone[phone],
                "space_id": space_ids[parked_at] if parked_at else None,
            },
        )
        if plate == "沪A99999":
            parking_vehicles.remove_vehicle(
                session,
                org_id=org.id,
                vehicle_id=vehicle.id,
                on=today - timedelta(days=40),
                reason="已出售",
                now=now,
            )


# 住户生命周期: a family that moved in (owner + 2 members), a completed transfer, a split office.
RESIDENCY_FAMILY = (
    "1-2-101",
    ("13800000020", "孙八"),
    (("13800000021", "孙妻", "配偶"), (None, "孙小宝", "子女")),
)
RESIDENCY_TRANSFER = ("1-2-102", "周九", "吴十")
RESIDENCY_SPLIT = ("3-1101", "海岳投资有限公司", (("3-1101A", "200.00"), ("3-1101B", "156.00")))


def _residency(session: Session, org: Organisation, now: datetime) -> None:
    """Through the residency use cases, so that their rules hold for the demo data too."""
    today = now.astimezone(LOCAL_TZ).date()
    rooms = {
        room.code: room.id for room in session.scalars(select(Room).where(Room.org_id == org.id))
    }
    code, (phone, name), family = RESIDENCY_FAMILY
    residency_move_ins.move_in(
        session,
        org_id=org.id,
        data={
            "room_id": rooms[code],
            "start_date": date(2025, 3, 1),
            "relation": "owner",
            "customer": {"kind": "person", "name": name, "phone": phone},
            "family": [
                {"customer": {"name": member, "phone": member_phone}, "label": label}
                for member_phone, member, label in family
            ],
            "vehicles": [{"plate": "沪B20250", "model": "特斯拉 Model 3"}],
        },
    )
    code, seller, buyer = RESIDENCY_TRANSFER
    residency_move_ins.move_in(
        session,
        org_id=org.id,
        data={
            "room_id": rooms[code],
            "start_date": date(2024, 6, 1),
            "relation": "owner",
            "customer": {"kind": "person", "name": seller},
        },
    )
    residency_transfers.transfer(
        session,
        org_id=org.id,
        room_id=rooms[code],
        data={
            "date": today - timedelta(days=30),
            "customer": {"kind": "person", "name": buyer},
            "keep_tenants": True,
        },
    )
    code, owner, parts = RESIDENCY_SPLIT
    residency_move_ins.move_in(
        session,
        org_id=org.id,
        data={
            "room_id": rooms[code],
            "start_date": date(2024, 1, 1),
            "relation": "owner",
            "customer": {"kind": "company", "name": owner},
        },
    )
    residency_reshaping.split_room(
        session,
        org_id=org.id,
        data={
            "room_id": rooms[code],
            "date": today - timedelta(days=10),
            "rooms": [
                {"code": part, "building_area": Decimal(area), "charge_area": Decimal(area)}
                for part, area in parts
            ],
        },
    )
    session.flush()
