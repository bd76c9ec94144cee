"""The ASGI entry point (daphne): pages over HTTP, and the live channel over WebSockets at /live/
(core.live). Sessions authenticate the WebSocket as they do a page; only this site's pages may open it."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Persistent connections are for the WSGI workers and Celery: under ASGI each request's sync work runs in
# its own thread, which would leave one open connection per thread (Django's advice: disable them here).
os.environ.setdefault("DB_CONN_MAX_AGE", "0")
django_asgi = get_asgi_application()  # before anything imports models

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import path  # noqa: E402

from core.live import LiveConsumer  # noqa: E402

application = ProtocolTypeRouter({
    "http": django_asgi,
    "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter([
        path("live/", LiveConsumer.as_asgi()),
    ]))),
})

from core.heap import freeze_loaded  # noqa: E402

freeze_loaded()
