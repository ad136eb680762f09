"""Firebase Cloud Messaging for the technician app, through firebase-admin's own code path.

The one thing we change is where it sends: `FCM_API_BASE` (Google's by default) replaces the
host of the v1 `messages:send` URL, so tests and `baoxiu dev` reach a loopback FCM that answers
like the real one; credentials are the service-account file of `FIREBASE_CREDENTIALS` (whose
`token_uri` the OAuth token comes from).

`send_each` answers one result per message and never raises for one message's failure; the
caller decides what a code means (see `server.notifications.rules`).
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import firebase_admin
import google.auth.transport.requests
import requests
from firebase_admin import credentials, exceptions, messaging

log = logging.getLogger(__name__)

# A Firebase installation id: 22 characters of URL-safe base64, the first one of c, d, e, f.
FID = re.compile(r"[cdef][A-Za-z0-9_-]{21}")
# send_each runs one thread per message: keep the bursts small on a small machine.
CHUNK = 100
HTTP_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Push:
    token: str
    title: str
    body: str
    data: dict[str, str] = field(default_factory=dict)
    urgent: bool = False
    collapse_key: str | None = None


@dataclass(frozen=True)
class PushResult:
    token: str
    ok: bool
    message_id: str = ""
    code: str = ""  # UNREGISTERED, INVALID_ARGUMENT, UNAVAILABLE, … (empty when ok)
    detail: str = ""


def _code(exc: BaseException) -> str:
    """The FCM error code of a failed message (`UNREGISTERED` before the generic `NOT_FOUND`)."""
    if isinstance(exc, messaging.UnregisteredError):
        return "UNREGISTERED"
    if isinstance(exc, messaging.SenderIdMismatchError):
        return "SENDER_ID_MISMATCH"
    if isinstance(exc, messaging.QuotaExceededError):
        return "QUOTA_EXCEEDED"
    if isinstance(exc, exceptions.FirebaseError):
        return str(exc.code).upper()
    return "UNAVAILABLE"  # transport failures: worth another try


class PushSender:
    """One firebase-admin app per process, pointed at `api_base`."""

    _lock = threading.Lock()

    def __init__(self, *, credentials_path: str, api_base: str) -> None:
        # One firebase-admin app per service account (apps are process-wide, by name).
        name = "baoxiu-" + hashlib.sha1(credentials_path.encode()).hexdigest()[:12]
        with self._lock:
            try:
                self.app = firebase_admin.get_app(name)
            except ValueError:
                self.app = firebase_admin.initialize_app(
                    credentials.Certificate(credentials_path),
                    {"httpTimeout": HTTP_TIMEOUT_SECONDS},
                    name=name,
                )
        service = messaging._get_messaging_service(self.app)
        # The documented v1 URL on another host (loopback in tests and `baoxiu dev`).
        base = api_base.rstrip("/")
        service._fcm_url = f"{base}/v1/projects/{self.app.project_id}/messages:send"
        # firebase-admin pools 100 connections for Google's host only; a batch of CHUNK
        # threads to any other host would open and drop connections past the default 10.
        service._client.session.mount(
            base, requests.adapters.HTTPAdapter(pool_connections=CHUNK, pool_maxsize=CHUNK)
        )

    def warm(self) -> None:
        """Fetch the OAuth access token now (a worker does it before forking its job
        processes, so that each one starts with a valid token instead of fetching its own)."""
        credential = messaging._get_messaging_service(self.app)._credential
        credential.refresh(google.auth.transport.requests.Request())

    @staticmethod
    def _message(push: Push) -> messaging.Message:
        # Newer app SDKs register a Firebase installation id (FID), older ones a registration
        # token (deprecated since 2026, still delivered): each is sent the way it came.
        if FID.fullmatch(push.token):
            target: dict[str, str] = {"fid": push.token}
        else:
            target = {"token": push.token}
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Message.token is deprecated", DeprecationWarning)
            return messaging.Message(
                **target,
                data=push.data,
                notification=messaging.Notification(title=push.title, body=push.body),
                android=messaging.AndroidConfig(
                    priority="high" if push.urgent else "normal",
                    ttl=3600,
                    collapse_key=push.collapse_key,
                ),
                apns=messaging.APNSConfig(headers={"apns-priority": "10" if push.urgent else "5"}),
            )

    def send_each(self, pushes: Sequence[Push]) -> list[PushResult]:
        results: list[PushResult] = []
        for start in range(0, len(pushes), CHUNK):
            chunk = list(pushes[start : start + CHUNK])
            batch = messaging.send_each([self._message(p) for p in chunk], app=self.app)
            for push, answer in zip(chunk, batch.responses, strict=True):
                if answer.success:
                    results.append(PushResult(push.token, True, answer.message_id or ""))
                else:
                    exc = answer.exception
                    results.append(
                        PushResult(
                            push.token,
                            False,
                            code=_code(exc) if exc else "UNAVAILABLE",
                            detail=str(exc)[:200] if exc else "",
                        )
                    )
        return results
