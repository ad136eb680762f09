"""Rows for tests, written straight to the test's transaction."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from server.accounts.passwords import hash_password
from server.accounts.tokens import TokenIssuer
from server.kernel.roles import Role
from server.models import (
    Building,
    Community,
    Contact,
    Customer,
    CustomerRoom,
    Department,
    OrderSubtype,
    OrderType,
    Organisation,
    Post,
    Room,
    Staff,
    Unit,
    User,
)

_seq = itertools.count(1)
PASSWORD = "secret-pass-1"
_PASSWORD_HASH = hash_password(PASSWORD)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_seq)}"


def unique_phone() -> str:
    return f"137{next(_seq):08d}"


class Factory:
    def __init__(self, session: Session, tokens: TokenIssuer) -> None:
        self.session = session
        self.tokens = tokens

    def _add(self, obj: Any) -> Any:
        self.session.add(obj)
        self.session.flush()
        return obj

    def org(self, **kw: Any) -> Organisation:
        return self._add(
            Organisation(code=kw.pop("code", unique("org")), name=kw.pop("name", "测试物业"), **kw)
        )

    def community(self, org: Organisation, **kw: Any) -> Community:
        return self._add(
            Community(
                org_id=org.id,
                code=kw.pop("code", unique("C")),
                name=kw.pop("name", unique("小区")),
                **kw,
            )
        )

    def building(self, community: Community, **kw: Any) -> Building:
        return self._add(
            Building(
                org_id=community.org_id,
                community_id=community.id,
                name=kw.pop("name", unique("楼")),
                **kw,
            )
        )

    def unit(self, building: Building, **kw: Any) -> Unit:
        return self._add(
            Unit(
                org_id=building.org_id,
                building_id=building.id,
                name=kw.pop("name", unique("单元")),
                **kw,
            )
        )

    def room(self, building: Building, **kw: Any) -> Room:
        return self._add(
            Room(
                org_id=building.org_id,
                community_id=building.community_id,
                building_id=building.id,
                code=kw.pop("code", unique("R")),
                floor=kw.pop("floor", 1),
                building_area=kw.pop("building_area", Decimal("88.50")),
                **kw,
            )
        )

    def customer(self, org: Organisation, **kw: Any) -> Customer:
        return self._add(
            Customer(
                org_id=org.id,
                kind=kw.pop("kind", "person"),
                name=kw.pop("name", unique("住户")),
                **kw,
            )
        )

    def contact(self, customer: Customer, phone: str | None = None, **kw: Any) -> Contact:
        return self._add(
            Contact(
                org_id=customer.org_id,
                customer_id=customer.id,
                phone=phone or unique_phone(),
                name=kw.pop("name", "联系人"),
                relation=kw.pop("relation", "self"),
                **kw,
            )
        )

    def holds(self, customer: Customer, room: Room, **kw: Any) -> CustomerRoom:
        return self._add(
            CustomerRoom(
                org_id=customer.org_id,
                customer_id=customer.id,
                room_id=room.id,
                relation=kw.pop("relation", "owner"),
                start_date=kw.pop("start_date", date(2020, 1, 1)),
                **kw,
            )
        )

    def user(
        self,
        org: Organisation,
        *,
        roles: list[str],
        phone: str | None = None,
        password: bool = True,
        **kw: Any,
    ) -> User:
        return self._add(
            User(
                org_id=org.id,
                phone=phone or unique_phone(),
                password_hash=_PASSWORD_HASH if password else None,
                roles=roles,
                name=kw.pop("name", unique("用户")),
                **kw,
            )
        )

    def department(self, org: Organisation, **kw: Any) -> Department:
        return self._add(Department(org_id=org.id, name=kw.pop("name", unique("部门")), **kw))

    def post(self, org: Organisation, **kw: Any) -> Post:
        return self._add(Post(org_id=org.id, name=kw.pop("name", unique("岗位")), **kw))

    def staff(
        self,
        org: Organisation,
        *,
        roles: tuple[Role, ...] = (Role.TECHNICIAN,),
        phone: str | None = None,
        **kw: Any,
    ) -> Staff:
        user = self.user(org, roles=[r.value for r in roles], phone=phone)
        return self._add(Staff(org_id=org.id, user_id=user.id, **kw))

    def order_type(self, org: Organisation, **kw: Any) -> OrderType:
        return self._add(OrderType(org_id=org.id, name=kw.pop("name", unique("类型")), **kw))

    def subtype(self, order_type: OrderType, **kw: Any) -> OrderSubtype:
        return self._add(
            OrderSubtype(
                org_id=order_type.org_id,
                order_type_id=order_type.id,
                name=kw.pop("name", unique("子类")),
                **kw,
            )
        )

    def headers(self, user: User) -> dict[str, str]:
        """A bearer header for `user`, minted like a login would."""
        pair = self.tokens.issue(self.session, user=user, now=datetime.now(UTC))
        return {"Authorization": f"Bearer {pair.access_token}"}

    def admin(self, org: Organisation) -> User:
        return self.user(org, roles=[Role.ADMIN.value, Role.DISPATCHER.value])

    def dispatcher(self, org: Organisation) -> User:
        return self.user(org, roles=[Role.DISPATCHER.value])

    def tenant(self, org: Organisation, phone: str | None = None, **kw: Any) -> User:
        return self.user(org, roles=[Role.TENANT.value], phone=phone, **kw)
