"""A loopback fake of the WeChat mini-program server API, speaking its wire format.

Scriptable: register login codes and phone codes, make codes single use (40029 on reuse, as
WeChat does), rotate or expire the access token (40001 / 42001), answer busy (-1), block a
user (40226), rate-limit (45011), and count the calls it received.
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, jsonify, request


@dataclass
class FakeWeChat:
    appid: str
    secret: str
    login_codes: dict[str, str] = field(default_factory=dict)  # code -> openid
    phone_codes: dict[str, tuple[str, Any]] = field(default_factory=dict)  # code -> (phone, cc)
    used_codes: set[str] = field(default_factory=set)
    valid_tokens: set[str] = field(default_factory=set)
    calls: Counter[str] = field(default_factory=Counter)
    # Errcodes to answer once, per path, before behaving normally again.
    scripted_errors: dict[str, list[int]] = field(default_factory=dict)
    token_expires_in: int = 7200
    # Subscribe messages received: (openid, template_id, data); openids that refused (43101).
    subscribe_messages: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    refused_openids: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def login_code(self, openid: str | None = None) -> str:
        code = "lc_" + secrets.token_hex(8)
        self.login_codes[code] = openid or "o" + secrets.token_hex(12)
        return code

    def phone_code(self, phone: str, country_code: Any = "86") -> str:
        code = "pc_" + secrets.token_hex(8)
        self.phone_codes[code] = (phone, country_code)
        return code

    def revoke_tokens(self) -> None:
        """As if the token was refreshed elsewhere: every issued token now answers 40001."""
        self.valid_tokens.clear()

    def fail_next(self, path: str, *errcodes: int) -> None:
        self.scripted_errors.setdefault(path, []).extend(errcodes)

    def app(self) -> Flask:
        app = Flask("fake_wechat")

        def error(code: int, msg: str) -> Any:
            return jsonify({"errcode": code, "errmsg": f"{msg} rid: {secrets.token_hex(4)}"})

        def scripted(path: str) -> Any:
            with self.lock:
                queue = self.scripted_errors.get(path)
                if queue:
                    return error(queue.pop(0), "scripted")
            return None

        @app.get("/sns/jscode2session")
        def jscode2session() -> Any:
            self.calls["jscode2session"] += 1
            if (answer := scripted("/sns/jscode2session")) is not None:
                return answer
            args = request.args
            if args.get("appid") != self.appid:
                return error(40013, "invalid appid")
            if args.get("secret") != self.secret:
                return error(40125, "invalid appsecret")
            if args.get("grant_type") != "authorization_code":
                return error(40002, "invalid grant_type")
            code = args.get("js_code", "")
            with self.lock:
                if code in self.used_codes or code not in self.login_codes:
                    return error(40029, "invalid code")
                self.used_codes.add(code)
            return jsonify(
                {"openid": self.login_codes[code], "session_key": secrets.token_urlsafe(16)}
            )

        @app.post("/cgi-bin/stable_token")
        def stable_token() -> Any:
            self.calls["stable_token"] += 1
            if (answer := scripted("/cgi-bin/stable_token")) is not None:
                return answer
            body = request.get_json(force=True)
            if body.get("appid") != self.appid:
                return error(40013, "invalid appid")
            if body.get("secret") != self.secret:
                return error(40125, "invalid appsecret")
            token = "AT_" + secrets.token_hex(32)
            with self.lock:
                self.valid_tokens.add(token)
            return jsonify({"access_token": token, "expires_in": self.token_expires_in})

        @app.post("/wxa/business/getuserphonenumber")
        def getuserphonenumber() -> Any:
            self.calls["getuserphonenumber"] += 1
            if request.args.get("access_token") not in self.valid_tokens:
                return error(40001, "invalid credential, access_token is invalid or not latest")
            if (answer := scripted("/wxa/business/getuserphonenumber")) is not None:
                return answer
            body = request.get_json(force=True)
            code = body.get("code", "")
            with self.lock:
                if code in self.used_codes or code not in self.phone_codes:
                    return error(40029, "invalid code")
                self.used_codes.add(code)
            phone, country_code = self.phone_codes[code]
            prefix = "" if str(country_code) == "86" else f"+{country_code}"
            return jsonify(
                {
                    "errcode": 0,
                    "errmsg": "ok",
                    "phone_info": {
                        "phoneNumber": prefix + phone,
                        "purePhoneNumber": phone,
                        "countryCode": country_code,
                        "watermark": {"timestamp": 1795340000, "appid": self.appid},
                    },
                }
            )

        @app.post("/cgi-bin/message/subscribe/send")
        def subscribe_send() -> Any:
            self.calls["subscribe_send"] += 1
            if request.args.get("access_token") not in self.valid_tokens:
                return error(40001, "invalid credential, access_token is invalid or not latest")
            if (answer := scripted("/cgi-bin/message/subscribe/send")) is not None:
                return answer
            body = request.get_json(force=True)
            openid, template_id = body.get("touser", ""), body.get("template_id", "")
            if not openid:
                return error(40003, "invalid openid")
            if openid in self.refused_openids:
                return error(43101, "user refuse to accept the msg")
            data = body.get("data") or {}
            for name, value in data.items():
                text = str((value or {}).get("value", ""))
                if name.startswith("thing") and len(text) > 20:
                    return error(47003, f"argument invalid! data.{name}.value")
            with self.lock:
                self.subscribe_messages.append((openid, template_id, data))
            return jsonify({"errcode": 0, "errmsg": "ok"})

        return app
