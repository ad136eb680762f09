"""The repair catalogue as the apps see it."""

from __future__ import annotations

from marshmallow import Schema, fields


class CatalogSubtypeSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    description = fields.String()
    fee_mode = fields.String(
        metadata={
            "description": "none 免费 | charge_on_order 下单即收费 | "
            "charge_after_completion 完成后收费"
        }
    )
    fee_fen = fields.Integer(metadata={"description": "下单时应付金额（分）"})
    booking_enabled = fields.Boolean(metadata={"description": "是否需要预约时段"})


class CatalogOrderTypeSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    description = fields.String()
    subtypes = fields.List(fields.Nested(CatalogSubtypeSchema))


class CatalogSchema(Schema):
    items = fields.List(fields.Nested(CatalogOrderTypeSchema))
