"""A subtype's fee switch (收费方式) and amount, checked together."""

from __future__ import annotations

NO_FEE = "none"
CHARGE_ON_ORDER = "charge_on_order"
CHARGE_AFTER_COMPLETION = "charge_after_completion"
FEE_MODES = (NO_FEE, CHARGE_ON_ORDER, CHARGE_AFTER_COMPLETION)


def fee_setting_problem(*, fee_mode: str, fee_fen: int) -> str | None:
    """Why this fee setting is unusable (zh-CN, for `fee_fen`), or None when it is fine."""
    if fee_fen < 0:
        return "金额不能为负数"
    if fee_mode == CHARGE_ON_ORDER and fee_fen <= 0:
        return "下单即收费时金额须大于 0"
    return None
