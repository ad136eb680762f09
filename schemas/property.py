"""Rooms as tenants see them."""

from __future__ import annotations

from marshmallow import Schema, fields


class RoomBriefSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    community_id = fields.Integer()
    community_name = fields.String(attribute="community.name")
    building_id = fields.Integer()
    building_name = fields.String(attribute="building.name")
    unit_id = fields.Integer(allow_none=True)
    unit_name = fields.String(attribute="unit.name", allow_none=True)
    floor = fields.Integer()
    label = fields.Method(
        "_label", metadata={"description": "展示用地址，如 阳光花园 1栋 1单元 101"}
    )

    def _label(self, room: object) -> str:
        parts = [room.community.name, room.building.name]  # type: ignore[attr-defined]
        if room.unit is not None:  # type: ignore[attr-defined]
            parts.append(room.unit.name)  # type: ignore[attr-defined]
        parts.append(room.code)  # type: ignore[attr-defined]
        return " ".join(parts)


class TenantRoomSchema(Schema):
    room = fields.Nested(RoomBriefSchema)
    customer_id = fields.Integer()
    customer_name = fields.String()
    relation = fields.String(metadata={"description": "owner 业主 | tenant 租户 | resident 住户"})


class TenantRoomListSchema(Schema):
    items = fields.List(fields.Nested(TenantRoomSchema))
