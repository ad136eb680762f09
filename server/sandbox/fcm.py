"""A loopback Firebase Cloud Messaging (HTTP v1) and the OAuth token endpoint in front of it.

firebase-admin signs a JWT with the service account's key and trades it at the account's
`token_uri` for an access token (verified here with the account's public key), then POSTs one
`messages:send` per message with that bearer token. This fake answers like FCM: the message
name on success; `UNREGISTERED` (404) for tokens marked dead, `INVALID_ARGUMENT` (400) for
malformed ones, `UNAVAILABLE` (503) when scripted — in FCM's error body, with `errorCode` in
the details, which is what firebase-admin maps to its exception classes.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, Response, jsonify, request

log = logging.getLogger(__name__)

FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"


def service_account(
    *, project_id: str, token_uri: str, key: rsa.RSAPrivateKey, email: str = ""
) -> dict[str, Any]:
    """A service-account file for `project_id` whose tokens come from `token_uri`."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": secrets.token_hex(20),
        "private_key": pem,
        "client_email": email or f"baoxiu-push@{project_id}.iam.gserviceaccount.com",
        "client_id": "100000000000000000001",
        "token_uri": token_uri,
    }


@dataclass
class FakeFCM:
    project_id: str
    account_key: rsa.RSAPublicKey  # the service account's public key
    messages: list[dict[str, Any]] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    dead_tokens: set[str] = field(default_factory=set)
    unavailable_next: int = 0
    tokens_issued: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.messages.clear()
            self.calls.clear()
            self.dead_tokens.clear()
            self.unavailable_next = 0

    def sent_to(self, token: str) -> list[dict[str, Any]]:
        with self.lock:
            return [m for m in self.messages if token in (m.get("token"), m.get("fid"))]

    def app(self) -> Flask:
        app = Flask("fake_fcm")

        def error(status: int, name: str, message: str, code: str | None = None) -> Response:
            body: dict[str, Any] = {"code": status, "message": message, "status": name}
            if code:
                body["details"] = [{"@type": FCM_ERROR_TYPE, "errorCode": code}]
            answer = jsonify({"error": body})
            answer.status_code = status
            return answer

        @app.post("/token")
        def token() -> Any:
            assertion = request.form.get("assertion", "")
            try:
                claims = jwt.decode(
                    assertion,
                    self.account_key,
                    algorithms=["RS256"],
                    options={"verify_aud": False},
                )
            except jwt.PyJWTError as exc:
                return jsonify({"error": "invalid_grant", "error_description": str(exc)}), 400
            issued = "fake-" + secrets.token_urlsafe(16)
            with self.lock:
                self.tokens_issued.add(issued)
                self.calls["token"] += 1
            log.debug("issued a token to %s", claims.get("iss"))
            return jsonify({"access_token": issued, "expires_in": 3600, "token_type": "Bearer"})

        @app.post("/v1/projects/<project>/messages:send")
        def send(project: str) -> Response:
            bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
            with self.lock:
                self.calls["send"] += 1
                known = bearer in self.tokens_issued
                unavailable = self.unavailable_next > 0
                if unavailable:
                    self.unavailable_next -= 1
            if not known:
                return error(401, "UNAUTHENTICATED", "Request had invalid authentication")
            if project != self.project_id:
                return error(403, "PERMISSION_DENIED", "SenderId mismatch", "SENDER_ID_MISMATCH")
            if unavailable:
                return error(
                    503, "UNAVAILABLE", "The service is currently unavailable.", "UNAVAILABLE"
                )
            payload = request.get_json(silent=True) or {}
            message = payload.get("message") or {}
            target = message.get("token") or message.get("fid")
            if not isinstance(target, str) or not target or len(target) > 4096:
                return error(
                    400,
                    "INVALID_ARGUMENT",
                    "The registration token is not valid",
                    "INVALID_ARGUMENT",
                )
            if target in self.dead_tokens:
                return error(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED")
            if (
                len(
                    json.dumps(message.get("data", {}))
                    + json.dumps(message.get("notification", {}))
                )
                > 4096
            ):
                return error(400, "INVALID_ARGUMENT", "Message is too big", "INVALID_ARGUMENT")
            with self.lock:
                self.messages.append(message)
                number = len(self.messages)
            note = message.get("notification") or {}
            log.info("FCM push to %s…: %s — %s", target[:8], note.get("title"), note.get("body"))
            return jsonify({"name": f"projects/{project}/messages/{number}"})

        return app
