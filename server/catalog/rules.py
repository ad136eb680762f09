"""A subtype's fee switch (收费方式) and amount, checked together."""

from __future__ import annotations

from server.kernel.values import PREPAY_DEPOSIT, PREPAY_KINDS

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


MAX_DEPOSIT_FEN = 100_000_000


def prepay_setting_problem(*, prepay: str, deposit_fen: int, percent: int | None) -> str | None:
    """Why a pay-on-order subtype's prepay (订金 / 全额) setting is unusable, or None."""
    if prepay not in PREPAY_KINDS:
        return "预付方式只能是 deposit 或 full"
    if not 0 <= deposit_fen <= MAX_DEPOSIT_FEN:
        return "订金金额超出范围"
    if percent is not None and not 1 <= percent <= 100:
        return "订金比例须在 1 到 100 之间"
    if prepay == PREPAY_DEPOSIT and percent is None and deposit_fen <= 0:
        return "订金须设置固定金额或比例"
    return None
