"""What the search adds to the schema: an index for each lookup, so that no query kind reads a
big table sequentially (migrations 0027 and 0030; the trigram indexes need the pg_trgm extension).

- equality and prefix (`LIKE 'x%'`) on text: btree with `text_pattern_ops` (the database's
  collation is not C, so a plain btree cannot serve LIKE), led by the organisation;
- substring and similarity (`LIKE '%x%'`, `%`): GIN trigram indexes;
- the last four digits of a phone: an expression index on `right(phone, 4)`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Index, func, literal_column, text

from server.directory.models import Contact, Customer, Room
from server.orders.models import Order
from server.parking.models import Vehicle

PHONE_TAIL_DIGITS = 4


def phone_tail(column: Any) -> ColumnElement[str]:
    """SQL: the last four digits of a phone column (the expression the indexes hold)."""
    # A literal, not a bind parameter: the expression must equal the index's, also in a
    # prepared statement's generic plan.
    return func.right(column, literal_column(str(PHONE_TAIL_DIGITS)))


ROOM_CODE_INDEX = Index(
    "ix_rooms_search_code",
    Room.org_id,
    Room.code,
    postgresql_ops={"code": "text_pattern_ops"},
)
ROOM_CODE_TRGM_INDEX = Index(
    "ix_rooms_search_code_trgm",
    Room.code,
    postgresql_using="gin",
    postgresql_ops={"code": "gin_trgm_ops"},
)
CUSTOMER_NAME_INDEX = Index(
    "ix_customers_search_name",
    Customer.org_id,
    Customer.name,
    postgresql_ops={"name": "text_pattern_ops"},
)
CUSTOMER_NAME_TRGM_INDEX = Index(
    "ix_customers_search_name_trgm",
    Customer.name,
    postgresql_using="gin",
    postgresql_ops={"name": "gin_trgm_ops"},
)
# A customer's full phone and ID number are found by the directory's own (org, phone) and
# (org, id_number) indexes (the batch import's lookup keys, migration 0026).
CUSTOMER_PHONE_TAIL_INDEX = Index(
    "ix_customers_search_phone_tail", Customer.org_id, func.right(Customer.phone, 4)
)
CONTACT_PHONE_TAIL_INDEX = Index(
    "ix_contacts_search_phone_tail", Contact.org_id, func.right(Contact.phone, 4)
)
ORDER_NUMBER_INDEX = Index(
    "ix_orders_search_number",
    Order.org_id,
    Order.number,
    postgresql_ops={"number": "text_pattern_ops"},
)
ORDER_PHONE_INDEX = Index("ix_orders_search_contact_phone", Order.org_id, Order.contact_phone)
ORDER_PHONE_TAIL_INDEX = Index(
    "ix_orders_search_contact_phone_tail", Order.org_id, func.right(Order.contact_phone, 4)
)
# A customer's name by its pinyin initials or full pinyin (张三: zs, zhangsan), equal or prefix.
CUSTOMER_INITIALS_INDEX = Index(
    "ix_customers_search_initials",
    Customer.org_id,
    Customer.name_initials,
    postgresql_ops={"name_initials": "text_pattern_ops"},
)
CUSTOMER_PINYIN_INDEX = Index(
    "ix_customers_search_pinyin",
    Customer.org_id,
    Customer.name_pinyin,
    postgresql_ops={"name_pinyin": "text_pattern_ops"},
)
# Active vehicles by plate: equal or prefix (粤B…), and a fragment anywhere (A12345, 2345).
VEHICLE_PLATE_INDEX = Index(
    "ix_vehicles_search_plate",
    Vehicle.org_id,
    Vehicle.plate,
    postgresql_ops={"plate": "text_pattern_ops"},
    postgresql_where=text("removed_at IS NULL"),
)
VEHICLE_PLATE_TRGM_INDEX = Index(
    "ix_vehicles_search_plate_trgm",
    Vehicle.plate,
    postgresql_using="gin",
    postgresql_ops={"plate": "gin_trgm_ops"},
    postgresql_where=text("removed_at IS NULL"),
)
