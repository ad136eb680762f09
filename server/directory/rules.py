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
