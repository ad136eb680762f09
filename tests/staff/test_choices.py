"""The names the order board's filters offer (`orders.choices.board_choices`): every order
type with its subtypes (active or not), communities, buildings, and the active technicians —
the caller's organisation's only, in one round trip."""

from __future__ import annotations

from server.accounts.models import User
from server.kernel.roles import Role
from server.orders.choices import board_choices


def test_board_choices_are_the_organisations_names(db_session, world, make):
    gone = make.staff(world.org)
    db_session.get(User, gone.user_id).is_active = False
    make.staff(world.org, roles=(Role.DISPATCHER,))  # not a technician
    other = make.org()
    make.staff(other)
    make.order_type(other, name="别家的类型")
    retired = make.order_type(world.org, name="停用类型", is_active=False)
    db_session.flush()

    found = board_choices(db_session, org_id=world.org.id)
    assert {t.id for t in found.technicians} == {t.id for t in [*world.techs, world.outsider]}
    types = {t.name: [s.name for s in t.subtypes] for t in found.order_types}
    assert types[world.order_type.name] == ["水管漏水", "换锁"]
    assert types[retired.name] == []
    assert "别家的类型" not in types
    assert [c.id for c in found.communities] == [world.room.community_id]
    assert {b.community_name for b in found.buildings} == {"阳光花园"}
