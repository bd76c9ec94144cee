"""Throttles beside django-axes (which locks one username at one address after LOGIN_FAILURE_LIMIT failures).

- Password spraying, one try on each of many users from one address, never trips a per-user lock: an address
  with LOGIN_ADDRESS_FAILURE_LIMIT failed logins within LOGIN_COOLOFF_MINUTES is refused any login, whatever
  the username, until the window passes. The limit is higher than axes' so a command centre whose terminals
  share one address is not locked out by a few typos.
- The API is throttled per token (per session user for the browser), API_THROTTLE_RATE.

Counts live in the cache (CACHE_URL: Redis in production, so every web process sees the same counts)."""

import hashlib

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from rest_framework.throttling import SimpleRateThrottle


def _address(request) -> str | None:
    if request is None:
        return None
    from axes.helpers import get_client_ip_address

    return get_client_ip_address(request)


def _key(address: str) -> str:
    return f"login-fail:{address}"


def login_address_blocked(request) -> bool:
    address = _address(request)
    return bool(address) and (cache.get(_key(address)) or 0) >= settings.LOGIN_ADDRESS_FAILURE_LIMIT


@receiver(user_login_failed)
def login_failure_count(sender, credentials, request=None, **kwargs):
    address = _address(request)
    if not address or not settings.AXES_ENABLED:
        return
    key = _key(address)
    # add() starts the window; incr() keeps its expiry (Redis and the local-memory cache both do).
    if not cache.add(key, 1, timeout=settings.LOGIN_COOLOFF_MINUTES * 60):
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=settings.LOGIN_COOLOFF_MINUTES * 60)


class AddressThrottleBackend:
    """First of AUTHENTICATION_BACKENDS: refuses every login from a blocked address (the login page says
    so; the admin's login and any other authenticate() call are covered too)."""

    def authenticate(self, request, **credentials):
        if settings.AXES_ENABLED and login_address_blocked(request):
            raise PermissionDenied
        return None  # no get_user: it never logs anyone in, so sessions never name it as their backend


class TokenRateThrottle(SimpleRateThrottle):
    """API_THROTTLE_RATE requests per token (a system's or a client's), per user for a browser session,
    per address for anonymous requests (which then get 401/403 anyway)."""

    scope = "token"

    def get_cache_key(self, request, view):
        auth = getattr(request, "auth", None)
        if auth is not None and getattr(auth, "key", None):
            ident = "token:" + hashlib.sha256(auth.key.encode()).hexdigest()[:24]  # not the secret itself
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            # No address at all (a Unix socket, no proxy header): those requests share one bucket.
            ident = "addr:" + (self.get_ident(request) or "unknown")
        return self.cache_format % {"scope": self.scope, "ident": ident}
