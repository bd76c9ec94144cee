"""API tokens, remembered for a short while.

Every API request names its token; reading the token and its user is one query, and intake (issue 43) is
held to a handful. The token with its user is kept in the cache for API_TOKEN_CACHE_SECONDS under a hash of
the key (never the key itself). Saving or deleting the user or the token forgets it at once in this process
and, with CACHE_URL (Redis, production), in every process; with the local-memory cache another process
holds a deactivated account's token at most API_TOKEN_CACHE_SECONDS longer."""

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed


def token_cache_key(key: str) -> str:
    return "api-token:" + hashlib.sha256(key.encode()).hexdigest()[:32]


class CachedTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key):
        cache_key = token_cache_key(key)
        token = cache.get(cache_key)
        if token is None:
            token = Token.objects.select_related("user").filter(key=key).first()
            if token is None:
                raise AuthenticationFailed(_("Invalid token."))
            cache.set(cache_key, token, settings.API_TOKEN_CACHE_SECONDS)
        if not token.user.is_active:
            raise AuthenticationFailed(_("User inactive or deleted."))
        return token.user, token


def token_forget(*keys: str) -> None:
    cache.delete_many([token_cache_key(key) for key in keys])
