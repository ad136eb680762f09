"""The directory's value lists: what a customer, a contact and a room relation may be.

Pure Python: the tables' CHECK constraints and the schemas' validators are built from these.
"""

from __future__ import annotations

CUSTOMER_KINDS = ("person", "company")
# Who a contact is to their customer: the person themself, family, a company's employee.
CONTACT_SELF = "self"
CONTACT_RELATIONS = (CONTACT_SELF, "family", "employee", "other")
ROOM_RELATIONS = ("owner", "tenant", "resident")
ORIENTATIONS = (
    "east",
    "south",
    "west",
    "north",
    "southeast",
    "southwest",
    "northeast",
    "northwest",
    "north_south",
    "east_west",
)

# What a room is used for (房屋用途): 住宅 / 商铺 / 车位 / 车库.
ROOM_USES = ("residence", "shop", "parking", "garage")
# The document behind a customer's ID number (证件类型).
ID_TYPES = ("id_card", "passport", "hk_macao_pass", "taiwan_pass", "credit_code", "other")
