"""What the payment tests do over and over: pay, notify, complete with charges, check money."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from server.charges.models import LedgerEntry, OrderFee, ServiceItem
from server.orders.models import Order
from server.payments.models import Payment, Refund
from tests.paying.conftest import NOTIFY_ALIPAY, NOTIFY_WECHAT

TENANT = "/api/v1/tenant/orders"
TECH = "/api/v1/tech/orders"
ADMIN = "/api/v1/admin"
FORM = "application/x-www-form-urlencoded"


def pay(client, shop, order_id, channel="wechat", key=None, who=None):
    headers = dict(shop.headers(who or shop.tenant))
    if key:
        headers["Idempotency-Key"] = key
    return client.post(f"{TENANT}/{order_id}/payments", json={"channel": channel}, headers=headers)


def paid_ok(client, shop, order_id, channel="wechat", **kw) -> dict[str, Any]:
    r = pay(client, shop, order_id, channel, **kw)
    assert r.status_code == 200, r.json
    return r.json


def notify_wechat(client, body, headers):
    return client.post(NOTIFY_WECHAT, data=body, headers=headers, content_type="application/json")


def notify_alipay(client, body):
    return client.post(NOTIFY_ALIPAY, data=body, content_type=FORM)


def wechat_paid(client, wxpay, out_trade_no):
    """The tenant pays at WeChat and WeChat tells us."""
    wxpay.pay(out_trade_no)
    r = notify_wechat(client, *wxpay.payment_notification(out_trade_no))
    assert r.status_code == 204, r.data
    return r


def tenant_view(client, shop, order_id):
    r = client.get(f"{TENANT}/{order_id}", headers=shop.headers(shop.tenant))
    assert r.status_code == 200, r.json
    return r.json


def grab(client, shop, order_id, tech=None):
    r = client.post(f"{TECH}/{order_id}/grab", headers=shop.headers(tech or shop.techs[0]))
    assert r.status_code == 200, r.json


def service_item(shop, db_session, price_fen=12000):
    item = ServiceItem(
        org_id=shop.org.id, name=f"上门维修 {price_fen}", unit="次", price_fen=price_fen
    )
    db_session.add(item)
    db_session.flush()
    return item


def complete_with_charge(client, shop, db_session, order_id, price_fen=12000, quantity=1):
    """The technician grabs the order, charges a service, completes it."""
    tech = shop.techs[0]
    grab(client, shop, order_id, tech)
    item = service_item(shop, db_session, price_fen)
    r = client.post(
        f"{TECH}/{order_id}/charges",
        json={"kind": "service", "item_id": item.id, "quantity": quantity},
        headers=shop.headers(tech),
    )
    assert r.status_code == 201, r.json
    r = client.post(
        f"{TECH}/{order_id}/complete", json={"result": "已修好"}, headers=shop.headers(tech)
    )
    assert r.status_code == 200, r.json
    return r.json


def money(client, shop, order_id, who=None):
    r = client.get(f"{ADMIN}/orders/{order_id}/money", headers=shop.headers(who or shop.dispatcher))
    assert r.status_code == 200, r.json
    return r.json


def ledger_sum(db_session, order_id) -> int:
    return int(
        db_session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0)).where(
                LedgerEntry.order_id == order_id
            )
        )
    )


def ledger_rows(db_session, order_id, kind) -> list[tuple[int, str | None]]:
    return [
        (e.amount_fen, e.reference)
        for e in db_session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.order_id == order_id, LedgerEntry.kind == kind)
            .order_by(LedgerEntry.id)
        )
    ]


def assert_ledger_agrees(client, shop, db_session, order_id) -> int:
    """The ledger's sum is what the order still owes (its payable, less refunds still due),
    and the console's money view says the same. Returns that sum."""
    db_session.expire_all()
    order = db_session.get(Order, order_id)
    fee = db_session.get(OrderFee, order_id)
    refund_due = fee.refund_due_fen if fee is not None else 0
    total = ledger_sum(db_session, order_id)
    assert total == order.payable_fen - refund_due, (total, order.payable_fen, refund_due)
    assert money(client, shop, order_id)["owed_fen"] == total
    return total


def payments_of(db_session, order_id) -> list[Payment]:
    db_session.expire_all()
    return list(
        db_session.scalars(select(Payment).where(Payment.order_id == order_id).order_by(Payment.id))
    )


def refunds_of(db_session, order_id) -> list[Refund]:
    db_session.expire_all()
    return list(
        db_session.scalars(select(Refund).where(Refund.order_id == order_id).order_by(Refund.id))
    )


def payment_jobs(outcomes: list[str]) -> list[str]:
    """The payments area's deliveries among `deliver_all`'s outcomes (other areas, such as
    the tenant's notifications, have outbox jobs of their own)."""
    return [o for o in outcomes if o.startswith("payments.")]
