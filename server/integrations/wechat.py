"""WeChat mini-program server API: code2Session, stable access_token, getuserphonenumber.

A thin client on `requests` (the mini-program server APIs); the base URL is configuration so tests
talk to a loopback fake that speaks the same wire format. WeChat answers HTTP 200 even on
errors, so every reply's `errcode` is checked and mapped to a domain error here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import redis
import requests

from server.kernel.errors import (
    RateLimited,
    UpstreamError,
    UpstreamUnavailable,
    WeChatCodeInvalid,
    WeChatUserBlocked,
)

log = logging.getLogger(__name__)

# Refresh the cached token this long before WeChat says it expires (the platform keeps the old
# token valid for five minutes after renewing it).
TOKEN_EARLY_REFRESH_SECONDS = 300
TOKEN_ERRCODES = frozenset({40001, 42001})
_BUSY = -1


@dataclass(frozen=True)
class WeChatSession:
    openid: str
    unionid: str | None


@dataclass(frozen=True)
class WeChatPhone:
    pure_number: str
    country_code: str


class WeChatMiniClient:
    def __init__(
        self,
        *,
        appid: str,
        secret: str,
        base_url: str,
        redis_client: redis.Redis,
        timeout: float = 5.0,
        http: requests.Session | None = None,
    ) -> None:
        self.appid = appid
        self.secret = secret
        self.base_url = base_url.rstrip("/")
        self.redis = redis_client
        self.timeout = timeout
        self.http = http or requests.Session()

    @property
    def _token_key(self) -> str:
        return f"baoxiu:wechat:access_token:{self.appid}"

    def code2session(self, code: str) -> WeChatSession:
        """Exchange a wx.login() code for the user's openid."""
        self._require_configured()
        body = self._call(
            "GET",
            "/sns/jscode2session",
            params={
                "appid": self.appid,
                "secret": self.secret,
                "js_code": code,
                "grant_type": "authorization_code",
            },
        )
        openid = body.get("openid")
        if not isinstance(openid, str) or not openid:
            raise UpstreamError("微信登录返回数据不完整")
        unionid = body.get("unionid")
        return WeChatSession(openid=openid, unionid=unionid if isinstance(unionid, str) else None)

    def phone_number(self, code: str, *, openid: str | None) -> WeChatPhone:
        """Exchange a getPhoneNumber code for the user's phone number."""
        self._require_configured()
        payload: dict[str, str] = {"code": code}
        if openid:
            payload["openid"] = openid
        body = self._with_access_token("/wxa/business/getuserphonenumber", payload)
        info = body.get("phone_info")
        if not isinstance(info, dict):
            raise UpstreamError("微信手机号返回数据不完整")
        watermark = info.get("watermark") or {}
        if watermark.get("appid") not in (None, self.appid):
            raise UpstreamError("微信手机号数据不属于本小程序")
        phone = info.get("purePhoneNumber")
        if not isinstance(phone, str) or not phone:
            raise UpstreamError("微信手机号返回数据不完整")
        # countryCode is documented as a string but arrives as a number too.
        return WeChatPhone(pure_number=phone, country_code=str(info.get("countryCode", "86")))

    def access_token(self, *, refresh: bool = False) -> str:
        """The stable access token, cached in Redis until shortly before it expires."""
        if not refresh:
            cached = self.redis.get(self._token_key)
            if cached:
                return cached.decode() if isinstance(cached, bytes) else str(cached)
        body = self._call(
            "POST",
            "/cgi-bin/stable_token",
            json={
                "grant_type": "client_credential",
                "appid": self.appid,
                "secret": self.secret,
                "force_refresh": False,
            },
        )
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise UpstreamError("微信 access_token 返回数据不完整")
        expires_in = int(body.get("expires_in") or 7200)
        ttl = max(expires_in - TOKEN_EARLY_REFRESH_SECONDS, 30)
        self.redis.set(self._token_key, token, ex=ttl)
        return token

    def send_subscribe_message(
        self,
        *,
        openid: str,
        template_id: str,
        data: dict[str, str],
        page: str = "",
        state: str = "formal",
    ) -> int:
        """subscribeMessage.send; 0 when sent, else WeChat's errcode for the caller to judge
        (43101: no consent left, 40003: bad openid, 47003: a value breaks its field's rules)."""
        self._require_configured()
        payload: dict[str, Any] = {
            "touser": openid,
            "template_id": template_id,
            "miniprogram_state": state,
            "lang": "zh_CN",
            "data": {name: {"value": value} for name, value in data.items()},
        }
        if page:
            payload["page"] = page
        try:
            self._with_access_token("/cgi-bin/message/subscribe/send", payload)
        except _Refused as exc:
            return exc.errcode
        return 0

    def _with_access_token(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            return self._call(
                "POST", path, params={"access_token": self.access_token()}, json=payload
            )
        except _TokenRejected:
            # Renewed elsewhere or expired early: fetch once more (not forced) and retry once.
            self.redis.delete(self._token_key)
            token = self.access_token(refresh=True)
            try:
                return self._call("POST", path, params={"access_token": token}, json=payload)
            except _TokenRejected as exc:
                raise UpstreamError("微信 access_token 无效") from exc

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self.http.request(
                method, self.base_url + path, timeout=self.timeout, **kwargs
            )
        except requests.RequestException as exc:
            log.warning("wechat %s unreachable: %s", path, type(exc).__name__)
            raise UpstreamUnavailable("微信服务暂时不可用，请稍后再试") from exc
        if response.status_code >= 500:
            raise UpstreamUnavailable("微信服务暂时不可用，请稍后再试")
        try:
            body = response.json()
        except ValueError as exc:
            raise UpstreamError("微信服务返回了无法解析的数据") from exc
        if not isinstance(body, dict):
            raise UpstreamError("微信服务返回了无法解析的数据")
        errcode = int(body.get("errcode") or 0)
        if errcode:
            log.warning("wechat %s errcode=%s errmsg=%s", path, errcode, body.get("errmsg"))
            raise _error_for(errcode)
        return body

    def _require_configured(self) -> None:
        if not self.appid or not self.secret:
            raise UpstreamError("未配置微信小程序（WECHAT_APPID / WECHAT_SECRET）")


class _TokenRejected(UpstreamError):
    message = "微信 access_token 无效"


class _Refused(UpstreamError):
    """A business refusal the caller answers for itself (subscribe messages)."""

    def __init__(self, errcode: int) -> None:
        self.errcode = errcode
        super().__init__(f"微信接口错误（{errcode}）")


# subscribeMessage.send refusals that concern one message, not our configuration or WeChat.
_MESSAGE_REFUSALS = frozenset({43101, 40003, 47003, 41030, 40037})


def _error_for(errcode: int) -> Exception:
    if errcode in TOKEN_ERRCODES:
        return _TokenRejected()
    if errcode in _MESSAGE_REFUSALS:
        return _Refused(errcode)
    if errcode in (40029, 40163):
        return WeChatCodeInvalid()
    if errcode in (45011, 45009):
        return RateLimited("微信接口调用过于频繁，请稍后再试")
    if errcode == 40226:
        return WeChatUserBlocked()
    if errcode == _BUSY:
        return UpstreamUnavailable("微信系统繁忙，请稍后再试")
    # 40013 / 40125 / 40164 and the rest are our configuration problems, not the user's.
    return UpstreamError(f"微信接口错误（{errcode}）")
