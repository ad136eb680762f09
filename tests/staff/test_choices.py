"""The names a filter offers: active technicians only, and every order type with its
subtypes (active or not), each in one statement."""

from __future__ import annotations

from server.catalog.admin import type_choices
from server.kernel.roles import Role
from server.staff.members import technician_choices


def test_technician_choices_are_the_active_technicians_of_the_organisation(db_session, world, make):
    gone = make.staff(world.org)
    gone_user = db_session.get(type(world.tenant), gone.user_id)
    gone_user.is_active = False
    make.staff(world.org, roles=(Role.DISPATCHER,))  # not a technician
    make.staff(make.org())  # another organisation's
    db_session.flush()
    ids = {c.id for c in technician_choices(db_session, org_id=world.org.id)}
    assert ids == {t.id for t in [*world.techs, world.outsider]}


def test_type_choices_list_every_type_with_its_subtypes(db_session, world, make):
    retired = make.order_type(world.org, name="停用类型", is_active=False)
    make.order_type(make.org(), name="别家的类型")
    db_session.flush()
    choices = {
        c.name: [s.name for s in c.subtypes] for c in type_choices(db_session, org_id=world.org.id)
    }
    assert choices[world.order_type.name] == ["水管漏水", "换锁"]
    assert choices[retired.name] == []
    assert "别家的类型" not in choices
