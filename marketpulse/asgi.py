"""The one entry point the web server runs: HTTP and WebSockets on one port.

HTTP goes to Django's WSGI handler on a thread pool (a2wsgi); WebSockets go to Channels.
Measured here (uvicorn, 2 processes, wrk at 64 connections, a tiny JSON view): Django's own
ASGI handler ~850 req/s, the same view through a2wsgi ~4,200 req/s, gunicorn with threads
~5,000 req/s. Django under ASGI hands each request between threads several times; through
a2wsgi it is one hand-off, and sync views, the ORM and DRF run as they were built to.
"""

import gc
import os

from a2wsgi import WSGIMiddleware
from asgiref.typing import ASGIReceiveCallable as Receive
from asgiref.typing import ASGISendCallable as Send
from asgiref.typing import Scope
from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketpulse.settings")
django_wsgi_app = get_wsgi_application()  # sets Django up before consumers are imported

from marketpulse.checks import refuse_weak_secret_key  # noqa: E402

# uvicorn runs no system checks: a forgeable SECRET_KEY stops the web process here.
refuse_weak_secret_key()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from marketpulse import logs  # noqa: E402
from marketpulse.accounts.websocket import (  # noqa: E402
    TokenAuthMiddleware,
    auth_stack,
    browser_origin_validator,
)
from marketpulse.api import held  # noqa: E402
from marketpulse.api.throttles import start_batching  # noqa: E402
from marketpulse.metrics import mark_process_role  # noqa: E402
from prices import latest_mirror  # noqa: E402
from prices.realtime.routing import websocket_urlpatterns  # noqa: E402

mark_process_role("web")
django_http = WSGIMiddleware(django_wsgi_app, workers=settings.HTTP_THREADS)  # type: ignore[arg-type]  # a WSGI app; the stubs type its return as the response
_hot_reads_started = False


async def http_application(scope: Scope, receive: Receive, send: Send) -> None:
    """Django; the process's first request also starts what lets the hottest reads skip
    Redis (batched rate limits, the latest-price mirror, held cached responses) and the
    buffered log lines: here
    rather than at import, so a test that imports `application` for its WebSocket routes
    starts none of them."""
    global _hot_reads_started
    if not _hot_reads_started:
        _hot_reads_started = True
        if settings.RATE_LIMIT_BATCH_MS:
            start_batching(settings.RATE_LIMIT_BATCH_MS / 1000)
        if settings.LATEST_PRICE_MIRROR:
            latest_mirror.start()
        if settings.API_CACHE_HELD_BYTES:  # with the cache off too: the held facts
            held.HELD.start()
        logs.start_buffering()
    await django_http(scope, receive, send)  # type: ignore[arg-type]


# Everything loaded so far (Django, the apps, the libraries) lives as long as the process:
# keep it out of the garbage collector's full passes, which otherwise scan it all and
# stall every WebSocket delivery of the process while they run.
gc.freeze()
# And collect the young generation every 10,000 new objects instead of every 700. One
# update to 1000 WebSocket clients keeps a few thousand objects alive for a moment: at 700,
# passes ran mid-update and moved them to the old generation, whose growth then set off
# full passes (115-140 ms over the 1000 connections' 190k objects) every few seconds, and
# the fan-out p99 was 129-169 ms against 40-44 ms for a bare ASGI fan-out (bench/floor.py)
# in the same runs. At 10,000: no full pass while updates flow, p99 60 ms against 47 ms.
# Not higher: at 50,000 each pass over Django's request garbage took tens of ms, and the
# one-connection p99 of /prices/latest/ went from 5 ms to 70-73 ms (`python -m bench api`).
gc.set_threshold(10_000, 10, 10)

application = ProtocolTypeRouter(
    {
        "http": http_application,
        # Session user first, then a JWT (if given) replaces it.
        "websocket": browser_origin_validator(
            auth_stack(TokenAuthMiddleware(URLRouter(websocket_urlpatterns)))
        ),
    }
)
