"""Standard Webhooks signatures (https://www.standardwebhooks.com), so that receivers can verify
with the official ``standardwebhooks`` libraries.

A secret is ``whsec_`` + base64 of 32 random bytes; the HMAC key is those bytes. Each delivery is
sent with ``webhook-id`` (stable across retries of one event), ``webhook-timestamp`` (seconds, the
time of this attempt: receivers refuse stale timestamps, so it cannot be the event's time) and
``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``, one per valid secret,
space-separated (during a rotation both the new and the previous secret sign).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Iterable

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def new_msg_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def signature(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    content = f"{msg_id}.{timestamp}.{body}".encode()
    digest = hmac.new(_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers(secrets_: Iterable[str], msg_id: str, timestamp: int, body: str) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(secret, msg_id, timestamp, body) for secret in secrets_),
    }
