"""Console: payment configuration (企业设置 → 支付配置): accounts and channels. Admins only."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from schemas.payments import (
    PaymentAccountCreateSchema,
    PaymentAccountSchema,
    PaymentAccountUpdateSchema,
    PaymentChannelsSchema,
)
from server.kernel.permissions import Permission
from server.payments import accounts, channels
from server.web.blueprint import Blueprint
from server.web.context import container, now, principal, session

blp = Blueprint(
    "admin_payments",
    __name__,
    url_prefix="/api/v1/admin",
    description="控制台：支付配置（微信支付商户、支付宝应用、可用支付渠道）",
)


def _org() -> int:
    return int(principal().org_id)


@blp.route("/payment-accounts")
class PaymentAccounts(MethodView):
    @blp.auth(Permission.FINANCE_ACT)
    @blp.response(200, PaymentAccountSchema(many=True))
    def get(self) -> Any:
        """本机构的支付账户（不返回任何密钥）"""
        return accounts.list_accounts(session(), org_id=_org())

    @blp.auth(Permission.FINANCE_ACT)
    @blp.idempotent()
    @blp.arguments(PaymentAccountCreateSchema)
    @blp.response(201, PaymentAccountSchema)
    @blp.alt_response(409, description="该支付渠道已有启用的账户")
    def post(self, data: dict[str, Any]) -> Any:
        """添加微信支付商户或支付宝应用（密钥加密保存）"""
        return accounts.create_account(
            session(), settings=container().settings, org_id=_org(), data=data, now=now()
        )


@blp.route("/payment-accounts/<int:account_id>")
class PaymentAccountById(MethodView):
    @blp.auth(Permission.FINANCE_ACT)
    @blp.response(200, PaymentAccountSchema)
    def get(self, account_id: int) -> Any:
        """支付账户详情（不返回任何密钥）"""
        return accounts.get_account(session(), org_id=_org(), account_id=account_id)

    @blp.auth(Permission.FINANCE_ACT)
    @blp.arguments(PaymentAccountUpdateSchema)
    @blp.response(200, PaymentAccountSchema)
    @blp.alt_response(409, description="支付账户已停用，不能更换密钥")
    def patch(self, changes: dict[str, Any], account_id: int) -> Any:
        """修改支付账户；提交新密钥即生成新版本，旧版本保留（进行中的支付仍按旧版本验签）"""
        return accounts.update_account(
            session(),
            settings=container().settings,
            org_id=_org(),
            account_id=account_id,
            changes=changes,
            now=now(),
        )

    @blp.auth(Permission.FINANCE_ACT)
    @blp.response(204)
    def delete(self, account_id: int) -> None:
        """停用支付账户（密钥版本保留，用于已发起支付的验签）"""
        accounts.deactivate_account(session(), org_id=_org(), account_id=account_id, now=now())


@blp.route("/payment-channels")
class PaymentChannels(MethodView):
    @blp.auth(Permission.FINANCE_ACT)
    @blp.response(200, PaymentChannelsSchema)
    def get(self) -> Any:
        """住户可用的支付渠道"""
        return channels.channel_overview(session(), settings=container().settings, org_id=_org())

    @blp.auth(Permission.FINANCE_ACT)
    @blp.arguments(PaymentChannelsSchema)
    @blp.response(200, PaymentChannelsSchema)
    def put(self, data: dict[str, Any]) -> Any:
        """设置住户可用的支付渠道（微信/支付宝须先配置账户）"""
        return channels.set_channels(
            session(),
            settings=container().settings,
            org_id=_org(),
            channels=data["channels"],
            now=now(),
        )
