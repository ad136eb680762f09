"""Organisations (物业公司 / 机构): the tenancy boundary of every row."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, IdMixin, TimestampMixin
from server.kernel.values import DEFAULT_GRAB_CAP, MAX_GRAB_CAP

# Workbench and urging thresholds (minutes): defaults until the organisation sets its own.
DEFAULT_UNACCEPTED_ALERT_MINUTES = 30
DEFAULT_LONG_HOLD_MINUTES = 24 * 60
DEFAULT_TENANT_URGE_AFTER_MINUTES = 30
DEFAULT_TENANT_URGE_INTERVAL_MINUTES = 60
MAX_SETTING_MINUTES = 30 * 24 * 60
# Return visits (回访): low score at or below (0: never), share of closed orders sampled (%).
DEFAULT_LOW_RATING_AT_OR_BELOW = 2
MAX_LOW_RATING_AT_OR_BELOW = 5
DEFAULT_SAMPLE_PERCENT = 10
MAX_SAMPLE_PERCENT = 100


class Organisation(IdMixin, TimestampMixin, Base):
    __tablename__ = "organisations"
    __table_args__ = (
        CheckConstraint(
            f"default_grab_cap BETWEEN 0 AND {MAX_GRAB_CAP}", name="default_grab_cap_range"
        ),
        CheckConstraint("reopen_window_days BETWEEN 0 AND 365", name="reopen_window_range"),
        CheckConstraint(
            f"unaccepted_alert_minutes BETWEEN 1 AND {MAX_SETTING_MINUTES}",
            name="unaccepted_alert_minutes_range",
        ),
        CheckConstraint(
            f"long_hold_minutes BETWEEN 1 AND {MAX_SETTING_MINUTES}", name="long_hold_minutes_range"
        ),
        CheckConstraint(
            f"tenant_urge_after_minutes BETWEEN 0 AND {MAX_SETTING_MINUTES}",
            name="tenant_urge_after_minutes_range",
        ),
        CheckConstraint(
            f"tenant_urge_interval_minutes BETWEEN 1 AND {MAX_SETTING_MINUTES}",
            name="tenant_urge_interval_minutes_range",
        ),
        CheckConstraint(
            f"visit_low_rating_at_or_below BETWEEN 0 AND {MAX_LOW_RATING_AT_OR_BELOW}",
            name="visit_low_rating_range",
        ),
        CheckConstraint(
            f"visit_sample_percent BETWEEN 0 AND {MAX_SAMPLE_PERCENT}",
            name="visit_sample_percent_range",
        ),
    )

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    default_grab_cap: Mapped[int] = mapped_column(default=DEFAULT_GRAB_CAP)
    # How long after completion a tenant may reopen an order (重新打开).
    reopen_window_days: Mapped[int] = mapped_column(default=7, server_default="7")
    # The workbench (工作台): an assigned order not accepted for this long is flagged (派单未接);
    # an order on hold (待备件) for this long is flagged (挂起过久).
    unaccepted_alert_minutes: Mapped[int] = mapped_column(
        default=DEFAULT_UNACCEPTED_ALERT_MINUTES,
        server_default=str(DEFAULT_UNACCEPTED_ALERT_MINUTES),
    )
    long_hold_minutes: Mapped[int] = mapped_column(
        default=DEFAULT_LONG_HOLD_MINUTES, server_default=str(DEFAULT_LONG_HOLD_MINUTES)
    )
    # 催单: a tenant may urge an open order once it has waited this long since filing, and
    # again only after this interval.
    tenant_urge_after_minutes: Mapped[int] = mapped_column(
        default=DEFAULT_TENANT_URGE_AFTER_MINUTES,
        server_default=str(DEFAULT_TENANT_URGE_AFTER_MINUTES),
    )
    tenant_urge_interval_minutes: Mapped[int] = mapped_column(
        default=DEFAULT_TENANT_URGE_INTERVAL_MINUTES,
        server_default=str(DEFAULT_TENANT_URGE_INTERVAL_MINUTES),
    )
    # Return visits (回访): a score at or below this asks for one (0: never), and this share
    # (per cent) of the other closed orders is sampled.
    visit_low_rating_at_or_below: Mapped[int] = mapped_column(
        default=DEFAULT_LOW_RATING_AT_OR_BELOW, server_default=str(DEFAULT_LOW_RATING_AT_OR_BELOW)
    )
    visit_sample_percent: Mapped[int] = mapped_column(
        default=DEFAULT_SAMPLE_PERCENT, server_default=str(DEFAULT_SAMPLE_PERCENT)
    )
