"""Domain errors: each carries a stable `error` id, an HTTP status and a zh-CN message.

One handler (`server.web.errors`) turns them into the JSON shape of docs/api.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

# The answers of the HTTP plumbing itself (routing, parsing, limits, crashes), by status: the
# stable id and the zh-CN message the apps show. `server.web.errors` renders them.
HTTP_STATUS_ERRORS: dict[int, tuple[str, str]] = {
    400: ("bad_request", "请求格式有误"),
    401: ("unauthorized", "请先登录"),
    403: ("forbidden", "没有权限执行此操作"),
    404: ("not_found", "资源不存在"),
    405: ("method_not_allowed", "不支持该请求方法"),
    409: ("conflict", "数据冲突"),
    413: ("upload_rejected", "上传内容过大"),
    415: ("unsupported_media_type", "不支持的内容类型"),
    422: ("validation_error", "请求参数有误"),
    429: ("rate_limited", "请求过于频繁，请稍后再试"),
    500: ("internal_error", "服务器内部错误，请稍后再试"),
    503: ("service_unavailable", "服务暂时不可用，请稍后再试"),
}


class DomainError(Exception):
    error = "bad_request"
    status = 400
    message = "请求无法处理"
    # True when the refusal is itself an outcome whose writes must be committed.
    keeps_changes = False

    def __init__(
        self,
        message: str | None = None,
        *,
        errors: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.message = message or type(self).message
        self.errors = {k: list(v) for k, v in errors.items()} if errors else None
        super().__init__(self.message)


class ValidationFailed(DomainError):
    error, status, message = "validation_error", 422, "请求参数有误"

    @classmethod
    def field(cls, name: str, text: str) -> ValidationFailed:
        return cls(errors={name: [text]})


class Unauthorized(DomainError):
    error, status, message = "unauthorized", 401, "请先登录"


class InvalidCredentials(Unauthorized):
    message = "手机号或密码错误"


class RefreshTokenReplayed(Unauthorized):
    """A rotated refresh token came back: every session of the user has been ended."""

    message = "登录凭证已失效，请重新登录"
    keeps_changes = True


class TokenExpired(Unauthorized):
    error, message = "token_expired", "登录已过期，请重新登录"


class Forbidden(DomainError):
    error, status, message = "forbidden", 403, "没有权限执行此操作"


class NotFound(DomainError):
    error, status, message = "not_found", 404, "资源不存在"


class Conflict(DomainError):
    error, status, message = "conflict", 409, "数据冲突"


class InUse(Conflict):
    error, message = "in_use", "该记录仍被引用，无法删除"


class InvalidTransition(Conflict):
    error, message = "invalid_transition", "当前状态不允许此操作"


class IdempotencyConflict(Conflict):
    error, message = "idempotency_conflict", "同一幂等键对应了不同的请求内容"


class PhoneNotRegistered(DomainError):
    error, status, message = (
        "phone_not_registered",
        403,
        "该手机号未登记为住户或租户员工，请联系物业",
    )


class RateLimited(DomainError):
    error, status, message = "rate_limited", 429, "请求过于频繁，请稍后再试"


class UpstreamError(DomainError):
    """A provider answered with something we cannot use (bad configuration, bad reply)."""

    error, status, message = "upstream_error", 502, "第三方服务异常，请稍后再试"


class UpstreamUnavailable(DomainError):
    error, status, message = "upstream_unavailable", 503, "第三方服务暂时不可用，请稍后再试"


class WeChatCodeInvalid(DomainError):
    error, status, message = "wechat_code_invalid", 400, "微信授权码无效或已使用，请重新授权"


class WeChatUserBlocked(Forbidden):
    error, message = "wechat_user_blocked", "该微信账号存在风险，暂时无法登录"


class OrderTaken(Conflict):
    error, message = "order_taken", "手慢了，该工单已被其他师傅接走"


class GrabLimitReached(Conflict):
    error, message = "grab_limit_reached", "手上工单已达上限，请先处理完再接单"


class SlotFull(Conflict):
    error, message = "slot_full", "该时段已约满，请选择其他时段"


class SlotUnavailable(Conflict):
    """The slot exists no more for booking: past, too soon, too far ahead, closed or off-grid.

    409, like `slot_full`: the same body may have been fine a minute earlier, and the client
    answers both the same way (reload the slots, pick another).
    """

    error, message = "slot_unavailable", "该时段不可预约，请重新选择"


class UploadRejected(DomainError):
    error, status, message = "upload_rejected", 422, "图片不符合要求"


class ReopenWindowPassed(Conflict):
    error, message = "reopen_window_passed", "已超过可重新打开的期限"


class OutOfStock(Conflict):
    error, message = "out_of_stock", "暂无库存，请申领"


class PaymentRequired(DomainError):
    error, status, message = "payment_required", 402, "请先支付应付费用"


class AlreadyPaid(Conflict):
    error, message = "already_paid", "该工单已支付，无需重复支付"


class NothingToPay(Conflict):
    error, message = "nothing_to_pay", "该工单当前没有需要支付的费用"


class RefundExceedsPaid(Conflict):
    error, message = "refund_exceeds_paid", "退款金额超过可退金额"


class SignatureInvalid(DomainError):
    error, status, message = "signature_invalid", 401, "签名验证失败"


class UrgeTooSoon(Conflict):
    """催单 too early: the message says when (local time); `retry_after` is in seconds."""

    error, message = "urge_too_soon", "催单过于频繁，请稍后再试"

    def __init__(self, message: str | None = None, *, retry_after: int = 60) -> None:
        super().__init__(message)
        self.retry_after = max(int(retry_after), 1)


class AlreadyAnswered(Conflict):
    """A survey answered once per person (or room) is answered again."""

    error, message = "already_answered", "您已填写过这份问卷"


class SpaceOccupied(Conflict):
    """A parking space already has an owner or tenant over (part of) the asked period."""

    error, message = "space_occupied", "该车位在所选期间已有产权或租用关系"


class PlateTaken(Conflict):
    """An active vehicle of the organisation already has this plate."""

    error, message = "plate_taken", "该车牌号已登记"


class PhoneBoundElsewhere(Conflict):
    """A phone whose account is bound to another WeChat: the desk can unbind it (#20)."""

    error, message = "phone_bound_elsewhere", "该手机号已绑定其他微信账号，请联系物业服务中心解绑"


class WeChatNotBound(Conflict):
    error, message = "wechat_not_bound", "该手机号的账号未绑定微信"


class ImportFileRejected(DomainError):
    """An import upload that cannot be a sheet: empty, too large, not CSV or XLSX."""

    error, status, message = "import_file_rejected", 422, "导入文件不符合要求"


def error_ids() -> tuple[str, ...]:
    """Every `error` id the server can answer: each domain error's and the plumbing's.

    The OpenAPI document's `ErrorId` enum is this list, so a new error class is documented
    (and typed in generated clients) by being written.
    """
    ids = {error for error, _ in HTTP_STATUS_ERRORS.values()}
    todo: list[type[DomainError]] = [DomainError]
    while todo:
        cls = todo.pop()
        ids.add(cls.error)
        todo.extend(cls.__subclasses__())
    return tuple(sorted(ids))
