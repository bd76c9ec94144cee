"""Signed messages between Fenliu and other systems (the 12345 platform, the 110 system's webhooks; issue 40).

A message is its JSON body and two headers: `X-Fenliu-Timestamp` (Unix seconds when it was signed) and
`X-Fenliu-Signature: sha256=<hex>`, the HMAC-SHA256 with the shared secret of `<timestamp>.` followed by
the body's bytes. A receiver recomputes it over the bytes it received (not a re-serialisation), compares in
constant time, and refuses a timestamp further than SIGNATURE_MAX_SKEW_SECONDS from its clock, so a message
captured once cannot be replayed later; within the window, the message's event id makes a repeat a no-op."""

import hashlib
import hmac
import json
import time

from django.conf import settings
from django.utils.translation import gettext as _

TIMESTAMP_HEADER = "X-Fenliu-Timestamp"
SIGNATURE_HEADER = "X-Fenliu-Signature"
EVENT_HEADER = "X-Fenliu-Event"


class SignatureError(Exception):
    """The message is not signed with the shared secret, or was signed too long ago (a replay)."""


def body_bytes(payload: dict) -> bytes:
    """The one serialisation of a payload: the bytes signed are the bytes sent."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def signature(secret: str, timestamp: int | str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def signed_headers(secret: str, body: bytes, *, event: str = "", now: float | None = None) -> dict[str, str]:
    timestamp = int(now if now is not None else time.time())
    headers = {"Content-Type": "application/json; charset=utf-8", TIMESTAMP_HEADER: str(timestamp),
               SIGNATURE_HEADER: signature(secret, timestamp, body)}
    if event:
        headers[EVENT_HEADER] = event
    return headers


def verify(secret: str, headers, body: bytes, *, now: float | None = None) -> None:
    """Raise SignatureError unless `body` carries a valid, fresh signature. `headers`: any mapping with
    case-insensitive get (Django's request.headers)."""
    stamp, given = headers.get(TIMESTAMP_HEADER, ""), headers.get(SIGNATURE_HEADER, "")
    if not stamp or not given:
        raise SignatureError(_("The message is not signed."))
    try:
        timestamp = int(stamp)
    except ValueError:
        raise SignatureError(_("The signature's timestamp is not a number.")) from None
    if not secret or not hmac.compare_digest(signature(secret, timestamp, body), given):
        raise SignatureError(_("The signature does not match."))
    skew = abs((now if now is not None else time.time()) - timestamp)
    if skew > settings.SIGNATURE_MAX_SKEW_SECONDS:
        raise SignatureError(_("The message was signed %(s)s seconds away from now: refused as a replay.")
                             % {"s": int(skew)})
