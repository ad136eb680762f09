"""The notices area's outbox handlers. Registered on import (by `server.outbox.registry`)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from server.jobs import NOTICE_FAN_OUT, NOTICE_FAN_OUT_PART
from server.notices import fanout
from server.outbox.registry import Delivery, register_database_handler


def fan_out(session: Session, item: Delivery) -> None:
    fanout.split(session, notice_id=int(item.kwargs["notice_id"]))


def fan_out_part(session: Session, item: Delivery) -> None:
    fanout.write_part(
        session,
        notice_id=int(item.kwargs["notice_id"]),
        first=int(item.kwargs["first"]),
        last=int(item.kwargs["last"]),
        now=item.now,
    )


register_database_handler(NOTICE_FAN_OUT, fan_out)
register_database_handler(NOTICE_FAN_OUT_PART, fan_out_part)
